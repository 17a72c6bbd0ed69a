"""Log rolls and snapshots by size (`txnLogSizeLimitInKb`, `snapSizeLimitInKb`),
on both servers.

With `snapCount` too large to matter, a server given a log size limit must
start new log files as the log grows, and one given a snapshot size limit
must snapshot; either way a restart brings back every write.
"""

from pathlib import Path

VALUE = b"v" * 1024
WRITES = 300


def zxid_of(p: Path) -> int:
    return int(p.name.split(".")[1], 16)


def files(v2: Path, prefix: str) -> list[Path]:
    return sorted((p for p in v2.glob(f"{prefix}.*") if not p.name.endswith(".tmp")), key=zxid_of)


def write_and_restart(srv, kazoo_factory) -> dict[str, bytes]:
    zk = kazoo_factory(srv)
    zk.create("/sized", b"")
    for i in range(WRITES):
        zk.create(f"/sized/n{i:04}", VALUE)
    zk.stop()
    srv.stop()
    srv.start()
    zk = kazoo_factory(srv)
    return {c: zk.get(f"/sized/{c}")[0] for c in zk.get_children("/sized")}


def test_the_log_rolls_past_txn_log_size_limit(server_factory, server_kind, kazoo_factory):
    srv = server_factory(
        server_kind,
        **{"snapCount": "1000000", "preAllocSize": "16", "txnLogSizeLimitInKb": "32"},
    )
    got = write_and_restart(srv, kazoo_factory)
    logs = files(srv.data_dir / "version-2", "log")
    # About 330 KB of entries in files of about 32 KB.
    assert len(logs) >= 5, [p.name for p in logs]
    # No snapshot came from snapCount: only the one taken at start-up (and
    # the one at restart).
    assert len(files(srv.data_dir / "version-2", "snapshot")) <= 2
    assert len(got) == WRITES and set(got.values()) == {VALUE}


def test_a_snapshot_is_taken_past_snap_size_limit(server_factory, server_kind, kazoo_factory):
    srv = server_factory(
        server_kind,
        **{"snapCount": "1000000", "preAllocSize": "16", "snapSizeLimitInKb": "64"},
    )
    zk = kazoo_factory(srv)
    zk.create("/sized", b"")
    for i in range(WRITES):
        zk.create(f"/sized/n{i:04}", VALUE)
    snaps = files(srv.data_dir / "version-2", "snapshot")
    # The start-up snapshot and at least one for each 64 KB of log (the
    # randomised rule takes one after 32 to 64 KB).
    assert len(snaps) >= 3, [p.name for p in snaps]
    zk.stop()
    srv.stop()
    srv.start()
    zk = kazoo_factory(srv)
    assert len(zk.get_children("/sized")) == WRITES
