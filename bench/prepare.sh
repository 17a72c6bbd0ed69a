# Shared set-up of the bench scripts (sourced, not run): Debian's Apache
# ZooKeeper installed when missing, and the release binaries built unless
# SKIP_BUILD=1. Expects log(), ROOT and SKIP_BUILD; sets ZK_JAR and
# ZK_VERSION, and brings in the helpers of bench/common.sh.
# shellcheck source=bench/common.sh
. "$ROOT/bench/common.sh"
ZK_JAR=/usr/share/java/zookeeper.jar
if [ ! -f "$ZK_JAR" ] || ! command -v java >/dev/null; then
    log "installing Debian's zookeeper package"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq zookeeper >/dev/null
fi
ZK_VERSION=$(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo unknown)
if [ "$SKIP_BUILD" != 1 ]; then
    log "building ferrokeeper and ferrokeeper-bench (release)"
    cargo build --release --quiet --bin ferrokeeper --bin ferrokeeper-bench
fi
