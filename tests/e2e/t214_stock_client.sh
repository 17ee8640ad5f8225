#!/usr/bin/env bash
# A stock BitTorrent client (qBittorrent from Debian, libtorrent 2.0.8) and dvt, both ways (#19 item 5;
# docs/transport.md, "Seeding with another BitTorrent client"):
#  1. `dvt torrent V1` writes the commit's and every pack's .torrent and prints v2 magnet links; each file's info dict
#     hashes (SHA-256, computed here by an independent bdecoder) to the info-hash it claims, the commit's to V1 itself;
#     --json lists them; an unknown revision is exit 4.
#  2. qBittorrent, given those .torrent files and `dvt serve` as its only peer, downloads every file byte-identical
#     to the repository's commit file and packs.
#  3. With dvt serve stopped, `dvt clone V1` from qBittorrent alone gets V1 (tree identical, fsck passes); so does a
#     clone given the commit's .torrent (--commit-torrent: no ut_metadata needed); another torrent there is exit 2.
#  4. V2 is exported with `dvt push --mirror DIR` and qBittorrent seeds V2's torrents straight from that directory
#     (after its own hash check); `dvt pull V2` into the clone from qBittorrent alone fast-forwards to V2.
# qBittorrent's config is written before it starts: DHT, LSD, PeX, UPnP/NAT-PMP off, TCP only, no queueing, no ratio
# limit, listening on 127.0.0.1 only, Web UI on 127.0.0.1 with the localhost auth bypass; driven with curl (Web API
# v2). Private network namespace (NETNS=1); every process is stopped by PID, also on failure (lib.sh trap).
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
command -v qbittorrent-nox >/dev/null || fail "qbittorrent-nox is required (scripts/setup.sh installs it)"
command -v curl >/dev/null || fail "curl is required"

MIB=$((1024 * 1024))

# torrent_check FILE: prints "<sha256 of the info dict> <name> <length> <has piece layers>" of a .torrent
torrent_check() {
    "${PY_FAST[@]}" - "$1" <<'PY'
import hashlib, sys
b = open(sys.argv[1], "rb").read()
def parse(i):
    c = b[i:i+1]
    if c == b"d" or c == b"l":
        i += 1; out = {} if c == b"d" else []
        while b[i:i+1] != b"e":
            if c == b"d":
                k, i = parse(i); v, i = parse(i); out[k] = v
            else:
                v, i = parse(i); out.append(v)
        return out, i + 1
    if c == b"i":
        j = b.index(b"e", i); return int(b[i+1:j]), j + 1
    j = b.index(b":", i); n = int(b[i:j]); return b[j+1:j+1+n], j + 1 + n
top, end = parse(0)
assert end == len(b), "trailing bytes"
# the info dict's own bytes: find where its value starts and re-parse to its end
k = b.index(b"4:infod") + 6
_, e = parse(k)
info = top[b"info"]
files = info[b"file tree"]
(name, node), = files.items()
length = node[b""][b"length"]
print(hashlib.sha256(b[k:e]).hexdigest(), name.decode(), length, int(bool(top.get(b"piece layers"))))
PY
}

# --- the source repository, V1
A=$T/a
new_repo "$A"
make_tree "$A"
gen_bytes $((5 * MIB + 333)) stock-1 >"$A/data/raw/big1.bin"
cd "$A"
V1=$(commit_id v1)
tree_digest "$A" >"$T/v1.digest"
cd "$T"

# --- 1. dvt torrent
start_serve "$A" "$T/a.json" 127.0.0.2:0
SA=$SERVE_PID
NPACKS=$(json_get 'j["packs"]' "$T/a.json")
expect_exit 0 "$DVT" -C "$A" --json torrent "$V1" --out "$T/tor" --peer "$PEER"
cp "$OUT" "$T/tor.json"
assert_json 'j["commit"] == "'"$V1"'" and len(j["torrents"]) == 1 + '"$NPACKS" "$T/tor.json"
assert_json 'j["torrents"][0]["kind"] == "commit" and j["torrents"][0]["id"] == j["torrents"][0]["info_hash"] == "'"$V1"'"' "$T/tor.json"
assert_json 'all(t["kind"] == "pack" and t["complete"] and t["name"] == t["id"] + ".pack" for t in j["torrents"][1:])' "$T/tor.json"
assert_json 'all(t["magnet"].startswith("magnet:?xt=urn:btmh:1220" + t["info_hash"]) and "x.pe=" in t["magnet"] for t in j["torrents"])' "$T/tor.json"
n=0
while read -r id kind ih name length file; do
    [ -f "$file" ] || fail "dvt torrent did not write $file"
    read -r got gname glength layers < <(torrent_check "$file")
    assert_eq "$got" "$ih" "the info-hash of $file"
    assert_eq "$gname" "$name" "the file name in $file"
    assert_eq "$glength" "$length" "the length in $file"
    if [ "$kind" = pack ]; then
        assert_eq "$length" "$(stat -c %s "$A/.dvt/packs/$id.pack")" "the length of pack $id"
        # a pack longer than one piece carries its piece layer (a client needs it; dvt's mirror files do too)
    fi
    n=$((n + 1))
