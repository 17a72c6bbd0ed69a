//! Tests of the data tree: stat semantics, replay, multi, watches, sessions.
//! Expected values were cross-checked against Apache ZooKeeper 3.8 via kazoo.

use super::*;
use crate::proto::data::{perms, Id, Stat};
use crate::proto::error_code::ErrorCode;
use crate::txn::*;

pub(super) const T0: i64 = 1_700_000_000_000;

pub(super) fn txn(session: i64, zxid: i64, body: TxnBody) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: session,
            cxid: 1,
            zxid,
            time: T0 + zxid,
            op_type: body.op_code() as i32,
        },
        body,
    }
}

pub(super) fn create_txn(
    path: &str,
    data: &[u8],
    ephemeral: bool,
    parent_cversion: i32,
) -> CreateTxn {
    CreateTxn {
        path: path.into(),
        data: Some(data.to_vec()),
        acl: Acl::open_unsafe(),
        ephemeral,
        parent_cversion,
    }
}

pub(super) fn create(path: &str, parent_cversion: i32) -> TxnBody {
    TxnBody::Create(create_txn(path, b"", false, parent_cversion))
}

pub(super) fn delete(path: &str) -> TxnBody {
    TxnBody::Delete(DeleteTxn { path: path.into() })
}

pub(super) fn set_data(path: &str, data: &[u8], version: i32) -> TxnBody {
    TxnBody::SetData(SetDataTxn {
        path: path.into(),
        data: Some(data.to_vec()),
        version,
    })
}

pub(super) fn error(code: ErrorCode) -> TxnBody {
    TxnBody::Error(ErrorTxn { err: code.code() })
}

pub(super) fn stat(t: &DataTree, path: &str) -> Stat {
    t.node(path).expect(path).stat()
}

pub(super) fn ev(watcher: i64, event_type: i32, path: &str) -> (i64, i32, String) {
    (watcher, event_type, path.to_owned())
}

pub(super) fn events(r: &ApplyResult) -> Vec<(i64, i32, String)> {
    r.events
        .iter()
        .map(|e| (e.watcher, e.event_type, e.path.clone()))
        .collect()
}

pub(super) type NodeDump = (String, Option<Vec<u8>>, Vec<Acl>, Stat);

