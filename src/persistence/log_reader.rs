//! Replays the txn logs after a zxid (`FileTxnLog.FileTxnIterator`), checking
//! every checksum, and says exactly how the logs end.
//!
//! ZooKeeper itself stops quietly at the first bad entry of a file. Here an
//! anomaly at offset `o` (bad checksum, end byte that is not 0x42, an entry
//! running past the end of the file, bytes after a zero-length end marker, a
//! bad file header) is judged by what follows it:
//! - nothing valid after it, in this file or any later one: a **torn tail**, the
//!   remains of a write the crash interrupted, never acknowledged. Iteration
//!   ends and [`TxnLogIter::torn_tail`] says where to cut ([`TornTail::repair`]).
//! - a valid entry after it: **corruption** of data that was acknowledged, an
//!   error naming the file and offset.
//!
//! A missing log is found by zxid continuity: within one epoch every txn's zxid
//! is the previous one plus one, so a jump (from the snapshot's zxid to the
//! first txn after it, or between two txns) is a [`PersistError::Gap`]. Across
//! epochs nothing can be checked.

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use super::entry::{
    adler32, parse_frame, unmarshal_txn, Frame, LogEntry, FILE_HEADER_LEN, TXNLOG_MAGIC,
};
use super::{epoch_of, io_err, log_files_from, PersistError, Result};

/// Where the valid entries of the logs end before bytes of an interrupted write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub file: PathBuf,
    /// Length of the valid prefix of `file`: truncate here.
    pub offset: u64,
    pub reason: &'static str,
    /// Later log files, which hold no valid entry (remove them when repairing).
    pub later_files: Vec<PathBuf>,
}

impl TornTail {
    /// Truncates `file` at `offset` and removes `later_files`, with a log line.
    pub fn repair(&self) -> Result<()> {
        tracing::warn!(
            file = %self.file.display(),
            offset = self.offset,
            reason = self.reason,
            "truncating torn tail of the transaction log (a write interrupted by a crash)"
        );
        truncate_at(&self.file, self.offset)?;
        for f in &self.later_files {
            tracing::warn!(file = %f.display(), "removing log file after the torn tail");
            std::fs::remove_file(f).map_err(io_err(f))?;
        }
        Ok(())
    }
}

/// Cuts `file` to `offset` bytes and fsyncs it.
pub fn truncate_at(file: &Path, offset: u64) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(file)
        .map_err(io_err(file))?;
    f.set_len(offset).map_err(io_err(file))?;
    f.sync_all().map_err(io_err(file))
}

struct Loaded {
    path: PathBuf,
    data: Vec<u8>,
    pos: usize,
}

/// Iterates the txns with zxid greater than a given zxid across all log files
/// in ascending order. Yields `Err` once (corruption, gap, IO) and then ends.
pub struct TxnLogIter {
    files: VecDeque<PathBuf>,
    after: i64,
    cur: Option<Loaded>,
    /// Continuity anchor: where the last txn came from, and its zxid.
    anchor: (PathBuf, i64),
    torn: Option<TornTail>,
    done: bool,
}

impl TxnLogIter {
    /// Txns after `after_zxid` from the logs in `log_dir` (a `version-2`
    /// directory). `after_zxid` is normally the snapshot's zxid; `anchor` names
    /// where it came from (the snapshot file) in gap errors.
    pub fn open(log_dir: &Path, after_zxid: i64, anchor: impl Into<PathBuf>) -> Result<TxnLogIter> {
        let files = log_files_from(log_dir, after_zxid)?;
        Ok(TxnLogIter {
            files: files.into_iter().map(|(_, p)| p).collect(),
            after: after_zxid,
            cur: None,
            anchor: (anchor.into(), after_zxid),
            torn: None,
            done: false,
        })
    }

    /// Set once iteration ended at a torn tail.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    /// The zxid of the last txn yielded (or `after_zxid`).
    pub fn last_zxid(&self) -> i64 {
        self.anchor.1
    }

