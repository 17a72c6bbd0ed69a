//! The write-ahead log writer, as `FileTxnLog` writes it: files
//! `log.<hex zxid of their first txn>` in `dataLogDir/version-2`, each a
//! `FileHeader { "ZKLG", 2, dbid 0 }` followed by entries (see [`super::entry`]).
//!
//! Group commit: [`TxnLogWriter::append`] only encodes into memory;
//! [`TxnLogWriter::write_out`] writes the whole batch and returns a
//! [`PendingSync`], whose [`sync`](PendingSync::sync) fsyncs once per file
//! (`fdatasync`, as `FileChannel.force(false)`), also covering files rolled
//! since. The sync may run on another thread while the writer goes on, and
//! several tickets merge into one fsync. A txn may be acknowledged only after
//! the sync of a ticket from a `write_out` after its `append` returned `Ok`;
//! [`TxnLogWriter::commit`] does both steps at once.
//!
//! Files are preallocated in `preAllocSize` steps (`FilePadding`): when the write
//! position comes within 4 KiB of the file's size the file is extended (sparse,
//! reads as zeros), so an fsync rarely has to update the file size. A reader
//! takes a zero length as the end of the entries.
//!
//! With `forceSync`, a write-out also keeps the preallocation filled with
//! written zeros [`ZERO_AHEAD`] past the write position, topping it up when
//! half is used. On ext4 and most file systems an fdatasync after writing
//! into a hole must also commit the block allocation to the journal; over
//! written blocks it flushes only data. The zeros go out with a batch, so one
//! group commit in many pays for the allocation, and no other I/O competes
//! with the fsyncs. They are the same bytes a reader sees in a hole, so the
//! format does not change.
//!
//! A new file gets its header under another name first and is then renamed,
//! so a crash or a full disk never leaves an empty `log.<zxid>` (ZooKeeper
//! fails to start on one); recovery removes what such a crash leaves.
//!
//! After any failed write or fsync the writer refuses everything
//! ([`PersistError::Failed`]): what reached the disk is unknown, and a server
//! must stop acknowledging writes rather than acknowledge what may be lost.
//!
//! When to roll is the caller's decision; [`RollPolicy`](super::RollPolicy)
//! is ZooKeeper's rule.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::entry::{encode_log_entry, FileHeader};
use super::{io_err, log_file_name, sync_dir, unfinished_log_file_name, PersistError, Result};
use crate::proto::jute::Record;
use crate::proto::txn::TxnDigest;
use crate::txn::Txn;

/// `FilePadding.preAllocSize` default: 64 MiB.
pub const DEFAULT_PREALLOC_SIZE: u64 = 64 * 1024 * 1024;

/// With `forceSync`, how far past the end of each write the preallocation is
/// kept filled with written zeros; a write that leaves less than half of this
/// zeroed also writes zeros up to it (see the module docs).
const ZERO_AHEAD: u64 = 256 * 1024;

/// The zeros a write-out adds: at most [`ZERO_AHEAD`] rounded up to a page.
static ZEROS: [u8; ZERO_AHEAD as usize + 4096] = [0; ZERO_AHEAD as usize + 4096];

/// Writer settings (`zookeeper.preAllocSize`, `zookeeper.forceSync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnLogOptions {
    /// Preallocation step in bytes; 0 disables preallocation.
    pub prealloc_size: u64,
    /// fsync on commit (`forceSync=yes`, the default). Without it a crash of
    /// the machine (not just the process) can lose acknowledged txns.
    pub force_sync: bool,
    /// An fsync slower than this many milliseconds is logged as a warning
    /// (`fsync.warningthresholdms`, default 1000; -1 logs every fsync).
    pub fsync_warning_ms: i64,
}

/// `FileTxnLog`'s default `fsync.warningthresholdms`.
pub const DEFAULT_FSYNC_WARNING_MS: i64 = 1000;

