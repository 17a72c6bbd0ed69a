//! The session actor: one per client TCP connection.
//!
//! It owns the socket. Frames come in through an [`InboundCodec`]; the first
//! one is the `ConnectRequest` (or, in its place, a four-letter word, answered
//! and closed), every later one a `RequestHeader` plus body, which it decodes
//! and submits to [`Prep`] in arrival order. Replies and watch
//! notifications come back from the final stage as [`Reply`] messages and are
//! written in the order they arrive, which is the order final sent them.
//! Bad bytes close only this connection, with a log line naming the reason.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix::io::{FramedWrite, WriteHandler};
use actix::prelude::*;
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Decoder, FramedRead};

use crate::proto::auth::AuthPacket;
use crate::proto::connect::{ConnectRequest, ConnectResponse};
use crate::proto::data::{perms, Acl, Id};
use crate::proto::error_code::ErrorCode;
use crate::proto::frame::{FrameCodec, FrameError};
use crate::proto::header::{ReplyHeader, RequestHeader};
use crate::proto::jute::{self, Record};
use crate::proto::opcode::OpCode;
use crate::proto::request::Request;
use crate::server::four_letter;
use crate::server::prep::{Connect, Disconnected, Prep, Submit};
use crate::server::sasl::digest_md5::DigestMd5;
use crate::server::stats::ConnStats;
use crate::server::Shared;
use crate::tree::acl::check_acl;
use crate::tree::acl_digest::digest_auth_ids;

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// How the pipeline reaches one connection.
#[derive(Clone)]
pub struct ConnHandle {
    pub id: u64,
    pub addr: Addr<Session>,
    /// This connection's items inside the log stage: while it is 0, a request
    /// without a txn may go from prep straight to final and still be answered
    /// after everything the connection sent before it.
    pub in_log: Arc<AtomicUsize>,
}

impl ConnHandle {
    /// Prep routes one of this connection's items through the log stage.
    pub fn entered_log(&self) {
        self.in_log.fetch_add(1, Ordering::AcqRel);
    }

    /// The item reached final (or the log stage dropped it).
    pub fn left_log(&self) {
        self.in_log.fetch_sub(1, Ordering::AcqRel);
    }

    /// No item of this connection is inside the log stage.
    pub fn log_is_drained(&self) -> bool {
        self.in_log.load(Ordering::Acquire) == 0
    }
}

/// Bytes to send as one frame (a reply or a notification, without the length).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Reply(pub Bytes);

/// A watch notification frame, delivered only if this connection may read the node.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Notify {
    pub frame: Bytes,
    pub acl: Arc<[Acl]>,
}

/// The outcome of the handshake: the session is open, or (id 0) refused.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Opened {
    pub session_id: i64,
    pub timeout_ms: i32,
    pub passwd: Vec<u8>,
}

/// Close the connection once what was already sent is flushed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Close(pub &'static str);

/// What the connection writes: a length-prefixed frame, or raw text (four-letter words).
pub enum Outbound {
    Frame(Bytes),
    Text(Bytes),
}

/// Frames replies with [`FrameCodec`]; writes four-letter-word answers as they are.
pub struct OutboundCodec(FrameCodec);

impl tokio_util::codec::Encoder<Outbound> for OutboundCodec {
    type Error = FrameError;
    fn encode(&mut self, item: Outbound, dst: &mut BytesMut) -> Result<(), FrameError> {
        match item {
            Outbound::Frame(b) => self.0.encode(b, dst),
            Outbound::Text(b) => {
                dst.extend_from_slice(&b);
                Ok(())
            }
        }
    }
}

