#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]       (default: 180 seconds, every target)
#
# Builds the whole project with clang++ -fsanitize=fuzzer-no-link,address,undefined into build-fuzz/ (clang is
# installed with apt-get when missing) and the targets with -fsanitize=fuzzer, then runs the targets one after the
# other, each on one core for the given time, starting from the checked-in corpus fuzz/corpus/<target>/ (never
# written to). New corpus entries go to $FUZZ_WORK/<target>/corpus, logs to $FUZZ_WORK/<target>/log, crashes,
# timeouts and out-of-memory inputs to $FUZZ_CRASH_DIR/<target>/. A target keeps running after a crash (libFuzzer's
# fork mode with -ignore_crashes), so one run finds every crash it can in its time. Prints a table per target: wall
# and CPU seconds (user + system, its jobs included), executions, exec/s, coverage (cov: edges, ft: features, from
# libFuzzer's last status line), new corpus entries and crash/timeout/oom counts, and the CPU time of the run.
# Exits 1 if any target crashed, timed out or ran out of memory.
#
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_WORK (a new /tmp/dvt-fuzz.XXXXXX), FUZZ_CRASH_DIR ($FUZZ_WORK/crashes;
# fuzz/crashes/ keeps the ones worth keeping), FUZZ_BUILD_JOBS (2), FUZZ_MALLOC_LIMIT_MB (512: a single allocation
# larger than that is reported as a bug, as a hostile input must not make dvt allocate it), FUZZ_RSS_LIMIT_MB (2048),
# FUZZ_TIMEOUT (10 seconds per input), FUZZ_FORK (1; 0 runs plain libFuzzer, which stops at the first crash),
# CXX (clang++), FUZZ_EXTRA (more libFuzzer flags).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
all_targets=(tree file commit pack record dht config lockfile ignore tensor statcache peerwire)

secs=${1:-180}
[[ "$secs" =~ ^[0-9]+$ && "$secs" -gt 0 ]] || { echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2; }
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "unknown target '$t' (known: ${all_targets[*]})" >&2; exit 2; }
done

build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
work=${FUZZ_WORK:-$(mktemp -d /tmp/dvt-fuzz.XXXXXX)}
crashes=${FUZZ_CRASH_DIR:-$work/crashes}
cxx=${CXX:-clang++}
mkdir -p "$work" "$crashes"

# --- clang with libFuzzer
if ! command -v "$cxx" >/dev/null; then
    echo "fuzz.sh: $cxx not found; installing clang with apt-get" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y clang >&2; else sudo apt-get install -y clang >&2; fi
fi
probe=$work/probe
printf '#include <cstdint>\n#include <cstddef>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
    >"$probe.cpp"
"$cxx" -std=c++2b -fsanitize=fuzzer,address,undefined "$probe.cpp" -o "$probe" 2>"$probe.err" ||
    { cat "$probe.err" >&2; echo "fuzz.sh: $cxx cannot link with -fsanitize=fuzzer (libclang_rt.fuzzer missing?)" >&2; exit 1; }

# --- the libFuzzer build: every layer instrumented, the targets linked with libFuzzer
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS="$san" \
    -DDVT_LIBFUZZER=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j "${FUZZ_BUILD_JOBS:-2}" --target "${targets[@]/#/dvt_fuzz_}"

# --- run
declare -A max_len=([tree]=65536 [file]=16384 [commit]=16384 [pack]=65536 [record]=65536 [dht]=2048
                    [config]=8192 [lockfile]=4096 [ignore]=16384 [tensor]=65536 [statcache]=65536)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fork=()
