# shellcheck shell=bash
# Shared by the hostile-version e2e tests (tests/e2e/t150..t152, issue #15). Sourced after tests/e2e/lib.sh:
#
#   source "$(dirname "$0")/../hostile/lib_hostile.sh"
#
# Each case: tests/hostile/gen_hostile.py writes a hostile version (valid ids, hostile content) into a repository of
# its own, a real `dvt serve` seeds it on loopback (the test runs with NETNS=1), and then
#   (a) `dvt clone ID DIR` and (b) `dvt pull ID` into an existing repository (the "victim": committed, checked out)
# must end with the expected exit code (corrupt, 5, for a hostile version), peak RSS <= 512 MB (/usr/bin/time %M),
# no crash, nothing stored (snapshot of .dvt: HEAD, shallow, refs, logs, packs, commits, partial), the victim's work
# tree untouched (tree digest), `dvt fsck` clean afterwards, and no directory left by a failed clone.
#
# Every dvt command of a case runs under an address-space limit (HOSTILE_AS_LIMIT, default 2 GiB) and is killed after
# HOSTILE_CMD_TIMEOUT seconds (default 60; the pulls' own --timeout is 20 s or less), so that a dvt that sizes
# buffers from unverified lengths or expands a tree without bound fails quickly (and this test with it) instead of
# taking the machine's memory or the CI budget; the 512 MB assertion on the peak RSS is the requirement, the limits
# are only guards well above what a correct dvt needs here.
#
# Checks are soft (soft_fail): every case runs and reports, and `ok` fails the test at the end if any check failed.
# One summary line per command goes to stderr ("hostile: CASE clone rc=.. rss=..MB ..."), for the report.

HOSTILE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GEN=(/usr/bin/python3 "$HOSTILE_DIR/gen_hostile.py")
HOSTILE_AS_LIMIT=${HOSTILE_AS_LIMIT:-$((2 * 1024 * 1024 * 1024))}
HOSTILE_CMD_TIMEOUT=${HOSTILE_CMD_TIMEOUT:-60}
MAX_RSS_KB=$((512 * 1024))
PULL_TIMEOUT=${HOSTILE_PULL_TIMEOUT:-20}

# Write versions in the commit format the dvt under test writes itself (core.format of a fresh repository): the
# generator is told `--commit-version N` (format 2 adds the required `chunker` header).
new_repo "$T/format-probe"
HOSTILE_FORMAT=$(awk '/^\[/ { c = ($0 == "[core]") } c && $1 == "format" { print $3 }' "$T/format-probe/.dvt/config")
[[ "$HOSTILE_FORMAT" =~ ^[0-9]+$ ]] || fail "cannot read core.format of a new repository"
rm -rf "$T/format-probe"
GEN_ARGS=(--commit-version "$HOSTILE_FORMAT")

# make_victim: $T/victim-template, a repository with a committed and checked-out work tree whose paths overlap every
# hostile version's: a-readme.txt and data/values.csv (which a checkout of the hostile version would replace),
# b-old.txt and keep/ (which it would delete). VICTIM_HEAD = its commit.
make_victim() {
    local v=$T/victim-template
    new_repo "$v"
    mkdir -p "$v/data" "$v/keep"
    printf 'the victim readme\n' >"$v/a-readme.txt"
    printf 'a file only the victim has\n' >"$v/b-old.txt"
    gen_text 300 victim-values >"$v/data/values.csv"
    gen_bytes 300000 victim-raw >"$v/data/raw.bin"
    printf 'notes\n' >"$v/keep/notes.txt"
    (cd "$v" && "$DVT" commit -q -m "the victim's own version" >"$T/victim.id") || fail "victim commit failed"
    VICTIM_HEAD=$(cat "$T/victim.id")
    is_hex64 "$VICTIM_HEAD" || fail "victim commit printed '$VICTIM_HEAD'"
}

# gen_case CASE DIR [generator options]: write the hostile version; HID = its commit id.
gen_case() {
    local c=$1 dir=$2
    shift 2
    HID=$("${GEN[@]}" "$c" "$dir" "${GEN_ARGS[@]}" --info "$dir.info.json" "$@") || fail "generator failed for $c"
    is_hex64 "$HID" || fail "generator printed '$HID' for $c"
}

