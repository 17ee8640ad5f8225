#!/usr/bin/env bash
# Reproducer for the puller crash with lying peers (issue #15, item 1): a `dvt serve` whose files change after it
# started, and pulls from it under valgrind. Before transport/block_hash_guard.cpp, libtorrent 2.0.8 crashed the
# puller (an invalid read at 0x8, SIGSEGV, for the commit; an 8-byte write past a 32-byte heap block for the pack,
# both in libtorrent's network thread) after a piece failed verification and a peer rejected the block-hash request
# that followed. Each lie is pulled twice under valgrind: from the liar alone (exit 10 or 5 expected) and from the liar
# and an honest seeder (exit 0).
#   commit     the commit file altered on the seeder (one byte)
#   truncated  the 18 MiB pack truncated to half its length
#   flipped    2 bytes flipped in the 18 MiB pack, past its 512th piece
# Exit status: 99 if valgrind reported an error in any pull, 1 if a pull ended with an unexpected exit code, else 0.
# Loopback only (seeders on 127.0.0.2 and 127.0.0.5, puller on 127.0.0.3); every process is stopped by PID.
#
#   scripts/valgrind_lying_peer.sh [path/to/dvt] [commit|truncated|flipped]...   # default build/dvt, all three
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DVT=${1:-$root/build/dvt}
[[ "$DVT" = /* ]] || DVT="$PWD/$DVT"
[ -x "$DVT" ] || { echo "no dvt binary at $DVT" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
LIES=("$@")
[ ${#LIES[@]} -gt 0 ] || LIES=(commit truncated flipped)
T=$(mktemp -d /tmp/dvt-valgrind-lying.XXXXXX)
SL="" SH=""
cleanup() {
    [ -n "$SL" ] && kill "$SL" 2>/dev/null
    [ -n "$SH" ] && kill "$SH" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
serve() {  # REPO IP OUT: dvt serve in the background; sets PID and PORT
    "$DVT" -C "$1" serve --listen "$2:0" --json >"$3" 2>"$3.err" &
    PID=$!
    for _ in $(seq 1 100); do [ -s "$3" ] && break; sleep 0.1; done
    PORT=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['port'])" "$3")
}
mkdir -p "$T/src/data" && cd "$T/src" && "$DVT" init -q .
head -c $((18 * 1024 * 1024)) /dev/urandom >data/big.bin
printf 'a small file\n' >data/small.txt
V1=$("$DVT" commit -q -m v1 | tail -1)
cp -a "$T/src" "$T/honest"
serve "$T/honest" 127.0.0.5 "$T/honest.json"
SH=$PID HONEST=127.0.0.5:$PORT
status=0
for lie in "${LIES[@]}"; do
    rm -rf "$T/liar" && cp -a "$T/src" "$T/liar"
    serve "$T/liar" 127.0.0.2 "$T/liar.json"
    SL=$PID LIAR=127.0.0.2:$PORT
    PACK=$(ls -S "$T"/liar/.dvt/packs/*.pack | head -n 1)
    case $lie in
    commit)
        f=$T/liar/.dvt/commits/$V1
        chmod u+w "$f" && printf 'X' | dd of="$f" bs=1 seek=40 conv=notrunc status=none ;;
    truncated)
        chmod u+w "$PACK" && truncate -s $(($(stat -c %s "$PACK") / 2)) "$PACK" ;;
    flipped)
        size=$(stat -c %s "$PACK")
        chmod u+w "$PACK"
        for at in $((size * 9 / 10)) $((size - 5000)); do
            printf '\x5a' | dd of="$PACK" bs=1 seek="$at" conv=notrunc status=none
        done ;;
    *) echo "unknown lie $lie" >&2; exit 2 ;;
    esac
    for peers in alone honest; do
        rm -rf "$T/dst" && "$DVT" init -q "$T/dst"
        args=(--peer "$LIAR")
        [ $peers = honest ] && args+=(--peer "$HONEST")
        valgrind -q --error-exitcode=99 --num-callers=30 "$DVT" -C "$T/dst" pull "$V1" "${args[@]}" \
            --listen 127.0.0.3 --timeout 30 >"$T/p.out" 2>"$T/p.err"
        rc=$?
        grep -v '"progress"' "$T/p.err" >&2
        echo "$lie, liar $peers: exit $rc" >&2
        if [ $rc = 99 ]; then status=99
        elif [ $peers = alone ] && [ $rc != 10 ] && [ $rc != 5 ]; then [ $status = 0 ] && status=1
        elif [ $peers = honest ] && [ $rc != 0 ]; then [ $status = 0 ] && status=1
        fi
    done
    kill "$SL"; wait "$SL" 2>/dev/null; SL=""
done
exit $status