/// What the connection reads: a frame (without its length), or in place of
/// the first frame a four-letter word with the bytes that arrived with it.
#[derive(Debug, PartialEq)]
pub enum Inbound {
    Frame(BytesMut),
    Word(&'static str, BytesMut),
}

/// Splits frames with [`FrameCodec`], but first checks whether the first
/// frame's length spells a four-letter word, as `NIOServerCnxn.readLength`
/// does before its length check.
pub struct InboundCodec {
    frames: FrameCodec,
    first: bool,
}

impl Decoder for InboundCodec {
    type Item = Inbound;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Inbound>, FrameError> {
        if self.first && src.len() >= 4 {
            self.first = false;
            let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
            if let Some(word) = four_letter::word_of(len) {
                src.advance(4);
                return Ok(Some(Inbound::Word(word, src.split())));
            }
        }
        Ok(self.frames.decode(src)?.map(Inbound::Frame))
    }
}

enum State {
    AwaitingConnect,
    /// The handshake is with prep; frames that arrive meanwhile wait here.
    Connecting(Vec<BytesMut>),
    Open(i64),
    Closing,
}

/// Frames a client may send before its session is open.
const MAX_QUEUED_BEFORE_OPEN: usize = 1024;

pub struct Session {
    id: u64,
    peer: SocketAddr,
    shared: Arc<Shared>,
    prep: Addr<Prep>,
    writer: FramedWrite<Outbound, ConnWriter, OutboundCodec>,
    state: State,
    client_sent_read_only: bool,
    auth: Arc<Vec<Id>>,
    in_log: Arc<AtomicUsize>,
    /// Counters `cons`/`stat` show; registered in `shared.stats` while open.
    stats: Arc<ConnStats>,
    /// (xid, op, arrival) of requests in the pipeline, answered in this order.
    pending: VecDeque<(i32, i32, Instant)>,
    connect_started: Option<Instant>,
    /// The client's SASL exchange, once it has begun one.
    sasl: Option<DigestMd5>,
}

/// A connection's read buffer starts this small and grows with what arrives:
/// most of a session's idle memory was tokio-util's default 8 KiB.
const READ_BUFFER_START: usize = 1024;

/// The sending half of a connection: a TCP socket's, or a TLS stream's.
pub type ConnWriter = Box<dyn AsyncWrite + Unpin>;

/// Who an accepted connection is.
pub struct Client {
    pub peer: SocketAddr,
    /// Accepted on `secureClientPort` (listed as a secure connection).
    pub secure_port: bool,
    /// For a TLS client with a certificate, the ids it authenticates.
    pub certificate_ids: Vec<Id>,
}

impl Session {
    /// Starts the actor for an accepted connection, given its two halves.
    pub fn spawn(
        read: impl AsyncRead + Unpin + 'static,
        write: ConnWriter,
        client: Client,
        shared: Arc<Shared>,
        prep: Addr<Prep>,
    ) {
        let Client {
            peer,
            secure_port,
            certificate_ids,
        } = client;
        let max = shared.config.max_buffer;
        Session::create(move |ctx| {
            let codec = InboundCodec {
                frames: FrameCodec::new(max),
                first: true,
            };
            ctx.add_stream(FramedRead::with_capacity(read, codec, READ_BUFFER_START));
            let ip = Id {
                scheme: "ip".into(),
                id: peer.ip().to_string(),
            };
            let auth = Arc::new([ip].into_iter().chain(certificate_ids).collect());
            let id = NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed);
            let stats = Arc::new(ConnStats::new(id, peer, secure_port, &shared.stats));
            shared.stats.register(stats.clone());
            Session {
                id,
                peer,
                shared,
                prep,
                writer: FramedWrite::new(write, OutboundCodec(FrameCodec::new(max)), ctx),
                state: State::AwaitingConnect,
                client_sent_read_only: false,
                auth,
                in_log: Arc::new(AtomicUsize::new(0)),
                stats,
                pending: VecDeque::new(),
                connect_started: None,
                sasl: None,
            }
        });
    }

    fn conn_handle(&self, ctx: &mut Context<Self>) -> ConnHandle {
        ConnHandle {
            id: self.id,
            addr: ctx.address(),
            in_log: self.in_log.clone(),
        }
    }

    fn close(&mut self, ctx: &mut Context<Self>, reason: &str) {
        if matches!(self.state, State::Closing) {
            return;
        }
        tracing::debug!(peer = %self.peer, "closing connection: {reason}");
        self.detach();
        self.state = State::Closing;
        self.writer.close();
        // Stop reading; the actor stops once the writer has flushed (`finished`).
        ctx.run_later(std::time::Duration::from_secs(5), |_, ctx| ctx.stop());
    }

    fn detach(&mut self) {
        if let State::Open(session_id) = self.state {
            self.prep.do_send(Disconnected {
                session_id,
                conn_id: self.id,
            });
        }
    }

    fn bad_frame(&mut self, ctx: &mut Context<Self>, reason: &str) {
        tracing::warn!(peer = %self.peer, "closing connection: {reason}");
        self.close(ctx, reason);
    }

