#!/usr/bin/env bash
# bench/scale.sh — scale, memory, recovery and durable-write figures of
# ferrokeeper and Apache ZooKeeper 3.8 (Debian's), side by side (`make
# bench-scale`, issue 3 part 3). Every server gets its own loopback port and a
# data dir under one temp dir that is deleted on exit, whatever happens.
#
# Phases (PHASES, default "load idle fsync"):
#   load   for each server: populate NODES znodes of VALUE_SIZE bytes (the same
#          `ferrokeeper-bench --mode populate` for both), wait SETTLE s, read
#          VmRSS (ZooKeeper: also `jcmd GC.heap_info`); then stop it (SIGTERM),
#          restart on the same data dir and time from launch until a session is
#          served and getData of the last created node succeeds
#          (`--mode probe`); then the same after kill -9. REC_REPEATS times.
#   idle   for each server (fresh): RSS before and after IDLE_SESSIONS idle
#          sessions held with pings (`--mode idle-sessions`); delta per session.
#   fsync  four servers at once (each with forceSync=yes and =no): set-heavy
#          SESSIONS x INFLIGHT for DURATION s, FSYNC_ROUNDS alternating rounds;
#          after each round, FSYNC_FLOOR_SAMPLES synced writes of
#          FSYNC_FLOOR_BYTES in the same temp dir (`--mode floor`), the cost of
#          one group commit on this disk that minute: with the servers idle,
#          and during an unmeasured forceSync=no load. With FK_SYNC_CPU set,
#          ferrokeeper's syncer thread (txn-sync) is pinned to that CPU.
#
# Environment (defaults in brackets): NODES [1000000] PARENTS [10]
#   VALUE_SIZE [100] POP_SESSIONS [16] POP_INFLIGHT [64] SETTLE [10]
#   REC_REPEATS [1] IDLE_SESSIONS [10000] FSYNC_ROUNDS [3] DURATION [6]
#   FSYNC_FLOOR_SAMPLES [5000] FSYNC_FLOOR_BYTES [8192]
#   WARMUP [2] SESSIONS [16] INFLIGHT [8] KEYS [1000] SNAPCOUNT [] (zoo.cfg
#   snapCount for the load phase; server default when empty) ZK_JAVA_OPTS []
#   SERVERS ["zookeeper ferrokeeper"] (load and idle phases) FK_SYNC_CPU []
#   SKIP_BUILD [0] FK_REV [git HEAD] OUT [target/bench-scale/<timestamp>] MIN_FREE_GB [15]
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PHASES=${PHASES:-"load idle fsync"}
SERVERS=${SERVERS:-"zookeeper ferrokeeper"}
NODES=${NODES:-1000000}
PARENTS=${PARENTS:-10}
VALUE_SIZE=${VALUE_SIZE:-100}
POP_SESSIONS=${POP_SESSIONS:-16}
POP_INFLIGHT=${POP_INFLIGHT:-64}
SETTLE=${SETTLE:-10}
REC_REPEATS=${REC_REPEATS:-1}
IDLE_SESSIONS=${IDLE_SESSIONS:-10000}
FSYNC_ROUNDS=${FSYNC_ROUNDS:-3}
FSYNC_FLOOR_SAMPLES=${FSYNC_FLOOR_SAMPLES:-5000}
FSYNC_FLOOR_BYTES=${FSYNC_FLOOR_BYTES:-8192}
DURATION=${DURATION:-6}
WARMUP=${WARMUP:-2}
SESSIONS=${SESSIONS:-16}
INFLIGHT=${INFLIGHT:-8}
KEYS=${KEYS:-1000}
SNAPCOUNT=${SNAPCOUNT:-}
FK_SYNC_CPU=${FK_SYNC_CPU:-}
ZK_JAVA_OPTS=${ZK_JAVA_OPTS:-}
SKIP_BUILD=${SKIP_BUILD:-0}
MIN_FREE_GB=${MIN_FREE_GB:-15}
OUT=${OUT:-$ROOT/target/bench-scale/$(date +%Y%m%d-%H%M%S)}
log() { echo "[scale $(date +%H:%M:%S)] $*" >&2; }

