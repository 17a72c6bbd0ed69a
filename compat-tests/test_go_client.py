"""The Go client (Debian's golang-github-samuel-go-zookeeper-dev) against the server.

go/scenarios.go drives the client's CRUD calls and their errors, sequential
and protected ephemeral sequential nodes, data, exists and child watches,
ephemerals and their owner's close, multi (success and rollback), digest
ACLs and auth, the client's lock recipe and its four-letter-word parsers,
and prints one line per observation, with no times, zxids or session ids.
It is built once per run with Debian's Go in GOPATH mode (no module
downloads).

Each selected server must produce exactly EXPECTED (the transcript of Apache
ZooKeeper 3.8.0), and ferrokeeper's transcript must equal ZooKeeper's.
Nothing is skipped: without Go or the client's sources the tests fail and
say what to install (`make apt-deps` installs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import harness
import transcripts
from conftest import candidate_kind

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "go" / "scenarios.go"
GOPATH = Path("/usr/share/gocode")
CLIENT = GOPATH / "src" / "github.com" / "samuel" / "go-zookeeper" / "zk"
RUN_TIMEOUT = 80  # the program's own watchdog ends it after 50 s

# Transcripts of this run, by server kind, for the comparison test.
TRANSCRIPTS: dict[str, list[str]] = {}

EXPECTED = """\
session: state StateHasSession, session id set true
crud: create /go -> /go ok
crud: create /go/a -> /go/a ok
crud: get /go/a "v0" version=0 cversion=0 aversion=0 dataLength=2 numChildren=0 owner=none ok
crud: set version 0 -> version=1 cversion=0 aversion=0 dataLength=2 numChildren=0 owner=none ok
crud: set stale version -> zk: version conflict
crud: create existing -> zk: node already exists
crud: create without parent -> zk: node does not exist
crud: create /go/a/b -> ok
crud: delete non-empty -> zk: node has children
crud: delete wrong version -> zk: version conflict
crud: get missing -> zk: node does not exist
crud: exists missing -> false ok
crud: exists /go/a -> true version=1 cversion=1 aversion=0 dataLength=2 numChildren=1 owner=none ok
crud: create relative path -> zk: invalid path
crud: sync -> /go ok
sequential: create -> /go/seq/n-0000000000 ok
sequential: create -> /go/seq/n-0000000001 ok
sequential: create -> /go/seq/n-0000000002 ok
sequential: delete n-0000000001 -> ok
sequential: create after delete -> /go/seq/n-0000000003 ok
sequential: children [n-0000000000 n-0000000002 n-0000000003] version=0 cversion=5 aversion=0 dataLength=0 numChildren=3 owner=none ok
sequential: protected ephemeral sequential: _c_<guid>-lock-<10 digits> true, sequence 0000000004 ok
watches: getW -> ok
watches: data watch: EventNodeDataChanged /go/a
watches: existsW missing -> ok
watches: exists watch: EventNodeCreated /go/w
watches: childrenW -> ok
watches: child watch: EventNodeChildrenChanged /go/w
watches: delete watch: EventNodeDeleted /go/w/k
ephemeral: create -> /go/eph/node ok
ephemeral: stat version=0 cversion=0 aversion=0 dataLength=1 numChildren=0 owner=session
ephemeral: child of ephemeral -> zk: ephemeral nodes may not have children
ephemeral: owner closed: EventNodeDeleted /go/eph/node | EventNodeChildrenChanged /go/eph
ephemeral: children after close [] ok
multi: ok -> ok
multi:   op 0: "/go/m" ok
multi:   op 1: " version=1 cversion=0 aversion=0 dataLength=1 numChildren=0 owner=none" ok
multi:   op 2: "" ok
multi:   op 3: "/go/m/c" ok
multi:   op 4: "" ok
multi: failing check -> zk: version conflict
multi:   op 0: ok
multi:   op 1: zk: version conflict
multi:   op 2: zk: unknown error
multi: after rollback "2" version=1 cversion=2 aversion=0 dataLength=1 numChildren=0 owner=none
acl: default [{31 world anyone}] version=0 cversion=5 aversion=0 dataLength=0 numChildren=5 owner=none ok
acl: addAuth -> ok
acl: create digest-only -> /go/private ok
acl: acl [{31 digest alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=}] ok
acl: stranger get -> zk: not authenticated
acl: stranger set -> zk: not authenticated
acl: setACL read-only -> version=0 cversion=0 aversion=1 dataLength=1 numChildren=0 owner=none ok
acl: stranger get now "s" ok
acl: setACL without ADMIN -> zk: not authenticated
acl: setACL stale version -> zk: version conflict
lock: first lock -> ok
lock: second waits while first holds it
lock: first unlock -> ok
lock: second lock -> ok
lock: second unlock -> ok
lock: left behind []
flw: ruok [true]
flw: cons not parsed
-: done
""".splitlines()


@pytest.fixture(scope="session")
def go_scenarios(tmp_path_factory) -> Path:
    """Builds go/scenarios.go; returns the binary."""
    go = shutil.which("go") or "/usr/lib/go/bin/go"
    if not Path(go).exists():
        pytest.fail("Go client test: go not found; install golang-go (`make apt-deps` does)", pytrace=False)
    if not CLIENT.is_dir():
        pytest.fail(
            f"Go client test: {CLIENT} missing; install golang-github-samuel-go-zookeeper-dev "
            "(`make apt-deps` does)",
            pytrace=False,
        )
    out = tmp_path_factory.mktemp("go")
    env = dict(os.environ, GO111MODULE="off", GOPATH=str(GOPATH), GOCACHE=str(out / "cache"))
    binary = out / "scenarios"
    proc = subprocess.run(
        [go, "build", "-o", str(binary), str(SOURCE)], capture_output=True, text=True, env=env, timeout=300
    )
    if proc.returncode != 0:
        pytest.fail(f"go build {SOURCE.name} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}", pytrace=False)
    return binary


def run_scenarios(binary: Path, server: harness.Server) -> tuple[list[str], str]:
    """(transcript lines, what went wrong or ""): runs every scenario once."""
    try:
        proc = subprocess.run([str(binary), server.hosts], capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return out.splitlines(), f"timed out after {RUN_TIMEOUT} s"
    problem = ""
    if proc.returncode != 0:
        problem = f"exited with {proc.returncode}; stderr:\n{proc.stderr[-4000:]}"
    return proc.stdout.splitlines(), problem


def test_go_client_scenarios(server, go_scenarios):
    """Every scenario's transcript is exactly the expected one."""
    got, problem = run_scenarios(go_scenarios, server)
    TRANSCRIPTS[server.kind] = got
    transcripts.assert_expected("Go client", server.kind, got, EXPECTED, problem)


def test_go_client_ferrokeeper_matches_zookeeper(request, go_scenarios, server_factory):
    """ferrokeeper's transcript equals Apache ZooKeeper's (reuses this run's
    transcripts; runs a server only for a kind not run yet)."""
    cand = candidate_kind(request.config)
    for kind in ("zookeeper", cand):
        if kind not in TRANSCRIPTS:
            TRANSCRIPTS[kind], _ = run_scenarios(go_scenarios, server_factory(kind))
    transcripts.assert_matches_oracle("Go client", TRANSCRIPTS["zookeeper"], TRANSCRIPTS[cand], cand)
