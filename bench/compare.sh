#!/usr/bin/env bash
# bench/compare.sh — side-by-side benchmark of ferrokeeper and Apache ZooKeeper
# (`make bench-compare`). Starts both on their own loopback ports and temp data
# dirs with the same zoo.cfg settings, runs every workload against each in
# alternation (A B A B ...) for $ROUNDS rounds, and prints per workload the
# median of each figure and the ratio ferrokeeper/ZooKeeper
# (bench/summarize.py). Both servers are killed on exit, whatever happens.
# The scale figures (1M znodes, recovery, idle sessions, forceSync) are in
# bench/scale.sh (`make bench-scale`; `make bench-all` runs both).
#
# Environment (defaults in brackets):
#   ROUNDS [3]            rounds of A B per workload
#   DURATION [6]          measured seconds per load run
#   WARMUP [2]            warm-up seconds per load run (not measured)
#   SESSIONS [16] INFLIGHT [8] VALUE_SIZE [100] KEYS [1000]
#   FANOUT_WATCHERS [1000] FANOUT_REPEATS [5]
#   FLOOR_SAMPLES [20000] samples per round of the machine's own latency floors
#                         (ferrokeeper-bench --mode floor: loopback round trip,
#                         write + fdatasync in the data dirs' file system); 0 skips
#   WORKLOADS ["get-heavy set-heavy create-eseq mixed sync-get sync-set fanout"]
#   OUT [target/bench-compare/<timestamp>]   where JSON results and logs go
#   BENCH_THREADS [1]     client runtime threads
#   ZK_JAVA_OPTS []       extra JVM options (default heap when empty)
#   SKIP_BUILD [0]        1: use the existing target/release binaries
#   FK_REV []             what to call the ferrokeeper build (default: git HEAD)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6}
WARMUP=${WARMUP:-2}
SESSIONS=${SESSIONS:-16}
INFLIGHT=${INFLIGHT:-8}
VALUE_SIZE=${VALUE_SIZE:-100}
KEYS=${KEYS:-1000}
FANOUT_WATCHERS=${FANOUT_WATCHERS:-1000}
FANOUT_REPEATS=${FANOUT_REPEATS:-5}
FLOOR_SAMPLES=${FLOOR_SAMPLES:-20000}
WORKLOADS=${WORKLOADS:-"get-heavy set-heavy create-eseq mixed sync-get sync-set fanout"}
BENCH_THREADS=${BENCH_THREADS:-1}
ZK_JAVA_OPTS=${ZK_JAVA_OPTS:-}
SKIP_BUILD=${SKIP_BUILD:-0}
OUT=${OUT:-$ROOT/target/bench-compare/$(date +%Y%m%d-%H%M%S)}
log() { echo "[compare $(date +%H:%M:%S)] $*" >&2; }

# shellcheck source=bench/prepare.sh
. "$ROOT/bench/prepare.sh"
FK_BIN=$ROOT/target/release/ferrokeeper
BENCH=$ROOT/target/release/ferrokeeper-bench

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/ferrokeeper-compare.XXXXXX)
ZK_PID=""
FK_PID=""

cleanup() {
    local rc=$?
    for pid in $ZK_PID $FK_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $ZK_PID $FK_PID; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() { # port pid name
    for _ in $(seq 300); do
        if ! kill -0 "$2" 2>/dev/null; then
            log "$3 exited during start-up; log:"; tail -20 "$WORK/$3.log" >&2; exit 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    log "$3 did not open port $1"; exit 1
}

ZK_PORT=$(free_port)
FK_PORT=$(free_port)
while [ "$FK_PORT" = "$ZK_PORT" ]; do FK_PORT=$(free_port); done
write_cfg "$WORK/zookeeper" "$ZK_PORT" ""
write_cfg "$WORK/ferrokeeper" "$FK_PORT" ""

log "starting Apache ZooKeeper $ZK_VERSION on 127.0.0.1:$ZK_PORT"
# shellcheck disable=SC2086
java $ZK_JAVA_OPTS -cp "$ZK_JAR:/usr/share/zookeeper/lib/*" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$WORK/zookeeper/zoo.cfg" \
    > "$WORK/zookeeper.log" 2>&1 &
ZK_PID=$!
log "starting ferrokeeper on 127.0.0.1:$FK_PORT"
RUST_LOG=${RUST_LOG:-warn} "$FK_BIN" "$WORK/ferrokeeper/zoo.cfg" > "$WORK/ferrokeeper.log" 2>&1 &
FK_PID=$!
wait_port "$ZK_PORT" "$ZK_PID" zookeeper
wait_port "$FK_PORT" "$FK_PID" ferrokeeper

# ZooKeeper opens its port before its database is loaded and drops sessions
# until then: wait until a tiny run completes.
wait_ready() { # port name
    for _ in $(seq 120); do
        if "$BENCH" --server "127.0.0.1:$1" --quiet --mix get --sessions 1 --inflight 1 \
            --keys 1 --duration 0.1 --warmup 0 > /dev/null 2>&1; then
            return 0
        fi
        sleep 0.5
    done
    log "$2 never served a session"; exit 1
}
wait_ready "$ZK_PORT" zookeeper
wait_ready "$FK_PORT" ferrokeeper

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

workload_args() {
    local common="--value-size $VALUE_SIZE --keys $KEYS --duration $DURATION --warmup $WARMUP"
    case "$1" in
        get-heavy)   echo "--mix get=100 --sessions $SESSIONS --inflight $INFLIGHT $common" ;;
        set-heavy)   echo "--mix set=100 --sessions $SESSIONS --inflight $INFLIGHT $common" ;;
        create-eseq) echo "--mix create-eseq=100 --sessions $SESSIONS --inflight $INFLIGHT $common" ;;
        mixed)       echo "--mix get=90,set=10 --sessions $SESSIONS --inflight $INFLIGHT $common" ;;
        sync-get)    echo "--mix get=100 --sessions 1 --inflight 1 $common" ;;
        sync-set)    echo "--mix set=100 --sessions 1 --inflight 1 $common" ;;
        fanout)      echo "--mode watch-fanout --watchers $FANOUT_WATCHERS --repeats $FANOUT_REPEATS --value-size $VALUE_SIZE" ;;
        *) log "unknown workload $1"; exit 2 ;;
    esac
}

