#!/usr/bin/env bash
# The HTTP endpoint of `dvt serve --http` (#18; transport/http_endpoint.hpp, docs/transport.md "HTTP endpoint"):
# GET /<commit>/<path> gives a file's exact bytes with its ETag (the file id); Range requests (one or several) give
# 206 with exactly the asked bytes; HEAD gives the length without a body; If-None-Match gives 304; a directory is a
# JSON listing; a branch name redirects (307) to the commit id; a symlink serves its target inside the version; unknown
# commits and paths are 404; one keep-alive connection serves many requests; a pack damaged after the commit makes
# the file's request fail (500), never give other bytes. Loopback in a private network namespace; the server is
# stopped by PID (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
command -v curl >/dev/null || fail "curl is required (scripts/setup.sh installs it)"

REPO=$T/repo
new_repo "$REPO"
make_tree "$REPO"
cd "$REPO"
V1=$(commit_id v1)
gen_bytes $((3 * 1024 * 1024 + 12345)) blob-seed >"$T/blob.v1"
cmp -s "$T/blob.v1" data/raw/blob.bin || fail "make_tree's blob is not what this test expects"
printf 'changed in v2\n' >docs/readme.txt
V2=$(commit_id v2)

start_serve "$REPO" "$T/serve.json" 127.0.0.2:0 --http 127.0.0.2:0
HTTP=$(json_get 'j["http"]' "$T/serve.json")
[[ "$HTTP" == 127.0.0.2:* ]] || fail "serve --http printed no HTTP address: $HTTP"
U=http://$HTTP

# a whole file, its ETag and length
curl -sS -D "$T/h1" -o "$T/get.bin" "$U/$V1/data/raw/blob.bin" || fail "GET of the blob failed"
cmp -s "$T/get.bin" "$T/blob.v1" || fail "GET /<v1>/data/raw/blob.bin did not give the committed bytes"
FID=$("$DVT" --json ls-tree "$V1" data/raw -r | "$PY" -c 'import json,sys
for e in json.load(sys.stdin)["entries"]:
    if e["path"].endswith("blob.bin"): print(e["id"])')
assert_grep "^HTTP/1.1 200" "$T/h1"
grep -qi "^etag: \"$FID\"" "$T/h1" || fail "no ^etag: \"$FID\" in $T/h1"
grep -qi "^accept-ranges: bytes" "$T/h1" || fail "no ^accept-ranges: bytes in $T/h1"
# HEAD: the length, no body
curl -sS -I -o "$T/head" "$U/$V1/data/raw/blob.bin"
grep -qi "^content-length: $((3 * 1024 * 1024 + 12345))" "$T/head" || fail "no ^content-length: $((3 * 1024 * 1024 + 12345)) in $T/head"
# Range: exactly the asked bytes, also across chunk boundaries and at the end
for r in 0-0 100-199 65530-200000 3000000-3157072 3157000-; do
    curl -sS -D "$T/hr" -o "$T/part" -H "Range: bytes=$r" "$U/$V1/data/raw/blob.bin"
    assert_grep "^HTTP/1.1 206" "$T/hr"
    from=${r%-*} to=${r#*-}
    [ -n "$to" ] || to=$((3 * 1024 * 1024 + 12345 - 1))
    "${PY_FAST[@]}" -c 'import sys; f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2])); sys.stdout.buffer.write(f.read(int(sys.argv[3])))' \
        "$T/blob.v1" "$from" $((to - from + 1)) | cmp -s - "$T/part" || fail "Range $r gave other bytes"
done
# several ranges: a multipart body holding both
curl -sS -D "$T/hm" -o "$T/multi" -H "Range: bytes=0-9,1000-1009" "$U/$V1/data/raw/blob.bin"
assert_grep "^HTTP/1.1 206" "$T/hm"
grep -qi "content-type: multipart/byteranges" "$T/hm" || fail "no content-type: multipart/byteranges in $T/hm"
# conditional GET
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: \"$FID\"" "$U/$V1/data/raw/blob.bin")
assert_eq "$code" 304 "If-None-Match with the file id"
# keep-alive: a dozen GETs on one connection (cpp-httplib closed it after 5), each with the exact bytes
args=()
for i in $(seq 12); do args+=(-o "$T/ka.$i" "$U/$V1/data/raw/blob.bin"); done
curl -sS -w '%{num_connects}\n' "${args[@]}" >"$T/ka.connects" || fail "GETs on one connection failed"
assert_eq "$(awk '{s += $1} END {print s}' "$T/ka.connects")" 1 "connections opened for 12 GETs"
for i in $(seq 12); do cmp -s "$T/ka.$i" "$T/blob.v1" || fail "GET $i on a kept-alive connection gave other bytes"; done
# versions are distinct; a branch redirects to its commit
assert_eq "$(curl -sS "$U/$V1/docs/readme.txt")" "$(printf 'dvt e2e dataset\nsecond line')" "readme of v1 over HTTP"
code=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "$U/main/docs/readme.txt")
assert_eq "$code" "307 $U/$V2/docs/readme.txt" "a branch redirects to its commit"
assert_eq "$(curl -sSL "$U/main/docs/readme.txt")" "changed in v2" "readme of main over HTTP"
# a symlink serves its target; a directory is a JSON listing
cmp -s <(curl -sS "$U/$V2/bin/readme-link") "$REPO/docs/readme.txt" || fail "the symlink did not serve its target"
curl -sS "$U/$V1/data/" >"$T/list.json"
assert_json 'j["commit"] == "'"$V1"'" and j["path"] == "data" and sorted(e["name"] for e in j["entries"]) == ["csv", "empty.dat", "raw"]' "$T/list.json"
assert_json '[e for e in j["entries"] if e["name"] == "raw"][0]["type"] == "directory"' "$T/list.json"
curl -sS "$U/$V1/" >"$T/root.json"
assert_json 'sorted(e["name"] for e in j["entries"]) == ["bin", "data", "docs"]' "$T/root.json"
# what does not exist
for p in "$V1/nope" "$V1/data/raw/blob.bin/x" "$(printf '%064d' 0)/docs/readme.txt" "nobranch/x" "$V1/../$V1/docs/readme.txt"; do
    code=$(curl -sS --path-as-is -o /dev/null -w '%{http_code}' "$U/$p")
    assert_eq "$code" 404 "GET /$p"
