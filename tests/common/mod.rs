//! Test support: a real ferrokeeper process on a free loopback port, and a raw
//! protocol client built on the crate's own codec (for byte-level assertions).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrokeeper::proto::connect::{ConnectRequest, ConnectResponse};
use ferrokeeper::proto::header::{ReplyHeader, RequestHeader};
use ferrokeeper::proto::jute::Record;
use ferrokeeper::proto::request::Request;

/// A server process; killed on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    child: Child,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestServer {
    /// Starts `ferrokeeper` with `tickTime` and extra zoo.cfg lines.
    pub fn start(tick_ms: u32, extra: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let cfg: PathBuf = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime={tick_ms}\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=*\n{extra}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
            .arg(&cfg)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        TestServer { addr, dir, child }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking client speaking raw frames.
pub struct RawClient {
    pub stream: TcpStream,
    pub session: ConnectResponse,
}

pub fn connect_request(
    session_id: i64,
    passwd: Vec<u8>,
    timeout: i32,
    last_zxid: i64,
) -> ConnectRequest {
    ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: last_zxid,
        time_out: timeout,
        session_id,
        passwd,
        read_only: Some(false),
    }
}

pub fn write_frame(stream: &mut TcpStream, body: &[u8]) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    stream.write_all(&out)
}

/// Reads one frame; `None` when the server closed the connection.
pub fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).ok()?;
    Some(body)
}

impl RawClient {
    /// Opens a new session (or resumes one) and returns the handshake result.
    pub fn connect(addr: SocketAddr, request: ConnectRequest) -> Option<RawClient> {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write_frame(&mut stream, &request.to_bytes()).unwrap();
        let body = read_frame(&mut stream)?;
        let (_, session) = ConnectResponse::decode(&body).unwrap();
        Some(RawClient { stream, session })
    }

    pub fn new_session(addr: SocketAddr, timeout: i32) -> RawClient {
        RawClient::connect(addr, connect_request(0, vec![0; 16], timeout, 0)).unwrap()
    }

    pub fn send(&mut self, xid: i32, request: &Request) {
        assert!(self.try_send(xid, request), "sending xid {xid} failed");
    }

    /// The next reply header and its body bytes; `None` once closed.
    pub fn recv(&mut self) -> Option<(ReplyHeader, Vec<u8>)> {
        let frame = read_frame(&mut self.stream)?;
        let (rest, header) = ReplyHeader::decode(&frame).unwrap();
        Some((header, rest.to_vec()))
    }

    /// Sends one request and returns its reply, skipping nothing.
    pub fn call(&mut self, xid: i32, request: &Request) -> (ReplyHeader, Vec<u8>) {
        self.send(xid, request);
        self.recv().expect("connection closed")
    }
}

// ---------------------------------------------------------------------------
// Restarts, crashes and start-up failures (tests/crash_recovery.rs,
// tests/disk_faults.rs).
//
// A server started with `TestServer::start_with` runs from `<dir>/zoo.cfg` and
// can be killed (`kill9`, SIGKILL), stopped (`terminate`, SIGTERM) and started
// again on the same config and data directory (`restart`, `try_restart`). Each
// run appends to `<dir>/server.log` after a `RUN_MARKER` line; `run_log` is the
// current run's part. Readiness is the `srvr` four-letter word answering with a
// `Mode:` line, so no session (and no txn) is created by the probe.
//
// `FERROKEEPER_TEST_TARGET=zookeeper` runs Debian's Apache ZooKeeper 3.8 in
// place of ferrokeeper for these functions (to check a test against the oracle).
// ---------------------------------------------------------------------------

/// Starts each run's part of `server.log`.
pub const RUN_MARKER: &str = "=== test harness: server run ";

/// A server that did not come up (or did not go down): how it ended and its log.
#[derive(Debug)]
pub struct StartFailure {
    /// `None`: still running (it did not answer in time).
    pub status: Option<std::process::ExitStatus>,
    /// The run's log (stderr and stdout).
    pub log: String,
}

/// True when `FERROKEEPER_TEST_TARGET=zookeeper` asks for Apache ZooKeeper.
pub fn target_is_zookeeper() -> bool {
    std::env::var("FERROKEEPER_TEST_TARGET").is_ok_and(|v| v == "zookeeper")
}

/// Writes `<dir>/zoo.cfg` for a server on a free loopback port with
/// `dataDir=<dir>/data`; `extra` lines come last, so they may override any key
/// (a later `dataDir=` wins). Returns the client address.
pub fn write_config(dir: &std::path::Path, tick_ms: u32, extra: &str) -> SocketAddr {
    let port = free_port();
    std::fs::write(
        dir.join("zoo.cfg"),
        format!(
            "tickTime={tick_ms}\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=*\n{extra}\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    format!("127.0.0.1:{port}").parse().unwrap()
}

/// The last value of `key` in `<dir>/zoo.cfg`.
fn config_value(dir: &std::path::Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("zoo.cfg")).ok()?;
    text.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
        .next_back()
}

/// Debian's ZooKeeper classpath (zookeeper.jar's manifest names the rest).
fn zookeeper_classpath() -> String {
    let mut jars = vec!["/usr/share/java/zookeeper.jar".to_string()];
    for j in ["slf4j-log4j12.jar", "log4j-1.2.jar", "snappy-java.jar"] {
        let p = format!("/usr/share/java/{j}");
        if std::path::Path::new(&p).exists() {
            jars.push(p);
        }
    }
    jars.join(":")
}

/// Spawns the target server on `<dir>/zoo.cfg`, appending to `<dir>/server.log`.
fn spawn_server(dir: &std::path::Path) -> Child {
    let log_path = dir.join("server.log");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .unwrap();
    let runs = std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .matches(RUN_MARKER)
        .count();
    writeln!(log, "{RUN_MARKER}{}", runs + 1).unwrap();
    let cfg = dir.join("zoo.cfg");
    let mut cmd = if target_is_zookeeper() {
        let log4j = dir.join("log4j.properties");
        std::fs::write(
            &log4j,
            "log4j.rootLogger=INFO, STDERR\n\
             log4j.appender.STDERR=org.apache.log4j.ConsoleAppender\n\
             log4j.appender.STDERR.Target=System.err\n\
             log4j.appender.STDERR.layout=org.apache.log4j.PatternLayout\n\
             log4j.appender.STDERR.layout.ConversionPattern=%d{ISO8601} [%t] %-5p %c{1} - %m%n\n",
        )
        .unwrap();
        let mut c = Command::new("java");
        c.args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg(format!("-Dlog4j.configuration=file:{}", log4j.display()))
            .arg("-Dzookeeper.admin.enableServer=false")
            .args(["-cp", &zookeeper_classpath()])
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&cfg);
        c
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"));
        c.arg(&cfg).env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or("info".into()),
        );
        c
    };
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// One `srvr` exchange; true when the server says it serves (a `Mode:` line).
pub fn serves(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"srvr").is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.contains("Mode:")
}

