#!/usr/bin/env bash
# CLI and environment bounds (#15 item 8): durations and sizes are parsed strictly and bounded (`--lock-timeout inf`
# exited 7 at once, "timed out after -2147 s"; DVT_LOCK_TIMEOUT=abc was taken as 0; `init --pack-size 2^64` and
# `config pack.size 99999999999999999999` were accepted); `dvt config` writes only keys that read back; what a
# repository says (messages, authors, file names) cannot reach the terminal as control sequences; file names with a
# newline are unambiguous (`-z`, git's quoting).
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

R=$T/repo
new_repo "$R"
cd "$R"
printf 'one\n' >a.txt
C1=$(commit_id first)

# --- lock timeouts: bad values are usage errors (2) naming the option or variable, before anything is done
for v in inf 1e308 -1 nan abc 604801 ''; do
    expect_exit 2 "$DVT" --lock-timeout "$v" commit -m x --allow-empty
    one_error_line
    assert_grep 'lock-timeout' "$ERR"
done
for v in abc -5 nan inf 1e308 0x10 ' 5'; do
    DVT_LOCK_TIMEOUT=$v expect_exit 2 "$DVT" status
    one_error_line
    assert_grep 'DVT_LOCK_TIMEOUT' "$ERR"
done
DVT_LOCK_TIMEOUT= expect_exit 0 "$DVT" status  # empty: as if unset

# valid values with the lock held by someone else: a short one times out (7) after about that long, the largest one
# waits (it used to overflow into an immediate exit 7)
exec 9>"$R/.dvt/lock"
flock -x 9
start=$(date +%s%N)
expect_exit 7 "$DVT" --lock-timeout 0.5 commit -m x --allow-empty
elapsed=$((($(date +%s%N) - start) / 1000000))
one_error_line
assert_grep 'timed out after 0\.5' "$ERR"
[ "$elapsed" -ge 400 ] || fail "--lock-timeout 0.5 gave up after $elapsed ms"
DVT_LOCK_TIMEOUT=0.3 expect_exit 7 "$DVT" commit -m x --allow-empty
assert_grep 'timed out after 0\.3' "$ERR"
rc=0
timeout 2 "$DVT" --lock-timeout 604800 commit -m x --allow-empty >"$OUT" 2>"$ERR" || rc=$?
[ "$rc" = 124 ] || { cat "$ERR" >&2; fail "--lock-timeout 604800 did not wait for the lock (exit $rc)"; }
exec 9>&-
expect_exit 0 "$DVT" --lock-timeout 604800 commit -q -m "lock free again" --allow-empty

# network durations: finite and bounded too
expect_exit 2 "$DVT" pull "$C1" --peer 127.0.0.1:1 --timeout inf
assert_grep '[-]-timeout' "$ERR"
expect_exit 2 "$DVT" pull "$C1" --peer 127.0.0.1:1 --timeout 1e308
expect_exit 2 "$DVT" push --timeout 1e308
expect_exit 2 "$DVT" push --timeout inf
expect_exit 2 "$DVT" serve --listen 127.0.0.1:0 --follow-interval inf
assert_grep '[-]-follow-interval' "$ERR"

# --- sizes: init refuses what used to wrap around; nothing is created
for args in "--pack-size 18446744073709551616" "--pack-size 5368709120" "--pack-size -1" "--pack-size 1048575" \
    "--pack-size 1e9" "--chunk-avg 4294983680" "--chunk-max 99999999999999999999"; do
    # shellcheck disable=SC2086
    expect_exit 2 "$DVT" init "$T/never" $args
    one_error_line
    [ ! -e "$T/never/.dvt/config" ] || fail "init $args created a repository"
done
expect_exit 0 "$DVT" init -q "$T/big-packs" --pack-size 4294967296
expect_exit 0 "$DVT" -C "$T/big-packs" config pack.size
assert_eq "$(cat "$OUT")" 4294967296 "pack.size at its maximum"

