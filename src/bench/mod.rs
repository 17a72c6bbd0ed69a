//! The load generator behind `ferrokeeper-bench`: speaks the ZooKeeper protocol
//! (through [`crate::proto`]) to any server and measures throughput, latency
//! and watch fan-out.
//!
//! - [`client`]: one pipelined client session (handshake, send/flush, replies in order).
//! - [`admin`]: setup/teardown helpers (unique root, many connects, pipelined batches).
//! - [`workload`]: op kinds, the weighted mix, the znode layout, request generation.
//! - [`stats`]: HDR histograms and live counters.
//! - [`load`]: the timed load run (warm-up, measured window, progress line).
//! - [`fanout`]: the watch fan-out run.
//! - [`report`]: tables and JSON.
//! - [`scale`]: populate N znodes, start-up/recovery probe, idle sessions.
//! - [`floor`]: what the machine allows with no server: loopback round trip, fdatasync.

pub mod admin;
pub mod client;
pub mod fanout;
pub mod floor;
pub mod load;
pub mod report;
pub mod scale;
pub mod stats;
pub mod workload;
