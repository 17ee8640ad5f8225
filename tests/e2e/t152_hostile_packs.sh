#!/usr/bin/env bash
# Hostile versions (#15), part 3 of 3: commits that name hostile packs (generator and checks:
# tests/hostile/gen_hostile.py and lib_hostile.sh; served by a real `dvt serve` on loopback, cloned, and pulled into
# an existing repository).
#   huge-pack       a commit naming a pack of 2^40 bytes                     -> corrupt (5), nothing stored
#   huge-pack+max   a commit naming a pack of 2^64 - 1 bytes                 -> corrupt (5), nothing stored
#   many-packs      a commit naming 10,000 packs that no peer has (only the commit and one real pack are served):
#                   format-valid (below the packs-per-commit limit), so `--timeout 10` must hold: no_peers (10) within
#                   25 s, peak RSS <= 512 MB, no ref moved, at most 64 MB kept in partial/ for a later attempt
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
source "$(dirname "$0")/../hostile/lib_hostile.sh"

make_victim
hostile_case huge-pack nothing-stored 5
hostile_case huge-pack+max nothing-stored 5 --length 18446744073709551615
PULL_TIMEOUT=10 MAX_SECS=25 hostile_case many-packs resumable 10 --packs 10000
ok
