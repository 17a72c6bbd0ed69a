//! ferrokeeper: a ZooKeeper-compatible coordination server.
//!
//! - [`proto`]: the jute wire protocol (codec).
//! - [`txn`]: transactions, the unit of change.
//! - [`tree`]: the in-memory data tree (sans-IO: apply a txn, get a result).
//! - [`server`]: the actors — sessions, the prep → sync → final pipeline.
//! - [`persistence`]: Apache ZooKeeper's on-disk format (txn log, snapshots).
//! - [`config`]: `zoo.cfg` parsing.
//! - [`bench`]: the load generator behind `ferrokeeper-bench`.

pub mod bench;
pub mod config;
pub mod persistence;
pub mod proto;
pub mod server;
pub mod tree;
pub mod txn;
