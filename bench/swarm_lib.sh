# shellcheck shell=bash
# Helpers shared by bench/swarm.sh, bench/clone.sh and bench/replicas.sh (sourced, not executed). Sourcing it also
# sources lib.sh and sets: repo (the checkout), and the defaults DVT=<repo>/build/dvt,
# BENCH_DIR=/tmp/dvt-bench-swarm, RUNS=3.
#
#   track PID             remember a background process; every tracked process is stopped (TERM, then KILL after
#                         5 s) by the EXIT trap that `install_cleanup` sets, also when the script fails.
#   untrack PID           forget it (after it was waited for)
#   stop_pid PID [SIG]    send SIG (TERM) to PID, wait for it, return its exit code, untrack it
#   wait_json_line FILE PID [S]   wait (S s, default 30) until FILE holds a complete first line; fails if PID dies
#   json_field FILE KEY [LINE]    field KEY of the JSON object on line LINE (1; -1 = last line) of FILE
#   start_nginx DIR LISTEN ROOT [LIMIT_RATE]   private nginx (daemon off, 1 worker, sendfile) serving ROOT on
#                         LISTEN; sets NGINX_PID (tracked) and waits until it answers
#   make_tar SRC OUT      uncompressed tar of SRC's files (no .dvt); reused when OUT exists (delete it with SRC)
#   tmark                 seconds since the epoch, ns resolution (for wall times)
#   fresh_bench_dir       checks that $DVT runs, installs the cleanup, empties BENCH_DIR; the cleanup then removes
#                         BENCH_DIR (after the tracked processes stopped) unless KEEP=1

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DVT=${DVT:-$repo/build/dvt}
BENCH_DIR=${BENCH_DIR:-/tmp/dvt-bench-swarm}
RUNS=${RUNS:-3}

BENCH_PIDS=()

track() { BENCH_PIDS+=("$1"); }

untrack() {
    local p keep=()
    for p in "${BENCH_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    BENCH_PIDS=("${keep[@]}")
}

_bench_cleanup() {
    local rc=$? p i alive
    trap - EXIT INT TERM
    if ((${#BENCH_PIDS[@]})); then
        for p in "${BENCH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
        for ((i = 0; i < 50; i++)); do
            alive=0
            for p in "${BENCH_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
            ((alive)) || break
            sleep 0.1
        done
        for p in "${BENCH_PIDS[@]}"; do
            if kill -0 "$p" 2>/dev/null; then
                echo "cleanup: PID $p ignored SIGTERM for 5 s; sending SIGKILL" >&2
                kill -KILL "$p" 2>/dev/null || true
            fi
            wait "$p" 2>/dev/null || true
        done
    fi
    [[ -z ${BENCH_SCRATCH:-} ]] || rm -rf "$BENCH_SCRATCH"
    exit "$rc"
}

install_cleanup() {
    trap _bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

fresh_bench_dir() {
    [[ -x $DVT ]] || { echo "no dvt binary at $DVT (set DVT)" >&2; exit 1; }
    install_cleanup
    rm -rf "$BENCH_DIR"
    mkdir -p "$BENCH_DIR"
    [[ ${KEEP:-0} == 1 ]] || BENCH_SCRATCH=$BENCH_DIR
}

stop_pid() {
    local pid=$1 sig=${2:-TERM} rc=0
    kill -"$sig" "$pid" 2>/dev/null || true
    wait "$pid" || rc=$?
    untrack "$pid"
    return "$rc"
}

wait_json_line() {
    local file=$1 pid=$2 max=${3:-30} i
    for ((i = 0; i < max * 20; i++)); do
        if [[ -s $file ]] && head -1 "$file" | python3 -c 'import json,sys; json.loads(sys.stdin.readline())' 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { echo "process $pid exited before printing to $file" >&2; return 1; }
        sleep 0.05
    done
    echo "timed out after ${max}s waiting for $file" >&2
    return 1
}

json_field() {
    python3 - "$1" "$2" "${3:-1}" <<'PY'
import json, sys
path, key, line = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [l for l in open(path) if l.strip()]
d = json.loads(lines[line - 1] if line > 0 else lines[line])
for k in key.split("."):
    if not isinstance(d, dict) or k not in d:
        sys.exit(f"{path}: no \"{key}\" in {json.dumps(d)[:300]}")  # e.g. {"error": ...} from a refused dvt serve
    d = d[k]
print(d)
PY
}

tmark() { date +%s.%N; }

start_nginx() {
    local dir=$1 listen=$2 root=$3 limit=${4:-}
    rm -rf "$dir"
    mkdir -p "$dir/tmp" "$dir/logs"
    cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    types { application/octet-stream tar; }
    server {
        listen $listen;
        root $root;
        ${limit:+limit_rate $limit;}
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >"$dir/logs/stdout" 2>&1 &
    NGINX_PID=$!
    track "$NGINX_PID"
    local i
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null --max-time 1 "http://$listen/" && return 0
        kill -0 "$NGINX_PID" 2>/dev/null || { echo "nginx failed to start:" >&2; cat "$dir/logs/"* >&2; return 1; }
        sleep 0.05
    done
    echo "nginx did not answer on $listen" >&2
    return 1
}

make_tar() {
    local src=$1 out=$2
    [[ -s $out ]] && return 0
    tar -C "$src" --exclude=./.dvt -cf "$out.tmp" . && mv "$out.tmp" "$out"
}
