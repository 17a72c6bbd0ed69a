//! ferrokeeper: a ZooKeeper-compatible coordination server.
//!
//! - [`proto`]: the jute wire protocol (codec).
//! - [`txn`]: transactions, the unit of change.
//! - [`tree`]: the in-memory data tree (sans-IO: apply a txn, get a result).
//! - [`server`]: the actors — sessions, the prep → sync → final pipeline.

pub mod persistence;
pub mod proto;
pub mod tree;
pub mod txn;