# measured NAME cmd...: run cmd under the address-space guard and /usr/bin/time; stdout/stderr in $T/NAME.out/.err.
# Sets RC, RSS_KB (peak resident set, KiB; 0 if unknown) and SECS (wall seconds, integer).
measured() {
    local name=$1 start
    shift
    start=$(date +%s%N)
    RC=0
    # timeout signals its whole process group (time and dvt with it) when the time is up
    prlimit --as="$HOSTILE_AS_LIMIT" -- timeout -s KILL "$HOSTILE_CMD_TIMEOUT" \
        /usr/bin/time -o "$T/$name.time" -f 'maxrss_kb %M' "$@" >"$T/$name.out" 2>"$T/$name.err" || RC=$?
    SECS=$((($(date +%s%N) - start) / 1000000000))
    RSS_KB=$(awk '$1 == "maxrss_kb" { print $2 }' "$T/$name.time" 2>/dev/null | tail -n 1)
    RSS_KB=${RSS_KB:-0}
    if grep -q 'terminated by signal' "$T/$name.time" 2>/dev/null; then
        echo "  ($name: $(grep 'terminated by signal' "$T/$name.time"))" >&2
    elif [ "$RC" = 137 ] && [ "$SECS" -ge "$HOSTILE_CMD_TIMEOUT" ]; then
        echo "  ($name: killed after $HOSTILE_CMD_TIMEOUT s; peak RSS unknown)" >&2
    fi
}

# code_in RC CODES...: RC is one of CODES.
code_in() {
    local rc=$1 c
    shift
    for c in "$@"; do [ "$rc" = "$c" ] && return 0; done
    return 1
}

# check_command WHAT CODES...: the checks every hostile command gets (exit code, memory, a clean error).
check_command() {
    local what=$1 name=$2
    shift 2
    code_in "$RC" "$@" || {
        sed -n '1,5p' "$T/$name.err" | cut -c1-300 >&2
        soft_fail "$what: exit $RC, expected $*"
    }
    [ "$RSS_KB" -le "$MAX_RSS_KB" ] || soft_fail "$what: peak RSS $((RSS_KB / 1024)) MB > 512 MB"
    if [ -n "${MAX_SECS:-}" ] && [ "$SECS" -gt "$MAX_SECS" ]; then
        soft_fail "$what: took $SECS s with --timeout $PULL_TIMEOUT (at most $MAX_SECS s expected)"
    fi
    if grep -Eq 'terminate called|what\(\)|Aborted|Segmentation|AddressSanitizer|runtime error|out of memory' \
        "$T/$name.err"; then
        sed -n '1,5p' "$T/$name.err" | cut -c1-300 >&2
        soft_fail "$what: stderr shows a crash or an allocation failure"
    fi
    if [ "$RC" != 0 ] && ! grep -q '^dvt: error: ' "$T/$name.err"; then
        soft_fail "$what: failed without a 'dvt: error:' line"
    fi
}

# store_snapshot REPO: what a refused version must not change in .dvt (names and sizes of packs, commits and partial
# files; contents of HEAD, shallow, refs and reflogs).
store_snapshot() {
    local dirs="packs commits partial"
    [ "${2:-}" = without-partial ] && dirs="packs commits"
    (
        cd "$1/.dvt" || exit 1
        # shellcheck disable=SC2086
        { find $dirs -type f -printf '%p %s\n' 2>/dev/null || true; } | sort
        { find HEAD shallow refs logs -type f 2>/dev/null || true; } | sort | xargs -r sha256sum
    )
}

# refs_snapshot REPO: HEAD and the branches and tags (not the swarm's remote-tracking ref).
refs_snapshot() {
    (cd "$1/.dvt" && cat HEAD && { find refs/heads refs/tags -type f 2>/dev/null || true; } | sort | xargs -r sha256sum)
}

# hostile_clone CASE CODES...: clone the served version into a new directory.
hostile_clone() {
    local c=$1 dir=$T/clone-$1
    shift
    measured "clone-$c" "$DVT" clone "$HID" "$dir" --peer "$PEER" --listen 127.0.0.3 --timeout "$PULL_TIMEOUT"
    echo "hostile: $c clone rc=$RC rss=$((RSS_KB / 1024))MB secs=$SECS" >&2
    check_command "$c: clone" "clone-$c" "$@"
    if [ "$RC" != 0 ] && [ -e "$dir" ]; then soft_fail "$c: the failed clone left $dir"; fi
}

