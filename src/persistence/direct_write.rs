//! Writing a snapshot past the page cache: whole aligned 1 MiB chunks go
//! straight to the disk with `O_DIRECT`, and only the last partial chunk is
//! written through the page cache.
//!
//! A create-heavy load writes hundreds of MB of snapshots a second. Written
//! through the page cache, each snapshot needs that many fresh cache pages,
//! and on this project's VMs getting them sometimes took three times as long
//! as the copy itself (the write-out of about a million nodes went from 60
//! to 70 ms to 260 to 330 ms in later rounds of `make bench-compare`), while
//! the log's group commits waited for CPU and disk behind it. Direct writes
//! from one reused buffer need no cache pages at all. Where the file system
//! refuses `O_DIRECT` (tmpfs on older kernels), every byte goes through the
//! page cache as before.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;

/// Bytes per direct write: a multiple of every logical block size in use.
const CHUNK: usize = 1024 * 1024;
/// Alignment of the buffer's start, for `O_DIRECT`.
const ALIGN: usize = 4096;

/// A [`Write`] that sends `file` whole [`CHUNK`]s with `O_DIRECT`.
pub struct DirectWriter {
    file: File,
    /// `CHUNK + ALIGN` bytes; the chunk starts at `start`, aligned.
    buf: Vec<u8>,
    start: usize,
    /// Bytes of the chunk filled.
    len: usize,
    direct: bool,
}

impl DirectWriter {
    /// Writes `file` from its current position, which must be 0 (every
    /// direct write then starts on a chunk boundary).
    pub fn new(file: File) -> DirectWriter {
        let buf = vec![0u8; CHUNK + ALIGN];
        let start = buf.as_ptr().align_offset(ALIGN);
        let direct = set_direct(&file, true).is_ok();
        DirectWriter {
            file,
            buf,
            start,
            len: 0,
            direct,
        }
    }

    /// Whether whole chunks go past the page cache (the file system took
    /// `O_DIRECT`).
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    fn write_chunk(&mut self) -> io::Result<()> {
        let filled = &self.buf[self.start..self.start + self.len];
        self.len = 0;
        (&self.file).write_all(filled)
    }

    /// Writes what is left (through the page cache: it is not a whole
    /// chunk) and returns the file, not synced.
    pub fn finish(mut self) -> io::Result<File> {
        if self.direct {
            set_direct(&self.file, false)?;
        }
        self.write_chunk()?;
        Ok(self.file)
    }
}

impl Write for DirectWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.len);
        let at = self.start + self.len;
        self.buf[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == CHUNK {
            self.write_chunk()?;
        }
        Ok(n)
    }

    /// Nothing: a partial chunk can only be written by [`finish`](Self::finish).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Turns `O_DIRECT` on or off for `file`.
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on an open descriptor, with integer arguments only.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = if on {
            flags | libc::O_DIRECT
        } else {
            flags & !libc::O_DIRECT
        };
        if libc::fcntl(fd, libc::F_SETFL, flags) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `total` patterned bytes in pieces of `piece` and reads them back.
    fn round_trip(dir: &std::path::Path, total: usize, piece: usize) -> bool {
        let path = dir.join(format!("out-{total}-{piece}"));
        let data: Vec<u8> = (0..total).map(|i| (i * 7 % 251) as u8).collect();
        let mut w = DirectWriter::new(File::create(&path).unwrap());
        let direct = w.is_direct();
        for part in data.chunks(piece) {
            w.write_all(part).unwrap();
        }
        let file = w.finish().unwrap();
        file.sync_all().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), data, "{total} in {piece}s");
        direct
    }

    #[test]
    fn bytes_come_back_whole_across_chunks_and_a_partial_tail() {
        // Under target/, on the disk: /tmp may be a tmpfs that refuses O_DIRECT.
        let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
        std::fs::create_dir_all(&target).unwrap();
        let on_disk = tempfile::tempdir_in(target).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        for dir in [on_disk.path(), elsewhere.path()] {
            for (total, piece) in [
                (0, 1),
                (10, 3),
                (CHUNK, 4096),
                (CHUNK, CHUNK),
                (3 * CHUNK + 12_345, 60 * 1024),
                (2 * CHUNK + 1, 999_999),
            ] {
                round_trip(dir, total, piece);
            }
        }
        // ext4, xfs and btrfs take O_DIRECT: there the chunks went direct.
        assert!(
            round_trip(on_disk.path(), CHUNK + 1, 4096),
            "the file system under target/ refused O_DIRECT"
        );
    }
}