impl Default for TxnLogOptions {
    fn default() -> Self {
        TxnLogOptions {
            prealloc_size: DEFAULT_PREALLOC_SIZE,
            force_sync: true,
            fsync_warning_ms: DEFAULT_FSYNC_WARNING_MS,
        }
    }
}

impl TxnLogOptions {
    /// `preAllocSize` as zoo.cfg gives it, in KiB.
    pub fn with_prealloc_kb(mut self, kb: u64) -> Self {
        self.prealloc_size = kb * 1024;
        self
    }
}

/// `FilePadding.calculateFileSizeWithPadding`: the file size to extend to once
/// the write position is within 4 KiB of the current size.
pub fn padded_size(position: u64, file_size: u64, prealloc: u64) -> u64 {
    if prealloc > 0 && position + 4096 >= file_size {
        if position > file_size {
            let s = position + prealloc;
            s - s % prealloc
        } else {
            file_size + prealloc
        }
    } else {
        file_size
    }
}

struct OpenLog {
    path: Arc<Path>,
    file: Arc<File>,
    /// Written since the last [`PendingSync`] was handed out.
    unsynced: bool,
    /// Bytes written to the file (header + committed entries).
    position: u64,
    /// The file's length including preallocation.
    size: u64,
    /// The preallocation after this offset is still a hole.
    zeroed_to: u64,
}

/// Appends txns to the log in `dataLogDir/version-2`; see the module docs.
pub struct TxnLogWriter {
    dir: PathBuf,
    opts: TxnLogOptions,
    current: Option<OpenLog>,
    /// Entries appended to `current` since the last write-out.
    pending: Vec<u8>,
    /// Rolled files whose last entries still need the next write-out's fsync.
    to_sync: Vec<OpenLog>,
    dir_dirty: bool,
    last_zxid: i64,
    /// Txns and bytes of entries appended since the writer was opened.
    appended: (u64, u64),
    failed: Option<PathBuf>,
}

impl TxnLogWriter {
    /// A writer for `log_dir` (the `version-2` directory, created if missing).
    /// It never appends to an existing file: the first append opens a new one,
    /// as ZooKeeper does after a restart.
    pub fn open(log_dir: impl Into<PathBuf>, opts: TxnLogOptions) -> Result<TxnLogWriter> {
        let dir = log_dir.into();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(TxnLogWriter {
            dir,
            opts,
            current: None,
            pending: Vec::new(),
            to_sync: Vec::new(),
            dir_dirty: false,
            last_zxid: 0,
            appended: (0, 0),
            failed: None,
        })
    }

    /// Buffers `txn` (no IO unless a new file must be created). Call
    /// [`commit`](Self::commit) before acknowledging it.
    pub fn append(&mut self, txn: &Txn) -> Result<()> {
        self.append_with_digest(txn, None)
    }

    /// As [`append`](Self::append), with the tree digest after the txn (what
    /// ZooKeeper 3.6+ writes when `zookeeper.digest.enabled`, the default).
    pub fn append_with_digest(&mut self, txn: &Txn, digest: Option<&TxnDigest>) -> Result<()> {
        self.check_failed()?;
        let zxid = txn.header.zxid;
        if zxid <= self.last_zxid {
            tracing::warn!(
                zxid = format!("{zxid:#x}"),
                last = format!("{:#x}", self.last_zxid),
                "txn log: zxid not increasing"
            );
        } else {
            self.last_zxid = zxid;
        }
        if self.current.is_none() {
            let r = self.create_file(zxid);
            self.guard(r)?;
        }
        let before = self.pending.len();
        encode_log_entry(txn, digest, &mut self.pending);
        self.appended.0 += 1;
        self.appended.1 += (self.pending.len() - before) as u64;
        Ok(())
    }

    /// Writes every appended entry and (with `force_sync`) fsyncs each file
    /// written since the last commit: one fsync per file per batch.
    pub fn commit(&mut self) -> Result<()> {
        let ticket = self.write_out()?;
        let r = ticket.sync(|_, _| ());
        self.guard(r)
    }

