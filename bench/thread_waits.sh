#!/usr/bin/env bash
# bench/thread_waits.sh — where set-heavy's threads wait for a CPU, with
# forceSync=yes and =no. For each setting: a fresh ferrokeeper on a free
# loopback port, set-heavy SESSIONS x INFLIGHT for WARMUP + WINDOW + 2 s, and
# over WINDOW s in the middle each thread's time running, time runnable but
# waiting for a CPU, and wait per time slice, from /proc/<pid>/task/*/schedstat
# (the server's threads and the load generator's). Uses the release binaries
# in target/release (`cargo build --release` first). Everything it starts
# stops, and its temp dir goes, on exit.
#
# Environment (defaults in brackets): SESSIONS [16] INFLIGHT [8] WARMUP [3]
#   WINDOW [4] ROUNDS [1]
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { echo "[waits $(date +%H:%M:%S)] $*" >&2; }
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
SESSIONS=${SESSIONS:-16}
INFLIGHT=${INFLIGHT:-8}
WARMUP=${WARMUP:-3}
WINDOW=${WINDOW:-4}
ROUNDS=${ROUNDS:-1}
FK=target/release/ferrokeeper
BENCH=target/release/ferrokeeper-bench
need_release_binaries

WORK=$(mktemp -d /tmp/ferrokeeper-waits.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# snapshot PID...: one line per thread: name, ns running, ns waiting, slices.
snapshot() {
    local pid t
    for pid in "$@"; do
        for t in /proc/"$pid"/task/*; do
            echo "$(tr ' ' _ < "$t/comm") $(cat "$t/schedstat" 2> /dev/null || echo '0 0 0')"
        done
    done
}

measure() { # force_sync
    local dir=$WORK/$1 port server load
    port=$(free_port)
    write_cfg "$dir" "$port" "forceSync=$1"
    RUST_LOG=warn "$FK" "$dir/zoo.cfg" > "$dir/server.log" 2>&1 &
    server=$!
    PIDS+=("$server")
    "$BENCH" --mode probe --server "127.0.0.1:$port" --path / --deadline 30 > /dev/null
    "$BENCH" --server "127.0.0.1:$port" --quiet --mix set=100 --sessions "$SESSIONS" --inflight "$INFLIGHT" \
        --duration $((WARMUP + WINDOW + 2)) --warmup 0 > "$dir/load.txt" 2>&1 &
    load=$!
    PIDS+=("$load")
    sleep "$WARMUP"
    snapshot "$server" "$load" > "$dir/before"
    sleep "$WINDOW"
    snapshot "$server" "$load" > "$dir/after"
    wait "$load"
    echo "forceSync=$1, set-heavy ${SESSIONS}x${INFLIGHT}: $(awk '/^set/ {printf "%s sets/s, mean %s us", $4, $5}' "$dir/load.txt")"
    paste "$dir/before" "$dir/after" | awk -v w="$WINDOW" '$1 == $5 && $8 - $4 > 100 {
        run = ($6 - $2) / (w * 1e7); wait = ($7 - $3) / (w * 1e7); n = $8 - $4
        printf "  %-18s run %5.1f%%  waiting for a CPU %5.1f%%  slices %7d  wait per slice %5.1f us\n",
            $1, run, wait, n, ($7 - $3) / n / 1000 }'
    kill "$server" 2> /dev/null || true
    wait "$server" 2> /dev/null || true
}

for _ in $(seq "$ROUNDS"); do
    measure yes
    measure no
done
