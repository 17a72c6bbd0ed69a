"""kazoo (Python client) against the server: every client operation.

Runs against each server selected with --servers (ferrokeeper and, as a
check of the tests themselves, Apache ZooKeeper). Each test gets a fresh
server process.
"""

from __future__ import annotations

import threading
import time

import pytest
from kazoo.exceptions import (
    BadArgumentsError,
    BadVersionError,
    InvalidACLError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.protocol.serialization import Create, Delete, GetData, SetData
from kazoo.protocol.states import EventType, KazooState
from kazoo.security import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, make_acl

import rawzk
from kazoo_util import WireLog, flush_callbacks, unnormalised_call


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Recorder:
    """A watch callback that records (type, path) and can be waited on."""

    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def __call__(self, event):
        with self.cond:
            self.events.append((event.type, event.path))
            self.cond.notify_all()

    def wait(self, n=1, timeout=10.0):
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.events) >= n, timeout)
        assert ok, f"expected {n} watch events, got {self.events}"
        return self.events


# -- create ---------------------------------------------------------------------
def test_create_persistent(zk):
    assert zk.create("/p", b"data") == "/p"
    data, stat = zk.get("/p")
    assert data == b"data"
    assert stat.version == 0 and stat.cversion == 0 and stat.aversion == 0
    assert stat.ephemeralOwner == 0
    assert stat.dataLength == 4 and stat.numChildren == 0
    assert stat.czxid == stat.mzxid == stat.pzxid > 0
    assert stat.ctime == stat.mtime
    assert abs(stat.ctime / 1000 - time.time()) < 60


def test_create_empty_and_none_data(zk):
    zk.create("/e1")
    data, stat = zk.get("/e1")
    assert data == b"" and stat.dataLength == 0


def test_create_ephemeral(zk):
    zk.create("/eph", b"x", ephemeral=True)
    stat = zk.exists("/eph")
    assert stat.ephemeralOwner == zk.client_id[0]
    assert stat.ephemeralOwner != 0


def test_create_sequential(zk):
    zk.create("/q")
    paths = [zk.create("/q/n-", sequence=True) for _ in range(3)]
    assert paths == ["/q/n-0000000000", "/q/n-0000000001", "/q/n-0000000002"]
    # Apache ZooKeeper 3.8 takes the suffix from the parent's cversion as its
    # prep stage sees it; a delete does not advance that count, so after
    # deleting one child the next suffix is 3 while the parent's cversion is 4.
    zk.delete(paths[2])
    assert zk.exists("/q").cversion == 4
    assert zk.create("/q/n-", sequence=True) == "/q/n-0000000003"
    assert zk.exists("/q").cversion == 5
    # a sequential node without prefix
    assert zk.create("/q/", sequence=True) == "/q/0000000004"


def test_create_ephemeral_sequential(zk):
    zk.create("/es")
    p = zk.create("/es/lock-", b"", ephemeral=True, sequence=True)
    assert p == "/es/lock-0000000000"
    assert zk.exists(p).ephemeralOwner == zk.client_id[0]


def test_create_makepath(zk):
    assert zk.create("/a/b/c", b"leaf", makepath=True) == "/a/b/c"
    assert zk.get("/a/b/c")[0] == b"leaf"
    assert zk.get("/a")[0] == b""
    assert zk.get_children("/a") == ["b"]


def test_create_under_missing_parent(zk):
    with pytest.raises(NoNodeError):
        zk.create("/missing/child")


def test_create_node_exists(zk):
    zk.create("/dup")
    with pytest.raises(NodeExistsError):
        zk.create("/dup")


def test_create_include_data_create2(zk):
    path, stat = zk.create("/c2", b"abc", include_data=True)
    assert path == "/c2"
    assert stat.version == 0 and stat.dataLength == 3
    assert stat.czxid == stat.mzxid == stat.pzxid
    assert stat == zk.exists("/c2")
    path, stat = zk.create("/c2/s-", b"", sequence=True, include_data=True)
    assert path == "/c2/s-0000000000"
    assert stat == zk.exists(path)