# shellcheck source=bench/prepare.sh
. "$ROOT/bench/prepare.sh"

free_gb() { df -P --block-size=1G /tmp | awk 'NR == 2 {print $4}'; }
check_disk() {
    local f
    f=$(free_gb)
    if [ "$f" -lt "$MIN_FREE_GB" ]; then
        log "only $f GiB free on /tmp (MIN_FREE_GB=$MIN_FREE_GB); stopping"; exit 1
    fi
}
check_disk

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/ferrokeeper-scale.XXXXXX)
# Private copies: other builds in the same checkout must not swap binaries mid-run.
cp "$ROOT/target/release/ferrokeeper" "$ROOT/target/release/ferrokeeper-bench" "$WORK/"
FK_BIN=$WORK/ferrokeeper
BENCH=$WORK/ferrokeeper-bench
PIDS=""

stop_pid() { # pid signal
    kill "-$2" "$1" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    for pid in $PIDS; do stop_pid "$pid" TERM; done
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# 10,000 sessions need 10,000 descriptors in the client and in each server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

STARTED_NS=0
start_server() { # kind dir -> sets SERVER_PID, STARTED_NS
    STARTED_NS=$(date +%s%N)
    if [ "$1" = zookeeper ]; then
        # shellcheck disable=SC2086
        java $ZK_JAVA_OPTS -cp "$ZK_JAR:/usr/share/zookeeper/lib/*" \
            org.apache.zookeeper.server.ZooKeeperServerMain "$2/zoo.cfg" >> "$2/server.log" 2>&1 &
    else
        RUST_LOG=${RUST_LOG:-warn} "$FK_BIN" "$2/zoo.cfg" >> "$2/server.log" 2>&1 &
    fi
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0; }
heap_used_kb() { # ZooKeeper: heap used as jcmd reports it (sum over generations)
    jcmd "$1" GC.heap_info 2>/dev/null | awk '
        /total [0-9]+K, used [0-9]+K/ { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?/, "", v); s += v } }
        END { print s + 0 }'
}

# One JSON object per measurement, summarized by bench/scale_summary.py.
RESULTS=$OUT/results.jsonl
record() { echo "$1" >> "$RESULTS"; }

probe() { # port path since_ns -> prints ready_ms
    "$BENCH" --server "127.0.0.1:$1" --mode probe --path "$2" --since-ns "$3" --quiet \
        --json "$WORK/probe.json" > /dev/null
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f %.0f" % (d["ready_ms"], d["first_session_ms"]))' "$WORK/probe.json"
}

