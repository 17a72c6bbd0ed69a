"""The log stage's metrics in `mntr`, and the slow-fsync warning, on both servers.

An operator's dashboards and alerts on ZooKeeper read `zk_avg_fsynctime`,
`zk_max_fsynctime`, the sync processor's batch size and queue times; its
log watchers look for "fsync-ing the write ahead log ... took". Each test
runs against Apache ZooKeeper 3.8 and ferrokeeper alike.
"""

import re
import time

WRITES = 40


def mntr(srv) -> dict[str, str]:
    text = srv.four_letter("mntr").decode(errors="replace")
    return dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)


def number(pairs: dict[str, str], key: str) -> float:
    assert key in pairs, f"no {key} in mntr"
    return float(pairs[key])


def test_mntr_counts_every_group_commit_and_srst_clears_it(server, zk):
    zk.create("/m", b"")
    for i in range(WRITES):
        # One at a time: each write is its own group commit, fsynced before
        # the reply lets the next one go.
        zk.set("/m", str(i).encode())
    pairs = mntr(server)

    assert number(pairs, "zk_cnt_fsynctime") >= WRITES
    assert number(pairs, "zk_min_fsynctime") <= number(pairs, "zk_avg_fsynctime")
    assert number(pairs, "zk_avg_fsynctime") <= number(pairs, "zk_max_fsynctime")
    assert number(pairs, "zk_cnt_sync_processor_batch_size") >= WRITES
    assert number(pairs, "zk_sum_sync_processor_batch_size") >= WRITES
    assert number(pairs, "zk_min_sync_processor_batch_size") >= 1
    assert number(pairs, "zk_sync_processor_request_queued") >= WRITES
    assert number(pairs, "zk_cnt_sync_processor_queue_and_flush_time_ms") >= WRITES
    assert number(pairs, "zk_cnt_sync_processor_queue_flush_time_ms") >= WRITES
    for quantile in ("p50", "p95", "p99", "p999"):
        value = pairs[f"zk_{quantile}_sync_processor_queue_and_flush_time_ms"]
        assert re.fullmatch(r"[0-9]+", value), value
    # A new data dir: one snapshot load at start-up, and the snapshot taken
    # then (ferrokeeper writes it in the background: give it a moment).
    assert number(pairs, "zk_cnt_startup_snap_load_time") == 1
    deadline = time.monotonic() + 10
    while number(pairs, "zk_cnt_snapshottime") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        pairs = mntr(server)
    assert number(pairs, "zk_cnt_snapshottime") >= 1

    assert server.four_letter("srst").decode().strip() == "Server stats reset."
    cleared = mntr(server)
    for key in (
        "zk_cnt_fsynctime",
        "zk_sum_sync_processor_batch_size",
        "zk_cnt_sync_processor_queue_and_flush_time_ms",
        "zk_max_fsynctime",
    ):
        assert number(cleared, key) == 0, f"{key} after srst: {cleared[key]}"


def test_an_fsync_over_the_threshold_is_logged(server_factory, server_kind, kazoo_factory):
    """`fsync.warningthresholdms` in zoo.cfg (a system property ZooKeeper sets
    from it); with -1 every fsync is over it."""
    srv = server_factory(server_kind, **{"fsync.warningthresholdms": "-1"})
    zk = kazoo_factory(srv)
    zk.create("/slow", b"x")
    log = srv.log_path.read_text(errors="replace")
    warning = re.search(
        r"fsync-ing the write ahead log in \S+ took \d+ms which will adversely effect "
        r"operation latency\.\s?File size is \d+ bytes",
        log,
    )
    assert warning, f"no slow-fsync warning in {srv.kind}'s log"


def test_fsyncs_under_the_default_threshold_are_not_logged(server, zk):
    for i in range(10):
        zk.create(f"/fast{i}", b"x")
    assert "fsync-ing the write ahead log" not in server.log_path.read_text(errors="replace")


LOG_KEY = re.compile(
    r"zk_((avg|min|max|cnt|sum|p50|p95|p99|p999)_"
    r"(fsynctime|snapshottime|sync_processor_\w+|sync_process_time|startup_\w+)"
    r"|sync_processor_request_queued)"
)


def test_every_log_and_snapshot_key_zookeeper_reports_is_there(oracle_and_candidate, kazoo_factory):
    """The same keys for the log stage, the snapshots and the start-up load
    (68 in ZooKeeper 3.8), so a dashboard built on one reads the other."""
    keys = []
    for srv in oracle_and_candidate:
        kazoo_factory(srv).create("/k", b"x")
        keys.append({k for k in mntr(srv) if LOG_KEY.fullmatch(k)})
    oracle, cand = keys
    assert len(oracle) >= 60, sorted(oracle)
    assert cand == oracle, f"missing {sorted(oracle - cand)}, extra {sorted(cand - oracle)}"