def test_no_children_for_ephemerals(zk):
    zk.create("/eph", ephemeral=True)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create("/eph/child")


@pytest.mark.parametrize(
    "path,expected",
    [
        ("noslash", BadArgumentsError),
        ("/trailing/", BadArgumentsError),  # parent "/trailing" exists
        ("/dot/.", BadArgumentsError),
        ("/dot/..", BadArgumentsError),
        ("/ctl\u0001", BadArgumentsError),
        ("/nul\u0000x", BadArgumentsError),
        # ZooKeeper looks the parent up before it validates the whole path
        ("/double//slash", NoNodeError),
        ("/dot/./x", NoNodeError),
        ("/nosuch/../x", NoNodeError),
    ],
)
def test_create_invalid_path(zk, path, expected):
    """Paths kazoo would normalise are sent raw (kazoo's Create record)."""
    zk.create("/dot")
    zk.create("/trailing")
    with pytest.raises(expected):
        unnormalised_call(zk, Create(path, b"", OPEN_ACL_UNSAFE, 0))


def test_create_root_is_node_exists_or_bad_arguments(zk):
    # Apache ZooKeeper answers NodeExists for "/" (its parent "" is found first)
    with pytest.raises((NodeExistsError, BadArgumentsError)):
        unnormalised_call(zk, Create("/", b"", OPEN_ACL_UNSAFE, 0))


# -- get / set / exists ------------------------------------------------------------
def test_get_missing(zk):
    with pytest.raises(NoNodeError):
        zk.get("/nope")


def test_get_root_and_zookeeper_node(zk):
    data, stat = zk.get("/")
    assert data == b""
    assert "zookeeper" in zk.get_children("/")
    assert zk.exists("/zookeeper") is not None


def test_set_and_versions(zk):
    zk.create("/v", b"0")
    s1 = zk.set("/v", b"1")
    assert s1.version == 1 and s1.dataLength == 1
    assert s1.mzxid > s1.czxid
    assert s1.pzxid == s1.czxid
    s2 = zk.set("/v", b"22", version=1)
    assert s2.version == 2 and s2.dataLength == 2
    with pytest.raises(BadVersionError):
        zk.set("/v", b"x", version=1)
    assert zk.get("/v")[0] == b"22"
    with pytest.raises(NoNodeError):
        zk.set("/missing", b"x")


def test_set_large_value(zk):
    big = bytes(range(256)) * 1000  # 256 KB, below jute.maxbuffer
    zk.create("/big", big)
    data, stat = zk.get("/big")
    assert data == big and stat.dataLength == len(big)


def test_exists_stat_fields(zk):
    assert zk.exists("/none") is None
    zk.create("/s", b"abc")
    st = zk.exists("/s")
    assert st.version == 0 and st.dataLength == 3 and st.numChildren == 0
    zk.create("/s/c1")
    zk.create("/s/c2")
    st2 = zk.exists("/s")
    assert st2.numChildren == 2 and st2.cversion == 2
    assert st2.pzxid > st.pzxid and st2.mzxid == st.mzxid and st2.version == 0
    zk.delete("/s/c1")
    st3 = zk.exists("/s")
    assert st3.numChildren == 1 and st3.cversion == 3 and st3.pzxid > st2.pzxid
    child = zk.exists("/s/c2")
    assert child.czxid < st3.pzxid


# -- children ---------------------------------------------------------------------------
def test_get_children(zk):
    zk.create("/k")
    for name in ("b", "a", "c"):
        zk.create(f"/k/{name}")
    assert sorted(zk.get_children("/k")) == ["a", "b", "c"]
    with pytest.raises(NoNodeError):
        zk.get_children("/missing")
    assert zk.get_children("/k/a") == []