{
    echo "date: $(date -Is)"
    echo "host: $(uname -srm), $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "zookeeper: Debian $ZK_VERSION, $(java -version 2>&1 | head -1)"
    echo "ferrokeeper: ${FK_REV:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (dirty tree)')}"
    echo "settings: PHASES=\"$PHASES\" SERVERS=\"$SERVERS\" ZK_JAVA_OPTS=\"$ZK_JAVA_OPTS\" NODES=$NODES PARENTS=$PARENTS VALUE_SIZE=$VALUE_SIZE POP_SESSIONS=$POP_SESSIONS POP_INFLIGHT=$POP_INFLIGHT SETTLE=$SETTLE REC_REPEATS=$REC_REPEATS IDLE_SESSIONS=$IDLE_SESSIONS FSYNC_ROUNDS=$FSYNC_ROUNDS FSYNC_FLOOR_SAMPLES=$FSYNC_FLOOR_SAMPLES FSYNC_FLOOR_BYTES=$FSYNC_FLOOR_BYTES DURATION=$DURATION SESSIONS=$SESSIONS INFLIGHT=$INFLIGHT SNAPCOUNT=${SNAPCOUNT:-default}"
    echo "ulimit -n: $(ulimit -n)"
    echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

LAST=$(python3 -c "n=$NODES-1; print('/fkscale/p%03d/n%08d' % (n % $PARENTS, n))")

phase_load() { # kind
    local kind=$1 dir=$WORK/load-$1 port rss heap ready first sig rep
    port=$(free_port)
    write_cfg "$dir" "$port" "${SNAPCOUNT:+snapCount=$SNAPCOUNT}"
    start_server "$kind" "$dir"
    probe "$port" / "$STARTED_NS" > /dev/null
    record "{\"phase\": \"empty\", \"server\": \"$kind\", \"rss_kb\": $(rss_kb "$SERVER_PID")}"
    log "$kind: populating $NODES znodes of $VALUE_SIZE B"
    "$BENCH" --server "127.0.0.1:$port" --mode populate --nodes "$NODES" --parents "$PARENTS" \
        --value-size "$VALUE_SIZE" --sessions "$POP_SESSIONS" --inflight "$POP_INFLIGHT" \
        --json "$OUT/populate.$kind.json" > "$OUT/populate.$kind.txt"
    cat "$OUT/populate.$kind.txt" >&2
    sleep "$SETTLE"
    rss=$(rss_kb "$SERVER_PID")
    heap=0
    [ "$kind" = zookeeper ] && heap=$(heap_used_kb "$SERVER_PID")
    [ "$kind" = zookeeper ] && jcmd "$SERVER_PID" GC.heap_info > "$OUT/heap_info.zookeeper.txt" 2>&1 || true
    record "{\"phase\": \"loaded\", \"server\": \"$kind\", \"nodes\": $NODES, \"rss_kb\": $rss, \"heap_used_kb\": ${heap:-0}, \"cpu_s\": $(cpu_s "$SERVER_PID"), \"threads\": $(awk '/^Threads/ {print $2}' "/proc/$SERVER_PID/status"), \"populate_s\": $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$OUT/populate.$kind.json")}"
    log "$kind: RSS $((rss / 1024)) MiB with $NODES znodes (heap used $((heap / 1024)) MiB)"
    for rep in $(seq "$REC_REPEATS"); do
        for sig in TERM KILL; do
            local t0 t1
            t0=$(date +%s%N)
            stop_pid "$SERVER_PID" "$sig"
            t1=$(date +%s%N)
            check_disk
            start_server "$kind" "$dir"
            read -r ready first < <(probe "$port" "$LAST" "$STARTED_NS")
            local cpu rss2
            cpu=$(cpu_s "$SERVER_PID")
            sleep "$SETTLE"
            rss2=$(rss_kb "$SERVER_PID")
            record "{\"phase\": \"recovery\", \"server\": \"$kind\", \"signal\": \"$sig\", \"rep\": $rep, \"ready_ms\": $ready, \"first_session_ms\": $first, \"cpu_s_at_ready\": $cpu, \"stop_ms\": $(((t1 - t0) / 1000000)), \"rss_kb_after\": $rss2, \"data_mb\": $(du -sm "$dir/data" | cut -f1), \"files\": \"$(find "$dir/data" -type f -printf '%f:%s ' | tr '\n' ' ' | head -c 2000)\"}"
            log "$kind: after $sig, getData($LAST) served ${ready} ms after launch (first session ${first} ms, CPU ${cpu} s); RSS $((rss2 / 1024)) MiB"
        done
    done
    cp "$dir/server.log" "$OUT/load.$kind.log" 2>/dev/null || true
    stop_pid "$SERVER_PID" TERM
    rm -rf "$dir"
}

