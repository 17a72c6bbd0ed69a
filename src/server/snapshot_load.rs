//! Start-up loading of a snapshot straight into a [`DataTree`], on two
//! threads: a reader thread reads and checks the file (decompression, Adler32
//! seals, parsing) and builds each node ([`NodeMaker`]: ACL conversion, digest
//! CRC, child name), handing them over in batches, while the calling thread
//! links them into the tree ([`Restorer`]). No list of all nodes is built first, and the path map
//! is sized once, from the file length and the first batch's bytes per node.
//!
//! The tree only counts once the whole file checked out: on a damaged
//! snapshot it is dropped and [`load_snapshot`] fails as
//! [`read_snapshot`](crate::persistence::read_snapshot) does, so the caller
//! tries an older one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use crate::persistence::snapshot::OPEN_ACL_REF;
use crate::persistence::{Compression, PersistError, SnapshotReader, SnapshotTrailer, ZxidDigest};
use crate::proto::data::Acl;
use crate::tree::{DataTree, NodeMaker, RestoreNode, Restorer};

/// Nodes per hand-over from the reader thread.
const BATCH: usize = 4096;
/// Batches the reader may run ahead of the tree.
const AHEAD: usize = 8;

/// A snapshot loaded into a tree.
pub struct LoadedSnapshot {
    pub tree: DataTree,
    /// The file it was read from.
    pub path: PathBuf,
    /// The zxid in the file name.
    pub zxid: i64,
    /// (session id, timeout ms) of every live session.
    pub sessions: Vec<(i64, i32)>,
    pub digest: Option<ZxidDigest>,
    /// Nodes in the file.
    pub nodes: usize,
}

/// A batch of prepared nodes; the first one may say how many nodes the whole
/// file likely holds.
struct Batch {
    nodes: Vec<RestoreNode>,
    estimate: Option<usize>,
}

/// Reads and verifies the snapshot at `path` into `tree` (a fresh tree, whose
/// nodes the snapshot's replace). `Err` for an unreadable or damaged file;
/// `Ok(Err)` for a sound file that lists a node before its parent (no older
/// snapshot is tried then, as before).
pub fn load_snapshot(
    path: &Path,
    mut tree: DataTree,
) -> Result<Result<LoadedSnapshot, PersistError>, PersistError> {
    let mut reader = SnapshotReader::open(path)?;
    let sessions = std::mem::take(&mut reader.sessions);
    let zxid = reader.zxid;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let plain = Compression::from_file_name(&name) == Compression::None;
    let maker = tree.node_maker();
    let (tx, rx) = mpsc::sync_channel::<Batch>(AHEAD);
    let mut nodes = 0usize;
    let mut orphan = None;
    let (trailer, maker) = std::thread::scope(|s| {
        let read = std::thread::Builder::new()
            .name("snapshot-reader".into())
            .spawn_scoped(s, move || read_nodes(reader, maker, plain, tx))
            .map_err(|e| PersistError::Io {
                path: path.to_path_buf(),
                source: e,
            })?;
        let mut restorer = Restorer::new(&mut tree);
        for batch in rx {
            if let Some(n) = batch.estimate {
                restorer.reserve(n);
            }
            nodes += batch.nodes.len();
            if orphan.is_some() {
                continue; // the file is still read to the end and checked
            }
            for node in batch.nodes {
                if let Err(path) = restorer.restore(node) {
                    orphan = Some(path);
                    break;
                }
            }
        }
        drop(restorer);
        read.join().expect("snapshot reader panicked")
    })?;
    maker.give_back(&mut tree);
    // As `DataTree.deserialize` ends: the quota stats recounted from the nodes.
    tree.setup_quota();
    if let Some(p) = orphan {
        return Ok(Err(PersistError::Corrupt {
            file: path.to_path_buf(),
            offset: 0,
            reason: format!("node {p} listed before its parent"),
        }));
    }
    Ok(Ok(LoadedSnapshot {
        tree,
        path: path.to_path_buf(),
        zxid,
        sessions,
        digest: trailer.digest,
        nodes,
    }))
}

