"""Start and stop the servers under test: ferrokeeper and Apache ZooKeeper.

Each server gets a free 127.0.0.1 port, its own data directory and a log
file that captures its stdout+stderr. `Server.start()` returns once a real
ZooKeeper handshake (ConnectRequest -> ConnectResponse) succeeds.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import rawzk

REPO = Path(__file__).resolve().parent.parent
FERROKEEPER_BIN = Path(
    os.environ.get("FERROKEEPER_BIN", REPO / "target" / "release" / "ferrokeeper")
)
ZK_CLI = Path("/usr/share/zookeeper/bin/zkCli.sh")
CLI_MT = Path("/usr/lib/zookeeper/bin/cli_mt")
JAVA = shutil.which("java") or "/usr/bin/java"

KINDS = ("zookeeper", "ferrokeeper")

# Shared by both servers. tickTime is short so that session expiry tests
# finish quickly; maxSessionTimeout keeps kazoo's default (10 s) usable.
BASE_CONFIG = {
    "tickTime": "500",
    "minSessionTimeout": "1000",
    "maxSessionTimeout": "30000",
    "maxClientCnxns": "0",
    "4lw.commands.whitelist": "*",
    # Both serve an AdminServer on 0.0.0.0:8080 by default; a test that
    # wants one turns it on with a free port (test_admin_server.py).
    "admin.enableServer": "false",
}

# Keys Apache ZooKeeper needs in addition (ferrokeeper is not given them,
# so an unknown key never breaks its start-up).
ZK_ONLY_CONFIG = {
    "initLimit": "10",
    "syncLimit": "5",
}

START_TIMEOUT = {
    "zookeeper": float(os.environ.get("COMPAT_ZK_START_TIMEOUT", "60")),
    "ferrokeeper": float(os.environ.get("COMPAT_FK_START_TIMEOUT", "15")),
}
# after this many failed start-ups in a row, a kind fails at once (keeps a
# broken build from costing a start-up timeout per test)
MAX_START_FAILURES = 3
_start_failures = {k: 0 for k in KINDS}


def free_port() -> int:
    """Bind port 0 on loopback, read the port, close."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def zookeeper_classpath() -> str:
    """Classpath for Debian's Apache ZooKeeper 3.8.

    zookeeper.jar's manifest names its dependencies; we add a logging
    binding (slf4j-log4j12 + log4j 1.2) when present so the server log is
    readable, the servlet API its AdminServer needs and the Netty codec,
    handler and resolver jars its TLS server port and TLS client need
    (Debian's manifest leaves them out, so without them the AdminServer
    never starts and TLS connections fail with NoClassDefFoundError), and
    every other zookeeper*.jar.
    """
    jars = ["/usr/share/java/zookeeper.jar"]
    jars += sorted(
        j
        for j in glob.glob("/usr/share/java/zookeeper*.jar")
        if j not in jars and "zooinspector" not in j and "loggraph" not in j
    )
    for extra in ("slf4j-log4j12.jar", "log4j-1.2.jar", "servlet-api.jar",
                  "netty-codec.jar", "netty-handler.jar", "netty-resolver.jar"):
        p = Path("/usr/share/java") / extra
        if p.exists():
            jars.append(str(p))
    return ":".join(jars)


LOG4J_PROPERTIES = """\
log4j.rootLogger=INFO, STDERR
log4j.appender.STDERR=org.apache.log4j.ConsoleAppender
log4j.appender.STDERR.Target=System.err
log4j.appender.STDERR.layout=org.apache.log4j.PatternLayout
log4j.appender.STDERR.layout.ConversionPattern=%d{ISO8601} [%t] %-5p %c{1} - %m%n
"""


class ServerError(RuntimeError):
    pass