    /// Writes every appended entry to its file (no fsync) and returns what
    /// must be synced before they may be acknowledged.
    pub fn write_out(&mut self) -> Result<PendingSync> {
        self.check_failed()?;
        let r = self.write_pending();
        self.guard(r)?;
        let mut ticket = PendingSync {
            force_sync: self.opts.force_sync,
            fsync_warning_ms: self.opts.fsync_warning_ms,
            ..PendingSync::default()
        };
        for log in self.to_sync.drain(..) {
            ticket.add_file(&log);
        }
        if let Some(cur) = self.current.as_mut() {
            if cur.unsynced {
                ticket.add_file(cur);
                cur.unsynced = false;
            }
        }
        if self.dir_dirty {
            ticket.dir = Some(self.dir.clone());
            self.dir_dirty = false;
        }
        Ok(ticket)
    }

    /// Ends the current file; the next append starts `log.<its zxid>`. The
    /// rolled file's buffered entries are written now and fsynced by the next
    /// [`commit`](Self::commit) (as `FileTxnLog.rollLog`).
    pub fn roll(&mut self) -> Result<()> {
        self.check_failed()?;
        let r = self.write_pending();
        self.guard(r)?;
        if let Some(cur) = self.current.take().filter(|c| c.unsynced) {
            self.to_sync.push(cur);
        }
        Ok(())
    }

    /// Commits and closes the current file.
    pub fn close(mut self) -> Result<()> {
        self.commit()?;
        self.current = None;
        Ok(())
    }

    /// The file being appended to, if one is open.
    pub fn current_file(&self) -> Option<&Path> {
        self.current.as_ref().map(|c| &*c.path)
    }

    /// Bytes of entries in the current file, committed or not (without padding).
    pub fn current_file_bytes(&self) -> u64 {
        self.current.as_ref().map_or(0, |c| c.position) + self.pending.len() as u64
    }

    /// Txns and bytes of entries appended since the writer was opened, across
    /// every file it wrote.
    pub fn appended(&self) -> (u64, u64) {
        self.appended
    }

    /// The highest zxid appended.
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// The path of the file whose failure stopped the writer, if one did.
    pub fn failed(&self) -> Option<&Path> {
        self.failed.as_deref()
    }

    fn check_failed(&self) -> Result<()> {
        match &self.failed {
            Some(p) => Err(PersistError::Failed(p.clone())),
            None => Ok(()),
        }
    }

    /// Records the failure of `r` so the writer refuses all further work.
    fn guard<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() && self.failed.is_none() {
            let path = self
                .current
                .as_ref()
                .map(|c| c.path.to_path_buf())
                .unwrap_or_else(|| self.dir.clone());
            tracing::error!(file = %path.display(), "transaction log write failed; refusing further writes");
            self.failed = Some(path);
        }
        r
    }

    /// Creates `log.<zxid>` with its header, written under
    /// [`unfinished_log_file_name`] and renamed, so the log never has an
    /// empty or headless file (with `forceSync`, the header is on disk first).
    fn create_file(&mut self, zxid: i64) -> Result<()> {
        let path = self.dir.join(log_file_name(zxid));
        let unfinished = self.dir.join(unfinished_log_file_name(zxid));
        tracing::info!(file = %path.display(), "creating new log file");
        let mut file = File::create(&unfinished).map_err(io_err(&unfinished))?;
        let mut hdr = BytesMut::new();
        FileHeader::txn_log().encode(&mut hdr);
        file.write_all(&hdr).map_err(io_err(&unfinished))?;
        if self.opts.force_sync {
            file.sync_data().map_err(io_err(&unfinished))?;
        }
        std::fs::rename(&unfinished, &path).map_err(io_err(&path))?;
        let position = hdr.len() as u64;
        self.dir_dirty = true;
        self.current = Some(OpenLog {
            path: path.into(),
            file: Arc::new(file),
            unsynced: true,
            position,
            size: position,
            zeroed_to: position,
        });
        Ok(())
    }

    fn write_pending(&mut self) -> Result<()> {
        let Some(cur) = self.current.as_mut() else {
            self.pending.clear();
            return Ok(());
        };
        if self.pending.is_empty() {
            return Ok(());
        }
        let end = cur.position + self.pending.len() as u64;
        let new_size = padded_size(end, cur.size, self.opts.prealloc_size);
        if new_size != cur.size {
            cur.file.set_len(new_size).map_err(io_err(&cur.path))?;
            cur.size = new_size;
        }
        cur.file
            .write_all_at(&self.pending, cur.position)
            .map_err(io_err(&cur.path))?;
        if self.opts.force_sync && cur.zeroed_to < end + ZERO_AHEAD / 2 {
            let from = cur.zeroed_to.max(end);
            let to = (end + ZERO_AHEAD).next_multiple_of(4096).min(cur.size);
            if to > from {
                cur.file
                    .write_all_at(&ZEROS[..(to - from) as usize], from)
                    .map_err(io_err(&cur.path))?;
                cur.zeroed_to = to;
            }
        }
        cur.unsynced = true;
        cur.position = end;
        cur.size = cur.size.max(end);
        self.pending.clear();
        Ok(())
    }
}

