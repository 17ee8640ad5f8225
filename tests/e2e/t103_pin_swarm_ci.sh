#!/usr/bin/env bash
# The CI flow of docs/ci.md on loopback: the publisher serves the dataset (127.0.0.2) and pins it with its peer; a
# runner clones the code with git and runs `dvt pull` with no argument (127.0.0.3): the pinned commit is fetched
# into the pinned directory, verified and checked out; `dvt verify` passes. A new pin reaches the runner with a
# post-pull hook reporting old/new commit and paths. A runner that restored a cached .dvt needs no peer at all;
# one with no cache and an unreachable peer fails with exit 10. Every process is stopped by PID.
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
export HOOK_LOG=$T/post-pull.log

P=$T/publisher
new_git_project "$P"
new_repo "$P/data"
make_tree "$P/data"
cd "$P/data"
V1=$(commit_id v1)
tree_digest "$P/data" >"$T/v1.digest"
start_serve "$P/data" "$T/serve.json"
expect_exit 0 "$DVT" --json pin --peer "$PEER"
assert_json 'j["peers"] == ["'"$PEER"'"]'
git -C "$P" add dvt.lock
git -C "$P" commit -qm "pin v1"

# --- a fresh runner: git clone, then `dvt pull` with no argument
git clone -q "$P" "$T/runner"
cd "$T/runner"
[ ! -e data ] || fail "the data directory should not be in git"
expect_exit 0 "$DVT" --json pull --listen 127.0.0.3 --timeout 60
assert_json 'j["commit"] == "'"$V1"'" and j["commit_fetched"] and j["packs_fetched"] == j["packs"] >= 1 and j["branch"] == "main"'
assert_same_tree "$T/v1.digest" "$T/runner/data" "the runner's data"
expect_exit 0 "$DVT" --json verify
assert_json 'j["ok"] and j["commit"] == "'"$V1"'"'
expect_exit 0 "$DVT" -C data fsck

# --- a new pin; the runner's post-pull hook sees it
cd "$P/data"
printf 'v2\n' >docs/v2.txt
rm data/raw/small.bin
V2=$(commit_id v2)
tree_digest "$P/data" >"$T/v2.digest"
expect_exit 0 "$DVT" pin  # keeps the peer already in dvt.lock
assert_grep "^peer $PEER\$" "$P/dvt.lock"
git -C "$P" commit -qam "pin v2"
mkdir -p "$T/runner/data/.dvt/hooks"
cat >"$T/runner/data/.dvt/hooks/post-pull" <<'SH'
#!/bin/sh
{ echo "old=$DVT_OLD_COMMIT new=$DVT_NEW_COMMIT branch=$DVT_BRANCH"; cat; } >"$HOOK_LOG"
SH
chmod +x "$T/runner/data/.dvt/hooks/post-pull"
cd "$T/runner"
git pull -q --ff-only 2>"$T/git.err" || { cat "$T/git.err" >&2; fail "git pull failed"; }
expect_exit 0 "$DVT" pull --listen 127.0.0.3 --timeout 60
assert_same_tree "$T/v2.digest" "$T/runner/data" "the runner's data after the new pin"
assert_eq "$(head -n 1 "$HOOK_LOG")" "old=$V1 new=$V2 branch=main" "post-pull environment"
assert_eq "$(tail -n +2 "$HOOK_LOG" | sort)" "$(printf 'A docs/v2.txt\nD data/raw/small.bin')" "post-pull stdin"
expect_exit 0 "$DVT" verify

stop_serve "$SERVE_PID" "$T/serve.json"

# --- a runner with a restored cache of .dvt needs no peer (the server is gone)
git clone -q "$P" "$T/runner2"
mkdir -p "$T/runner2/data"
cp -a "$T/runner/data/.dvt" "$T/runner2/data/.dvt"
rm -f "$T/runner2/data/.dvt/hooks/post-pull"
cd "$T/runner2"
expect_exit 0 "$DVT" --json pull --timeout 5
assert_json 'j["commit"] == "'"$V2"'" and not j["commit_fetched"] and j["packs_fetched"] == 0 and j["bytes_downloaded"] == 0'
assert_same_tree "$T/v2.digest" "$T/runner2/data" "data from the cache"
expect_exit 0 "$DVT" verify

# --- no cache and nobody serving: no_peers (10)
git clone -q "$P" "$T/runner3"
cd "$T/runner3"
expect_exit 10 "$DVT" pull --listen 127.0.0.3 --timeout 3
one_error_line "$ERR" '^(initialised|pulling) '
ok
