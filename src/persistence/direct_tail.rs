//! The log's tail written past the page cache (with `forceSync`).
//!
//! A buffered write leaves the data in the page cache, and the group
//! commit's fdatasync then makes two trips to the disk, one after the
//! other: write the dirty pages and wait, then flush the disk's cache and
//! wait. With `O_DIRECT` the writer thread makes the first trip itself
//! when it writes a batch, so the syncer's fdatasync only flushes, while
//! the writer already sends the next batch to the disk. On this project's
//! VM disk an 8 KiB append plus fdatasync takes about 86 µs through the
//! page cache; the direct write about 40 µs and the flush after it about
//! 33 µs.
//!
//! `O_DIRECT` needs whole aligned blocks, so every write starts at the
//! block holding the write position: the bytes already written to that
//! block are kept here and written again, unchanged, before the new
//! entries; the rest of the last block is zeros, as the preallocation
//! reads anyway. Rewriting bytes with the same bytes cannot tear
//! acknowledged entries.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::direct_write::set_direct;

/// Alignment of direct writes: a multiple of every logical block size.
pub const BLOCK: usize = 4096;

/// The aligned write buffer and the written part of the last block.
pub struct DirectTail {
    /// Over-allocated by [`BLOCK`]; the aligned area starts at `start`.
    buf: Vec<u8>,
    start: usize,
    /// Bytes of the position's block already in the file, at the area's start.
    tail_len: usize,
}

impl DirectTail {
    /// Turns on `O_DIRECT` for `file`, which holds just `head` (a new log's
    /// header). `None` where the file system refuses direct IO: the caller
    /// writes through the page cache instead.
    pub fn open(file: &File, head: &[u8]) -> Option<DirectTail> {
        if let Err(e) = set_direct(file, true) {
            tracing::debug!("txn log written through the page cache: O_DIRECT refused ({e})");
            return None;
        }
        let mut tail = DirectTail {
            buf: Vec::new(),
            start: 0,
            tail_len: 0,
        };
        let block_start = head.len() - head.len() % BLOCK;
        tail.reserve(BLOCK);
        tail.area()[..head.len() - block_start].copy_from_slice(&head[block_start..]);
        tail.tail_len = head.len() - block_start;
        Some(tail)
    }

    /// Writes `entries` at `position` (the end of what the file holds), then
    /// zeros up to `zero_to` or at least to the end of the last block.
    /// Returns once the bytes are on the disk (not yet flushed from its cache).
    pub fn write(
        &mut self,
        file: &File,
        position: u64,
        entries: &[u8],
        zero_to: u64,
    ) -> io::Result<()> {
        debug_assert_eq!(position as usize % BLOCK, self.tail_len);
        let block_start = position - self.tail_len as u64;
        let data_end = self.tail_len + entries.len();
        let write_end = (data_end.next_multiple_of(BLOCK) as u64)
            .max(zero_to.saturating_sub(block_start)) as usize;
        self.reserve(write_end);
        let tail_len = self.tail_len;
        let area = self.area();
        area[tail_len..data_end].copy_from_slice(entries);
        area[data_end..write_end].fill(0);
        file.write_all_at(&area[..write_end], block_start)?;
        let new_tail_start = data_end - data_end % BLOCK;
        area.copy_within(new_tail_start..data_end, 0);
        self.tail_len = data_end - new_tail_start;
        Ok(())
    }

    /// The aligned area.
    fn area(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }

    /// Grows the aligned area to at least `len` bytes, keeping the tail.
    fn reserve(&mut self, len: usize) {
        if self.buf.len() >= self.start + len {
            return;
        }
        let mut buf = vec![0u8; len.next_multiple_of(BLOCK) + BLOCK];
        let start = buf.as_ptr().align_offset(BLOCK);
        if !self.buf.is_empty() {
            buf[start..start + self.tail_len]
                .copy_from_slice(&self.buf[self.start..self.start + self.tail_len]);
        }
        self.buf = buf;
        self.start = start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_of_any_size_land_whole_with_zeros_after_them() {
        // Under target/, on the disk the log lives on (ext4 here).
        let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
        std::fs::create_dir_all(&target).unwrap();
        let dir = tempfile::tempdir_in(target).unwrap();
        let path = dir.path().join("log");
        let head = b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0";
        std::fs::write(&path, head).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(1 << 20).unwrap();
        let mut tail =
            DirectTail::open(&file, head).expect("the disk under target/ takes O_DIRECT");

        let mut expected = head.to_vec();
        let mut zeroed = 0u64;
        for (i, len) in [1, 100, 4080, 4096, 5000, 9000, 70_000, 3, 4093, 12_288, 1]
            .into_iter()
            .enumerate()
        {
            let entries: Vec<u8> = (0..len).map(|j| ((i * 31 + j) % 251 + 1) as u8).collect();
            let position = expected.len() as u64;
            // Every third write also zeros 64 KiB ahead, as the writer's top-ups do.
            let zero_to = if i % 3 == 0 {
                (position + 65_536).next_multiple_of(4096)
            } else {
                0
            };
            tail.write(&file, position, &entries, zero_to).unwrap();
            expected.extend_from_slice(&entries);
            zeroed = zeroed.max(zero_to);
        }
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(
            on_disk.len(),
            1 << 20,
            "direct writes stay inside the preallocation"
        );
        assert!(
            on_disk[..expected.len()] == expected[..],
            "entries come back as written"
        );
        assert!(
            on_disk[expected.len()..].iter().all(|&b| b == 0),
            "after the entries the file reads as zeros"
        );
        assert!(zeroed > expected.len() as u64);
    }
}