/// Everything observable about the nodes, sorted by path.
pub(super) fn dump(t: &DataTree) -> Vec<NodeDump> {
    let mut v: Vec<_> = t
        .iter()
        .map(|(p, n)| {
            (
                p.to_owned(),
                n.data().map(<[u8]>::to_vec),
                n.acl().to_vec(),
                n.stat(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn fresh_tree_matches_standalone_zookeeper() {
    let t = DataTree::new();
    let zero = Stat::default();
    assert_eq!(
        stat(&t, "/"),
        Stat {
            cversion: -1,
            num_children: 1,
            ..zero
        }
    );
    assert_eq!(
        stat(&t, "/zookeeper"),
        Stat {
            cversion: -2,
            num_children: 2,
            ..zero
        }
    );
    assert_eq!(stat(&t, "/zookeeper/quota"), zero);
    assert_eq!(
        stat(&t, "/zookeeper/config"),
        Stat {
            aversion: -1,
            ..zero
        }
    );
    assert_eq!(
        t.node("/zookeeper/config").unwrap().acl(),
        &Acl::read_unsafe()[..]
    );
    assert_eq!(t.node("/").unwrap().acl(), &Acl::open_unsafe()[..]);
    assert_eq!(t.node("/zookeeper").unwrap().data(), Some(&[][..]));
    assert_eq!(
        t.get_children("/zookeeper"),
        Some(vec!["config".into(), "quota".into()])
    );
    assert_eq!(t.node("").unwrap().stat(), stat(&t, "/"));
    assert_eq!(t.node_count(), 5);
    assert_eq!(t.all_children_number("/"), Some(3));
    assert_eq!(t.all_children_number("/zookeeper"), Some(2));
    assert_eq!(t.all_children_number("/nope"), None);
    assert_eq!(t.approximate_data_size(), 1 + 10 + 16 + 17);
    assert_eq!(t.last_processed_zxid(), 0);
    assert_eq!(t.acl_list_count(), 2);
}

/// The sequence run against ZooKeeper 3.8 with kazoo (zxids 4..12).
#[test]
fn stats_follow_zookeeper() {
    let mut t = DataTree::new();
    let s = 0x100;
    let r = t.apply(&txn(
        s,
        4,
        TxnBody::Create(create_txn("/a", b"x", false, 1)),
    ));
    assert_eq!(r.result.err, 0);
    assert_eq!(r.result.stat, None, "create (not create2) reports no stat");
    let a = stat(&t, "/a");
    let expect = Stat {
        czxid: 4,
        mzxid: 4,
        ctime: T0 + 4,
        mtime: T0 + 4,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeral_owner: 0,
        data_length: 1,
        num_children: 0,
        pzxid: 4,
    };
    assert_eq!(a, expect);
    assert_eq!((stat(&t, "/").cversion, stat(&t, "/").pzxid), (0, 4));

    t.apply(&txn(s, 5, create("/a/b", 1)));
    assert_eq!(
        stat(&t, "/a"),
        Stat {
            cversion: 1,
            num_children: 1,
            pzxid: 5,
            ..expect
        }
    );
    t.apply(&txn(s, 6, create("/a/c", 2)));
    assert_eq!(
        stat(&t, "/a"),
        Stat {
            cversion: 2,
            num_children: 2,
            pzxid: 6,
            ..expect
        }
    );
    let r = t.apply(&txn(s, 7, delete("/a/b")));
    assert_eq!((r.result.err, r.result.stat), (0, None));
    let after_delete = Stat {
        cversion: 3,
        num_children: 1,
        pzxid: 7,
        ..expect
    };
    assert_eq!(stat(&t, "/a"), after_delete);
    assert_eq!(t.node("/a").unwrap().stat_persisted().cversion, 2);

    let r = t.apply(&txn(s, 8, set_data("/a", b"yy", 1)));
    let after_set = Stat {
        mzxid: 8,
        mtime: T0 + 8,
        version: 1,
        data_length: 2,
        ..after_delete
    };
    assert_eq!(r.result.stat, Some(after_set));
    assert_eq!(stat(&t, "/a"), after_set);

    let r = t.apply(&txn(
        s,
        9,
        TxnBody::SetAcl(SetAclTxn {
            path: "/a".into(),
            acl: Acl::open_unsafe(),
            version: 1,
        }),
    ));
    let after_acl = Stat {
        aversion: 1,
        ..after_set
    };
    assert_eq!(r.result.stat, Some(after_acl));

    // Prep names sequential children from the stored cversion: 2 -> s-0000000002.
    let stored = t.node("/a").unwrap().stat_persisted().cversion;
    assert_eq!(format!("/a/s-{stored:010}"), "/a/s-0000000002");
    t.apply(&txn(s, 10, create("/a/s-0000000002", stored + 1)));
    assert_eq!(
        stat(&t, "/a"),
        Stat {
            cversion: 4,
            num_children: 2,
            pzxid: 10,
            ..after_acl
        }
    );
    t.apply(&txn(s, 11, delete("/a/c")));
    let stored = t.node("/a").unwrap().stat_persisted().cversion;
    assert_eq!(stored, 3);
    t.apply(&txn(s, 12, create("/a/s-0000000003", stored + 1)));
    assert_eq!(
        stat(&t, "/a"),
        Stat {
            cversion: 6,
            num_children: 2,
            pzxid: 12,
            ..after_acl
        }
    );
    assert_eq!(t.last_processed_zxid(), 12);
    assert_eq!(
        t.get_children("/a"),
        Some(vec!["s-0000000002".into(), "s-0000000003".into()])
    );
}

#[test]
fn create_flavours_and_owner_tracking() {
    let mut t = DataTree::with_extended_types(true);
    let r = t.apply(&txn(
        7,
        1,
        TxnBody::Create2(create_txn("/e", b"d", true, -1)),
    ));
    let st = r.result.stat.unwrap();
    assert_eq!((st.ephemeral_owner, st.czxid, st.data_length), (7, 1, 1));
    assert_eq!(stat(&t, "/").cversion, 0, "-1 means parent's cversion + 1");
    let r = t.apply(&txn(
        7,
        2,
        TxnBody::CreateContainer(CreateContainerTxn {
            path: "/c".into(),
            data: None,
            acl: Acl::open_unsafe(),
            parent_cversion: 2,
        }),
    ));
    assert_eq!(
        r.result.stat.unwrap().ephemeral_owner,
        0,
        "clients see 0 for containers"
    );
    assert_eq!(
        t.node("/c").unwrap().stat_persisted().ephemeral_owner,
        i64::MIN
    );
    assert_eq!(t.node("/c").unwrap().data(), None);
    let ttl = |path: &str, ttl: i64| {
        TxnBody::CreateTtl(CreateTtlTxn {
            path: path.into(),
            data: None,
            acl: Acl::open_unsafe(),
            parent_cversion: -1,
            ttl,
        })
    };
    let r = t.apply(&txn(7, 3, ttl("/t", 5000)));
    assert_eq!(r.result.stat.unwrap().ephemeral_owner, 0);
    assert_eq!(
        EphemeralType::ttl_of(t.node("/t").unwrap().stat_persisted().ephemeral_owner),
        5000
    );
    assert_eq!(
        t.apply(&txn(7, 4, ttl("/bad", 0))).result.err,
        ErrorCode::BadArguments.code()
    );
    assert_eq!(t.ephemerals(7), vec!["/e".to_string()]);
    assert_eq!(t.containers(), vec!["/c".to_string()]);
    assert_eq!(t.ttls(), vec!["/t".to_string()]);
    t.apply(&txn(
        7,
        5,
        TxnBody::DeleteContainer(DeleteTxn { path: "/c".into() }),
    ));
    t.apply(&txn(7, 6, delete("/t")));
    t.apply(&txn(7, 7, delete("/e")));
    assert!(t.containers().is_empty() && t.ttls().is_empty() && t.ephemerals(7).is_empty());
    // As in Java the emptied set stays until the session closes.
    assert_eq!(t.sessions_with_ephemerals(), vec![7]);

    // Without extended types a TTL owner is an ordinary session owner.
    let mut t = DataTree::new();
    t.apply(&txn(7, 1, ttl("/t", 5000)));
    let owner = EphemeralType::ttl_owner(5000).unwrap();
    assert_eq!(t.ephemerals(owner), vec!["/t".to_string()]);
    assert_eq!(stat(&t, "/t").ephemeral_owner, owner);
}

#[test]
fn replay_is_idempotent() {
    let log = vec![
        txn(1, 1, create("/a", 1)),
        txn(1, 2, TxnBody::Create(create_txn("/a/e", b"1", true, 1))),
        txn(1, 3, set_data("/a", b"v1", 1)),
        txn(1, 4, create("/a/b", 2)),
        txn(1, 5, delete("/a/b")),
        txn(1, 6, set_data("/a", b"v2", 2)),
        txn(
            1,
            7,
            TxnBody::CloseSession(CloseSessionTxn {
                paths_to_delete: vec!["/a/e".into()],
            }),
        ),
    ];
    let mut t = DataTree::new();
    for x in &log {
        assert_eq!(t.apply(x).result.err, 0, "{x:?}");
    }
    let once = dump(&t);
    // Replaying every txn (as after a fuzzy snapshot taken at the end) changes nothing.
    let errs: Vec<i32> = log.iter().map(|x| t.apply(x).result.err).collect();
    // /a exists; the ephemeral and /a/b were deleted later in the log, so their
    // creates apply again and the later deletes remove them once more.
    assert_eq!(errs, vec![ErrorCode::NodeExists.code(), 0, 0, 0, 0, 0, 0]);
    assert_eq!(dump(&t), once);
    assert_eq!(t.last_processed_zxid(), 7);
    // From any prefix of the log (a snapshot at that point), replaying the
    // whole log ends in the same tree.
    for k in 0..=log.len() {
        let mut r = DataTree::new();
        log[..k].iter().chain(&log).for_each(|x| {
            r.apply(x);
        });
        assert_eq!(dump(&r), once, "snapshot after {k} txns");
    }
    // A replay never moves the zxid back.
    t.apply(&log[0]);
    assert_eq!(t.last_processed_zxid(), 7);
}

#[test]
fn replayed_create_of_existing_node_moves_parent_forward() {
    let mut t = DataTree::new();
    t.apply(&txn(1, 1, create("/p", 1)));
    t.apply(&txn(1, 2, create("/p/x", 1)));
    // The txn carries a different ACL: Java stores it on the existing node.
    let mut c = create_txn("/p/x", b"", false, 5);
    c.acl = Acl::read_unsafe();
    let r = t.apply(&txn(2, 9, TxnBody::Create(c.clone())));
    assert_eq!(r.result.err, ErrorCode::NodeExists.code());
    assert_eq!(t.node("/p").unwrap().stat_persisted().cversion, 5);
    assert_eq!(stat(&t, "/p").pzxid, 9);
    assert_eq!(t.node("/p/x").unwrap().acl(), &Acl::read_unsafe()[..]);
    // Only opcode create does this, not create2.
    c.parent_cversion = 8;
    t.apply(&txn(2, 10, TxnBody::Create2(c)));
    assert_eq!(t.node("/p").unwrap().stat_persisted().cversion, 5);
    // A lower parentCVersion leaves the parent alone.
    t.apply(&txn(2, 11, create("/p/y", 3)));
    assert_eq!(
        (
            t.node("/p").unwrap().stat_persisted().cversion,
            stat(&t, "/p").pzxid
        ),
        (5, 9)
    );
}

#[test]
fn delete_of_missing_node_still_touches_parent_pzxid() {
    let mut t = DataTree::new();
    t.apply(&txn(1, 1, create("/p", 1)));
    let r = t.apply(&txn(1, 3, delete("/p/gone")));
    assert_eq!(r.result.err, ErrorCode::NoNode.code());
    assert_eq!(r.result.path, "/p/gone");
    assert_eq!(stat(&t, "/p").pzxid, 3);
    let r = t.apply(&txn(1, 4, delete("/nope/x")));
    assert_eq!(r.result.err, ErrorCode::NoNode.code());
    assert_eq!(
        t.apply(&txn(1, 5, set_data("/nope", b"", 1))).result.stat,
        None
    );
    assert_eq!(
        t.apply(&txn(1, 6, create("/nope/x", -1))).result.err,
        ErrorCode::NoNode.code()
    );
}

#[test]
fn multi_applies_all_parts() {
    let mut t = DataTree::new();
    let parts = vec![
        create("/m", 1),
        TxnBody::Create2(create_txn("/m/a", b"x", false, 1)),
        set_data("/m", b"yy", 1),
        TxnBody::Check(CheckVersionTxn {
            path: "/m".into(),
            version: 1,
        }),
        delete("/m/a"),
    ];
    let r = t.apply(&txn(1, 5, TxnBody::Multi(parts)));
    assert_eq!(
        (r.result.op_type, r.result.err, r.result.path.as_str()),
        (14, 0, "")
    );
    let types: Vec<i32> = r.result.multi.iter().map(|m| m.op_type).collect();
    assert_eq!(types, vec![1, 15, 5, 13, 2]);
    assert!(r.result.multi.iter().all(|m| m.err == 0));
    assert_eq!(r.result.multi[1].stat.unwrap().czxid, 5);
    assert_eq!(r.result.multi[2].stat.unwrap().version, 1);
    assert_eq!(r.result.multi[3].path, "/m");
    assert_eq!(stat(&t, "/m").cversion, 2);
    assert_eq!(t.last_processed_zxid(), 5);
}

#[test]
fn failed_multi_becomes_error_results() {
    let mut t = DataTree::new();
    t.add_child_watch("/", 3);
    let before = dump(&t);
    // Prep failed at the second op: it wrote the first as is, the failing one as
    // its error and the rest as RuntimeInconsistency.
    let parts = vec![
        create("/m1", 1),
        error(ErrorCode::NoNode),
        error(ErrorCode::RuntimeInconsistency),
        create("/m2", 2),
    ];
    let r = t.apply(&txn(1, 5, TxnBody::Multi(parts)));
    assert_eq!(r.result.err, ErrorCode::NoNode.code());
    let got: Vec<(i32, i32)> = r.result.multi.iter().map(|m| (m.op_type, m.err)).collect();
    assert_eq!(got, vec![(-1, 0), (-1, -101), (-1, -2), (-1, -2)]);
    assert!(r
        .result
        .multi
        .iter()
        .all(|m| m.path.is_empty() && m.stat.is_none()));
    assert!(r.events.is_empty());
    assert_eq!(dump(&t), before);
    assert!(t.has_child_watch("/", 3));
    assert_eq!(t.last_processed_zxid(), 5);
}

#[test]
fn multi_replay_reports_first_part_error() {
    let mut t = DataTree::new();
    t.apply(&txn(1, 1, create("/x", 1)));
    let parts = vec![create("/x", 2), create("/y", 3)];
    let r = t.apply(&txn(1, 2, TxnBody::Multi(parts)));
    assert_eq!(r.result.err, ErrorCode::NodeExists.code());
    assert_eq!(r.result.multi[1].err, 0);
    assert!(t.node("/y").is_some());
    // The NodeExists adjustment applies to parts too: "/" moved to cversion 3.
    assert_eq!(t.node("/").unwrap().stat_persisted().cversion, 3);
}

/// The lists a snapshot's map holds: those of live nodes only, as
/// ZooKeeper's reference counts leave them (`ReferenceCountedACLCache`).
#[test]
fn the_snapshot_acl_map_holds_only_lists_nodes_hold() {
    let user = |name: &str| {
        vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "digest".into(),
                id: format!("{name}:hash"),
            },
        }]
    };
    let with_acl = |path: &str, name: &str, ephemeral: bool| {
        let mut c = create_txn(path, b"", ephemeral, -1);
        c.acl = user(name);
        TxnBody::Create(c)
    };
    let mut t = DataTree::new();
    let log = [
        txn(1, 1, with_acl("/deleted", "d", false)),
        txn(1, 2, with_acl("/reset", "r", false)),
        txn(7, 3, with_acl("/ephemeral", "e", true)),
        txn(1, 4, with_acl("/kept", "k", false)),
        txn(1, 5, with_acl("/kept2", "k", false)),
        txn(1, 6, delete("/deleted")),
        txn(1, 7, delete("/kept2")),
        txn(
            1,
            8,
            TxnBody::SetAcl(SetAclTxn {
                path: "/reset".into(),
                acl: Acl::read_unsafe(),
                version: 1,
            }),
        ),
        txn(
            7,
            9,
            TxnBody::CloseSession(CloseSessionTxn {
                paths_to_delete: vec!["/ephemeral".into()],
            }),
        ),
    ];
    for x in &log {
        assert_eq!(t.apply(x).result.err, 0, "{x:?}");
    }
    assert_eq!(
        t.acl_list_count(),
        6,
        "released lists stay until a snapshot"
    );
    let map = t.snapshot_acl_map();
    let lists: Vec<(i64, &[Acl])> = map.iter().map(|(id, a)| (*id, &a[..])).collect();
    assert_eq!(
        lists,
        [
            (1, &Acl::open_unsafe()[..]),
            (2, &Acl::read_unsafe()[..]),
            (6, &user("k")[..])
        ]
    );
    assert_eq!(t.acl_list_count(), 3);
    assert_eq!(t.acl_id(t.node("/kept").unwrap().acl()), Some(6));
}

#[test]
fn acl_checks_against_tree_nodes() {
    let t = DataTree::new();
    let config = t.node("/zookeeper/config").unwrap().acl();
    let none: [Id; 0] = [];
    assert!(acl::check_acl(config, perms::READ, &none));
    assert!(!acl::check_acl(config, perms::WRITE, &none));
}

#[test]
fn all_children_number_counts_descendants() {
    let mut t = DataTree::new();
    t.apply(&txn(1, 1, create("/a", 1)));
    t.apply(&txn(1, 2, create("/a/b", 1)));
    t.apply(&txn(1, 3, create("/a/b/c", 1)));
    t.apply(&txn(1, 4, create("/a/d", 2)));
    t.apply(&txn(1, 5, create("/ab", 2)));
    assert_eq!(t.all_children_number("/a"), Some(3));
    assert_eq!(t.all_children_number("/a/b/c"), Some(0));
    assert_eq!(t.all_children_number("/"), Some(8));
    assert_eq!(t.node_count(), 10);
}

#[test]
fn restore_node_links_parents() {
    let mut t = DataTree::new();
    let st = node::create_stat(3, 4, 77);
    assert!(t.restore_node("/x", Some(b"d".to_vec()), &Acl::open_unsafe(), st));
    assert!(!t.restore_node("/missing/y", None, &Acl::open_unsafe(), st));
    assert_eq!(t.ephemerals(77), vec!["/x".to_string()]);
    // Replacing the root keeps its children.
    assert!(t.restore_node(
        "/",
        Some(Vec::new()),
        &Acl::open_unsafe(),
        StatPersisted::default()
    ));
    assert_eq!(
        t.get_children("/"),
        Some(vec!["x".into(), "zookeeper".into()])
    );
}
