"""zkCli.sh (Apache ZooKeeper's Java command-line client) against ferrokeeper
and against Apache ZooKeeper: the same scripted session is fed on stdin to
both, and the normalised outputs must be equal.

Normalisation drops log noise, times and session ids; zxids become their
rank among the zxids printed in the session; watch notifications (printed
by another thread, at any point) are compared as a sorted list.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess

import pytest

import harness
from conftest import candidate_kind

SCRIPTS = {
    "crud": """
create /a hello
get /a
get -s /a
set /a world
get /a
set -s /a again
stat /a
create /a/b child
create /a/c
ls /a
ls -s /a
ls -R /a
getAllChildrenNumber /a
delete /a/c
ls /a
deleteall /a
ls /
stat /a
""",
    "node_kinds": """
create /k
create -s /k/seq- one
create -s /k/seq- two
create -e /k/eph e
create -e -s /k/eseq- es
create -c /k/container
create -t 1000 /k/ttl
ls -s /k
stat /k/eph
getEphemerals /k
getEphemerals /
create /k/eph/child
delete /k/seq-0000000000
create -s /k/seq- three
ls /k
""",
    "errors_and_versions": """
get /nonexistent
stat /nonexistent
ls /nonexistent
set /nonexistent x
delete /nonexistent
create /missing/child
create /v 0
create /v again
set -v 3 /v bad
set -v 0 /v good
set -s -v 1 /v better
delete -v 0 /v
create /v/kid
delete /v
delete -v 2 /v/kid
delete /v/kid
delete -v 2 /v
stat /v
""",
    "acl_and_misc": """
create /acl data
getAcl /acl
getAcl -s /acl
setAcl /acl world:anyone:cdrwa
setAcl -v 0 /acl world:anyone:rw
setAcl -s -v 1 /acl world:anyone:cdrwa
getAcl /acl
create /ro data world:anyone:r
set /ro nope
getAcl /ro
setAcl /acl digest:user:tBNPe1AqUDDq6PE7w/DVHtZzwyM=:cdrwa
getAcl /acl
sync /acl
whoami
get -w /acl
create /w
get -w /w
set /w changed
stat -w /w
delete /w
ls -w /
create /w2
""",
    "quota": """
