#!/usr/bin/env bash
# `dvt doctor --json` on each testbed topology (tests/net/netbed.sh), against a `dvt serve` on the public segment
# (11.0.0.10:7000) that holds the commit:
#  * public host q (11.0.0.20): listen scope public, the peer sees q's own address (NAT none), the peer connects back
#    to q's listen port (reached_us, over uTP: dvt tries uTP first); --port-map finds no router ("no answer");
#  * home u behind a router with miniupnpd (UPnP, NAT-PMP): scope private, the peer sees the router's address
#    11.0.0.101 (NAT nat, external_address); without --port-map the peer cannot connect back; with --port-map the
#    router maps the listen port (a mapping with that external port, and the router holds the DNAT rule while doctor
#    runs) and the peer connects back through it;
#  * home n behind a router without UPnP: NAT nat, external address 11.0.0.102, --port-map gets no mapping, and the
#    peer cannot connect back;
#  * the seeder's own report (SIGUSR1, JSON): its failed connections back to the NATed doctors are counted by reason
#    (refused by the router, or timed out), and while a clone from behind u's NAT runs (rate-limited), the commit's
#    or a pack's torrent lists that connected peer.
# Every namespace and process is stopped by PID at exit.
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "${DVT_TEST_LIB:-$0}")/../net/netbed.sh"
nb_require

nb_public
nb_host seed 11.0.0.10
nb_host q 11.0.0.20
nb_home u 1 --upnp
nb_home n 2

nb_source_repo "$T/s" $((1 << 20)) t216
nb_serve seed "$T/s" "$T/serve.json" 11.0.0.10:7000

# doctor NS NAME [options...]: dvt --json doctor in namespace NS against the seeder, JSON in $T/NAME.json.
doctor() {
    local ns=$1 name=$2
    shift 2
    expect_exit 0 nb "$ns" "$DVT" --json doctor --peer 11.0.0.10:7000 --commit "$ID" --timeout 3 "$@"
    cp "$OUT" "$T/$name.json"
}
# seed_status NAME: the seeder's SIGUSR1 report (its last JSON line) in $T/NAME.status.json.
seed_status() {
    local before
    before=$(wc -l <"$T/serve.json")
    kill -USR1 "$SERVE_PID"
    for _ in $(seq 1 50); do [ "$(wc -l <"$T/serve.json")" -gt "$before" ] && break; sleep 0.1; done
    tail -1 "$T/serve.json" >"$T/$1.status.json"
    assert_json 'j["status"] == "serving"' "$T/$1.status.json"
}
common='(lambda p: p["connected"] and p["serves_commit"] and p["complete"] and p["client"].startswith("dvt/"))(j["peers"][0])'

# --- the public segment
doctor q q
assert_json "$common" "$T/q.json"
assert_json 'j["listen"].startswith("11.0.0.20:") and j["listen_scope"] == "public" and j["port_mapping"] == "off"' "$T/q.json"
assert_json 'j["nat"] == "none" and j["external_address"] is None and j["peers"][0]["seen_as"] == "11.0.0.20"' "$T/q.json"
assert_json 'j["peers"][0]["reached_us"] is True and j["peers"][0]["reached_via"] == "utp"' "$T/q.json"
doctor q q-map --port-map
assert_json 'j["port_mapping"] == "no answer" and j["mappings"] == [] and j["nat"] == "none"' "$T/q-map.json"

# --- behind the router with UPnP / NAT-PMP
doctor u u
assert_json "$common" "$T/u.json"
assert_json 'j["listen"].startswith("192.168.1.2:") and j["listen_scope"] == "private" and j["port_mapping"] == "off"' \
    "$T/u.json"
assert_json 'j["nat"] == "nat" and j["external_address"] == "11.0.0.101" and j["peers"][0]["seen_as"] == "11.0.0.101"' \
    "$T/u.json"
assert_json 'j["peers"][0]["reached_us"] is False and j["peers"][0]["reached_via"] is None' "$T/u.json"
# with --port-map in the background, to see the router's DNAT rule while doctor holds the mapping
nb_bg u "$DVT" --json doctor --peer 11.0.0.10:7000 --commit "$ID" --timeout 3 --port-map >"$T/u-map.json" 2>"$T/u-map.err"
dpid=$BG_PID
for _ in $(seq 1 50); do nb_upnp_maps u-gw | grep -q "192.168.1.2:" && break; sleep 0.1; done
nb_upnp_maps u-gw >"$T/u-maps.txt"
wait_bg "$dpid"
[ "$BG_STATUS" = 0 ] || { cat "$T/u-map.err" >&2; fail "doctor --port-map behind u exited $BG_STATUS"; }
assert_json 'j["port_mapping"] == "mapped" and j["nat"] == "nat" and j["external_address"] == "11.0.0.101"' "$T/u-map.json"
port=$(json_get 'j["listen"].split(":")[1]' "$T/u-map.json")
assert_json "any(m['error'] is None and m['transport'] == 'tcp' and m['external_port'] == $port for m in j['mappings'])" \
    "$T/u-map.json"
assert_grep "dport $port .*dnat.*192\.168\.1\.2:$port" "$T/u-maps.txt" "u-gw held no port map for doctor's port $port"
assert_json 'j["peers"][0]["reached_us"] is True and j["peers"][0]["reached_via"] in ("utp", "tcp")' "$T/u-map.json"

# --- behind the router without UPnP
doctor n n --port-map
assert_json "$common" "$T/n.json"
assert_json 'j["listen"].startswith("192.168.2.2:") and j["listen_scope"] == "private"' "$T/n.json"
assert_json 'j["port_mapping"] in ("no answer", "failed") and not any(m["error"] is None for m in j["mappings"])' "$T/n.json"
assert_json 'j["nat"] == "nat" and j["external_address"] == "11.0.0.102" and j["peers"][0]["seen_as"] == "11.0.0.102"' \
    "$T/n.json"
assert_json 'j["peers"][0]["reached_us"] is False' "$T/n.json"

# --- the seeder's view: its connections back to u (unmapped) and n failed, and why
seed_status after-nat
assert_json 'j["dropped"].get("Connection refused", 0) + j["dropped"].get("Connection timed out", 0) > 0' \
    "$T/after-nat.status.json"
# ... and the peers per torrent while a clone from behind u's NAT is under way (its download capped at 64 kB/s)
nb_bg u "$DVT" clone "$ID" "$T/c" --peer 11.0.0.10:7000 --download-limit 64k --timeout 60 >"$T/clone.out" 2>"$T/clone.err"
cpid=$BG_PID
for _ in $(seq 1 50); do
    seed_status during-clone
    "${PY_FAST[@]}" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["torrents"] else 1)' \
        "$T/during-clone.status.json" && break
    sleep 0.2
done
assert_json 'len(j["torrents"]) >= 1 and all(t["peers"] == 1 and t["kind"] in ("commit", "pack") for t in j["torrents"])' \
    "$T/during-clone.status.json"
kill_bg "$cpid"
ok
