//! The sync (log) stage: txns become durable here before final applies them.
//!
//! Prep hands each item to the stage's writer, which appends the txns of a
//! batch to the log and writes them out; the syncer thread
//! ([`group_commit`](super::group_commit)) then fsyncs every batch written
//! since its last fsync at once and only then passes them on. So while one
//! group commit's fsync runs, the next batch is already being written, and no
//! blocking fsync ever runs on the event loop. Where the writer runs depends
//! on `forceSync`:
//!
//! - **forceSync=yes**: on the event loop. The first item of a round
//!   schedules a write-out behind the tasks already queued, so the batch is
//!   everything prep handed on in that round. The event loop spends most of
//!   a group commit waiting, so the write (a copy into the page cache) costs
//!   it little, and each write is a thread wake-up fewer than with a writer
//!   thread: on this two-vCPU machine that was about a sixth more durable
//!   sets/s (docs/PERFORMANCE.md, "Durable writes").
//! - **forceSync=no**: on a writer thread. Without fsyncs the event loop is
//!   the bottleneck and the writes would take its time. A lone item with the
//!   syncer idle (a synchronous client) is passed on by the writer itself,
//!   saving a thread hand-over.
//!
//! A reply to a write leaves only after its txn is on disk, and reads wait
//! behind the writes that came before them (as in `SyncRequestProcessor`).
//! Every `snapCount` txns or `snapSizeLimitInKb` of log (randomised) the
//! writer rolls the log and asks the snapshotter for a snapshot; past
//! `txnLogSizeLimitInKb` it only rolls the log ([`RollPolicy`]). Its
//! write-outs keep the log file zeroed ahead of the write position, so most
//! fsyncs flush only data. After a failed write the writer writes nothing
//! more, and the syncer acknowledges nothing more.
//!
//! Both halves report to [`LogMetrics`](crate::server::log_metrics::LogMetrics)
//! what `SyncRequestProcessor` and `FileTxnLog` report in ZooKeeper's `mntr`:
//! queue time, batch size, fsync and flush times.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;

use crate::persistence::{Roll, RollPolicy, TxnDigest, TxnLogWriter, DIGEST_VERSION};
use crate::server::final_stage::FinalStage;
use crate::server::group_commit::{contain_panic, sync_loop, Durable, Written};
use crate::server::log_metrics::millis;
use crate::server::pipeline::Work;
use crate::server::snapshotter::SnapshotTrigger;
use crate::server::Shared;

/// Items taken into one group commit at most.
const MAX_BATCH: usize = 4096;

/// A batch this small is fsynced by the writer thread itself when the syncer
/// is idle.
const INLINE_MAX: usize = 1;

/// The stage's entrance: prep hands items straight to the writer, with no
/// actor mailbox in between.
pub struct SyncStage {
    entrance: Entrance,
}

/// Where the writer runs.
enum Entrance {
    /// forceSync=yes: items wait here for the round's write-out.
    EventLoop(Rc<RefCell<Round>>),
    /// forceSync=no: each item with the time it was queued (for the
    /// queue-time metrics), to the writer thread.
    Thread(mpsc::Sender<(Instant, Work)>),
}

/// The writer on the event loop and what this round has handed it.
struct Round {
    writer: BatchWriter,
    queued: Vec<(Instant, Work)>,
}

/// Where the syncer thread sends its results.
pub struct LogTargets {
    pub next: Addr<FinalStage>,
    pub snapshotter: SnapshotTrigger,
    pub shared: Arc<Shared>,
}

impl SyncStage {
    /// Starts the syncer thread, and with forceSync=no the writer thread,
    /// around `writer`. Called on the event loop.
    pub fn new(writer: TxnLogWriter, targets: LogTargets) -> Self {
        let (to_syncer, written) = mpsc::channel();
        let config = &targets.shared.config;
        let on_event_loop = config.force_sync;
        let policy = RollPolicy::new(
            config.snap_count,
            config.snap_size_limit_kb.saturating_mul(1024),
            config.txn_log_size_limit_kb.saturating_mul(1024),
        );
        let durable = Arc::new(Durable::new(targets));
        let for_syncer = durable.clone();
        std::thread::Builder::new()
            .name("txn-sync".into())
            .spawn(move || sync_loop(written, &for_syncer))
            .expect("spawn the txn sync thread");
        let writer = BatchWriter {
            writer,
            policy,
            to_syncer,
            durable,
            failed: false,
            may_commit: !on_event_loop,
        };
        let entrance = if on_event_loop {
            Entrance::EventLoop(Rc::new(RefCell::new(Round {
                writer,
                queued: Vec::new(),
            })))
        } else {
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("txn-log".into())
                .spawn(move || write_loop(rx, writer))
                .expect("spawn the txn log thread");
            Entrance::Thread(tx)
        };
        SyncStage { entrance }
    }