phase_idle() { # kind
    local kind=$1 dir=$WORK/idle-$1 port before after heap0=0 heap1=0 bpid
    port=$(free_port)
    write_cfg "$dir" "$port" ""
    start_server "$kind" "$dir"
    probe "$port" / "$STARTED_NS" > /dev/null
    # A short warm-up, so the JVM's and the allocator's start-up growth is not counted.
    "$BENCH" --server "127.0.0.1:$port" --mode idle-sessions --sessions 500 --duration 1 --quiet > /dev/null
    sleep "$SETTLE"
    before=$(rss_kb "$SERVER_PID")
    [ "$kind" = zookeeper ] && heap0=$(heap_used_kb "$SERVER_PID")
    log "$kind: opening $IDLE_SESSIONS idle sessions"
    "$BENCH" --server "127.0.0.1:$port" --mode idle-sessions --sessions "$IDLE_SESSIONS" \
        --duration $((SETTLE + 20)) --json "$OUT/idle.$kind.json" > "$WORK/idle.out" 2> "$WORK/idle.err" &
    bpid=$!
    for _ in $(seq 1200); do
        grep -q READY "$WORK/idle.out" 2>/dev/null && break
        kill -0 "$bpid" 2>/dev/null || { log "idle-sessions failed:"; tail -5 "$WORK/idle.err" >&2; exit 1; }
        sleep 0.1
    done
    sleep "$SETTLE"
    after=$(rss_kb "$SERVER_PID")
    [ "$kind" = zookeeper ] && heap1=$(heap_used_kb "$SERVER_PID")
    local fds
    fds=$(find "/proc/$SERVER_PID/fd" -maxdepth 1 -type l 2>/dev/null | wc -l)
    wait "$bpid" || log "$kind: some idle sessions were lost (see $OUT/idle.$kind.json)"
    cat "$WORK/idle.out" >&2
    record "{\"phase\": \"idle\", \"server\": \"$kind\", \"sessions\": $IDLE_SESSIONS, \"rss_kb_before\": $before, \"rss_kb_after\": $after, \"heap_used_kb_before\": ${heap0:-0}, \"heap_used_kb_after\": ${heap1:-0}, \"fds\": $fds}"
    log "$kind: RSS $((before / 1024)) -> $((after / 1024)) MiB with $IDLE_SESSIONS sessions ($(((after - before) * 1024 / IDLE_SESSIONS)) B/session)"
    stop_pid "$SERVER_PID" TERM
    rm -rf "$dir"
}

# fsync_floor ROUND STATE: one floor probe in the fsync phase's temp dir.
fsync_floor() {
    local floor=$OUT/fsync.floor.$2.$1
    if "$BENCH" --mode floor --dir "$WORK" --samples "$FSYNC_FLOOR_SAMPLES" \
        --value-size $((FSYNC_FLOOR_BYTES - 100)) --json "$floor.json" > "$floor.txt" 2>&1; then
        record "{\"phase\": \"fsync-floor\", \"server\": \"machine\", \"state\": \"$2\", \"round\": $1, \"json\": \"$floor.json\"}"
    else
        log "round $1: $2 floor probe failed (see $floor.txt)"
    fi
}

