//! The snapshotter actor: writes fuzzy snapshots of the tree and purges old
//! files, on its own thread so the request path never waits for it.
//!
//! A snapshot is valid whatever txns land while it is written because txns are
//! idempotent and recovery replays the log from the snapshot's zxid.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::persistence::snapshot::OPEN_ACL_REF;
use crate::persistence::{purge, snapshot_file_name, Compression, DataDirs, SnapshotWriter};
use crate::proto::data::{Acl, StatPersisted};
use crate::server::Shared;

/// Take a snapshot now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TakeSnapshot;

pub struct Snapshotter {
    shared: Arc<Shared>,
    dirs: DataDirs,
}

/// Nodes copied per read-lock hold: final waits at most this long for a snapshot.
const NODES_PER_CHUNK: usize = 2000;

/// One node as copied out of the tree.
type Copied = (String, Option<Vec<u8>>, i64, StatPersisted);

/// Writes a fuzzy snapshot of the shared tree; blocking, call off the event loop.
///
/// The tree is read in chunks, the lock released between them, so writes go on
/// while the snapshot is taken (as ZooKeeper's fuzzy snapshot). Its zxid is the
/// last applied one at the start: every change after it is in the log and
/// replays idempotently over the snapshot. An ACL list first used after the
/// start gets a reference missing from the map; the replayed txn sets it.
pub fn snapshot_now(shared: &Shared, dirs: &DataDirs) -> crate::persistence::Result<()> {
    let compression = Compression::from_name(&shared.config.snapshot_compression);
    let zxid = shared.tree.read().expect("tree lock").last_processed_zxid();
    let result = write_snapshot(shared, dirs, zxid, compression);
    if result.is_err() {
        // A half-written snapshot (full disk, say) must not linger.
        let tmp = format!("{}.tmp", snapshot_file_name(zxid, compression));
        let _ = std::fs::remove_file(dirs.snap_dir.join(tmp));
    }
    result
}

fn write_snapshot(
    shared: &Shared,
    dirs: &DataDirs,
    zxid: i64,
    compression: Compression,
) -> crate::persistence::Result<()> {
    let started = Instant::now();
    let open: Arc<[Acl]> = Arc::from(Acl::open_unsafe());
    let mut refs: HashMap<Arc<[Acl]>, i64> = {
        let tree = shared.tree.read().expect("tree lock");
        tree.acl_lists()
            .filter(|a| a[..] != open[..])
            .enumerate()
            .map(|(i, a)| (a.clone(), i as i64 + 1))
            .collect()
    };
    let mut writer =
        SnapshotWriter::create(&dirs.snap_dir, zxid, compression, shared.config.force_sync)?;
    writer.sessions(&shared.sessions())?;
    let mut by_ref: Vec<(i64, &[Acl])> = refs.iter().map(|(a, r)| (*r, &a[..])).collect();
    by_ref.sort_unstable_by_key(|(r, _)| *r);
    writer.acl_map(by_ref.into_iter())?;
    let mut next_ref = refs.len() as i64 + 1;
    let mut stack = vec!["/".to_owned()];
    let mut chunk: Vec<Copied> = Vec::with_capacity(NODES_PER_CHUNK);
    let mut nodes = 0usize;
    while !stack.is_empty() {
        {
            let tree = shared.tree.read().expect("tree lock");
            while chunk.len() < NODES_PER_CHUNK {
                let Some(path) = stack.pop() else { break };
                // Deleted since its parent was read: fuzzy, the log has the delete.
                let Some(node) = tree.node(&path) else {
                    continue;
                };
                let acl = node.acl_shared();
                let acl_ref = if acl[..] == open[..] {
                    OPEN_ACL_REF
                } else {
                    *refs.entry(acl.clone()).or_insert_with(|| {
                        next_ref += 1;
                        next_ref - 1
                    })
                };
                let prefix = if path == "/" { "" } else { path.as_str() };
                stack.extend(node.children().map(|c| format!("{prefix}/{c}")));
                chunk.push((
                    path,
                    node.data().map(<[u8]>::to_vec),
                    acl_ref,
                    *node.stat_persisted(),
                ));
            }
        }
        nodes += chunk.len();
        for (path, data, acl_ref, stat) in chunk.drain(..) {
            writer.node(&path, data.as_deref(), acl_ref, &stat)?;
        }
    }
    let path = writer.finish(None)?;
    tracing::info!(
        "Snapshot {} written ({nodes} nodes) in {:?}",
        path.display(),
        started.elapsed()
    );
    Ok(())
}

impl Snapshotter {
    /// Starts the snapshotter on a thread of its own.
    pub fn start_on_own_thread(shared: Arc<Shared>, dirs: DataDirs) -> Addr<Snapshotter> {
        let arbiter = Arbiter::new();
        Snapshotter::start_in_arbiter(&arbiter.handle(), move |_| Snapshotter { shared, dirs })
    }

    fn purge(&self) {
        let retain = self.shared.config.snap_retain_count;
        match purge(&self.dirs.log_dir, &self.dirs.snap_dir, retain) {
            Ok(removed) => tracing::info!("Purge task removed {} old files", removed.len()),
            Err(e) => tracing::error!("Purge task failed: {e}"),
        }
    }
}

impl Actor for Snapshotter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let hours = self.shared.config.purge_interval_hours;
        if hours > 0 {
            tracing::info!(
                "Purge task scheduled every {hours} h, keeping {} snapshots",
                self.shared.config.snap_retain_count
            );
            self.purge();
            ctx.run_interval(Duration::from_secs(hours * 3600), |s, _| s.purge());
        }
    }
}

impl Handler<TakeSnapshot> for Snapshotter {
    type Result = ();
    fn handle(&mut self, _: TakeSnapshot, _: &mut Context<Self>) {
        if let Err(e) = snapshot_now(&self.shared, &self.dirs) {
            // The log still holds everything: a failed snapshot loses nothing.
            tracing::error!("Snapshot failed: {e}");
        }
    }
}
