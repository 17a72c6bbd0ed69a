//! Snapshots: round trips in every compression mode, ACL interning from a
//! tree-like source, the seals, and falling back to an older snapshot.

use std::collections::BTreeMap;
use std::io;

use ferrokeeper::persistence::snapshot::{NodeVisitor, OPEN_ACL_REF};
use ferrokeeper::persistence::{
    find_valid_snapshot, read_snapshot, save_snapshot, Compression, PersistError, Snapshot,
    SnapshotNode, SnapshotSource, ZxidDigest,
};
use ferrokeeper::proto::data::{Acl, Id, StatPersisted};

fn stat(z: i64) -> StatPersisted {
    StatPersisted {
        czxid: z,
        mzxid: z + 1,
        ctime: 1_700_000_000_000 + z,
        mtime: 1_700_000_000_001 + z,
        version: 1,
        cversion: 2,
        aversion: 3,
        ephemeral_owner: if z % 2 == 0 { 0 } else { 0x100 + z },
        pzxid: z + 2,
    }
}

fn digest_acl() -> Vec<Acl> {
    vec![Acl {
        perms: 31,
        id: Id {
            scheme: "digest".into(),
            id: "u:abc=".into(),
        },
    }]
}

fn sample(zxid: i64) -> Snapshot {
    let mut acls = BTreeMap::new();
    acls.insert(1, digest_acl());
    acls.insert(2, Acl::read_unsafe());
    let node = |path: &str, data: Option<&[u8]>, acl, z| SnapshotNode {
        path: path.into(),
        data: data.map(|d| d.to_vec()),
        acl,
        stat: stat(z),
    };
    Snapshot {
        path: Default::default(),
        zxid,
        sessions: vec![(0x100, 30_000), (0x101, 4000)],
        acls,
        nodes: vec![
            node("/", Some(b""), OPEN_ACL_REF, 0),
            node("/a", Some(b"alpha"), 1, 3),
            node("/a/b", None, 2, 4),
            node("/a/b/c", Some(&[0u8; 3000]), 1, 5),
            node("/zookeeper", Some(b""), OPEN_ACL_REF, 0),
            node("/zookeeper/quota", Some(b""), OPEN_ACL_REF, 0),
        ],
        digest: Some(ZxidDigest {
            zxid,
            digest_version: 2,
            digest: 0x1234_5678,
        }),
        last_processed_zxid: None,
    }
}

#[test]
fn round_trips_in_every_compression_mode() {
    for c in [Compression::None, Compression::Gzip, Compression::Snappy] {
        let d = tempfile::tempdir().unwrap();
        let snap = sample(0x1_0000_0007);
        let path = snap.save(d.path(), c, true).unwrap();
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("snapshot.100000007{}", c.file_extension())
        );
        let back = read_snapshot(&path).unwrap();
        assert_eq!(
            back,
            Snapshot {
                path: path.clone(),
                ..snap
            }
        );
        assert_eq!(back.acl(2).unwrap().as_ref(), Acl::read_unsafe().as_slice());
        assert_eq!(
            back.acl(OPEN_ACL_REF).unwrap().as_ref(),
            Acl::open_unsafe().as_slice()
        );
        assert!(back.acl(9).is_none());
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}

#[test]
fn byte_layout_matches_file_snap() {
    let d = tempfile::tempdir().unwrap();
    let mut snap = sample(5);
    snap.digest = None;
    let bytes = std::fs::read(snap.save(d.path(), Compression::None, false).unwrap()).unwrap();
    // FileHeader ZKSN, version 2, dbid -1.
    assert_eq!(&bytes[..8], b"ZKSN\0\0\0\x02");
    assert_eq!(&bytes[8..16], &(-1i64).to_be_bytes());
    // Two sessions follow.
    assert_eq!(&bytes[16..20], &2i32.to_be_bytes());
    // The tail: second seal (long + "/") after the empty digest (zxid 0, version 2, 0).
    let n = bytes.len();
    assert_eq!(&bytes[n - 5..], &[0, 0, 0, 1, b'/']);
    assert_eq!(
        &bytes[n - 13 - 20..n - 13],
        [
            &0i64.to_be_bytes()[..],
            &2i32.to_be_bytes(),
            &0i64.to_be_bytes()
        ]
        .concat()
    );
    // Then the ACL map of two entries, the first one ref 1.
    let acl_at = 16 + 4 + 2 * 12;
    assert_eq!(&bytes[acl_at..acl_at + 4], &2i32.to_be_bytes());
    assert_eq!(&bytes[acl_at + 4..acl_at + 12], &1i64.to_be_bytes());
    // The first node is the root, written with the empty path.
    let first_node = acl_at + 4 + (8 + 4 + 4 + 4 + 6 + 4 + 6) + (8 + 4 + 4 + 4 + 5 + 4 + 6);
    assert_eq!(&bytes[first_node..first_node + 4], &0i32.to_be_bytes());
}

