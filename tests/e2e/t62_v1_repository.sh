#!/usr/bin/env bash
# A repository written by dvt 0.1 (format 1; tests/fixtures/v1-repo.tar.gz, made by tests/fixtures/make_v1_repo.sh
# with that binary and never regenerated) still works with this dvt: it opens, `status` is clean, `log` lists its
# three version-1 commits, fsck is clean, every version checks out byte-exact, a new commit there is still a
# version-1 commit (the repository stays format 1), `dvt serve` serves it and a clone of a version-1 commit by this dvt
# is byte-exact (the clone is a format-2 repository); pulling a version-2 commit into it upgrades it to format 2.
NETNS=1
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
fixture="$(cd "$(dirname "$0")/../fixtures" && pwd)/v1-repo.tar.gz"
[ -f "$fixture" ] || fail "fixture $fixture is missing"

tar -C "$T" -xzf "$fixture"
R=$T/repo
mapfile -t ids <"$T/ids"
[ "${#ids[@]}" = 3 ] || fail "the fixture names ${#ids[@]} commits, not 3"
grep -Eq '^[[:space:]]*format = 1$' "$R/.dvt/config" || fail "the fixture is not a format-1 repository"
for id in "${ids[@]}"; do
    head -n 1 "$R/.dvt/commits/$id" | grep -qx 'dvt-commit 1' || fail "commit $id of the fixture is not version 1"
done

cd "$R"
expect_exit 0 "$DVT" status --porcelain
[ -z "$(cat "$OUT")" ] || fail "status of the untouched fixture is not clean: $(head -c 300 "$OUT")"
expect_exit 0 "$DVT" --json log
[ "$("${PY_FAST[@]}" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["commits"]))' "$OUT")" = 3 ] ||
    fail "log does not list the three commits"
expect_exit 0 "$DVT" fsck
for n in 1 2 3; do
    expect_exit 0 "$DVT" checkout "${ids[$((n - 1))]}"
    tree_digest "$R" | diff -u "$T/digests/v$n" - >/dev/null || fail "checkout of v$n is not byte-exact"
done
expect_exit 0 "$DVT" checkout main
tree_digest "$R" | diff -u "$T/digests/v3" - >/dev/null || fail "checkout of main is not v3"

# served as it is; cloned by this dvt
start_serve "$R" "$T/serve1.json" 127.0.0.1:0
expect_exit 0 "$DVT" clone "${ids[2]}" "$T/clone" --peer "$PEER" --timeout 60
tree_digest "$T/clone" | diff -u "$T/digests/v3" - >/dev/null || fail "the clone of v3 is not byte-exact"
(cd "$T/clone" && expect_exit 0 "$DVT" fsck && expect_exit 0 "$DVT" status --porcelain)
stop_serve "$SERVE_PID" "$T/serve1.json"

# a new commit in the format-1 repository is a version-1 commit
printf 'more\n' >>notes.txt
v4=$(commit_id v4)
head -n 1 ".dvt/commits/$v4" | grep -qx 'dvt-commit 1' || fail "a format-1 repository wrote a version-2 commit"
expect_exit 0 "$DVT" fsck

# a version-2 commit (from a format-2 clone) pulled into it: the repository becomes format 2
cd "$T/clone"
printf 'from a format-2 repository\n' >v2-file.txt
v5=$(commit_id v5)
head -n 1 ".dvt/commits/$v5" | grep -qx 'dvt-commit 2' || fail "a format-2 repository wrote a version-1 commit"
start_serve "$T/clone" "$T/serve2.json" 127.0.0.1:0
cd "$R"
expect_exit 0 "$DVT" pull "$v5" --peer "$PEER" --timeout 60
stop_serve "$SERVE_PID" "$T/serve2.json"
grep -Eq '^[[:space:]]*format = 2$' .dvt/config || fail "pulling a version-2 commit left the repository at format 1"
[ "$(cat v2-file.txt)" = "from a format-2 repository" ] || fail "the pulled version is not checked out"
expect_exit 0 "$DVT" fsck
ok
