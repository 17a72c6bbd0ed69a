//! The snapshotter actor: writes fuzzy snapshots of the tree and purges old
//! files, on its own thread so the request path never waits for it.
//!
//! A snapshot is valid whatever txns land while it is written because txns are
//! idempotent and recovery replays the log from the snapshot's zxid.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::persistence::snapshot::NodeVisitor;
use crate::persistence::{purge, save_snapshot, Compression, DataDirs, SnapshotSource};
use crate::server::Shared;
use crate::tree::DataTree;

/// Take a snapshot now.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TakeSnapshot;

pub struct Snapshotter {
    shared: Arc<Shared>,
    dirs: DataDirs,
}

/// The tree as a snapshot sees it: nodes in pre-order plus the live sessions.
pub struct TreeSource<'a> {
    pub tree: &'a DataTree,
    pub sessions: Vec<(i64, i32)>,
}

impl SnapshotSource for TreeSource<'_> {
    fn sessions(&self) -> Vec<(i64, i32)> {
        self.sessions.clone()
    }

    fn for_each_node(&self, f: &mut NodeVisitor<'_>) -> io::Result<()> {
        let mut stack = vec!["/".to_owned()];
        while let Some(path) = stack.pop() {
            let Some(node) = self.tree.node(&path) else {
                continue;
            };
            f(&path, node.data(), node.acl(), node.stat_persisted())?;
            let prefix = if path == "/" { "" } else { path.as_str() };
            stack.extend(node.children().map(|c| format!("{prefix}/{c}")));
        }
        Ok(())
    }
}

/// Writes a snapshot of the shared tree; blocking, call off the event loop.
pub fn snapshot_now(shared: &Shared, dirs: &DataDirs) -> crate::persistence::Result<()> {
    let started = Instant::now();
    let tree = shared.tree.read().expect("tree lock");
    let zxid = tree.last_processed_zxid();
    let source = TreeSource {
        tree: &tree,
        sessions: shared.sessions(),
    };
    let compression = Compression::from_name(&shared.config.snapshot_compression);
    let path = save_snapshot(
        &dirs.snap_dir,
        zxid,
        compression,
        shared.config.force_sync,
        &source,
    )?;
    tracing::info!(
        "Snapshot {} written ({} nodes) in {:?}",
        path.display(),
        tree.node_count(),
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