def test_get_children_include_data(zk):
    zk.create("/k")
    zk.create("/k/x", b"12")
    children, stat = zk.get_children("/k", include_data=True)
    assert children == ["x"]
    assert stat == zk.exists("/k")
    assert stat.numChildren == 1 and stat.cversion == 1


# -- delete ---------------------------------------------------------------------------
def test_delete(zk):
    zk.create("/d", b"")
    zk.set("/d", b"1")
    with pytest.raises(BadVersionError):
        zk.delete("/d", version=0)
    zk.delete("/d", version=1)
    assert zk.exists("/d") is None
    with pytest.raises(NoNodeError):
        zk.delete("/d")


def test_delete_not_empty_and_recursive(zk):
    zk.create("/t/u/v", makepath=True)
    with pytest.raises(NotEmptyError):
        zk.delete("/t")
    zk.delete("/t", recursive=True)
    assert zk.exists("/t") is None


def test_delete_root_and_invalid(zk):
    with pytest.raises(BadArgumentsError):
        unnormalised_call(zk, Delete("/", -1))
    with pytest.raises(BadArgumentsError):
        unnormalised_call(zk, Delete("bad", -1))


# -- multi ------------------------------------------------------------------------------
def test_transaction_success(zk):
    zk.create("/m", b"0")
    t = zk.transaction()
    t.check("/m", 0)
    t.create("/m/a", b"a")
    t.set_data("/m", b"1")
    t.create("/m/b")
    t.delete("/m/b")
    results = t.commit()
    assert results[0] is True
    assert results[1] == "/m/a"
    assert results[2].version == 1
    assert results[3] == "/m/b"
    assert results[4] is True
    assert zk.get("/m")[0] == b"1"
    assert zk.get_children("/m") == ["a"]
    # all ops of one multi share one zxid
    assert zk.exists("/m").mzxid == zk.exists("/m/a").czxid


def test_transaction_failure_rolls_back(zk):
    zk.create("/m", b"0")
    t = zk.transaction()
    t.create("/m/a")
    t.check("/m", 7)
    t.set_data("/m", b"x")
    t.delete("/m")
    results = t.commit()
    assert [type(r) for r in results] == [
        RolledBackError,
        BadVersionError,
        RuntimeInconsistency,
        RuntimeInconsistency,
    ]
    assert zk.exists("/m/a") is None
    assert zk.get("/m")[0] == b"0"


def test_transaction_failure_on_create(zk):
    zk.create("/m")
    t = zk.transaction()
    t.create("/m/x")
    t.create("/m/x")
    results = t.commit()
    assert [type(r) for r in results] == [RolledBackError, NodeExistsError]
    assert zk.get_children("/m") == []


def test_transaction_sequential_and_ephemeral(zk):
    zk.create("/m")
    t = zk.transaction()
    t.create("/m/s-", sequence=True)
    t.create("/m/s-", sequence=True, ephemeral=True)
    assert t.commit() == ["/m/s-0000000000", "/m/s-0000000001"]
    assert zk.exists("/m/s-0000000001").ephemeralOwner == zk.client_id[0]


# -- sync ---------------------------------------------------------------------------------
def test_sync(zk):
    zk.create("/y")
    assert zk.sync("/y") == "/y"
    assert zk.sync("/") == "/"


# -- ACLs ---------------------------------------------------------------------------------
def test_acls(zk):
    zk.create("/acl", b"")
    acls, stat = zk.get_acls("/acl")
    assert list(acls) == list(OPEN_ACL_UNSAFE)
    assert stat.aversion == 0
    both = list(OPEN_ACL_UNSAFE) + [make_acl("digest", "user:c2VjcmV0c2VjcmV0c2VjcmV0c2U=", read=True)]
    st = zk.set_acls("/acl", both)
    assert st.aversion == 1
    assert sorted(zk.get_acls("/acl")[0]) == sorted(both)
    with pytest.raises(BadVersionError):
        zk.set_acls("/acl", OPEN_ACL_UNSAFE, version=0)
    st = zk.set_acls("/acl", OPEN_ACL_UNSAFE, version=1)
    assert st.aversion == 2
    with pytest.raises(NoNodeError):
        zk.get_acls("/missing")