run_one() { # workload name port pid round
    local wl=$1 name=$2 port=$3 pid=$4 round=$5
    local base="$OUT/$wl.$name.$round"
    local t0 c0 c1 t1 rc=0
    # ZooKeeper's create run leaves about 160 MB of its snapshots dirty in
    # the page cache, which the kernel writes back 30 s later, in the middle
    # of whichever run comes then (ferrokeeper's mixed). Each run starts
    # with nothing dirty.
    sync
    t0=$(date +%s.%N); c0=$(cpu_ticks "$pid")
    # shellcheck disable=SC2046
    "$BENCH" --server "127.0.0.1:$port" --label "$name" --threads "$BENCH_THREADS" --quiet \
        $(workload_args "$wl") --json "$base.json" > "$base.txt" 2>&1 || rc=$?
    c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
    echo "{\"cpu_ticks\": $((c1 - c0)), \"clk_tck\": $(getconf CLK_TCK), \"wall_s\": $(awk "BEGIN {print $t1 - $t0}"), \"rss_kb\": $(rss_kb "$pid"), \"rc\": $rc, \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" > "$base.proc.json"
    if [ "$rc" -ne 0 ]; then log "  $name: exit status $rc (see $base.txt)"; fi
    if ! kill -0 "$pid" 2>/dev/null; then log "$name died; log:"; tail -20 "$WORK/$name.log" >&2; exit 1; fi
}

{
    echo "date: $(date -Is)"
    echo "host: $(uname -srm), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "zookeeper: Debian $ZK_VERSION, $(java -version 2>&1 | head -1)"
    echo "ferrokeeper: ${FK_REV:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (dirty tree)')}"
    echo "settings: ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP SESSIONS=$SESSIONS INFLIGHT=$INFLIGHT VALUE_SIZE=$VALUE_SIZE KEYS=$KEYS FANOUT_WATCHERS=$FANOUT_WATCHERS FANOUT_REPEATS=$FANOUT_REPEATS FLOOR_SAMPLES=$FLOOR_SAMPLES BENCH_THREADS=$BENCH_THREADS"
    echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# Unrecorded warm-up of both (the JVM's JIT most of all).
log "warm-up pass (not recorded)"
for srv in "zookeeper $ZK_PORT" "ferrokeeper $FK_PORT"; do
    set -- $srv
    "$BENCH" --server "127.0.0.1:$2" --quiet --threads "$BENCH_THREADS" --mix get=90,set=10 \
        --duration 3 --warmup 0 > /dev/null 2>&1 || log "warm-up against $1 failed"
done

for round in $(seq "$ROUNDS"); do
    wait_disk_quiet "$WORK"
    for wl in $WORKLOADS; do
        log "round $round/$ROUNDS: $wl"
        run_one "$wl" zookeeper "$ZK_PORT" "$ZK_PID" "$round"
        run_one "$wl" ferrokeeper "$FK_PORT" "$FK_PID" "$round"
    done
    if [ "$FLOOR_SAMPLES" -gt 0 ]; then
        log "round $round/$ROUNDS: machine floors (no server work)"
        "$BENCH" --mode floor --dir "$WORK" --samples "$FLOOR_SAMPLES" --value-size "$VALUE_SIZE" --json "$OUT/floor.$round.json" \
            > "$OUT/floor.$round.txt" 2>&1 || log "  floor probe failed (see $OUT/floor.$round.txt)"
    fi
done
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
echo "rss at end: zookeeper $(rss_kb "$ZK_PID") kB, ferrokeeper $(rss_kb "$FK_PID") kB" >> "$OUT/machine.txt"
echo "threads at end: zookeeper $(awk '/^Threads/ {print $2}' "/proc/$ZK_PID/status"), ferrokeeper $(awk '/^Threads/ {print $2}' "/proc/$FK_PID/status")" >> "$OUT/machine.txt"
cp "$WORK/zookeeper.log" "$WORK/ferrokeeper.log" "$OUT/" 2>/dev/null || true

python3 "$ROOT/bench/summarize.py" "$OUT" | tee "$OUT/summary.md"
log "results in $OUT"