done < <(json_get '"\n".join(" ".join([t["id"], t["kind"], t["info_hash"], t["name"], str(t["length"]), t["file"]]) for t in j["torrents"])' "$T/tor.json")
assert_eq "$n" "$((1 + NPACKS))" "torrents checked"
# without --json: one magnet link per line, the commit's first
expect_exit 0 "$DVT" -C "$A" torrent --out "$T/tor-h"
assert_eq "$(wc -l <"$OUT")" "$((1 + NPACKS))" "magnet lines"
head -n 1 "$OUT" | grep -q "^magnet:?xt=urn:btmh:1220$V1" || fail "the first line is not the commit's magnet: $(head -n 1 "$OUT")"
cmp "$T/tor/$V1.torrent" "$T/tor-h/$V1.torrent" >&2 || true  # (x.pe is not in the file: only the magnet)
expect_exit 4 "$DVT" -C "$A" torrent 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef --out "$T/none"
one_error_line

# --- dvt doctor against dvt serve: connected, it serves V1, it sees us as our own address (no NAT), no port mapping
expect_exit 0 "$DVT" --json doctor --peer "$PEER" --commit "$V1" --listen 127.0.0.7 --timeout 5
assert_json 'j["listen"].startswith("127.0.0.7:") and j["listen_scope"] == "loopback" and j["port_mapping"] == "off" and j["nat"] == "none"'
assert_json 'j["peers"][0]["connected"] and j["peers"][0]["serves_commit"] and j["peers"][0]["complete"] and j["peers"][0]["seen_as"] == "127.0.0.7" and j["peers"][0]["client"].startswith("dvt/") and j["peers"][0]["nat"] == "none"'
# dvt serve learnt doctor's listen port from the probe and connected to it: the listen socket is reachable from it
assert_json 'j["peers"][0]["reached_us"] is True'
# a commit it does not serve: it closes the connection; a closed port: refused
expect_exit 0 "$DVT" --json doctor --peer "$PEER" --peer 127.0.0.9:9 --commit "$(printf 'ab%.0s' {1..32})" --listen 127.0.0.7
assert_json 'not j["peers"][0]["serves_commit"] and "closed the connection" in j["peers"][0]["error"]'
assert_json 'not j["peers"][1]["connected"] and "refused" in j["peers"][1]["error"] and j["nat"] == "unknown"'
assert_json 'j["peers"][0]["reached_us"] is None and j["peers"][1]["reached_us"] is None'
expect_exit 0 "$DVT" doctor --peer "$PEER" --commit "$V1" --listen 127.0.0.7
assert_grep "^peer $PEER: connected in .*, serves the commit \\(complete\\), client 'dvt/.*', sees us as 127\\.0\\.0\\.7" "$OUT"
assert_grep "^NAT: none" "$OUT"
expect_exit 2 "$DVT" doctor --peer nonsense

# --- qBittorrent, configured before it starts
QW=$(free_port 127.0.0.1)
QP=$(free_port 127.0.0.1)
mkdir -p "$T/qb/qBittorrent/config" "$T/qbdl"
cat >"$T/qb/qBittorrent/config/qBittorrent.conf" <<CONF
[LegalNotice]
Accepted=true

