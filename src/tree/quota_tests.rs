//! Quota bookkeeping, driven as `zkCli.sh setquota / delquota` drive it;
//! the expected stats are what Apache ZooKeeper 3.8 shows for the same steps
//! (`listquota`, compat-tests/test_zkcli.py's "quota" session).

use super::tests::{create, create_txn, delete, set_data, txn};
use super::*;
use crate::proto::error_code::ErrorCode;
use crate::txn::TxnBody;

fn data(t: &DataTree, path: &str) -> String {
    String::from_utf8_lossy(t.node(path).expect(path).data().unwrap_or_default()).into_owned()
}

fn create_with(path: &str, data: &[u8]) -> TxnBody {
    TxnBody::Create(create_txn(path, data, false, -1))
}

/// Applies `steps` as txns of one session, zxids from `first_zxid` on.
fn apply_all(t: &mut DataTree, first_zxid: i64, steps: impl IntoIterator<Item = TxnBody>) {
    for (i, body) in steps.into_iter().enumerate() {
        t.apply(&txn(1, first_zxid + i as i64, body));
    }
}

/// The nodes `zkCli.sh setquota` creates for a quota on `subject`.
fn quota_nodes(subject: &str, limits: &[u8]) -> [TxnBody; 3] {
    let dir = format!("/zookeeper/quota{subject}");
    [
        create(&dir, -1),
        create_with(&format!("{dir}/zookeeper_limits"), limits),
        create_with(&format!("{dir}/zookeeper_stats"), b"count=0,bytes=0"),
    ]
}

/// `setquota -n 3 /app` after `create /app` and `create /app/a 12345`.
fn tree_with_quota() -> DataTree {
    let mut t = DataTree::new();
    apply_all(
        &mut t,
        1,
        [create("/app", -1), create_with("/app/a", b"12345")],
    );
    apply_all(&mut t, 3, quota_nodes("/app", b"count=3,bytes=-1"));
    t
}

const STATS: &str = "/zookeeper/quota/app/zookeeper_stats";

#[test]
fn creating_the_stats_node_counts_the_subtree() {
    let t = tree_with_quota();
    // /app and /app/a, and the 5 bytes of /app/a.
    assert_eq!(data(&t, STATS), "count=2,bytes=5");
    assert_eq!(t.tree_digest(), t.compute_tree_digest());
}

#[test]
fn creates_deletes_and_set_data_move_the_stats_in_place() {
    let mut t = tree_with_quota();
    let stat_before = *t.node(STATS).unwrap().stat_persisted();
    let steps = [
        create_with("/app/b", b"1234567890"),
        create("/app/c", -1),
        create_with("/app/b/d", b"xx"),
        set_data("/app/a", b"1", 1),
        delete("/app/c"),
        create_with("/elsewhere", b"not counted"),
    ];
    apply_all(&mut t, 10, steps);
    // 5 nodes, then one deleted; bytes 5 + 10 + 2, then /app/a 5 -> 1.
    assert_eq!(data(&t, STATS), "count=4,bytes=13");
    assert_eq!(*t.node(STATS).unwrap().stat_persisted(), stat_before);
    assert_eq!(t.tree_digest(), t.compute_tree_digest());
}

#[test]
fn the_deepest_quota_counts_and_deleting_the_limits_ends_it() {
    let mut t = tree_with_quota();
    apply_all(&mut t, 10, [create("/app/sub", -1)]);
    apply_all(&mut t, 11, quota_nodes("/app/sub", b"count=-1,bytes=10"));
    apply_all(&mut t, 14, [create_with("/app/sub/x", b"abc")]);
    assert_eq!(
        data(&t, "/zookeeper/quota/app/sub/zookeeper_stats"),
        "count=2,bytes=3"
    );
    // /app/sub counted into /app's quota when it was created; /app/sub/x only into the deeper one.
    assert_eq!(data(&t, STATS), "count=3,bytes=5");
    t.apply(&txn(1, 20, delete("/zookeeper/quota/app/zookeeper_limits")));
    t.apply(&txn(1, 21, create("/app/y", -1)));
    assert_eq!(data(&t, STATS), "count=3,bytes=5");
    assert_eq!(t.tree_digest(), t.compute_tree_digest());
}

#[test]
fn setup_after_a_snapshot_recounts_every_quota() {
    let mut t = tree_with_quota();
    t.apply(&txn(1, 10, create_with("/app/b", b"123")));
    // A snapshot loader stores nodes as they were written, stats included,
    // then calls setup_quota: a stale stats node is recounted.
    let mut loaded = DataTree::new();
    let mut nodes: Vec<(&str, &Node)> = t.iter().collect();
    nodes.sort_by_key(|(path, _)| *path);
    for (path, node) in nodes {
        let data = if path == STATS {
            Some(b"count=0,bytes=0".to_vec())
        } else {
            node.data().map(<[u8]>::to_vec)
        };
        assert!(loaded.restore_node(path, data, node.acl(), *node.stat_persisted()));
    }
    assert_eq!(data(&loaded, STATS), "count=0,bytes=0");
    loaded.setup_quota();
    assert_eq!(data(&loaded, STATS), "count=3,bytes=8");
    loaded.apply(&txn(1, 11, delete("/app/b")));
    assert_eq!(data(&loaded, STATS), "count=2,bytes=5");
    assert_eq!(loaded.tree_digest(), loaded.compute_tree_digest());
}

#[test]
fn check_quota_refuses_past_a_hard_limit_only() {
    let mut t = DataTree::new();
    apply_all(&mut t, 1, [create("/app", -1)]);
    // `setquota -N 3 -B 10 /app` and a soft count of 1.
    let limits = b"count=1,bytes=-1=;byteHardLimit=10;countHardLimit=3";
    apply_all(&mut t, 2, quota_nodes("/app", limits));
    apply_all(&mut t, 5, [create_with("/app/a", b"12345")]);
    assert_eq!(data(&t, STATS), "count=2,bytes=5");
    // A third node passes the soft count (logged) but not the hard one.
    assert_eq!(t.check_quota("/app/b", 0, 1), Ok(()));
    t.apply(&txn(1, 10, create("/app/b", -1)));
    assert_eq!(t.check_quota("/app/c", 0, 1), Err(ErrorCode::QuotaExceeded));
    // Bytes: 5 more reach the hard limit of 10, 6 pass it; no change is never refused.
    assert_eq!(t.check_quota("/app/a", 5, 0), Ok(()));
    assert_eq!(t.check_quota("/app/a", 6, 0), Err(ErrorCode::QuotaExceeded));
    assert_eq!(t.check_quota("/app/a", 0, 0), Ok(()));
    // Outside any quota, and on the quota nodes themselves, nothing is checked.
    assert_eq!(t.check_quota("/other", 100, 1), Ok(()));
    assert_eq!(t.check_quota(STATS, 100, 0), Ok(()));
}
