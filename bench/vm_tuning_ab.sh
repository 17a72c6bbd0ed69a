#!/usr/bin/env bash
# bench/vm_tuning_ab.sh — the forceSync yes/no comparison (bench/scale.sh's
# fsync phase) on this VM as it is, and with two machine settings tuned, in
# alternating runs. The server is the same in both.
#
# The two settings:
# - Guest halt polling. On a KVM-style guest with the cpuidle-haltpoll
#   driver, an idle vCPU polls for up to guest_halt_poll_ns before it
#   halts. A halted vCPU costs a trip through the hypervisor to wake, and
#   every hand-over between threads that finds the other vCPU idle pays it.
#   Some VMs boot with haltpoll.guest_halt_poll_ns=0 (this one does); with
#   fsync the machine is idle more of the time, so more group commits pay.
# - Where the syncer thread runs. Pinned to the CPU that takes the data
#   disk's interrupts, the disk's completion wakes it without an IPI to the
#   other vCPU.
#
# CHANGES A KERNEL SETTING for the length of the run:
# /sys/module/haltpoll/parameters/guest_halt_poll_ns is set for each run and
# put back to what it was on exit (including Ctrl-C; not after a kill -9).
# Needs root. Never run by `make test` or the other bench targets.
#
# Environment (defaults in brackets): HALT_POLL_NS [200000, the kernel's
#   default; empty: leave halt polling alone] SYNC_CPU [auto: the CPU that
#   has taken most of the data disk's interrupts; empty: no pinning] RUNS [2]
#   FSYNC_ROUNDS [5] THREAD_WAITS [0: 1 also runs bench/thread_waits.sh in
#   each arm, without the pinning] OUT [target/bench-vm-tuning/<ts>]
# Uses the release binaries in target/release (`cargo build --release`
# first); each run's output goes to OUT/<arm>-<run>/ as bench/scale.sh
# writes it, and OUT/summary.md pools each arm's rounds.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { echo "[vm-tuning $(date +%H:%M:%S)] $*" >&2; }
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
PARAM=/sys/module/haltpoll/parameters/guest_halt_poll_ns
HALT_POLL_NS=${HALT_POLL_NS-200000}
SYNC_CPU=${SYNC_CPU-auto}
RUNS=${RUNS:-2}
FSYNC_ROUNDS=${FSYNC_ROUNDS:-5}
THREAD_WAITS=${THREAD_WAITS:-0}
OUT=${OUT:-$ROOT/target/bench-vm-tuning/$(date +%Y%m%d-%H%M%S)}

need_release_binaries

# disk_irq_cpu DIR: the CPU that has taken most interrupts of the virtio
# device under DIR's file system (empty when it cannot tell).
disk_irq_cpu() {
    local virtio
    virtio=$(readlink -f "/sys/class/block/$(block_dev "$1")" 2> /dev/null | grep -o 'virtio[0-9]*' | tail -1)
    [ -n "$virtio" ] || return 0
    awk -v q="$virtio-req" 'NR == 1 {n = NF} index($0, q) {for (c = 2; c <= n + 1; c++) s[c - 2] += $c}
        END {best = -1; for (c in s) if (best < 0 || s[c] > s[best]) best = c; if (best >= 0) print best}' \
        /proc/interrupts
}
if [ "$SYNC_CPU" = auto ]; then
    # bench/scale.sh keeps its data dirs under /tmp.
    SYNC_CPU=$(disk_irq_cpu /tmp)
    [ -n "$SYNC_CPU" ] || log "cannot tell which CPU takes the disk's interrupts: no pinning"
fi
ORIGINAL=""
if [ -n "$HALT_POLL_NS" ]; then
    [ -w "$PARAM" ] || { echo "no writable $PARAM: needs root on a guest with the cpuidle-haltpoll driver" >&2; exit 1; }
    ORIGINAL=$(cat "$PARAM")
    trap 'echo "$ORIGINAL" > "$PARAM"; log "guest_halt_poll_ns back to $ORIGINAL"' EXIT
fi
[ -n "$SYNC_CPU" ] || [ "$HALT_POLL_NS" != "$ORIGINAL" ] || { echo "nothing to tune: both arms would be the same" >&2; exit 1; }
TUNED="guest_halt_poll_ns=${HALT_POLL_NS:-unchanged}, txn-sync on CPU ${SYNC_CPU:-any}"
mkdir -p "$OUT"

# arm NAME POLL_NS SYNC_CPU RUN
arm() {
    [ -z "$2" ] || echo "$2" > "$PARAM"
    log "run $4: $1"
    SKIP_BUILD=1 PHASES=fsync SERVERS=ferrokeeper FSYNC_ROUNDS="$FSYNC_ROUNDS" FK_SYNC_CPU="$3" \
        OUT="$OUT/$1-$4" bench/scale.sh > "$OUT/$1-$4.log" 2>&1
    if [ "$THREAD_WAITS" = 1 ]; then
        bench/thread_waits.sh > "$OUT/$1-$4.waits.txt" 2>&1
    fi
}

for run in $(seq "$RUNS"); do
    arm as-is "$ORIGINAL" "" "$run"
    arm tuned "$HALT_POLL_NS" "$SYNC_CPU" "$run"
done

{
    echo "## as is (guest_halt_poll_ns=${ORIGINAL:-unchanged})"
    echo
    python3 bench/scale_summary.py --pool "$OUT"/as-is-*/
    echo
    echo "## tuned ($TUNED)"
    echo
    python3 bench/scale_summary.py --pool "$OUT"/tuned-*/
} | tee "$OUT/summary.md"
