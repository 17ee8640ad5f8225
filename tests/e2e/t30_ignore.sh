#!/usr/bin/env bash
# .dvtignore (root and nested, negation, dir-only and anchored patterns) keeps files out of status and commits;
# .dvt and .git are never committed, whatever the ignore files say.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

R=$T/repo
new_repo "$R"
cd "$R"

w() { mkdir -p "$(dirname "$1")" && printf '%s\n' "${2:-$1}" >"$1"; }

cat >.dvtignore <<'EOF'
# comments and blank lines are ignored

*.log
!keep.log
build/
/rootonly.txt
cache/**/*.bin
!.git
!.dvt
!sub/.dvt/
EOF
mkdir -p data
cat >data/.dvtignore <<'EOF'
*.tmp
!important.tmp
/anchored.txt
scratch/
EOF

# ignored
w a.log
w sub/deep/b.log
w build/out.o
w build/keep.log
w sub/build/out.o
w rootonly.txt
w cache/x/y/z.bin
w cache/top.bin
w data/x.tmp
w data/sub/y.tmp
w data/anchored.txt
w data/scratch/s.txt
w data/sub/scratch/s2.txt
# never committed, whatever the rules say
w .git/config
w .git/objects/ab/cdef
w sub/.git/HEAD
w sub/.dvt/file
# tracked
w keep.log
w sub/keep.log
w sub/rootonly.txt
w x.tmp
w data/important.tmp
w data/sub/anchored.txt
w data/real.csv
w cache/x/y/z.txt
w docs/build
w other/scratch
w src/main.c

EXPECTED=$(printf '%s\n' .dvtignore cache/x/y/z.txt data/.dvtignore data/important.tmp data/real.csv \
    data/sub/anchored.txt docs/build keep.log other/scratch src/main.c sub/keep.log sub/rootonly.txt x.tmp | sort)

expect_exit 0 "$DVT" status --short
diff -u <(printf '%s\n' "$EXPECTED" | sed 's/^/A /') "$OUT" || fail "status --short lists ignored files or misses tracked ones"
expect_exit 0 "$DVT" status --json
assert_json 'sorted(c["path"] for c in j["changes"]) == sorted("""'"$EXPECTED"'""".split())'
expect_exit 0 "$DVT" diff
diff -u <(printf '%s\n' "$EXPECTED" | sed 's/^/A\t/') "$OUT" || fail "diff against the work tree lists ignored files"

expect_exit 0 "$DVT" commit -m "with ignores"
expect_exit 0 "$DVT" ls-tree -r HEAD
awk -F'\t' '{print $2}' "$OUT" | diff -u <(printf '%s\n' "$EXPECTED") - || fail "the commit holds ignored files or misses tracked ones"
expect_exit 0 "$DVT" ls-tree -r --json HEAD
assert_json 'not any(c in (".git", ".dvt") for e in j["entries"] for c in e["path"].split("/"))'

# changing or adding ignored files leaves status clean and gives nothing to commit
w a.log "changed"
w build/new.o
w data/x.tmp "changed"
w data/new.tmp
w .git/HEAD
w sub/.dvt/other
expect_exit 0 "$DVT" status --short
[ ! -s "$OUT" ] || fail "changes to ignored files show in status: $(cat "$OUT")"
expect_exit 13 "$DVT" commit -m "only ignored changes"

# a new rule hides a new file at once; only the ignore file itself shows as modified
printf 'extra.csv\n' >>data/.dvtignore
w data/extra.csv
expect_exit 0 "$DVT" status --short
assert_eq "$(cat "$OUT")" "M data/.dvtignore" "status after extending data/.dvtignore"

# removing a rule un-ignores the files it hid
sed -i '/^\*\.log$/d' .dvtignore
expect_exit 0 "$DVT" status --short
sort "$OUT" >"$T/st"
printf '%s\n' "A a.log" "A sub/deep/b.log" "M .dvtignore" "M data/.dvtignore" | sort | diff -u - "$T/st" || fail "status after removing the *.log rule"
expect_exit 0 "$DVT" commit -m "logs tracked now"
expect_exit 0 "$DVT" ls-tree -r HEAD
assert_grep $'\ta.log$' "$OUT"
assert_grep $'\tsub/deep/b.log$' "$OUT"
assert_no_grep $'\tbuild/' "$OUT"
assert_no_grep $'\\.git/' "$OUT"

# checkout does not touch ignored files, nor .git
tree_digest "$R/.git" >"$T/git.digest"
expect_exit 0 "$DVT" checkout HEAD~1
[ ! -e sub/deep/b.log ] || fail "checkout HEAD~1 kept sub/deep/b.log, which it does not track"
[ "$(cat build/out.o)" = build/out.o ] || fail "checkout touched the ignored build/out.o"
[ "$(cat data/x.tmp)" = changed ] || fail "checkout touched the ignored data/x.tmp"
[ -f sub/.dvt/file ] || fail "checkout touched sub/.dvt"
assert_same_tree "$T/git.digest" "$R/.git" ".git after checkout"
expect_exit 0 "$DVT" checkout main
expect_exit 0 "$DVT" status --short
[ ! -s "$OUT" ] || fail "status not clean after checkout main: $(cat "$OUT")"
ok
