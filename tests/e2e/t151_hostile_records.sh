#!/usr/bin/env bash
# Hostile versions (#15), part 2 of 3: hostile records, objects and commit text (generator and checks:
# tests/hostile/gen_hostile.py and lib_hostile.sh; each version is served by a real `dvt serve` on loopback, cloned,
# and pulled into an existing repository). Every one must be refused as corrupt (5) with peak RSS <= 512 MB, nothing
# stored, the victim's work tree untouched, fsck clean, no directory left by the failed clone.
#   zstd-bomb        a 1 KB zstd chunk record whose header (and frame) claim 4 GiB of raw data
#   zstd-bomb+x4     four of them, in four files (checkout reads files in parallel)
#   zstd-bomb+tree   the root tree's record claims 4 GiB
#   bad-chunk-hash   a chunk record that does not hash to its id (data/values.csv, a file the victim has)
#   bad-file-object  a file object that hashes to its id but does not decode
#   manifest-length  a manifest names a chunk of 10 bytes whose record holds 100,000 (and hashes to the id)
#   neg-zero-time    a commit whose author time is written "-0" (a second id for the commit with time 0)
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "$0")/../hostile/lib_hostile.sh"

make_victim
hostile_case zstd-bomb nothing-stored 5
hostile_case zstd-bomb+x4 nothing-stored 5 --count 4
hostile_case zstd-bomb+tree nothing-stored 5 --target tree
hostile_case bad-chunk-hash nothing-stored 5
hostile_case bad-file-object nothing-stored 5
hostile_case manifest-length nothing-stored 5
hostile_case neg-zero-time nothing-stored 5
ok