[BitTorrent]
Session\\DHTEnabled=false
Session\\LSDEnabled=false
Session\\PeXEnabled=false
Session\\Port=$QP
Session\\Interface=lo
Session\\InterfaceName=lo
Session\\InterfaceAddress=127.0.0.1
Session\\BTProtocol=TCP
Session\\QueueingSystemEnabled=false
Session\\GlobalMaxRatio=-1
Session\\GlobalMaxSeedingMinutes=-1
Session\\DefaultSavePath=$T/qbdl
Session\\TempPathEnabled=false
Session\\AddExtensionToIncompleteFiles=false
Session\\MultiConnectionsPerIp=true
Session\\AnonymousModeEnabled=false

[Network]
PortForwardingEnabled=false

[Preferences]
Connection\\UPnP=false
WebUI\\Address=127.0.0.1
WebUI\\Port=$QW
WebUI\\LocalHostAuth=false
WebUI\\CSRFProtection=false
WebUI\\HostHeaderValidation=false
CONF
bg qbittorrent-nox --profile="$T/qb" >"$T/qb.log" 2>&1
QB_PID=$BG_PID
API=http://127.0.0.1:$QW/api/v2
for _ in $(seq 1 100); do
    curl -sf "$API/app/version" >/dev/null 2>&1 && break
    kill -0 "$QB_PID" 2>/dev/null || { cat "$T/qb.log" >&2; fail "qbittorrent-nox exited at start"; }
    sleep 0.1
done
curl -sf "$API/app/version" >/dev/null || fail "qBittorrent's Web API did not answer within 10 s"
curl -sf "$API/app/preferences" >"$T/prefs.json"
assert_json 'not j["dht"] and not j["lsd"] and not j["pex"] and not j["upnp"] and j["listen_port"] == '"$QP"' and j["bittorrent_protocol"] == 1 and not j["queueing_enabled"]' "$T/prefs.json"

# qb_add FILE SAVEPATH: adds a .torrent (started, hash-checked); "Fails." for one it has already
qb_add() { curl -sf -F "torrents=@$1" -F "savepath=$2" -F paused=false "$API/torrents/add"; }
# qb_wait_done "IH..." SECONDS: waits until qBittorrent holds each torrent (by v2 info-hash) complete
qb_wait_done() {
    local want=$1 secs=$2 i
    for i in $(seq 1 $((secs * 5))); do
        curl -sf "$API/torrents/info" >"$T/qbinfo.json"
        "${PY_FAST[@]}" -c '
import json, sys
have = {t["infohash_v2"]: t for t in json.load(open(sys.argv[1]))}
sys.exit(0 if all(h in have and have[h]["progress"] >= 1 for h in sys.argv[2].split()) else 1)' "$T/qbinfo.json" "$want" && return 0
        sleep 0.2
    done
    cat "$T/qbinfo.json" >&2
    fail "qBittorrent did not complete its torrents within $secs s"
}
qb_id() { json_get '" ".join(t["info_hash"] for t in j["torrents"])' "$1"; }

