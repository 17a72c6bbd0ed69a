"""The AdminServer (HTTP commands) against ferrokeeper and Apache ZooKeeper.

Both servers run with `admin.enableServer=true` on free loopback ports and
get the same traffic (nodes, an ephemeral, data and exists watches, enough
writes for a tree digest entry). Each command is fetched from both, in the
same order, and the answers are compared: the JSON's keys in order and the
types of their values everywhere, the values that do not depend on the
server's identity, clock or JVM exactly, and the raw text of the answers
whose values are all deterministic (the layout monitoring scripts grep).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

import harness
import kazoo_util
from conftest import candidate_kind

COMMANDS = [
    "configuration", "connection_stat_reset", "connections", "dirs", "dump",
    "environment", "get_trace_mask", "hash", "initial_configuration", "is_read_only",
    "last_snapshot", "leader", "monitor", "observer_connection_stat_reset", "observers",
    "ruok", "server_stats", "set_trace_mask", "stat_reset", "stats", "system_properties",
    "voting_view", "watch_summary", "watches", "watches_by_path", "zabstate",
]

ALIASES = {
    "conf": "configuration", "config": "configuration", "crst": "connection_stat_reset",
    "cons": "connections", "env": "environment", "envi": "environment", "gtmk": "get_trace_mask",
    "icfg": "initial_configuration", "isro": "is_read_only", "lsnp": "last_snapshot",
    "lead": "leader", "mntr": "monitor", "orst": "observer_connection_stat_reset",
    "obsr": "observers", "srvr": "server_stats", "stmk": "set_trace_mask", "srst": "stat_reset",
    "stat": "stats", "sysp": "system_properties", "wchs": "watch_summary", "wchc": "watches",
    "wchp": "watches_by_path",
}


def admin_config(port: int) -> dict:
    return {
        "admin.enableServer": "true",
        "admin.serverAddress": "127.0.0.1",
        "admin.serverPort": str(port),
    }


class Admin:
    """A running server and its AdminServer's base URL."""

    def __init__(self, server: harness.Server, port: int):
        self.server = server
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, method: str = "GET"):
        """(status, headers (case-insensitive), body)."""
        req = urllib.request.Request(self.base + path, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode(errors="replace")

    def command(self, name: str, query: str = "") -> tuple[dict, str]:
        status, headers, body = self.get(f"/commands/{name}{query}")
        assert status == 200, f"{self.server.kind} {name}: HTTP {status}\n{body}"
        assert headers.get("Content-Type", "").startswith("application/json"), headers
        return json.loads(body), body


def traffic(server: harness.Server):
    from kazoo.client import KazooClient

    clients = [KazooClient(hosts=server.hosts, timeout=10.0) for _ in range(2)]
    for c in clients:
        c.start(timeout=15)
    zk, other = clients
    zk.create("/a", b"x")
    zk.create("/a/b", b"y")
    zk.create("/e", b"", ephemeral=True)
    # 130 writes so far and more: the tree digest is logged every 128 zxids.
    for i in range(130):
        zk.set("/a/b", str(i).encode())
    zk.get("/a", watch=lambda e: None)
    zk.get_children("/a", watch=lambda e: None)
    other.exists("/missing", watch=lambda e: None)
    return clients


@pytest.fixture(scope="module")
def pair(request, tmp_path_factory):
    """(ZooKeeper, candidate) with their AdminServers, after the same traffic."""
    kinds = ("zookeeper", candidate_kind(request.config))
    servers, admins, clients = [], [], []
    try:
        for i, kind in enumerate(kinds):
            port = harness.free_port()
            srv = harness.Server(kind, tmp_path_factory.mktemp(f"admin-{i}-{kind}"), admin_config(port))
            servers.append(srv)
            srv.start()
            clients += traffic(srv)
            admins.append(Admin(srv, port))
        yield tuple(admins)
    finally:
        kazoo_util.stop_all(clients)
        for srv in servers:
            srv.stop()


def shape(v, name: str = ""):
    """The JSON's structure: keys in order, value types, list lengths.

    Keys that are data (session ids, expiry times, paths) stand as "*".
    `server_stats` is Jackson's rendering of a Java bean, whose property
    order changes from one JVM run to the next: its keys are sorted.
    """
    if isinstance(v, dict):
        items = [("*" if k.isdigit() or k.startswith("/") else k, shape(x, k)) for k, x in v.items()]
        return sorted(items) if name == "server_stats" else items
    if isinstance(v, list):
        return [shape(x) for x in v]
    return type(v).__name__


JVM_ONLY = ("java.", "os.memory.", "jdk.", "sun.", "file.encoding", "native.encoding",
            "stdout.encoding", "stderr.encoding")


def without_jvm(d: dict) -> list[str]:
    return [k for k in d if not k.startswith(JVM_ONLY)]


def by_command(name, zk: dict, cand: dict, zk_raw: str, cand_raw: str, servers):
    """Asserts what must agree for one command."""
    if name == "environment":
        # The JVM's entries have no counterpart; the rest come in ZooKeeper's order.
        assert without_jvm(cand) == without_jvm(zk)
        for k in ("zookeeper.version", "os.name", "os.arch", "os.version", "user.name", "user.dir"):
            assert isinstance(cand[k], str) and cand[k], k
        assert cand["os.name"] == zk["os.name"] and cand["os.arch"] == zk["os.arch"]
        return
    if name == "system_properties":
        keys = [k for k in cand if k not in ("command", "error")]
        assert keys == sorted(keys)
        assert set(keys) <= set(zk), set(keys) - set(zk)
        for k in keys:
            if k.startswith(("os.", "file.separator", "line.separator", "path.separator")):
                assert cand[k] == zk[k], k
        return
    if name == "monitor":
        # ZooKeeper lists every metric of its registry; ferrokeeper's are a
        # subset, in ZooKeeper's order, with the same value types.
        keys = list(cand)
        assert set(keys) <= set(zk), set(keys) - set(zk)
        in_zk_order = [k for k in zk if k in cand]
        gauges = keys[: keys.index("non_mtls_local_conn_count") + 1]
        assert [k for k in in_zk_order if k in gauges] == gauges
        for k in keys:
            assert type(cand[k]) is type(zk[k]), (k, cand[k], zk[k])
        for k in ("server_state", "znode_count", "ephemerals_count", "global_sessions",
                  "num_alive_connections", "outstanding_requests", "watch_count",
                  "last_client_response_size", "min_client_response_size",
                  "max_client_response_size", "connection_drop_probability"):
            assert cand[k] == zk[k], k
        return
    if name == "dump":
        # How many expiry buckets the sessions fall into depends on timing
        # (and ZooKeeper keeps emptied ones): compared by what they hold, below.
        assert list(cand) == list(zk)
        assert shape(cand["session_id_to_ephemeral_paths"]) == shape(zk["session_id_to_ephemeral_paths"])
    else:
        assert shape(cand) == shape(zk)
    if name in ("connections", "stats"):
        for z, c in zip(zk["connections"], cand["connections"]):
            keys = ["interest_ops", "outstanding_requests", "session_timeout", "last_zxid"]
            # A client's ping (after a few idle seconds) changes its last operation.
            if "PING" not in (z.get("last_operation"), c.get("last_operation")):
                keys += ["last_operation", "last_cxid"]
            for k in keys:
                if k in z:
                    assert c[k] == z[k], k
    if name == "connections":
        pass
    elif name in ("stats", "server_stats"):
        for k in ("node_count", "client_response"):
            assert cand[k] == zk[k], k
        for k in ("last_processed_zxid", "outstanding_requests", "num_alive_client_connections",
                  "server_state", "client_response_stats", "fsync_threshold_exceed_count"):
            assert cand["server_stats"][k] == zk["server_stats"][k], k
    elif name == "configuration":
        for k in ("tick_time", "max_client_cnxns", "min_session_timeout", "max_session_timeout",
                  "server_id", "client_port_listen_backlog"):
            assert cand[k] == zk[k], k
        for srv, answer in zip(servers, (zk, cand)):
            assert answer["client_port"] == srv.server.port
            assert answer["data_dir"] == str(srv.server.data_dir / "version-2")
    elif name == "dump":
        assert list(cand["session_id_to_ephemeral_paths"].values()) == [["/e"]]
        assert list(zk["session_id_to_ephemeral_paths"].values()) == [["/e"]]
        sessions = lambda d: sum(d["expiry_time_to_session_ids"].values(), [])
        assert len(sessions(cand)) == len(sessions(zk)) == 2
        assert all(isinstance(sid, int) for sid in sessions(cand))
    elif name == "watches":
        paths = lambda d: sorted(p for v in d["session_id_to_watched_paths"].values() for p in v)
        assert paths(cand) == paths(zk) == ["/a", "/missing"]
    elif name == "watches_by_path":
        assert sorted(cand["path_to_session_ids"]) == sorted(zk["path_to_session_ids"])
    elif name == "hash":
        # The digests themselves cover the ephemeral's owner, a session id
        # each server picks (test_four_letter.py compares digests of equal trees).
        entries = lambda d: [(e["zxid"], e["digest_version"]) for e in d["digests"]]
        assert entries(cand) == entries(zk) and zk["digests"]
    elif name == "last_snapshot":
        assert cand["zxid"] == zk["zxid"]
    elif name == "initial_configuration":
        for srv, answer in zip(servers, (zk, cand)):
            assert answer["initial_configuration"] == srv.server.cfg_path.read_text()
    elif name == "dirs":
        assert cand["datadir_size"] > 0 and cand["logdir_size"] > 0
    else:
        # Nothing in the answer depends on the server: the same text.
        assert cand_raw == zk_raw


@pytest.mark.parametrize("name", COMMANDS)
def test_admin_command(name, pair):
    oracle, cand = pair
    zk, zk_raw = oracle.command(name)
    got, raw = cand.command(name)
    try:
        by_command(name, zk, got, zk_raw, raw, pair)
    except AssertionError as e:
        raise AssertionError(
            f"{name}: {cand.server.kind} differs from Apache ZooKeeper: {e}\n"
            f"--- zookeeper ---\n{zk_raw}\n--- {cand.server.kind} ---\n{raw}"
        ) from None


@pytest.mark.parametrize("alias", list(ALIASES))
def test_admin_alias(alias, pair):
    for admin in pair:
        answer, _ = admin.command(alias)
        assert answer["command"] == ALIASES[alias], admin.server.kind


@pytest.mark.parametrize(
    "path",
    ["/commands/nosuch", "/commands/ruok/extra", "/commands/set_trace_mask",
     "/commands/set_trace_mask?traceMask=abc", "/commands/set_trace_mask?traceMask=511",
     "/commands/get_trace_mask", "/commands/set_trace_mask?traceMask=306"],
)
def test_admin_arguments_and_errors(path, pair):
    oracle, cand = pair
    want = oracle.get(path)
    got = cand.get(path)
    assert (got[0], got[2]) == (want[0], want[2])


def test_admin_command_list_and_bad_requests(pair):
    oracle, cand = pair
    for path in ("/commands", "/commands/"):
        want, got = oracle.get(path), cand.get(path)
        assert got[0] == want[0] == 200
        assert got[2] == want[2]
        assert got[2].count("<a href=") == len(COMMANDS)
    assert cand.get("/commands/ruok", method="POST")[0] == oracle.get("/commands/ruok", method="POST")[0] == 405
    assert cand.get("/")[0] == oracle.get("/")[0] == 404


@pytest.mark.parametrize("kind", ["zookeeper", "candidate"])
def test_admin_port_in_use_stops_start_up(kind, server_factory, request):
    """ZooKeeper exits when its AdminServer cannot bind; so does ferrokeeper."""
    kind = candidate_kind(request.config) if kind == "candidate" else kind
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(harness.ServerError, match="exited with code") as failed:
            server_factory(kind, **admin_config(port))
    assert "AdminServer" in str(failed.value)


def test_admin_malformed_request_leaves_the_server_up(pair):
    """Garbage on the admin port gets 400 and closes that connection only."""
    for admin in pair:
        port = int(admin.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"\x00\xff not http \r\n\r\n" * 50)
            assert s.recv(64).startswith(b"HTTP/1.1 400"), admin.server.kind
        assert admin.command("ruok")[0]["error"] is None
        assert admin.server.alive()
