#!/usr/bin/env bash
# Pull across a gap (#17 item 5; docs/transport.md, "Pull across a gap"): a shallow clone of commit 5 of a 35-commit
# history pulls commit 35 from `dvt serve`; the commit files 6..34 it lacks are fetched from the swarm, verified by
# their ids and dropped once they prove that 35 descends from 5, and `main` fast-forwards (HEAD not detached). The
# clone's files equal the seeder's, `log` ends at the shallow commit 35, `fsck` is clean, nothing of 6..34 is stored.
# A commit of a diverged branch, or an older version, keeps the non-fast-forward behaviour (HEAD detached, main
# unchanged, a warning), after its history was followed to its root or to a commit dated a day before the branch's.
# A seeder that lacks the commits in between (a shallow clone itself) leaves the answer unknown at the timeout:
# detached, with a warning; with an HTTP mirror beside it the walk succeeds.
# A commit in between that hashes to its id but does not decode fails the pull (corrupt, 5) before the checkout.
# Every process is stopped by PID (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
HOSTILE_GEN_DIR=$(cd "$(dirname "$0")/../hostile" && pwd)  # commit_id_of, for the hostile case at the end

SRC=$T/src
new_repo "$SRC"
cd "$SRC"
mkdir -p tables labels
gen_bytes $((256 * 1024)) base >labels/base.bin
declare -a C
for i in $(seq 1 35); do
    gen_text $((100 + i * 3)) "day$i" >tables/daily.csv
    printf 'version %d\n' "$i" >labels/version.txt
    export DVT_AUTHOR_DATE=$((1767225600 + i * 3600))  # hourly versions from 2026-01-01
    C[$i]=$(commit_id "v$i")
    [ "$i" = 35 ] && tree_digest "$SRC" >"$T/v35.digest"
    [ "$i" = 5 ] && tree_digest "$SRC" >"$T/v5.digest"
done
unset DVT_AUTHOR_DATE
# a branch that forks at commit 3 (not an ancestor of 35, nor a descendant of 5), committed now
expect_exit 0 "$DVT" branch side "${C[3]}"
expect_exit 0 "$DVT" checkout side
printf 'side branch\n' >labels/side.txt
SIDE=$(commit_id side)
tree_digest "$SRC" >"$T/side.digest"
expect_exit 0 "$DVT" checkout main

start_serve "$SRC" "$T/serve.json"
assert_json 'j["commits"] == 36' "$T/serve.json"

# --- a shallow clone of commit 5
cd "$T"
expect_exit 0 "$DVT" --json clone "${C[5]}" "$T/clone" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_same_tree "$T/v5.digest" "$T/clone" "the clone of commit 5"
assert_eq "$(cat "$T/clone/.dvt/shallow")" "${C[5]}" ".dvt/shallow of the clone"
cd "$T/clone"

# --- pull of commit 35: 29 commits in between are missing here; main fast-forwards across them
START=$(date +%s.%N)
expect_exit 0 "$DVT" --json pull "${C[35]}" --peer "$PEER" --listen 127.0.0.3 --timeout 60
cp "$OUT" "$T/pull35.json"
assert_json 'j["commit"] == "'"${C[35]}"'" and j["fast_forward"] and j["branch"] == "main"'
assert_json 'j["commits_between"] == 29'
assert_json 'j["ancestry"]["outcome"] == "found" and j["ancestry"]["commits_fetched"] == 29'
assert_json 'j["ancestry"]["commits_unavailable"] == 0 and j["ancestry"]["commits_between"] == 29'
assert_json '0 < j["ancestry"]["bytes_fetched"] < 29 * 2048'
echo "  walk across 29 commits: $(json_get 'j["ancestry"]["seconds"]') s, $(json_get 'j["ancestry"]["bytes_fetched"]') bytes of commit files" >&2
assert_eq "$(cat .dvt/HEAD)" "ref: refs/heads/main" "HEAD after the pull across the gap"
assert_eq "$(cat .dvt/refs/heads/main)" "${C[35]}" "main after the pull across the gap"
assert_same_tree "$T/v35.digest" "$T/clone" "the clone after pulling commit 35"
# the commits in between were only the proof: not stored; 35 is shallow (its parent 34 is absent)
for i in 6 20 34; do
    [ ! -e ".dvt/commits/${C[$i]}" ] || fail "commit $i was stored; only the proof needed it"