done

stop_serve "$SERVE_PID" "$T/serve.json"

# a damaged pack (a new server: the first one may hold the bytes in its caches): the request fails, never gives
# other bytes
for p in .dvt/packs/*.pack; do chmod u+w "$p"; done
BIG_PACK=$(ls -S .dvt/packs/*.pack | head -1)
flip_bytes "$BIG_PACK" 200000 4096 0xFF
start_serve "$REPO" "$T/serve2.json" 127.0.0.2:0 --http 127.0.0.2:0
U=http://$(json_get 'j["http"]' "$T/serve2.json")
rc=0
code=$(curl -sS -o "$T/bad" -w '%{http_code}' "$U/$V1/data/raw/blob.bin" 2>"$T/bad.err") || rc=$?
touch "$T/bad"
if [ "$code" = 200 ]; then  # the damage lies past the start: the body ends early, and curl knows it (Content-Length)
    [ "$rc" != 0 ] || fail "a damaged pack gave a complete response"
    [ "$(stat -c %s "$T/bad")" -lt $((3 * 1024 * 1024 + 12345)) ] || fail "a damaged pack gave a whole body"
    head -c "$(stat -c %s "$T/bad")" "$T/blob.v1" | cmp -s - "$T/bad" || fail "a damaged pack gave other bytes"
else
    assert_eq "$code" 500 "GET through a damaged pack"
    assert_grep "damaged" "$T/bad"
fi
# a range that starts in the damaged bytes: an error status before any byte
code=$(curl -sS -o "$T/bad2" -w '%{http_code}' -H "Range: bytes=200000-300000" "$U/$V1/data/raw/blob.bin")
assert_eq "$code" 500 "a Range inside the damaged bytes"
assert_grep "damaged" "$T/bad2"
stop_serve "$SERVE_PID" "$T/serve2.json"

# --http takes a port alone (loopback) and refuses a host name
expect_exit 2 "$DVT" -C "$REPO" serve --listen 127.0.0.2:0 --http localhost:80
one_error_line "$ERR"
ok
