"""zk-shell (the kazoo-based ZooKeeper shell from PyPI, pinned in
requirements.txt) against Apache ZooKeeper and against ferrokeeper.

One scripted zk-shell session (`--run-from-stdin`) runs on each server; an
`echo @@<n>` line before every command splits the output per command. Each
command's normalised output must be the same on both servers, and where the
script gives one, equal to an explicit expectation (so both servers being
wrong the same way still fails). A second zk-shell process then checks what
the first session left behind (its ephemerals are gone once it closed), and
two `--run-once` calls check zk-shell's exit codes.

Normalisation: times become <time>/<date>, zxids become their offset from
the smallest non-zero zxid printed in that session (z+N, so a write that
consumes a zxid on one server only still shows), session ids become
<session1>, <session2>... in order of appearance (identity only: a
standalone Apache ZooKeeper 3.8 puts server id 1 in a session id's top byte,
0x01..., ferrokeeper has 0 there, and this test does not look at it), the
server's and the client's ports become <server>/<client>, copy timings
become <secs>.
Apache ZooKeeper returns children in its own hash-set order (unspecified by
the API) and ferrokeeper in sorted order; zk-shell prints some commands'
results in that order (tree, find, grep, child_count, recursive get_acls,
...), so those are compared order-insensitively (MODE below).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import harness

ZK_SHELL_VERSION = "1.3.4"

# limit for one zk-shell process; the whole test takes a few seconds
RUN_TIMEOUT = 60.0


def zk_shell_cmd() -> list[str]:
    """The installed zk-shell script, run by this venv's interpreter."""
    script = Path(sys.executable).parent / "zk-shell"
    if not script.exists():
        found = shutil.which("zk-shell")
        if found is None:
            pytest.fail("zk-shell is not installed: run `make venv` (compat-tests/requirements.txt)")
        script = Path(found)
    return [sys.executable, str(script)]


