//! Group commit, the second half of the log stage: the syncer thread takes
//! every batch written since its last fsync, fsyncs the log once, and only
//! then passes the batches on to final, in the order they were written.
//!
//! One fdatasync at a time is all this kind of disk runs, so a batch written
//! while one is in progress waits for it and goes with the next. After a
//! failed write or fsync, or an internal error in a log step (a panic is
//! caught and taken as a failed write), no txn is acknowledged again: the
//! writers of unsynced txns are disconnected (outcome unknown, as with any
//! lost connection) and prep refuses new writes.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::persistence::PendingSync;
use crate::server::final_stage::Apply;
use crate::server::log_metrics::millis;
use crate::server::pipeline::Work;
use crate::server::session::Close;
use crate::server::sync::LogTargets;

/// A batch the writer has written out, for the syncer to make durable.
pub(super) struct Written {
    pub batch: Vec<Work>,
    /// When each item of `batch` was queued.
    pub queued_at: Vec<Instant>,
    /// `None` when writing failed: the batch's txns must not be acknowledged.
    pub ticket: Option<PendingSync>,
}

/// What the writer and the syncer share: where durable batches go, how many
/// written batches wait for the syncer, and whether the disk has failed.
pub(super) struct Durable {
    pub targets: LogTargets,
    /// Batches handed to the syncer and not yet passed on.
    pub queued: AtomicUsize,
    /// A write or fsync failed: no txn is acknowledged again.
    failed: AtomicBool,
}

impl Durable {
    pub fn new(targets: LogTargets) -> Self {
        Durable {
            targets,
            queued: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
        }
    }

    /// fsyncs the files behind `batches` once, then passes the batches on in
    /// order. After any failure it acknowledges no txn again: their writers
    /// are disconnected and prep refuses new writes.
    pub fn commit(&self, mut batches: Vec<Written>) {
        let metrics = &self.targets.shared.stats.log;
        let mut failed = self.failed.load(Ordering::Acquire);
        let mut ticket = PendingSync::default();
        for w in &mut batches {
            match w.ticket.take() {
                Some(tk) => ticket.merge(tk),
                None => failed = true,
            }
        }
        let started = Instant::now();
        if !failed {
            let stats = &self.targets.shared.stats;
            let fsynced = |took: Duration, slow: bool| {
                metrics.fsync_time.add(millis(took));
                if slow {
                    stats.fsync_threshold_exceeded();
                }
            };
            if let Err(e) = contain_panic(|| ticket.sync(fsynced)) {
                tracing::error!(
                    "Severe error syncing the transaction log, refusing writes from now on: {e}"
                );
                failed = true;
            }
        }
        if failed {
            self.failed.store(true, Ordering::Release);
            self.targets.shared.set_storage_failed();
        } else {
            let done = Instant::now();
            metrics.flush_time.add(millis(done - started));
            let items = batches.iter().map(|w| w.batch.len() as u64).sum();
            metrics.batch_size.add(items);
            for w in &batches {
                metrics.queue_and_flush_time.add_since(done, &w.queued_at);
            }
        }
        for work in batches.into_iter().flat_map(|w| w.batch) {
            match work {
                Work::Request(p) if failed && p.txn.is_some() => {
                    if let Some(conn) = &p.conn {
                        conn.left_log();
                        conn.addr.do_send(Close("transaction log write failed"));
                    }
                }
                work => self.targets.next.do_send(Apply {
                    work,
                    from_log: true,
                }),
            }
        }
    }
}

/// The syncer thread: takes every written batch waiting and commits them
/// with one fsync.
pub(super) fn sync_loop(rx: mpsc::Receiver<Written>, durable: &Durable) {
    while let Ok(first) = rx.recv() {
        let mut batches = vec![first];
        while let Ok(more) = rx.try_recv() {
            batches.push(more);
        }
        let n = batches.len();
        durable.commit(batches);
        durable.queued.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Runs a step of the log threads, turning a panic into an error. A log
/// thread that died would leave every later write waiting for a reply that
/// never comes; an error takes the disk-failure path instead (writers
/// disconnected, new writes refused, the server up for reads).
pub(super) fn contain_panic<T>(
    step: impl FnOnce() -> crate::persistence::Result<T>,
) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(payload) => Err(
            match payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
            {
                Some(msg) => format!("internal error (panic): {msg}"),
                None => "internal error (panic)".to_owned(),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_log_step_becomes_an_error_naming_the_panic() {
        let r: Result<(), String> = contain_panic(|| panic!("encoder bug"));
        assert_eq!(r.unwrap_err(), "internal error (panic): encoder bug");
        let r: Result<(), String> = contain_panic(|| panic!("entry {} too long", 7));
        assert_eq!(r.unwrap_err(), "internal error (panic): entry 7 too long");
        let r = contain_panic(|| Ok(7));
        assert_eq!(r, Ok(7));
    }
}
