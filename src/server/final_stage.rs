//! The final stage: applies txns to the tree, fires watches and writes every reply.
//!
//! It runs items strictly in pipeline order. For a write it applies the txn,
//! sends the triggered watch notifications, then the reply — so a client always
//! sees a notification before any reply that shows the change (each
//! connection's mailbox is FIFO). It also owns the map from session to the
//! connection that currently holds it.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use bytes::{Bytes, BytesMut};

use crate::proto::data::Acl;
use crate::proto::error_code::ErrorCode;
use crate::proto::header::{ReplyHeader, XID_NOTIFICATION, XID_PING};
use crate::proto::jute::Record;
use crate::proto::multi::{MultiResponse, OpResult};
use crate::proto::opcode::OpCode;
use crate::proto::request::Request;
use crate::proto::response::Response;
use crate::proto::responses::*;
use crate::proto::watches::{keeper_state, WatcherEvent};
use crate::server::pipeline::{Prepared, Work};
use crate::server::prep::{Applied, Prep};
use crate::server::reads;
use crate::server::session::{Close, ConnHandle, Notify, Opened, Reply};
use crate::server::session_tracker::session_password;
use crate::server::Shared;
use crate::tree::{DataTree, TxnResult};
use crate::txn::TxnBody;

/// An item to apply: it has passed the log stage (`from_log`), or carries no
/// txn and was sent by prep directly while the log stage was empty.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Apply {
    pub work: Work,
    pub from_log: bool,
}

pub struct FinalStage {
    shared: Arc<Shared>,
    prep: Addr<Prep>,
    /// Which connection holds each session.
    attached: HashMap<i64, ConnHandle>,
}

fn frame(header: ReplyHeader, body: Option<&Response>) -> Bytes {
    let mut out = BytesMut::with_capacity(64);
    header.encode(&mut out);
    if let Some(body) = body {
        body.encode(&mut out);
    }
    out.freeze()
}

/// The reply body of a successfully applied write.
fn write_response(op: OpCode, result: &TxnResult) -> Response {
    let stat = result.stat.unwrap_or_default();
    match op {
        OpCode::Create => Response::Create(CreateResponse {
            path: result.path.clone(),
        }),
        OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
            Response::Create2(Create2Response {
                path: result.path.clone(),
                stat,
            })
        }
        OpCode::SetData => Response::SetData(SetDataResponse { stat }),
        OpCode::SetAcl => Response::SetAcl(SetAclResponse { stat }),
        OpCode::Multi => Response::Multi(MultiResponse {
            results: result.multi.iter().map(op_result).collect(),
        }),
        _ => Response::Empty,
    }
}

/// One multi result, keyed on the sub-txn's type as `FinalRequestProcessor` does.
fn op_result(r: &TxnResult) -> OpResult {
    match OpCode::from_i32(r.op_type) {
        Some(OpCode::Check) => OpResult::Check,
        Some(OpCode::Create) => OpResult::Create {
            op_type: r.op_type,
            path: r.path.clone(),
            stat: None,
        },
        Some(OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer) => OpResult::Create {
            op_type: r.op_type,
            path: r.path.clone(),
            stat: r.stat,
        },
        Some(OpCode::Delete | OpCode::DeleteContainer) => OpResult::Delete,
        Some(OpCode::SetData) => OpResult::SetData {
            stat: r.stat.unwrap_or_default(),
        },
        _ => OpResult::Error { err: r.err },
    }
}

impl FinalStage {
    pub fn new(shared: Arc<Shared>, prep: Addr<Prep>) -> Self {
        FinalStage {
            shared,
            prep,
            attached: HashMap::new(),
        }
    }

    /// Sends a watch event; the session drops it unless its identities may read
    /// the node (`acl`, empty = unchecked), as ZooKeeper 3.8.4+ does (CVE-2024-23944).
    fn notify(&self, session: i64, event_type: i32, path: String, acl: Arc<[Acl]>) {
        if let Some(conn) = self.attached.get(&session) {
            let header = ReplyHeader {
                xid: XID_NOTIFICATION,
                zxid: -1,
                err: 0,
            };
            let mut out = header.to_bytes();
            WatcherEvent {
                event_type,
                state: keeper_state::SYNC_CONNECTED,
                path,
            }
            .encode(&mut out);
            conn.addr.do_send(Notify {
                frame: out.freeze(),
                acl,
            });
        }
    }

    fn detach(&mut self, tree: &mut DataTree, session_id: i64, reason: &'static str) {
        if let Some(old) = self.attached.remove(&session_id) {
            old.addr.do_send(Close(reason));
        }
        tree.remove_watcher(session_id);
    }

