//! The server: the actors and how they are wired.
//!
//! ```text
//! client ─TCP─▶ session ─▶ prep ─▶ sync ─▶ final ─▶ session ─TCP─▶ client
//! ```
//! - [`listener`] accepts connections (TLS ones through [`tls`]) and starts a
//!   [`session`] actor for each; a session authenticates with [`sasl`].
//! - [`prep`] validates and turns writes into txns ([`prep_txn`], [`change_records`]),
//!   and tracks sessions ([`session_tracker`]).
//! - [`sync`] is the log stage: it writes txns out and [`group_commit`]
//!   fsyncs them in batches; [`final_stage`] applies, fires
//!   watches, replies ([`reads`]).
//! - [`snapshotter`] writes fuzzy snapshots off the request path; [`recovery`]
//!   rebuilds the tree at start-up ([`snapshot_load`] reads the snapshot).
//! - [`standalone`] wires the pipeline for a single server.
//! - [`stats`] counts packets, latencies and open connections for the
//!   [`four_letter`] words, the [`admin`] server's HTTP commands and the
//!   [`prometheus`] endpoint.

pub mod admin;
pub mod change_records;
pub mod final_stage;
pub mod four_letter;
pub mod group_commit;
pub mod listener;
pub mod log_metrics;
pub mod pipeline;
pub mod prep;
pub mod prep_txn;
pub mod prometheus;
pub mod reads;
pub mod recovery;
pub mod sasl;
pub mod session;
pub mod session_tracker;
pub mod snapshot_load;
pub mod snapshotter;
pub mod standalone;
pub mod stats;
pub mod sync;
pub mod tls;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::config::Config;
use crate::tree::acl::Providers;
use crate::tree::DataTree;

/// State every actor of one server may read.
pub struct Shared {
    pub config: Config,
    /// Written only by the final stage; prep and four-letter words read it.
    pub tree: Arc<RwLock<DataTree>>,
    connections: Mutex<HashMap<IpAddr, u32>>,
    /// Sessions as applied (createSession / closeSession), for snapshots.
    sessions: Mutex<BTreeMap<i64, i32>>,
    /// Set when the txn log could not be written: writes are refused from then on.
    storage_failed: AtomicBool,
    /// Counters and open connections for the four-letter words.
    pub stats: stats::ServerStats,
    /// `ZooTrace`'s text trace mask, server-wide: `stmk` sets it, `gtmk` reads it.
    trace_mask: AtomicI64,
    /// The snapshot last written or loaded (`last_snapshot`).
    last_snapshot: Mutex<Option<SnapshotInfo>>,
    /// SASL users, when a JAAS file is configured.
    pub sasl: Option<sasl::Login>,
    /// A session must hold an id of one of these schemes before any
    /// request (`enforce.auth.*`); empty when nothing is enforced. Taken
    /// from the config once, as every request checks it.
    pub enforced_auth_schemes: Vec<String>,
}

/// `SnapshotInfo`: a snapshot's zxid and when its file was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub zxid: i64,
    /// The file's modification time, in seconds since the epoch.
    pub timestamp_s: u64,
}

impl SnapshotInfo {
    /// The snapshot of `zxid` in `file`, dated by the file's mtime (now, if unreadable).
    pub fn of_file(zxid: i64, file: &std::path::Path) -> Self {
        let modified = std::fs::metadata(file)
            .and_then(|m| m.modified())
            .unwrap_or_else(|_| std::time::SystemTime::now());
        let timestamp_s = modified
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        SnapshotInfo { zxid, timestamp_s }
    }
}

impl Shared {
    pub fn new(config: Config, tree: DataTree, sessions: BTreeMap<i64, i32>) -> Self {
        Shared {
            enforced_auth_schemes: config.sasl.enforced_schemes(),
            config,
            tree: Arc::new(RwLock::new(tree)),
            connections: Mutex::new(HashMap::new()),
            sessions: Mutex::new(sessions),
            storage_failed: AtomicBool::new(false),
            stats: stats::ServerStats::new(),
            trace_mask: AtomicI64::new(four_letter::DEFAULT_TRACE_MASK),
            last_snapshot: Mutex::new(None),
            sasl: None,
        }
    }

    /// The ACL providers registered besides `ip`.
    pub fn acl_providers(&self) -> Providers {
        Providers {
            digest: self.config.digest_enabled,
            x509: self.config.tls_enabled(),
            sasl: self.config.sasl.provider,
        }
    }

    /// The same, with SASL users.
    pub fn with_sasl(self, sasl: Option<sasl::Login>) -> Self {
        Shared { sasl, ..self }
    }

    pub fn last_snapshot(&self) -> Option<SnapshotInfo> {
        *self.last_snapshot.lock().expect("last snapshot lock")
    }

    pub fn set_last_snapshot(&self, info: SnapshotInfo) {
        *self.last_snapshot.lock().expect("last snapshot lock") = Some(info);
    }

    /// (session id, timeout) of every session the tree knows.
    pub fn sessions(&self) -> Vec<(i64, i32)> {
        let map = self.sessions.lock().expect("sessions lock");
        map.iter().map(|(id, t)| (*id, *t)).collect()
    }

    /// Records the session change a txn makes.
    pub fn track_session(&self, client_id: i64, body: &crate::txn::TxnBody) {
        let mut map = self.sessions.lock().expect("sessions lock");
        recovery::track_sessions(&mut map, client_id, body);
    }

    pub fn storage_failed(&self) -> bool {
        self.storage_failed.load(Ordering::Relaxed)
    }

    pub fn set_storage_failed(&self) {
        self.storage_failed.store(true, Ordering::Relaxed);
    }

    pub fn trace_mask(&self) -> i64 {
        self.trace_mask.load(Ordering::Relaxed)
    }

    pub fn set_trace_mask(&self, mask: i64) {
        self.trace_mask.store(mask, Ordering::Relaxed);
    }

    /// Counts a new connection from `ip`; false when `maxClientCnxns` is reached.
    pub fn connection_opened(&self, ip: IpAddr) -> bool {
        let mut map = self.connections.lock().expect("connections lock");
        let n = map.entry(ip).or_insert(0);
        let max = self.config.max_client_cnxns;
        if max != 0 && *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    pub fn connection_closed(&self, ip: IpAddr) {
        let mut map = self.connections.lock().expect("connections lock");
        if let Some(n) = map.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ip);
            }
        }
    }

    pub fn connection_count(&self) -> u32 {
        self.connections
            .lock()
            .expect("connections lock")
            .values()
            .sum()
    }
}