def test_acl_enforced_read_only(zk):
    zk.create("/ro", b"v", acl=READ_ACL_UNSAFE)
    from kazoo.exceptions import NoAuthError

    with pytest.raises(NoAuthError):
        zk.set("/ro", b"w")
    with pytest.raises(NoAuthError):
        zk.create("/ro/child")
    assert zk.get("/ro")[0] == b"v"


def test_invalid_acl(zk):
    zk.create("/ia")
    with pytest.raises(InvalidACLError):
        zk.set_acls("/ia", [])
    with pytest.raises(InvalidACLError):
        zk.create("/ia/x", acl=[make_acl("auth", "", all=True)])
    with pytest.raises(InvalidACLError):
        zk.create("/ia/y", acl=[make_acl("nosuchscheme", "id", all=True)])


# -- watches --------------------------------------------------------------------------------
def test_data_watch_one_shot(zk, server, kazoo_factory):
    other = kazoo_factory(server)
    zk.create("/w", b"0")
    rec = Recorder()
    zk.get("/w", watch=rec)
    other.set("/w", b"1")
    rec.wait(1)
    other.set("/w", b"2")  # one-shot: no second event
    zk.sync("/w")
    flush_callbacks(zk)
    assert rec.events == [(EventType.CHANGED, "/w")]


def test_exists_watch_created_and_deleted(zk, server, kazoo_factory):
    other = kazoo_factory(server)
    rec = Recorder()
    assert zk.exists("/x", watch=rec) is None
    other.create("/x")
    rec.wait(1)
    rec2 = Recorder()
    assert zk.exists("/x", watch=rec2) is not None
    other.delete("/x")
    rec2.wait(1)
    assert rec.events == [(EventType.CREATED, "/x")]
    assert rec2.events == [(EventType.DELETED, "/x")]


def test_child_watch(zk, server, kazoo_factory):
    other = kazoo_factory(server)
    zk.create("/cw")
    rec = Recorder()
    assert zk.get_children("/cw", watch=rec) == []
    other.create("/cw/a")
    rec.wait(1)
    rec2 = Recorder()
    zk.get_children("/cw", watch=rec2)
    other.set("/cw/a", b"changed")  # a child's data change does not fire a child watch
    other.delete("/cw/a")
    rec2.wait(1)
    zk.sync("/")
    flush_callbacks(zk)
    assert rec.events == [(EventType.CHILD, "/cw")]
    assert rec2.events == [(EventType.CHILD, "/cw")]


def test_delete_fires_data_and_child_watch_once(zk, server, kazoo_factory):
    wire = None
    from kazoo.client import KazooClient

    watcher = KazooClient(hosts=server.hosts, timeout=10.0)
    wire = WireLog(watcher)
    watcher.start()
    try:
        zk.create("/dw")
        data_rec, child_rec = Recorder(), Recorder()
        watcher.get("/dw", watch=data_rec)
        watcher.get_children("/dw", watch=child_rec)
        zk.delete("/dw")
        data_rec.wait(1)
        child_rec.wait(1)
        watcher.sync("/")
        assert wire.events() == [("NodeDeleted", "/dw")]  # exactly one notification
    finally:
        watcher.stop()
        watcher.close()


def test_watch_arrives_before_reply_other_client(zk, server):
    from kazoo.client import KazooClient

    watcher = KazooClient(hosts=server.hosts, timeout=10.0)
    wire = WireLog(watcher)
    watcher.start()
    try:
        zk.create("/o", b"0")
        watcher.get("/o", watch=lambda e: None)
        zk.set("/o", b"1")
        # the reply to this read shows the change, so the event must be in already
        data, _ = watcher.get("/o")
        assert data == b"1"
        assert ("NodeDataChanged", "/o") in wire.events()
    finally:
        watcher.stop()
        watcher.close()


