#!/usr/bin/env bash
# bench/halt_poll_ab.sh — the forceSync yes/no comparison (bench/scale.sh's
# fsync phase, ferrokeeper only) with this VM's guest halt polling as the
# machine has it, and with the kernel's default, in alternating runs.
#
# On a KVM-style guest with the cpuidle-haltpoll driver, an idle vCPU polls
# for up to guest_halt_poll_ns before it halts. A halted vCPU costs a trip
# through the hypervisor to wake, and every hand-over between threads that
# finds the other vCPU idle pays it. Some VMs boot with
# haltpoll.guest_halt_poll_ns=0 (this one does), which makes that cost part
# of every group commit: with fsync the machine is idle more of the time.
#
# CHANGES A KERNEL SETTING for the length of the run:
# /sys/module/haltpoll/parameters/guest_halt_poll_ns is set to each value in
# turn and put back to what it was on exit (including Ctrl-C; not after a
# kill -9). Needs root. Never run by `make test` or the other bench targets.
#
# Environment (defaults in brackets): HALT_POLL_NS [200000, the kernel's
#   default] RUNS [2] FSYNC_ROUNDS [5] THREAD_WAITS [0: 1 also runs
#   bench/thread_waits.sh under each setting] OUT [target/bench-halt-poll/<ts>]
# Uses the release binaries in target/release (`cargo build --release`
# first); per-run output goes to OUT/poll<ns>-<run>/ as bench/scale.sh
# writes it, with a pooled summary per setting at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { echo "[halt-poll $(date +%H:%M:%S)] $*" >&2; }
PARAM=/sys/module/haltpoll/parameters/guest_halt_poll_ns
HALT_POLL_NS=${HALT_POLL_NS:-200000}
RUNS=${RUNS:-2}
FSYNC_ROUNDS=${FSYNC_ROUNDS:-5}
THREAD_WAITS=${THREAD_WAITS:-0}
OUT=${OUT:-$ROOT/target/bench-halt-poll/$(date +%Y%m%d-%H%M%S)}

[ -w "$PARAM" ] || { echo "no writable $PARAM: needs root on a guest with the cpuidle-haltpoll driver" >&2; exit 1; }
[ -x target/release/ferrokeeper ] && [ -x target/release/ferrokeeper-bench ] \
    || { echo "build first: cargo build --release" >&2; exit 1; }
ORIGINAL=$(cat "$PARAM")
[ "$ORIGINAL" != "$HALT_POLL_NS" ] || { echo "guest_halt_poll_ns is already $ORIGINAL: nothing to compare" >&2; exit 1; }
trap 'echo "$ORIGINAL" > "$PARAM"; log "guest_halt_poll_ns back to $ORIGINAL"' EXIT
mkdir -p "$OUT"

for run in $(seq "$RUNS"); do
    for ns in "$ORIGINAL" "$HALT_POLL_NS"; do
        echo "$ns" > "$PARAM"
        log "run $run: guest_halt_poll_ns=$ns"
        SKIP_BUILD=1 PHASES=fsync SERVERS=ferrokeeper FSYNC_ROUNDS="$FSYNC_ROUNDS" \
            OUT="$OUT/poll$ns-$run" bench/scale.sh > "$OUT/poll$ns-$run.log" 2>&1
        if [ "$THREAD_WAITS" = 1 ]; then
            bench/thread_waits.sh > "$OUT/poll$ns-$run.waits.txt" 2>&1
        fi
    done
done

for ns in "$ORIGINAL" "$HALT_POLL_NS"; do
    echo
    echo "## guest_halt_poll_ns=$ns"
    echo
    python3 bench/scale_summary.py --pool "$OUT"/poll"$ns"-*/
done | tee "$OUT/summary.md"
