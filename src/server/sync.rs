//! The sync (log) stage: txns become durable here before final applies them.
//!
//! Prep hands items to two threads, so a blocking fsync never stalls an
//! event loop. The writer thread takes every item waiting, appends their txns
//! to the log and writes them out; the syncer thread takes every written batch
//! waiting, fsyncs once, and only then passes the batches on in order. So
//! while one group commit's fsync runs, the next batch is already being
//! encoded and written. A lone item with the syncer idle (a synchronous
//! client) is fsynced by the writer itself, saving a thread hand-over.
//!
//! A reply to a write leaves only after its txn is on disk, and reads wait
//! behind the writes that came before them (as in `SyncRequestProcessor`).
//! Every `snapCount` txns or `snapSizeLimitInKb` of log (randomised) the
//! writer rolls the log and asks the snapshotter for a snapshot; past
//! `txnLogSizeLimitInKb` it only rolls the log ([`RollPolicy`]). Its
//! write-outs keep the log file zeroed ahead of the write position, so most
//! fsyncs flush only data. If the disk fails, or a log thread hits an
//! internal error (a panic is caught and taken as a failed write), nothing
//! more is acknowledged: the writers of unsynced txns are disconnected
//! (outcome unknown, as with any lost connection) and prep refuses new
//! writes.
//!
//! Both threads report to [`LogMetrics`](crate::server::log_metrics::LogMetrics)
//! what `SyncRequestProcessor` and `FileTxnLog` report in ZooKeeper's `mntr`:
//! queue time, batch size, fsync and flush times.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::persistence::{PendingSync, Roll, RollPolicy, TxnDigest, TxnLogWriter, DIGEST_VERSION};
use crate::server::final_stage::{Apply, FinalStage};
use crate::server::log_metrics::millis;
use crate::server::pipeline::Work;
use crate::server::session::Close;
use crate::server::snapshotter::SnapshotTrigger;
use crate::server::Shared;

/// Items taken into one group commit at most.
const MAX_BATCH: usize = 4096;

/// A batch this small is fsynced by the writer itself when the syncer is idle.
const INLINE_MAX: usize = 1;

/// The stage's entrance: prep hands items straight to the writer thread
/// (no actor mailbox in between, so a write never waits for the event loop
/// to get round to forwarding it).
pub struct SyncStage {
    /// Each item with the time it was queued (for the queue-time metrics).
    to_log: mpsc::Sender<(Instant, Work)>,
}

/// Where the syncer thread sends its results.
pub struct LogTargets {
    pub next: Addr<FinalStage>,
    pub snapshotter: SnapshotTrigger,
    pub shared: Arc<Shared>,
}

impl SyncStage {
    /// Starts the writer and syncer threads around `writer`.
    pub fn new(writer: TxnLogWriter, targets: LogTargets) -> Self {
        let (tx, rx) = mpsc::channel();
        let (to_syncer, written) = mpsc::channel();
        let config = &targets.shared.config;
        let policy = RollPolicy::new(
            config.snap_count,
            config.snap_size_limit_kb.saturating_mul(1024),
            config.txn_log_size_limit_kb.saturating_mul(1024),
        );
        let durable = Arc::new(Durable {
            targets,
            queued: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
        });
        let for_syncer = durable.clone();
        std::thread::Builder::new()
            .name("txn-log".into())
            .spawn(move || write_loop(rx, writer, policy, to_syncer, &durable))
            .expect("spawn the txn log thread");
        std::thread::Builder::new()
            .name("txn-sync".into())
            .spawn(move || sync_loop(written, &for_syncer))
            .expect("spawn the txn sync thread");
        SyncStage { to_log: tx }
    }

    /// Queues `work` for the log, after everything queued before it.
    pub fn log(&self, work: Work) {
        if self.to_log.send((Instant::now(), work)).is_err() {
            tracing::error!("the transaction log thread has stopped");
        }
    }
}

/// A batch the writer has written out, for the syncer to make durable.
struct Written {
    batch: Vec<Work>,
    /// When each item of `batch` was queued.
    queued_at: Vec<Instant>,
    /// `None` when writing failed: the batch's txns must not be acknowledged.
    ticket: Option<PendingSync>,
}