    /// Reads a log file up to its first hole. Preallocated space is a hole
    /// (zeros by definition) on filesystems that support them, so recovery
    /// does not read the unused tail of every 64 MB file.
    fn load(path: &Path) -> Result<Vec<u8>> {
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let mut file = std::fs::File::open(path).map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        // SAFETY: lseek on an fd we own; it only moves the file offset.
        let hole = unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_HOLE) };
        let end = if hole < 0 {
            len
        } else {
            (hole as u64).min(len)
        };
        let mut data = Vec::with_capacity(end as usize);
        std::io::Seek::rewind(&mut file).map_err(io_err(path))?;
        file.take(end)
            .read_to_end(&mut data)
            .map_err(io_err(path))?;
        Ok(data)
    }

    /// Decides what the anomaly at `offset` of the current file is.
    fn anomaly(&mut self, offset: usize, reason: &'static str) -> Option<Result<LogEntry>> {
        self.done = true;
        let cur = self.cur.take().expect("anomaly in an open file");
        let later_valid = valid_entry_from(&cur.data, offset + 1).is_some();
        let mut later_files = Vec::new();
        let mut valid_in = None;
        if !later_valid {
            for f in self.files.drain(..) {
                let data = match Self::load(&f) {
                    Ok(d) => d,
                    Err(e) => return Some(Err(e)),
                };
                if valid_entry_from(&data, FILE_HEADER_LEN.min(data.len())).is_some() {
                    valid_in = Some(f.clone());
                }
                later_files.push(f);
            }
        }
        if later_valid || valid_in.is_some() {
            let reason = match valid_in {
                Some(f) => format!("{reason}, but {} holds valid entries after it", f.display()),
                None => format!("{reason}, followed by valid entries"),
            };
            return Some(Err(PersistError::Corrupt {
                file: cur.path,
                offset: offset as u64,
                reason,
            }));
        }
        tracing::warn!(file = %cur.path.display(), offset, reason, "transaction log ends with a torn write");
        self.torn = Some(TornTail {
            file: cur.path,
            offset: offset as u64,
            reason,
            later_files,
        });
        None
    }

    fn open_next(&mut self) -> Option<Result<LogEntry>> {
        let path = self.files.pop_front()?;
        let data = match Self::load(&path) {
            Ok(d) => d,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        if data.is_empty() {
            // Created but the header never written (FileTxnIterator.goToNextLog).
            tracing::warn!(file = %path.display(), "empty transaction log file");
            return None;
        }
        let bad_header = if data.len() < FILE_HEADER_LEN {
            Some("truncated file header")
        } else if i32::from_be_bytes(data[0..4].try_into().unwrap()) != TXNLOG_MAGIC {
            Some("invalid magic number")
        } else {
            None
        };
        self.cur = Some(Loaded {
            path,
            data,
            pos: FILE_HEADER_LEN,
        });
        match bad_header {
            Some(reason) => self.anomaly(0, reason),
            None => None,
        }
    }

    fn check_continuity(&mut self, path: &Path, zxid: i64) -> Result<()> {
        let (ref from, last) = self.anchor;
        if zxid <= last {
            tracing::warn!(file = %path.display(), zxid = format!("{zxid:#x}"), last = format!("{last:#x}"), "txn log: zxid not increasing");
            return Ok(());
        }
        if epoch_of(zxid) == epoch_of(last) && zxid != last + 1 {
            return Err(PersistError::Gap {
                after: from.clone(),
                last_zxid: last,
                next_file: path.to_path_buf(),
                next_zxid: zxid,
            });
        }
        self.anchor = (path.to_path_buf(), zxid);
        Ok(())
    }
}

impl Iterator for TxnLogIter {
    type Item = Result<LogEntry>;

