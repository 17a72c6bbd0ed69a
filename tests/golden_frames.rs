//! Golden frames captured from a real exchange between stock clients (kazoo 2.8
//! and the Java client 3.8 via zkCli.sh) and Apache ZooKeeper 3.8, recorded by
//! `compat-tests/tools/record_proxy.py golden` into `tests/fixtures/golden/`.
//!
//! Each fixture is one raw frame (4-byte length included). `index.tsv` says what it
//! is: `connect_request`, `connect_response`, `request`/`ping` (RequestHeader +
//! body), `reply`/`ping_reply` (ReplyHeader + body; the opcode column is that of the
//! request it answers) or `notification` (ReplyHeader + WatcherEvent). Every frame
//! must decode with the right record and re-encode to identical bytes.

use bytes::BytesMut;
use ferrokeeper::proto::connect::{ConnectRequest, ConnectResponse};
use ferrokeeper::proto::header::{ReplyHeader, RequestHeader, XID_NOTIFICATION};
use ferrokeeper::proto::jute::Record;
use ferrokeeper::proto::multi::{MultiOp, OpResult};
use ferrokeeper::proto::opcode::OpCode;
use ferrokeeper::proto::request::Request;
use ferrokeeper::proto::response::Response;
use ferrokeeper::proto::watches::{event_type, keeper_state, WatcherEvent};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden")
}

/// (file, kind, opcode) for every fixture.
fn index() -> Vec<(String, String, Option<i32>)> {
    let text = std::fs::read_to_string(dir().join("index.tsv")).expect("index.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (
                cols[0].to_string(),
                cols[1].to_string(),
                cols[2].parse().ok(),
            )
        })
        .collect()
}

