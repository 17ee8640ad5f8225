#!/usr/bin/env bash
# Hostile delta records (#17; generator: tests/hostile/gen_hostile.py case bad-delta, checks: lib_hostile.sh): a
# version whose data/values.csv is one chunk stored as a delta record that breaks a chain rule of docs/format.md
# ("Delta records"), served by a real `dvt serve` on loopback, cloned and pulled into an existing repository. Each
# must be refused as corrupt (5), nothing stored, the victim's work tree untouched, fsck clean afterwards.
#   self       the record names itself as its base
#   cycle      two deltas of depth 1 naming each other
#   too-deep   chain depth 65 (the limit is 64)
#   base-type  its base is a file object
#   mismatch   depth 2 over a full chunk (a base must have depth d-1)
#   unnamed    its base lies in a pack the commit does not name
#   tensor-length  a tensor delta record (compression 3) whose base has another length
#   tensor-width   a tensor delta record of element width 3
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "$0")/../hostile/lib_hostile.sh"

make_victim
for kind in self cycle too-deep base-type mismatch unnamed tensor-length tensor-width; do
    hostile_case "bad-delta+$kind" nothing-stored 5 --delta "$kind"
done
ok