create /app
create /app/a 12345
setquota -n 3 /app
listquota /app
get /zookeeper/quota/app/zookeeper_stats
create /app/b 1234567890
create /app/c
create /app/d xx
listquota /app
set /app/a 1
delete /app/c
listquota /app
get -s /zookeeper/quota/app/zookeeper_stats
setquota -b 100 /app/a
create /other
setquota -B 10 /other
listquota /other
delquota -n /app
listquota /app
delquota /app
listquota /app
ls /zookeeper/quota
""",
}


def run_zkcli(server: harness.Server, script: str, timeout: float = 90.0) -> str:
    env = dict(os.environ)
    env["JVMFLAGS"] = "-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
    env["CLIENT_JVMFLAGS"] = "-Dzookeeper.jute.maxbuffer=4194304"
    proc = subprocess.run(
        [str(harness.ZK_CLI), "-waitforconnection", "-server", server.hosts],
        input=script.strip() + "\nquit\n",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env=env,
    )
    return proc.stdout


NOISE = re.compile(
    r"^(SLF4J: |Connecting to |ZooKeeper CLI version|JLine support|Welcome to ZooKeeper|log4j:)"
)
ZXID_LINE = re.compile(r"^(cZxid|mZxid|pZxid) = (0x[0-9a-f]+)$")
TIME_LINE = re.compile(r"^(ctime|mtime) = .*$")
OWNER_LINE = re.compile(r"^ephemeralOwner = (0x[0-9a-f]+)$")


def normalise(output: str) -> tuple[list[str], list[str]]:
    # Watch notifications are printed by the event thread ("WATCHER::", "",
    # "WatchedEvent ...") and may interleave with command output: take the
    # WatchedEvent lines out wherever they are and drop the markers.
    body, watches = [], []
    for line in output.splitlines():
        line = line.rstrip()
        if line.startswith("WatchedEvent "):
            # the Closed event races the JVM's exit after "quit"
            if "state:Closed" not in line:
                watches.append(line)
        elif line == "WATCHER::" or line == "" or NOISE.match(line):
            continue
        else:
            body.append(line)
    zxids = sorted({int(m.group(2), 16) for m in map(ZXID_LINE.match, body) if m})
    rank = {z: f"z{n}" for n, z in enumerate(zxids)}
    out = []
    for line in body:
        m = ZXID_LINE.match(line)
        if m:
            z = int(m.group(2), 16)
            line = f"{m.group(1)} = {rank[z] if z else '0x0'}"
        elif TIME_LINE.match(line):
            line = TIME_LINE.sub(r"\1 = <time>", line)
        elif line.startswith("[") and line.endswith("]"):
            # getEphemerals prints a server-side hash set: order is not part of the contract
            items = [x.strip() for x in line[1:-1].split(",") if x.strip()]
            line = "[" + ", ".join(sorted(items)) + "]"
        else:
            m = OWNER_LINE.match(line)
            if m:
                line = "ephemeralOwner = " + ("0x0" if int(m.group(1), 16) == 0 else "<session>")
        out.append(line)
    return out, sorted(watches)


# what the oracle's output must contain, so an equal failure on both sides
# (e.g. no connection at all) cannot pass
EXPECT = {
    "crud": ["Created /a", "hello", "world", "[b, c]", "numChildren = 2"],
    "node_kinds": ["Created /k/seq-0000000000", "Created /k/eseq-0000000003"],
    "errors_and_versions": ["Node does not exist: /nonexistent", "Node not empty: /v"],
    "acl_and_misc": ["'world,'anyone", "Sync is OK"],
    # the server counts what is under /app: itself and its children, their bytes
    "quota": ["Output stat for /app count=2,bytes=5", "Output stat for /app count=5,bytes=17",
              "Output stat for /app count=4,bytes=13", "quota for /app does not exist."],
    "enforced_quota": ["Quota has exceeded : /app/c", "Quota has exceeded : /bytes/y",
                       "Created /soft/y", "Output stat for /bytes count=4,bytes=10"],
}


# Sessions run on servers with extra zoo.cfg settings: (settings, script).
CONFIGURED = {
    # hard limits refuse (soft ones only log); the client names the node it wrote
    "enforced_quota": ({"enforceQuota": "true"}, """
create /app
setquota -N 3 /app
create /app/a
create /app/b
create /app/c
listquota /app
create /soft
setquota -n 1 /soft
create /soft/x
create /soft/y
create /bytes
setquota -B 10 /bytes
create /bytes/x 12345
set /bytes/x 1234567890
set /bytes/x 123456789
create /bytes/y 1
set /bytes/y 12
create /bytes/z
listquota /bytes
"""),
}


@pytest.mark.parametrize("name", list(CONFIGURED))
def test_zkcli_configured_session(name, server_factory, request):
    settings, script = CONFIGURED[name]
    compare_sessions(name, script, server_factory("zookeeper", **settings),
                     server_factory(candidate_kind(request.config), **settings))


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_zkcli_session(name, oracle_and_candidate):
    compare_sessions(name, SCRIPTS[name], *oracle_and_candidate)


def compare_sessions(name: str, script: str, zk_server, cand) -> None:
    """The same zkCli session on both servers: normalised outputs equal."""
    raw_oracle = run_zkcli(zk_server, script)
    raw_cand = run_zkcli(cand, script)
    oracle, oracle_watches = normalise(raw_oracle)
    got, got_watches = normalise(raw_cand)
    for needle in EXPECT[name]:
        assert any(needle in line for line in oracle), f"oracle output lacks {needle!r}:\n{raw_oracle}"
    if (oracle, oracle_watches) != (got, got_watches):
        diff = "\n".join(
            difflib.unified_diff(
                oracle + ["-- watches --"] + oracle_watches,
                got + ["-- watches --"] + got_watches,
                "zookeeper",
                cand.kind,
                lineterm="",
            )
        )
        pytest.fail(f"zkCli output differs ({name}):\n{diff}\n\nraw {cand.kind} output:\n{raw_cand}", pytrace=False)