# --- config: keys that would not read back, values that would change, numbers out of range: 2, nothing written
cp .dvt/config "$T/config.before"
for kv in "a.b=c|v" "nodot|v" ".a|v" "a.|v" "a b.c|v" "[x].y|v" "a.b..c|v" "user.name|two
lines" "user.name| leading" "user.name|trailing " "pack.size|99999999999999999999" "pack.size|1024" \
    "pack.size|4294967297" "pack.size|-1" "pack.size|1e9" "compression.level|20"; do
    key=${kv%%|*}
    val=${kv#*|}
    expect_exit 2 "$DVT" config "$key" "$val"
    one_error_line
done
cmp "$T/config.before" .dvt/config || fail "a refused config command changed .dvt/config"
expect_exit 0 "$DVT" config remote.my_remote-2.peers "127.0.0.1:7001 [::1]:7002"
expect_exit 0 "$DVT" config pack.size 2097152
expect_exit 0 "$DVT" config user.name "Ada Lovelace"
expect_exit 0 "$DVT" --json config remote.my_remote-2.peers
assert_json 'j["value"] == "127.0.0.1:7001 [::1]:7002"'
expect_exit 0 "$DVT" config pack.size
assert_eq "$(cat "$OUT")" 2097152 "pack.size read back"
expect_exit 0 "$DVT" config user.name
assert_eq "$(cat "$OUT")" "Ada Lovelace" "user.name read back"
# a value out of range put in the file by hand: a usage error when it is used, naming the key
printf '[pack]\n\tsize = 99999999999999999999\n' >>.dvt/config
printf 'x\n' >b.txt
expect_exit 2 "$DVT" commit -m "bad pack size"
one_error_line
assert_grep 'pack\.size' "$ERR"
cp "$T/config.before" .dvt/config

# --- a hostile message and author are shown escaped by log and show (the JSON keeps them as they are)
ESC=$'\e'
MSG="title ${ESC}]0;owned${ESC}\\ ${ESC}[2J"$'\r'$'\n\nbody\twith tab '$'\xc2\x9b''31m C1 '$'\x9b'' raw'
DVT_AUTHOR_NAME="Eve ${ESC}[31mRed" DVT_AUTHOR_EMAIL="eve${ESC}@example.invalid" expect_exit 0 "$DVT" commit -q -m "$MSG" --allow-empty
for cmd in "log" "log --oneline" "show"; do
    # shellcheck disable=SC2086
    expect_exit 0 "$DVT" $cmd
    if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f\x9b]' "$OUT"; then
        od -c "$OUT" | head -20 >&2
        fail "dvt $cmd printed a raw control character"
    fi
done
expect_exit 0 "$DVT" log -n 1
assert_grep 'Author: Eve \\x1b\[31mRed <eve\\x1b@example.invalid>' "$OUT"
assert_grep '^    title \\x1b\]0;owned\\x1b\\ \\x1b\[2J\\x0d$' "$OUT"
assert_grep "$(printf '^    body\twith tab ')"'\\u009b31m C1 \\x9b raw$' "$OUT"
expect_exit 0 "$DVT" --json log -n 1
assert_json 'j["commits"][0]["message"].startswith("title \x1b]0;owned") and j["commits"][0]["author"]["name"] == "Eve \x1b[31mRed"'

# --- file names with a newline, a tab, a quote, an escape: quoted like git, raw with -z
mkdir -p sub
printf 'n\n' >$'sub/new\nline.txt'
printf 't\n' >$'tab\tname.txt'
printf 'q\n' >'quo"te.txt'
printf 'e\n' >$'esc\e[31m.txt'
printf 'u\n' >$'caf\xc3\xa9.txt'
expect_exit 0 "$DVT" status --porcelain
cat >"$T/want.porcelain" <<'EOF'
A "esc\033[31m.txt"
A "quo\"te.txt"
A "sub/new\nline.txt"
A "tab\tname.txt"
EOF
printf 'A caf\xc3\xa9.txt\n' >>"$T/want.porcelain"
sort "$T/want.porcelain" >"$T/want.sorted"
sort "$OUT" | diff -u "$T/want.sorted" - || fail "status --porcelain does not quote names like git"
expect_exit 0 "$DVT" status -z
"$PY" - "$OUT" <<'PY' || fail "status -z is not the raw names, NUL-terminated"
import sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\0"), data
got = sorted(data[:-1].split(b"\0"))
want = sorted([b"A caf\xc3\xa9.txt", b"A esc\x1b[31m.txt", b'A quo"te.txt', b"A sub/new\nline.txt",
               b"A tab\tname.txt"])
assert got == want, got
PY
expect_exit 0 "$DVT" status
assert_grep $'^\tadded: +"sub/new\\\\nline.txt"$' "$OUT"
expect_exit 0 "$DVT" diff -z
"$PY" - "$OUT" <<'PY' || fail "diff -z is not status NUL path NUL"
import sys
f = open(sys.argv[1], "rb").read().split(b"\0")
assert f[-1] == b"", f
pairs = list(zip(f[0:-1:2], f[1:-1:2]))
assert (b"A", b"sub/new\nline.txt") in pairs and all(s == b"A" for s, _ in pairs) and len(pairs) == 5, pairs
PY
expect_exit 2 "$DVT" diff -z --stat
C2=$(commit_id names)
expect_exit 0 "$DVT" ls-tree -r
assert_grep $'\t"sub/new\\\\nline.txt"$' "$OUT"
assert_grep $'\t"esc\\\\033\\[31m.txt"$' "$OUT"
assert_no_grep $'\e' "$OUT"
expect_exit 0 "$DVT" ls-tree -r -z "$C2"
"$PY" - "$OUT" <<'PY' || fail "ls-tree -z is not kind id size TAB name NUL"
import sys
data = open(sys.argv[1], "rb").read()
entries = data[:-1].split(b"\0")
names = sorted(e.split(b"\t", 1)[1] for e in entries)
assert data.endswith(b"\0") and b"sub/new\nline.txt" in names and b"tab\tname.txt" in names and len(names) == 7, names
PY
expect_exit 0 "$DVT" show
assert_no_grep $'\e' "$OUT"
assert_grep '^ A "sub/new\\nline.txt"' "$OUT"
ok
