"""Four-letter words against ferrokeeper and Apache ZooKeeper.

Both servers get the same traffic (a session with a node, an ephemeral and a
data watch); each word's answer is reduced to what monitoring tools and
operators' scripts rely on (the keys, their order, the deterministic values)
and the two reductions must be equal. Each word is its own test id.
"""

from __future__ import annotations

import re
import struct

import pytest


def traffic(server, kazoo_factory):
    zk = kazoo_factory(server)
    zk.create("/a", b"xyz")
    zk.create("/e", b"", ephemeral=True)
    zk.get("/a", watch=lambda e: None)
    return zk


def kv(text: str, sep: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        if sep in line and not line.startswith((" ", "\t")):
            k, v = line.split(sep, 1)
            out.append((k.strip(), v.strip()))
    return out


SRVR_VALUES = ("Outstanding", "Zxid", "Mode", "Node count", "Connections")


def shape_srvr(text: str):
    pairs = [(k, v) for k, v in kv(text, ":") if k != "Clients"]
    keys = [k for k, _ in pairs]
    values = {k: v for k, v in pairs if k in SRVR_VALUES}
    counters = {k: int(v) > 0 for k, v in pairs if k in ("Received", "Sent")}
    return {"keys": keys, "values": values, "counters_positive": counters}


def shape_stat(text: str):
    clients = [line for line in text.splitlines() if line.startswith(" /")]
    return {**shape_srvr(text), "client_lines": len(clients)}


def shape_conf(text: str):
    return sorted(k for k, _ in kv(text, "="))


MNTR_CORE = (
    "zk_version", "zk_server_state", "zk_avg_latency", "zk_max_latency", "zk_min_latency",
    "zk_packets_received", "zk_packets_sent", "zk_num_alive_connections",
    "zk_outstanding_requests", "zk_znode_count", "zk_watch_count", "zk_ephemerals_count",
    "zk_approximate_data_size", "zk_open_file_descriptor_count", "zk_max_file_descriptor_count",
    "zk_uptime", "zk_global_sessions",
)
MNTR_EQUAL = (
    "zk_server_state", "zk_outstanding_requests", "zk_znode_count", "zk_watch_count",
    "zk_ephemerals_count", "zk_num_alive_connections", "zk_global_sessions",
)


def shape_mntr(text: str):
    pairs = dict(kv(text, "\t"))
    return {
        "core_keys_present": {k: k in pairs for k in MNTR_CORE},
        "values": {k: pairs.get(k) for k in MNTR_EQUAL},
    }


SID = re.compile(r"0x[0-9a-f]+")


def shape_cons(text: str):
    lines = [line for line in text.splitlines() if line.strip()]
    with_session = [line for line in lines if "sid=0x" in line]
    fields = sorted(set(re.findall(r"([a-z]+)=", with_session[0]))) if with_session else []
    return {"connections": len(lines), "sessions": len(with_session), "fields": fields}


def shape_sessions(text: str):
    return SID.sub("<sid>", text).strip()


def shape_dump(text: str):
    keep = []
    for line in text.splitlines():
        if re.match(r"^(SessionTracker dump:|ephemeral nodes dump:|Sessions with Ephemerals)", line) or line == "\t/e":
            keep.append(line)
    return keep


def shape_dirs(text: str):
    return [k for k, _ in kv(text, ":")]


def shape_envi(text: str):
    keys = dict(kv(text, "="))
    return {
        "first_line": text.splitlines()[0] if text else "",
        "keys": {k: k in keys for k in ("zookeeper.version", "host.name", "os.name", "os.arch", "user.name", "user.dir")},
    }


WORDS = {
    "ruok": lambda t: t,
    "isro": lambda t: t,
    "srvr": shape_srvr,
    "stat": shape_stat,
    "conf": shape_conf,
    "mntr": shape_mntr,
    "cons": shape_cons,
    "wchs": lambda t: t.strip(),
    "wchc": shape_sessions,
    "wchp": shape_sessions,
    "dump": shape_dump,
    "dirs": shape_dirs,
    "envi": shape_envi,
    "xyzw": lambda t: t,  # not a command: the connection is just closed
}


@pytest.mark.parametrize("word", list(WORDS))
def test_four_letter_word(word, oracle_and_candidate, kazoo_factory):
    zk_server, cand = oracle_and_candidate
    traffic(zk_server, kazoo_factory)
    traffic(cand, kazoo_factory)
    raw_oracle = zk_server.four_letter(word).decode(errors="replace")
    raw_cand = cand.four_letter(word).decode(errors="replace")
    want, got = WORDS[word](raw_oracle), WORDS[word](raw_cand)
    assert got == want, (
        f"{word}: {cand.kind} differs from Apache ZooKeeper\n"
        f"--- zookeeper raw ---\n{raw_oracle}\n--- {cand.kind} raw ---\n{raw_cand}"
    )


def test_hash_lists_the_tree_digest_every_0x80_zxids(oracle_and_candidate, kazoo_factory):
    """`hash` (DigestCommand): a "<hex zxid>: <digest>" line for every zxid
    that is a multiple of 0x80. Both servers get the same txns, so the zxids
    line up; the digests differ, as they cover each node's ctime and mtime."""
    histories = []
    for srv in oracle_and_candidate:
        zk = kazoo_factory(srv)  # createSession is zxid 1
        for i in range(300):
            zk.create(f"/h{i}", b"x")
        raw = srv.four_letter("hash").decode(errors="replace")
        lines = raw.splitlines()
        assert lines and all(re.fullmatch(r"[0-9a-f]+: -?[0-9]+", line) for line in lines), raw
        histories.append([line.split(":")[0] for line in lines])
    assert histories[0] == ["80", "100"], histories[0]
    assert histories[1] == histories[0]


def test_stmk_sets_the_trace_mask_gtmk_reports(oracle_and_candidate):
    """`stmk` takes the new mask as a big-endian long sent with the word and
    answers it in decimal; `gtmk` answers the mask last set (306 at start).
    With fewer than 8 bytes after the word ZooKeeper closes the connection
    without an answer and the mask stays."""
    steps = [
        ("gtmk", b""),
        ("stmk", struct.pack(">q", 0x1FF)),
        ("gtmk", b""),
        ("stmk", struct.pack(">q", -1) + b"xyz"),  # bytes past the long are ignored
        ("gtmk", b""),
        ("stmk", b"\x00\x00\x01"),
        ("stmk", b""),
        ("gtmk", b""),
    ]
    transcripts = [[srv.four_letter(word, arg) for word, arg in steps] for srv in oracle_and_candidate]
    oracle, cand = transcripts
    assert oracle == [b"306", b"511", b"511", b"-1", b"-1", b"", b"", b"-1"]
    assert cand == oracle


def test_four_letter_whitelist(server_factory, request):
    from conftest import candidate_kind

    servers = [
        server_factory(kind, **{"4lw.commands.whitelist": "ruok, srvr"})
        for kind in ("zookeeper", candidate_kind(request.config))
    ]
    answers = [
        {w: s.four_letter(w).decode(errors="replace").strip() for w in ("ruok", "srvr", "stat", "mntr")}
        for s in servers
    ]
    oracle, cand = answers
    assert oracle["ruok"] == "imok"
    assert oracle["stat"] == "stat is not executed because it is not in the whitelist."
    assert cand["ruok"] == oracle["ruok"]
    assert cand["stat"] == oracle["stat"]
    assert cand["mntr"] == oracle["mntr"]
    assert cand["srvr"].splitlines()[0].startswith("Zookeeper version:")
