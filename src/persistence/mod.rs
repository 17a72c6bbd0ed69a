//! Durable storage in Apache ZooKeeper's own on-disk format, so a data
//! directory moves between ferrokeeper and Apache ZooKeeper in both directions.
//!
//! - [`txnlog`]: the write-ahead log writer (`FileTxnLog.append/commit/rollLog`):
//!   `dataLogDir/version-2/log.<hex zxid>`, group commit with one fsync per batch,
//!   preallocation in `preAllocSize` blocks.
//! - [`log_reader`]: replays the logs after a zxid (`FileTxnIterator`), telling a
//!   torn tail (crash mid-write: cut it off) from corruption before the tail and
//!   from a missing log (both: refuse to start).
//! - [`entry`]: the sans-IO encoding of one log entry and of the file header.
//! - [`snapshot`]: fuzzy snapshots `dataDir/version-2/snapshot.<hex zxid>[.gz|.snappy]`
//!   (`FileSnap`, `SerializeUtils.serializeSnapshot`, `DataTree.serialize`).
//! - [`snapstream`]: the checked/gzip/snappy streams a snapshot is written through.
//! - [`digest`]: the tree digest of `DigestCalculator` (3.6+), optional in logs and snapshots.
//! - [`purge`]: retention as `PurgeTxnLog.purge` (autopurge).
//! - [`roll_policy`]: when the log rolls, and when a snapshot is due.
//!
//! Everything here is plain blocking `std::fs` IO: run it off the event loop.

pub mod digest;
mod direct_write;
pub mod entry;
pub mod log_reader;
pub mod purge;
mod roll_policy;
pub mod snapshot;
pub mod snapstream;
pub mod txnlog;
mod write_behind;

use std::path::{Path, PathBuf};

pub use digest::{node_digest, ZxidDigest, DIGEST_VERSION};
pub use entry::{FileHeader, LogEntry, SNAP_MAGIC, TXNLOG_MAGIC};
pub use log_reader::{replay, truncate_at, LogReplay, TornTail, TxnLogIter};
pub use purge::purge;
pub use roll_policy::{Roll, RollPolicy};
pub use snapshot::{
    find_valid_snapshot, load_valid_snapshot, put_node, read_snapshot, save_snapshot, Snapshot,
    SnapshotNode, SnapshotReader, SnapshotSource, SnapshotTrailer, SnapshotWriter,
};
pub use snapstream::Compression;
pub use txnlog::{PendingSync, TxnLogOptions, TxnLogWriter};
pub use write_behind::drop_cached_pages;

pub use crate::proto::txn::TxnDigest;

/// The sub-directory both ZooKeeper and ferrokeeper keep their files in
/// (`FileTxnSnapLog.version + VERSION`).
pub const VERSION_DIR: &str = "version-2";
/// `FileTxnLog.LOG_FILE_PREFIX`.
pub const LOG_PREFIX: &str = "log";
/// `FileSnap.SNAPSHOT_FILE_PREFIX`.
pub const SNAPSHOT_PREFIX: &str = "snapshot";

