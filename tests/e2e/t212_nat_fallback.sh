#!/usr/bin/env bash
# Neither side reachable: the origin (a) and the puller (b) each behind a NAT router without UPnP
# (tests/net/netbed.sh), so no connection can be opened in either direction. The fallbacks on the public segment:
#  * direct: a clone from b naming only a's public address fails with no_peers (10);
#  * the HTTP mirror: a exports the version (`dvt push --mirror`), nginx on a public host serves it; a clone from b
#    with the mirror and a's (unreachable) address gets the version byte for byte, every byte from the mirror
#    (JSON paths: via "http", found "mirror");
#  * the public seeder: a `dvt serve` on a public host (a CI runner, a small VM) holding the version (cloned from the
#    mirror); a clone from b naming a and the seeder gets every byte from the seeder, none from a, and says so in its
#    JSON and in its summary line.
# Every namespace and process is stopped by PID at exit.
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "${DVT_TEST_LIB:-$0}")/../net/netbed.sh"
nb_require

nb_public
nb_host www 11.0.0.3
nb_host seed 11.0.0.10
nb_home a 1
nb_home b 2

nb_source_repo "$T/a" $((5 << 20)) net212
nb_serve a "$T/a" "$T/serve-a.json" 192.168.1.2:7000

# --- direct: out of reach
expect_exit 10 nb b "$DVT" clone "$ID" "$T/b0" --peer 11.0.0.101:7000 --timeout 5

# --- the HTTP mirror
expect_exit 0 "$DVT" -C "$T/a" --json push --mirror "$T/www"
nb_nginx www 11.0.0.3:8080 "$T/www"
expect_exit 0 nb b "$DVT" --json clone "$ID" "$T/b1" --peer 11.0.0.101:7000 --mirror http://11.0.0.3:8080/ \
    --timeout 60
cp "$OUT" "$T/clone-b1.json"
assert_same_tree "$T/want.digest" "$T/b1" "clone from the mirror"
# (a mirror's bytes are counted as blocks arrive, a re-requested block twice: at least the payload received)
assert_json 'j["sources"]["mirror"] >= j["bytes_downloaded"] > 0 and j["sources"]["tcp"] == j["sources"]["utp"] == 0' \
    "$T/clone-b1.json"
assert_json 'all(p["via"] == "http" and p["found"] == "mirror" and p["peer"] == "http://11.0.0.3:8080"
                 for p in j["sources"]["peers"])' "$T/clone-b1.json"

# --- the public seeder
expect_exit 0 nb seed "$DVT" clone "$ID" "$T/s" --mirror http://11.0.0.3:8080/ --timeout 60
nb_serve seed "$T/s" "$T/serve-s.json" 11.0.0.10:7000
expect_exit 0 nb b "$DVT" --json clone "$ID" "$T/b2" --peer 11.0.0.101:7000 --peer 11.0.0.10:7000 --timeout 60
cp "$OUT" "$T/clone-b2.json"
assert_same_tree "$T/want.digest" "$T/b2" "clone from the public seeder"
assert_json 'j["bytes_downloaded"] > 0 and sum(p["bytes"] for p in j["sources"]["peers"]
             if p["peer"] == "11.0.0.10:7000") == j["bytes_downloaded"] and j["sources"]["mirror"] == 0' \
    "$T/clone-b2.json"
assert_json 'not any(p["peer"].startswith("11.0.0.101") for p in j["sources"]["peers"])' "$T/clone-b2.json"
expect_exit 0 nb b "$DVT" clone "$ID" "$T/b3" --peer 11.0.0.101:7000 --peer 11.0.0.10:7000 --timeout 60
assert_grep "by path: .* from 11\.0\.0\.10:7000 \((uTP|TCP), named\)" "$ERR"
ok
