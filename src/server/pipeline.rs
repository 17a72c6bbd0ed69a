//! The work items that flow prep → sync → final, in one total order.
//!
//! Everything a connection asks for passes through here — reads too — so
//! replies leave in request order and a reply never overtakes a change it
//! depends on. Session attach/detach travel the same road so final's view of
//! which connection holds a session changes in order with the requests.

use std::sync::Arc;

use crate::proto::data::Id;
use crate::proto::error_code::ErrorCode;
use crate::proto::request::Request;
use crate::server::session::ConnHandle;
use crate::txn::Txn;

/// A request after prep: a txn for writes, the decoded request for reads.
pub struct Prepared {
    pub session_id: i64,
    pub xid: i32,
    /// The opcode from the request header.
    pub op_type: i32,
    pub request: Option<Request>,
    pub txn: Option<Txn>,
    /// An error found before final (e.g. SessionExpired for a read).
    pub error: Option<ErrorCode>,
    /// Close the connection after the reply (unknown opcodes).
    pub close_after: bool,
    /// Where the reply goes; `None` for server-made requests (expiry).
    pub conn: Option<ConnHandle>,
    pub auth: Arc<Vec<Id>>,
    /// With a txn: the tree digest once it is applied, which the log stage
    /// writes after the entry (`Request.getTxnDigest`). Prep sets it.
    pub tree_digest: Option<i64>,
}

/// One item of the pipeline.
pub enum Work {
    Request(Box<Prepared>),
    /// A reconnect was accepted: this connection now holds the session.
    Attach {
        session_id: i64,
        timeout_ms: i32,
        conn: ConnHandle,
    },
    /// A reconnect was refused (expired session or wrong password).
    Refuse {
        conn: ConnHandle,
    },
    /// A connection of this session went away.
    Detach {
        session_id: i64,
        conn_id: u64,
    },
}

impl Work {
    /// The zxid of the txn this item carries, if any.
    pub fn zxid(&self) -> Option<i64> {
        match self {
            Work::Request(p) => p.txn.as_ref().map(|t| t.header.zxid),
            _ => None,
        }
    }
}
