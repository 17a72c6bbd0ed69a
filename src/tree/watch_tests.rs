//! Tests of watch triggering through the tree and of session close.

use super::tests::*;
use super::*;
use crate::proto::error_code::ErrorCode;
use crate::txn::*;
use event_type::*;

#[test]
fn create_triggers_data_then_parent_child_watches() {
    let mut t = DataTree::new();
    t.add_child_watch("/", 2);
    t.add_data_watch("/n", 9); // exists() on a missing node
    t.add_data_watch("/n", 1);
    t.add_child_watch("/", 1);
    t.add_child_watch("/n", 5); // not triggered by creating /n
    let r = t.apply(&txn(1, 1, create("/n", 1)));
    assert_eq!(
        events(&r),
        vec![
            ev(9, NODE_CREATED, "/n"),
            ev(1, NODE_CREATED, "/n"),
            ev(2, NODE_CHILDREN_CHANGED, "/"),
            ev(1, NODE_CHILDREN_CHANGED, "/"),
        ]
    );
    assert_eq!(&*r.events[0].acl, &Acl::open_unsafe()[..]);
    // One-shot: gone now.
    assert!(!t.has_data_watch("/n", 9) && !t.has_child_watch("/", 2));
    assert!(t.has_child_watch("/n", 5));
    let r = t.apply(&txn(1, 2, create("/m", 2)));
    assert!(r.events.is_empty());
}

#[test]
fn delete_suppresses_child_watchers_already_notified() {
    let mut t = DataTree::new();
    t.apply(&txn(1, 1, create("/p", 1)));
    let mut c = create_txn("/p/x", b"", false, 1);
    c.acl = Acl::read_unsafe();
    t.apply(&txn(1, 2, TxnBody::Create(c)));
    t.add_data_watch("/p/x", 1);
    t.add_child_watch("/p/x", 1);
    t.add_child_watch("/p/x", 2);
    t.add_child_watch("/p", 3);
    let r = t.apply(&txn(1, 3, delete("/p/x")));
    assert_eq!(
        events(&r),
        vec![
            ev(1, NODE_DELETED, "/p/x"),
            ev(2, NODE_DELETED, "/p/x"),
            ev(3, NODE_CHILDREN_CHANGED, "/p"),
        ]
    );
    assert_eq!(
        &*r.events[1].acl,
        &Acl::read_unsafe()[..],
        "the deleted node's ACL"
    );
    assert_eq!(
        &*r.events[2].acl,
        &Acl::open_unsafe()[..],
        "the parent's ACL"
    );
    // The suppressed child watch was consumed too.
    assert!(!t.has_child_watch("/p/x", 1));
    assert_eq!(t.watch_count(), 0);
}

#[test]
fn set_data_fires_data_watches_and_set_acl_nothing() {
    let mut t = DataTree::new();
    t.apply(&txn(1, 1, create("/d", 1)));
    t.add_data_watch("/d", 4);
    t.add_child_watch("/d", 5);
    let r = t.apply(&txn(
        1,
        2,
        TxnBody::SetAcl(SetAclTxn {
            path: "/d".into(),
            acl: Acl::read_unsafe(),
            version: 1,
        }),
    ));
    assert!(r.events.is_empty());
    assert_eq!(t.acl_list_count(), 2, "OPEN and READ still in use");
    let r = t.apply(&txn(1, 3, set_data("/d", b"v", 1)));
    assert_eq!(events(&r), vec![ev(4, NODE_DATA_CHANGED, "/d")]);
    assert_eq!(&*r.events[0].acl, &Acl::read_unsafe()[..]);
    assert!(t.has_child_watch("/d", 5));
    let r = t.apply(&txn(1, 4, set_data("/d", b"w", 2)));
    assert!(r.events.is_empty());
}

#[test]
fn persistent_recursive_watch_through_the_tree() {
    let mut t = DataTree::new();
    t.add_watch("/r", 8, WatchMode::PersistentRecursive);
    let r = t.apply(&txn(1, 1, create("/r", 1)));
    assert_eq!(events(&r), vec![ev(8, NODE_CREATED, "/r")]);
    let r = t.apply(&txn(1, 2, create("/r/a", 1)));
    assert_eq!(events(&r), vec![ev(8, NODE_CREATED, "/r/a")]);
    let r = t.apply(&txn(1, 3, delete("/r/a")));
    assert_eq!(events(&r), vec![ev(8, NODE_DELETED, "/r/a")]);
    t.remove_watcher(8);
    assert_eq!(t.watch_count(), 0);
}

