# shellcheck shell=bash
# Helpers for the dvt end-to-end tests. Sourced by every tests/e2e/t*.sh:
#
#   source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
#
# Provides: $DVT (the binary), $T (a fresh temp dir, removed on exit; KEEP_TMP=1 or KEEP_TMP_ON_FAIL=1 keep it),
# fail / soft_fail, expect_exit ($OUT/$ERR), bg / kill_bg / wait_bg (background processes killed by PID on exit, also
# on failure), make_tree, gen_bytes, gen_text, tree_digest / tree_hash / assert_same_tree, json_get / assert_json /
# is_json, one_error_line, assert_grep, assert_eq, listing, commit_id, ok; for swarm tests start_serve / stop_serve
# (`dvt serve` in the background, stopped by PID) and free_port; NETNS=1 (set before sourcing) for a private network
# namespace. start_nginx serves a directory (optionally over TLS); checkout_each checks versions out against their
# digests; flip_bytes damages a file in place; fuse_mountpoint makes a mount point unmounted at exit;
# start_mount / stop_mount run `dvt mount` on it in the background.
set -euo pipefail

DVT=${DVT:-/work/main/build/dvt}
[[ "$DVT" = /* ]] || DVT="$(cd "$(dirname "$DVT")" && pwd)/$(basename "$DVT")"
[ -x "$DVT" ] || { echo "FAIL: dvt binary not found at $DVT (build it or set DVT)" >&2; exit 1; }
export DVT

# Network tests set NETNS=1 before sourcing this file: they then run in a private network namespace (`unshare --net`,
# with only their own loopback interface), so nothing they start can reach, or be reached from, anything outside the
# test, and their fixed ports cannot collide with a test running beside them. `exec` keeps the test's PID (ctest's
# timeout still stops it; every process it starts dies with it as before). Where unshare is not permitted the test
# runs on the host's loopback, with a note.
if [[ ${NETNS:-} == 1 && -z ${DVT_IN_NETNS:-} ]]; then
    if unshare --net -- ip link set lo up 2>/dev/null; then
        exec unshare --net -- env DVT_IN_NETNS=1 bash -c 'ip link set lo up && exec bash "$@"' bash "$0" "$@"
    fi
    echo "note: unshare --net is not available here; running on the host's loopback" >&2
fi

# Deterministic identity; no inherited settings that change behaviour.
export DVT_AUTHOR_NAME="E2E Tester"
export DVT_AUTHOR_EMAIL="e2e@example.invalid"
unset DVT_AUTHOR_DATE DVT_LOCK_TIMEOUT
export LC_ALL=C
export TZ=UTC

# The real interpreter (not a version-manager shim) and -S: JSON checks and digests run very often.
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || { echo "FAIL: python3 is required" >&2; exit 1; }
PY_FAST=("$PY" -S)

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "/tmp/dvt-e2e-${TEST_NAME}.XXXXXX")
export T

BG_PIDS=()

# Kill a process and its descendants, by PID (the children are looked up before the parent dies). Only ever called
# for PIDs this test started and has not reaped yet.
_kill_tree() {
    local pid=$1 child
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null || true); do _kill_tree "$child"; done
    kill -KILL "$pid" 2>/dev/null || true
}
# _kill_bg_tree PID: like _kill_tree, but only if PID is still a child of this shell (a PID that bash already reaped
# may have been reused by an unrelated process).
_kill_bg_tree() {
    local ppid
    ppid=$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ' || true)
    [ "$ppid" = "$$" ] && _kill_tree "$1"
    return 0
}

# Commands run at exit before the background processes are stopped (e.g. unmounting a FUSE mount a test made). The
# exit status is taken before them, so a failing test still fails.
CLEANUP_HOOKS=()

_cleanup() {
    local rc=$?
    set +e
    local pid hook
    for hook in "${CLEANUP_HOOKS[@]}"; do eval "$hook"; done
    for pid in "${BG_PIDS[@]}"; do _kill_bg_tree "$pid"; done
    for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    if [ -n "${KEEP_TMP:-}" ] || { [ "$rc" -ne 0 ] && [ -n "${KEEP_TMP_ON_FAIL:-}" ]; }; then
        echo "(kept $T)" >&2
    else
        chmod -R u+w "$T" 2>/dev/null
        rm -rf "$T"
    fi
    exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    exit 1
}

# fuse_mountpoint DIR: skip the test (exit 0 with a message) where FUSE is missing; else make DIR, and unmount
# whatever is mounted on it when the test ends, passed or failed.
fuse_mountpoint() {
    if [ ! -e /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
        echo "SKIP: needs /dev/fuse and fusermount3 (fuse3)" >&2
        exit 0
    fi
    mkdir -p "$1"
    CLEANUP_HOOKS+=("mountpoint -q $(printf %q "$1") 2>/dev/null && fusermount3 -u -z $(printf %q "$1") 2>/dev/null")
}

# start_mount REPO REV [options]: `dvt -C REPO mount REV $MNT [options]` in the background, waiting (30 s at most) for
# its ready line in $T/mount.json, which must name $MNT (and REV, when REV is a commit id); sets MOUNT_PID.
# stop_mount: SIGTERM, which must unmount and exit 0 (its last JSON line into $T/mount.stop).
start_mount() {
    local repo=$1 rev=$2 out=$T/mount.json i
    shift 2
    bg "$DVT" -C "$repo" --json mount "$rev" "$MNT" "$@" >"$out" 2>"$out.err"
    MOUNT_PID=$BG_PID
    for i in $(seq 1 600); do
        [ -s "$out" ] && break
        kill -0 "$MOUNT_PID" 2>/dev/null || { cat "$out.err" >&2; fail "dvt mount $rev exited at start"; }
        sleep 0.05
    done
    [ -s "$out" ] || fail "dvt mount printed no ready line within 30 s"
    assert_json 'j["mounted"] == "'"$MNT"'"' "$out"
    if [[ $rev =~ ^[0-9a-f]{64}$ ]]; then assert_json 'j["commit"] == "'"$rev"'"' "$out"; fi
    mountpoint -q "$MNT" || fail "$MNT is not a mount point after the ready line"
}
stop_mount() {
    kill -TERM "$MOUNT_PID"
    wait_bg "$MOUNT_PID"
    [ "$BG_STATUS" = 0 ] || { cat "$T/mount.json.err" >&2; fail "dvt mount exited $BG_STATUS after SIGTERM, not 0"; }
    mountpoint -q "$MNT" && fail "$MNT is still mounted after dvt mount ended"
    tail -n 1 "$T/mount.json" >"$T/mount.stop"
}

# soft_fail "msg": record a failure but keep going (for independent checks in one script); `ok` then fails.
SOFT_FAILURES=0
soft_fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    SOFT_FAILURES=$((SOFT_FAILURES + 1))
}

# bg CMD...: start CMD in the background, remember its PID (killed on exit); the PID is in $BG_PID.
bg() {
    "$@" &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}

# A reaped PID may be reused by an unrelated process: forget it so that cleanup never signals it.
_forget_pid() {
    local keep=() p
    for p in "${BG_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    BG_PIDS=("${keep[@]}")
}

# kill_bg PID: SIGKILL a background process (and its children) and reap it; its exit status is in $BG_STATUS.
kill_bg() {
    _kill_bg_tree "$1"
    BG_STATUS=0
    wait "$1" 2>/dev/null || BG_STATUS=$?
    _forget_pid "$1"
}

# wait_bg PID: wait for a background process; its exit status is in $BG_STATUS.
wait_bg() {
    BG_STATUS=0
    wait "$1" || BG_STATUS=$?
    _forget_pid "$1"
}

# expect_exit CODE cmd...: run cmd (stdout -> $T/out, stderr -> $T/err), assert its exit status. On mismatch the
# command's stderr and stdout are shown. $T/out and $T/err stay available for further checks (also as $OUT/$ERR).
OUT="$T/out"
ERR="$T/err"
expect_exit() {
    local want=$1
    shift
    local rc=0
    "$@" >"$OUT" 2>"$ERR" || rc=$?
    if [ "$rc" != "$want" ]; then
        {
            echo "--- command: $*"
            echo "--- expected exit $want, got $rc"
            echo "--- stderr:"
            head -c 4000 "$ERR"
            echo "--- stdout:"
            head -c 4000 "$OUT"
        } >&2
        fail "exit status $rc instead of $want: $*"
    fi
}

# one_error_line [FILE [ALLOWED]]: the stderr file must hold exactly one line starting "dvt: error: ", nothing that
# looks like a crash or a stack trace, and no other line except "dvt: waiting for the repository lock ..." and lines
# matching the extended regex ALLOWED (e.g. fsck's summary line).
one_error_line() {
    local f=${1:-$ERR} allowed=${2:-'^dvt: waiting for the repository lock'}
    local errs others
    errs=$(grep -c '^dvt: error: ' "$f" || true)
    others=$(grep -v '^dvt: error: ' "$f" | grep -v '^dvt: waiting for the repository lock' | grep -Evc -- "$allowed" || true)
    if [ "$errs" != 1 ] || [ "$others" != 0 ]; then
        echo "--- stderr was:" >&2
        cat "$f" >&2
        fail "expected exactly one 'dvt: error:' line on stderr"
    fi
    if grep -Eq 'terminate called|what\(\)|Aborted|Segmentation|#[0-9]+ +0x|AddressSanitizer|runtime error' "$f"; then
        cat "$f" >&2
        fail "stderr looks like a crash or stack trace"
    fi
    [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || fail "error line is not newline-terminated"
}

# gen_bytes N SEED: N pseudo-random bytes, the same for the same (N, SEED) on every machine.
gen_bytes() {
    head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$2" 2>/dev/null
}

# gen_text LINES SEED: compressible, deterministic text.
gen_text() {
    awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s,%d,%d,row %d of the %s table,%.3f\n", s, i, (i * 7919 + length(s)) % 10007, i, s, i / 7.0 }'
}

# make_tree DIR: a small deterministic dataset: nested directories, text files, a ~3 MiB binary file, an empty
# file, an executable script, a relative symlink and a name with a space.
make_tree() {
    local d=$1
    mkdir -p "$d/docs/notes" "$d/data/csv" "$d/data/raw" "$d/bin"
    printf 'dvt e2e dataset\nsecond line\n' >"$d/docs/readme.txt"
    printf 'note one\n' >"$d/docs/notes/n1.txt"
    printf 'note two\n' >"$d/docs/notes/n2.txt"
    local i
    for i in 0 1 2; do gen_text $((200 + i * 50)) "part$i" >"$d/data/csv/part-$i.csv"; done
    gen_bytes $((3 * 1024 * 1024 + 12345)) blob-seed >"$d/data/raw/blob.bin"
    gen_bytes 4096 small-seed >"$d/data/raw/small.bin"
    : >"$d/data/empty.dat"
    printf '#!/bin/sh\necho hello from dvt\n' >"$d/bin/run.sh"
    chmod 755 "$d/bin/run.sh"
    chmod 644 "$d/docs/readme.txt" "$d/data/raw/blob.bin"
    ln -s ../docs/readme.txt "$d/bin/readme-link"
    printf 'spaced\n' >"$d/docs/with space.txt"
}

# tree_digest DIR: one line per entry below DIR (excluding DIR/.dvt): type, exec bit, size, sha256 or symlink
# target, path. Stable across runs and machines, so two trees compare byte-for-byte.
tree_digest() {
    "${PY_FAST[@]}" - "$1" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
out = []
def walk(rel):
    full = os.path.join(root, rel) if rel else root
    for name in sorted(os.listdir(full)):
        if not rel and name == ".dvt":
            continue
        p = os.path.join(rel, name) if rel else name
        fp = os.path.join(root, p)
        st = os.lstat(fp)
        if stat.S_ISLNK(st.st_mode):
            out.append("l - %d %s %s" % (len(os.readlink(fp)), os.readlink(fp), p))
        elif stat.S_ISDIR(st.st_mode):
            out.append("d - 0 - %s" % p)
            walk(p)
        elif stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(fp, "rb") as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    h.update(b)
            out.append("f %s %d %s %s" % ("x" if st.st_mode & 0o111 else "-", st.st_size, h.hexdigest(), p))
        else:
            out.append("? - 0 - %s" % p)
walk("")
sys.stdout.write("".join(l + "\n" for l in out))
PY
}

# tree_hash DIR: a single sha256 of tree_digest DIR.
tree_hash() { tree_digest "$1" | sha256sum | cut -c1-64; }

# assert_same_tree EXPECTED_DIGEST_FILE DIR [what]: DIR's digest must equal the saved one; shows a diff otherwise.
assert_same_tree() {
    local want=$1 dir=$2 what=${3:-tree}
    if ! tree_digest "$dir" | diff -u "$want" - >"$T/tree.diff"; then
        head -n 60 "$T/tree.diff" >&2
        fail "$what differs from the expected tree"
    fi
}

# json_get EXPR [FILE]: evaluate a python expression over the JSON document j read from FILE (default $OUT) and
# print the result (strings raw, everything else as JSON). Fails if the document does not parse.
json_get() {
    local expr=$1 f=${2:-$OUT}
    "${PY_FAST[@]}" -c '
import json, sys
try:
    j = json.load(open(sys.argv[2]))
except Exception as e:
    sys.stderr.write("not JSON: %s\n" % e); sys.exit(3)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))
' "$expr" "$f" || { echo "--- document:" >&2; head -c 2000 "$f" >&2; fail "json_get '$expr' failed"; }
}

# assert_json EXPR [FILE]: a python expression over j (the parsed JSON in FILE, default $OUT) must be true.
assert_json() {
    local expr=$1 f=${2:-$OUT}
    "${PY_FAST[@]}" -c '
import json, sys
try:
    j = json.load(open(sys.argv[2]))
except Exception as e:
    sys.stderr.write("not JSON: %s\n" % e); sys.exit(3)
sys.exit(0 if eval(sys.argv[1]) else 1)
' "$expr" "$f" || { echo "--- document:" >&2; head -c 2000 "$f" >&2; fail "JSON assertion failed: $expr"; }
}

# is_json [FILE]: the file parses as exactly one JSON document.
is_json() {
    "${PY_FAST[@]}" -c 'import json,sys; json.load(sys.stdin)' <"${1:-$OUT}" 2>/dev/null ||
        { echo "--- not JSON:" >&2; head -c 2000 "${1:-$OUT}" >&2; fail "output is not a JSON document"; }
}

# assert_grep PATTERN FILE [what]: extended regex must match a line of FILE.
assert_grep() {
    grep -Eq -- "$1" "$2" || { echo "--- $2:" >&2; head -c 3000 "$2" >&2; fail "${3:-expected /$1/ in $2}"; }
}
assert_no_grep() {
    if grep -Eq -- "$1" "$2"; then echo "--- $2:" >&2; head -c 3000 "$2" >&2; fail "${3:-unexpected /$1/ in $2}"; fi
}

# assert_eq ACTUAL EXPECTED what
assert_eq() {
    [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

is_hex64() { [[ "$1" =~ ^[0-9a-f]{64}$ ]]; }

# new_repo DIR: init a repository quietly.
new_repo() {
    "$DVT" init -q "$1" >/dev/null || fail "dvt init $1 failed"
}

# commit_id MSG [extra args]: commit in the current directory, print the new id (fails the test unless exit 0).
# new_git_project DIR [MESSAGE]: a git repository of code at DIR (train.py; .gitignore naming data/), one commit
# (MESSAGE, default "code"), with git isolated from the machine's config; the shell is left in DIR. (The git CLI only
# builds test repositories; dvt reads git through libgit2.)
new_git_project() {
    export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
    export GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.invalid
    mkdir -p "$1"
    cd "$1"
    git init -q -b main
    echo 'print(1)' >train.py
    echo 'data/' >.gitignore
    git add train.py .gitignore
    git commit -qm "${2:-code}"
}

commit_id() {
    local msg=$1
    shift
    expect_exit 0 "$DVT" commit -m "$msg" "$@"
    local id
    id=$(cat "$OUT")
    is_hex64 "$id" || fail "commit printed '$id', not a 64-hex id"
    printf '%s\n' "$id"
}

# mtime listing of a directory tree (for "nothing changed" checks): path, type, size, mode, mtime in ns.
listing() {
    (cd "$1" && find . -printf '%p %y %s %m %T@\n' | sort)
}

# flip_bytes FILE OFFSET COUNT MASK: XORs COUNT bytes of FILE from OFFSET with MASK (0x01..0xFF), in place: damage
# that keeps the file's length.
flip_bytes() {
    "${PY_FAST[@]}" - "$@" <<'PY'
import sys
path, off, count, mask = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4], 0)
with open(path, "r+b") as f:
    f.seek(off)
    b = f.read(count)
    f.seek(off)
    f.write(bytes(x ^ mask for x in b))
PY
}

# checkout_each K...: in the current repository, checks out version K (its commit id in $V<K>) and compares the work
# tree with $T/v<K>.digest, for each K; then checks out main again.
checkout_each() {
    local k id
    for k in "$@"; do
        eval "id=\$V$k"
        expect_exit 0 "$DVT" checkout -q "$id"
        assert_same_tree "$T/v$k.digest" "$PWD" "checkout of v$k"
    done
    expect_exit 0 "$DVT" checkout -q main
}

# start_serve REPO OUTFILE [IP:PORT] [serve options...]: `dvt --json serve` in the background (default 127.0.0.2:0, a
# port the kernel picks), waiting until its ready line is complete. Sets SERVE_PID and PEER (the IP:PORT it listens
# on). Its stderr goes to OUTFILE.err. Tests that define their own start_serve override this one.
start_serve() {
    local repo=$1 out=$2 addr=${3:-127.0.0.2:0}
    shift $(($# < 3 ? $# : 3))
    bg "$DVT" -C "$repo" --json serve --listen "$addr" "$@" >"$out" 2>"$out.err"
    serve_ready "$BG_PID" "$out" "$repo on $addr"
}

# serve_ready PID OUTFILE WHAT: wait until the `dvt --json serve` started in the background as PID has printed its
# ready line to OUTFILE (its stderr in OUTFILE.err); fail naming WHAT if it exits first or takes over 10 s. Sets
# SERVE_PID and PEER (the IP:PORT it listens on).
serve_ready() {
    local pid=$1 out=$2 what=$3 i
    SERVE_PID=$pid
    for i in $(seq 1 200); do
        [ -s "$out" ] && [ -z "$(tail -c 1 "$out")" ] && break
        kill -0 "$SERVE_PID" 2>/dev/null || { cat "$out.err" >&2; fail "dvt serve ($what) exited at start"; }
        sleep 0.05
    done
    [ -s "$out" ] && [ -z "$(tail -c 1 "$out")" ] || fail "dvt serve ($what) printed nothing within 10 s"
    PEER=$(json_get 'j["listen"]' "$out")
}

# stop_serve PID OUTFILE: SIGTERM a server started by start_serve, which must exit 0 and print its stop line
# ({"stopped", "bytes_uploaded"}) after the ready line in OUTFILE. Sets SERVE_UPLOADED (bytes_uploaded).
stop_serve() {
    local pid=$1 out=$2
    kill -TERM "$pid"
    wait_bg "$pid"
    [ "$BG_STATUS" = 0 ] || { cat "$out.err" >&2; fail "dvt serve (pid $pid) exited $BG_STATUS after SIGTERM, not 0"; }
    tail -n 1 "$out" >"$out.stop"
    assert_json '"stopped" in j and isinstance(j["bytes_uploaded"], int) and j["bytes_uploaded"] >= 0' "$out.stop"
    SERVE_UPLOADED=$(json_get 'j["bytes_uploaded"]' "$out.stop")
}

# start_nginx WWW [CERT KEY]: nginx serving directory WWW on 127.0.0.1 (a free port), over TLS with CERT/KEY if given, in
# the background with a private config under $T/ng; waits until it answers. Sets NG_PID and NG_PORT.
start_nginx() {
    local www=$1 cert=${2:-} key=${3:-} listen tls="" scheme=http i
    command -v nginx >/dev/null || fail "nginx is required (scripts/setup.sh installs it)"
    NG_PORT=$(free_port 127.0.0.1)
    listen="127.0.0.1:$NG_PORT"
    if [ -n "$cert" ]; then
        listen="$listen ssl"
        tls="ssl_certificate $cert; ssl_certificate_key $key;"
        scheme=https
    fi
    mkdir -p "$T/ng"
    chmod 755 "$T" "$www"  # nginx's workers run unprivileged
    cat >"$T/ng/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $T/ng/nginx.pid;
error_log $T/ng/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $T/ng; proxy_temp_path $T/ng; fastcgi_temp_path $T/ng; uwsgi_temp_path $T/ng; scgi_temp_path $T/ng;
  server { listen $listen; $tls root $www; }
}
NGINX
    bg nginx -c "$T/ng/nginx.conf" -p "$T/ng"
    NG_PID=$BG_PID
    for i in $(seq 1 50); do curl -s -k -o /dev/null "$scheme://127.0.0.1:$NG_PORT/" && return 0; sleep 0.1; done
    fail "nginx did not answer on $scheme://127.0.0.1:$NG_PORT/"
}

# free_port IP: print a TCP port that is free on IP right now (for servers that cannot pick their own).
free_port() {
    "${PY_FAST[@]}" -c 'import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1]); s.close()' "$1"
}

ok() {
    [ "$SOFT_FAILURES" = 0 ] || fail "$SOFT_FAILURES check(s) failed (see above)"
    echo "ok $TEST_NAME"
}
