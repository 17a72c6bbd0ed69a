//! The ZooKeeper wire protocol (jute), one module per record family of `zookeeper.jute`.
//!
//! Decoding is nom (streaming: short input is "need more bytes", malformed input is
//! "bad bytes"); encoding appends big-endian values to a `BytesMut`.

pub mod data;
pub mod error_code;
pub mod jute;
pub mod opcode;