    fn next(&mut self) -> Option<Result<LogEntry>> {
        loop {
            if self.done {
                return None;
            }
            let Some(cur) = self.cur.as_mut() else {
                if self.files.is_empty() {
                    self.done = true;
                    return None;
                }
                if let Some(r) = self.open_next() {
                    return Some(r);
                }
                continue;
            };
            let pos = cur.pos;
            match parse_frame(&cur.data[pos..]) {
                Frame::Entry { payload, len } => {
                    let entry = match unmarshal_txn(payload) {
                        Ok(e) => e,
                        Err(e) => {
                            self.done = true;
                            return Some(Err(PersistError::Corrupt {
                                file: cur.path.clone(),
                                offset: pos as u64,
                                reason: format!(
                                    "checksum is valid but the txn does not decode: {e}"
                                ),
                            }));
                        }
                    };
                    cur.pos += len;
                    let zxid = entry.txn.header.zxid;
                    if zxid <= self.after {
                        continue;
                    }
                    let path = cur.path.clone();
                    if let Err(e) = self.check_continuity(&path, zxid) {
                        self.done = true;
                        return Some(Err(e));
                    }
                    return Some(Ok(entry));
                }
                Frame::End => {
                    if cur.data[pos..].iter().any(|b| *b != 0) {
                        if let Some(r) =
                            self.anomaly(pos, "non-zero bytes after the end-of-entries marker")
                        {
                            return Some(r);
                        }
                        continue;
                    }
                    self.cur = None;
                }
                Frame::Incomplete => {
                    if let Some(r) = self.anomaly(pos, "entry runs past the end of the file") {
                        return Some(r);
                    }
                }
                Frame::Bad(reason) => {
                    if let Some(r) = self.anomaly(pos, reason) {
                        return Some(r);
                    }
                }
            }
        }
    }
}

/// The offset of the first position at or after `from` where a whole,
/// checksum-valid, decodable entry starts.
fn valid_entry_from(data: &[u8], from: usize) -> Option<usize> {
    let mut p = from;
    while p + 13 < data.len() {
        let len = i32::from_be_bytes(data[p + 8..p + 12].try_into().unwrap());
        if len > 0 {
            let end = p + 12 + len as usize;
            if end < data.len() && data[end] == 0x42 {
                let crc = i64::from_be_bytes(data[p..p + 8].try_into().unwrap());
                let payload = &data[p + 12..end];
                if adler32(payload) == crc && unmarshal_txn(payload).is_ok() {
                    return Some(p);
                }
            }
        }
        p += 1;
    }
    None
}

/// What a full replay found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogReplay {
    /// The last zxid replayed, or `after_zxid` if none was.
    pub last_zxid: i64,
    pub txns: u64,
    /// Set when the logs end with an interrupted write; repair it before
    /// appending (the writer starts a new file, so this only keeps the next
    /// start-up from seeing it).
    pub torn_tail: Option<TornTail>,
}

/// Entries per hand-over from the reading thread to `apply`.
const REPLAY_BATCH: usize = 1024;

/// Calls `apply` on every txn after `after_zxid`, in order. Stops at the first
/// error (of reading or of `apply`). The logs are read and decoded on a
/// second thread (`txn-log-replay`) while `apply` runs on this one.
pub fn replay(
    log_dir: &Path,
    after_zxid: i64,
    anchor: impl Into<PathBuf>,
    mut apply: impl FnMut(LogEntry) -> Result<()>,
) -> Result<LogReplay> {
    let mut it = TxnLogIter::open(log_dir, after_zxid, anchor)?;
    let (tx, rx) = mpsc::sync_channel::<Vec<Result<LogEntry>>>(4);
    std::thread::scope(|s| {
        let reading = std::thread::Builder::new()
            .name("txn-log-replay".into())
            .spawn_scoped(s, move || {
                let mut batch = Vec::with_capacity(REPLAY_BATCH);
                for entry in it.by_ref() {
                    batch.push(entry);
                    if batch.len() == REPLAY_BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(REPLAY_BATCH));
                        if tx.send(full).is_err() {
                            return it; // apply failed
                        }
                    }
                }
                let _ = tx.send(batch);
                it
            })
            .map_err(io_err(log_dir))?;
        let mut txns = 0;
        let applied = rx.iter().flatten().try_for_each(|entry| {
            apply(entry?)?;
            txns += 1;
            Ok(())
        });
        drop(rx);
        let it = reading.join().expect("txn log reading panicked");
        applied?;
        Ok(LogReplay {
            last_zxid: it.last_zxid(),
            txns,
            torn_tail: it.torn_tail().cloned(),
        })
    })
}
