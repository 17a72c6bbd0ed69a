//! The sync (log) stage: txns become durable here before final applies them.
//!
//! The actor hands items to a dedicated log thread, so a blocking fsync never
//! stalls an event loop. That thread does group commit: it takes every item
//! waiting, appends their txns to the log, fsyncs once, and only then passes
//! the whole batch on in order — a reply to a write leaves only after its txn
//! is on disk, and reads wait behind the writes that came before them (as in
//! `SyncRequestProcessor`). Every `snapCount` txns (randomised) it rolls the log
//! and asks the snapshotter for a snapshot. If the disk fails, nothing more is
//! acknowledged: the batch's writers are disconnected (outcome unknown, as
//! with any lost connection) and prep refuses new writes.

use std::sync::mpsc;
use std::sync::Arc;

use actix::prelude::*;

use crate::persistence::{RollPolicy, TxnDigest, TxnLogWriter, DIGEST_VERSION};
use crate::server::final_stage::{Apply, FinalStage};
use crate::server::pipeline::Work;
use crate::server::session::Close;
use crate::server::snapshotter::{Snapshotter, TakeSnapshot};
use crate::server::Shared;

/// An item to log, in order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Log(pub Work);

/// Items taken into one group commit at most.
const MAX_BATCH: usize = 4096;

pub struct SyncStage {
    to_log: mpsc::Sender<Work>,
}

/// Where the log thread sends its results.
pub struct LogTargets {
    pub next: Addr<FinalStage>,
    pub snapshotter: Addr<Snapshotter>,
    pub shared: Arc<Shared>,
}

impl SyncStage {
    /// Starts the log thread around `writer`.
    pub fn new(writer: TxnLogWriter, targets: LogTargets) -> Self {
        let (tx, rx) = mpsc::channel();
        let snap_count = targets.shared.config.snap_count;
        std::thread::Builder::new()
            .name("txn-log".into())
            .spawn(move || {
                let policy = RollPolicy::new(snap_count, RollPolicy::DEFAULT_SNAP_SIZE_BYTES);
                log_loop(rx, writer, policy, targets)
            })
            .expect("spawn the txn log thread");
        SyncStage { to_log: tx }
    }
}

fn log_loop(
    rx: mpsc::Receiver<Work>,
    mut writer: TxnLogWriter,
    mut policy: RollPolicy,
    t: LogTargets,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let mut appended = false;
        let mut result = Ok(());
        for work in &batch {
            if let Work::Request(p) = work {
                if let Some(txn) = &p.txn {
                    appended = true;
                    // The digest ZooKeeper 3.6+ appends (digest.enabled, its default).
                    let digest = p.tree_digest.map(|tree_digest| TxnDigest {
                        version: DIGEST_VERSION,
                        tree_digest,
                    });
                    result = result.and_then(|_| writer.append_with_digest(txn, digest.as_ref()));
                }
            }
        }
        if appended {
            result = result.and_then(|_| writer.commit());
        }
        if let Err(e) = result {
            tracing::error!(
                "Severe error writing the transaction log, refusing writes from now on: {e}"
            );
            t.shared.set_storage_failed();
            for work in batch {
                match work {
                    Work::Request(p) if p.txn.is_some() => {
                        if let Some(conn) = &p.conn {
                            conn.left_log();
                            conn.addr.do_send(Close("transaction log write failed"));
                        }
                    }
                    other => t.next.do_send(Apply {
                        work: other,
                        from_log: true,
                    }),
                }
            }
            continue;
        }
        for work in batch {
            t.next.do_send(Apply {
                work,
                from_log: true,
            });
        }
        if appended
            && policy.should_roll(writer.txns_in_current_file(), writer.current_file_bytes())
        {
            match writer.roll() {
                Ok(()) => {
                    policy.reset();
                    t.snapshotter.do_send(TakeSnapshot);
                }
                Err(e) => tracing::error!("Rolling the transaction log failed: {e}"),
            }
        }
    }
}

impl Actor for SyncStage {
    type Context = Context<Self>;
}

impl Handler<Log> for SyncStage {
    type Result = ();
    fn handle(&mut self, Log(work): Log, _: &mut Context<Self>) {
        if self.to_log.send(work).is_err() {
            tracing::error!("the transaction log thread has stopped");
        }
    }
}
