//! The prep stage: validates every request and turns each write into a txn.
//!
//! It is the single owner of the zxid counter, the outstanding changes and the
//! session tracker, so session create/reopen/expiry are ordered with requests.
//! A failed write becomes an error txn (it still takes a zxid, as in
//! `PrepRequestProcessor`); only the final stage writes reply headers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::proto::connect::ConnectRequest;
use crate::proto::data::Id;
use crate::proto::error_code::ErrorCode;
use crate::proto::multi::MultiOp;
use crate::proto::opcode::OpCode;
use crate::proto::request::{DecodeError, Request};
use crate::server::change_records::ChangeRecords;
use crate::server::final_stage::{Apply, FinalStage};
use crate::server::pipeline::{Prepared, Work};
use crate::server::prep_txn::{SingleWrite, TxnBuilder};
use crate::server::session::{Close, ConnHandle};
use crate::server::session_tracker::{session_password, SessionTracker};
use crate::server::sync::SyncStage;
use crate::server::Shared;
use crate::txn::{CreateSessionTxn, ErrorTxn, Txn, TxnBody, TxnHeader};

/// The server id in a standalone server's session ids.
const STANDALONE_SERVER_ID: u8 = 1;

/// A client's handshake.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    pub request: ConnectRequest,
    pub conn: ConnHandle,
}

/// One request of an open session.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Submit {
    pub session_id: i64,
    pub xid: i32,
    pub op_type: i32,
    pub request: Result<Request, DecodeError>,
    pub conn: ConnHandle,
    pub auth: Arc<Vec<Id>>,
}

/// A connection of a session closed (the session lives on until it expires).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnected {
    pub session_id: i64,
    pub conn_id: u64,
}

/// Final applied every txn up to this zxid.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Applied(pub i64);

pub struct Prep {
    shared: Arc<Shared>,
    next: SyncStage,
    /// Items without a txn skip the log stage when it is empty.
    last: Addr<FinalStage>,
    changes: ChangeRecords,
    sessions: SessionTracker,
    last_zxid: i64,
    /// The tree digest once every txn prepared so far is applied.
    pending_digest: i64,
    started: Instant,
}

/// Opcodes that produce a txn (`Request.isQuorum` for the client-facing ones).
fn is_write(op: OpCode) -> bool {
    matches!(
        op,
        OpCode::Create
            | OpCode::Create2
            | OpCode::CreateContainer
            | OpCode::CreateTtl
            | OpCode::Delete
            | OpCode::SetData
            | OpCode::SetAcl
            | OpCode::Multi
            | OpCode::Reconfig
            | OpCode::CloseSession
    )
}

