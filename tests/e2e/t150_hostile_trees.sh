#!/usr/bin/env bash
# Hostile versions (#15), part 1 of 3: the generator's control version, and hostile trees. Versions written by
# tests/hostile/gen_hostile.py as an attacker would (valid ids, hostile content), served by a real `dvt serve` on
# loopback, cloned and pulled into an existing repository (tests/hostile/lib_hostile.sh has the checks: exit code,
# peak RSS <= 512 MB, nothing stored, work tree untouched, fsck clean, no directory left by a failed clone).
#   control     a well-formed version: the generator is right (dvt fsck/ls-tree/cat-object accept it; clone and pull
#               check out exactly its tree)
#   deep-tree   directories nested 30,000 deep (3.6 MB pack)                                   -> corrupt
#   dag-bomb    depth 32, each tree's two entries name the same subtree (2^32 paths from a few KB) -> corrupt
#   tree-size   a tree entry's size disagrees with its file object                             -> corrupt
#   long-name   a 300-byte name (longer than NAME_MAX: no file system here can hold it): refused as corrupt (5) by the
#               pull's check of the whole version (core/named_packs), before anything is stored or touched
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "$0")/../hostile/lib_hostile.sh"

make_victim

# --- the control version: the generator writes what dvt writes
CTL=$T/control
gen_case control "$CTL" --digest "$T/control.digest"
expect_exit 0 "$DVT" -C "$CTL" --json fsck  # indexes the packs from packs/ (merkle root, index), re-hashes everything
assert_json 'j["ok"] and j["reachable_commits"] == 1'
expect_exit 0 "$DVT" -C "$CTL" ls-tree -r "$HID"
assert_eq "$(awk -F'\t' '{ print $2 }' "$OUT" | tr '\n' ' ')" \
    "a-readme.txt data/values.csv link-to-readme -> a-readme.txt nested/bin.dat nested/deeper/leaf.txt nested/empty.dat run.sh " \
    "ls-tree of the control version"
expect_exit 0 "$DVT" -C "$CTL" cat-object "$HID"
cmp -s "$OUT" "$CTL/.dvt/commits/$HID" || fail "cat-object of the control commit differs from the commit file"
expect_exit 0 "$DVT" -C "$CTL" checkout --force main
assert_same_tree "$T/control.digest" "$CTL" "the control version checked out in its own repository"
# the same files committed by dvt give the same root tree: chunk boundaries, file objects and trees are dvt's
mkdir "$T/recommit"
(cd "$CTL" && tar cf - --exclude=.dvt .) | (cd "$T/recommit" && tar xf -)
new_repo "$T/recommit"
(cd "$T/recommit" && "$DVT" commit -q -m same >/dev/null) || fail "commit of the control's files failed"
tree_of() { "$DVT" -C "$1" cat-object "$2" | sed -n 's/^tree //p'; }
assert_eq "$(tree_of "$T/recommit" HEAD)" "$(tree_of "$CTL" "$HID")" "root tree of dvt's own commit of the control's files"

# served from the attacker's own index.db (as every hostile case is): clone and pull check out exactly its tree
gen_case control "$T/control-served" --index-db
start_serve "$T/control-served" "$T/serve-control.json"
measured clone-control "$DVT" clone "$HID" "$T/clone-control" --peer "$PEER" --listen 127.0.0.3 --timeout "$PULL_TIMEOUT"
echo "hostile: control clone rc=$RC rss=$((RSS_KB / 1024))MB secs=$SECS" >&2
check_command "control: clone" clone-control 0
[ "$RC" = 0 ] && assert_same_tree "$T/control.digest" "$T/clone-control" "the clone of the control version"
cp -a "$T/victim-template" "$T/victim-control"
measured pull-control "$DVT" -C "$T/victim-control" pull "$HID" --peer "$PEER" --listen 127.0.0.3 --timeout "$PULL_TIMEOUT"
echo "hostile: control pull rc=$RC rss=$((RSS_KB / 1024))MB secs=$SECS" >&2
check_command "control: pull" pull-control 0
if [ "$RC" = 0 ]; then
    assert_same_tree "$T/control.digest" "$T/victim-control" "the victim after pulling the control version"
    expect_exit 0 "$DVT" -C "$T/victim-control" --json fsck
    assert_json 'j["ok"] and j["reachable_commits"] == 2'
fi
stop_serve "$SERVE_PID" "$T/serve-control.json"

# --- hostile trees
hostile_case deep-tree nothing-stored 5
hostile_case dag-bomb nothing-stored 5
hostile_case tree-size nothing-stored 5
hostile_case long-name nothing-stored 5
ok