# hostile_pull CASE MODE CODES...: pull the served version into a copy of the victim. MODE "nothing-stored": the
# store must be exactly as before; "resumable": as before except partial/ (a pull that times out keeps what it
# received for the next attempt, docs/format.md "Partial packs"), whose disk usage must stay under 64 MB; "refs-kept":
# the version may be stored (it is valid, only this work tree cannot hold it) but HEAD, branches and tags must not
# move. In every mode the work tree must be untouched and fsck clean.
hostile_pull() {
    local c=$1 mode=$2 v=$T/victim-$1
    shift 2
    cp -a "$T/victim-template" "$v"
    tree_digest "$v" >"$T/$c.tree.before"
    local snap_mode=all
    [ "$mode" = resumable ] && snap_mode=without-partial
    store_snapshot "$v" "$snap_mode" >"$T/$c.store.before"
    refs_snapshot "$v" >"$T/$c.refs.before"
    measured "pull-$c" "$DVT" -C "$v" pull "$HID" --peer "$PEER" --listen 127.0.0.3 --timeout "$PULL_TIMEOUT"
    local rc=$RC rss=$RSS_KB secs=$SECS tree=same store=same fsck
    check_command "$c: pull" "pull-$c" "$@"
    if ! tree_digest "$v" | diff -u "$T/$c.tree.before" - >"$T/$c.tree.diff"; then
        tree=CHANGED
        head -n 20 "$T/$c.tree.diff" >&2
        soft_fail "$c: the pull changed the victim's work tree"
    fi
    if [ "$mode" != refs-kept ]; then
        if ! store_snapshot "$v" "$snap_mode" | diff -u "$T/$c.store.before" - >"$T/$c.store.diff"; then
            store=CHANGED
            grep '^[-+][^-+]' "$T/$c.store.diff" | head -n 12 | cut -c1-150 >&2
            soft_fail "$c: the refused version left something in the store or moved a ref"
        fi
    fi
    if [ "$mode" = resumable ] && [ -d "$v/.dvt/partial" ]; then
        local kb
        kb=$(du -sk "$v/.dvt/partial" | cut -f1)
        [ "$kb" -le $((64 * 1024)) ] || { store="partial=${kb}KB"; soft_fail "$c: the pull left $kb KB in partial/"; }
    fi
    refs_snapshot "$v" | diff -q "$T/$c.refs.before" - >/dev/null || soft_fail "$c: HEAD, a branch or a tag moved"
    fsck=0
    prlimit --as="$HOSTILE_AS_LIMIT" -- timeout -s KILL "$HOSTILE_CMD_TIMEOUT" "$DVT" -C "$v" --json fsck >"$T/fsck-$c.json" 2>"$T/fsck-$c.err" || fsck=$?
    if [ "$fsck" != 0 ]; then
        sed -n '1,3p' "$T/fsck-$c.err" | cut -c1-300 >&2
        soft_fail "$c: fsck of the victim after the pull exits $fsck"
    fi
    echo "hostile: $c pull rc=$rc rss=$((rss / 1024))MB secs=$secs worktree=$tree store=$store fsck=$fsck" >&2
}

# hostile_case CASE PULL_MODE "CODES" [generator options]: generate, serve, clone, pull, stop the server.
hostile_case() {
    local c=$1 mode=$2 codes=$3
    shift 3
    local src=$T/src-$c
    gen_case "${c%%+*}" "$src" --index-db "$@"
    start_serve "$src" "$T/serve-$c.json"
    # the seeder must serve the version as written (from the attacker's index.db), or the case tests nothing
    local want
    want=$(json_get 'len(j["packs_written"])' "$src.info.json")
    assert_json "j['commits'] == 1 and j['packs'] == $want" "$T/serve-$c.json"
    # shellcheck disable=SC2086
    hostile_clone "$c" $codes
    # shellcheck disable=SC2086
    hostile_pull "$c" "$mode" $codes
    stop_serve "$SERVE_PID" "$T/serve-$c.json"
}