# --- 2. qBittorrent downloads V1's commit and packs from dvt serve (its only peer)
for f in "$T"/tor/*.torrent; do
    assert_eq "$(qb_add "$f" "$T/qbdl")" "Ok." "qBittorrent adding $(basename "$f")"
done
curl -sf "$API/torrents/info" >"$T/qbinfo.json"
HASHES=$(json_get '"|".join(t["hash"] for t in j)' "$T/qbinfo.json")
curl -sf --data-urlencode "hashes=$HASHES" --data-urlencode "peers=$PEER" "$API/torrents/addPeers" >/dev/null ||
    fail "qBittorrent refused the peer $PEER"
t0=$(date +%s)
qb_wait_done "$(qb_id "$T/tor.json")" 40
echo "  qBittorrent fetched V1 ($((1 + NPACKS)) torrents) from dvt serve in $(($(date +%s) - t0)) s" >&2
# doctor sees qBittorrent as it sees dvt serve
expect_exit 0 "$DVT" --json doctor --peer "127.0.0.1:$QP" --commit "$V1" --listen 127.0.0.7 --timeout 5
assert_json 'j["peers"][0]["connected"] and j["peers"][0]["serves_commit"] and j["peers"][0]["seen_as"] == "127.0.0.7" and "qBittorrent" in j["peers"][0]["client"]'
echo "  doctor: qBittorrent connected back to doctor's listen port: $(json_get 'j["peers"][0]["reached_us"]')" >&2
cmp "$A/.dvt/commits/$V1" "$T/qbdl/dvt-commit" >&2 || fail "qBittorrent's commit file differs from the repository's"
for p in "$A"/.dvt/packs/*.pack; do
    cmp "$p" "$T/qbdl/$(basename "$p")" >&2 || fail "qBittorrent's copy of $(basename "$p") differs"
done
stop_serve "$SA" "$T/a.json"
[ "$SERVE_UPLOADED" -gt $((5 * MIB)) ] || fail "dvt serve uploaded only $SERVE_UPLOADED bytes"

# --- 3. dvt clone from qBittorrent alone
expect_exit 0 "$DVT" --json clone "$V1" "$T/c" --peer "127.0.0.1:$QP" --listen 127.0.0.3 --timeout 30
# a whole clone fetches every pack of the version but the locator's (docs/format.md, "Locator")
NVPACKS=$NPACKS
grep -q "^locator " "$A/.dvt/commits/$V1" && NVPACKS=$((NPACKS - 1))
assert_json 'j["commit"] == "'"$V1"'" and j["commit_fetched"] and j["packs_fetched"] == '"$NVPACKS"' and j["pieces_failed"] == 0 and j["peers_banned"] == []'
assert_same_tree "$T/v1.digest" "$T/c" "the clone from qBittorrent"
expect_exit 0 "$DVT" -C "$T/c" fsck
# the commit's info dict from its .torrent instead of from the peer (for clients that refuse ut_metadata)
expect_exit 0 "$DVT" --json clone "$V1" "$T/c2" --commit-torrent "$T/tor/$V1.torrent" --peer "127.0.0.1:$QP" \
    --listen 127.0.0.3 --timeout 30
assert_same_tree "$T/v1.digest" "$T/c2" "the clone with --commit-torrent"
PACK1=$(json_get 'j["torrents"][1]["id"]' "$T/tor.json")
expect_exit 2 "$DVT" clone "$V1" "$T/c3" --commit-torrent "$T/tor/$PACK1.torrent" --peer "127.0.0.1:$QP" \
    --listen 127.0.0.3 --timeout 30
one_error_line
assert_grep "is not the torrent of commit $V1" "$ERR"
[ ! -e "$T/c3" ] || fail "the refused clone left $T/c3"

# --- 4. V2: qBittorrent seeds it from a `dvt push --mirror` directory; dvt pull fetches it from qBittorrent alone
gen_bytes $((2 * MIB + 5)) stock-2 >"$A/data/raw/big2.bin"
printf 'changed\n' >>"$A/docs/readme.txt"
cd "$A"
V2=$(commit_id v2)
tree_digest "$A" >"$T/v2.digest"
cd "$T"
expect_exit 0 "$DVT" -C "$A" --json push --mirror "$T/mir"
expect_exit 0 "$DVT" -C "$A" --json torrent "$V2" --out "$T/tor2"
cp "$OUT" "$T/tor2.json"
while read -r id kind; do
    if [ "$kind" = commit ]; then
        r=$(qb_add "$T/tor2/$id.torrent" "$T/mir/commits/$id")
    else
        r=$(qb_add "$T/tor2/$id.torrent" "$T/mir/packs")  # "Fails." for a pack it has from V1 already
    fi
    [ "$r" = "Ok." ] || [ "$r" = "Fails." ] || fail "qBittorrent answered '$r' adding $id"
done < <(json_get '"\n".join(t["id"] + " " + t["kind"] for t in j["torrents"])' "$T/tor2.json")
qb_wait_done "$(qb_id "$T/tor2.json")" 30
expect_exit 0 "$DVT" -C "$T/c" --json pull "$V2" --peer "127.0.0.1:$QP" --listen 127.0.0.3 --timeout 30
assert_json 'j["commit"] == "'"$V2"'" and j["fast_forward"] and j["pieces_failed"] == 0'
assert_same_tree "$T/v2.digest" "$T/c" "the pull from qBittorrent"
expect_exit 0 "$DVT" -C "$T/c" fsck
# qBittorrent only read the mirror: the packs there are still byte-identical to the repository's
for p in "$T"/mir/packs/*.pack; do cmp "$p" "$A/.dvt/packs/$(basename "$p")" >&2 || fail "$(basename "$p") changed"; done

kill -TERM "$QB_PID"
wait_bg "$QB_PID"
ok