    fn on_connect_frame(&mut self, frame: BytesMut, ctx: &mut Context<Self>) {
        let request = match ConnectRequest::decode(&frame) {
            Ok((_, r)) => r,
            Err(_) => return self.bad_frame(ctx, "malformed ConnectRequest"),
        };
        self.shared.stats.connection_requested();
        self.client_sent_read_only = request.read_only.is_some();
        self.connect_started = Some(Instant::now());
        self.state = State::Connecting(Vec::new());
        self.prep.do_send(Connect {
            request,
            conn: self.conn_handle(ctx),
        });
    }

    fn on_request_frame(&mut self, session_id: i64, frame: BytesMut, ctx: &mut Context<Self>) {
        let (body, header) = match RequestHeader::decode(&frame) {
            Ok(r) => r,
            Err(_) => return self.bad_frame(ctx, "packet shorter than a RequestHeader"),
        };
        match OpCode::from_i32(header.op_type) {
            Some(OpCode::Auth) => return self.on_auth(header, body, ctx),
            Some(OpCode::Sasl) => return self.on_sasl(header, body, ctx),
            _ => {}
        }
        if !self.holds_enforced_auth() {
            // `AuthenticationHelper.enforceAuthentication`.
            tracing::error!(
                peer = %self.peer,
                "client has no id of the enforced authentication schemes {:?}; closing the session",
                self.shared.enforced_auth_schemes
            );
            self.send_header(header.xid, ErrorCode::SessionClosedRequireSaslAuth);
            return self.close(ctx, "authentication required");
        }
        self.pending
            .push_back((header.xid, header.op_type, Instant::now()));
        self.stats.request_queued();
        let decoded = match OpCode::from_i32(header.op_type) {
            Some(op) => Request::decode(op, body),
            None => Err(crate::proto::request::DecodeError::Unsupported(
                header.op_type,
            )),
        };
        self.prep.do_send(Submit {
            session_id,
            xid: header.xid,
            op_type: header.op_type,
            request: decoded,
            conn: self.conn_handle(ctx),
            auth: self.auth.clone(),
        });
    }

    /// Auth packets are answered at once, as `ZooKeeperServer.processPacket` does.
    fn on_auth(&mut self, header: RequestHeader, body: &[u8], ctx: &mut Context<Self>) {
        let Ok((_, packet)) = AuthPacket::decode(body) else {
            return self.bad_frame(ctx, "malformed AuthPacket");
        };
        let super_digest = self.shared.config.super_digest.as_deref();
        let ids = match packet.scheme.as_str() {
            "digest" if self.shared.config.digest_enabled => {
                digest_auth_ids(&packet.auth, super_digest, self.shared.config.digest_alg)
            }
            "ip" => vec![Id {
                scheme: "ip".into(),
                id: self.peer.ip().to_string(),
            }],
            _ => Vec::new(),
        };
        if !ids.is_empty() {
            tracing::info!(peer = %self.peer, scheme = %packet.scheme, "auth success");
            self.add_auth_ids(ids);
            self.send_header(header.xid, ErrorCode::Ok);
        } else {
            tracing::warn!(peer = %self.peer, scheme = %packet.scheme, "authentication failed");
            self.shared.stats.auth_failed();
            self.send_header(header.xid, ErrorCode::AuthFailed);
            self.close(ctx, "authentication failed");
        }
    }

