#!/usr/bin/env bash
# How `dvt commit` picks a delta base (docs/format.md, "Delta records"): a JSON-lines file of 20,000 records with 1 %
# of them rewritten in place (other lengths) makes new chunks, some of which begin at a boundary the edit made and
# so straddle two old chunks. Each new chunk is stored as a delta (no chunk "rejected" for a poor base: the writer
# tries the old chunk ending with the same bytes and the neighbours of the one at the same relative offset, and
# keeps the smallest delta), and both versions check out byte for byte. With the relative offset alone, one chunk of
# this file was stored whole.
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

gen() {
    /usr/bin/python3 -S - "$1" "$2" <<'PY'
import random, sys
v = int(sys.argv[2])
r = random.Random(5)
words = "the of and to in is for on that with as by this from at be are or an it was which data".split()
def rec(i, g):
    return '{"id": %d, "text": "%s", "label": %d}\n' % (i, " ".join(g.choice(words) for _ in range(g.randrange(5, 30))), g.randrange(10))
rows = [rec(i, r) for i in range(20000)]
for k in range(1, v + 1):
    e = random.Random(k)
    for _ in range(len(rows) // 100):
        i = e.randrange(len(rows))
        rows[i] = rec(i, e)
open(sys.argv[1], "w").write("".join(rows))
PY
}

new_repo "$T/r"
cd "$T/r"
gen t.jsonl 0
V0=$(commit_id v0)
sha256sum t.jsonl >"$T/v0.sum"
gen t.jsonl 1
sha256sum t.jsonl >"$T/v1.sum"
expect_exit 0 "$DVT" --json commit -m v1
V1=$(json_get 'j["id"]')
echo "  $(json_get 'j["stats"]')" >&2
assert_json 'j["stats"]["chunks_new"] > 20'
assert_json 'j["stats"]["chunks_full_rejected"] == 0 and j["stats"]["chunks_delta"] == j["stats"]["chunks_new"]'
# a delta costs a small part of the new chunks' bytes
assert_json 'j["stats"]["bytes_new_stored"] * 20 < j["stats"]["bytes_new"]'
expect_exit 0 "$DVT" checkout "$V0"
sha256sum -c --quiet "$T/v0.sum" || fail "version 0 differs after checkout"
expect_exit 0 "$DVT" checkout "$V1"
sha256sum -c --quiet "$T/v1.sum" || fail "version 1 differs after checkout"
expect_exit 0 "$DVT" fsck
ok
