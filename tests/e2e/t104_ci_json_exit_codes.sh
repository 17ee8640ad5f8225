#!/usr/bin/env bash
# For CI: the --json documents of pin, verify and hooks parse and have their documented keys; each failure class of
# the new commands has its exit code (usage 2, not a repository 3, not found 4, corrupt 5, conflict 6, lock
# timeout 7 via DVT_LOCK_TIMEOUT, unsupported 8, hook rejected 11) with one error line and, with --json, one
# {"error"} document; nothing waits for input when stdin is not a terminal.
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.invalid

# err_json CODE KIND cmd...: the command exits CODE; with --json its stdout is one {"error"} document of that kind
err_json() {
    local code=$1 kind=$2
    shift 2
    expect_exit "$code" "$@" </dev/null
    one_error_line "$ERR" '^(initialised|pulling) '
    expect_exit "$code" "$DVT" --json "${@:2}" </dev/null
    assert_json 'set(j) == {"error"} and j["error"]["kind"] == "'"$kind"'" and j["error"]["exit_code"] == '"$code"
}

# outside git and dvt
mkdir -p "$T/empty"
cd "$T/empty"
err_json 3 not_a_repository "$DVT" pin
err_json 3 not_a_repository "$DVT" verify
err_json 2 usage "$DVT" pull
err_json 4 not_found "$DVT" hooks install
err_json 2 usage "$DVT" hooks
expect_exit 0 "$DVT" --json hooks list
assert_json 'j["hooks_dir"] is None and j["git_hooks"] == [] and j["dvt_hooks"] == [] and j["disabled"] is False'

P=$T/proj
mkdir -p "$P"
cd "$P"
git init -q -b main
echo code >train.py
git add train.py
git commit -qm code
new_repo "$P/data"
cd "$P/data"
echo a >a.txt
V1=$(commit_id v1)
err_json 4 not_found "$DVT" pin no-such-rev
err_json 2 usage "$DVT" pin --peer not-an-address
err_json 2 usage "$DVT" pin --tracker ftp://x
err_json 4 not_found "$DVT" pin --remote nope
expect_exit 0 "$DVT" --json pin
assert_json 'set(j) == {"lock_file", "commit", "path", "peers", "trackers"}'
cd "$P"
err_json 4 not_found "$DVT" -C data verify "$(printf 'f%.0s' $(seq 64))"
expect_exit 0 "$DVT" --json verify
assert_json 'set(j) == {"ok","commit","path","lock_file","head","head_matches","files","bytes","mode","problems"} and j["ok"] and j["files"] == 1'
expect_exit 0 "$DVT" --json verify --fast
assert_json 'j["ok"] and j["mode"] == "fast"'
echo b >data/a.txt
expect_exit 5 "$DVT" verify
expect_exit 5 "$DVT" --json verify
assert_json 'not j["ok"] and j["problems"] == [{"path": "a.txt", "status": "modified"}]'
echo a >data/a.txt

# lock file problems
cp dvt.lock "$T/lock.good"
sed -i 's/^dvt-lock 1$/dvt-lock 2/' dvt.lock
err_json 8 unsupported "$DVT" pull
err_json 8 unsupported "$DVT" verify
printf 'dvt-lock 1\ncommit xyz\npath data\n' >dvt.lock
err_json 5 corrupt "$DVT" verify
printf 'dvt-lock 1\ncommit %s\npath elsewhere\n' "$V1" >dvt.lock
err_json 3 not_a_repository "$DVT" verify
printf 'dvt-lock 1\ncommit %s\npath data\n' "$(printf 'e%.0s' $(seq 64))" >dvt.lock
err_json 4 not_found "$DVT" verify
err_json 2 usage "$DVT" pull  # not here, and dvt.lock names no peer or tracker
cp "$T/lock.good" dvt.lock
DVT_PIN_FILE=$T/other.lock err_json 4 not_found "$DVT" pull

# hooks: conflict when a stray chained file sits next to a user hook; list shows the state
printf '#!/bin/sh\n' >.git/hooks/post-merge
printf '#!/bin/sh\n' >.git/hooks/post-merge.dvt-chained
chmod +x .git/hooks/post-merge .git/hooks/post-merge.dvt-chained
err_json 6 conflict "$DVT" hooks install
[ ! -e .git/hooks/post-checkout ] || fail "a refused install changed something"
rm .git/hooks/post-merge.dvt-chained
expect_exit 0 "$DVT" hooks install
printf '#!/bin/sh\nexit 1\n' >data/.dvt/hooks/pre-commit
chmod +x data/.dvt/hooks/pre-commit
expect_exit 0 "$DVT" -C data --json hooks list
assert_json 'j["hooks_dir"].endswith("/.git/hooks") and [(h["name"], h["installed"], h["chained"]) for h in j["git_hooks"]] == [("post-checkout", True, False), ("post-merge", True, True)]'
assert_json '[(h["name"], h["executable"]) for h in j["dvt_hooks"]] == [("pre-commit", True)]'
expect_exit 0 "$DVT" --json hooks uninstall
assert_json 'set(j) == {"hooks_dir", "hooks"} and all(set(h) == {"name", "removed", "restored"} for h in j["hooks"])'

# hook rejected (11) and lock timeout (7, from DVT_LOCK_TIMEOUT)
cd "$P/data"
echo c >c.txt
err_json 11 hook_rejected "$DVT" commit -m rejected
rm .dvt/hooks/pre-commit
bg flock .dvt/lock sleep 60
sleep 0.3
DVT_LOCK_TIMEOUT=1 expect_exit 7 "$DVT" commit -m locked </dev/null
one_error_line
kill_bg "$BG_PID"
expect_exit 0 "$DVT" commit -m unlocked </dev/null
ok
