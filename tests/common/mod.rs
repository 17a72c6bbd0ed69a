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
                "tickTime={tick_ms}\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n{extra}\n",
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
        let mut out = BytesMut::new();
        RequestHeader {
            xid,
            op_type: request.op_code() as i32,
        }
        .encode(&mut out);
        request.encode(&mut out);
        write_frame(&mut self.stream, &out).unwrap();
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
