"""Apache Curator (Debian's libcurator-*-java, 5.4) against the server.

java/CuratorScenarios.java (with RecipeScenarios.java and
ScenarioSupport.java) drives Curator's framework and recipes (container
parents, versions and errors, ACLs and digest auth, namespaces, one-shot,
persistent and recursive watches, InterProcessMutex, read/write lock,
LeaderLatch, LeaderSelector, SharedCount, DistributedAtomicLong,
CuratorCache and TreeCache, transactions, barriers, queues, ephemerals) and
prints one line per observation, with no times, zxids or session ids. It is
compiled once per run with javac against Debian's jars.

Each selected server must produce exactly EXPECTED (the transcript of Apache
ZooKeeper 3.8.0, checked line by line, so a behaviour both servers got wrong
still fails), and ferrokeeper's transcript must equal ZooKeeper's.

Nothing here is skipped: without javac or the Curator jars the tests fail
and say what to install (`make apt-deps` installs them).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import harness
import transcripts
from conftest import candidate_kind

HERE = Path(__file__).resolve().parent
SOURCES = sorted((HERE / "java").glob("*.java"))
JAVA_DIR = Path("/usr/share/java")

# Debian package for each jar. The jars' manifests name the rest of their
# dependencies (zookeeper.jar: netty, jackson, ...).
JARS = {
    "curator-recipes.jar": "libcurator-recipes-java",
    "curator-framework.jar": "libcurator-framework-java",
    "curator-client.jar": "libcurator-client-java",
    "zookeeper.jar": "libzookeeper-java",
    "zookeeper-jute.jar": "libzookeeper-java",
    "guava.jar": "libguava-java",
    "slf4j-api.jar": "libslf4j-java",
    # the logging binding: client warnings go to stderr, shown on failure
    "slf4j-simple.jar": "libslf4j-java",
}
RUN_TIMEOUT = 80  # the program's own watchdog ends it after 50 s

# Transcripts of this run, by server kind, for the comparison test.
TRANSCRIPTS: dict[str, list[str]] = {}

EXPECTED = """\
crud: create /crud/a/b/c
crud: stat /crud version=0 cversion=1 aversion=0 dataLength=0 numChildren=1 owner=none
crud: stat /crud/a version=0 cversion=1 aversion=0 dataLength=0 numChildren=1 owner=none
crud: stat /crud/a/b version=0 cversion=1 aversion=0 dataLength=0 numChildren=1 owner=none
crud: stat /crud/a/b/c version=0 cversion=0 aversion=0 dataLength=2 numChildren=0 owner=none
crud: getData "v0" version=0 cversion=0 aversion=0 dataLength=2 numChildren=0 owner=none
crud: setData version 0 -> version=1 cversion=0 aversion=0 dataLength=2 numChildren=0 owner=none
crud: setData any version -> version=2 cversion=0 aversion=0 dataLength=3 numChildren=0 owner=none
crud: setData stale version -> BADVERSION path=/crud/a/b/c
crud: create existing -> NODEEXISTS path=/crud/a/b/c
crud: create without parent -> NONODE path=/crud/missing/x
crud: delete non-empty -> NOTEMPTY path=/crud/a
crud: delete wrong version -> BADVERSION path=/crud/a/b/c
crud: getData missing -> NONODE path=/crud/nothing
crud: setData missing -> NONODE path=/crud/nothing
crud: checkExists missing -> absent
crud: orSetData existing -> /crud/a/b/c
crud: getData "v3" version=3 cversion=0 aversion=0 dataLength=2 numChildren=0 owner=none
crud: orSetData new -> /crud/a/b/d
crud: sequential /crud/seq/n-0000000000
crud: sequential /crud/seq/n-0000000001
crud: sequential /crud/seq/n-0000000002
crud: sequential after delete /crud/seq/n-0000000003
crud: children /crud/seq [n-0000000000, n-0000000002, n-0000000003]
crud: stat /crud/seq version=0 cversion=5 aversion=0 dataLength=0 numChildren=3 owner=none
crud: acl default [world:anyone perms=31]
crud: acl read-only [world:anyone perms=17]
crud: setData read-only -> NOAUTH
crud: setACL -> version=0 cversion=0 aversion=1 dataLength=2 numChildren=0 owner=none
crud: setData after setACL -> version=1 cversion=0 aversion=1 dataLength=2 numChildren=0 owner=none
crud: acl creator [digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E= perms=31]
crud: alice getData "s"
crud: anonymous getData -> NOAUTH
crud: namespace create -> /x
crud: namespace getData "in ns"
crud: namespace real path "in ns"
crud: namespace node version=0 cversion=1 aversion=0 dataLength=0 numChildren=1 owner=none
crud: deletingChildrenIfNeeded /crud/a -> absent
crud: guaranteed delete /crud/ro -> absent
crud: sync SYNC rc=0 path=/crud
crud: children / [crud, ns, zookeeper]
crud: children /crud [secret, seq]
watches: exists watch on missing -> absent
watches: one-shot NodeCreated /w
watches: one-shot NodeDataChanged /w
watches: one-shot after it fired none
watches: one-shot NodeChildrenChanged /w
watches: persistent NodeDataChanged /w | recursive NodeDataChanged /w
watches: persistent NodeDataChanged /w | recursive NodeDataChanged /w
watches: persistent NodeChildrenChanged /w | recursive NodeCreated /w/k2
watches: persistent none | recursive NodeDataChanged /w/k2
watches: persistent none | recursive NodeCreated /w/k2/deep
watches: persistent none | recursive NodeDeleted /w/k2/deep
watches: recursive after deleteall NodeDeleted /w after [NodeDeleted /w/k, NodeDeleted /w/k2]
watches: persistent after deleteall [NodeChildrenChanged /w, NodeChildrenChanged /w, NodeDeleted /w]
watches: after deleteall none | none
watches: persistent survives delete NodeCreated /w | recursive NodeCreated /w
watches: removed persistent watch: watcher sees PersistentWatchRemoved /w
watches: after remove persistent none | recursive NodeDataChanged /w
watches: remove again -> NOWATCHER
mixed_watch_modes: recursive only: NodeCreated /m/a
mixed_watch_modes: after getData watch, create /m/b: recursive none
mixed_watch_modes: setData /m/a: recursive none
mixed_watch_modes: setData /m: data watch NodeDataChanged /m | recursive NodeDataChanged /m
mixed_watch_modes: setData /m again: data watch none | recursive none
mutex: c1 acquire true
mutex: c1 acquire again (reentrant) true
mutex: c2 acquire(200ms) false
mutex: two lock nodes true
mutex: lock nodes [_c_*-lock-0000000000, _c_*-lock-0000000002]
mutex: c2 waiting []
mutex: c1 released once, still holds true
mutex: c2 waiting []
mutex: order [c1 releasing, c2 acquired true, c2 lock nodes [_c_*-lock-0000000002], c2 released]
mutex: lock nodes after []
rwlock: c1 read true
rwlock: c2 read true
rwlock: lock nodes [_c_*-__READ__0000000000, _c_*-__READ__0000000001]
rwlock: writer waiting true
rwlock: lock nodes [_c_*-__READ__0000000000, _c_*-__WRIT__0000000002]
rwlock: c1 write while reading (100ms) false
rwlock: c2 waiting []
rwlock: order [c1 read releasing, c2 write acquired true]
leader_latch: p1 await true
leader_latch: p1 listener isLeader
leader_latch: two participants true
leader_latch: participants [p1*, p2]
leader_latch: latch nodes [_c_*-latch-0000000000, _c_*-latch-0000000001]
leader_latch: leader p1 p1 has true p2 has false
leader_latch: p2 await(200ms) false listener none
leader_latch: p1 closed, listener notLeader, state CLOSED
leader_latch: p2 await true listener isLeader
leader_latch: participants [p2*]
leader_latch: leader p2
leader_latch: p2 closed, listener notLeader
leader_selector: s1 led true
leader_selector: two participants true
leader_selector: participants [s1*, s2] leader s1
leader_selector: so far [s1 leads]
leader_selector: s2 led true
leader_selector: order [s1 leads, s1 gives up, s2 leads]
shared_count: initial 0 0
shared_count: c1 trySet 5 true
shared_count: c2 stale trySet 7 false
shared_count: c2 sees 5 true
shared_count: stored 25 version=21 cversion=0 aversion=0 dataLength=4 numChildren=0 owner=none
shared_count: both see 25 true
atomic_long: get missing ok pre=0 post=0
atomic_long: initialize 7 true
atomic_long: initialize again false
atomic_long: increment ok pre=7 post=8
atomic_long: compareAndSet(8, 10) ok pre=8 post=10
atomic_long: compareAndSet(8, 20) failed pre=10 post=0
atomic_long: add 5 ok pre=10 post=15
atomic_long: subtract 3 ok pre=15 post=12
atomic_long: concurrent increments failed 0, value ok pre=52 post=52
cache: CuratorCache NODE_CREATED null -> /cache="root" v0 c0 n0
cache: CuratorCache initialized
cache: TreeCache NODE_ADDED /cache="root" v0 c0 n0
cache: TreeCache INITIALIZED null
cache: create /cache/a: CuratorCache NODE_CREATED null -> /cache/a="1" v0 c0 n0 | TreeCache NODE_ADDED /cache/a="1" v0 c0 n0
cache: set /cache/a: CuratorCache NODE_CHANGED /cache/a="1" -> /cache/a="2" v1 c0 n0 | TreeCache NODE_UPDATED /cache/a="2" v1 c0 n0
cache: create /cache/a/b: CuratorCache NODE_CREATED null -> /cache/a/b="x" v0 c0 n0 | TreeCache NODE_ADDED /cache/a/b="x" v0 c0 n0
cache: set /cache/a/b: CuratorCache NODE_CHANGED /cache/a/b="x" -> /cache/a/b="y" v1 c0 n0 | TreeCache NODE_UPDATED /cache/a/b="y" v1 c0 n0
cache: set /cache: CuratorCache NODE_CHANGED /cache="root" -> /cache="root2" v1 c1 n1 | TreeCache NODE_UPDATED /cache="root2" v1 c1 n1
cache: delete /cache/a/b: CuratorCache NODE_DELETED /cache/a/b="y" -> null | TreeCache NODE_REMOVED /cache/a/b="y"
cache: delete /cache/a: CuratorCache NODE_DELETED /cache/a="2" -> null | TreeCache NODE_REMOVED /cache/a="2"
cache: no more events: CuratorCache none | TreeCache none
cache: CuratorCache size 1 root /cache="root2" v1 c1 n1
cache: TreeCache current children []
transaction: committed CREATE /tx/a -> /tx/a stat null error 0
transaction: committed CREATE /tx/seq- -> /tx/seq-0000000001 stat null error 0
transaction: committed CREATE /tx/e -> /tx/e stat null error 0
transaction: committed SET_DATA /tx -> null stat version=1 error 0
transaction: committed CHECK /tx -> null stat null error 0
transaction: committed SET_DATA /tx/a -> null stat version=1 error 0
transaction: committed DELETE /tx/a -> null stat null error 0
transaction: after commit children [e, seq-0000000001] /tx version=1 cversion=4 aversion=0 dataLength=5 numChildren=2 owner=none
transaction: /tx/e version=0 cversion=0 aversion=0 dataLength=1 numChildren=0 owner=own
transaction: bad version -> BADVERSION path=null results [error OK, error BADVERSION, error RUNTIMEINCONSISTENCY]
transaction: check missing node -> NONODE path=null results [error OK, error NONODE]
transaction: create existing -> NODEEXISTS path=null results [error OK, error NODEEXISTS]
transaction: delete non-empty -> NOTEMPTY path=null results [error NOTEMPTY]
transaction: child of ephemeral -> NOCHILDRENFOREPHEMERALS path=null results [error NOCHILDRENFOREPHEMERALS]
transaction: after failures /tx "base2" version=1 cversion=4 aversion=0 dataLength=5 numChildren=2 owner=none
transaction: after failures children [e, seq-0000000001]
barrier: wait with no barrier true
barrier: wait(200ms) while set false
barrier: c2 waiting []
barrier: order [c1 removing, c2 passed true]
double_barrier: m1 alone []
double_barrier: m2 enter true
double_barrier: m2 leave true
double_barrier: m1 [m1 entered true, m1 left true]
simple_queue: poll empty null
simple_queue: offer a true
simple_queue: offer b true
simple_queue: offer c true
simple_queue: items [qn-0000000000, qn-0000000001, qn-0000000002]
simple_queue: peek "a"
simple_queue: poll "a"
simple_queue: poll "b"
simple_queue: poll "c"
simple_queue: poll(200ms) null
simple_queue: taker waiting []
simple_queue: order [offer d, took "d"]
distributed_queue: items [queue-0000000000, queue-0000000001, queue-0000000002]
distributed_queue: consumed [x, y, z]
distributed_queue: consumed w
distributed_queue: nothing more none
distributed_queue: items left true
ephemeral: create /eph/node
ephemeral: create /eph/seq-0000000001
ephemeral: stat seen by owner version=0 cversion=0 aversion=0 dataLength=1 numChildren=0 owner=own
ephemeral: stat seen by other version=0 cversion=0 aversion=0 dataLength=1 numChildren=0 owner=other
ephemeral: child of ephemeral -> NOCHILDRENFOREPHEMERALS
ephemeral: children [node, seq-0000000001]
ephemeral: owner closed: exists watch NodeDeleted /eph/node | child watch NodeChildrenChanged /eph
ephemeral: after close absent children []
-: done
""".splitlines()


def find_javac() -> str | None:
    found = shutil.which("javac")
    if found:
        return found
    for cand in ("/usr/lib/jvm/default-java/bin/javac",):
        if Path(cand).exists():
            return cand
    return None


@pytest.fixture(scope="session")
def curator_classpath(tmp_path_factory) -> str:
    """Compiles java/*.java; returns the classpath to run CuratorScenarios."""
    missing = [
        f"{JAVA_DIR / jar} (Debian package {pkg})" for jar, pkg in JARS.items() if not (JAVA_DIR / jar).exists()
    ]
    if missing:
        pytest.fail(
            "Curator test: missing jars:\n  " + "\n  ".join(missing) + "\nrun `make apt-deps` (make test does)",
            pytrace=False,
        )
    javac = find_javac()
    if javac is None:
        pytest.fail(
            "Curator test: javac not found; install default-jdk-headless (`make apt-deps` does)",
            pytrace=False,
        )
    jars = [str(JAVA_DIR / jar) for jar in JARS]
    classes = tmp_path_factory.mktemp("curator-classes")
    proc = subprocess.run(
        [javac, "--release", "11", "-encoding", "UTF-8", "-nowarn", "-d", str(classes), "-cp", ":".join(jars)]
        + [str(p) for p in SOURCES],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        names = " ".join(p.name for p in SOURCES)
        pytest.fail(f"javac {names} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}", pytrace=False)
    return ":".join([str(classes), *jars])


def run_scenarios(classpath: str, server: harness.Server) -> tuple[list[str], str]:
    """(transcript lines, what went wrong or ""): runs every scenario once."""
    cmd = [
        harness.JAVA,
        "-Xmx128m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp",
        classpath,
        "CuratorScenarios",
        server.hosts,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return out.splitlines(), f"timed out after {RUN_TIMEOUT} s; stderr:\n{tail(err)}"
    problem = ""
    if proc.returncode != 0:
        problem = f"exited with {proc.returncode}; stderr:\n{tail(proc.stderr)}"
    elif any(" ERROR " in f" {line} " for line in proc.stdout.splitlines()):
        problem = f"a scenario threw; stderr:\n{tail(proc.stderr)}"
    return proc.stdout.splitlines(), problem


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def transcript_of(kind: str, classpath: str, server_factory) -> list[str]:
    if kind not in TRANSCRIPTS:
        TRANSCRIPTS[kind], _ = run_scenarios(classpath, server_factory(kind))
    return TRANSCRIPTS[kind]


def test_curator_scenarios(server, curator_classpath):
    """Every scenario's transcript is exactly the expected one."""
    got, problem = run_scenarios(curator_classpath, server)
    TRANSCRIPTS[server.kind] = got
    transcripts.assert_expected("Curator", server.kind, got, EXPECTED, problem)


def test_curator_ferrokeeper_matches_zookeeper(request, curator_classpath, server_factory):
    """ferrokeeper's transcript equals Apache ZooKeeper's (reuses this run's
    transcripts; runs a server only for a kind not run yet)."""
    cand = candidate_kind(request.config)
    oracle = transcript_of("zookeeper", curator_classpath, server_factory)
    got = transcript_of(cand, curator_classpath, server_factory)
    transcripts.assert_matches_oracle("Curator", oracle, got, cand)