def test_watch_arrives_before_reply_same_client(server):
    from kazoo.client import KazooClient

    c = KazooClient(hosts=server.hosts, timeout=10.0)
    wire = WireLog(c)
    c.start()
    try:
        c.create("/s", b"0")
        c.exists("/s", watch=lambda e: None)
        wire.entries.clear()
        c.set("/s", b"1")
        kinds = [e[0] for e in wire.entries]
        assert kinds[:2] == ["event", "reply"], wire.entries
        assert wire.entries[0][1:] == ("NodeDataChanged", "/s")
    finally:
        c.stop()
        c.close()


def test_multiple_watchers_same_node(zk, server, kazoo_factory):
    a = kazoo_factory(server)
    b = kazoo_factory(server)
    zk.create("/mw")
    ra, rb = Recorder(), Recorder()
    a.get("/mw", watch=ra)
    b.exists("/mw", watch=rb)
    zk.set("/mw", b"z")
    assert ra.wait(1) == [(EventType.CHANGED, "/mw")]
    assert rb.wait(1) == [(EventType.CHANGED, "/mw")]


# -- sessions ----------------------------------------------------------------------------------
def test_session_ids_carry_server_id_1_in_the_top_byte(server, kazoo_factory):
    """A standalone server puts server id 1 in the top byte of its session
    ids (ZooKeeperServer's createSessionTrackerServerId), and numbers a
    server's sessions one after the other."""
    a = kazoo_factory(server)
    b = kazoo_factory(server)
    ids = [a.client_id[0], b.client_id[0]]
    assert [i >> 56 for i in ids] == [1, 1], [hex(i) for i in ids]
    assert ids[1] == ids[0] + 1, [hex(i) for i in ids]


def test_close_session_deletes_ephemerals_and_fires_watches(zk, server, kazoo_factory):
    owner = kazoo_factory(server)
    owner.create("/ce", ephemeral=True)
    owner.create("/ces-", ephemeral=True, sequence=True)
    rec, child_rec = Recorder(), Recorder()
    assert zk.exists("/ce", watch=rec) is not None
    zk.get_children("/", watch=child_rec)
    owner.stop()  # sends closeSession
    rec.wait(1)
    child_rec.wait(1)
    assert rec.events == [(EventType.DELETED, "/ce")]
    assert child_rec.events == [(EventType.CHILD, "/")]
    assert zk.exists("/ce") is None
    assert [c for c in zk.get_children("/") if c.startswith("ces-")] == []


def test_session_takeover_then_close(zk, server, kazoo_factory):
    """Client B reuses A's session id/password and closes it: A's ephemerals go.

    A is a raw connection (it does not reconnect by itself, unlike kazoo,
    whose reconnects would fight B's connection for the session)."""
    a = rawzk.RawConnection.connect(server.address, session_timeout_ms=10000)
    assert a.create("/owned", b"", flags=1).err == 0
    rec = Recorder()
    assert zk.exists("/owned", watch=rec).ephemeralOwner == a.session_id
    b = kazoo_factory(server, client_id=(a.session_id, a.passwd))
    assert b.client_id[0] == a.session_id
    assert b.exists("/owned").ephemeralOwner == a.session_id
    # Apache ZooKeeper closes the session's previous connection
    assert a.is_closed(wait=5)
    b.stop()  # closeSession for the shared session
    assert rec.wait(1) == [(EventType.DELETED, "/owned")]
    assert zk.exists("/owned") is None
    with pytest.raises(rawzk.ProtocolError):
        rawzk.RawConnection.connect(server.address, session_id=a.session_id, passwd=a.passwd)
    a.close()