    /// Queues `work` for the log, after everything queued before it.
    pub fn log(&self, work: Work) {
        match &self.entrance {
            Entrance::EventLoop(round) => {
                let mut r = round.borrow_mut();
                r.queued.push((Instant::now(), work));
                if r.queued.len() == 1 {
                    let round = round.clone();
                    actix::spawn(async move {
                        let mut r = round.borrow_mut();
                        let queued = std::mem::take(&mut r.queued);
                        r.writer.write(Instant::now(), queued);
                    });
                }
            }
            Entrance::Thread(to_log) => {
                if to_log.send((Instant::now(), work)).is_err() {
                    tracing::error!("the transaction log thread has stopped");
                }
            }
        }
    }
}

/// Appends batches to the log, writes them out and hands them to the
/// syncer; rolls the log when due.
struct BatchWriter {
    writer: TxnLogWriter,
    policy: RollPolicy,
    to_syncer: mpsc::Sender<Written>,
    durable: Arc<Durable>,
    /// A write failed: the writer's state is unknown, nothing more is written.
    failed: bool,
    /// May fsync a lone item itself (never on the event loop).
    may_commit: bool,
}

impl BatchWriter {
    /// Writes `queued` out (taken from the queue at `taken`) and hands it on.
    /// Returns false once the syncer is gone.
    fn write(&mut self, taken: Instant, queued: Vec<(Instant, Work)>) -> bool {
        let durable = &*self.durable;
        let metrics = &durable.targets.shared.stats.log;
        let (queued_at, batch): (Vec<Instant>, Vec<Work>) = queued.into_iter().unzip();
        let n = batch.len() as u64;
        metrics.taken(n);
        metrics.queue_time.add_since(taken, &queued_at);
        let appended = batch
            .iter()
            .any(|w| matches!(w, Work::Request(p) if p.txn.is_some()));
        let ticket = if self.failed {
            None
        } else {
            match contain_panic(|| write_batch(&mut self.writer, &batch)) {
                Ok(ticket) => Some(ticket),
                Err(e) => {
                    tracing::error!(
                        "Severe error writing the transaction log, refusing writes from now on: {e}"
                    );
                    self.failed = true;
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
        if self.may_commit
            && written.batch.len() <= INLINE_MAX
            && durable.queued.load(Ordering::Acquire) == 0
        {
            durable.commit(vec![written]);
        } else {
            durable.queued.fetch_add(1, Ordering::AcqRel);
            if self.to_syncer.send(written).is_err() {
                return false;
            }
        }
        if appended && ok {
            self.roll_if_due();
        }
        true
    }

    fn roll_if_due(&mut self) {
        let roll = self
            .policy
            .decide(self.writer.appended(), self.writer.current_file_bytes());
        if roll == Roll::No {
            return;
        }
        match self.writer.roll() {
            Ok(()) if roll == Roll::LogAndSnapshot => {
                self.policy.snapshot_taken(self.writer.appended());
                self.durable.targets.snapshotter.request();
            }
            Ok(()) => {}
            Err(e) => tracing::error!("Rolling the transaction log failed: {e}"),
        }
    }
}

/// The writer thread: takes every item waiting and writes them out as one
/// batch. It goes on writing while the syncer fsyncs.
fn write_loop(rx: mpsc::Receiver<(Instant, Work)>, mut writer: BatchWriter) {
    while let Ok(first) = rx.recv() {
        let taken = Instant::now();
        let mut queued = vec![first];
        while queued.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => queued.push(w),
                Err(_) => break,
            }
        }
        if !writer.write(taken, queued) {
            return;
        }
    }
}

/// Appends the txns of `batch` and writes them out.
fn write_batch(
    writer: &mut TxnLogWriter,
    batch: &[Work],
) -> crate::persistence::Result<crate::persistence::PendingSync> {
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
