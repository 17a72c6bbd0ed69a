//! The snapshotter actor: writes fuzzy snapshots of the tree and purges old
//! files, on its own thread so the request path never waits for it. A
//! snapshot due while one is still being written is skipped, as ZooKeeper
//! does ("Too busy to snap, skipping"); the next roll asks again.
//!
//! A snapshot is valid whatever txns land while it is written because txns are
//! idempotent and recovery replays the log from the snapshot's zxid.

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::BytesMut;
use compact_str::CompactString;

use crate::persistence::{
    drop_cached_pages, purge, put_node, snapshot_file_name, Compression, DataDirs, PersistError,
    SnapshotWriter, ZxidDigest, DIGEST_VERSION,
};
use crate::server::log_metrics::millis;
use crate::server::{Shared, SnapshotInfo};
use crate::tree::NodeId;

/// Take a snapshot now.
#[derive(Message)]
#[rtype(result = "()")]
struct TakeSnapshot;

pub struct Snapshotter {
    shared: Arc<Shared>,
    dirs: DataDirs,
    /// Take a snapshot as soon as the thread starts (the start-up snapshot).
    snapshot_first: bool,
    /// Set from a request until its snapshot is written.
    busy: Arc<AtomicBool>,
    /// The last snapshot written here: what it left in the page cache (its
    /// last partial chunk, or all of it where `O_DIRECT` is refused) is
    /// dropped when the next one is written; a recovery reads only the newest.
    last_written: Option<PathBuf>,
}

/// How the log asks for snapshots: at most one is waiting or being written.
pub struct SnapshotTrigger {
    addr: Addr<Snapshotter>,
    busy: Arc<AtomicBool>,
}

impl SnapshotTrigger {
    /// Asks for a snapshot, unless one is still waiting or being written
    /// (`SyncRequestProcessor`'s `snapThreadMutex.tryAcquire()`).
    pub fn request(&self) {
        if self.busy.swap(true, Ordering::AcqRel) {
            tracing::warn!("Too busy to snap, skipping");
            return;
        }
        self.addr.do_send(TakeSnapshot);
    }
}

/// Nodes copied per read-lock hold (each child name read is followed by its
/// node's copy in the same hold): final waits at most this long for a
/// snapshot, however many children one node has.
const NODES_PER_CHUNK: usize = 2000;

/// Work left in the pre-order walk of the tree.
///
/// A node's children are those it had when the node itself was copied, as
/// in ZooKeeper (which copies the stat and the child list together): a child
/// created later (after the parent's copy, when `created_by`, the tree's
/// last zxid then, had been applied) is left to the log, whose create replays
/// over the parent's copied stat. Otherwise the parent's cversion, the next
/// sequence number, would stay behind its children after recovery.
enum Frame {
    /// The root, copied first.
    Root,
    /// A node to copy if it was created by zxid `created_by`: `parent/name`
    /// (`parent` is `""` under the root). `slot` is where the parent's child
    /// list had it, maybe in an earlier lock hold: an empty slot means the
    /// node was deleted since; a reused one holds a node created since,
    /// whose czxid is past `created_by`.
    Node {
        parent: Rc<str>,
        name: CompactString,
        created_by: i64,
        slot: NodeId,
    },
    /// The children of the node at `path` after `after`, still to visit.
    Children {
        path: Rc<str>,
        after: Option<CompactString>,
        created_by: i64,
    },
}

/// Writes a fuzzy snapshot of the shared tree; blocking, call off the event loop.
///
/// The tree is read in chunks, the lock released between them, so writes go on
/// while the snapshot is taken (as ZooKeeper's fuzzy snapshot). Its zxid is the
/// last applied one at the start: every change after it is in the log and
/// replays idempotently over the snapshot. An ACL list first used after the
/// start gets a reference missing from the map; the replayed txn sets it.
pub fn snapshot_now(shared: &Shared, dirs: &DataDirs) -> crate::persistence::Result<PathBuf> {
    let compression = Compression::from_name(&shared.config.snapshot_compression);
    let zxid = shared.tree.read().expect("tree lock").last_processed_zxid();
    let result = write_snapshot(shared, dirs, zxid, compression, &mut || {});
    if result.is_err() {
        // A half-written snapshot (full disk, say) must not linger.
        let tmp = format!("{}.tmp", snapshot_file_name(zxid, compression));
        let _ = std::fs::remove_file(dirs.snap_dir.join(tmp));
    }
    result
}