    fn process(&mut self, p: Prepared) {
        let shared = self.shared.clone();
        let mut tree = shared.tree.write().expect("tree lock");
        let op = OpCode::from_i32(p.op_type);
        let mut err = p.error.map_or(0, ErrorCode::code);
        let mut body = None;
        if let Some(txn) = &p.txn {
            let applied = tree.apply(txn);
            self.shared.track_session(txn.header.client_id, &txn.body);
            self.prep.do_send(Applied(txn.header.zxid));
            for e in applied.events {
                self.notify(e.watcher, e.event_type, e.path, e.acl);
            }
            match &txn.body {
                TxnBody::Error(e) => err = e.err,
                TxnBody::CreateSession(s) => {
                    if let Some(conn) = p.conn {
                        self.attached.insert(p.session_id, conn.clone());
                        conn.addr.do_send(Opened {
                            session_id: p.session_id,
                            timeout_ms: s.time_out,
                            passwd: session_password(p.session_id).to_vec(),
                        });
                    }
                    return;
                }
                // A failed multi still answers err 0 with per-op results.
                _ if applied.result.err != 0 && op != Some(OpCode::Multi) => {
                    err = applied.result.err
                }
                _ => body = op.map(|op| write_response(op, &applied.result)),
            }
        } else if err == 0 {
            if let Some(request) = &p.request {
                match request {
                    Request::SetWatches(w) => {
                        let fired = tree.set_watches(
                            w.relative_zxid,
                            &w.data_watches,
                            &w.exist_watches,
                            &w.child_watches,
                            &[],
                            &[],
                            p.session_id,
                        );
                        for e in fired {
                            self.notify(e.watcher, e.event_type, e.path, e.acl);
                        }
                    }
                    Request::SetWatches2(w) => {
                        let fired = tree.set_watches(
                            w.relative_zxid,
                            &w.data_watches,
                            &w.exist_watches,
                            &w.child_watches,
                            &w.persistent_watches,
                            &w.persistent_recursive_watches,
                            p.session_id,
                        );
                        for e in fired {
                            self.notify(e.watcher, e.event_type, e.path, e.acl);
                        }
                    }
                    _ => match reads::read(&mut tree, p.session_id, &p.auth, request) {
                        Ok(Response::Empty) => {}
                        Ok(r) => body = Some(r),
                        Err(e) => err = e.code(),
                    },
                }
            }
        }
        // Unknown opcodes never reach the tree: Java answers them with zxid -1.
        let zxid = if p.close_after {
            -1
        } else {
            tree.last_processed_zxid()
        };
        let closing = op == Some(OpCode::CloseSession) && err == 0;
        if closing {
            tree.remove_watcher(p.session_id);
        }
        drop(tree);
        let xid = if op == Some(OpCode::Ping) {
            XID_PING
        } else {
            p.xid
        };
        if let Some(conn) = &p.conn {
            let header = ReplyHeader { xid, zxid, err };
            conn.addr.do_send(Reply(frame(header, body.as_ref())));
            if p.close_after {
                conn.addr.do_send(Close("unimplemented request"));
            }
        }
        if closing {
            if let Some(old) = self.attached.remove(&p.session_id) {
                old.addr.do_send(Close("session closed"));
            }
        }
    }
}

impl Actor for FinalStage {
    type Context = Context<Self>;
}

impl Handler<Apply> for FinalStage {
    type Result = ();
    fn handle(&mut self, Apply { work, from_log }: Apply, _: &mut Context<Self>) {
        if let (true, Work::Request(p)) = (from_log, &work) {
            if let Some(conn) = &p.conn {
                conn.left_log();
            }
        }
        match work {
            Work::Request(p) => self.process(*p),
            Work::Attach {
                session_id,
                timeout_ms,
                conn,
            } => {
                let shared = self.shared.clone();
                let mut tree = shared.tree.write().expect("tree lock");
                if self.attached.get(&session_id).map(|c| c.id) != Some(conn.id) {
                    self.detach(
                        &mut tree,
                        session_id,
                        "session reconnected on another connection",
                    );
                }
                self.attached.insert(session_id, conn.clone());
                conn.addr.do_send(Opened {
                    session_id,
                    timeout_ms,
                    passwd: session_password(session_id).to_vec(),
                });
            }
            Work::Refuse { conn } => conn.addr.do_send(Opened {
                session_id: 0,
                timeout_ms: 0,
                passwd: vec![0; 16],
            }),
            Work::Detach {
                session_id,
                conn_id,
            } => {
                if self.attached.get(&session_id).map(|c| c.id) == Some(conn_id) {
                    self.attached.remove(&session_id);
                    self.shared
                        .tree
                        .write()
                        .expect("tree lock")
                        .remove_watcher(session_id);
                }
            }
        }
    }
}
