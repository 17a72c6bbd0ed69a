//! The ZooKeeper wire protocol (jute), one module per record family of `zookeeper.jute`.
//!
//! Decoding is nom (streaming: short input is "need more bytes", malformed input is
//! "bad bytes"); encoding appends big-endian values to a `BytesMut`.

pub mod auth;
pub mod connect;
pub mod data;
pub mod error_code;
pub mod frame;
pub mod header;
pub mod jute;
pub mod multi;
pub mod opcode;
pub mod request;
pub mod requests;
pub mod response;
pub mod responses;
pub mod txn;
pub mod watches;
pub mod wire;
