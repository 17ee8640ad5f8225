# shellcheck shell=bash
# Shared helpers for dvt's benchmark scripts (sourced, not executed).
#
#   source bench/lib.sh
#   RESULTS_TSV=/tmp/dvtbench/results/x.tsv LOG_DIR=/tmp/dvtbench/results/x.logs
#   measure NAME cmd args...      # sync, then run cmd under /usr/bin/time; append one row to $RESULTS_TSV
#
# Row columns (tab-separated, header written once):
#   name  wall_s  cpu_s(user+sys)  user_s  sys_s  peak_rss_mib  rc  sync_after_s  others_cpu_s  start_utc
# - peak_rss_mib: max RSS of the largest process /usr/bin/time saw (%M, KiB -> MiB).
# - rc: the command's exit code (128+N when it was killed by signal N).
# - sync_after_s: a `sync` right after the step, timed (data the tool left dirty in the page cache).
# - others_cpu_s: CPU the rest of the machine used during the step (from /proc/stat minus the step's own CPU);
#   near 0 means the step ran undisturbed.
# QUIET_WAIT=N (seconds, default 0): before the step, wait up to N s for the machine to go idle (wait_quiet).
# The command's stdout/stderr go to $LOG_DIR/NAME.out / NAME.err; MEASURE_OUT names the stdout file afterwards.
# measure returns the command's exit code, and sets MEASURE_WALL, MEASURE_CPU, MEASURE_RSS_MIB, MEASURE_RC.

BENCH_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${RESULTS_TSV:=/tmp/dvtbench/results/results.tsv}"
: "${LOG_DIR:=${RESULTS_TSV%.tsv}.logs}"
TIME_BIN=/usr/bin/time