/// Writes the snapshot of zxid `zxid` (see [`snapshot_now`]), calling
/// `between_chunks` each time a read-lock hold is over, before the next one:
/// a no-op in the server; a test applies txns there, as the final stage may.
fn write_snapshot(
    shared: &Shared,
    dirs: &DataDirs,
    zxid: i64,
    compression: Compression,
    between_chunks: &mut dyn FnMut(),
) -> crate::persistence::Result<PathBuf> {
    let started = Instant::now();
    // The tree's ACL map, lists no node holds dropped first. A list first
    // used while this snapshot is written has an id past the map's largest,
    // the one ZooKeeper's cache allocates when it replays that txn.
    let acl_map = shared.tree.write().expect("tree lock").snapshot_acl_map();
    let mut writer =
        SnapshotWriter::create(&dirs.snap_dir, zxid, compression, shared.config.force_sync)?;
    writer.sessions(&shared.sessions())?;
    writer.acl_map(acl_map.iter().map(|(id, a)| (*id, &a[..])))?;
    let mut stack = vec![Frame::Root];
    // Node records, encoded under the read lock and written out without it.
    let mut chunk = BytesMut::new();
    let mut nodes = 0usize;
    while !stack.is_empty() {
        {
            let tree = shared.tree.read().expect("tree lock");
            let mut budget = NODES_PER_CHUNK;
            while budget > 0 {
                let Some(frame) = stack.pop() else { break };
                budget -= 1;
                let (parent, name, node) = match frame {
                    Frame::Root => {
                        let Some(root) = tree.node("/") else { continue };
                        (Rc::from(""), CompactString::default(), root)
                    }
                    Frame::Node {
                        parent,
                        name,
                        created_by,
                        slot,
                    } => {
                        // Deleted since its parent was read (fuzzy: the log
                        // has the delete), or created after the parent's copy.
                        let Some(node) = tree
                            .node_by_id(slot)
                            .filter(|n| n.stat_persisted().czxid <= created_by)
                        else {
                            continue;
                        };
                        (parent, name, node)
                    }
                    Frame::Children {
                        path,
                        after,
                        created_by,
                    } => {
                        let Some(node) = tree.node(&path) else {
                            continue;
                        };
                        let parent: Rc<str> = if &*path == "/" {
                            Rc::from("")
                        } else {
                            path.clone()
                        };
                        let mut names = node.children_after(after.as_deref());
                        let next: Vec<(CompactString, NodeId)> = names
                            .by_ref()
                            // Their copies spend the budget.
                            .take(budget.max(1))
                            .map(|(c, id)| (CompactString::from(c), id))
                            .collect();
                        if names.next().is_some() {
                            let after = next.last().map(|(name, _)| name.clone());
                            stack.push(Frame::Children {
                                path,
                                after,
                                created_by,
                            });
                        }
                        stack.extend(next.into_iter().rev().map(|(name, slot)| Frame::Node {
                            parent: parent.clone(),
                            name,
                            created_by,
                            slot,
                        }));
                        continue;
                    }
                };
                let Some(acl_ref) = tree.acl_id(node.acl()) else {
                    return Err(PersistError::Invalid(format!(
                        "ACL list of {parent}/{name} is missing from the tree's ACL cache"
                    )));
                };
                if node.num_children() > 0 {
                    let path = if name.is_empty() {
                        Rc::from("/")
                    } else {
                        Rc::from(format!("{parent}/{name}"))
                    };
                    stack.push(Frame::Children {
                        path,
                        after: None,
                        created_by: tree.last_processed_zxid(),
                    });
                }
                put_node(
                    &mut chunk,
                    &parent,
                    &name,
                    node.data(),
                    acl_ref,
                    node.stat_persisted(),
                );
                nodes += 1;
            }
        }
        writer.encoded_nodes(&chunk)?;
        chunk.clear();
        between_chunks();
    }
    // `serializeZxidDigest`: the digest as of the last applied zxid once the
    // nodes are written, both read under one lock. A reader replays up to that
    // zxid (the snapshot is fuzzy before it) and compares there; written at
    // the start instead, it would be compared against the fuzzy content.
    let digest = {
        let tree = shared.tree.read().expect("tree lock");
        ZxidDigest {
            zxid: tree.last_processed_zxid(),
            digest_version: DIGEST_VERSION,
            digest: tree.tree_digest(),
        }
    };
    let path = writer.finish(Some(digest))?;
    shared.set_last_snapshot(SnapshotInfo::of_file(zxid, &path));
    shared
        .stats
        .log
        .snapshot_time
        .add(millis(started.elapsed()));
    tracing::info!(
        "Snapshot {} written ({nodes} nodes) in {:?}",
        path.display(),
        started.elapsed()
    );
    Ok(path)
}

