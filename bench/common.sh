# Helpers shared by the bench scripts (sourced, not run), with no side effects
# of their own: free_port, block_dev, wait_disk_quiet, write_cfg and
# need_release_binaries. Expects log().

# free_port: a loopback port nothing listens on now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# block_dev DIR: the name of the block device under DIR's file system (vda).
block_dev() {
    basename "$(readlink -f "$(df -P "$1" | awk 'NR == 2 {print $1}')")"
}

# wait_disk_quiet DIR: waits (up to DISK_QUIET_MAX s, default 180) until the
# block device under DIR has had no discards for 6 s. Deleting a large data
# dir on a file system mounted with `discard` trims for a minute or more,
# and fsyncs queued behind the trims take milliseconds instead of ~100 µs:
# a durable-write figure taken then measures the trim, not the server.
wait_disk_quiet() {
    local dev stat a b waited=0 quiet=0
    dev=$(block_dev "$1")
    stat=/sys/class/block/$dev/stat
    [ -r "$stat" ] || return 0
    a=$(awk '{print $14}' "$stat")
    while [ "$quiet" -lt 6 ] && [ "$waited" -lt "${DISK_QUIET_MAX:-180}" ]; do
        sleep 2
        waited=$((waited + 2))
        b=$(awk '{print $14}' "$stat")
        if [ "${b:-0}" = "${a:-0}" ]; then quiet=$((quiet + 2)); else quiet=0; fi
        a=$b
    done
    [ "$waited" -gt 6 ] && log "waited ${waited}s for $dev to finish discards"
    return 0
}

# write_cfg DIR PORT EXTRA: DIR/zoo.cfg (and DIR/data) with the settings both
# servers share in every bench run, plus EXTRA lines.
write_cfg() { # dir port extra-lines
    mkdir -p "$1/data"
    cat > "$1/zoo.cfg" <<CFG
tickTime=2000
dataDir=$1/data
clientPort=$2
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
$3
CFG
}

# need_release_binaries: exits unless target/release holds ferrokeeper and
# ferrokeeper-bench (for the scripts that do not build them).
need_release_binaries() {
    [ -x target/release/ferrokeeper ] && [ -x target/release/ferrokeeper-bench ] \
        || { echo "build first: cargo build --release" >&2; exit 1; }
}
