#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: install dependencies, build (warnings are errors), run every
# unit and end-to-end test with CTest, then build the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer
# and run them too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
(cd "$root/build" && ctest --output-on-failure -j 2 --timeout 900)
BUILD_DIR="$root/build-asan" BUILD_TYPE=Debug "$root/scripts/build.sh" -DDVT_SANITIZE=ON
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -R '^unit$')