impl Snapshotter {
    /// Starts the snapshotter on a thread of its own; with `snapshot_first`
    /// it writes a snapshot there before anything else (and before purging).
    pub fn start_on_own_thread(
        shared: Arc<Shared>,
        dirs: DataDirs,
        snapshot_first: bool,
    ) -> SnapshotTrigger {
        let arbiter = Arbiter::new();
        let busy = Arc::new(AtomicBool::new(false));
        let snapshotter_busy = busy.clone();
        let addr = Snapshotter::start_in_arbiter(&arbiter.handle(), move |_| Snapshotter {
            shared,
            dirs,
            snapshot_first,
            busy: snapshotter_busy,
            last_written: None,
        });
        SnapshotTrigger { addr, busy }
    }

    fn snapshot(&mut self) {
        match snapshot_now(&self.shared, &self.dirs) {
            Ok(path) => {
                if let Some(older) = self.last_written.replace(path) {
                    drop_cached_pages(&older);
                }
            }
            // The log still holds everything: a failed snapshot loses nothing.
            Err(e) => tracing::error!("Snapshot failed: {e}"),
        }
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
        if self.snapshot_first {
            self.snapshot();
        }
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
        self.snapshot();
        self.busy.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::persistence::{list_files, read_snapshot};
    use crate::proto::data::Acl;
    use crate::tree::DataTree;
    use crate::txn::{CreateTxn, DeleteTxn, Txn, TxnBody, TxnHeader};

    /// More children than one chunk holds, so the walk of `/wide` spans holds.
    const WIDE: usize = 4500;

    fn create(path: &str, zxid: i64, parent_cversion: i32) -> Txn {
        create_with_acl(path, zxid, parent_cversion, Acl::open_unsafe())
    }

    fn create_with_acl(path: &str, zxid: i64, parent_cversion: i32, acl: Vec<Acl>) -> Txn {
        txn(
            zxid,
            TxnBody::Create(CreateTxn {
                path: path.into(),
                data: Some(Vec::new()),
                acl,
                ephemeral: false,
                parent_cversion,
            }),
        )
    }

    /// An ACL list of its own for `user`.
    fn digest_acl(user: &str) -> Vec<Acl> {
        vec![Acl {
            perms: crate::proto::data::perms::ALL,
            id: crate::proto::data::Id {
                scheme: "digest".into(),
                id: format!("{user}:hash"),
            },
        }]
    }

    fn txn(zxid: i64, body: TxnBody) -> Txn {
        Txn {
            header: TxnHeader {
                client_id: 1,
                cxid: 1,
                zxid,
                time: 1_700_000_000_000 + zxid,
                op_type: body.op_code() as i32,
            },
            body,
        }
    }

    /// A tree of `parent` with `children` children `c000000`, ... (the
    /// create of each its own txn) in a `Shared` without fsync, and data
    /// dirs in a new temp dir.
    fn tree_with_children(
        parent: &str,
        children: usize,
    ) -> (Arc<Shared>, DataDirs, tempfile::TempDir) {
        tree_with_children_in(parent, children, false, tempfile::tempdir().unwrap())
    }

    /// [`tree_with_children`] with forceSync as given, data dirs in `d`.
    fn tree_with_children_in(
        parent: &str,
        children: usize,
        force_sync: bool,
        d: tempfile::TempDir,
    ) -> (Arc<Shared>, DataDirs, tempfile::TempDir) {
        let mut tree = DataTree::new();
        assert_eq!(tree.apply(&create(parent, 1, -1)).result.err, 0);
        for i in 0..children {
            let txn = create(&format!("{parent}/c{i:06}"), i as i64 + 2, i as i32 + 1);
            assert_eq!(tree.apply(&txn).result.err, 0);
        }
        let config = Config {
            force_sync,
            ..Config::default()
        };
        let shared = Arc::new(Shared::new(config, tree, Default::default()));
        let dirs = DataDirs::new(d.path(), None);
        dirs.create().unwrap();
        (shared, dirs, d)
    }

    /// Writes a snapshot of zxid `zxid`, applying `change` to the tree once,
    /// between the walk's first two lock holds, and reads the file back.
    fn snapshot_changed_between_holds(
        shared: &Shared,
        dirs: &DataDirs,
        zxid: i64,
        change: impl FnOnce(&mut DataTree),
    ) -> crate::persistence::Snapshot {
        let mut change = Some(change);
        let mut calls = 0;
        let mut between = || {
            calls += 1;
            if let Some(change) = change.take() {
                change(&mut shared.tree.write().unwrap());
            }
        };
        write_snapshot(shared, dirs, zxid, Compression::None, &mut between).unwrap();
        assert!(calls > 1, "the walk took a single hold");
        let files = list_files(&dirs.snap_dir, "snapshot").unwrap();
        assert_eq!(files.len(), 1);
        read_snapshot(&files[0].1).unwrap()
    }

    /// A child created between two lock holds, after its parent was copied,
    /// is left out (the log replays its create over the parent's copied
    /// stat), so the parent's cversion in the snapshot matches its children.
    #[test]
    fn a_child_created_after_its_parent_was_copied_is_left_to_the_log() {
        let (shared, dirs, _d) = tree_with_children("/wide", WIDE);
        let zxid = shared.tree.read().unwrap().last_processed_zxid();

        // `/wide` is copied in the first hold; `/wide/zzz`, sorting after
        // every `cNNNNNN`, would be reached in a later one.
        let snap = snapshot_changed_between_holds(&shared, &dirs, zxid, |tree| {
            let cversion = tree.node("/wide").unwrap().stat_persisted().cversion;
            let txn = create("/wide/zzz", tree.last_processed_zxid() + 1, cversion + 1);
            assert_eq!(tree.apply(&txn).result.err, 0);
        });
        assert!(shared.tree.read().unwrap().node("/wide/zzz").is_some());
        assert!(snap.nodes.iter().all(|n| n.path != "/wide/zzz"));
        let mut children: Vec<&str> = snap
            .nodes
            .iter()
            .filter_map(|n| n.path.strip_prefix("/wide/"))
            .collect();
        children.sort_unstable();
        let expected: Vec<String> = (0..WIDE).map(|i| format!("c{i:06}")).collect();
        assert_eq!(children, expected);
        let wide = snap.nodes.iter().find(|n| n.path == "/wide").unwrap();
        assert_eq!(wide.stat.cversion as usize, children.len());
    }

    /// A node reached in a later hold than its parent's child list may have
    /// been deleted since, and its slot given to a new node: neither is
    /// written.
    #[test]
    fn a_node_deleted_between_holds_is_not_written_from_its_reused_slot() {
        let (shared, dirs, _d) = tree_with_children("/wide", WIDE);
        let zxid = {
            let mut tree = shared.tree.write().unwrap();
            let zxid = tree.last_processed_zxid() + 1;
            assert_eq!(tree.apply(&create("/x", zxid, -1)).result.err, 0);
            zxid
        };

        // The root's children are read in the first hold, which `/wide`'s
        // children fill: `/x` is reached in a later one. Between the two it
        // goes, and `/y` takes its slot.
        let snap = snapshot_changed_between_holds(&shared, &dirs, zxid, |tree| {
            let path = "/x".to_owned();
            let delete = txn(zxid + 1, TxnBody::Delete(DeleteTxn { path }));
            assert_eq!(tree.apply(&delete).result.err, 0);
            assert_eq!(tree.apply(&create("/y", zxid + 2, -1)).result.err, 0);
        });
        let stray: Vec<_> = snap
            .nodes
            .iter()
            .filter(|n| n.path == "/x" || n.path == "/y")
            .map(|n| (&n.path, n.stat.czxid))
            .collect();
        assert_eq!(stray, [], "deleted or created after the root was read");
        assert_eq!(
            snap.nodes.len(),
            WIDE + 5,
            "/, /wide, /zookeeper and its quota and config"
        );
    }

    /// A list no node holds any more is left out of the map, and a list first
    /// used while the snapshot is written gets the id after the map's largest
    /// (not after the dropped list's, the largest given out): the one
    /// ZooKeeper allocates when it replays that create over the snapshot,
    /// which already holds the node.
    #[test]
    fn unused_acl_lists_are_dropped_and_new_ones_numbered_as_zookeeper_replays_them() {
        let (shared, dirs, _d) = tree_with_children("/wide", WIDE);
        let zxid = {
            let mut tree = shared.tree.write().unwrap();
            let mut zxid = tree.last_processed_zxid();
            for (path, user) in [("/wide2", "w"), ("/kept", "kept"), ("/gone", "gone")] {
                zxid += 1;
                let txn = create_with_acl(path, zxid, -1, digest_acl(user));
                assert_eq!(tree.apply(&txn).result.err, 0);
            }
            zxid += 1;
            let path = "/gone".to_owned();
            let delete = txn(zxid, TxnBody::Delete(DeleteTxn { path }));
            assert_eq!(tree.apply(&delete).result.err, 0);
            zxid
        };

        // `/wide2`'s children are read in a later hold than the root's.
        let snap = snapshot_changed_between_holds(&shared, &dirs, zxid, |tree| {
            let cversion = tree.node("/wide2").unwrap().stat_persisted().cversion;
            let zxid = tree.last_processed_zxid() + 1;
            let txn = create_with_acl("/wide2/new", zxid, cversion + 1, digest_acl("new"));
            assert_eq!(tree.apply(&txn).result.err, 0);
        });
        let lists: Vec<&Vec<Acl>> = snap.acls.values().collect();
        assert_eq!(
            lists,
            [
                &Acl::open_unsafe(),
                &Acl::read_unsafe(),
                &digest_acl("w"),
                &digest_acl("kept")
            ]
        );
        let acl_ref = |path: &str| snap.nodes.iter().find(|n| n.path == path).unwrap().acl;
        assert_eq!(snap.acl(acl_ref("/kept")).unwrap(), &digest_acl("kept")[..]);
        let largest = *snap.acls.keys().last().unwrap();
        assert_eq!(acl_ref("/wide2/new"), largest + 1);
        assert!(snap.acl(largest + 1).is_none(), "left to the log");
    }

    /// Creates a child of `/n` in a txn of its own.
    fn next_txn(shared: &Shared) {
        let mut tree = shared.tree.write().unwrap();
        let zxid = tree.last_processed_zxid() + 1;
        let cversion = tree.node("/n").unwrap().stat_persisted().cversion;
        let txn = create(&format!("/n/z{zxid}"), zxid, cversion + 1);
        assert_eq!(tree.apply(&txn).result.err, 0);
    }

    fn wait_idle(trigger: &SnapshotTrigger) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while trigger.busy.load(Ordering::Acquire) {
            assert!(Instant::now() < deadline, "snapshot never finished");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Pages of the file at `path` in the page cache.
    fn resident_pages(path: &std::path::Path) -> usize {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(path).unwrap();
        let len = file.metadata().unwrap().len() as usize;
        // SAFETY: a read-only shared mapping of an open file, unmapped below;
        // mincore writes one byte per page into a vector that long.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            let addr = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(addr, libc::MAP_FAILED);
            let mut pages = vec![0u8; len.div_ceil(page)];
            assert_eq!(libc::mincore(addr, len, pages.as_mut_ptr()), 0);
            libc::munmap(addr, len);
            pages.iter().filter(|&&p| p & 1 == 1).count()
        }
    }

    /// Once a newer snapshot is written, what the older one left in the page
    /// cache leaves it; the newest keeps its cached tail.
    #[test]
    fn an_older_snapshot_leaves_the_page_cache() {
        // Under target/, on the disk: /tmp may be a tmpfs, whose pages are
        // the files themselves and never leave.
        let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
        std::fs::create_dir_all(&target).unwrap();
        let d = tempfile::tempdir_in(target).unwrap();
        let (shared, dirs, _d) = tree_with_children_in("/n", 20_000, true, d);
        let snap_dir = dirs.snap_dir.clone();
        actix::System::new().block_on(async {
            let trigger = Snapshotter::start_on_own_thread(shared.clone(), dirs, false);
            trigger.request();
            wait_idle(&trigger);
            next_txn(&shared);
            trigger.request();
            wait_idle(&trigger);
        });
        let mut files = list_files(&snap_dir, "snapshot").unwrap();
        files.sort();
        let [(_, older), (_, newer)] = &files[..] else {
            panic!("{files:?}")
        };
        assert_eq!(resident_pages(older), 0, "{}", older.display());
        assert!(resident_pages(newer) > 0, "{}", newer.display());
    }

    /// A snapshot asked for while one is still being written is skipped
    /// (ZooKeeper's "Too busy to snap"), and the next request after it
    /// finishes is served.
    #[test]
    fn a_snapshot_due_while_one_is_written_is_skipped() {
        // Enough nodes that a snapshot takes a while.
        const NODES: usize = 200_000;
        let (shared, dirs, _d) = tree_with_children("/n", NODES);
        let snap_dir = dirs.snap_dir.clone();
        let snapshots = || list_files(&snap_dir, "snapshot").unwrap().len();
        actix::System::new().block_on(async {
            let trigger = Snapshotter::start_on_own_thread(shared.clone(), dirs, false);
            trigger.request();
            // While it is written, the tree moves on (a new zxid, so a
            // second snapshot would get a file of its own) and another is due.
            next_txn(&shared);
            trigger.request();
            wait_idle(&trigger);
            assert_eq!(snapshots(), 1, "the second request was not skipped");
            next_txn(&shared);
            trigger.request();
            wait_idle(&trigger);
            assert_eq!(
                snapshots(),
                2,
                "a request after the snapshot finished was lost"
            );
        });
    }
}