phase_fsync() {
    local kind fs port pid round
    declare -A PORT SPID
    for kind in zookeeper ferrokeeper; do
        for fs in yes no; do
            port=$(free_port)
            write_cfg "$WORK/fsync-$kind-$fs" "$port" "forceSync=$fs"
            start_server "$kind" "$WORK/fsync-$kind-$fs"
            PORT[$kind-$fs]=$port
            SPID[$kind-$fs]=$SERVER_PID
        done
    done
    for k in "${!PORT[@]}"; do
        probe "${PORT[$k]}" / "$(date +%s%N)" > /dev/null
        "$BENCH" --server "127.0.0.1:${PORT[$k]}" --quiet --mix set=100 --duration 3 --warmup 0 > /dev/null 2>&1 || true
    done
    if [ -n "$FK_SYNC_CPU" ]; then
        for fs in yes no; do
            for t in /proc/"${SPID[ferrokeeper-$fs]}"/task/*; do
                if [ "$(cat "$t/comm")" = txn-sync ]; then taskset -p -c "$FK_SYNC_CPU" "${t##*/}" > /dev/null; fi
            done
        done
        log "ferrokeeper's txn-sync threads pinned to CPU $FK_SYNC_CPU"
    fi
    for round in $(seq "$FSYNC_ROUNDS"); do
        wait_disk_quiet "$WORK"
        for kind in zookeeper ferrokeeper; do
            for fs in yes no; do
                port=${PORT[$kind-$fs]}
                pid=${SPID[$kind-$fs]}
                local c0 c1 base=$OUT/fsync.$kind.$fs.$round
                c0=$(cpu_s "$pid")
                "$BENCH" --server "127.0.0.1:$port" --label "$kind-forceSync=$fs" --quiet \
                    --mix set=100 --sessions "$SESSIONS" --inflight "$INFLIGHT" --value-size "$VALUE_SIZE" \
                    --keys "$KEYS" --duration "$DURATION" --warmup "$WARMUP" --json "$base.json" > "$base.txt" 2>&1 || true
                c1=$(cpu_s "$pid")
                record "{\"phase\": \"fsync\", \"server\": \"$kind\", \"force_sync\": \"$fs\", \"round\": $round, \"json\": \"$base.json\", \"cpu_s\": $(python3 -c "print(round($c1 - $c0, 2))"), \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
                log "round $round: $kind forceSync=$fs: $(grep -m1 -i 'total' "$base.txt" || true)"
            done
        done
        # What one group commit costs on this disk this minute, with no server
        # code involved: synced writes of about one set-heavy batch, first
        # with the servers idle, then while the machine is as busy as in the
        # rounds (an unmeasured forceSync=no load on ferrokeeper beside it).
        fsync_floor "$round" idle
        "$BENCH" --server "127.0.0.1:${PORT[ferrokeeper-no]}" --quiet --mix set=100 --sessions "$SESSIONS" \
            --inflight "$INFLIGHT" --value-size "$VALUE_SIZE" --keys "$KEYS" --duration 4 --warmup 0 \
            > /dev/null 2>&1 &
        local load=$!
        sleep 1
        fsync_floor "$round" loaded
        wait "$load" || true
    done
    # Evidence, not figures: syscall counts of ferrokeeper under the same load
    # (one extra run per setting under strace -c; strace slows it down).
    if command -v strace > /dev/null && [ "${STRACE:-1}" = 1 ]; then
        for fs in yes no; do
            pid=${SPID[ferrokeeper-$fs]}
            strace -f -c -e trace=write,writev,pwrite64,fdatasync,fsync,sendto,sendmsg,recvfrom,read,epoll_wait \
                -p "$pid" -o "$OUT/fsync.ferrokeeper.$fs.strace" 2> /dev/null &
            local spid=$!
            sleep 0.5
            "$BENCH" --server "127.0.0.1:${PORT[ferrokeeper-$fs]}" --quiet --mix set=100 --sessions "$SESSIONS" \
                --inflight "$INFLIGHT" --value-size "$VALUE_SIZE" --keys "$KEYS" --duration 3 --warmup 0 \
                --json "$OUT/fsync.ferrokeeper.$fs.strace.json" > /dev/null 2>&1 || true
            kill -INT "$spid" 2> /dev/null || true
            wait "$spid" 2> /dev/null || true
        done
    fi
    for k in "${!SPID[@]}"; do stop_pid "${SPID[$k]}" TERM; done
    rm -rf "$WORK"/fsync-*
}

for phase in $PHASES; do
    case "$phase" in
        load) for s in $SERVERS; do phase_load "$s"; done ;;
        idle) for s in $SERVERS; do phase_idle "$s"; done ;;
        fsync) phase_fsync ;;
        *) log "unknown phase $phase"; exit 2 ;;
    esac
done
echo "loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
python3 "$ROOT/bench/scale_summary.py" "$OUT" | tee "$OUT/summary.md"
log "results in $OUT"
