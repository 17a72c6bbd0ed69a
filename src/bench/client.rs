//! One ZooKeeper client session as the load generator drives it: connect and
//! handshake, pipelined sends (buffered, flushed by the caller), and replies
//! matched to their requests in order (ZooKeeper answers a session's requests
//! FIFO). Watch notifications are handed out separately; pings are answered
//! silently. Built on the project's codec (`crate::proto`), not a second one.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::proto::connect::{ConnectRequest, ConnectResponse};
use crate::proto::frame::{FrameCodec, FrameError};
use crate::proto::header::{ReplyHeader, RequestHeader, XID_NOTIFICATION, XID_PING};
use crate::proto::jute::Record;
use crate::proto::opcode::OpCode;
use crate::proto::request::{parse, DecodeError, Request};
use crate::proto::response::Response;
use crate::proto::watches::WatcherEvent;

/// Largest reply the bench accepts (a big getChildren during cleanup may pass 1 MiB).
const CLIENT_MAX_FRAME: usize = 64 << 20;

/// Why a session failed; every variant ends the session.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("framing: {0}")]
    Frame(#[from] FrameError),
    #[error("undecodable reply: {0}")]
    Decode(#[from] DecodeError),
    #[error("server closed the connection")]
    Closed,
    #[error("session refused by the server (timeout 0)")]
    Refused,
    #[error("protocol violation: {0}")]
    Protocol(String),
    #[error("{op:?} failed with error code {err}")]
    Server { op: OpCode, err: i32 },
    #[error("timed out: {0}")]
    Timeout(&'static str),
}

/// A request sent and not yet answered.
#[derive(Debug, Clone, Copy)]
struct Pending {
    xid: i32,
    op: OpCode,
    tag: u32,
    sent: Instant,
}

/// The answer to one request.
#[derive(Debug)]
pub struct Reply {
    pub op: OpCode,
    /// Caller's label for the request (the workload's op kind).
    pub tag: u32,
    pub sent: Instant,
    pub zxid: i64,
    pub err: i32,
    /// The bytes after the `ReplyHeader`.
    pub body: Bytes,
}

impl Reply {
    /// Decodes the body with the codec.
    pub fn response(&self) -> Result<Response, DecodeError> {
        Response::decode_reply(self.op, self.err, &self.body)
    }
}

/// What arrives on a session.
#[derive(Debug)]
pub enum Incoming {
    Reply(Reply),
    Watch(WatcherEvent, Instant),
}

/// A connected session.
pub struct Session {
    framed: Framed<TcpStream, FrameCodec>,
    next_xid: i32,
    pending: VecDeque<Pending>,
    /// Notifications received while `call` waited for its reply.
    events: VecDeque<(WatcherEvent, Instant)>,
    pub session_id: i64,
    /// Negotiated session timeout.
    pub timeout: Duration,
}

impl Session {
    /// Connects, sends a `ConnectRequest` for a new session and reads the answer.
    pub async fn connect(addr: &str, timeout_ms: i32) -> Result<Session, ClientError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut framed = Framed::new(stream, FrameCodec::new(CLIENT_MAX_FRAME));
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: timeout_ms,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        };
        framed.send(req.to_bytes().freeze()).await?;
        let frame = framed.next().await.ok_or(ClientError::Closed)??;
        let resp: ConnectResponse = parse(&frame)?;
        if resp.time_out <= 0 {
            return Err(ClientError::Refused);
        }
        Ok(Session {
            framed,
            next_xid: 1,
            pending: VecDeque::new(),
            events: VecDeque::new(),
            session_id: resp.session_id,
            timeout: Duration::from_millis(resp.time_out as u64),
        })
    }

    /// Number of requests sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Queues a request in the write buffer (not flushed); returns its xid.
    pub async fn send(&mut self, req: &Request, tag: u32) -> Result<i32, ClientError> {
        let xid = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1).max(1);
        let op = req.op_code();
        let mut buf = BytesMut::with_capacity(64);
        RequestHeader {
            xid,
            op_type: op as i32,
        }
        .encode(&mut buf);
        req.encode(&mut buf);
        self.framed.feed(buf.freeze()).await?;
        self.pending.push_back(Pending {
            xid,
            op,
            tag,
            sent: Instant::now(),
        });
        Ok(xid)
    }

    /// Writes everything queued to the socket.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        self.framed.flush().await?;
        Ok(())
    }

    /// Queues and flushes a ping (its reply is swallowed by `recv`).
    pub async fn ping(&mut self) -> Result<(), ClientError> {
        let mut buf = BytesMut::with_capacity(8);
        RequestHeader {
            xid: XID_PING,
            op_type: OpCode::Ping as i32,
        }
        .encode(&mut buf);
        self.framed.send(buf.freeze()).await?;
        Ok(())
    }

    /// Waits for the next reply or notification.
    pub async fn recv(&mut self) -> Result<Incoming, ClientError> {
        if let Some((ev, at)) = self.events.pop_front() {
            return Ok(Incoming::Watch(ev, at));
        }
        loop {
            let frame = self.framed.next().await.ok_or(ClientError::Closed)??;
            if let Some(incoming) = self.on_frame(frame)? {
                return Ok(incoming);
            }
        }
    }

    /// Like `recv`, but only what is already buffered or readable without waiting.
    pub fn try_recv(&mut self) -> Result<Option<Incoming>, ClientError> {
        if let Some((ev, at)) = self.events.pop_front() {
            return Ok(Some(Incoming::Watch(ev, at)));
        }
        loop {
            // `Framed::next` keeps its state in the Framed, so dropping the future
            // after one poll loses nothing.
            match self.framed.next().now_or_never() {
                None => return Ok(None),
                Some(None) => return Err(ClientError::Closed),
                Some(Some(frame)) => {
                    if let Some(incoming) = self.on_frame(frame?)? {
                        return Ok(Some(incoming));
                    }
                }
            }
        }
    }

    fn on_frame(&mut self, frame: BytesMut) -> Result<Option<Incoming>, ClientError> {
        let now = Instant::now();
        let frame = frame.freeze();
        let (rest, header) = ReplyHeader::decode(&frame).map_err(DecodeError::from)?;
        let body = frame.slice(frame.len() - rest.len()..);
        match header.xid {
            XID_NOTIFICATION => {
                let ev: WatcherEvent = parse(&body)?;
                Ok(Some(Incoming::Watch(ev, now)))
            }
            xid if xid < 0 => Ok(None), // ping, auth, setWatches replies
            xid => {
                let p = self
                    .pending
                    .pop_front()
                    .ok_or_else(|| ClientError::Protocol(format!("reply xid {xid} unasked")))?;
                if p.xid != xid {
                    return Err(ClientError::Protocol(format!(
                        "reply xid {xid} out of order (expected {})",
                        p.xid
                    )));
                }
                Ok(Some(Incoming::Reply(Reply {
                    op: p.op,
                    tag: p.tag,
                    sent: p.sent,
                    zxid: header.zxid,
                    err: header.err,
                    body,
                })))
            }
        }
    }

    /// Sends one request and waits for its reply (other replies must not be
    /// outstanding); notifications arriving meanwhile are kept for `recv`.
    pub async fn call(&mut self, req: &Request) -> Result<Reply, ClientError> {
        if !self.pending.is_empty() {
            return Err(ClientError::Protocol("call with requests in flight".into()));
        }
        self.send(req, 0).await?;
        self.flush().await?;
        loop {
            match self.recv().await? {
                Incoming::Reply(r) => return Ok(r),
                Incoming::Watch(ev, at) => self.events.push_back((ev, at)),
            }
        }
    }

    /// Like `call`, but a non-zero error code is an error.
    pub async fn call_ok(&mut self, req: &Request) -> Result<Reply, ClientError> {
        let r = self.call(req).await?;
        if r.err != 0 {
            return Err(ClientError::Server {
                op: r.op,
                err: r.err,
            });
        }
        Ok(r)
    }

    /// Sends closeSession and waits (bounded) for its answer, ending the session
    /// and so removing its ephemerals. Replies still in flight are discarded.
    pub async fn close(mut self, wait: Duration) -> Result<(), ClientError> {
        let work = async {
            while self.in_flight() > 0 {
                self.recv().await?;
            }
            self.call(&Request::CloseSession).await?;
            Ok::<(), ClientError>(())
        };
        match tokio::time::timeout(wait, work).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout("closeSession")),
        }
    }
}