# Installs the Debian packages `time` and `restic` when missing (needs root; apt only, nothing else).
ensure_tools() {
    local missing=()
    [[ -x $TIME_BIN ]] || missing+=(time)
    if [[ ${1:-} == restic ]]; then command -v restic >/dev/null || missing+=(restic); fi
    command -v sqlite3 >/dev/null || missing+=(sqlite3)
    ((${#missing[@]} == 0)) && return 0
    echo "installing: ${missing[*]}" >&2
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Sum of all CPU jiffies spent busy (user+nice+system+irq+softirq+steal) so far, in seconds.
_busy_cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu /{printf "%.2f", ($2+$3+$4+$7+$8+$9)/hz; exit}' /proc/stat
}

# wait_quiet MAX_S: waits (up to MAX_S seconds) until the machine is idle: less than 15% of one core busy over 2 s.
# Prints how long it waited and how busy the machine still was (others share this VM; see perf-baselines section 1).
wait_quiet() {
    local max=${1:-0} waited=0 b0 b1 busy
    ((max > 0)) || return 0
    while :; do
        b0=$(_busy_cpu_s)
        sleep 2
        b1=$(_busy_cpu_s)
        busy=$(awk -v a="$b0" -v b="$b1" 'BEGIN{printf "%.2f", (b-a)/2}')
        waited=$((waited + 2))
        if awk -v x="$busy" 'BEGIN{exit !(x < 0.15)}'; then break; fi
        if ((waited >= max)); then
            echo "  (machine still busy after ${waited}s: ${busy} cores used by others; measuring anyway)" >&2
            return 0
        fi
    done
    ((waited > 2)) && echo "  (waited ${waited}s for the machine to go idle)" >&2
    return 0
}

measure() {
    local name=$1
    shift
    wait_quiet "${QUIET_WAIT:-0}"
    mkdir -p "$LOG_DIR" "$(dirname "$RESULTS_TSV")"
    [[ -s $RESULTS_TSV ]] ||
        printf 'name\twall_s\tcpu_s\tuser_s\tsys_s\tpeak_rss_mib\trc\tsync_after_s\tothers_cpu_s\tstart_utc\n' >"$RESULTS_TSV"
    local tf="$LOG_DIR/$name.time"
    MEASURE_OUT="$LOG_DIR/$name.out"
    sync
    local start busy0 busy1 rc t0 t1
    start=$(date -u +%H:%M:%S)
    busy0=$(_busy_cpu_s)
    "$TIME_BIN" -o "$tf" -f 'WALL=%e USER=%U SYS=%S RSS_KB=%M RC=%x' "$@" >"$MEASURE_OUT" 2>"$LOG_DIR/$name.err"
    rc=$?
    busy1=$(_busy_cpu_s)
    t0=$(date +%s.%N)
    sync
    t1=$(date +%s.%N)
    local line wall user sys rss sig
    line=$(grep '^WALL=' "$tf" | tail -1)
    wall=$(sed -E 's/.*WALL=([0-9.]+).*/\1/' <<<"$line")
    user=$(sed -E 's/.*USER=([0-9.]+).*/\1/' <<<"$line")
    sys=$(sed -E 's/.*SYS=([0-9.]+).*/\1/' <<<"$line")
    rss=$(sed -E 's/.*RSS_KB=([0-9]+).*/\1/' <<<"$line")
    # GNU time prints "Command terminated by signal N" (and RC=0) when the child was killed
    sig=$(sed -nE 's/^Command terminated by signal ([0-9]+).*/\1/p' "$tf" | tail -1)
    [[ -n $sig ]] && rc=$((128 + sig))
    [[ -n $line ]] || { wall=NA user=NA sys=NA rss=0; }
    MEASURE_WALL=$wall
    MEASURE_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN{if (u=="NA") print "NA"; else printf "%.2f", u+s}')
    MEASURE_RSS_MIB=$(awk -v k="$rss" 'BEGIN{printf "%.1f", k/1024}')
    MEASURE_RC=$rc
    local sync_after others
    sync_after=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
    others=$(awk -v a="$busy0" -v b="$busy1" -v c="$MEASURE_CPU" 'BEGIN{if (c=="NA") print "NA"; else printf "%.1f", b-a-c}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$wall" "$MEASURE_CPU" "$user" "$sys" \
        "$MEASURE_RSS_MIB" "$rc" "$sync_after" "$others" "$start" >>"$RESULTS_TSV"
    printf '  %-28s wall %7ss  cpu %7ss  rss %7s MiB  rc %s  (sync after %ss, others %ss)\n' "$name" "$wall" \
        "$MEASURE_CPU" "$MEASURE_RSS_MIB" "$rc" "$sync_after" "$others" >&2
    return "$rc"
}

# Field of the last row named NAME in $RESULTS_TSV (fields: wall_s cpu_s user_s sys_s peak_rss_mib rc ...).
result_field() {
    awk -F'\t' -v n="$1" -v f="$2" 'NR==1{for(i=1;i<=NF;i++) col[$i]=i; next} $1==n{v=$col[f]} END{print v}' "$RESULTS_TSV"
}

# Reads every regular file under the given directories once (warms the page cache, as perf-baselines did).
warm() {
    local d
    for d in "$@"; do
        [[ -e $d ]] && find "$d" -type f -print0 | xargs -0 -r cat >/dev/null
    done
}

# Apparent size in bytes of the given paths (missing ones count 0).
bytes_of() {
    local p total=0 n
    for p in "$@"; do
        [[ -e $p ]] || continue
        n=$(du -sb "$p" | cut -f1)
        total=$((total + n))
    done
    echo "$total"
}

# sha256 manifest of a tree ("<hash>  ./path", sorted by path), .dvt excluded.
manifest() {
    (cd "$1" && find . -path ./.dvt -prune -o -type f -print0 | LC_ALL=C sort -z |
        xargs -0 -r -P "$(nproc)" -n 500 sha256sum | LC_ALL=C sort -k2)
}

# verify DIR MANIFEST: 0 when DIR holds exactly the manifest's files with the same contents.
verify_tree() {
    local dir=$1 want=$2 got
    got=$(mktemp)
    manifest "$dir" >"$got"
    if cmp -s "$got" "$want"; then
        rm -f "$got"
        return 0
    fi
    echo "VERIFY FAILED: $dir vs $want ($(diff "$want" "$got" | grep -c '^[<>]') differing lines; first:)" >&2
    diff "$want" "$got" | head -5 >&2
    rm -f "$got"
    return 1
}

# Median of the numbers given as arguments ("NA" and empty ignored; prints NA when none).
median() {
    printf '%s\n' "$@" | awk '$1!="NA" && $1!=""' | sort -g |
        awk '{v[NR]=$1} END{if (NR==0) print "NA"; else if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'
}

# Builds dvt (Release) into BUILD when the binary is missing, or when REBUILD=1. When sources are newer than the
# binary it only warns (other people edit the tree while benchmarks run; rebuild deliberately with REBUILD=1).
ensure_dvt() {
    local repo=$1 build=$2
    if [[ ! -x $build/dvt || ${REBUILD:-0} == 1 ]]; then
        echo "building dvt in $build" >&2
        [[ -f $build/build.ninja ]] || cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2 || return 1
        if ! cmake --build "$build" >&2; then
            # gcc 12 at -O3 reports false -Wstringop-overflow positives in std::vector::insert; with -Werror (the
            # default, DVT_WERROR=ON) the Release build then fails. Same code, warnings not fatal:
            echo "note: Release build failed; retrying with -DDVT_WERROR=OFF" >&2
            cmake -S "$repo" -B "$build" -DDVT_WERROR=OFF >&2 && cmake --build "$build" >&2 || return 1
        fi
    elif [[ -n $(find "$repo" -path "$repo/build*" -prune -o \( -name '*.cpp' -o -name '*.hpp' -o -name 'CMakeLists.txt' \) \
        -newer "$build/dvt" -print -quit) ]]; then
        echo "note: sources are newer than $build/dvt (benchmarking the existing binary; REBUILD=1 to rebuild)" >&2
    fi
}

# Builds the reference dataset into DATA (v1/ and v2/) unless it is already there.
ensure_dataset() {
    local data=$1 gen=$2
    if [[ -f $data/v1/model/model.safetensors && -f $data/v2/model/model.safetensors && ! -e $data/.generating ]]; then
        return 0
    fi
    echo "generating the reference dataset into $data (SCALE=${SCALE:-1})" >&2
    rm -rf "$data/v1" "$data/v2"
    mkdir -p "$data"
    touch "$data/.generating"
    "$gen" "$data" >&2 || return 1
    rm -f "$data/.generating"
    echo "SCALE=${SCALE:-1} SEED=${SEED:-42}" >"$data/.complete"
}
