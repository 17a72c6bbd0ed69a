"""Apache ZooKeeper's own tools read the data directory each server writes.

A server takes writes (enough, with snapCount=10, to roll logs and snapshot),
is stopped, restarted on the same data directory (its data must still be
there) and stopped again. Then `TxnLogToolkit -d` (zkTxnLogToolkit.sh) must
dump every log without a CRC error, `SnapshotFormatter -d` (zkSnapShotToolkit.sh)
must read every snapshot, and together they must show every node written.

Also: `PurgeTxnLog -n 3` (zkCleanup.sh) on the data dir leaves what a restart
needs.

Runs once per selected server; against Apache ZooKeeper it checks the test.
"""

from __future__ import annotations

import base64
import re
import subprocess
import time
from pathlib import Path

import pytest
from kazoo.security import READ_ACL_UNSAFE

import harness

PATHS = [f"/toolkit/n{i}" for i in range(25)]


def run_tool(cls: str, *args: str) -> str:
    proc = subprocess.run(
        [harness.JAVA, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", harness.zookeeper_classpath(), cls, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{cls} {args} exited {proc.returncode}:\n{out}"
    return out


def zxid_of(p: Path) -> int:
    return int(p.name.split(".")[1], 16)


def write_some(zk) -> None:
    zk.create("/toolkit", b"top")
    for i, p in enumerate(PATHS):
        zk.create(p, f"value-{i}".encode())
    zk.set("/toolkit/n1", b"changed")
    zk.delete("/toolkit/n2")
    zk.create("/toolkit/ro", b"read-only", acl=READ_ACL_UNSAFE)
    zk.create("/toolkit/seq-", b"", sequence=True)
    with zk.transaction() as t:
        t.create("/toolkit/multi", b"m")
        t.set_data("/toolkit/n3", b"via multi")


def test_toolkits_read_the_data_dir(server, kazoo_factory):
    server.stop()
    server.extra_config["snapCount"] = "10"
    server.start()
    zk = kazoo_factory(server)
    write_some(zk)
    zk.stop()
    server.stop()

    v2 = server.data_dir / "version-2"
    logs = sorted(v2.glob("log.*"), key=zxid_of)
    assert logs, f"no transaction logs in {v2}"

    # Restart on the same directory: the data survived.
    server.start()
    zk = kazoo_factory(server)
    assert zk.get("/toolkit/n1")[0] == b"changed"
    assert zk.get("/toolkit/n3")[0] == b"via multi"
    assert zk.exists("/toolkit/n2") is None
    zk.stop()
    server.stop()

    logs = sorted(v2.glob("log.*"), key=zxid_of)
    dumps = []
    for log in logs:
        out = run_tool("org.apache.zookeeper.server.persistence.TxnLogToolkit", "-d", str(log))
        assert "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2" in out, out
        assert "CRC ERROR" not in out, f"{log.name}:\n{out}"
        assert re.search(r"EOF reached after \d+ txns\.", out), f"{log.name}:\n{out}"
        dumps.append(out)
    txns = "\n".join(dumps)
    assert " setData " in txns and " multi " in txns, txns

    snaps = sorted((p for p in v2.glob("snapshot.*") if not p.name.endswith(".tmp")), key=zxid_of)
    assert snaps, f"no snapshots in {v2}"
    formatted = []
    for snap in snaps:
        out = run_tool("org.apache.zookeeper.server.SnapshotFormatter", "-d", str(snap))
        assert "ZNode Details (count=" in out, f"{snap.name}:\n{out}"
        assert re.search(r"Last zxid: 0x[0-9a-f]+", out), out
        formatted.append(out)
    newest = formatted[-1]
    # Every node written is in the newest snapshot or in a log.
    for p in ["/toolkit", "/toolkit/ro", "/toolkit/multi", *(p for p in PATHS if p != "/toolkit/n2")]:
        assert re.search(rf"^{re.escape(p)}$", newest, re.M) or f"'{p}," in txns, f"{p} nowhere"
    # A node's data as the snapshot holds it (base64 with -d).
    if re.search(r"^/toolkit/n1$", newest, re.M):
        section = newest.split("\n/toolkit/n1\n", 1)[1].split("----", 1)[0]
        assert f"data = {base64.b64encode(b'changed').decode()}" in section, section


def test_zookeeper_purge_keeps_what_a_restart_needs(server, kazoo_factory):
    """`PurgeTxnLog -n 3` (zkCleanup.sh) on the stopped server's data dir
    leaves the 3 newest snapshots and the logs after the oldest of them; the
    server restarts on what is left with every node as it was."""
    server.stop()
    server.extra_config["snapCount"] = "10"
    server.start()
    zk = kazoo_factory(server)
    write_some(zk)
    for i in range(60):
        path = PATHS[i % len(PATHS)]
        zk.set("/toolkit" if path == "/toolkit/n2" else path, f"round-{i}".encode())
    names = zk.get_children("/toolkit")
    expected = {p: zk.get(p)[0] for p in ["/toolkit", *(f"/toolkit/{c}" for c in names)]}
    zk.stop()
    v2 = server.data_dir / "version-2"
    # Let the snapshot the last roll (closeSession's, say) started finish:
    # stopped in the middle, either server leaves `snapshot.<zxid>.tmp`,
    # which PurgeTxnLog counts as one of the snapshots it keeps.
    time.sleep(0.3)
    deadline = time.monotonic() + 30
    while list(v2.glob("snapshot.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop()

    snaps_before = sorted((p for p in v2.glob("snapshot.*") if not p.name.endswith(".tmp")), key=zxid_of)
    assert len(snaps_before) > 3, f"too few snapshots to purge: {snaps_before}"
    run_tool("org.apache.zookeeper.server.PurgeTxnLog", str(server.data_dir), str(server.data_dir), "-n", "3")
    snaps = sorted(v2.glob("snapshot.*"), key=zxid_of)
    assert [p.name for p in snaps] == [p.name for p in snaps_before[-3:]]
    oldest_kept = zxid_of(snaps[0])
    logs = sorted(v2.glob("log.*"), key=zxid_of)
    assert logs and zxid_of(logs[0]) <= oldest_kept, [p.name for p in logs]

    server.start()
    zk = kazoo_factory(server)
    got = {p: zk.get(p)[0] for p in expected}
    assert got == expected
    assert sorted(zk.get_children("/toolkit")) == sorted(names)


def newest_snapshot_covering(srv, zxid: int, timeout: float = 30.0) -> Path:
    """The newest complete snapshot of `srv` taken at `zxid` or later (the
    start-up snapshot after a restart, which ferrokeeper writes in the
    background)."""
    v2 = srv.data_dir / "version-2"
    deadline = time.monotonic() + timeout
    while True:
        snaps = sorted((p for p in v2.glob("snapshot.*") if not p.name.endswith(".tmp")), key=zxid_of)
        if snaps and zxid_of(snaps[-1]) >= zxid:
            return snaps[-1]
        assert time.monotonic() < deadline, f"no snapshot at {zxid:#x} or later: {[p.name for p in snaps]}"
        time.sleep(0.05)


def tree_summaries(out: str) -> list[list[str]]:
    """SnapshotComparer's two `TreeInfo` blocks (left, then right)."""
    blocks, current = [], None
    for line in out.splitlines():
        if line.startswith("Node count:"):
            current = []
            blocks.append(current)
        if current is not None and re.match(r"(Node count|Total size|Max depth|Count of nodes at depth \d+):", line):
            current.append(line)
    return blocks


def test_snapshot_comparer_finds_our_snapshot_the_same_as_zookeepers(oracle_and_candidate, kazoo_factory):
    """ZooKeeper's `SnapshotComparer` reads a snapshot of each server after the
    same writes and finds the same node count, data size and shape."""
    snaps = []
    for srv in oracle_and_candidate:
        zk = kazoo_factory(srv)
        write_some(zk)
        last = 0
        for i in range(0, 25, 3):
            last = max(last, zk.set(PATHS[i], b"x" * (i * 10)).mzxid)
        zk.stop()
        srv.stop()
        srv.start()  # both servers take a snapshot at start-up
        snaps.append(newest_snapshot_covering(srv, last))
        srv.stop()
    out = run_tool(
        "org.apache.zookeeper.server.SnapshotComparer",
        "-l", str(snaps[0]), "-r", str(snaps[1]), "-b", "0", "-n", "0",
    )
    assert "All layers compared." in out, out
    left, right = tree_summaries(out)
    assert left and left[0] != "Node count: 0", out
    assert right == left, out


def test_log_chopper_cuts_our_log_and_the_server_starts_on_the_result(server, kazoo_factory):
    """ZooKeeper's `LogChopper` (how an operator drops the txns after a zxid)
    reads the server's log and writes a copy that ends at a given zxid, in
    ZooKeeper's own writer's layout (no preallocation); the server starts on
    it with exactly the txns up to that zxid, and goes on writing."""
    zk = kazoo_factory(server)
    zk.create("/chop", b"")
    zxids = [zk.create(f"/chop/n{i}", f"v{i}".encode(), include_data=True)[1].czxid for i in range(20)]
    zk.stop()
    server.stop()

    v2 = server.data_dir / "version-2"
    logs = sorted(v2.glob("log.*"), key=zxid_of)
    assert len(logs) == 1, [p.name for p in logs]
    chopped = v2 / "chopped"
    out = run_tool("org.apache.zookeeper.server.util.LogChopper", hex(zxids[9]), str(logs[0]), str(chopped))
    assert "ZooKeeper Transactional Log File" in out, out
    chopped.replace(logs[0])

    server.start()
    zk = kazoo_factory(server)
    assert sorted(zk.get_children("/chop")) == sorted(f"n{i}" for i in range(10))
    assert zk.get("/chop/n9")[0] == b"v9"
    stat = zk.create("/chop/after", b"a", include_data=True)[1]
    assert stat.czxid > zxids[9]