class Server:
    """One server process (either kind)."""

    def __init__(self, kind: str, workdir: Path, config: dict | None = None,
                 jvm_flags: list[str] | None = None):
        """`jvm_flags`: `-D` flags ZooKeeper's JVM gets; ferrokeeper reads
        them from SERVER_JVMFLAGS, where zkServer.sh takes them from."""
        if kind not in KINDS:
            raise ValueError(f"unknown server kind {kind!r}")
        self.kind = kind
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.log_path = self.workdir / "server.log"
        self.cfg_path = self.workdir / "zoo.cfg"
        self.port = free_port()
        self.host = "127.0.0.1"
        self.extra_config = dict(config or {})
        self.jvm_flags = list(jvm_flags or [])
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    # -- addresses -----------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def hosts(self) -> str:
        """host:port, as kazoo / zkCli / cli_mt take it."""
        return f"{self.host}:{self.port}"

    # -- lifecycle -----------------------------------------------------
    def _write_config(self) -> None:
        cfg = dict(BASE_CONFIG)
        if self.kind == "zookeeper":
            cfg.update(ZK_ONLY_CONFIG)
        cfg.update(
            {
                "dataDir": str(self.data_dir),
                "clientPort": str(self.port),
                "clientPortAddress": self.host,
            }
        )
        cfg.update(self.extra_config)
        self.cfg_path.write_text("".join(f"{k}={v}\n" for k, v in cfg.items()))

    def _command(self) -> list[str]:
        if self.kind == "ferrokeeper":
            if not FERROKEEPER_BIN.exists():
                raise ServerError(
                    f"{FERROKEEPER_BIN} not found: run `cargo build --release` "
                    "(make test does) or pass --servers=zookeeper"
                )
            return [str(FERROKEEPER_BIN), str(self.cfg_path)]
        log4j = self.workdir / "log4j.properties"
        log4j.write_text(LOG4J_PROPERTIES)
        return [
            JAVA,
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xshare:auto",
            f"-Dlog4j.configuration=file:{log4j}",
            "-Dzookeeper.admin.enableServer=false",
            "-Dzookeeper.jmx.log4j.disable=true",
            *self.jvm_flags,
            "-cp",
            zookeeper_classpath(),
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            str(self.cfg_path),
        ]

    def start(self, timeout: float | None = None) -> "Server":
        if _start_failures[self.kind] >= MAX_START_FAILURES:
            raise ServerError(
                f"{self.kind} failed to start {_start_failures[self.kind]} times in a row; "
                "not trying again in this run"
            )
        try:
            self._start(START_TIMEOUT[self.kind] if timeout is None else timeout)
        except BaseException:
            _start_failures[self.kind] += 1
            raise
        _start_failures[self.kind] = 0
        return self

    def _start(self, timeout: float) -> None:
        self._write_config()
        cmd = self._command()
        env = dict(os.environ)
        if self.kind == "ferrokeeper":
            env.setdefault("RUST_LOG", "info")
            env.setdefault("RUST_BACKTRACE", "1")
            if self.jvm_flags:
                env["SERVER_JVMFLAGS"] = " ".join(self.jvm_flags)
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(("$ " + " ".join(cmd) + "\n").encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_err: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(
                    f"{self.kind} exited with code {self.proc.returncode} "
                    f"during start-up\n{self.tail()}"
                )
            try:
                conn = rawzk.RawConnection.connect(self.address, timeout=2.0)
                conn.close_session()
                conn.close()
                return
            except (OSError, rawzk.ProtocolError) as e:
                last_err = e
                time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"{self.kind} did not answer a ConnectRequest on {self.hosts} within "
            f"{timeout:.0f}s (last error: {last_err!r})\n{self.tail()}"
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def kill(self) -> None:
        """SIGKILL without waiting for a clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def four_letter(self, word: str, arg: bytes = b"", timeout: float = 5.0) -> bytes:
        """Sends `word` (and `arg` in the same write, as `stmk` needs its
        mask), returns all the server writes before it closes."""
        with socket.create_connection(self.address, timeout=timeout) as s:
            s.sendall(word.encode() + arg)
            chunks = []
            while True:
                try:
                    b = s.recv(65536)
                except socket.timeout:
                    break
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks)

    def __repr__(self) -> str:
        return f"<Server {self.kind} {self.hosts}>"


# ---------------------------------------------------------------------------
# Migration support (test_migration.py): servers of either kind taking turns
# on one data directory, on the same client port (so connected clients
# reconnect to the next server with their sessions, as in a real migration).
# ---------------------------------------------------------------------------


def server_on_data_dir(
    kind: str,
    workdir: Path,
    data_dir: Path,
    config: dict | None = None,
    port: int | None = None,
) -> Server:
    """A (not yet started) Server whose dataDir is `data_dir`, shared with
    other servers, and whose client port is `port` when given."""
    srv = Server(kind, workdir, config)
    srv.data_dir = Path(data_dir)
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    if port is not None:
        srv.port = port
    return srv


def ferrokeeper_refuses(workdir: Path, config: dict, env: dict | None = None) -> str:
    """Runs ferrokeeper with `config` (over BASE_CONFIG, free ports, a data
    dir in `workdir`), expects it to stop start-up (exit code 1) and
    returns what it printed. For settings ZooKeeper takes at start-up and
    fails later, where ferrokeeper says why at once."""
    cfg = {**BASE_CONFIG, "dataDir": str(workdir / "data"), "clientPort": str(free_port()),
           "clientPortAddress": "127.0.0.1", **config}
    path = workdir / "refused.cfg"
    path.write_text("".join(f"{k}={v}\n" for k, v in cfg.items()))
    done = subprocess.run([str(FERROKEEPER_BIN), str(path)], capture_output=True, text=True,
                          timeout=30, env={"PATH": "/usr/bin:/bin", **(env or {})})
    assert done.returncode == 1, done
    return done.stdout + done.stderr


def zk_cli(hosts: str, script: str, system_properties: dict) -> list[str]:
    """zkCli's ZooKeeperMain (the stock Java client) on `hosts`, with these
    -D properties, `script` on its stdin; the lines it printed."""
    cmd = [JAVA, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
    cmd += [f"-D{k}={v}" for k, v in system_properties.items()]
    cmd += ["-cp", zookeeper_classpath(), "org.apache.zookeeper.ZooKeeperMain",
            "-waitforconnection", "-server", hosts]
    done = subprocess.run(cmd, input=script, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=90)
    return done.stdout.splitlines()