    /// A SASL token (`ZooKeeperServer.processSasl`): the next step of the
    /// client's DIGEST-MD5 exchange, answered at once, outside the pipeline.
    /// A failure closes the connection unless `allowSaslFailedClients`.
    fn on_sasl(&mut self, header: RequestHeader, body: &[u8], ctx: &mut Context<Self>) {
        let Ok((_, token)) = jute::buffer_or_empty(body) else {
            return self.bad_frame(ctx, "malformed GetSASLRequest");
        };
        let shared = self.shared.clone();
        let Some(login) = shared.sasl.as_ref() else {
            // ZooKeeper without a JAAS login answers OK, without a token.
            tracing::error!(
                peer = %self.peer,
                "SASL packet, but no JAAS file is configured \
                 (-Djava.security.auth.login.config in SERVER_JVMFLAGS)"
            );
            return self.send_sasl(header.xid, ErrorCode::Ok, None);
        };
        let exchange = self.sasl.get_or_insert_with(|| login.exchange());
        match exchange.step(&token, |user| login.password_of(user)) {
            Ok(step) => {
                if let Some(user) = &step.user {
                    tracing::info!(peer = %self.peer, "SASL: authenticated as {user}");
                    self.add_auth_ids(login.ids_of(user));
                }
                self.send_sasl(header.xid, ErrorCode::Ok, Some(&step.token));
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, "failed to SASL authenticate: {e}");
                let required = shared.enforced_auth_schemes.iter().any(|s| s == "sasl");
                if shared.config.sasl.allow_failed_clients && !required {
                    return self.send_sasl(header.xid, ErrorCode::Ok, None);
                }
                let err = if required {
                    ErrorCode::SessionClosedRequireSaslAuth
                } else {
                    ErrorCode::AuthFailed
                };
                self.send_sasl(header.xid, err, None);
                self.close(ctx, "SASL authentication failed");
            }
        }
    }

    /// Whether the session may make requests: nothing is enforced, or it
    /// holds an id of an enforced scheme.
    fn holds_enforced_auth(&self) -> bool {
        let schemes = &self.shared.enforced_auth_schemes;
        schemes.is_empty() || self.auth.iter().any(|id| schemes.contains(&id.scheme))
    }

    /// A `SetSASLResponse`.
    fn send_sasl(&mut self, xid: i32, err: ErrorCode, token: Option<&[u8]>) {
        let mut reply = ReplyHeader {
            xid,
            zxid: 0,
            err: err.code(),
        }
        .to_bytes();
        jute::put_buffer(&mut reply, token);
        self.write(reply.freeze());
    }

    /// Adds ids a session authenticated as, once each.
    fn add_auth_ids(&mut self, ids: Vec<Id>) {
        let mut all = (*self.auth).clone();
        for id in ids {
            if !all.contains(&id) {
                all.push(id);
            }
        }
        self.auth = Arc::new(all);
    }

    fn send_header(&mut self, xid: i32, err: ErrorCode) {
        let header = ReplyHeader {
            xid,
            zxid: 0,
            err: err.code(),
        };
        self.write(header.to_bytes().freeze());
    }

    /// Writes a response (a reply or a notification; ZooKeeper counts their
    /// sizes in `client_response_stats`).
    fn write(&mut self, bytes: Bytes) {
        self.shared.stats.response_sizes.record(bytes.len());
        self.write_frame(bytes);
    }

    fn write_frame(&mut self, bytes: Bytes) {
        if !matches!(self.state, State::Closing) || !self.writer.closed() {
            self.writer.write(Outbound::Frame(bytes));
            self.stats.packet_sent(&self.shared.stats);
        }
    }

    /// Matches a reply to its request for the latency and last-op counters
    /// (replies come back in request order; notifications are not replies).
    fn account_reply(&mut self, frame: &[u8]) {
        let Some(header) = frame.get(..16) else {
            return;
        };
        let xid = i32::from_be_bytes(header[0..4].try_into().expect("4 bytes"));
        if xid == -1 {
            return;
        }
        while let Some((pending_xid, op, started)) = self.pending.pop_front() {
            if pending_xid == xid {
                let zxid = i64::from_be_bytes(header[4..12].try_into().expect("8 bytes"));
                let err = i32::from_be_bytes(header[12..16].try_into().expect("4 bytes"));
                let stats = &self.shared.stats;
                self.stats.responded(stats, op, xid, zxid, err, started);
                return;
            }
            // Answered by something other than a reply (the connection is closing).
            self.stats.request_dropped();
        }
    }

    fn on_frame(&mut self, frame: BytesMut, ctx: &mut Context<Self>) {
        match &mut self.state {
            State::AwaitingConnect => self.on_connect_frame(frame, ctx),
            State::Connecting(queued) => {
                if queued.len() >= MAX_QUEUED_BEFORE_OPEN {
                    return self.bad_frame(ctx, "too many requests before the session opened");
                }
                queued.push(frame);
            }
            State::Open(id) => {
                let id = *id;
                self.on_request_frame(id, frame, ctx)
            }
            State::Closing => {}
        }
    }
}

impl Actor for Session {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        self.detach();
        self.shared.stats.unregister(self.id);
        self.shared.connection_closed(self.peer.ip());
    }
}