#[test]
fn close_session_deletes_ephemerals_and_fires_watches() {
    let mut t = DataTree::new();
    t.apply(&txn(1, 1, create("/p", 1)));
    for (i, p) in ["/e1", "/e2", "/p/e3"].iter().enumerate() {
        let z = 2 + i as i64;
        let pcv = if *p == "/p/e3" { 1 } else { z as i32 };
        t.apply(&txn(7, z, TxnBody::Create(create_txn(p, b"", true, pcv))));
    }
    t.apply(&txn(
        8,
        5,
        TxnBody::Create(create_txn("/other", b"", true, 5)),
    ));
    assert_eq!(
        t.ephemerals(7),
        vec!["/e1".to_string(), "/e2".into(), "/p/e3".into()]
    );
    assert_eq!(t.sessions_with_ephemerals(), vec![7, 8]);
    assert_eq!(t.ephemerals_with_prefix(7, "/p"), vec!["/p/e3".to_string()]);
    assert_eq!(
        t.ephemerals_with_prefix(7, "/e"),
        vec!["/e1".to_string(), "/e2".into()]
    );
    assert_eq!(t.ephemerals_with_prefix(7, " / ").len(), 3);
    t.add_data_watch("/e1", 2);
    t.add_data_watch("/e2", 2);
    t.add_child_watch("/p", 3);
    // The txn lists /e2 only: it goes first, then the rest the session owned.
    let close = TxnBody::CloseSession(CloseSessionTxn {
        paths_to_delete: vec!["/e2".into()],
    });
    let r = t.apply(&txn(7, 10, close));
    assert_eq!(r.result.err, 0);
    assert_eq!(
        events(&r),
        vec![
            ev(2, NODE_DELETED, "/e2"),
            ev(2, NODE_DELETED, "/e1"),
            ev(3, NODE_CHILDREN_CHANGED, "/p")
        ]
    );
    assert!(t.node("/e1").is_none() && t.node("/p/e3").is_none());
    assert_eq!((stat(&t, "/p").pzxid, stat(&t, "/").pzxid), (10, 10));
    assert_eq!(t.sessions_with_ephemerals(), vec![8]);
    // An empty list (pre-3.6 logs) deletes everything the session owns.
    let r = t.apply(&txn(
        8,
        11,
        TxnBody::CloseSession(CloseSessionTxn::default()),
    ));
    assert_eq!(r.result.err, 0);
    assert!(t.node("/other").is_none());
    assert!(t.sessions_with_ephemerals().is_empty());
    // createSession and error txns change nothing but the zxid.
    let before = dump(&t);
    t.apply(&txn(
        9,
        12,
        TxnBody::CreateSession(CreateSessionTxn { time_out: 30000 }),
    ));
    let r = t.apply(&txn(9, 13, error(ErrorCode::BadVersion)));
    assert_eq!(r.result.err, ErrorCode::BadVersion.code());
    assert_eq!(dump(&t), before);
    assert_eq!(t.last_processed_zxid(), 13);
}

#[test]
fn set_watches_after_reconnect() {
    let mut t = DataTree::new();
    t.apply(&txn(1, 1, create("/a", 1)));
    t.apply(&txn(1, 2, create("/b", 2)));
    t.apply(&txn(1, 3, set_data("/b", b"x", 1)));
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let got = t.set_watches(
        2,
        &s(&["/a", "/b", "/gone"]),
        &s(&["/a", "/new"]),
        &s(&["/", "/a"]),
        &s(&["/p"]),
        &[],
        5,
    );
    let got: Vec<_> = got
        .into_iter()
        .map(|e| (e.watcher, e.event_type, e.path))
        .collect();
    assert_eq!(
        got,
        vec![
            ev(5, NODE_DATA_CHANGED, "/b"),
            ev(5, NODE_DELETED, "/gone"),
            ev(5, NODE_CREATED, "/a"),
        ]
    );
    assert!(t.has_data_watch("/a", 5) && t.has_data_watch("/new", 5));
    assert!(t.has_child_watch("/", 5) && t.has_child_watch("/a", 5));
    assert!(t.has_data_watch("/p", 5) && t.has_child_watch("/p", 5));
    assert_eq!(
        t.watches_for(5),
        SessionWatches {
            data: s(&["/a", "/new", "/p"]),
            child: s(&["/", "/a", "/p"])
        }
    );
    assert!(t.remove_watch("/a", WatcherType::Any, 5));
    assert!(!t.remove_watch("/a", WatcherType::Data, 5));
    assert!(t.contains_watch("/new", WatcherType::Data));
    assert!(!t.contains_watch("/new", WatcherType::Children));
}
