//! The snapshotter copies the tree in bounded chunks, even out of one node
//! with many children: a snapshot taken of a tree with a node of more
//! children than a chunk holds (and grandchildren among them) restores alone,
//! without any log, to the same tree.

mod common;

use std::time::{Duration, Instant};

use common::{target_is_zookeeper, RawClient, TestServer};
use ferrokeeper::persistence::list_files;
use ferrokeeper::proto::data::Acl;
use ferrokeeper::proto::jute::Record;
use ferrokeeper::proto::request::Request;
use ferrokeeper::proto::requests::*;
use ferrokeeper::proto::responses::*;

/// More than the snapshotter's 2000 nodes per chunk.
const WIDE: usize = 4500;

fn create_req(path: String) -> Request {
    Request::Create(CreateRequest {
        path,
        data: Some(b"v".to_vec()),
        acl: Acl::open_unsafe(),
        flags: 0,
    })
}

/// Sends every create before reading the replies; all must succeed.
fn create_all(c: &mut RawClient, paths: &[String]) {
    for (i, p) in paths.iter().enumerate() {
        c.send(i as i32 + 1, &create_req(p.clone()));
    }
    for p in paths {
        let (h, _) = c.recv().expect("reply");
        assert_eq!(h.err, 0, "create {p}");
    }
}

fn children(c: &mut RawClient, path: &str) -> Vec<String> {
    let (h, body) = c.call(
        1,
        &Request::GetChildren(GetChildrenRequest {
            path: path.into(),
            watch: false,
        }),
    );
    assert_eq!(h.err, 0, "getChildren {path}");
    GetChildrenResponse::decode(&body).unwrap().1.children
}

#[test]
fn a_snapshot_of_a_node_wider_than_a_chunk_restores_without_the_log() {
    if target_is_zookeeper() {
        return;
    }
    let mut server = TestServer::start_with(200, "");
    let mut c = RawClient::new_session(server.addr, 30_000);
    let mut paths = vec!["/wide".to_owned(), "/after".to_owned()];
    paths.extend((0..WIDE).map(|i| format!("/wide/c{i:05}")));
    paths.extend(
        (0..WIDE)
            .step_by(700)
            .map(|i| format!("/wide/c{i:05}/grand")),
    );
    paths.push("/wide/c04499/grand".to_owned());
    paths.push("/wide/c04499/grand/great".to_owned());
    create_all(&mut c, &paths);
    drop(c);

    // A restart writes a start-up snapshot of everything (in the background).
    server.terminate();
    let snaps_before = list_files(&server.snap_version_dir(), "snapshot")
        .unwrap()
        .len();
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    while list_files(&server.snap_version_dir(), "snapshot")
        .unwrap()
        .len()
        <= snaps_before
    {
        assert!(
            Instant::now() < deadline,
            "no start-up snapshot:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    server.kill9();
    // Only the snapshot is left to restore from.
    for (_, log) in list_files(&server.log_version_dir(), "log").unwrap() {
        std::fs::remove_file(log).unwrap();
    }
    let mut snaps = list_files(&server.snap_version_dir(), "snapshot").unwrap();
    snaps.sort();
    snaps.pop();
    for (_, older) in snaps {
        std::fs::remove_file(older).unwrap();
    }
    server.restart();

    let mut c = RawClient::new_session(server.addr, 30_000);
    let mut wide = children(&mut c, "/wide");
    wide.sort();
    let expected: Vec<String> = (0..WIDE).map(|i| format!("c{i:05}")).collect();
    assert_eq!(wide, expected);
    for i in (0..WIDE).step_by(700).chain([WIDE - 1]) {
        assert_eq!(
            children(&mut c, &format!("/wide/c{i:05}")),
            vec!["grand".to_owned()]
        );
    }
    assert_eq!(
        children(&mut c, "/wide/c04499/grand"),
        vec!["great".to_owned()]
    );
    let mut top = children(&mut c, "/");
    top.sort();
    assert_eq!(top, vec!["after", "wide", "zookeeper"]);
}
