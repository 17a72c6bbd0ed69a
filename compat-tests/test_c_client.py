"""The ZooKeeper C client's shell, cli_mt (Debian's zookeeper-bin), against
the server: connect, create (plain, ephemeral, sequential, create2), get,
set, ls, ls2, sync, delete and errors, asserting on its printed output.

cli_mt completes requests asynchronously, so each command is sent on its
own and the driver waits for the line that reports its result.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time

import pytest

import harness


class CliMt:
    def __init__(self, server: harness.Server):
        self.proc = subprocess.Popen(
            [str(harness.CLI_MT), "-h", server.hosts],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append("<EOF>")
            self.cond.notify_all()

    def wait_for(self, pattern: str, start: int = 0, timeout: float = 10.0) -> list[str]:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    if rx.search(self.lines[i]):
                        return self.lines[start : i + 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"cli_mt: no line matching {pattern!r} within {timeout}s; output:\n"
                        + "\n".join(self.lines[start:])
                    )
                self.cond.wait(left)

    def run(self, cmd: str, pattern: str, timeout: float = 10.0, settle: float = 0.0) -> str:
        with self.cond:
            start = len(self.lines)
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        self.wait_for(pattern, start, timeout)
        if settle:
            time.sleep(settle)
        with self.cond:
            return "\n".join(self.lines[start:])

    def output(self) -> str:
        with self.cond:
            return "\n".join(self.lines)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def cli(server):
    c = CliMt(server)
    try:
        c.wait_for(r"Got a new session id: 0x[0-9a-f]+", timeout=15)
        yield c
    finally:
        c.close()


# the stat block cli_mt prints: ctime, czxid, mtime, mzxid, version/aversion, ephemeralOwner
STAT = r"czxid=\d+.*mzxid=\d+.*version=\d+\s+aversion=\d+"


def test_c_client_crud(cli):
    out = cli.run("create /cc", r"name = /cc$")
    assert "[/cc]: rc = 0" in out

    out = cli.run("get /cc", r"ephemeralOwner = ")
    assert "/cc: rc = 0" in out
    assert "value_len = 3" in out and "\nnew\n" in out  # cli_mt creates with data "new"
    assert re.search(STAT, out.replace("\n", " "))
    assert "version=0\taversion=0" in out

    # cli_mt's get leaves a watch: the set fires it, and the watch comes first
    out = cli.run("set /cc world", r"ephemeralOwner = ")
    assert "/cc: rc = 0" in out
    assert "version=1\taversion=0" in out
    assert "Watcher CHANGED_EVENT state = CONNECTED_STATE for path /cc" in out
    assert out.index("CHANGED_EVENT") < out.index("rc = 0")

    out = cli.run("get /cc", r"ephemeralOwner = ")
    assert "value_len = 5" in out and "\nworld\n" in out

    out = cli.run("create +e /cc/eph", r"name = /cc/eph$")
    assert "[/cc/eph]: rc = 0" in out
    out = cli.run("create +s /cc/seq-", r"name = /cc/seq-\d{10}$")
    assert "name = /cc/seq-0000000001" in out
    out = cli.run("create2 /cc/c2", r"ephemeralOwner = ")
    assert "[/cc/c2]: rc = 0" in out and "name = /cc/c2" in out

    out = cli.run("ls /cc", r"^time = .*msec$", settle=0.2)
    assert "/cc: rc = 0" in out
    assert sorted(re.findall(r"^\t(\S+)$", out, re.M)) == ["c2", "eph", "seq-0000000001"]

    out = cli.run("ls2 /cc", r"ephemeralOwner = ")
    assert "/cc: rc = 0" in out
    assert sorted(re.findall(r"^\t([a-z0-9-]+)$", out, re.M)) == ["c2", "eph", "seq-0000000001"]

    out = cli.run("sync /cc", r"name = /cc$")
    assert "[/cc]: rc = 0" in out

    out = cli.run("delete /cc/c2", r"/cc/c2: rc = ")
    assert "/cc/c2: rc = 0" in out


def test_c_client_errors(cli):
    out = cli.run("get /none", r"/none: rc = ")
    assert "/none: rc = -101" in out  # ZNONODE
    cli.run("create /p", r"name = /p$")
    cli.run("create /p/kid", r"name = /p/kid$")
    out = cli.run("delete /p", r"/p: rc = ")
    assert "/p: rc = -111" in out  # ZNOTEMPTY
    out = cli.run("create /p", r"\[/p\]: rc = ")
    assert "[/p]: rc = -110" in out  # ZNODEEXISTS
    out = cli.run("create /missing/kid", r"\[/missing/kid\]: rc = ")
    assert "rc = -101" in out
    cli.run("create +e /e", r"name = /e$")
    out = cli.run("create /e/kid", r"\[/e/kid\]: rc = ")
    assert "rc = -108" in out  # ZNOCHILDRENFOREPHEMERALS


def test_c_client_ephemeral_gone_after_quit(server, kazoo_factory):
    c = CliMt(server)
    try:
        c.wait_for(r"Got a new session id", timeout=15)
        c.run("create +e /ephq", r"name = /ephq$")
        zk = kazoo_factory(server)
        assert zk.exists("/ephq") is not None
    finally:
        c.close()
    assert c.proc.returncode == 0
    deadline = time.monotonic() + 10
    while zk.exists("/ephq") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert zk.exists("/ephq") is None


def test_c_client_child_watch(cli, server, kazoo_factory):
    zk = kazoo_factory(server)
    cli.run("create /w", r"name = /w$")
    cli.run("ls /w", r"^time = .*msec$", settle=0.2)  # cli_mt's ls sets a child watch
    with cli.cond:
        start = len(cli.lines)
    zk.create("/w/kid")
    cli.wait_for(r"Watcher CHILD_EVENT state = CONNECTED_STATE for path /w", start)
