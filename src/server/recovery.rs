//! Start-up recovery: the newest valid snapshot, then the logs after it
//! (`FileTxnSnapLog.restore`). Runs before the pipeline starts.
//!
//! A torn last entry is cut off with a log line; corruption before the tail, a
//! missing log or logs without any snapshot stop start-up with an error that
//! names the file, never a silent loss.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::persistence::{
    list_files, load_valid_snapshot, replay, DataDirs, PersistError, ZxidDigest, DIGEST_VERSION,
    LOG_PREFIX, UNFINISHED_LOG_PREFIX,
};
use crate::server::log_metrics::{millis, LogMetrics};
use crate::server::snapshot_load::load_snapshot;
use crate::server::SnapshotInfo;
use crate::tree::DataTree;
use crate::txn::TxnBody;

/// What recovery rebuilt.
pub struct Recovered {
    pub tree: DataTree,
    /// Live sessions with their timeouts (they may reconnect, or expire).
    pub sessions: BTreeMap<i64, i32>,
    /// The valid snapshot loaded; `None` for a new data dir.
    pub snapshot: Option<SnapshotInfo>,
    /// How long loading took, for `mntr`.
    pub timings: StartupTimings,
}

/// What `FileTxnSnapLog.restore` reports as `startup_snap_load_time`,
/// `startup_txns_loaded` and `startup_txns_load_time`.
pub struct StartupTimings {
    pub snap_load: Duration,
    /// Txns replayed, and how long that took (`None` for a new data dir,
    /// which ZooKeeper does not count either).
    pub txns: Option<(u64, Duration)>,
}

impl StartupTimings {
    /// Adds these timings to `metrics` (once, at start-up).
    pub fn record(&self, metrics: &LogMetrics) {
        metrics.startup_snap_load_time.add(millis(self.snap_load));
        if let Some((txns, took)) = self.txns {
            metrics.startup_txns_loaded.add(txns);
            metrics.startup_txns_load_time.add(millis(took));
        }
    }
}

/// Tracks the sessions a txn opens or closes (`ZKDatabase.sessionsWithTimeouts`).
pub fn track_sessions(sessions: &mut BTreeMap<i64, i32>, client_id: i64, body: &TxnBody) {
    match body {
        TxnBody::CreateSession(s) => {
            sessions.insert(client_id, s.time_out);
        }
        TxnBody::CloseSession(_) => {
            sessions.remove(&client_id);
        }
        _ => {}
    }
}

/// Digest checks during recovery, as `DataTree.compareSnapshotDigests` and
/// `compareDigest`: a mismatch is logged and counted, never fatal.
#[derive(Default)]
struct DigestCheck {
    /// The snapshot's digest while replay has not reached its zxid (fuzzy).
    pending: Option<ZxidDigest>,
    compared: u64,
    mismatches: u64,
}

impl DigestCheck {
    fn compare(&mut self, zxid: i64, expected: i64, tree: &DataTree) {
        self.compared += 1;
        let actual = tree.tree_digest();
        if expected != actual {
            self.mismatches += 1;
            tracing::warn!(
                "Digests are not matching. Value is Zxid. 0x{zxid:x}: expected {expected}, tree {actual}"
            );
        } else {
            tracing::debug!("Digests are matching for Zxid: {zxid:x}, digest {actual}");
        }
    }

    /// After loading a snapshot: a digest for the snapshot's own zxid is
    /// compared at once, a later one when replay reaches it.
    /// Until replay passes that zxid the tree logs no digest.
    fn snapshot_loaded(&mut self, digest: Option<ZxidDigest>, snap_zxid: i64, tree: &mut DataTree) {
        self.pending = digest
            .filter(|d| !d.is_empty() && d.zxid >= snap_zxid && d.digest_version == DIGEST_VERSION);
        if let Some(d) = self.pending {
            tree.quiet_digest_log_through(d.zxid);
        }
        if let Some(d) = self.pending.filter(|d| d.zxid == snap_zxid) {
            self.compare(d.zxid, d.digest, tree);
            self.pending = None;
        }
    }

    /// After replaying one entry.
    fn replayed(&mut self, zxid: i64, logged: Option<i64>, tree: &DataTree) {
        if let Some(d) = self.pending {
            if zxid != d.zxid {
                return; // still fuzzy
            }
            self.compare(d.zxid, d.digest, tree);
            self.pending = None;
        }
        if let Some(expected) = logged {
            self.compare(zxid, expected, tree);
        }
    }
}