/// The body of a fixture frame, after checking its length prefix.
fn body(file: &str) -> Vec<u8> {
    let raw = std::fs::read(dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(raw.len() >= 4, "{file}: no length");
    let len = i32::from_be_bytes(raw[..4].try_into().unwrap());
    assert_eq!(len as usize, raw.len() - 4, "{file}: length prefix");
    raw[4..].to_vec()
}

/// What a fixture decodes to.
#[derive(Debug)]
enum Decoded {
    ConnectRequest(ConnectRequest),
    ConnectResponse(ConnectResponse),
    Request(RequestHeader, Request),
    Reply(ReplyHeader, Response),
    Notification(WatcherEvent),
}

/// Decodes a fixture, asserting that re-encoding reproduces its bytes exactly.
fn decode(file: &str, kind: &str, op: Option<i32>) -> Decoded {
    let body = body(file);
    let mut out = BytesMut::new();
    let decoded = match kind {
        "connect_request" => {
            let (_, r) = ConnectRequest::decode(&body).unwrap();
            r.encode(&mut out);
            Decoded::ConnectRequest(r)
        }
        "connect_response" => {
            let (_, r) = ConnectResponse::decode(&body).unwrap();
            r.encode(&mut out);
            Decoded::ConnectResponse(r)
        }
        "request" | "ping" => {
            let (rest, h) = RequestHeader::decode(&body).unwrap();
            assert_eq!(Some(h.op_type), op, "{file}: opcode");
            let r = Request::decode_raw(h.op_type, rest).unwrap_or_else(|e| panic!("{file}: {e}"));
            h.encode(&mut out);
            r.encode(&mut out);
            Decoded::Request(h, r)
        }
        "reply" | "ping_reply" => {
            let (rest, h) = ReplyHeader::decode(&body).unwrap();
            let op = OpCode::from_i32(op.expect("reply opcode")).unwrap();
            let r =
                Response::decode_reply(op, h.err, rest).unwrap_or_else(|e| panic!("{file}: {e}"));
            h.encode(&mut out);
            r.encode(&mut out);
            Decoded::Reply(h, r)
        }
        "notification" => {
            let (rest, h) = ReplyHeader::decode(&body).unwrap();
            assert_eq!((h.xid, h.zxid, h.err), (XID_NOTIFICATION, -1, 0));
            let (_, e) = WatcherEvent::decode(rest).unwrap();
            h.encode(&mut out);
            e.encode(&mut out);
            Decoded::Notification(e)
        }
        other => panic!("{file}: unknown kind {other}"),
    };
    assert_eq!(&out[..], &body[..], "{file}: re-encoding differs");
    decoded
}

fn fixture(name: &str) -> Decoded {
    let (file, kind, op) = index()
        .into_iter()
        .find(|(f, _, _)| f == &format!("{name}.bin"))
        .unwrap_or_else(|| panic!("no fixture {name}"));
    decode(&file, &kind, op)
}

#[test]
fn every_fixture_round_trips() {
    let entries = index();
    assert!(entries.len() > 50, "only {} fixtures", entries.len());
    for (file, kind, op) in entries {
        decode(&file, &kind, op);
    }
}

#[test]
fn handshakes_carry_the_read_only_byte() {
    for name in ["kazoo_connect_request", "zkcli_connect_request"] {
        let Decoded::ConnectRequest(r) = fixture(name) else {
            unreachable!()
        };
        assert_eq!(r.read_only, Some(false), "{name}");
        assert_eq!((r.session_id, r.passwd.len()), (0, 16), "{name}");
    }
    let Decoded::ConnectRequest(r) = fixture("zkcli_reconnect_connect_request") else {
        unreachable!()
    };
    assert_ne!(r.session_id, 0);
    assert!(r.last_zxid_seen > 0);
    let Decoded::ConnectResponse(r) = fixture("kazoo_connect_response") else {
        unreachable!()
    };
    assert_eq!(
        (r.time_out, r.read_only, r.passwd.len()),
        (4000, Some(false), 16)
    );
}

#[test]
fn spot_check_requests_and_replies() {
    let Decoded::Request(h, Request::Create(c)) = fixture("kazoo_create.req") else {
        panic!()
    };
    assert!(h.xid > 0);
    assert_eq!(
        (c.path.as_str(), c.data.as_deref()),
        ("/golden", Some(&b"hello"[..]))
    );

    let Decoded::Reply(h, Response::Empty) = fixture("kazoo_exists_nonode.rep") else {
        panic!()
    };
    assert_eq!(h.err, -101);

    let Decoded::Reply(h, Response::Empty) = fixture("kazoo_create_exists_err.rep") else {
        panic!()
    };
    assert_eq!(h.err, -110);

    let Decoded::Reply(_, Response::Create2(c)) = fixture("zkcli_create_ttl.rep") else {
        panic!()
    };
    assert_eq!(c.path, "/zkt");
    // TTL and container nodes hide their special ephemeralOwner from clients
    // (DataNode.getClientEphemeralOwner returns 0 for them).
    assert_eq!(c.stat.ephemeral_owner, 0);
    let Decoded::Reply(_, Response::Create2(c)) = fixture("zkcli_create_container.rep") else {
        panic!()
    };
    assert_eq!((c.path.as_str(), c.stat.ephemeral_owner), ("/zkc", 0));

    // addWatch answers ErrorResponse { err: 0 }, a 4-byte body.
    let Decoded::Reply(_, Response::Error(e)) = fixture("zkcli_add_watch.rep") else {
        panic!()
    };
    assert_eq!(e.err, 0);

    let Decoded::Reply(h, Response::Empty) = fixture("kazoo_ping_reply") else {
        panic!()
    };
    assert_eq!((h.xid, h.err), (-2, 0));

    let Decoded::Request(_, Request::SetWatches2(w)) = fixture("zkcli_setWatches2.req") else {
        panic!()
    };
    assert_eq!(w.persistent_recursive_watches, vec!["/zk".to_string()]);
    assert_eq!(w.data_watches, vec!["/zk".to_string()]);
    let Decoded::Request(h, Request::SetWatches(w)) = fixture("zkcli_setWatches.req") else {
        panic!()
    };
    // The Java client's NIO socket overwrites the -8 of setWatches with an ordinary
    // xid (only ping and auth keep theirs), so servers must echo whatever comes.
    assert!(h.xid > 0);
    assert_eq!(w.child_watches, vec!["/zkc".to_string()]);
}

#[test]
fn spot_check_multi() {
    let Decoded::Request(_, Request::Multi(m)) = fixture("kazoo_multi_ok.req") else {
        panic!()
    };
    assert!(matches!(
        &m.ops[..],
        [
            MultiOp::Create(_),
            MultiOp::SetData(_),
            MultiOp::Check(_),
            MultiOp::Delete(_)
        ]
    ));
    let Decoded::Reply(h, Response::Multi(r)) = fixture("kazoo_multi_ok.rep") else {
        panic!()
    };
    assert_eq!(h.err, 0);
    assert!(matches!(
        &r.results[..],
        [
            OpResult::Create {
                op_type: 1,
                stat: None,
                ..
            },
            OpResult::SetData { .. },
            OpResult::Check,
            OpResult::Delete
        ]
    ));
    // A failed multi: every result is an error; ops before the failure say 0,
    // ops after it RuntimeInconsistency.
    let Decoded::Reply(h, Response::Multi(r)) = fixture("kazoo_multi_fail.rep") else {
        panic!()
    };
    assert_eq!(h.err, 0, "a failed multi still answers err 0");
    assert_eq!(
        r.results,
        vec![
            OpResult::Error { err: 0 },
            OpResult::Error { err: -103 },
            OpResult::Error { err: -2 },
        ]
    );
}

#[test]
fn spot_check_notifications() {
    let Decoded::Notification(e) = fixture("kazoo_set_fires_watch.event") else {
        panic!()
    };
    assert_eq!(
        (e.event_type, e.state, e.path.as_str()),
        (
            event_type::NODE_DATA_CHANGED,
            keeper_state::SYNC_CONNECTED,
            "/golden"
        )
    );
    let Decoded::Notification(e) = fixture("zkcli_persistent_event.event") else {
        panic!()
    };
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (event_type::NODE_CREATED, "/zk/child")
    );
    let Decoded::Notification(e) = fixture("kazoo_child_event.event") else {
        panic!()
    };
    assert_eq!(e.event_type, event_type::NODE_CHILDREN_CHANGED);
}
