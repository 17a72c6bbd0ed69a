//! The running tree digest equals a full recomputation after any sequence of
//! txns, replays included, and after a snapshot-style restore.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::tests::{create_txn, txn};
use super::*;
use crate::persistence::node_digest;
use crate::proto::data::Id;
use crate::txn::*;

fn check(t: &DataTree, what: &str) {
    assert_eq!(t.tree_digest(), t.compute_tree_digest(), "after {what}");
    let by_node: i64 = t
        .iter()
        .map(|(p, n)| node_digest(p, n.data(), n.stat_persisted()))
        .fold(0, i64::wrapping_add);
    assert_eq!(t.tree_digest(), by_node, "after {what}");
}

fn random_body(rng: &mut StdRng, t: &DataTree, sessions: &[i64]) -> TxnBody {
    let paths: Vec<String> = t.iter().map(|(p, _)| p.to_owned()).collect();
    let pick = |rng: &mut StdRng| paths[rng.gen_range(0..paths.len())].clone();
    let data = |rng: &mut StdRng| {
        let len = rng.gen_range(0..6);
        (0..len).map(|_| rng.gen()).collect::<Vec<u8>>()
    };
    match rng.gen_range(0..8) {
        0..=2 => {
            let parent = pick(rng);
            let name = format!("n{}", rng.gen_range(0..20));
            let path = if parent == "/" {
                format!("/{name}")
            } else {
                format!("{parent}/{name}")
            };
            let mut c = create_txn(&path, &data(rng), rng.gen_bool(0.2), -1);
            if rng.gen_bool(0.2) {
                c.data = None;
            }
            if rng.gen_bool(0.3) {
                c.parent_cversion = rng.gen_range(-1..5);
            }
            match rng.gen_range(0..3) {
                0 => TxnBody::Create2(c),
                1 => TxnBody::CreateContainer(CreateContainerTxn {
                    path: c.path,
                    data: c.data,
                    acl: c.acl,
                    parent_cversion: c.parent_cversion,
                }),
                _ => TxnBody::Create(c),
            }
        }
        // Prep deletes only leaves, never the system nodes (isSpecialPath).
        3 => TxnBody::Delete(DeleteTxn {
            path: Some(pick(rng))
                .filter(|p| !p.starts_with("/zookeeper"))
                .filter(|p| t.node(p).is_some_and(|n| n.num_children() == 0))
                .unwrap_or_else(|| "/n1".into()),
        }),
        4 => TxnBody::SetData(SetDataTxn {
            path: pick(rng),
            data: Some(data(rng)),
            version: rng.gen_range(0..10),
        }),
        5 => TxnBody::SetAcl(SetAclTxn {
            path: pick(rng),
            acl: vec![Acl {
                perms: rng.gen_range(1..32),
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            }],
            version: rng.gen_range(0..10),
        }),
        6 => {
            let s = sessions[rng.gen_range(0..sessions.len())];
            TxnBody::CloseSession(CloseSessionTxn {
                paths_to_delete: t.ephemerals(s),
            })
        }
        _ => {
            let n = rng.gen_range(1..4);
            TxnBody::Multi(
                (0..n)
                    .map(|_| match random_body(rng, t, sessions) {
                        b @ (TxnBody::Create(_) | TxnBody::Delete(_) | TxnBody::SetData(_)) => b,
                        _ => TxnBody::Check(CheckVersionTxn {
                            path: pick(rng),
                            version: 1,
                        }),
                    })
                    .collect(),
            )
        }
    }
}

