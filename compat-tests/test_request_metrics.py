"""Request metrics in `mntr`, on both servers: `readlatency` and
`updatelatency`, `bytes_received_count` and `connection_request_count`.

ZooKeeper times every request from its arrival to its reply and files it
under `updatelatency` when it carries a txn (creates, sets, deletes, session
creation) and under `readlatency` otherwise (reads, pings):
`ServerStats.updateLatency`. Dashboards chart the two apart; `srst` clears
them. Each test runs against Apache ZooKeeper 3.8 and ferrokeeper alike.
"""

from test_log_metrics import mntr, number

WRITES = 25
# What the bytes test sends: kazoo's connect, create and get, and two
# four-letter words (ruok, and the mntr that reads the counter).
BYTES = 237
READS = 30
FIELDS = ("avg", "min", "max", "cnt", "sum", "p50", "p95", "p99", "p999")


def count(pairs: dict[str, str], name: str) -> int:
    return int(number(pairs, f"zk_cnt_{name}"))


def test_reads_and_updates_are_timed_apart_and_srst_clears_them(server, zk):
    before = mntr(server)
    zk.create("/lat", b"")
    for i in range(WRITES):
        zk.set("/lat", str(i).encode())
    for _ in range(READS):
        zk.get("/lat")
    after = mntr(server)

    for name in ("readlatency", "updatelatency"):
        keys = [k for k in after if k.endswith(f"_{name}")]
        assert keys == [f"zk_{f}_{name}" for f in FIELDS]
        assert number(after, f"zk_min_{name}") <= number(after, f"zk_avg_{name}")
        assert number(after, f"zk_avg_{name}") <= number(after, f"zk_max_{name}")
        assert number(after, f"zk_p50_{name}") <= number(after, f"zk_p999_{name}")
    # The create and the sets, nothing else: the client's pings are reads.
    assert count(after, "updatelatency") - count(before, "updatelatency") == WRITES + 1
    assert count(after, "readlatency") - count(before, "readlatency") >= READS

    assert server.four_letter("srst").decode().strip() == "Server stats reset."
    cleared = mntr(server)
    for name in ("readlatency", "updatelatency"):
        for field in ("cnt", "sum", "max"):
            assert number(cleared, f"zk_{field}_{name}") == 0, (field, name)


def test_bytes_and_connection_requests_count_as_zookeeper_counts_them(server, kazoo_factory):
    before = mntr(server)
    # A long session timeout: no ping in between.
    zk = kazoo_factory(server, timeout=30.0)
    zk.create("/bytes", b"x" * 100)
    zk.get("/bytes")
    server.four_letter("ruok")
    after = mntr(server)

    def delta(key):
        return int(after[key]) - int(before[key])

    assert delta("zk_connection_request_count") == 1
    # Every byte read from clients: frames with their 4-byte lengths, and
    # the four-letter words.
    assert delta("zk_bytes_received_count") == BYTES