impl StreamHandler<Result<Inbound, FrameError>> for Session {
    fn handle(&mut self, item: Result<Inbound, FrameError>, ctx: &mut Context<Self>) {
        let bytes = match &item {
            Ok(Inbound::Frame(frame)) => 4 + frame.len() as u64,
            Ok(Inbound::Word(_, rest)) => 4 + rest.len() as u64,
            Err(_) => 0,
        };
        self.stats.packet_received(&self.shared.stats, bytes);
        match item {
            Ok(Inbound::Frame(frame)) => self.on_frame(frame, ctx),
            Ok(Inbound::Word(word, rest)) => {
                self.stats.stop_reading();
                if let Some(answer) = four_letter::answer(word, &rest, &self.shared) {
                    self.writer.write(Outbound::Text(Bytes::from(answer)));
                    self.stats.packet_sent(&self.shared.stats);
                }
                self.state = State::Closing;
                self.writer.close();
            }
            Err(e) => self.bad_frame(ctx, &e.to_string()),
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        if !matches!(self.state, State::Closing) {
            tracing::debug!(peer = %self.peer, "client closed the connection");
            self.detach();
            self.state = State::Closing;
            ctx.stop();
        }
    }
}

impl WriteHandler<FrameError> for Session {
    fn error(&mut self, err: FrameError, _: &mut Self::Context) -> Running {
        tracing::debug!(peer = %self.peer, "write failed: {err}");
        Running::Stop
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<Reply> for Session {
    type Result = ();
    fn handle(&mut self, msg: Reply, _: &mut Context<Self>) {
        self.account_reply(&msg.0);
        self.write(msg.0);
    }
}

impl Handler<Notify> for Session {
    type Result = ();
    fn handle(&mut self, msg: Notify, _: &mut Context<Self>) {
        if msg.acl.is_empty() || check_acl(&msg.acl, perms::READ, &self.auth) {
            self.write(msg.frame);
        }
    }
}

impl Handler<Opened> for Session {
    type Result = ();
    fn handle(&mut self, msg: Opened, ctx: &mut Context<Self>) {
        let response = ConnectResponse {
            protocol_version: 0,
            time_out: msg.timeout_ms,
            session_id: msg.session_id,
            passwd: msg.passwd,
            read_only: self.client_sent_read_only.then_some(false),
        };
        self.write_frame(response.to_bytes().freeze());
        if msg.session_id == 0 {
            return self.close(ctx, "session expired or password wrong");
        }
        self.stats.opened(msg.session_id, msg.timeout_ms);
        if let Some(started) = self.connect_started.take() {
            let zxid = self
                .shared
                .tree
                .read()
                .map_or(0, |t| t.last_processed_zxid());
            self.stats.request_queued();
            let session = OpCode::CreateSession as i32;
            let stats = &self.shared.stats;
            self.stats.responded(stats, session, 0, zxid, 0, started);
        }
        let queued = match std::mem::replace(&mut self.state, State::Open(msg.session_id)) {
            State::Connecting(q) => q,
            _ => Vec::new(),
        };
        for frame in queued {
            self.on_request_frame(msg.session_id, frame, ctx);
        }
    }
}

impl Handler<Close> for Session {
    type Result = ();
    fn handle(&mut self, msg: Close, ctx: &mut Context<Self>) {
        // The pipeline closed this connection: the session is closed or moved.
        self.close(ctx, msg.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> InboundCodec {
        InboundCodec {
            frames: FrameCodec::default(),
            first: true,
        }
    }

    #[test]
    fn a_word_comes_with_the_bytes_after_it() {
        let mut c = codec();
        let mut src = BytesMut::from(&b"st"[..]);
        assert_eq!(c.decode(&mut src).unwrap(), None);
        src.extend_from_slice(b"mk\0\0\0\0\0\0\x01\xff");
        let rest = BytesMut::from(&b"\0\0\0\0\0\0\x01\xff"[..]);
        assert_eq!(
            c.decode(&mut src).unwrap(),
            Some(Inbound::Word("stmk", rest))
        );
        assert!(src.is_empty());
    }

    #[test]
    fn only_the_first_frame_can_be_a_word() {
        let mut c = codec();
        let mut src = BytesMut::from(&b"\0\0\0\x01\x07ruok"[..]);
        let frame = BytesMut::from(&b"\x07"[..]);
        assert_eq!(c.decode(&mut src).unwrap(), Some(Inbound::Frame(frame)));
        assert!(matches!(
            c.decode(&mut src),
            Err(FrameError::TooLarge { .. })
        ));
    }
}