def test_kazoo_reattach_to_closed_session_gets_new_one(server, kazoo_factory):
    """Reconnecting with a closed session: the server refuses it (timeout 0 in
    the ConnectResponse) and kazoo opens a new session."""
    a = rawzk.RawConnection.connect(server.address)
    sid, passwd = a.session_id, a.passwd
    a.close_session()
    a.close()
    from kazoo.client import KazooClient

    c = KazooClient(hosts=server.hosts, timeout=10.0, client_id=(sid, passwd))
    try:
        c.start(timeout=15)
        assert c.client_id[0] != sid
        c.create("/after-lost", ephemeral=True)
        assert c.exists("/after-lost").ephemeralOwner == c.client_id[0]
    finally:
        c.stop()
        c.close()


def test_session_expires_without_heartbeats(zk, server):
    """A raw session that never pings expires after its negotiated timeout."""
    conn = rawzk.RawConnection.connect(server.address, session_timeout_ms=1000)
    assert 1000 <= conn.timeout_ms <= 2000
    r = conn.create("/vanish", b"", flags=1)  # EPHEMERAL
    assert r.err == 0
    rec = Recorder()
    assert zk.exists("/vanish", watch=rec) is not None
    assert zk.exists("/vanish").ephemeralOwner == conn.session_id
    t0 = time.monotonic()
    rec.wait(1, timeout=15)
    elapsed = time.monotonic() - t0
    assert rec.events == [(EventType.DELETED, "/vanish")]
    assert elapsed < 10
    assert conn.is_closed(wait=5)
    conn.close()
    # the session is gone: reconnecting with it is refused
    with pytest.raises(rawzk.ProtocolError):
        rawzk.RawConnection.connect(server.address, session_id=conn.session_id, passwd=conn.passwd)


def test_negotiated_timeout_clamped(server):
    lo = rawzk.RawConnection.connect(server.address, session_timeout_ms=10)
    hi = rawzk.RawConnection.connect(server.address, session_timeout_ms=10_000_000)
    try:
        assert lo.timeout_ms == 1000  # minSessionTimeout
        assert hi.timeout_ms == 30000  # maxSessionTimeout
    finally:
        lo.close_session()
        hi.close_session()
        lo.close()
        hi.close()


def test_reconnect_same_session_keeps_ephemerals(zk, server, kazoo_factory):
    conn = rawzk.RawConnection.connect(server.address, session_timeout_ms=10000)
    assert conn.create("/keep", b"k", flags=1).err == 0
    sid, passwd = conn.session_id, conn.passwd
    conn.close()  # drop the TCP connection, not the session
    again = kazoo_factory(server, client_id=(sid, passwd))
    assert again.client_id[0] == sid
    st = again.exists("/keep")
    assert st is not None and st.ephemeralOwner == sid
    again.create("/keep2", ephemeral=True)
    again.stop()
    wait_for(lambda: zk.exists("/keep") is None and zk.exists("/keep2") is None, what="ephemerals removed")


def test_reconnect_wrong_password_refused(server):
    conn = rawzk.RawConnection.connect(server.address)
    assert conn.create("/mine", b"", flags=1).err == 0
    sid, passwd = conn.session_id, conn.passwd
    bad = bytes(b ^ 0xFF for b in passwd)
    with pytest.raises(rawzk.ProtocolError):
        rawzk.RawConnection.connect(server.address, session_id=sid, passwd=bad)
    # Apache ZooKeeper may drop the session's current connection on such an
    # attempt, but the session itself lives on: the right password gets it back.
    conn.close()
    again = rawzk.RawConnection.connect(server.address, session_id=sid, passwd=passwd)
    try:
        assert again.session_id == sid
        r = again.exists("/mine")
        assert r.err == 0 and rawzk.Reader(r.body).stat()["ephemeralOwner"] == sid
    finally:
        again.close_session()
        again.close()