def run_zk_shell(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        zk_shell_cmd() + args,
        input=stdin if stdin is not None else "",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=RUN_TIMEOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


# -- the script ------------------------------------------------------------
# MODE: how a command's output lines are compared
#   exact  - as printed
#   lines  - as a sorted list (output order follows the server's child order)
#   tree   - `tree` output, siblings sorted
#   blocks - "<header>:" lines each followed by their body, blocks sorted
@dataclass
class Step:
    cmd: str
    expect: list[str] | None = None  # normalised (and, per mode, sorted) lines
    mode: str = "exact"


def stat(czxid, mzxid, *, version=0, cversion=0, aversion=0, owner="0x0", length=0,
         children=0, pzxid=None, ctime="<time>", mtime="<time>") -> list[str]:
    return [
        "Stat(",
        f"  czxid={czxid}",
        f"  mzxid={mzxid}",
        f"  ctime={ctime}",
        f"  mtime={mtime}",
        f"  version={version}",
        f"  cversion={cversion}",
        f"  aversion={aversion}",
        f"  ephemeralOwner={owner}",
        f"  dataLength={length}",
        f"  numChildren={children}",
        f"  pzxid={czxid if pzxid is None else pzxid}",
        ")",
    ]


def missing(path: str) -> list[str]:
    return [f"Path {path} doesn't exist"]


WORLD_ALL = "['WORLD_ALL']"
WORLD_READ = "['WORLD_READ']"
RW = "[ACL(perms=3, acl_list=['READ', 'WRITE'], id=Id(scheme='world', id='anyone'))]"
BOB = "[ACL(perms=31, acl_list=['ALL'], id=Id(scheme='digest', id='bob:fyVmFCwVbTJYrznoSu1koqYEYF0='))]"
SUMMARY_HEADER = "Created  Last modified  Owner  Name"
COPIED = ["Copying took <secs>"]

# Phase 1: one zk-shell session. zxid offsets (z+N) count from the creation
# of /zks; a failed write still takes a zxid on Apache ZooKeeper (its error
# txn), and kazoo's makepath create first fails with NoNode, then creates
# each missing ancestor.
#   z+0 /zks   z+1 /zks/a   z+2 /zks/b   z+3 NoNode (makepath)   z+4 /zks/deep
#   z+5 /zks/deep/er   z+6 /zks/deep/er/path   z+7 /zks/eph   z+8, z+9 seq-
#   z+10 eseq-   z+11 /zks/sdir   z+12, z+13 sdir/ sequentials
#   z+14 NoNode (/nope/child)   z+15 NoChildrenForEphemerals   z+16 NotEmpty
#   z+17 BadVersion   z+18, z+19 set /zks/a   z+20 BadVersion   ...
#   z+54 the committed multi, z+55 and z+56 the failed ones, z+57 /w ...
PHASE1 = [
    # create: plain, recursive (makepath), ephemeral, sequential, both,
    # and a sequential with no prefix (trailing slash)
    Step("create /zks ''", []),
    Step("stat /zks", stat("z+0", "z+0")),
    Step("create /zks/a 'hello world'", []),
    Step("create /zks/b bye", []),
    Step("create /zks/deep/er/path leaf false false true", []),
    Step("create /zks/eph e true", []),
    Step("create /zks/seq- s1 false true", []),
    Step("create /zks/seq- s2 false true", []),
    Step("create /zks/eseq- es true true", []),
    Step("create /zks/sdir ''", []),
    Step("create /zks/sdir/ x false true", []),
    Step("create /zks/sdir/ y false true", []),
    Step("ls /zks/sdir", ["0000000000", "0000000001"]),
    # errors
    Step("create /zks/a dup", ["Path /zks/a already exists"]),
    Step("create /nope/child x", ["Missing path in /nope/child (try recursive?)"]),
    Step("create /zks/eph/child x", ["Unknown ZooKeeper error:"]),  # NoChildrenForEphemerals
    Step("get /missing", missing("/missing")),
    Step("set /missing x", missing("/missing")),
    Step("rm /missing", missing("/missing")),
    Step("ls /missing", missing("/missing")),
    Step("stat /missing", missing("/missing")),
    Step("rm /zks/deep", ["/zks/deep is not empty."]),
    Step("set /zks/a bad 5", ["Bad version."]),
    # reads
    Step("get /zks/a", ["hello world"]),
    Step("get /zks", [""]),
    Step("ls /zks", ["a", "b", "deep", "eph", "eseq-0000000006", "sdir",
                     "seq-0000000004", "seq-0000000005"]),
    Step("ls /zks false ,", ["a,b,deep,eph,eseq-0000000006,sdir,seq-0000000004,seq-0000000005"]),
    Step("tree /zks", [".", "├── a", "├── b", "├── deep", "│   ├── er", "│   │   ├── path",
                       "├── eph", "├── eseq-0000000006", "├── sdir", "│   ├── 0000000000",
                       "│   ├── 0000000001", "├── seq-0000000004", "├── seq-0000000005"], "tree"),
    Step("tree /zks 1", [".", "├── a", "├── b", "├── deep", "├── eph", "├── eseq-0000000006",
                         "├── sdir", "├── seq-0000000004", "├── seq-0000000005"], "tree"),
    Step("child_count /zks", ["/zks/a: 0", "/zks/b: 0", "/zks/deep: 2", "/zks/eph: 0",
                              "/zks/eseq-0000000006: 0", "/zks/sdir: 2",
                              "/zks/seq-0000000004: 0", "/zks/seq-0000000005: 0"], "lines"),
    Step("child_count /zks/deep 0", ["/zks/deep/er: 1", "/zks/deep/er/path: 0"], "lines"),
    Step("du /zks", ["27"]),  # 11+3+4+1+2+2+2+1+1 bytes
    Step("find /zks seq", ["/zks/eseq-0000000006", "/zks/seq-0000000004",
                           "/zks/seq-0000000005"], "lines"),
    Step("ifind /zks ER", ["/zks/deep/er", "/zks/deep/er/path"], "lines"),
    Step("grep /zks e", ["/zks/a", "/zks/b", "/zks/deep/er/path", "/zks/eph",
                         "/zks/eseq-0000000006"], "lines"),
    Step("grep /zks s true", ["/zks/eseq-0000000006:", "es", "/zks/seq-0000000004:", "s1",
                              "/zks/seq-0000000005:", "s2"], "blocks"),
    Step("igrep /zks HELLO true", ["/zks/a:", "hello world"], "blocks"),
    Step("child_matches /zks seq", ["/zks"]),
    Step("child_matches /zks seq true", ["/zks", "/zks/deep", "/zks/deep/er", "/zks/sdir"], "lines"),
    Step("exists /zks/a", stat("z+1", "z+1", length=11)),
    Step("stat /zks/eph", stat("z+7", "z+7", owner="<session1>", length=1)),
    Step("summary /zks", [SUMMARY_HEADER] + [
        f"<date>  <date>  {owner}  {name}" for owner, name in [
            ("0x0", "a"), ("0x0", "b"), ("0x0", "deep"), ("<session1>", "eph"),
            ("<session1>", "eseq-0000000006"), ("0x0", "sdir"),
            ("0x0", "seq-0000000004"), ("0x0", "seq-0000000005")]]),
    # writes
    Step("set /zks/a v2", []),
    Step("set /zks/a v3 1", []),
    Step("set /zks/a bad 0", ["Bad version."]),
    Step("get /zks/a", ["v3"]),
    Step("exists /zks/a", stat("z+1", "z+19", version=2, length=2)),
    Step("zero /zks/b", []),
    Step("get /zks/b", ["None"]),
    Step("fill /zks/b ab 3", []),
    Step("get /zks/b", ["ababab"]),
    # ACLs and auth
    Step("get_acls /zks/a", [f"/zks/a: {WORLD_ALL}"]),
    Step("set_acls /zks/a 'world:anyone:r'", []),
    Step("get_acls /zks/a", [f"/zks/a: {WORLD_READ}"]),
    Step("set /zks/a ro", ["Not authenticated."]),
    Step("set_acls /zks/deep/er/path 'world:anyone:rw'", []),
    Step("get_acls /zks/deep 0", [f"/zks/deep: {WORLD_ALL}", f"/zks/deep/er: {WORLD_ALL}",
                                  f"/zks/deep/er/path: {RW}"], "lines"),
    Step("set_acls /zks/sdir 'world:anyone:cdrwa world:anyone:r' true", []),
    Step("get_acls /zks/sdir 0", [
        f"{path}: ['WORLD_ALL', 'WORLD_READ']"
        for path in ("/zks/sdir", "/zks/sdir/0000000000", "/zks/sdir/0000000001")], "lines"),
    Step("set_acls /zks/a bogus", ["Failed to set ACLs: Bad ACL: bogus. Format is scheme:id:perms."]),
    Step("create /auth secret", []),
    Step("set_acls /auth 'username_password:bob:secret:cdrwa'", []),
    Step("get /auth", ["Not authenticated."]),
    Step("get_acls /auth", ["Not authenticated."]),  # getACL needs READ or ADMIN (3.6+)
    Step("add_auth digest bob:secret", []),
    Step("get /auth", ["secret"]),
    Step("get_acls /auth", [f"/auth: {BOB}"]),
    Step("session_info auth_info", ["auth_info=[('digest', 'bob:secret')]"]),
    # copies: zk to zk (subtree, overwrite, single node), diff, mirror,
    # zk to a JSON file and back
    Step("cp /zks/deep /copy true", COPIED),
    Step("tree /copy", [".", "├── er", "│   ├── path"], "tree"),
    Step("get /copy/er/path", ["leaf"]),
    Step("get_acls /copy 0", [f"/copy: {WORLD_ALL}", f"/copy/er: {WORLD_ALL}",
                              f"/copy/er/path: {RW}"], "lines"),
    Step("cp /zks/deep /copy true", [
        "Copy failed; it may have partially completed. To return to a stable state, "
        "either fix the issue and re-run the command or manually revert.",
        "Failure reason:", "znode /copy in <server> exists"]),
    Step("cp /zks/deep /copy true true", COPIED),
    Step("cp /zks/a /single", COPIED),
    Step("get /single", ["v3"]),
    Step("diff /zks/deep /copy", ["Branches are equal."]),
    Step("create /copy/extra x", []),
    Step("set /copy/er other", []),
    Step("diff /zks/deep /copy", ["-+ er", "++ extra"], "lines"),
    Step("mirror /zks/deep /mirror false false true", ["Mirroring took <secs>"]),
    Step("tree /mirror", [".", "├── er", "│   ├── path"], "tree"),
    Step("cp /zks/deep json://{json}/ true true", COPIED),
    Step("cp json://{json}/ /restored true true", COPIED),
    Step("tree /restored", [".", "├── er", "│   ├── path"], "tree"),
    Step("get /restored/er/path", ["leaf"]),
    Step("get_acls /restored/er/path", [f"/restored/er/path: {RW}"]),
    # JSON
    Step("""create /j '{"a": 1, "b": {"c": [1, 2]}, "s": "x"}'""", []),
    Step("json_valid /j", ["yes."]),
    Step("json_valid /zks/a", ["no."]),
    Step("json_get /j b.c", ["[1, 2]"]),
    Step("json_set /j a 5 int", []),
    Step("json_set /j b.d hi str", []),
    Step("json_append /j b.c 3 int", []),
    Step("json_remove /j b.c 1 int", []),
    Step("json_get /j a", ["5"]),
    Step("json_cat /j", ["{", '    "a": 5,', '    "b": {', '        "c": [', "            2,",
                         "            3", "        ],", '        "d": "hi"', "    },",
                         '    "s": "x"', "}"]),
    Step("create /jj ''", []),
    Step("""create /jj/1 '{"k": "a", "n": 1}'""", []),
    Step("""create /jj/2 '{"k": "a", "n": 2}'""", []),
    Step("""create /jj/3 '{"k": "b", "n": 3}'""", []),
    Step("create /jj/4 'not json'", []),
    Step("json_count_values /jj k", ["a = 2", "b = 1"]),
    Step("json_dupes_for_keys /jj k", ["/jj/2"]),
    Step("json_valid /jj true", ["1: yes.", "2: yes.", "3: yes.", "4: no."], "lines"),
    Step("json_get /jj n true", ["1: 1", "2: 2", "3: 3", "Path /jj/4 has bad JSON."], "lines"),
    Step("json_set_many /jj/1 k c str n 9 int", []),
    Step("json_cat /jj true", ["1:", "{", '    "k": "c",', '    "n": 9', "}",
                               "2:", "{", '    "k": "a",', '    "n": 2', "}",
                               "3:", "{", '    "k": "b",', '    "n": 3', "}",
                               "4:", "not json"], "blocks"),
    # transactions (multi): a committed one, one failed by a check, one by a create
    Step("txn 'create /t1 a' 'create /t2 b' 'check /t1 0' 'set /t1 c'", []),
    Step("get /t1", ["c"]),
    # a multi is one txn: /t1 created and set at the same zxid; each failed
    # multi below still takes a zxid (z+55, z+56: see pzxid of / and last_zxid)
    Step("exists /t1", stat("z+54", "z+54", version=1, length=1)),
    Step("txn 'create /t3 x' 'check /t1 7'", []),
    Step("exists /t3", missing("/t3")),
    Step("txn 'rm /t2' 'create /t1 dup'", []),
    Step("get /t2", ["b"]),
    # watches (the notifications are compared separately, see WATCHES)
    Step("create /w ''", []),
    Step("ls /w true", [""]),
    Step("get /w true", [""]),
    Step("exists /w/new true", missing("/w/new")),
    # zk-shell prints a notification from kazoo's event thread, and prints a
    # line as two writes (text, newline): a pause after each write that
    # fires watches keeps them from landing inside the next command's output
    Step("create /w/new n", []),
    Step("sleep 0.2", []),
    Step("set /w changed", []),
    Step("sleep 0.2", []),
    Step("get /w/new true", ["n"]),
    Step("rm /w/new", []),
    Step("sleep 0.2", []),
    Step("get /zks/b true", ["ababab"]),  # stays pending
    Step("session_info watches", ["data_watches=/zks/b", "child_watches="]),
    # session, four-letter words through zk-shell
    Step("session_info", ["state=CONNECTED", "sessionid=<session1>",
                          "auth_info=[('digest', 'bob:secret')]", "protocol_version=0",
                          "xid=577", "last_zxid=z+60", "timeout=10000", "client=<client>",
                          "server=<server>", "data_watches=/zks/b", "child_watches="]),
    Step("mntr '' zk_server_state", ["zk_server_state\tstandalone"]),
    # 38 nodes; Apache ZooKeeper's count holds the root twice ("" and "/")
    Step("mntr '' zk_znode_count", ["zk_znode_count\t39"]),
    Step("mntr '' zk_ephemerals_count", ["zk_ephemerals_count\t2"]),
    Step("mntr '' zk_watch_count", ["zk_watch_count\t1"]),
    Step("mntr '' zk_approximate_data_size", ["zk_approximate_data_size\t532"]),
    Step("ephemeral_endpoint /zks/eph {hosts}", ["<session1> <client> <server>"]),
    Step("ephemeral_endpoint /zks/a {hosts}", ["/zks/a is not ephemeral."]),
    # working directory
    Step("cd /zks", []),
    Step("pwd", ["/zks"]),
    Step("get a", ["v3"]),
    Step("ls deep", ["er"]),
    Step("cd ..", []),
    Step("pwd", ["/"]),
    # the root and /zookeeper
    Step("get_acls /zookeeper 0", [f"/zookeeper: {WORLD_ALL}", f"/zookeeper/config: {WORLD_READ}",
                                   f"/zookeeper/quota: {WORLD_ALL}"], "lines"),
    Step("tree /zookeeper", [".", "├── config", "├── quota"], "tree"),
    Step("get /zookeeper/quota", [""]),
    # 11 children of the root created: a fresh Apache ZooKeeper's root has
    # cversion -1 (and /zookeeper -2), so this is 10
    Step("stat /", stat("0x0", "0x0", ctime="0", mtime="0", cversion=10, children=12,
                        pzxid="z+57")),
    Step("child_count /", ["/auth: 0", "/copy: 3", "/j: 0", "/jj: 4", "/mirror: 2",
                           "/restored: 2", "/single: 0", "/t1: 0", "/t2: 0", "/w: 0",
                           "/zks: 12", "/zookeeper: 2"], "lines"),
    Step("du /", ["167"]),
    # removal
    Step("rmr /zks/deep", []),
    Step("exists /zks/deep", missing("/zks/deep")),
    Step("rm /t1 /t2", []),
    Step("rmr /copy /single /mirror /restored /j /jj /w", []),
    Step("ls /", ["auth", "zks", "zookeeper"]),
    Step("stat /zks", stat("z+0", "z+0", cversion=9, children=7, pzxid="z+63")),
    Step("disconnect", []),  # closes the session: its ephemerals go
    Step("ls /", ["Not connected."]),
]

# watch notifications of phase 1, in any order
WATCHES = sorted([
    "WatchedEvent(type='CHILD', state='CONNECTED', path='/w')",
    "WatchedEvent(type='CHANGED', state='CONNECTED', path='/w')",
    "WatchedEvent(type='CREATED', state='CONNECTED', path='/w/new')",
    "WatchedEvent(type='DELETED', state='CONNECTED', path='/w/new')",
])

# Phase 2: a new session sees what the first one left
PHASE2 = [
    Step("ls /zks", ["a", "b", "sdir", "seq-0000000004", "seq-0000000005"]),
    Step("exists /zks/eph", missing("/zks/eph")),
    Step("get /zks/a", ["v3"]),
    Step("get /auth", ["Not authenticated."]),
    Step("add_auth bogus x", ["Authentication failed."]),  # unknown scheme: AUTH_FAILED
    Step("ls /", ["Authentication failed."]),
]


# -- normalisation ---------------------------------------------------------
MARKER = re.compile(r"^@@(\d+)$")
WATCH_EVENT = re.compile(r"WatchedEvent\(type='\w+', state='\w+', path='[^']*'\)")
ZXID = re.compile(r"\b(czxid|mzxid|pzxid|last_zxid)=0x([0-9a-f]+)\b")
MS_TIME = re.compile(r"^(  [cm]time=)(\d+)$")
CTIME_DATE = re.compile(r"\b[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\b")
SESSION_SOURCES = re.compile(r"(?:sessionid=|ephemeralOwner=)(0x[0-9a-f]+)\b")
SECS = re.compile(r"\b(Copying|Mirroring) took \d+\.\d+ secs\b")


def normalise(raw: str, server: harness.Server) -> tuple[dict[int, list[str]], list[str], list[str]]:
    """-> ({step index: lines}, watch events, lines before the first marker)."""
    # take the watch notifications out wherever they landed, each with one
    # newline (its own, or an equal one written after it)
    watches: list[str] = []
    while (m := WATCH_EVENT.search(raw)) is not None:
        watches.append(m.group(0))
        nl = raw.find("\n", m.end())
        rest = raw[m.end():] if nl < 0 else raw[m.end():nl] + raw[nl + 1:]
        raw = raw[: m.start()] + rest
    lines = [line.rstrip() for line in raw.splitlines()]
    zxids = [int(m.group(2), 16) for line in lines for m in ZXID.finditer(line)]
    base = min((z for z in zxids if z), default=0)
    sessions: dict[str, str] = {}
    for line in lines:
        for m in SESSION_SOURCES.finditer(line):
            if int(m.group(1), 16) and m.group(1) not in sessions:
                sessions[m.group(1)] = f"<session{len(sessions) + 1}>"
    # ephemeral_endpoint reads the session from `cons`, which we don't print
    # elsewhere: any other 0x id of session size is a session too
    session_re = re.compile(r"\b0x[0-9a-f]{13,16}\b(?![0-9a-f])")

    def zxid_sub(m: re.Match) -> str:
        z = int(m.group(2), 16)
        return f"{m.group(1)}={'0x0' if z == 0 else f'z+{z - base}'}"

    def port_sub(port: str) -> str:
        return "<server>" if int(port) == server.port else "<client>"

    def session_sub(m: re.Match) -> str:
        if m.group(0) not in sessions:
            sessions[m.group(0)] = f"<session{len(sessions) + 1}>"
        return sessions[m.group(0)]

    steps: dict[int, list[str]] = {}
    preamble: list[str] = []
    current: list[str] = preamble
    for line in lines:
        m = MARKER.match(line)
        if m:
            current = steps.setdefault(int(m.group(1)), [])
            continue
        line = ZXID.sub(zxid_sub, line)
        line = MS_TIME.sub(lambda m: m.group(1) + ("0" if m.group(2) == "0" else "<time>"), line)
        line = CTIME_DATE.sub("<date>", line)
        line = SECS.sub(r"\1 took <secs>", line)
        line = re.sub(r"127\.0\.0\.1:(\d+)", lambda m: port_sub(m.group(1)), line)
        line = re.sub(r"\('127\.0\.0\.1', (\d+)\)", lambda m: port_sub(m.group(1)), line)
        if not line.startswith("last_zxid="):
            line = session_re.sub(session_sub, line)
        if "<date>" in line or line.startswith("Created "):
            # summary pads its columns to the width of the values replaced above
            line = re.sub(r"(?<=\S) {2,}(?=\S)", "  ", line)
        current.append(line)
    return steps, sorted(watches), preamble


def canonical(lines: list[str], mode: str) -> list[str]:
    if mode == "exact":
        return lines
    if mode == "lines":
        return sorted(lines)
    if mode == "tree":
        # "." then "│   " * depth + "├── name": rebuild the paths, sort them
        head, paths, stack = lines[:1], [], []
        for line in lines[1:]:
            m = re.match(r"^((?:│   )*)├── (.*)$", line)
            if not m:
                return lines  # not a tree: compare as printed
            depth = len(m.group(1)) // 4
            stack[depth:] = [m.group(2)]
            paths.append(tuple(stack))
        return head + ["│   " * (len(p) - 1) + "├── " + p[-1] for p in sorted(paths)]
    if mode == "blocks":
        blocks: list[list[str]] = []
        for line in lines:
            if re.match(r"^[^\s{}\[\]\"].*:$", line) or not blocks:
                blocks.append([line])
            else:
                blocks[-1].append(line)
        return [line for block in sorted(blocks) for line in block]
    raise ValueError(mode)


def script_text(steps: list[Step], subst: dict[str, str]) -> str:
    out = []
    for i, step in enumerate(steps):
        out.append(f"echo @@{i}")
        cmd = step.cmd
        for key, value in subst.items():
            cmd = cmd.replace("{" + key + "}", value)
        out.append(cmd)
    return "\n".join(out) + "\n"


def run_script(server: harness.Server, steps: list[Step], subst: dict[str, str]):
    proc = run_zk_shell(["--run-from-stdin", server.hosts], script_text(steps, subst))
    steps_out, watches, preamble = normalise(proc.stdout, server)
    return proc, steps_out, watches, preamble


def compare(phase: str, steps: list[Step], oracle, cand, cand_kind: str) -> list[str]:
    """Problems found: per command, ZooKeeper vs candidate vs expectation."""
    problems = []
    for i, step in enumerate(steps):
        zk_out = canonical(oracle.get(i, ["<no output: marker missing>"]), step.mode)
        fk_out = canonical(cand.get(i, ["<no output: marker missing>"]), step.mode)
        exp = canonical(step.expect, step.mode) if step.expect is not None else None
        bad = []
        if zk_out != fk_out:
            bad.append(f"zookeeper and {cand_kind} differ")
        if exp is not None and zk_out != exp:
            bad.append("zookeeper differs from the expectation")
        if exp is not None and fk_out != exp:
            bad.append(f"{cand_kind} differs from the expectation")
        if bad:
            problems.append(
                f"[{phase} #{i}] {step.cmd!r}: {'; '.join(bad)}\n"
                f"    zookeeper:   {zk_out!r}\n"
                f"    {cand_kind + ':':<12} {fk_out!r}\n"
                + (f"    expected:    {exp!r}\n" if exp is not None else "")
            )
    return problems


# -- the test --------------------------------------------------------------
def test_zk_shell_version():
    proc = run_zk_shell(["--version"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ZK_SHELL_VERSION


def test_zk_shell_session(oracle_and_candidate, tmp_path):
    zk_server, cand = oracle_and_candidate
    problems: list[str] = []
    raw: dict[str, str] = {}
    results = {}
    for srv in (zk_server, cand):
        key = "zookeeper" if srv is zk_server else "candidate"
        json_file = tmp_path / f"{key}-backup.json"
        subst = {"hosts": srv.hosts, "json": str(json_file).replace("/", "!")}
        p1, out1, w1, pre1 = run_script(srv, PHASE1, subst)
        p2, out2, w2, pre2 = run_script(srv, PHASE2, subst)
        ok = run_zk_shell(["--run-once", "get /zks/a", srv.hosts])
        bad = run_zk_shell(["--run-once", "get /missing", srv.hosts])
        raw[key] = (
            f"--- phase 1 (rc {p1.returncode}) ---\n{p1.stdout}\n--- stderr ---\n{p1.stderr}\n"
            f"--- phase 2 (rc {p2.returncode}) ---\n{p2.stdout}\n--- stderr ---\n{p2.stderr}\n"
        )
        results[key] = dict(
            out1=out1, out2=out2, watches=w1 + w2, preamble=pre1 + pre2,
            rc=(p1.returncode, p2.returncode),
            once=(ok.returncode, ok.stdout.strip(), bad.returncode, bad.stdout.strip()),
            stderr=(p1.stderr + p2.stderr + ok.stderr + bad.stderr).strip(),
            backup=json_file.exists(),
        )

    zk, fk = results["zookeeper"], results["candidate"]
    problems += compare("phase 1", PHASE1, zk["out1"], fk["out1"], cand.kind)
    problems += compare("phase 2", PHASE2, zk["out2"], fk["out2"], cand.kind)

    # whole-process facts, expected and compared
    expected_facts = {
        # phase 1 has commands that fail (a missing path) so exits 1; in
        # phase 2 none returns a failure
        "rc": (1, 0),
        "once": (0, "v3", 1, "Path /missing doesn't exist"),
        "watches": WATCHES,
        "preamble": [],
        "stderr": "",
        "backup": True,
    }
    for fact, exp in expected_facts.items():
        for kind, res in (("zookeeper", zk), (cand.kind, fk)):
            if res[fact] != exp:
                problems.append(f"[{fact}] {kind}: {res[fact]!r}, expected {exp!r}\n")
        if zk[fact] != fk[fact]:
            problems.append(f"[{fact}] zookeeper {zk[fact]!r} != {cand.kind} {fk[fact]!r}\n")

    if problems:
        pytest.fail(
            f"{len(problems)} zk-shell result(s) differ:\n" + "\n".join(problems)
            + "\n\n=== raw zookeeper output ===\n" + raw["zookeeper"]
            + f"\n\n=== raw {cand.kind} output ===\n" + raw["candidate"],
            pytrace=False,
        )