/// The writer thread: takes every item waiting, appends their txns and
/// writes them out, and hands the batch to the syncer (or commits a lone
/// item itself while the syncer is idle); then rolls the log when due. It
/// goes on writing while the syncer fsyncs.
fn write_loop(
    rx: mpsc::Receiver<(Instant, Work)>,
    mut writer: TxnLogWriter,
    mut policy: RollPolicy,
    to_syncer: mpsc::Sender<Written>,
    durable: &Durable,
) {
    let mut writer_failed = false;
    let metrics = &durable.targets.shared.stats.log;
    while let Ok(first) = rx.recv() {
        let taken = Instant::now();
        let mut queued = vec![first];
        while queued.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => queued.push(w),
                Err(_) => break,
            }
        }
        let (queued_at, batch): (Vec<Instant>, Vec<Work>) = queued.into_iter().unzip();
        let n = batch.len() as u64;
        metrics.taken(n);
        metrics.queue_time.add_since(taken, &queued_at);
        let appended = batch
            .iter()
            .any(|w| matches!(w, Work::Request(p) if p.txn.is_some()));
        // After a failure the writer's state is unknown: nothing more is written.
        let ticket = if writer_failed {
            None
        } else {
            match contain_panic(|| write_batch(&mut writer, &batch)) {
                Ok(ticket) => Some(ticket),
                Err(e) => {
                    tracing::error!(
                        "Severe error writing the transaction log, refusing writes from now on: {e}"
                    );
                    writer_failed = true;
                    None
                }
            }
        };
        metrics.process_time.add_n(millis(taken.elapsed()), n);
        let ok = ticket.is_some();
        let written = Written {
            batch,
            queued_at,
            ticket,
        };
        // A lone item with the syncer idle (a synchronous client): fsync
        // here rather than pay a hand-over to the other thread. Everything
        // handed over before has been passed on, so order holds.
        if written.batch.len() <= INLINE_MAX && durable.queued.load(Ordering::Acquire) == 0 {
            durable.commit(vec![written]);
        } else {
            durable.queued.fetch_add(1, Ordering::AcqRel);
            if to_syncer.send(written).is_err() {
                return;
            }
        }
        if !(appended && ok) {
            continue;
        }
        let roll = policy.decide(writer.appended(), writer.current_file_bytes());
        if roll == Roll::No {
            continue;
        }
        match writer.roll() {
            Ok(()) if roll == Roll::LogAndSnapshot => {
                policy.snapshot_taken(writer.appended());
                durable.targets.snapshotter.request();
            }
            Ok(()) => {}
            Err(e) => tracing::error!("Rolling the transaction log failed: {e}"),
        }
    }
}

/// Appends the txns of `batch` and writes them out.
fn write_batch(
    writer: &mut TxnLogWriter,
    batch: &[Work],
) -> crate::persistence::Result<PendingSync> {
    for work in batch {
        if let Work::Request(p) = work {
            if let Some(txn) = &p.txn {
                // The digest ZooKeeper 3.6+ appends (digest.enabled, its default).
                let digest = p.tree_digest.map(|tree_digest| TxnDigest {
                    version: DIGEST_VERSION,
                    tree_digest,
                });
                writer.append_with_digest(txn, digest.as_ref())?;
            }
        }
    }
    writer.write_out()
}

/// Runs a step of the log threads, turning a panic into an error. A log
/// thread that died would leave every later write waiting for a reply that
/// never comes; an error takes the disk-failure path instead (writers
/// disconnected, new writes refused, the server up for reads).
fn contain_panic<T>(step: impl FnOnce() -> crate::persistence::Result<T>) -> Result<T, String> {
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

/// What the writer and the syncer share: where durable batches go, how many
/// written batches wait for the syncer, and whether the disk has failed.
struct Durable {
    targets: LogTargets,
    /// Batches handed to the syncer and not yet passed on.
    queued: AtomicUsize,
    /// A write or fsync failed: no txn is acknowledged again.
    failed: AtomicBool,
}

impl Durable {
    /// fsyncs the files behind `batches` once, then passes the batches on in
    /// order. After any failure it acknowledges no txn again: their writers
    /// are disconnected and prep refuses new writes.
    fn commit(&self, mut batches: Vec<Written>) {
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
fn sync_loop(rx: mpsc::Receiver<Written>, durable: &Durable) {
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