/// `Request.isValid`: anything else is answered Unimplemented and the connection closed.
fn is_valid(op: Option<OpCode>) -> bool {
    !matches!(
        op,
        None | Some(OpCode::Notification) | Some(OpCode::Check) | Some(OpCode::Error)
    )
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Prep {
    /// `restored`: sessions recovered from disk; they may resume, or expire.
    pub fn new(
        shared: Arc<Shared>,
        next: SyncStage,
        last: Addr<FinalStage>,
        restored: BTreeMap<i64, i32>,
    ) -> Self {
        let (last_zxid, pending_digest) = {
            let tree = shared.tree.read().expect("tree lock");
            (tree.last_processed_zxid(), tree.tree_digest())
        };
        // A standalone ZooKeeperServer puts server id 1 in the top byte of
        // its session ids (`createSessionTrackerServerId`).
        let mut sessions = SessionTracker::new(
            shared.config.tick_time_ms,
            STANDALONE_SERVER_ID,
            wall_clock_ms(),
        );
        for (id, timeout) in restored {
            sessions.track(id, timeout, 0);
        }
        Prep {
            shared,
            next,
            last,
            changes: ChangeRecords::default(),
            sessions,
            last_zxid,
            pending_digest,
            started: Instant::now(),
        }
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn next_header(&mut self, session_id: i64, xid: i32, op: OpCode) -> TxnHeader {
        self.last_zxid += 1;
        TxnHeader {
            client_id: session_id,
            cxid: xid,
            zxid: self.last_zxid,
            time: wall_clock_ms(),
            op_type: op as i32,
        }
    }

    /// Hands an item on. A request without a txn skips the log stage when its
    /// connection has nothing in there: it cannot overtake anything of its own,
    /// and it need not wait for other sessions' fsyncs (it is ordered before
    /// their still-unapplied writes, which is sequentially consistent).
    fn send(&self, mut work: Work) {
        if let Work::Request(p) = &mut work {
            if p.txn.is_some() {
                p.tree_digest = Some(self.pending_digest);
            }
        }
        let conn = match &work {
            Work::Request(p) => p.conn.as_ref(),
            _ => None,
        };
        match conn {
            Some(conn) if work.zxid().is_none() && conn.log_is_drained() => {
                self.last.do_send(Apply {
                    work,
                    from_log: false,
                });
            }
            _ => {
                if let Some(conn) = conn {
                    conn.entered_log();
                }
                self.next.log(work);
            }
        }
    }

    fn prepared(&self, msg: &Submit) -> Prepared {
        Prepared {
            session_id: msg.session_id,
            xid: msg.xid,
            op_type: msg.op_type,
            request: None,
            txn: None,
            error: None,
            close_after: false,
            conn: Some(msg.conn.clone()),
            auth: msg.auth.clone(),
            tree_digest: None,
        }
    }

    /// Builds the txn for a write; a failure becomes an error txn.
    fn write_txn(
        &mut self,
        session_id: i64,
        xid: i32,
        op: OpCode,
        request: &Request,
        auth: &[Id],
    ) -> Txn {
        let mut header = self.next_header(session_id, xid, op);
        let tree = self.shared.tree.clone();
        let tree = tree.read().expect("tree lock");
        if self.changes.is_empty() {
            // Everything prepared is applied: start again from the tree's own sum.
            self.pending_digest = tree.tree_digest();
        }
        let mut builder = TxnBuilder {
            tree: &tree,
            changes: &mut self.changes,
            zxid: header.zxid,
            time: header.time,
            session_id,
            auth,
            digest: self.pending_digest,
            enforce_quota: self.shared.config.enforce_quota,
            acl_providers: self.shared.acl_providers(),
        };
        let body = match request {
            Request::Create(r) | Request::Create2(r) | Request::CreateContainer(r) => {
                builder.single(op, SingleWrite::Create(r))
            }
            Request::CreateTtl(r) => builder.single(op, SingleWrite::CreateTtl(r)),
            Request::Delete(r) => builder.single(op, SingleWrite::Delete(r)),
            Request::SetData(r) => builder.single(op, SingleWrite::SetData(r)),
            Request::SetAcl(r) => builder.single(op, SingleWrite::SetAcl(r)),
            // Reads inside a write multi make Java's prep throw: MarshallingError.
            Request::Multi(m)
                if m.ops
                    .iter()
                    .any(|o| matches!(o, MultiOp::GetData(_) | MultiOp::GetChildren(_))) =>
            {
                Err(ErrorCode::MarshallingError)
            }
            Request::Multi(m) => Ok(builder.multi(&m.ops)),
            Request::CloseSession => Ok(builder.close_session()),
            _ => Err(ErrorCode::ReconfigDisabled),
        };
        if body.is_ok() {
            self.pending_digest = builder.digest;
        }
        drop(tree);
        let body = body.unwrap_or_else(|code| {
            header.op_type = OpCode::Error as i32;
            TxnBody::Error(ErrorTxn { err: code.code() })
        });
        Txn { header, body }
    }

    fn error_txn(&mut self, session_id: i64, xid: i32, code: ErrorCode) -> Txn {
        let header = self.next_header(session_id, xid, OpCode::Error);
        Txn {
            header,
            body: TxnBody::Error(ErrorTxn { err: code.code() }),
        }
    }

    /// closeSession made by the server (expiry), with no connection to answer.
    fn expire(&mut self, session_id: i64) {
        let txn = self.write_txn(
            session_id,
            0,
            OpCode::CloseSession,
            &Request::CloseSession,
            &[],
        );
        self.sessions.remove(session_id);
        self.send(Work::Request(Box::new(Prepared {
            session_id,
            xid: 0,
            op_type: OpCode::CloseSession as i32,
            request: None,
            txn: Some(txn),
            error: None,
            close_after: false,
            conn: None,
            auth: Arc::new(Vec::new()),
            tree_digest: None,
        })));
    }
}

impl Actor for Prep {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let tick = Duration::from_millis(self.shared.config.tick_time_ms.max(1) as u64);
        ctx.run_interval(tick, |prep, _| {
            let now = prep.now();
            if prep.shared.storage_failed() {
                return; // expiring would need a closeSession txn in the log
            }
            for id in prep.sessions.expire(now) {
                tracing::info!("Expiring session 0x{id:x}, timeout exceeded");
                prep.expire(id);
            }
        });
    }
}

impl Handler<Connect> for Prep {
    type Result = ();
    fn handle(&mut self, msg: Connect, _: &mut Context<Self>) {
        let req = msg.request;
        let last = self
            .shared
            .tree
            .read()
            .expect("tree lock")
            .last_processed_zxid();
        if req.last_zxid_seen > last {
            tracing::info!(
                "Refusing session(0x{:x}) request for client as it has seen zxid 0x{:x} our last zxid is 0x{:x} client must try another server",
                req.session_id,
                req.last_zxid_seen,
                last
            );
            msg.conn.addr.do_send(Close("client has seen a newer zxid"));
            return;
        }
        let cfg = &self.shared.config;
        let timeout = req
            .time_out
            .max(cfg.min_session_timeout_ms)
            .min(cfg.max_session_timeout_ms);
        let now = self.now();
        if req.session_id == 0 && self.shared.storage_failed() {
            tracing::error!("Refusing a new session: the transaction log cannot be written");
            msg.conn.addr.do_send(Close("storage failure"));
            return;
        }
        if req.session_id == 0 {
            let id = self.sessions.create_session(timeout, now);
            let header = self.next_header(id, 0, OpCode::CreateSession);
            let txn = Txn {
                header,
                body: TxnBody::CreateSession(CreateSessionTxn { time_out: timeout }),
            };
            tracing::debug!("new session 0x{id:x}, timeout {timeout} ms");
            self.send(Work::Request(Box::new(Prepared {
                session_id: id,
                xid: 0,
                op_type: OpCode::CreateSession as i32,
                request: None,
                txn: Some(txn),
                error: None,
                close_after: false,
                conn: Some(msg.conn),
                auth: Arc::new(Vec::new()),
                tree_digest: None,
            })));
            return;
        }
        let id = req.session_id;
        if req.passwd.as_slice() != session_password(id) {
            tracing::info!("Invalid session 0x{id:x}: wrong password");
            self.send(Work::Refuse { conn: msg.conn });
        } else if !self.sessions.is_active(id) {
            tracing::info!("Invalid session 0x{id:x}: expired");
            self.send(Work::Refuse { conn: msg.conn });
        } else {
            self.sessions.set_timeout(id, timeout, now);
            self.send(Work::Attach {
                session_id: id,
                timeout_ms: timeout,
                conn: msg.conn,
            });
        }
    }
}

impl Handler<Submit> for Prep {
    type Result = ();
    fn handle(&mut self, msg: Submit, _: &mut Context<Self>) {
        let op = OpCode::from_i32(msg.op_type);
        let mut out = self.prepared(&msg);
        let now = self.now();
        let live = self.sessions.touch(msg.session_id, now);
        if !is_valid(op) {
            tracing::warn!("Received packet at server of unknown type {}", msg.op_type);
            out.error = Some(ErrorCode::Unimplemented);
            out.close_after = true;
            return self.send(Work::Request(Box::new(out)));
        }
        let op = op.expect("valid opcodes are known");
        let request = match msg.request {
            Ok(r) => r,
            Err(DecodeError::Unsupported(_)) if op == OpCode::Reconfig => {
                out.txn =
                    Some(self.error_txn(msg.session_id, msg.xid, ErrorCode::ReconfigDisabled));
                return self.send(Work::Request(Box::new(out)));
            }
            Err(e) => {
                tracing::error!("Failed to process request of type {}: {e}", msg.op_type);
                if is_write(op) {
                    out.txn =
                        Some(self.error_txn(msg.session_id, msg.xid, ErrorCode::MarshallingError));
                } else {
                    out.error = Some(ErrorCode::MarshallingError);
                }
                return self.send(Work::Request(Box::new(out)));
            }
        };
        if op == OpCode::CloseSession {
            self.sessions.remove(msg.session_id);
        } else if !live {
            if is_write(op) {
                out.txn = Some(self.error_txn(msg.session_id, msg.xid, ErrorCode::SessionExpired));
            } else {
                out.error = Some(ErrorCode::SessionExpired);
            }
            out.request = Some(request);
            return self.send(Work::Request(Box::new(out)));
        }
        if is_write(op) && self.shared.storage_failed() {
            // Nothing can be made durable: refuse without taking a zxid.
            out.error = Some(ErrorCode::SystemError);
        } else if is_write(op) {
            out.txn = Some(self.write_txn(msg.session_id, msg.xid, op, &request, &msg.auth));
        }
        out.request = Some(request);
        self.send(Work::Request(Box::new(out)));
    }
}

impl Handler<Disconnected> for Prep {
    type Result = ();
    fn handle(&mut self, msg: Disconnected, _: &mut Context<Self>) {
        self.send(Work::Detach {
            session_id: msg.session_id,
            conn_id: msg.conn_id,
        });
    }
}

impl Handler<Applied> for Prep {
    type Result = ();
    fn handle(&mut self, msg: Applied, _: &mut Context<Self>) {
        self.changes.applied(msg.0);
    }
}
