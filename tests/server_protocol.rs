//! Byte-level behaviour of a live server: ordering, sessions, bad input.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{connect_request, read_frame, write_frame, RawClient, TestServer};
use ferrokeeper::proto::data::Acl;
use ferrokeeper::proto::error_code::ErrorCode;
use ferrokeeper::proto::header::XID_NOTIFICATION;
use ferrokeeper::proto::jute::Record;
use ferrokeeper::proto::request::Request;
use ferrokeeper::proto::requests::*;
use ferrokeeper::proto::responses::{CreateResponse, GetDataResponse};
use ferrokeeper::proto::watches::{event_type, WatcherEvent};

fn create(path: &str, flags: i32) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Some(b"v".to_vec()),
        acl: Acl::open_unsafe(),
        flags,
    })
}

fn get(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest {
        path: path.into(),
        watch,
    })
}

fn exists(client: &mut RawClient, xid: i32, path: &str) -> i32 {
    let (h, _) = client.call(
        xid,
        &Request::Exists(ExistsRequest {
            path: path.into(),
            watch: false,
        }),
    );
    h.err
}

#[test]
fn notification_precedes_the_reply_that_shows_the_change() {
    let server = TestServer::start(2000, "");
    let mut c = RawClient::new_session(server.addr, 30000);
    assert_eq!(c.call(1, &create("/w", 0)).0.err, 0);
    assert_eq!(c.call(2, &get("/w", true)).0.err, 0);
    c.send(
        3,
        &Request::SetData(SetDataRequest {
            path: "/w".into(),
            data: Some(b"new".to_vec()),
            version: -1,
        }),
    );
    let (first, body) = c.recv().unwrap();
    assert_eq!(first.xid, XID_NOTIFICATION);
    let (_, event) = WatcherEvent::decode(&body).unwrap();
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (event_type::NODE_DATA_CHANGED, "/w")
    );
    let (second, _) = c.recv().unwrap();
    assert_eq!((second.xid, second.err), (3, 0));
    // One-shot: a second change does not notify again.
    c.send(
        4,
        &Request::SetData(SetDataRequest {
            path: "/w".into(),
            data: None,
            version: -1,
        }),
    );
    assert_eq!(c.recv().unwrap().0.xid, 4);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start(2000, "");
    let mut c = RawClient::new_session(server.addr, 30000);
    for i in 0..200 {
        let req = match i % 3 {
            0 => create(&format!("/p{i}"), 0),
            1 => get(&format!("/p{}", i - 1), false),
            _ => Request::Delete(DeleteRequest {
                path: format!("/p{}", i - 2),
                version: -1,
            }),
        };
        c.send(i + 1, &req);
    }
    let mut zxids = Vec::new();
    for i in 0..200 {
        let (h, body) = c.recv().unwrap();
        assert_eq!(h.xid, i + 1, "replies out of order");
        assert_eq!(h.err, 0, "request {i} failed");
        if i % 3 == 1 {
            let (_, data) = GetDataResponse::decode(&body).unwrap();
            assert_eq!(
                data.data.as_deref(),
                Some(&b"v"[..]),
                "read must see the earlier create"
            );
        }
        zxids.push(h.zxid);
    }
    assert!(
        zxids.windows(2).all(|w| w[0] <= w[1]),
        "zxids never go back"
    );
}

#[test]
fn sequential_names_come_from_the_parent_cversion() {
    let server = TestServer::start(2000, "");
    let mut c = RawClient::new_session(server.addr, 30000);
    c.call(1, &create("/s", 0));
    let mut names = Vec::new();
    for i in 0..3 {
        let (h, body) = c.call(10 + i, &create("/s/n-", 2));
        assert_eq!(h.err, 0);
        names.push(CreateResponse::decode(&body).unwrap().1.path);
        c.call(
            20 + i,
            &Request::Delete(DeleteRequest {
                path: names.last().unwrap().clone(),
                version: -1,
            }),
        );
    }
    assert_eq!(
        names,
        ["/s/n-0000000000", "/s/n-0000000001", "/s/n-0000000002"]
    );
}

#[test]
fn expired_session_loses_ephemerals_and_cannot_resume() {
    let server = TestServer::start(100, "");
    let mut owner = RawClient::new_session(server.addr, 200);
    assert_eq!(
        owner.session.time_out, 200,
        "timeout negotiated to minSessionTimeout"
    );
    assert_eq!(owner.call(1, &create("/eph", 1)).0.err, 0);
    let (id, passwd) = (owner.session.session_id, owner.session.passwd.clone());
    let mut other = RawClient::new_session(server.addr, 10000);
    // The owner stays silent; the session expires within timeout + a tick.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut xid = 1;
    while exists(&mut other, xid, "/eph") == 0 {
        assert!(Instant::now() < deadline, "ephemeral outlived its session");
        std::thread::sleep(Duration::from_millis(50));
        xid += 1;
    }
    // The expired session's connection was closed by the server.
    assert!(owner.recv().is_none());
    // Resuming it is refused the way ZooKeeper refuses it: timeout 0, then close.
    let mut again = RawClient::connect(server.addr, connect_request(id, passwd, 200, 0)).unwrap();
    assert_eq!((again.session.time_out, again.session.session_id), (0, 0));
    assert!(again.recv().is_none());
}

