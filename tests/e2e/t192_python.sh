#!/usr/bin/env bash
# The Python package (python/dvt; #18): Debian's /usr/bin/python3 imports `dvt`, which registers the fsspec protocol
# "dvt"; python/tests/test_fsspec.py (pytest) reads versions of a repository it makes through a `dvt serve --http` it
# starts (whole files, ranges, listings, errors) and runs the PyTorch example for one epoch. Loopback in a private
# network namespace; the servers are stopped by the tests (and die with the namespace).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"
SRC_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SYS_PY=/usr/bin/python3
for m in fsspec torch pytest; do
    "$SYS_PY" -c "import $m" 2>/dev/null || fail "$SYS_PY cannot import $m (scripts/setup.sh installs python3-$m)"
done
cd "$T"
DVT="$DVT" PYTHONDONTWRITEBYTECODE=1 "$SYS_PY" -m pytest -q -p no:cacheprovider "$SRC_ROOT/python/tests" \
    >"$T/pytest.out" 2>&1 || { cat "$T/pytest.out" >&2; fail "python/tests failed"; }
tail -n 1 "$T/pytest.out" >&2
ok