def test_kazoo_reconnects_after_connection_drop(zk):
    """kazoo's own test hook drops the socket; the client reconnects with its session."""
    from kazoo.protocol.connection import _CONNECTION_DROP

    zk.create("/survive", ephemeral=True)
    sid = zk.client_id[0]
    states = []
    zk.add_listener(states.append)
    zk._call(_CONNECTION_DROP, None)
    wait_for(lambda: KazooState.SUSPENDED in states, what="SUSPENDED")
    wait_for(lambda: states and states[-1] == KazooState.CONNECTED, what="reconnect")
    assert zk.client_id[0] == sid
    assert zk.exists("/survive").ephemeralOwner == sid


# -- ops kazoo has no API for (raw) -------------------------------------------------------------
def test_get_ephemerals_and_all_children_number(zk, server):
    conn = rawzk.RawConnection.connect(server.address)
    try:
        for p in ("/ge", "/ge/a", "/gx"):
            assert conn.create(p, b"", flags=1 if p != "/ge" else 0).err == 0
        r = conn.call(rawzk.OP["getEphemerals"], rawzk.enc_string("/ge"))
        assert r.err == 0
        assert sorted(rawzk.Reader(r.body).strings()) == ["/ge/a"]
        r = conn.call(rawzk.OP["getEphemerals"], rawzk.enc_string("/"))
        assert sorted(rawzk.Reader(r.body).strings()) == ["/ge/a", "/gx"]
        zk.create("/ge/b/c", makepath=True)
        r = conn.call(rawzk.OP["getAllChildrenNumber"], rawzk.enc_string("/ge"))
        assert r.err == 0 and rawzk.Reader(r.body).int() == 3
    finally:
        conn.close_session()
        conn.close()


def test_unknown_opcode_unimplemented(server):
    conn = rawzk.RawConnection.connect(server.address)
    try:
        r = conn.call(999, b"")
        assert r.err == -6  # UNIMPLEMENTED
    finally:
        conn.close()


# -- data set up by kazoo's raw protocol records -------------------------------------------------
def test_unnormalised_reads_and_writes(zk):
    zk.create("/r", b"1")
    data, stat = unnormalised_call(zk, GetData("/r", None))
    assert data == b"1"
    st = unnormalised_call(zk, SetData("/r", b"2", 0))
    assert st.version == 1


# -- recipes (real-world usage) -------------------------------------------------------------------
def test_recipe_lock(server, kazoo_factory):
    a = kazoo_factory(server)
    b = kazoo_factory(server)
    la = a.Lock("/lock", "a")
    lb = b.Lock("/lock", "b")
    assert la.acquire(timeout=5)
    assert not lb.acquire(blocking=False)
    got = []
    t = threading.Thread(target=lambda: got.append(lb.acquire(timeout=10)))
    t.start()
    time.sleep(0.3)
    la.release()
    t.join(15)
    assert got == [True]
    lb.release()


def test_recipe_counter_and_queue(zk, server, kazoo_factory):
    other = kazoo_factory(server)
    c1, c2 = zk.Counter("/counter"), other.Counter("/counter")
    for _ in range(5):
        c1 += 1
        c2 += 2
    assert c1.value == 15
    q = zk.Queue("/queue")
    for item in (b"one", b"two", b"three"):
        q.put(item)
    q2 = other.Queue("/queue")
    assert [q2.get(), q2.get(), q2.get()] == [b"one", b"two", b"three"]


def test_recipe_data_watch_and_children_watch(zk, server, kazoo_factory):
    other = kazoo_factory(server)
    zk.create("/dwr", b"a")
    seen, kids = [], []
    zk.DataWatch("/dwr")(lambda data, stat: seen.append(data))
    zk.ChildrenWatch("/dwr")(lambda children: kids.append(sorted(children)))
    other.set("/dwr", b"b")
    other.create("/dwr/k")
    wait_for(lambda: seen[-1:] == [b"b"] and kids[-1:] == [["k"]], what="recipe watches")