[ "${FUZZ_FORK:-1}" = 1 ] && fork=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
rows=()
summaries=()
bad=0
cpu_total=0
for t in "${targets[@]}"; do
    mkdir -p "$work/$t/corpus" "$crashes/$t"
    log=$work/$t/log
    dict=()
    [ -f "$root/fuzz/dict/$t.dict" ] && dict=(-dict="$root/fuzz/dict/$t.dict")
    before=$(find "$work/$t/corpus" -type f | wc -l)
    echo "fuzz.sh: $t for ${secs}s (log $log)" >&2
    start=$(date +%s)
    : >"$log.start"
    set +e
    # shellcheck disable=SC2086
    (cd "$work/$t" && /usr/bin/time -f '%U %S' -o "$work/$t/cputime" "$build/fuzz/dvt_fuzz_$t" "${fork[@]}" "${dict[@]}" -max_total_time="$secs" \
        -max_len="${max_len[$t]}" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_LIMIT_MB:-2048}" \
        -malloc_limit_mb="${FUZZ_MALLOC_LIMIT_MB:-512}" -print_final_stats=1 -print_funcs=0 -artifact_prefix="$crashes/$t/" \
        ${FUZZ_EXTRA:-} "$work/$t/corpus" "$root/fuzz/corpus/$t") >"$log" 2>&1
    rc=$?
    set -e
    elapsed=$(( $(date +%s) - start ))
    # CPU seconds of the fuzzer and its fork-mode jobs (user + system; on a loaded machine less than the wall time)
    cpu=$(awk 'END { if (NF == 2) printf "%d", $1 + $2; else print "?" }' "$work/$t/cputime" 2>/dev/null || echo "?")
    [[ "$cpu" =~ ^[0-9]+$ ]] && cpu_total=$((cpu_total + cpu))
    after=$(find "$work/$t/corpus" -type f | wc -l)
    # Fork mode keeps the jobs' reports out of the log: replay each new finding alone for its report and stack
    # (<input>.txt), and sum them up by libFuzzer's SUMMARY line.
    for f in $(find "$crashes/$t" -type f ! -name '*.txt' -newer "$log.start"); do
        timeout 120 "$build/fuzz/dvt_fuzz_$t" -rss_limit_mb="${FUZZ_RSS_LIMIT_MB:-2048}" \
            -malloc_limit_mb="${FUZZ_MALLOC_LIMIT_MB:-512}" -timeout="${FUZZ_TIMEOUT:-10}" "$f" >"$f.txt" 2>&1 || true
    done
    found=$(find "$crashes/$t" -type f ! -name '*.txt' | wc -l)
    summaries+=("$(cat "$crashes/$t"/*.txt 2>/dev/null | grep -E '^SUMMARY:|property violated|what\(\):' | sed "s|^|$t: |" |
        sort | uniq -c || true)")
    # The last status line: "#N ... cov: C ft: F corp: ..." (plain) or "#N: cov: C ft: F corp: P exec/s E ..." (fork).
    status=$(grep -E '^#[0-9]+:? .*cov: [0-9]+' "$log" | tail -1 || true)
    execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$status")
    cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$status")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status")
    execs=${execs:-0}
    eps=$(( elapsed > 0 ? execs / elapsed : execs ))
    otc=$(sed -nE 's|.*oom/timeout/crash: ([0-9]+/[0-9]+/[0-9]+).*|\1|p' <<<"$status")
    if [ -z "$otc" ]; then  # plain mode: at most one finding, named by the log
        otc="$(grep -c 'ERROR: libFuzzer: out-of-memory\|ERROR: libFuzzer: malloc' "$log" || true)/$(grep -c 'ERROR: libFuzzer: timeout' "$log" || true)/$(grep -cE 'ERROR: (Address|Undefined|libFuzzer: deadly)|runtime error:' "$log" || true)"
    fi
    { [ "$found" -gt 0 ] || [ "$otc" != 0/0/0 ]; } && bad=1
    rows+=("$(printf '%-9s %6ss %6ss %12s %8s %7s %7s %6s %10s %7s %4s' "$t" "$elapsed" "$cpu" "$execs" "$eps" "${cov:-?}" \
        "${ft:-?}" "$((after - before))" "$otc" "$found" "$rc")")
done

echo
printf '%-9s %7s %7s %12s %8s %7s %7s %6s %10s %7s %4s\n' target time cpu executions exec/s cov ft new oom/tmo/crash files rc
printf '%s\n' "${rows[@]}"
echo "CPU time in all: $((cpu_total / 60)) min $((cpu_total % 60)) s"
echo
printf '%s\n' "${summaries[@]}" | grep . || echo "no findings"
echo
echo "work dir: $work (new corpus in <target>/corpus, logs in <target>/log); crash inputs: $crashes/<target>/"
exit "$bad"