done
[ -z "$(ls -A .dvt/tmp)" ] || fail "the pull left temp files: $(ls -A .dvt/tmp)"
grep -qx "${C[35]}" .dvt/shallow || fail "commit 35 is not listed in .dvt/shallow"
expect_exit 0 "$DVT" --json log
assert_json '[c["id"] for c in j["commits"]] == ["'"${C[35]}"'"]'
expect_exit 0 "$DVT" --json status
assert_json 'j["clean"] and j["branch"] == "main" and j["head"] == "'"${C[35]}"'"'
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"] and j["problems"] == []'
# text output says it
expect_exit 0 "$DVT" checkout "${C[5]}"
expect_exit 0 "$DVT" branch -f main "${C[5]}"
expect_exit 0 "$DVT" checkout main
expect_exit 0 "$DVT" pull "${C[35]}" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_grep "branch 'main' \\(fast-forward across 29 commits not here" "$ERR"
assert_eq "$(cat .dvt/refs/heads/main)" "${C[35]}" "main after the second pull across the gap"

# --- a diverged branch: 35 is not met, HEAD detached. Here the walk stops at commit 3, dated more than a day before 35
expect_exit 0 "$DVT" --json pull "$SIDE" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_json 'not j["fast_forward"] and j["branch"] is None and j["commits_between"] == 0'
assert_json 'j["ancestry"]["outcome"] == "too_old" and j["ancestry"]["commits_fetched"] == 1'
assert_grep "not a fast-forward: its ancestry was not found: every line of its history ended at a root or at a commit dated more than a day before" "$ERR"
assert_grep "HEAD is detached at ${SIDE:0:12}" "$ERR"
assert_eq "$(cat .dvt/HEAD)" "$SIDE" "HEAD after pulling the diverged commit"
assert_eq "$(cat .dvt/refs/heads/main)" "${C[35]}" "main after pulling the diverged commit"
assert_same_tree "$T/side.digest" "$T/clone" "the clone after pulling the diverged commit"
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"]'
expect_exit 0 "$DVT" checkout main
# an older version (commit 20): not a fast-forward; the walk fetches 19..10 and stops at commit 10, dated more than a
# day before 35 (commits are hourly), instead of fetching the whole history down to its root
expect_exit 0 "$DVT" --json pull "${C[20]}" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_json 'not j["fast_forward"] and j["ancestry"]["outcome"] == "too_old" and j["ancestry"]["commits_fetched"] == 10'
assert_eq "$(cat .dvt/refs/heads/main)" "${C[35]}" "main after pulling an older version"
expect_exit 0 "$DVT" checkout main
# ... and from a shallow clone of commit 5 the diverged branch is followed to its root (3, 2, 1 fetched)
expect_exit 0 "$DVT" --json clone "${C[5]}" "$T/clone-d" --peer "$PEER" --listen 127.0.0.3 --timeout 60
expect_exit 0 "$DVT" -C "$T/clone-d" --json pull "$SIDE" --peer "$PEER" --listen 127.0.0.3 --timeout 60
assert_json 'not j["fast_forward"] and j["ancestry"]["outcome"] == "not_descendant" and j["ancestry"]["commits_fetched"] == 3'
assert_grep "not a fast-forward: it does not descend from the branch's commit" "$ERR"
assert_eq "$(cat "$T/clone-d/.dvt/refs/heads/main")" "${C[5]}" "main of the clone of 5 after pulling the diverged commit"
assert_eq "$(cat "$T/clone-d/.dvt/HEAD")" "$SIDE" "HEAD of the clone of 5 after pulling the diverged commit"

# --- a seeder without the commits in between (the shallow clone above, serving 5, 35 and side): the walk cannot
#     fetch commit 34 before the timeout, so nothing is proven: HEAD detached, main unchanged, a warning
expect_exit 0 "$DVT" --json clone "${C[5]}" "$T/clone2" --peer "$PEER" --listen 127.0.0.3 --timeout 60
stop_serve "$SERVE_PID" "$T/serve.json"
start_serve "$T/clone" "$T/serve2.json" 127.0.0.4:0
cd "$T/clone2"
expect_exit 0 "$DVT" --json pull "${C[35]}" --peer "$PEER" --listen 127.0.0.3 --timeout 5
assert_json 'not j["fast_forward"] and j["ancestry"]["outcome"] == "incomplete"'
assert_json 'j["ancestry"]["commits_unavailable"] >= 1 and j["ancestry"]["commits_fetched"] == 0'
assert_grep "not a fast-forward: its ancestry could not be proven" "$ERR"
assert_eq "$(cat .dvt/HEAD)" "${C[35]}" "HEAD after the unproven pull"
assert_eq "$(cat .dvt/refs/heads/main)" "${C[5]}" "main after the unproven pull"
assert_same_tree "$T/v35.digest" "$T/clone2" "the second clone after the unproven pull"
[ -z "$(ls -A .dvt/tmp)" ] || fail "the unproven pull left temp files: $(ls -A .dvt/tmp)"
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"]'