impl TestServer {
    /// Writes the config (see [`write_config`]) into a fresh temp dir and
    /// spawns the server without waiting for it.
    pub fn spawn_with(tick_ms: u32, extra: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let addr = write_config(dir.path(), tick_ms, extra);
        let child = spawn_server(dir.path());
        TestServer { addr, dir, child }
    }

    /// [`TestServer::spawn_with`] and wait until it serves; panics with its log otherwise.
    pub fn start_with(tick_ms: u32, extra: &str) -> TestServer {
        let mut s = TestServer::spawn_with(tick_ms, extra);
        if let Err(f) = s.wait_ready(Duration::from_secs(30)) {
            panic!("server did not start ({:?}):\n{}", f.status, f.log);
        }
        s
    }

    /// Waits until the server answers `srvr` with a `Mode:` line.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), StartFailure> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(StartFailure {
                    status: Some(status),
                    log: self.run_log(),
                });
            }
            if serves(self.addr) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StartFailure {
                    status: None,
                    log: self.run_log(),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9` and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM; SIGKILL after 10 s if it has not exited.
    pub fn terminate(&mut self) {
        if self.child.try_wait().unwrap().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if self.wait_exit(Duration::from_secs(10)).is_none() {
            self.kill9();
        }
    }

    /// The process id of the current run.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the current run if it is alive and spawns a new one on the same
    /// config and data directory, without waiting.
    pub fn respawn(&mut self) {
        self.kill9();
        self.child = spawn_server(self.dir.path());
    }

    /// [`TestServer::respawn`] and wait until it serves.
    pub fn try_restart(&mut self, timeout: Duration) -> Result<(), StartFailure> {
        self.respawn();
        self.wait_ready(timeout)
    }

    /// [`TestServer::try_restart`]; panics with the log when it does not serve.
    pub fn restart(&mut self) {
        if let Err(f) = self.try_restart(Duration::from_secs(30)) {
            panic!("server did not restart ({:?}):\n{}", f.status, f.log);
        }
    }

    /// The current run's part of the log.
    pub fn run_log(&self) -> String {
        let log = self.log();
        match log.rfind(RUN_MARKER) {
            Some(i) => log[i..].to_string(),
            None => log,
        }
    }

    /// `dataDir` as the config says.
    pub fn data_dir(&self) -> PathBuf {
        config_value(self.dir.path(), "dataDir")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.dir.path().join("data"))
    }

    /// `dataLogDir/version-2` (dataLogDir defaults to dataDir): where the logs are.
    pub fn log_version_dir(&self) -> PathBuf {
        config_value(self.dir.path(), "dataLogDir")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.data_dir())
            .join("version-2")
    }

    /// `dataDir/version-2`: where the snapshots are.
    pub fn snap_version_dir(&self) -> PathBuf {
        self.data_dir().join("version-2")
    }
}

impl RawClient {
    /// Like [`RawClient::connect`], but `None` instead of a panic when the
    /// server cannot be reached or closes during the handshake.
    pub fn try_connect(addr: SocketAddr, request: ConnectRequest) -> Option<RawClient> {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        write_frame(&mut stream, &request.to_bytes()).ok()?;
        let body = read_frame(&mut stream)?;
        let (_, session) = ConnectResponse::decode(&body).ok()?;
        Some(RawClient { stream, session })
    }

    /// Like [`RawClient::call`], but `None` when the connection fails (the
    /// server died or closed it) instead of a panic.
    pub fn try_call(&mut self, xid: i32, request: &Request) -> Option<(ReplyHeader, Vec<u8>)> {
        if !self.try_send(xid, request) {
            return None;
        }
        self.try_recv()
    }

    /// Like [`RawClient::send`]; false when the write fails.
    pub fn try_send(&mut self, xid: i32, request: &Request) -> bool {
        let mut out = BytesMut::new();
        RequestHeader {
            xid,
            op_type: request.op_code() as i32,
        }
        .encode(&mut out);
        request.encode(&mut out);
        write_frame(&mut self.stream, &out).is_ok()
    }

    /// Like [`RawClient::recv`]; `None` also for a frame that is no reply.
    pub fn try_recv(&mut self) -> Option<(ReplyHeader, Vec<u8>)> {
        let frame = read_frame(&mut self.stream)?;
        let (rest, header) = ReplyHeader::decode(&frame).ok()?;
        Some((header, rest.to_vec()))
    }
}