/// What a [`TxnLogWriter::write_out`] left to make durable: the files it wrote
/// to and, after creating a file, the directory. Tickets [`merge`](Self::merge)
/// so one fsync per file covers several write-outs.
#[derive(Default)]
pub struct PendingSync {
    force_sync: bool,
    fsync_warning_ms: i64,
    files: Vec<(Arc<Path>, Arc<File>)>,
    dir: Option<PathBuf>,
}

impl PendingSync {
    fn add_file(&mut self, log: &OpenLog) {
        if !self.files.iter().any(|(_, f)| Arc::ptr_eq(f, &log.file)) {
            self.files.push((log.path.clone(), log.file.clone()));
        }
    }

    /// Adds `other`'s files and directory to this ticket.
    pub fn merge(&mut self, other: PendingSync) {
        self.force_sync |= other.force_sync;
        self.fsync_warning_ms = other.fsync_warning_ms;
        for (path, file) in other.files {
            if !self.files.iter().any(|(_, f)| Arc::ptr_eq(f, &file)) {
                self.files.push((path, file));
            }
        }
        self.dir = self.dir.take().or(other.dir);
    }

    /// fsyncs (with `forceSync`) every file, then the directory: afterwards
    /// the write-outs behind this ticket are durable. `fsynced` gets the
    /// time each file's fsync took and whether that was slower than
    /// `fsync.warningthresholdms`; such an fsync is logged as
    /// `FileTxnLog.commit` logs it.
    pub fn sync(&self, mut fsynced: impl FnMut(Duration, bool)) -> Result<()> {
        if !self.force_sync {
            return Ok(());
        }
        for (path, file) in &self.files {
            let started = Instant::now();
            file.sync_data().map_err(io_err(path))?;
            let took = started.elapsed();
            let slow = took.as_millis() as i64 > self.fsync_warning_ms;
            if slow {
                tracing::warn!(
                    "fsync-ing the write ahead log in {} took {}ms which will adversely effect operation latency.File size is {} bytes. See the ZooKeeper troubleshooting guide",
                    std::thread::current().name().unwrap_or("txn-sync"),
                    took.as_millis(),
                    file.metadata().map_or(0, |m| m.len()),
                );
            }
            fsynced(took, slow);
        }
        if let Some(dir) = &self.dir {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_matches_file_padding() {
        // FilePaddingTest cases.
        assert_eq!(padded_size(100, 0, 64 * 1024), 64 * 1024);
        assert_eq!(padded_size(1, 4096, 1024), 5120);
        assert_eq!(padded_size(0, 10_000, 1024), 10_000);
        assert_eq!(padded_size(10_000, 10_000, 0), 10_000);
        assert_eq!(padded_size(5000, 4096, 1024), 5120);
    }
}
