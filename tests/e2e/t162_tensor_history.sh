#!/usr/bin/env bash
# Tensor-aware chunking and tensor delta records (docs/format.md, "Tensor files", "Tensor delta records"): a small
# safetensors model (fp16 and bf16 tensors plus a config file) fine-tuned over 6 versions (every weight nudged by about
# 1 %) is committed by a new repository (tensor chunking on by default; pack.tensor-delta-depth 16) and by one made
# with --no-tensor-chunks; the
# first stores versions 2-6 in under half the bytes (measured: 0.43). Every version checks out byte for byte; gc and
# fsck are clean; `dvt serve` seeds it and clones of versions 2 and 6 are the originals byte for byte, cut as their
# origin cut them (chunker.tensors 1, a clean status) and pass fsck. The repository made without tensor chunking
# keeps it until told, then re-cuts the model once. Loopback in a private network namespace; every process is stopped
# by PID (lib.sh).
NETNS=1  # private network namespace (lib.sh)
source "${DVT_TEST_LIB:-$(dirname "$0")/lib.sh}"

# write_model DIR K: version K of model/model.safetensors (K fine-tune steps from the same start) and model/config.json
write_model() {
    mkdir -p "$1/model"
    "${PY_FAST[@]}" - "$1/model" "$2" <<'PY'
import json, random, struct, sys
out, k = sys.argv[1], int(sys.argv[2])
def weights(seed, n):
    r = random.Random(seed)
    return [r.gauss(0.0, 0.02) for _ in range(n)]
def bf16(vals):  # truncated float32
    return b"".join(struct.pack("<f", v)[2:] for v in vals)
tensors = {"embed.weight": ("F16", weights(1, 150000)), "layer0.weight": ("BF16", weights(2, 120000)),
           "layer0.bias": ("F16", weights(3, 500))}
for step in range(1, k + 1):
    r = random.Random(1000 + step)
    for name in sorted(tensors):
        dt, vals = tensors[name]
        tensors[name] = (dt, [v * (1.0 + r.gauss(0.0, 0.01)) for v in vals])
header, blobs, off = {"__metadata__": {"format": "pt", "step": str(k)}}, [], 0
for name in sorted(tensors):
    dt, vals = tensors[name]
    blob = struct.pack(f"<{len(vals)}e", *vals) if dt == "F16" else bf16(vals)
    header[name] = {"dtype": dt, "shape": [len(vals)], "data_offsets": [off, off + len(blob)]}
    blobs.append(blob)
    off += len(blob)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(out + "/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
with open(out + "/config.json", "w") as f:
    json.dump({"step": k, "lr": 1e-4}, f)
PY
}

SRC=$T/src
new_repo "$SRC"
PLAIN=$T/plain
"$DVT" init -q --no-tensor-chunks "$PLAIN" >/dev/null || fail "dvt init --no-tensor-chunks failed"
expect_exit 0 "$DVT" -C "$SRC" config chunker.tensors
assert_eq "$(cat "$OUT")" "1" "chunker.tensors of a new repository"
# tensor delta records are written up to pack.tensor-delta-depth (unset: 0, pieces stored whole)
expect_exit 0 "$DVT" -C "$SRC" config pack.tensor-delta-depth 16
cd "$SRC"
STORE=0
STORE_PLAIN=0
for k in $(seq 1 6); do
    write_model "$SRC" "$k"
    cp -r "$SRC/model" "$PLAIN/"
    expect_exit 0 "$DVT" --json commit -m "v$k"
    eval "V$k=$(json_get 'j["id"]')"
    [ "$k" = 1 ] || STORE=$((STORE + $(json_get 'j["stats"]["bytes_new_stored"]')))
    expect_exit 0 "$DVT" -C "$PLAIN" --json commit -m "v$k"
    [ "$k" = 1 ] || STORE_PLAIN=$((STORE_PLAIN + $(json_get 'j["stats"]["bytes_new_stored"]')))
    tree_digest "$SRC" >"$T/v$k.digest"
done
eval "grep -qx 'chunker 4096 16384 65536 safetensors' .dvt/commits/\$V6" || fail "v6's chunker line does not say safetensors"
echo "  versions 2-6 stored: $STORE bytes with tensor deltas, $STORE_PLAIN by content" >&2
[ $((STORE * 2)) -lt "$STORE_PLAIN" ] || fail "tensor deltas stored $STORE bytes, content chunks $STORE_PLAIN: not under half"

checkout_each 1 3 6
expect_exit 0 "$DVT" gc
expect_exit 0 "$DVT" --json fsck
assert_json 'j["ok"] and j["reachable_commits"] == 6'

start_serve "$SRC" "$T/serve.json"
for k in 2 6; do
    eval "id=\$V$k"
    expect_exit 0 "$DVT" --json clone "$id" "$T/clone$k" --peer "$PEER" --listen 127.0.0.3 --timeout 60
    assert_json 'j["commit"] == "'"$id"'"'
    assert_same_tree "$T/v$k.digest" "$T/clone$k" "the clone of v$k"
    expect_exit 0 "$DVT" -C "$T/clone$k" config chunker.tensors
    assert_eq "$(cat "$OUT")" "1" "the clone's chunker.tensors"
    expect_exit 0 "$DVT" -C "$T/clone$k" --json status
    assert_json 'j["clean"]'
    expect_exit 0 "$DVT" -C "$T/clone$k" --json fsck
    assert_json 'j["ok"]'
done
stop_serve "$SERVE_PID" "$T/serve.json"

# the repository made without tensor chunking keeps it until told; then its next commit re-cuts the model once
expect_exit 13 "$DVT" -C "$PLAIN" commit -q -m "nothing changed"
expect_exit 0 "$DVT" -C "$PLAIN" config chunker.tensors 1
expect_exit 0 "$DVT" -C "$PLAIN" --json status
assert_json 'j["clean"]'
expect_exit 0 "$DVT" -C "$PLAIN" --json commit -m "tensor chunking"
assert_json 'j["changes"]["modified"] == 1'
expect_exit 13 "$DVT" -C "$PLAIN" commit -q -m "nothing changed"
expect_exit 0 "$DVT" -C "$PLAIN" --json fsck
assert_json 'j["ok"]'

# re-packing (core/swarms) moves tensor delta chains with their bases: with no slack over the bound, the next commit
# dissolves the history's packs into its own; the version keeps every chain in the packs it names
expect_exit 0 "$DVT" -C "$SRC" config pack.extra-packs 0
printf 'a note\n' >"$SRC/NOTE"
expect_exit 0 "$DVT" -C "$SRC" --json commit -m "re-packed"
assert_json 'j["repack"]["dissolved"] > 0 and j["repack"]["packs_after"] < j["repack"]["packs_before"]'
assert_no_grep "not re-packing" "$ERR"
tree_digest "$SRC" >"$T/repacked.digest"
expect_exit 0 "$DVT" -C "$SRC" gc
expect_exit 0 "$DVT" -C "$SRC" --json fsck
assert_json 'j["ok"]'
rm -rf "$SRC/model" "$SRC/NOTE"
expect_exit 0 "$DVT" -C "$SRC" checkout -q -f main
assert_same_tree "$T/repacked.digest" "$SRC" "checkout of the re-packed version after gc"
ok
