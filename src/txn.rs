//! Transactions: what the prep stage turns every write into, what the log stage
//! makes durable and what the final stage applies to the data tree.
//!
//! The types mirror jute module `org.apache.zookeeper.txn`, so the write-ahead
//! log can store them in Apache ZooKeeper's own format. A txn is idempotent:
//! replaying it onto a tree that already holds it changes nothing visible.

use crate::proto::data::Acl;
use crate::proto::opcode::OpCode;

/// `TxnHeader`: who asked, the zxid that orders it, when, and which kind of txn follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnHeader {
    pub client_id: i64,
    pub cxid: i32,
    pub zxid: i64,
    pub time: i64,
    /// The opcode of the body (`TxnBody::op_code`), kept as on the wire.
    pub op_type: i32,
}

/// A txn with its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    pub header: TxnHeader,
    pub body: TxnBody,
}

/// `CreateTxn`: create a persistent or ephemeral node (opcode create or create2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTxn {
    pub path: String,
    pub data: Option<Vec<u8>>,
    pub acl: Vec<Acl>,
    pub ephemeral: bool,
    pub parent_cversion: i32,
}

/// `CreateContainerTxn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateContainerTxn {
    pub path: String,
    pub data: Option<Vec<u8>>,
    pub acl: Vec<Acl>,
    pub parent_cversion: i32,
}

/// `CreateTTLTxn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTtlTxn {
    pub path: String,
    pub data: Option<Vec<u8>>,
    pub acl: Vec<Acl>,
    pub parent_cversion: i32,
    pub ttl: i64,
}

/// `DeleteTxn` (opcode delete or deleteContainer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTxn {
    pub path: String,
}

/// `SetDataTxn`: `version` is the node's new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetDataTxn {
    pub path: String,
    pub data: Option<Vec<u8>>,
    pub version: i32,
}

/// `CheckVersionTxn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckVersionTxn {
    pub path: String,
    pub version: i32,
}

/// `SetACLTxn`: `version` is the node's new aversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAclTxn {
    pub path: String,
    pub acl: Vec<Acl>,
    pub version: i32,
}

/// `CreateSessionTxn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateSessionTxn {
    pub time_out: i32,
}

/// `CloseSessionTxn`: the ephemerals to delete (empty in logs older than 3.6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloseSessionTxn {
    pub paths_to_delete: Vec<String>,
}

/// `ErrorTxn`: a failed request, carried through the pipeline to its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorTxn {
    pub err: i32,
}

/// Every kind of txn, one variant per opcode that produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnBody {
    Create(CreateTxn),
    Create2(CreateTxn),
    CreateContainer(CreateContainerTxn),
    CreateTtl(CreateTtlTxn),
    Delete(DeleteTxn),
    DeleteContainer(DeleteTxn),
    SetData(SetDataTxn),
    SetAcl(SetAclTxn),
    Check(CheckVersionTxn),
    /// `MultiTxn`: all sub-txns apply, or (when one failed in prep) all are error txns.
    Multi(Vec<TxnBody>),
    CreateSession(CreateSessionTxn),
    CloseSession(CloseSessionTxn),
    Error(ErrorTxn),
}

impl TxnBody {
    /// The opcode written into `TxnHeader.type` (or `Txn.type` inside a multi).
    pub fn op_code(&self) -> OpCode {
        match self {
            TxnBody::Create(_) => OpCode::Create,
            TxnBody::Create2(_) => OpCode::Create2,
            TxnBody::CreateContainer(_) => OpCode::CreateContainer,
            TxnBody::CreateTtl(_) => OpCode::CreateTtl,
            TxnBody::Delete(_) => OpCode::Delete,
            TxnBody::DeleteContainer(_) => OpCode::DeleteContainer,
            TxnBody::SetData(_) => OpCode::SetData,
            TxnBody::SetAcl(_) => OpCode::SetAcl,
            TxnBody::Check(_) => OpCode::Check,
            TxnBody::Multi(_) => OpCode::Multi,
            TxnBody::CreateSession(_) => OpCode::CreateSession,
            TxnBody::CloseSession(_) => OpCode::CloseSession,
            TxnBody::Error(_) => OpCode::Error,
        }
    }
}
