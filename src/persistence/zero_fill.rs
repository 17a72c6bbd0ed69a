//! Zero-filling a txn log's preallocation ahead of its write position.
//!
//! On ext4 and most file systems an fsync after writing into a hole (what
//! `set_len` preallocation leaves) must also commit the block allocation to the
//! journal; over written blocks it flushes only data. So the writer fills the
//! preallocation with zeros a chunk ahead — the same bytes a reader sees in a
//! hole, so the format does not change.
//!
//! The zeros go through an `O_DIRECT` handle where the file system allows it:
//! they never sit dirty in the page cache, where a concurrent group-commit
//! fsync of the same file would have to flush them too. Then readahead brings
//! them back as clean pages, so appends never wait to read a block first.
//! Elsewhere (tmpfs) they are written through the page cache.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// `O_DIRECT` transfers must be aligned to the device's logical block size;
/// a page is a safe multiple of it.
const ALIGN: u64 = 4096;

/// A reusable, page-aligned run of zeros.
pub(super) struct ZeroFill {
    buf: Vec<u8>,
    chunk: usize,
}

impl ZeroFill {
    /// Zeros for fills of up to `chunk` bytes.
    pub fn new(chunk: usize) -> ZeroFill {
        ZeroFill {
            buf: vec![0u8; chunk + ALIGN as usize],
            chunk,
        }
    }

    fn zeros(&self, len: usize) -> &[u8] {
        let skip = self.buf.as_ptr().align_offset(ALIGN as usize);
        &self.buf[skip..skip + len]
    }

    /// Writes zeros over the page-aligned part of `[start, end)` (at most one
    /// chunk) and fdatasyncs, returning how far the file is now zeroed.
    pub fn fill(
        &self,
        file: &File,
        direct: Option<&File>,
        start: u64,
        end: u64,
    ) -> std::io::Result<u64> {
        let start = start.next_multiple_of(ALIGN);
        let end = (end - end % ALIGN).min(start + self.chunk as u64);
        if end <= start {
            return Ok(start.max(end));
        }
        let zeros = self.zeros((end - start) as usize);
        match direct {
            Some(direct) => {
                direct.write_all_at(zeros, start)?;
                // Bring the zeros back into the page cache (clean) ahead of
                // the appends: a partial-page write to an uncached block must
                // first read it, synchronously.
                // SAFETY: posix_fadvise only reads its plain integer arguments.
                unsafe {
                    libc::posix_fadvise(
                        file.as_raw_fd(),
                        start as libc::off_t,
                        (end - start) as libc::off_t,
                        libc::POSIX_FADV_WILLNEED,
                    );
                }
            }
            None => file.write_all_at(zeros, start)?,
        }
        file.sync_data()?;
        Ok(end)
    }
}

/// A second handle on `path` with `O_DIRECT`, if its file system supports it.
pub(super) fn open_direct(path: &Path) -> Option<File> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}