/// The reader thread: parses and builds nodes in batches until the end
/// marker, then checks the seals. Gives the node maker back with the result.
fn read_nodes(
    mut reader: SnapshotReader,
    mut maker: NodeMaker,
    plain: bool,
    tx: mpsc::SyncSender<Batch>,
) -> Result<(SnapshotTrailer, NodeMaker), PersistError> {
    let acls = std::mem::take(&mut reader.acls);
    let open: Arc<[Acl]> = maker.shared_acl(&Acl::open_unsafe());
    let mut shared: HashMap<i64, Arc<[Acl]>, ahash::RandomState> = HashMap::default();
    let first_at = reader.offset();
    let mut batch = Vec::with_capacity(BATCH);
    let mut first = true;
    while let Some(n) = reader.next_node()? {
        let acl = if n.acl == OPEN_ACL_REF {
            open.clone()
        } else {
            // A fuzzy snapshot may name an ACL its map lacks; the log fixes it.
            let list = acls.get(&n.acl).map_or(&[][..], Vec::as_slice);
            shared
                .entry(n.acl)
                .or_insert_with(|| maker.shared_acl(list))
                .clone()
        };
        batch.push(maker.make(n.path, n.data, acl, n.stat));
        if batch.len() == BATCH {
            // Uncompressed, the bytes per node so far tell the node count.
            let estimate = (first && plain).then(|| {
                let per_node = (reader.offset() - first_at).div_ceil(BATCH as u64).max(1);
                (reader.file_len.saturating_sub(first_at) / per_node) as usize
            });
            first = false;
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            send(&tx, full, estimate)?;
        }
    }
    send(&tx, batch, None)?;
    Ok((reader.finish()?, maker))
}