#[test]
fn resumed_session_keeps_ephemerals_and_closes_the_old_connection() {
    let server = TestServer::start(2000, "");
    let mut first = RawClient::new_session(server.addr, 10000);
    assert_eq!(first.call(1, &create("/mine", 1)).0.err, 0);
    let (id, passwd) = (first.session.session_id, first.session.passwd.clone());
    let mut second =
        RawClient::connect(server.addr, connect_request(id, passwd.clone(), 10000, 0)).unwrap();
    assert_eq!(second.session.session_id, id);
    assert!(first.recv().is_none(), "old connection must be closed");
    assert_eq!(exists(&mut second, 2, "/mine"), 0);
    // A wrong password is refused.
    let mut wrong = passwd;
    wrong[0] ^= 1;
    let refused = RawClient::connect(server.addr, connect_request(id, wrong, 10000, 0)).unwrap();
    assert_eq!(refused.session.session_id, 0);
    // Closing the session deletes its ephemerals.
    let (h, _) = second.call(3, &Request::CloseSession);
    assert_eq!(h.err, 0);
    let mut third = RawClient::new_session(server.addr, 10000);
    assert_eq!(exists(&mut third, 1, "/mine"), ErrorCode::NoNode.code());
}

#[test]
fn client_ahead_of_the_server_is_refused() {
    let server = TestServer::start(2000, "");
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write_frame(
        &mut stream,
        &connect_request(0, vec![0; 16], 10000, 1 << 40).to_bytes(),
    )
    .unwrap();
    assert!(
        read_frame(&mut stream).is_none(),
        "no ConnectResponse, just a close"
    );
}

#[test]
fn bad_frames_close_only_their_connection() {
    let mut server = TestServer::start(2000, "jute.maxbuffer=1000");
    let mut good = RawClient::new_session(server.addr, 10000);
    let bad_inputs: Vec<Vec<u8>> = vec![
        vec![0xff, 0xff, 0xff, 0xf0, 1, 2, 3], // negative length
        (5000u32).to_be_bytes().to_vec(),      // over jute.maxbuffer
        vec![0, 0, 0, 3, 1, 2, 3],             // too short for a ConnectRequest
    ];
    for input in bad_inputs {
        let mut s = std::net::TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&input).unwrap();
        assert!(read_frame(&mut s).is_none(), "connection must be closed");
    }
    // A session sending a short request header is cut off too.
    let mut victim = RawClient::new_session(server.addr, 10000);
    write_frame(&mut victim.stream, &[0, 0, 0, 1]).unwrap();
    assert!(victim.recv().is_none());
    assert!(server.alive());
    assert_eq!(good.call(1, &create("/still-here", 0)).0.err, 0);
    assert!(
        server.log().contains("closing connection"),
        "reason is logged"
    );
}

#[test]
fn unknown_opcode_is_unimplemented_and_closes() {
    let server = TestServer::start(2000, "");
    let mut c = RawClient::new_session(server.addr, 10000);
    let mut frame = Vec::new();
    frame.extend_from_slice(&7i32.to_be_bytes());
    frame.extend_from_slice(&999i32.to_be_bytes());
    write_frame(&mut c.stream, &frame).unwrap();
    let (h, _) = c.recv().unwrap();
    assert_eq!((h.xid, h.err), (7, ErrorCode::Unimplemented.code()));
    assert!(c.recv().is_none());
}

#[test]
fn ruok_answers_imok() {
    let server = TestServer::start(2000, "");
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.write_all(b"ruok").unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut s, &mut out).unwrap();
    assert_eq!(out, "imok");
}

fn create_ttl(path: &str, flags: i32, ttl: i64) -> Request {
    Request::CreateTtl(CreateTtlRequest {
        path: path.into(),
        data: Some(b"t".to_vec()),
        acl: Acl::open_unsafe(),
        flags,
        ttl,
    })
}

#[test]
fn ttl_nodes_need_extended_types() {
    let off = TestServer::start(2000, "");
    let mut c = RawClient::new_session(off.addr, 10000);
    let (h, _) = c.call(1, &create_ttl("/t", 5, 60_000));
    assert_eq!(h.err, ErrorCode::Unimplemented.code());

    let on = TestServer::start(2000, "extendedTypesEnabled=true");
    let mut c = RawClient::new_session(on.addr, 10000);
    let (h, body) = c.call(1, &create_ttl("/t", 5, 60_000));
    assert_eq!(h.err, 0);
    let (_, created) = ferrokeeper::proto::responses::Create2Response::decode(&body).unwrap();
    assert_eq!(created.path, "/t");
    assert_eq!(
        created.stat.ephemeral_owner, 0,
        "clients see TTL nodes as persistent"
    );
    // Out-of-range TTLs and a TTL on a non-TTL mode are BadArguments.
    assert_eq!(
        c.call(2, &create_ttl("/u", 5, 0)).0.err,
        ErrorCode::BadArguments.code()
    );
    assert_eq!(
        c.call(3, &create_ttl("/u", 0, 100)).0.err,
        ErrorCode::BadArguments.code()
    );
}

#[test]
fn super_digest_passes_every_acl() {
    let digest = ferrokeeper::tree::acl_digest::digest_of("super:pw", Default::default());
    let server = TestServer::start(
        2000,
        &format!("DigestAuthenticationProvider.superDigest={digest}"),
    );
    let mut c = RawClient::new_session(server.addr, 10000);
    let lock_root = Request::SetAcl(SetAclRequest {
        path: "/".into(),
        acl: Acl::read_unsafe(),
        version: -1,
    });
    assert_eq!(c.call(1, &lock_root).0.err, 0);
    assert_eq!(c.call(2, &create("/x", 0)).0.err, ErrorCode::NoAuth.code());
    let auth = Request::Auth(ferrokeeper::proto::auth::AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: b"super:pw".to_vec(),
    });
    assert_eq!(c.call(-4, &auth).0.err, 0);
    assert_eq!(
        c.call(3, &create("/x", 0)).0.err,
        0,
        "super may create anyway"
    );
}