/// Deletes what a crash left unfinished: `snapshot.*.tmp` files, snapshots
/// interrupted before their rename (a finished snapshot never has the
/// suffix), and `unfinished.log.*` files, logs interrupted before their
/// header was written and the file renamed (they hold no txn).
fn remove_unfinished_files(dirs: &DataDirs) {
    remove_files_named(&dirs.snap_dir, "snapshot", |name| {
        name.starts_with("snapshot.") && name.ends_with(".tmp")
    });
    remove_files_named(&dirs.log_dir, "log file", |name| {
        name.starts_with(UNFINISHED_LOG_PREFIX)
    });
}

/// Deletes the files in `dir` whose names `unfinished` picks, with a warning.
fn remove_files_named(dir: &Path, what: &str, unfinished: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if unfinished(&entry.file_name().to_string_lossy()) {
            tracing::warn!("removing unfinished {what} {}", entry.path().display());
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!("cannot remove {}: {e}", entry.path().display());
            }
        }
    }
}

/// Rebuilds the tree and sessions from `dataDir` / `dataLogDir`.
pub fn recover(config: &Config, dirs: &DataDirs) -> Result<Recovered, PersistError> {
    let started = Instant::now();
    remove_unfinished_files(dirs);
    let fresh = || DataTree::with_extended_types(config.extended_types_enabled);
    let mut sessions = BTreeMap::new();
    let mut digests = DigestCheck::default();
    let mut snapshot = None;
    let loaded = load_valid_snapshot(&dirs.snap_dir, |path| load_snapshot(path, fresh()))?;
    let (mut tree, snap_zxid, anchor) = match loaded {
        Some(snap) => {
            let mut snap = snap?;
            snapshot = Some(SnapshotInfo::of_file(snap.zxid, &snap.path));
            snap.tree.set_last_processed_zxid(snap.zxid);
            digests.snapshot_loaded(snap.digest, snap.zxid, &mut snap.tree);
            sessions.extend(snap.sessions.iter().copied());
            tracing::info!(
                "Reading snapshot {} ({} nodes, {} sessions)",
                snap.path.display(),
                snap.nodes,
                snap.sessions.len()
            );
            (snap.tree, snap.zxid, snap.path)
        }
        None => {
            if !list_files(&dirs.log_dir, LOG_PREFIX)?.is_empty() {
                if !config.snapshot_trust_empty {
                    return Err(PersistError::Invalid(format!(
                        "no snapshot found in {}, but there are log entries in {}: refusing to start \
                         (snapshot.trust.empty=true replays the logs alone, for data dirs of ZooKeeper 3.4)",
                        dirs.snap_dir.display(),
                        dirs.log_dir.display()
                    )));
                }
                tracing::warn!(
                    "No snapshot found in {}, but there are log entries in {}. This should only be allowed during upgrading.",
                    dirs.snap_dir.display(),
                    dirs.log_dir.display()
                );
            }
            (fresh(), 0, dirs.snap_dir.clone())
        }
    };
    let snap_load = started.elapsed();
    let outcome = replay(&dirs.log_dir, snap_zxid, anchor, |entry| {
        track_sessions(&mut sessions, entry.txn.header.client_id, &entry.txn.body);
        tree.apply(&entry.txn);
        let logged = entry
            .digest
            .filter(|d| d.version == DIGEST_VERSION)
            .map(|d| d.tree_digest);
        digests.replayed(entry.txn.header.zxid, logged, &tree);
        Ok(())
    })?;
    if let Some(torn) = &outcome.torn_tail {
        torn.repair()?;
    }
    if let Some(d) = digests.pending {
        tracing::warn!(
            "Highest txn zxid 0x{:x} is not covering the snapshot digest zxid 0x{:x}",
            tree.last_processed_zxid(),
            d.zxid
        );
    }
    tracing::info!(
        "Digests compared on recovery: {}, mismatches: {}, tree digest {}",
        digests.compared,
        digests.mismatches,
        tree.tree_digest()
    );
    tracing::info!(
        "{} txns loaded from the log in {:?}; last zxid 0x{:x}; dataDir {}",
        outcome.txns,
        started.elapsed(),
        tree.last_processed_zxid(),
        config.data_dir.display()
    );
    let timings = StartupTimings {
        snap_load,
        txns: (snapshot.is_some() || outcome.txns > 0)
            .then(|| (outcome.txns, started.elapsed() - snap_load)),
    };
    Ok(Recovered {
        tree,
        sessions,
        snapshot,
        timings,
    })
}
