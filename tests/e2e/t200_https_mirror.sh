#!/usr/bin/env bash
# HTTPS mirrors (#20; docs/transport.md, "HTTP mirrors"): a `push --mirror DIR` export served by nginx over TLS with a
# certificate of a private CA this test makes. With SSL_CERT_FILE naming that CA, a clone from the HTTPS mirror alone
# (no dvt process running) is byte for byte the original and passes fsck, and so is a pull of a newer version; without
# it the certificate is refused (exit 12, a one-line error naming the certificate problem). A mirror that serves a
# wrong byte in a pack is refused: the clone fails and keeps nothing damaged. http:// keeps working; other schemes are
# refused (exit 2). Loopback only; nginx is stopped by PID (lib.sh).
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
command -v openssl >/dev/null || fail "openssl is required"

SRC=$T/src
new_repo "$SRC"
make_tree "$SRC"
cd "$SRC"
V1=$(commit_id v1)
tree_digest "$SRC" >"$T/v1.digest"
gen_text 3000 v2 >data/csv/part-9.csv
V2=$(commit_id v2)
tree_digest "$SRC" >"$T/v2.digest"
expect_exit 0 "$DVT" --json push --mirror "$T/www"
assert_json 'j["mirror"]["packs_written"] >= 1'
# the mirror, pushed from v2, lacks v1's locator pack (which v2 does not name): cloning v1 must not need it
L1=$(sed -n 's/^locator [0-9a-f]* \([0-9a-f]*\)$/\1/p' "$SRC/.dvt/commits/$V1")
[ -n "$L1" ] || fail "v1 names no locator (pack.locator unset means 1)"
[ ! -e "$T/www/packs/$L1.pack" ] || fail "the mirror pushed from v2 holds v1's locator pack"

# a private CA and a certificate for 127.0.0.1 signed by it
mkdir -p "$T/pki"
cd "$T/pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=dvt test CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >ext.cnf
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf 2>/dev/null
cd "$T"

chmod 755 "$T/pki"
chmod 644 "$T/pki/srv.key"  # nginx's master reads it as root; workers never do
start_nginx "$T/www" "$T/pki/srv.pem" "$T/pki/srv.key"
NGPORT=$NG_PORT
M=https://127.0.0.1:$NGPORT/

# without the private CA the certificate is refused
expect_exit 12 "$DVT" clone "$V1" "$T/c0" --mirror "$M" --listen 127.0.0.50 --timeout 10
one_error_line "$ERR"
assert_grep "certificate|SSL" "$ERR"
[ ! -e "$T/c0/.dvt/refs/heads/main" ] || fail "a refused clone left a branch"

# with it: a clone from the HTTPS mirror alone, then a pull of the newer version
export SSL_CERT_FILE=$T/pki/ca.pem
expect_exit 0 "$DVT" --json clone "$V1" "$T/c1" --mirror "$M" --listen 127.0.0.50 --timeout 30
assert_same_tree "$T/v1.digest" "$T/c1" "the clone of v1 from the HTTPS mirror"
[ ! -e "$T/c1/.dvt/packs/$L1.pack" ] || fail "the clone holds v1's locator pack, which the mirror lacks"
assert_json 'j["bytes_received"] > 0'
expect_exit 0 "$DVT" -C "$T/c1" --json pull "$V2" --mirror "$M" --listen 127.0.0.50 --timeout 30
assert_same_tree "$T/v2.digest" "$T/c1" "v2 pulled from the HTTPS mirror"
expect_exit 0 "$DVT" -C "$T/c1" --json fsck
assert_json 'j["ok"]'
# a remote can name an https:// mirror
expect_exit 0 "$DVT" -C "$T/c1" remote add bucket --mirror "$M"

# a mirror serving a wrong byte in a pack: refused, nothing damaged kept
BIG=$(ls -S "$T"/www/packs/*.pack | head -1)
chmod u+w "$BIG"
flip_bytes "$BIG" 100000 1 0x01
expect_exit_in() {  # any of the codes in $1 (space separated)
    local codes=$1 rc=0
    shift
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    [[ " $codes " == *" $rc "* ]] || { cat "$T/err" >&2; fail "exit $rc, expected one of $codes: $*"; }
}
expect_exit_in "5 10 12" "$DVT" clone "$V1" "$T/c2" --mirror "$M" --listen 127.0.0.50 --timeout 8
one_error_line "$T/err"
if [ -d "$T/c2/.dvt" ]; then  # a kept, resumable clone holds no damaged pack
    for p in "$T"/c2/.dvt/packs/*.pack; do
        [ -e "$p" ] || continue
        cmp -s "$p" "$BIG" && fail "the damaged pack was installed"
    done
fi

# other schemes are refused
expect_exit 2 "$DVT" clone "$V1" "$T/c3" --mirror "ftp://127.0.0.1/x" --timeout 5
one_error_line "$ERR"
assert_grep "http:// or https://" "$ERR"
kill -TERM "$NG_PID"
wait_bg "$NG_PID"
ok