#[test]
fn running_digest_equals_recomputation() {
    for seed in 0..20u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut t = DataTree::new();
        check(&t, "new");
        let sessions = [0x11, 0x22, 0x33];
        let mut log: Vec<Txn> = Vec::new();
        let mut zxid = 0;
        for step in 0..400 {
            if rng.gen_bool(0.05) && !log.is_empty() {
                // Replay of an earlier txn, as after a fuzzy snapshot.
                let old = log[rng.gen_range(0..log.len())].clone();
                t.apply(&old);
                check(&t, &format!("seed {seed} step {step} replay {old:?}"));
                continue;
            }
            zxid += 1;
            let body = random_body(&mut rng, &t, &sessions);
            let session = sessions[rng.gen_range(0..sessions.len())];
            let x = txn(session, zxid, body);
            t.apply(&x);
            check(&t, &format!("seed {seed} step {step} {x:?}"));
            log.push(x);
        }
        // A snapshot-style copy (pre-order) into a fresh tree has the same digest.
        let mut copy = DataTree::new();
        // Random txns may orphan nodes (a delete of a non-leaf, which prep
        // refuses): a snapshot holds only what is reachable from the root.
        let mut reachable = 0i64;
        let mut stack = vec!["/".to_owned()];
        while let Some(p) = stack.pop() {
            let n = t.node(&p).expect("listed");
            reachable = reachable.wrapping_add(n.digest());
            assert!(copy.restore_node(
                &p,
                n.data().map(<[u8]>::to_vec),
                n.acl(),
                *n.stat_persisted()
            ));
            let prefix = if p == "/" { "" } else { p.as_str() };
            stack.extend(n.children().map(|c| format!("{prefix}/{c}")));
        }
        assert_eq!(copy.tree_digest(), reachable, "seed {seed} restore");
        check(&copy, "restore");
    }
}

#[test]
fn system_subtree_counts_only_zookeeper_itself() {
    let mut t = DataTree::new();
    let base = t.tree_digest();
    t.apply(&txn(
        0,
        1,
        TxnBody::SetData(SetDataTxn {
            path: "/zookeeper/quota".into(),
            data: Some(b"q".to_vec()),
            version: 1,
        }),
    ));
    assert_eq!(t.tree_digest(), base);
    t.apply(&txn(
        0,
        2,
        TxnBody::Create(create_txn("/zookeeper/x", b"", false, -1)),
    ));
    // /zookeeper's cversion and pzxid moved: its term changed.
    assert_ne!(t.tree_digest(), base);
    check(&t, "create under /zookeeper");
}

#[test]
fn the_digest_log_keeps_every_0x80th_whole_txn_up_to_its_limit() {
    let mut t = DataTree::new();
    let mut logged = Vec::new();
    let last = DIGEST_LOG_INTERVAL * (DIGEST_LOG_LIMIT as i64 + 3);
    for zxid in 1..=last {
        // Every logged zxid is a multi: its parts log nothing of their own.
        let body = if zxid % DIGEST_LOG_INTERVAL == 0 {
            TxnBody::Multi(vec![
                TxnBody::Create(create_txn(&format!("/m{zxid}a"), b"x", false, -1)),
                TxnBody::Create(create_txn(&format!("/m{zxid}b"), b"y", false, -1)),
            ])
        } else {
            TxnBody::Create(create_txn(&format!("/n{zxid}"), b"z", false, -1))
        };
        t.apply(&txn(1, zxid, body));
        if zxid % DIGEST_LOG_INTERVAL == 0 {
            logged.push((zxid, t.tree_digest()));
        }
    }
    let kept = &logged[logged.len() - DIGEST_LOG_LIMIT..];
    assert_eq!(t.digest_log().collect::<Vec<_>>(), kept);
    assert_eq!(
        t.digest_log().next().map(|(z, _)| z),
        Some(4 * DIGEST_LOG_INTERVAL)
    );
}

#[test]
fn no_digest_is_logged_through_a_fuzzy_snapshots_digest_zxid() {
    let mut t = DataTree::new();
    t.quiet_digest_log_through(2 * DIGEST_LOG_INTERVAL);
    for zxid in 1..=3 * DIGEST_LOG_INTERVAL {
        let path = format!("/n{zxid}");
        t.apply(&txn(
            1,
            zxid,
            TxnBody::Create(create_txn(&path, b"z", false, -1)),
        ));
    }
    let zxids: Vec<i64> = t.digest_log().map(|(z, _)| z).collect();
    assert_eq!(zxids, vec![3 * DIGEST_LOG_INTERVAL]);
}