/// Errors of the storage layer. Every one names the file (and, for bad bytes,
/// the offset) so an operator can find it.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad bytes before the tail of the log, or anywhere in a snapshot.
    #[error("{file} is corrupt at offset {offset}: {reason}")]
    Corrupt {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    /// Transactions are missing between two points that should be contiguous.
    #[error("missing transaction log: {after} ends at zxid {last_zxid:#x} but the next txn, in {next_file}, is zxid {next_zxid:#x}")]
    Gap {
        /// The snapshot or log file the sequence broke after.
        after: PathBuf,
        last_zxid: i64,
        next_file: PathBuf,
        next_zxid: i64,
    },
    /// Snapshot files exist but none of them could be read.
    #[error("no valid snapshot in {dir} (tried {tried:?})")]
    NoValidSnapshot { dir: PathBuf, tried: Vec<PathBuf> },
    /// A previous write or fsync failed: the log's state on disk is unknown, so it
    /// accepts nothing more (a restart recovers from what is on disk).
    #[error("transaction log {0} failed earlier and accepts no more writes")]
    Failed(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = PersistError> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where the files live: `dataDir/version-2` for snapshots and
/// `dataLogDir/version-2` for logs (`dataLogDir` defaults to `dataDir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDirs {
    pub snap_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl DataDirs {
    /// The `version-2` directories under `data_dir` / `data_log_dir` (not created).
    pub fn new(data_dir: impl AsRef<Path>, data_log_dir: Option<&Path>) -> DataDirs {
        let data_dir = data_dir.as_ref();
        DataDirs {
            snap_dir: data_dir.join(VERSION_DIR),
            log_dir: data_log_dir.unwrap_or(data_dir).join(VERSION_DIR),
        }
    }

    /// Creates both directories if missing.
    pub fn create(&self) -> Result<()> {
        for d in [&self.snap_dir, &self.log_dir] {
            std::fs::create_dir_all(d).map_err(io_err(d))?;
        }
        Ok(())
    }
}

/// `Util.makeLogName`: `log.<lower-case hex zxid>`, no padding.
pub fn log_file_name(zxid: i64) -> String {
    format!("{LOG_PREFIX}.{:x}", zxid)
}

/// What a new log file is called until its header is written: a crash in
/// between leaves `unfinished.log.<hex zxid>`, which neither ZooKeeper nor
/// ferrokeeper takes for a log (recovery removes it), instead of an empty
/// `log.<hex zxid>`, on which ZooKeeper 3.8 fails to start (`EOFException`
/// reading its header).
pub fn unfinished_log_file_name(zxid: i64) -> String {
    format!("{UNFINISHED_LOG_PREFIX}{}", log_file_name(zxid))
}

/// The start of [`unfinished_log_file_name`]'s names.
pub const UNFINISHED_LOG_PREFIX: &str = "unfinished.log.";

/// `Util.makeSnapshotName`: `snapshot.<hex zxid>` plus `.gz` / `.snappy`.
pub fn snapshot_file_name(zxid: i64, compression: Compression) -> String {
    format!(
        "{SNAPSHOT_PREFIX}.{:x}{}",
        zxid,
        compression.file_extension()
    )
}

/// `Util.getZxidFromName`: the hex zxid after `prefix.`, ignoring any further
/// `.ext`. `None` for other names. Java's `Long.parseLong(s, 16)` rejects values
/// over `i64::MAX`; so does this.
pub fn zxid_from_name(name: &str, prefix: &str) -> Option<i64> {
    let mut parts = name.split('.');
    if parts.next()? != prefix {
        return None;
    }
    let hex = parts.next()?;
    if hex.is_empty() {
        return None;
    }
    i64::from_str_radix(hex, 16).ok()
}

/// The files `prefix.<zxid>[...]` in `dir`, sorted by zxid ascending
/// (`Util.sortDataDir`). A missing directory has no files.
pub fn list_files(dir: &Path, prefix: &str) -> Result<Vec<(i64, PathBuf)>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(io_err(dir))?;
        let name = ent.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(z) = zxid_from_name(name, prefix) {
            out.push((z, ent.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The log files that hold txns after `zxid` (`FileTxnLog.getLogFiles`): the
/// newest one starting at or before `zxid`, and every later one, ascending.
pub fn log_files_from(log_dir: &Path, zxid: i64) -> Result<Vec<(i64, PathBuf)>> {
    let files = list_files(log_dir, LOG_PREFIX)?;
    let start = files.iter().rposition(|(z, _)| *z <= zxid).unwrap_or(0);
    Ok(files.into_iter().skip(start).collect())
}

/// fsyncs a directory so a file created or renamed in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// The epoch half of a zxid.
pub fn epoch_of(zxid: i64) -> i64 {
    zxid >> 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(log_file_name(0x1_0000_0001), "log.100000001");
        assert_eq!(snapshot_file_name(0, Compression::None), "snapshot.0");
        assert_eq!(
            snapshot_file_name(0x2a, Compression::Gzip),
            "snapshot.2a.gz"
        );
        assert_eq!(
            snapshot_file_name(0x2a, Compression::Snappy),
            "snapshot.2a.snappy"
        );
        assert_eq!(
            zxid_from_name("log.100000001", LOG_PREFIX),
            Some(0x1_0000_0001)
        );
        assert_eq!(
            zxid_from_name("snapshot.2a.gz", SNAPSHOT_PREFIX),
            Some(0x2a)
        );
        assert_eq!(zxid_from_name("snapshot.2a", LOG_PREFIX), None);
        assert_eq!(zxid_from_name("log.", LOG_PREFIX), None);
        assert_eq!(zxid_from_name("log.xyz", LOG_PREFIX), None);
        assert_eq!(zxid_from_name("logs.1", LOG_PREFIX), None);
    }

    #[test]
    fn log_files_from_picks_the_covering_file() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["log.1", "log.10", "log.20", "snapshot.15", "other"] {
            std::fs::write(dir.path().join(n), b"").unwrap();
        }
        let names = |z| -> Vec<i64> {
            log_files_from(dir.path(), z)
                .unwrap()
                .into_iter()
                .map(|f| f.0)
                .collect()
        };
        assert_eq!(names(0x15), vec![0x10, 0x20]);
        assert_eq!(names(0x10), vec![0x10, 0x20]);
        assert_eq!(names(0), vec![1, 0x10, 0x20]);
        assert_eq!(names(0x30), vec![0x20]);
    }
}