/// Fails only when the tree side is gone, which happens only if it panicked.
fn send(
    tx: &mpsc::SyncSender<Batch>,
    nodes: Vec<RestoreNode>,
    estimate: Option<usize>,
) -> Result<(), PersistError> {
    tx.send(Batch { nodes, estimate })
        .map_err(|_| PersistError::Invalid("snapshot loading stopped".into()))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    use super::*;
    use crate::persistence::{node_digest, read_snapshot, Snapshot, SnapshotNode};
    use crate::proto::data::{Id, StatPersisted};
    use crate::tree::EphemeralType;

    /// A snapshot of `n` nodes under ten parents: data null, empty and of
    /// varying length; open, mapped and unmapped ACL refs; persistent,
    /// ephemeral, container and TTL owners.
    fn sample(n: usize) -> Snapshot {
        let mut acls = BTreeMap::new();
        let digest = Acl {
            perms: 31,
            id: Id {
                scheme: "digest".into(),
                id: "u:abc=".into(),
            },
        };
        acls.insert(1, vec![digest]);
        acls.insert(2, Acl::read_unsafe());
        let stat = |z: i64, owner: i64| StatPersisted {
            czxid: z,
            mzxid: z + 1,
            ctime: 1_700_000_000_000 + z,
            mtime: 1_700_000_000_001 + z,
            version: (z % 5) as i32,
            cversion: (z % 3) as i32,
            aversion: (z % 2) as i32,
            ephemeral_owner: owner,
            pzxid: z + 2,
        };
        let node = |path: String, data: Option<Vec<u8>>, acl: i64, stat| SnapshotNode {
            path,
            data,
            acl,
            stat,
        };
        let mut nodes = vec![
            node("/".into(), Some(Vec::new()), OPEN_ACL_REF, stat(0, 0)),
            node(
                "/zookeeper".into(),
                Some(Vec::new()),
                OPEN_ACL_REF,
                stat(0, 0),
            ),
            node("/zookeeper/quota".into(), None, 2, stat(0, 0)),
        ];
        let ttl = EphemeralType::ttl_owner(5000).unwrap();
        for p in 0..10 {
            nodes.push(node(format!("/p{p}"), None, 1, stat(p, 0)));
            // Sorted or not: ZooKeeper lists children in hash-set order.
            let mut ids: Vec<usize> = (p as usize..n).step_by(10).collect();
            if p % 2 == 1 {
                ids.reverse();
            }
            for i in ids {
                let z = 100 + i as i64;
                let owner = [0, 0, 0x100 + z % 7, i64::MIN, ttl][i % 5];
                let data = match i % 4 {
                    0 => None,
                    1 => Some(Vec::new()),
                    _ => Some(vec![i as u8; i % 300]),
                };
                let acl = [OPEN_ACL_REF, 1, 2, 9][i % 4];
                nodes.push(node(format!("/p{p}/n{i:07}"), data, acl, stat(z, owner)));
            }
        }
        Snapshot {
            path: PathBuf::new(),
            zxid: 0x1234,
            sessions: vec![(0x100, 30_000), (0x101, 4000)],
            acls,
            nodes,
            digest: Some(ZxidDigest {
                zxid: 0x1234,
                digest_version: 2,
                digest: 42,
            }),
            last_processed_zxid: None,
        }
    }

    /// Recovery's loader before streaming: the whole snapshot read, then
    /// `restore_node` per node.
    fn load_listed(path: &Path) -> DataTree {
        let snap = read_snapshot(path).unwrap();
        let mut tree = DataTree::with_extended_types(true);
        for n in &snap.nodes {
            let acl = snap.acl(n.acl).unwrap_or(Cow::Borrowed(&[]));
            assert!(tree.restore_node(&n.path, n.data.clone(), &acl, n.stat));
        }
        tree
    }

    fn assert_same_tree(a: &DataTree, b: &DataTree) {
        assert_eq!(a.tree_digest(), b.tree_digest());
        assert_eq!(b.tree_digest(), b.compute_tree_digest());
        assert_eq!(a.node_count(), b.node_count());
        assert_eq!(a.approximate_data_size(), b.approximate_data_size());
        for (path, n) in a.iter() {
            let m = b.node(path).unwrap_or_else(|| panic!("{path} missing"));
            assert_eq!(n.data(), m.data(), "{path}");
            assert_eq!(n.acl(), m.acl(), "{path}");
            assert_eq!(a.acl_id(n.acl()), b.acl_id(m.acl()), "{path}");
            assert_eq!(n.stat_persisted(), m.stat_persisted(), "{path}");
            assert_eq!(n.ephemeral_type(), m.ephemeral_type(), "{path}");
            assert!(n.children().eq(m.children()), "{path}");
        }
        for s in a.sessions_with_ephemerals() {
            assert_eq!(a.ephemerals(s), b.ephemerals(s));
        }
        assert_eq!(a.sessions_with_ephemerals(), b.sessions_with_ephemerals());
        assert_eq!(a.containers(), b.containers());
        assert_eq!(a.ttls(), b.ttls());
    }

    #[test]
    fn streamed_tree_equals_the_listed_one_in_every_mode() {
        let snap = sample(20_000);
        let expected = snap
            .nodes
            .iter()
            .map(|n| node_digest(&n.path, n.data.as_deref(), &n.stat))
            .fold(0i64, i64::wrapping_add);
        for c in [Compression::None, Compression::Gzip, Compression::Snappy] {
            let d = tempfile::tempdir().unwrap();
            let path = snap.save(d.path(), c, false).unwrap();
            let loaded = load_snapshot(&path, DataTree::with_extended_types(true))
                .unwrap()
                .unwrap();
            assert_eq!(loaded.nodes, snap.nodes.len(), "{c:?}");
            assert_eq!(loaded.zxid, 0x1234);
            assert_eq!(loaded.sessions, snap.sessions);
            assert_eq!(loaded.digest, snap.digest);
            assert_eq!(loaded.tree.tree_digest(), expected, "{c:?}");
            assert_same_tree(&load_listed(&path), &loaded.tree);
        }
    }

    #[test]
    fn damaged_snapshot_fails_as_read_snapshot_does() {
        let d = tempfile::tempdir().unwrap();
        let path = sample(9000)
            .save(d.path(), Compression::None, false)
            .unwrap();
        let good = std::fs::read(&path).unwrap();
        let mut flipped = good.clone();
        flipped[good.len() * 2 / 3] ^= 0x10;
        let cut = good[..good.len() / 2].to_vec();
        for bad in [flipped, cut] {
            std::fs::write(&path, &bad).unwrap();
            let want = read_snapshot(&path).unwrap_err().to_string();
            let got = load_snapshot(&path, DataTree::new()).err().unwrap();
            assert_eq!(got.to_string(), want);
        }
    }

    #[test]
    fn node_before_its_parent_is_fatal_once_the_file_checks_out() {
        let d = tempfile::tempdir().unwrap();
        let mut snap = sample(9000);
        let orphan = snap.nodes.remove(5000);
        snap.nodes.insert(10, orphan.clone());
        snap.nodes.retain(|n| n.path != "/p3" || n.stat.czxid != 3);
        let path = snap.save(d.path(), Compression::None, false).unwrap();
        match load_snapshot(&path, DataTree::new()).unwrap() {
            Err(PersistError::Corrupt { offset, reason, .. }) => {
                assert_eq!(offset, 0);
                assert!(reason.contains("listed before its parent"), "{reason}");
            }
            other => panic!("{:?}", other.map(|s| s.nodes)),
        }
        // A damaged file with an orphan is only invalid (an older one is tried).
        let mut b = std::fs::read(&path).unwrap();
        let at = b.len() - 40;
        b[at] ^= 1;
        std::fs::write(&path, b).unwrap();
        assert!(load_snapshot(&path, DataTree::new()).is_err());
    }
}
