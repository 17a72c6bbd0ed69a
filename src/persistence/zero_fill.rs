//! Zero-filling a txn log's preallocation ahead of its write position.
//!
//! On ext4 and most file systems an fsync after writing into a hole (what
//! `set_len` preallocation leaves) must also commit the block allocation to the
//! journal; over written blocks it flushes only data. So the preallocation is
//! filled with zeros a chunk ahead of the appends — the same bytes a reader
//! sees in a hole, so the format does not change.
//!
//! A [`ZeroFiller`] thread does the filling, so appends never wait for it;
//! the writer only waits if it catches up with a fill still running
//! ([`ZeroFiller::wait_clear`]), which a chunk's lead makes rare. The zeros go
//! through an `O_DIRECT` handle where the file system allows it: they never sit
//! dirty in the page cache, where a group-commit fsync of the same file would
//! have to flush them too. Then readahead brings them back as clean pages, so
//! appends never wait to read a block first. Elsewhere (tmpfs) they are written
//! through the page cache. A fill that fails (a full disk) only leaves holes:
//! the filler logs it and stops, and the log works as before.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// `O_DIRECT` transfers must be aligned to the device's logical block size;
/// a page is a safe multiple of it.
const ALIGN: u64 = 4096;

/// Bytes per `O_DIRECT` write (a multiple of [`ALIGN`]).
const DIRECT_PIECE: usize = 64 * 1024;

/// A second handle on `path` with `O_DIRECT`, if its file system supports it.
pub(super) fn open_direct(path: &Path) -> Option<File> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

/// One fill: zeros over `[start, end)` of `file`.
struct FillJob {
    path: Arc<Path>,
    file: Arc<File>,
    direct: Option<Arc<File>>,
    start: u64,
    end: u64,
}

#[derive(Default)]
struct FillState {
    /// The fill waiting or running; the writer must not write into its range.
    job: Option<FillJob>,
    /// A fill failed: no more fills.
    disabled: bool,
    /// The writer is gone.
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<FillState>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FillState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The zero-filling thread of one [`super::TxnLogWriter`]; stops when dropped.
pub(super) struct ZeroFiller {
    shared: Arc<Shared>,
    chunk: u64,
}

impl ZeroFiller {
    /// Starts the thread, for fills of up to `chunk` bytes.
    pub fn start(chunk: u64) -> ZeroFiller {
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("txn-log-zero".into())
            .spawn(move || fill_loop(&thread_shared, chunk as usize))
            .expect("spawn the txn log zero-fill thread");
        ZeroFiller { shared, chunk }
    }

    /// Asks for the page-aligned part of `[start, end)` (at most a chunk) of
    /// `file` to be zeroed, unless a fill is still pending. Returns the end
    /// of the accepted fill; the caller must not write at or past its start
    /// before [`wait_clear`](Self::wait_clear) says so.
    pub fn request(
        &self,
        path: &Arc<Path>,
        file: &Arc<File>,
        direct: Option<&Arc<File>>,
        start: u64,
        end: u64,
    ) -> Option<u64> {
        let start = start.next_multiple_of(ALIGN);
        let end = (end - end % ALIGN).min(start + self.chunk);
        if end <= start {
            return None;
        }
        let mut state = self.shared.lock();
        if state.disabled || state.job.is_some() {
            return None;
        }
        state.job = Some(FillJob {
            path: path.clone(),
            file: file.clone(),
            direct: direct.cloned(),
            start,
            end,
        });
        self.shared.changed.notify_all();
        Some(end)
    }

    /// Blocks while a fill of `file` that a write ending at `end` would
    /// reach is pending or running.
    pub fn wait_clear(&self, file: &Arc<File>, end: u64) {
        let mut state = self.shared.lock();
        while state
            .job
            .as_ref()
            .is_some_and(|j| Arc::ptr_eq(&j.file, file) && end > j.start)
        {
            state = self
                .shared
                .changed
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for ZeroFiller {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
    }
}

fn fill_loop(shared: &Shared, chunk: usize) {
    let zeros_buf = vec![0u8; chunk + ALIGN as usize];
    let skip = zeros_buf.as_ptr().align_offset(ALIGN as usize);
    let zeros = &zeros_buf[skip..skip + chunk];
    let mut state = shared.lock();
    loop {
        if state.stop {
            return;
        }
        // The thread clears `job` when it is done with it, so a job here
        // has not been started.
        let Some(job) = state.job.as_ref() else {
            state = shared
                .changed
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
            continue;
        };
        let (path, file, direct) = (job.path.clone(), job.file.clone(), job.direct.clone());
        let (start, end) = (job.start, job.end);
        drop(state);
        let result = fill(
            &file,
            direct.as_deref(),
            &zeros[..(end - start) as usize],
            start,
        );
        state = shared.lock();
        if let Err(e) = result {
            tracing::warn!(file = %path.display(), "zero-filling the log's preallocation failed, leaving it sparse: {e}");
            state.disabled = true;
        }
        state.job = None;
        shared.changed.notify_all();
    }
}

/// Writes `zeros` at `start` and fdatasyncs (committing the block allocation).
fn fill(file: &File, direct: Option<&File>, zeros: &[u8], start: u64) -> std::io::Result<()> {
    match direct {
        Some(direct) => {
            // An allocating O_DIRECT write holds the inode lock until the
            // device is done, and appends need that lock: small pieces keep
            // their wait short.
            for (i, piece) in zeros.chunks(DIRECT_PIECE).enumerate() {
                direct.write_all_at(piece, start + (i * DIRECT_PIECE) as u64)?;
            }
            // Bring the zeros back into the page cache (clean) ahead of the
            // appends: a partial-page write to an uncached block must first
            // read it, synchronously.
            // SAFETY: posix_fadvise only reads its plain integer arguments.
            unsafe {
                libc::posix_fadvise(
                    file.as_raw_fd(),
                    start as libc::off_t,
                    zeros.len() as libc::off_t,
                    libc::POSIX_FADV_WILLNEED,
                );
            }
        }
        None => file.write_all_at(zeros, start)?,
    }
    file.sync_data()
}