# --- the same seeder plus an HTTP mirror of the source (`push --mirror` writes the commit files of the heads' ancestors
#     too): the walk fetches the commit files in between from the mirror, and main fast-forwards
expect_exit 0 "$DVT" -C "$SRC" --json push --mirror "$T/www"
for i in 1 6 20 34 35; do
    [ -s "$T/www/commits/${C[$i]}/dvt-commit" ] || fail "the mirror lacks the commit file of commit $i"
done
[ -s "$T/www/commits/$SIDE/dvt-commit" ] || fail "the mirror lacks the side branch's head"
HTTP_PORT=$(free_port 127.0.0.5)
bg "$PY" -m http.server --bind 127.0.0.5 --directory "$T/www" "$HTTP_PORT" >"$T/http.log" 2>&1
HTTP_PID=$BG_PID
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.5:$HTTP_PORT/commits/${C[1]}/dvt-commit" >/dev/null 2>&1 && break
    sleep 0.1
done
expect_exit 0 "$DVT" --json clone "${C[5]}" "$T/clone3" --peer "$PEER" --listen 127.0.0.3 --timeout 60
cd "$T/clone3"
expect_exit 0 "$DVT" --json pull "${C[35]}" --peer "$PEER" --mirror "http://127.0.0.5:$HTTP_PORT/" --listen 127.0.0.3 \
    --timeout 30
assert_json 'j["fast_forward"] and j["commits_between"] == 29 and j["ancestry"]["commits_fetched"] == 29'
assert_eq "$(cat .dvt/refs/heads/main)" "${C[35]}" "main after the pull across the gap through the mirror"
assert_eq "$(cat .dvt/HEAD)" "ref: refs/heads/main" "HEAD after the pull across the gap through the mirror"
assert_same_tree "$T/v35.digest" "$T/clone3" "the third clone after pulling commit 35"
kill -TERM "$HTTP_PID"
wait_bg "$HTTP_PID"
stop_serve "$SERVE_PID" "$T/serve2.json"

# --- hostile history: T' (commit 35's version, valid) whose parent H hashes to its id but does not decode (its author
#     time written "-0", after commit 6): the walk refuses H, the pull fails as corrupt before the checkout; HEAD,
#     main and the work tree stay at commit 5; T' itself was verified whole and is kept (refs/remotes/swarm/fetched)
cp -a "$SRC" "$T/hostile"
read -r HOSTILE_H HOSTILE_T < <(/usr/bin/python3 - "$T/hostile/.dvt/commits" "${C[6]}" "${C[35]}" "$HOSTILE_GEN_DIR" <<'PY'
import re, sys
sys.path.insert(0, sys.argv[4])
from gen_hostile import commit_id_of
d, c6, c35 = sys.argv[1:4]
h = open(f"{d}/{c6}", "rb").read()
h = re.sub(rb"^(author .*> )-?[0-9]+ ", rb"\g<1>-0 ", h, count=1, flags=re.M)
hid = commit_id_of(h).hex()
t = open(f"{d}/{c35}", "rb").read()
t = re.sub(rb"^parent [0-9a-f]{64}$", b"parent " + hid.encode(), t, count=1, flags=re.M)
tid = commit_id_of(t).hex()
for i, b in ((hid, h), (tid, t)):
    open(f"{d}/{i}", "wb").write(b)
print(hid, tid)
PY
)
is_hex64 "$HOSTILE_T" || fail "could not write the hostile commits"
start_serve "$T/hostile" "$T/serve3.json" 127.0.0.6:0
expect_exit 0 "$DVT" --json clone "${C[5]}" "$T/clone4" --peer "$PEER" --listen 127.0.0.3 --timeout 60
cd "$T/clone4"
expect_exit 5 "$DVT" pull "$HOSTILE_T" --peer "$PEER" --listen 127.0.0.3 --timeout 30
one_error_line
echo "  hostile parent: $(cat "$ERR")" >&2
assert_grep "cannot tell whether commit $HOSTILE_T descends from ${C[5]} \\(HEAD and the work tree are unchanged\\)" "$ERR"
assert_grep "$HOSTILE_H" "$ERR"
assert_eq "$(cat .dvt/HEAD)" "ref: refs/heads/main" "HEAD after the refused walk"
assert_eq "$(cat .dvt/refs/heads/main)" "${C[5]}" "main after the refused walk"
assert_eq "$(cat .dvt/refs/remotes/swarm/fetched)" "$HOSTILE_T" "the pulled version is recorded"
assert_same_tree "$T/v5.digest" "$T/clone4" "the work tree after the refused walk"
[ ! -e ".dvt/commits/$HOSTILE_H" ] || fail "the commit that does not decode was stored"
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"]'
stop_serve "$SERVE_PID" "$T/serve3.json"
ok
