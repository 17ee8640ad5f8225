#!/usr/bin/env bash
# The short version of scripts/kill_test.sh (#15) for CTest: 20 random SIGKILLs across `dvt commit`, `checkout`,
# `gc` and `pull` (from a `dvt serve` on loopback, in a private network namespace), each followed by fsck, the checks
# that no file is partial and no data is lost, and a re-run of the killed command that must complete (the assertions
# are listed in the script's header). The long run: scripts/kill_test.sh 200. Knobs: E2E_KILLS (default 20),
# KILL_SEED, KILL_SCALE (default 1 MB per random file here), KILL_CHECK_EVERY (default 15 here).
exec env KILL_SCALE="${KILL_SCALE:-1}" KILL_CHECK_EVERY="${KILL_CHECK_EVERY:-15}" bash "$(dirname "$0")/../../scripts/kill_test.sh" "${E2E_KILLS:-20}"