#[test]
fn every_flipped_byte_is_caught() {
    let d = tempfile::tempdir().unwrap();
    let path = sample(9).save(d.path(), Compression::None, false).unwrap();
    let good = std::fs::read(&path).unwrap();
    // Flipping any byte of the body (not only data) breaks a seal or the parse.
    for at in (16..good.len() - 5).step_by(7) {
        let mut bad = good.clone();
        bad[at] ^= 0x04;
        std::fs::write(&path, &bad).unwrap();
        match read_snapshot(&path) {
            Err(PersistError::Corrupt { file, .. }) => assert_eq!(file, path),
            Ok(s) => panic!("flip at {at} not detected: {} nodes", s.nodes.len()),
            Err(e) => panic!("flip at {at}: {e}"),
        }
    }
}

#[test]
fn invalid_newest_snapshot_falls_back_to_an_older_one() {
    let d = tempfile::tempdir().unwrap();
    assert!(find_valid_snapshot(d.path()).unwrap().is_none());
    sample(0x10)
        .save(d.path(), Compression::None, false)
        .unwrap();
    let newer = sample(0x20)
        .save(d.path(), Compression::Gzip, false)
        .unwrap();
    let newest = sample(0x30)
        .save(d.path(), Compression::None, false)
        .unwrap();
    assert_eq!(find_valid_snapshot(d.path()).unwrap().unwrap().zxid, 0x30);
    // A crash mid-write of the newest (no atomic rename) and a bit flip in the next.
    let b = std::fs::read(&newest).unwrap();
    std::fs::write(&newest, &b[..b.len() / 2]).unwrap();
    let mut g = std::fs::read(&newer).unwrap();
    let mid = g.len() / 2;
    g[mid] ^= 0xff;
    std::fs::write(&newer, g).unwrap();
    // Leftover temporary files are never candidates.
    std::fs::write(d.path().join("snapshot.40.tmp"), b"junk").unwrap();
    let s = find_valid_snapshot(d.path()).unwrap().unwrap();
    assert_eq!(s.zxid, 0x10);
    assert_eq!(s.nodes.len(), 6);
    // None valid at all: an error naming what was tried, not an empty database.
    std::fs::write(d.path().join("snapshot.10"), b"").unwrap();
    match find_valid_snapshot(d.path()) {
        Err(PersistError::NoValidSnapshot { tried, .. }) => assert_eq!(tried.len(), 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn older_snapshots_without_digest_section_read() {
    let d = tempfile::tempdir().unwrap();
    let path = sample(3).save(d.path(), Compression::None, false).unwrap();
    let b = std::fs::read(&path).unwrap();
    // Drop the digest section and its seal (20 + 13 bytes): a 3.5 snapshot.
    std::fs::write(&path, &b[..b.len() - 33]).unwrap();
    let s = read_snapshot(&path).unwrap();
    assert_eq!(s.digest, None);
    assert_eq!(s.nodes.len(), 6);
}

type TreeNode = (String, Option<Vec<u8>>, Vec<Acl>, StatPersisted);

/// A tree-like source holding resolved ACLs per node.
struct Tree(Vec<TreeNode>);

impl SnapshotSource for Tree {
    fn sessions(&self) -> Vec<(i64, i32)> {
        vec![(7, 10_000)]
    }
    fn for_each_node(&self, f: &mut NodeVisitor<'_>) -> io::Result<()> {
        for (p, d, a, s) in &self.0 {
            f(p, d.as_deref(), a, s)?;
        }
        Ok(())
    }
}

#[test]
fn save_snapshot_interns_acls_and_keeps_open_as_minus_one() {
    let d = tempfile::tempdir().unwrap();
    let tree = Tree(vec![
        ("/".into(), Some(vec![]), Acl::open_unsafe(), stat(0)),
        ("/x".into(), Some(b"1".to_vec()), digest_acl(), stat(1)),
        ("/x/y".into(), None, Acl::read_unsafe(), stat(2)),
        ("/z".into(), None, digest_acl(), stat(3)),
    ]);
    let path = save_snapshot(d.path(), 0x42, Compression::None, true, &tree).unwrap();
    let s = read_snapshot(&path).unwrap();
    assert_eq!(s.sessions, vec![(7, 10_000)]);
    assert_eq!(s.acls.len(), 2);
    let refs: Vec<i64> = s.nodes.iter().map(|n| n.acl).collect();
    assert_eq!(refs, vec![OPEN_ACL_REF, 1, 2, 1]);
    for (n, (p, data, acl, st)) in s.nodes.iter().zip(&tree.0) {
        assert_eq!((&n.path, &n.data, &n.stat), (p, data, st));
        assert_eq!(s.acl(n.acl).unwrap().as_ref(), acl.as_slice());
    }
    assert_eq!(
        s.digest, None,
        "an empty digest is written when the tree has none"
    );
}
