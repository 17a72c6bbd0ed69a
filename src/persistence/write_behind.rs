//! Paced writeback of a large file being written (a snapshot) through the
//! page cache, so its bytes reach the disk a little at a time instead of in
//! one burst at the final fsync. A snapshot's whole chunks normally bypass
//! the cache ([`super::direct_write`]), one synchronous write at a time, and
//! then nothing is paced (the last partial chunk is under 1 MiB); the pacing
//! is for file systems that refuse `O_DIRECT`, where every byte goes through
//! the cache. A burst of hundreds of MiB fills the device's queue, and every
//! group-commit fsync of the txn log queued behind it waits as long: tens of
//! milliseconds of write latency on the request path.
//!
//! Every [`STEP`] bytes the new range's writeback is started
//! (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), and the writer waits for the
//! range before it, so at most about two steps are in flight at a time. The
//! final fsync is still what makes the file durable; this only spreads the
//! work out.
//!
//! A snapshot is read again only by a recovery, so once a newer one is
//! written whatever the older one left in the page cache is dropped
//! ([`drop_cached_pages`]): a create-heavy load writes hundreds of MB of
//! snapshots a second, and a page cache growing by that much made every
//! later snapshot write slower (create-eseq fell from 140k to 96k creates/s
//! over three runs on one server).

use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

/// Bytes started per step; about two steps are in flight at most.
const STEP: u64 = 1024 * 1024;

pub(super) struct WriteBehind {
    fd: RawFd,
    /// Writeback started up to here.
    started_to: u64,
    /// Writeback finished up to here.
    done_to: u64,
}

impl WriteBehind {
    /// Paces `file`'s writeback; `file` must outlive every [`advance`](Self::advance).
    pub fn new(file: &File) -> WriteBehind {
        WriteBehind {
            fd: file.as_raw_fd(),
            started_to: 0,
            done_to: 0,
        }
    }

    /// Called after writes: once a step's worth has been written since the
    /// last start, waits for the previous step and starts this one. Failures
    /// are ignored here: the final fsync reports them.
    pub fn advance(&mut self) {
        // SAFETY: lseek and sync_file_range only take plain integers, and
        // `fd` is open for as long as the caller keeps its file.
        unsafe {
            let written = libc::lseek(self.fd, 0, libc::SEEK_CUR);
            if written < 0 || (written as u64) < self.started_to + STEP {
                return;
            }
            let written = written as u64;
            if self.started_to > self.done_to {
                libc::sync_file_range(
                    self.fd,
                    self.done_to as libc::off64_t,
                    (self.started_to - self.done_to) as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WAIT_BEFORE
                        | libc::SYNC_FILE_RANGE_WRITE
                        | libc::SYNC_FILE_RANGE_WAIT_AFTER,
                );
                self.done_to = self.started_to;
            }
            libc::sync_file_range(
                self.fd,
                self.started_to as libc::off64_t,
                (written - self.started_to) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
            self.started_to = written;
        }
    }
}

/// Asks the kernel to drop the file's clean pages from the page cache (and
/// to start writing back dirty ones). Advice only: a file that is gone, or a
/// failure, changes nothing.
pub fn drop_cached_pages(path: &Path) {
    if let Ok(file) = File::open(path) {
        // SAFETY: posix_fadvise takes plain integers; `file` is open.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn starts_writeback_step_by_step_and_keeps_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let mut file = File::create(&path).unwrap();
        let mut pacing = WriteBehind::new(&file);
        let piece: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
        for _ in 0..80 {
            file.write_all(&piece).unwrap();
            pacing.advance();
        }
        // 5 MiB written: writeback started up to at least 4 MiB, and the
        // step before that waited for.
        assert!(pacing.started_to >= 4 * STEP, "{}", pacing.started_to);
        assert!(pacing.done_to >= 3 * STEP, "{}", pacing.done_to);
        assert!(pacing.done_to < pacing.started_to);
        file.sync_all().unwrap();
        let mut back = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back.len(), 80 * piece.len());
        assert!(back.chunks(piece.len()).all(|c| c == piece));
    }
}
