//! Fuzzes a live `ferrokeeper` process over TCP: a few thousand random and mutated
//! frames (flipped bytes, wrong/negative/oversized lengths, truncated connections,
//! garbage after a valid handshake), each on its own connection, then checks that a
//! well-behaved client (`zookeeper-client`) can still connect, create, get and
//! delete. The server must never exit on input; bad bytes close only their own
//! connection.
//!
//! Reproducible: the seed is printed and can be fixed with `FUZZ_SEED=<n>`;
//! `FUZZ_CASES=<n>` changes the number of cases. If the server dies, the failing
//! batch is replayed one case at a time against a fresh server and the exact bytes
//! of the culprit are reported.

mod common;

use bytes::BytesMut;
use common::TestServer;
use ferrokeeper::proto::auth::AuthPacket;
use ferrokeeper::proto::connect::ConnectRequest;
use ferrokeeper::proto::data::Acl;
use ferrokeeper::proto::header::RequestHeader;
use ferrokeeper::proto::jute::Record;
use ferrokeeper::proto::multi::{MultiOp, MultiRequest};
use ferrokeeper::proto::request::Request;
use ferrokeeper::proto::requests::*;
use ferrokeeper::proto::watches::{SetWatches, SetWatches2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BATCH: usize = 64;
/// The well-behaved clients authenticate as super (`superDigest` in zoo.cfg).
const SUPER_AUTH: &str = "super:survivor";
const BUDGET: Duration = Duration::from_secs(20);

/// The last few KB of the server's log, for failure messages.
fn log_tail(server: &TestServer) -> String {
    let log = server.log();
    log[log.floor_char_boundary(log.len().saturating_sub(4000))..].to_owned()
}

/// One fuzz case: bytes written on a fresh connection, in chunks, then either a
/// half-close (`shutdown`) or an abrupt drop.
#[derive(Debug, Clone)]
struct Case {
    kind: &'static str,
    chunks: Vec<Vec<u8>>,
    shutdown: bool,
}

impl Case {
    fn hex(&self) -> String {
        self.chunks
            .iter()
            .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>())
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn connect_frame(rng: &mut StdRng) -> Vec<u8> {
    let req = ConnectRequest {
        protocol_version: if rng.gen_bool(0.9) { 0 } else { rng.gen() },
        last_zxid_seen: if rng.gen_bool(0.8) { 0 } else { rng.gen() },
        time_out: *pick(rng, &[4000, 0, -1, 1, 100_000_000, i32::MIN]),
        session_id: if rng.gen_bool(0.8) { 0 } else { rng.gen() },
        passwd: vec![0; *pick(rng, &[16, 16, 16, 0, 3, 64])],
        read_only: *pick(rng, &[Some(false), Some(true), None]),
    };
    frame(&req.to_bytes())
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn path(rng: &mut StdRng) -> String {
    pick(
        rng,
        &[
            "/fuzz",
            "/fuzz/a",
            "/",
            "",
            "fuzz",
            "/fuzz/",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/\u{0}",
            "/zookeeper",
            "/zookeeper/quota",
            "/zookeeper/config",
            "/ü/日本",
            "/fuzz/seq-",
            "/nonexistent/child",
        ],
    )
    .to_string()
}

fn acl(rng: &mut StdRng) -> Vec<Acl> {
    match rng.gen_range(0..4) {
        0 => Acl::open_unsafe(),
        1 => vec![],
        2 => vec![Acl {
            perms: rng.gen(),
            id: ferrokeeper::proto::data::Id {
                scheme: pick(rng, &["world", "digest", "ip", "auth", "bogus", ""]).to_string(),
                id: pick(rng, &["anyone", "u:xyz=", "127.0.0.1/33", "", "x"]).to_string(),
            },
        }],
        _ => Acl::read_unsafe(),
    }
}

fn create(rng: &mut StdRng) -> CreateRequest {
    CreateRequest {
        path: path(rng),
        data: if rng.gen_bool(0.2) {
            None
        } else {
            Some(vec![7; rng.gen_range(0..32)])
        },
        acl: acl(rng),
        flags: if rng.gen_bool(0.8) {
            rng.gen_range(0..7)
        } else {
            rng.gen()
        },
    }
}

fn version(rng: &mut StdRng) -> i32 {
    *pick(rng, &[-1, 0, 1, i32::MAX, i32::MIN])
}

fn multi_op(rng: &mut StdRng) -> MultiOp {
    match rng.gen_range(0..9) {
        0 => MultiOp::Create(create(rng)),
        1 => MultiOp::Create2(create(rng)),
        2 => MultiOp::CreateContainer(create(rng)),
        3 => MultiOp::CreateTtl(CreateTtlRequest {
            path: path(rng),
            data: Some(vec![]),
            acl: acl(rng),
            flags: rng.gen_range(0..7),
            ttl: *pick(rng, &[-1, 0, 1000, i64::MAX]),
        }),
        4 => MultiOp::Delete(DeleteRequest {
            path: path(rng),
            version: version(rng),
        }),
        5 => MultiOp::SetData(SetDataRequest {
            path: path(rng),
            data: Some(b"x".to_vec()),
            version: version(rng),
        }),
        6 => MultiOp::Check(CheckVersionRequest {
            path: path(rng),
            version: version(rng),
        }),
        7 => MultiOp::GetChildren(GetChildrenRequest {
            path: path(rng),
            watch: rng.gen(),
        }),
        _ => MultiOp::GetData(GetDataRequest {
            path: path(rng),
            watch: rng.gen(),
        }),
    }
}

/// A well-formed request of a random kind.
fn request(rng: &mut StdRng) -> Request {
    let p = path(rng);
    let watches = |rng: &mut StdRng| {
        (0..rng.gen_range(0..3))
            .map(|_| path(rng))
            .collect::<Vec<_>>()
    };
    match rng.gen_range(0..27) {
        0 => Request::Create(create(rng)),
        1 => Request::Create2(create(rng)),
        2 => Request::CreateContainer(create(rng)),
        3 => Request::CreateTtl(CreateTtlRequest {
            path: p,
            data: Some(b"t".to_vec()),
            acl: acl(rng),
            flags: rng.gen_range(0..8),
            ttl: *pick(rng, &[-5, 0, 1, 60_000, i64::MAX]),
        }),
        4 => Request::Delete(DeleteRequest {
            path: p,
            version: version(rng),
        }),
        5 => Request::Exists(ExistsRequest {
            path: p,
            watch: rng.gen(),
        }),
        6 => Request::GetData(GetDataRequest {
            path: p,
            watch: rng.gen(),
        }),
        7 => Request::SetData(SetDataRequest {
            path: p,
            data: None,
            version: version(rng),
        }),
        8 => Request::GetAcl(GetAclRequest { path: p }),
        9 => Request::SetAcl(SetAclRequest {
            path: p,
            acl: acl(rng),
            version: version(rng),
        }),
        10 => Request::GetChildren(GetChildrenRequest {
            path: p,
            watch: rng.gen(),
        }),
        11 => Request::GetChildren2(GetChildrenRequest {
            path: p,
            watch: rng.gen(),
        }),
        12 => Request::Sync(SyncRequest { path: p }),
        13 => Request::Ping,
        14 => Request::Check(CheckVersionRequest {
            path: p,
            version: version(rng),
        }),
        15 => Request::Multi(MultiRequest {
            ops: (0..rng.gen_range(0..5)).map(|_| multi_op(rng)).collect(),
        }),
        16 => Request::MultiRead(MultiRequest {
            ops: (0..rng.gen_range(0..5)).map(|_| multi_op(rng)).collect(),
        }),
        17 => Request::CloseSession,
        18 => Request::Auth(AuthPacket {
            auth_type: rng.gen_range(-1..2),
            scheme: pick(rng, &["digest", "ip", "world", "super", "sasl", "x509", ""]).to_string(),
            auth: pick(rng, &[&b"u:p"[..], b"", b"nocolon", b"\xff\xfe"]).to_vec(),
        }),
        19 => Request::SetWatches(SetWatches {
            relative_zxid: rng.gen(),
            data_watches: watches(rng),
            exist_watches: watches(rng),
            child_watches: watches(rng),
        }),
        20 => Request::SetWatches2(SetWatches2 {
            relative_zxid: rng.gen(),
            data_watches: watches(rng),
            exist_watches: watches(rng),
            child_watches: watches(rng),
            persistent_watches: watches(rng),
            persistent_recursive_watches: watches(rng),
        }),
        21 => Request::GetEphemerals(GetEphemeralsRequest { prefix_path: p }),
        22 => Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: p }),
        23 => Request::WhoAmI,
        24 => Request::AddWatch(AddWatchRequest {
            path: p,
            mode: rng.gen_range(-1..3),
        }),
        25 => Request::CheckWatches(CheckWatchesRequest {
            path: p,
            op_type: rng.gen_range(0..7),
        }),
        _ => Request::RemoveWatches(RemoveWatchesRequest {
            path: p,
            op_type: rng.gen_range(0..7),
        }),
    }
}

fn request_frame(rng: &mut StdRng) -> Vec<u8> {
    let req = request(rng);
    let mut out = BytesMut::new();
    let xid = *pick(rng, &[1, 2, 3, -1, -2, -4, -8, i32::MAX, 0]);
    let mut op_type = req.op_code() as i32;
    if rng.gen_bool(0.05) {
        // Opcodes with no decoder or none at all: reconfig, sasl, createSession, unknown.
        op_type = *pick(rng, &[0, 10, 16, 20, 102, -10, -1, 999, i32::MIN]);
    }
    RequestHeader { xid, op_type }.encode(&mut out);
    req.encode(&mut out);
    frame(&out)
}

fn weird_len(rng: &mut StdRng, real: usize) -> i32 {
    *pick(
        rng,
        &[
            -1,
            i32::MIN,
            -(real as i32),
            0,
            1,
            real as i32 - 1,
            real as i32 + 1,
            real as i32 + 1000,
            0xfffff,
            0x100000,
            i32::MAX,
        ],
    )
}

/// Applies one mutation to a frame (length prefix included).
fn mutate(rng: &mut StdRng, mut f: Vec<u8>) -> Vec<u8> {
    match rng.gen_range(0..5) {
        0 => {
            for _ in 0..rng.gen_range(1..5) {
                let i = rng.gen_range(0..f.len());
                f[i] ^= 1 << rng.gen_range(0..8);
            }
        }
        1 => {
            let body_len = f.len() - 4;
            f[..4].copy_from_slice(&weird_len(rng, body_len).to_be_bytes());
        }
        2 => {
            // Keep the length but cut the body short (the connection then closes).
            let cut = rng.gen_range(0..f.len());
            f.truncate(cut);
        }
        3 => {
            // Fix up the length to a shorter body: a complete but truncated record.
            if f.len() > 4 {
                let body = rng.gen_range(0..f.len() - 4);
                f.truncate(4 + body);
                f[..4].copy_from_slice(&(body as i32).to_be_bytes());
            }
        }
        _ => {
            // Overwrite a random byte inside the body with an extreme value.
            if f.len() > 4 {
                let i = rng.gen_range(4..f.len());
                f[i] = *pick(rng, &[0x00, 0x7f, 0x80, 0xff]);
            }
        }
    }
    f
}

fn gen_case(rng: &mut StdRng) -> Case {
    let shutdown = rng.gen_bool(0.5);
    let (kind, chunks) = match rng.gen_range(0..10) {
        0 => (
            "random bytes",
            vec![(0..rng.gen_range(0..200)).map(|_| rng.gen()).collect()],
        ),
        1 => {
            let f = connect_frame(rng);
            ("mutated connect", vec![mutate(rng, f)])
        }
        2 => ("connect only", vec![connect_frame(rng)]),
        3 => {
            let len = weird_len(rng, 40);
            let mut f = len.to_be_bytes().to_vec();
            f.extend((0..rng.gen_range(0..64)).map(|_| rng.gen::<u8>()));
            ("weird length first", vec![f])
        }
        4 => {
            // Four-letter-word-shaped starts.
            const WORDS: [&[u8]; 11] = [
                b"ruok", b"stat", b"srvr", b"mntr", b"cons", b"dump", b"wchp", b"conf", b"envi",
                b"isro", b"zzzz",
            ];
            let w = *pick(rng, &WORDS);
            let mut f = w.to_vec();
            if rng.gen_bool(0.3) {
                f.extend((0..rng.gen_range(0..16)).map(|_| rng.gen::<u8>()));
            }
            ("four letter word", vec![f])
        }
        5 | 6 => {
            // A valid handshake, then valid requests and one mutated request.
            let mut chunks = vec![connect_frame(rng)];
            for _ in 0..rng.gen_range(0..4) {
                chunks.push(request_frame(rng));
            }
            let f = request_frame(rng);
            chunks.push(mutate(rng, f));
            if rng.gen_bool(0.3) {
                chunks.push(request_frame(rng));
            }
            ("handshake + mutated request", chunks)
        }
        7 => {
            // A valid handshake and valid (if semantically odd) requests.
            let mut chunks = vec![connect_frame(rng)];
            for _ in 0..rng.gen_range(1..8) {
                chunks.push(request_frame(rng));
            }
            ("handshake + requests", chunks)
        }
        8 => {
            // Everything in one buffer, cut at a random point.
            let mut all = connect_frame(rng);
            for _ in 0..rng.gen_range(1..4) {
                all.extend(request_frame(rng));
            }
            let cut = rng.gen_range(0..all.len());
            all.truncate(cut);
            ("truncated stream", vec![all])
        }
        _ => {
            // Handshake, then a header-only or garbage-bodied frame.
            let mut chunks = vec![connect_frame(rng)];
            let body: Vec<u8> = (0..rng.gen_range(0..40)).map(|_| rng.gen()).collect();
            chunks.push(frame(&body));
            ("handshake + garbage frame", chunks)
        }
    };
    Case {
        kind,
        chunks,
        shutdown,
    }
}

/// Plays a case; I/O errors are expected (the server may close at any point).
/// Returns how many bytes the server sent back.
async fn play(addr: SocketAddr, case: Arc<Case>) -> usize {
    let mut received = 0;
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await
    else {
        return 0;
    };
    for chunk in &case.chunks {
        if s.write_all(chunk).await.is_err() {
            return 0;
        }
    }
    if case.shutdown {
        let _ = s.shutdown().await;
    }
    // Drain what the server says for a moment, then drop the connection.
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_millis(60);
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        received += n;
    }
    received
}

/// Plays a batch concurrently; returns how many connections got bytes back.
async fn play_batch(addr: SocketAddr, cases: &[Arc<Case>]) -> usize {
    let tasks: Vec<_> = cases
        .iter()
        .map(|c| tokio::spawn(play(addr, c.clone())))
        .collect();
    let mut answered = 0;
    for t in tasks {
        if t.await.unwrap_or(0) > 0 {
            answered += 1;
        }
    }
    answered
}

/// After a crash: replay the batch one case at a time on a fresh server to find the culprit.
async fn find_culprit(cases: &[Arc<Case>]) -> String {
    let mut server = TestServer::start(2000, "maxClientCnxns=0");
    for (i, case) in cases.iter().enumerate() {
        play(server.addr, case.clone()).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        if !server.alive() {
            return format!(
                "case {i} of the batch ({}, shutdown={}) kills the server.\nbytes (hex, chunks split by |): {}\nserver log tail:\n{}",
                case.kind,
                case.shutdown,
                case.hex(),
                log_tail(&server)
            );
        }
    }
    "no single case of the batch reproduces the crash alone (interaction between connections)"
        .into()
}

/// The `zookeeper-client` crate (0.11) as a well-behaved client.
async fn zookeeper_client_works(addr: SocketAddr) -> Result<(), String> {
    use zookeeper_client as zk;
    let client = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(6))
        .with_auth("digest", SUPER_AUTH.as_bytes())
        .connect(&addr.to_string())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let path = "/fuzz-survivor";
    client
        .create(path, b"still here", &opts)
        .await
        .map_err(|e| format!("create: {e}"))?;
    let (data, stat) = client
        .get_data(path)
        .await
        .map_err(|e| format!("get: {e}"))?;
    if data != b"still here" || stat.version != 0 {
        return Err(format!("get returned {data:?} {stat:?}"));
    }
    client
        .delete(path, Some(0))
        .await
        .map_err(|e| format!("delete: {e}"))?;
    if client
        .check_stat(path)
        .await
        .map_err(|e| format!("exists: {e}"))?
        .is_some()
    {
        return Err("node still exists after delete".into());
    }
    Ok(())
}

/// A strict client built on the crate's own codec (validated against golden frames
/// from real clients): handshake, create, getData, delete, exists, closeSession.
async fn codec_client_works(addr: SocketAddr) -> Result<(), String> {
    use ferrokeeper::proto::connect::ConnectResponse;
    use ferrokeeper::proto::frame::FrameCodec;
    use ferrokeeper::proto::header::ReplyHeader;
    use ferrokeeper::proto::opcode::OpCode;
    use ferrokeeper::proto::response::Response;
    use futures::{SinkExt, StreamExt};
    use tokio_util::codec::Framed;

    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut conn = Framed::new(stream, FrameCodec::default());
    let hello = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 6000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    conn.send(hello.to_bytes().freeze())
        .await
        .map_err(|e| e.to_string())?;
    let frame = conn
        .next()
        .await
        .ok_or("closed before handshake")?
        .map_err(|e| e.to_string())?;
    let (_, welcome) = ConnectResponse::decode(&frame).map_err(|e| format!("{e:?}"))?;
    if welcome.session_id == 0 || welcome.time_out <= 0 {
        return Err(format!("session refused: {welcome:?}"));
    }
    // Authenticate as super: the fuzz may have locked any ACL, the root's too.
    let mut out = BytesMut::new();
    RequestHeader {
        xid: -4,
        op_type: OpCode::Auth as i32,
    }
    .encode(&mut out);
    AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: SUPER_AUTH.as_bytes().to_vec(),
    }
    .encode(&mut out);
    conn.send(out.freeze()).await.map_err(|e| e.to_string())?;
    let frame = conn
        .next()
        .await
        .ok_or("closed after auth")?
        .map_err(|e| e.to_string())?;
    let (_, h) = ReplyHeader::decode(&frame).map_err(|e| format!("{e:?}"))?;
    if (h.xid, h.err) != (-4, 0) {
        return Err(format!("super auth refused: {h:?}"));
    }
    let path = "/fuzz-survivor-codec".to_string();
    let steps = vec![
        Request::Create(CreateRequest {
            path: path.clone(),
            data: Some(b"v".to_vec()),
            acl: Acl::open_unsafe(),
            flags: 0,
        }),
        Request::GetData(GetDataRequest {
            path: path.clone(),
            watch: false,
        }),
        Request::Delete(DeleteRequest {
            path: path.clone(),
            version: 0,
        }),
        Request::Exists(ExistsRequest {
            path: path.clone(),
            watch: false,
        }),
        Request::CloseSession,
    ];
    for (i, req) in steps.into_iter().enumerate() {
        let xid = i as i32 + 1;
        let mut out = BytesMut::new();
        RequestHeader {
            xid,
            op_type: req.op_code() as i32,
        }
        .encode(&mut out);
        req.encode(&mut out);
        conn.send(out.freeze()).await.map_err(|e| e.to_string())?;
        let frame = conn
            .next()
            .await
            .ok_or("closed mid-conversation")?
            .map_err(|e| e.to_string())?;
        let (body, h) = ReplyHeader::decode(&frame).map_err(|e| format!("{e:?}"))?;
        let resp = Response::decode_reply(req.op_code(), h.err, body).map_err(|e| e.to_string())?;
        let ok = match (req.op_code(), h.err, &resp) {
            (OpCode::Create, 0, Response::Create(c)) => c.path == path,
            (OpCode::GetData, 0, Response::GetData(d)) => d.data.as_deref() == Some(&b"v"[..]),
            (OpCode::Delete, 0, Response::Empty) => true,
            (OpCode::Exists, -101, Response::Empty) => true,
            (OpCode::CloseSession, 0, Response::Empty) => true,
            _ => false,
        };
        if h.xid != xid || !ok {
            return Err(format!(
                "step {xid} {:?}: unexpected reply {h:?} {resp:?}",
                req.op_code()
            ));
        }
    }
    Ok(())
}

async fn well_behaved_clients_work(addr: SocketAddr) -> Result<(), String> {
    codec_client_works(addr)
        .await
        .map_err(|e| format!("codec client: {e}"))?;
    // zookeeper-client spawns its session task through `asyncs`; without the
    // crate's `tokio` feature it panics with "no spawner". Run it as a task so such
    // a setup problem is reported rather than mistaken for a server failure.
    match tokio::spawn(zookeeper_client_works(addr)).await {
        Ok(r) => r.map_err(|e| format!("zookeeper-client: {e}")),
        Err(e) if e.is_panic() => {
            let panic = e.into_panic();
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if msg.contains("no spawner") {
                eprintln!(
                    "fuzz_live_server: skipped zookeeper-client (dev-dependency needs features = [\"tokio\"])"
                );
                Ok(())
            } else {
                Err(format!("zookeeper-client panicked: {msg}"))
            }
        }
        Err(e) => Err(format!("zookeeper-client task: {e}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_survives_random_and_mutated_frames() {
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let total: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    eprintln!("fuzz_live_server: FUZZ_SEED={seed} FUZZ_CASES={total}");
    let mut rng = StdRng::seed_from_u64(seed);
    let super_digest = ferrokeeper::tree::acl_digest::digest_of(SUPER_AUTH, Default::default());
    let mut server = TestServer::start(
        2000,
        &format!("maxClientCnxns=0\nDigestAuthenticationProvider.superDigest={super_digest}"),
    );
    let started = Instant::now();
    let mut played = 0;
    let mut answered = 0;
    while played < total && started.elapsed() < BUDGET {
        let batch: Vec<Arc<Case>> = (0..BATCH).map(|_| Arc::new(gen_case(&mut rng))).collect();
        answered += play_batch(server.addr, &batch).await;
        played += batch.len();
        tokio::time::sleep(Duration::from_millis(5)).await;
        if !server.alive() {
            let log = log_tail(&server);
            let culprit = find_culprit(&batch).await;
            panic!(
                "server died during batch ending at case {played} (FUZZ_SEED={seed}).\n{culprit}\n\noriginal server log tail:\n{log}"
            );
        }
    }
    eprintln!(
        "fuzz_live_server: played {played} cases in {:?}; {answered} connections got an answer",
        started.elapsed()
    );
    // Handshake cases are ~half of all: a server that answers nothing is not being tested.
    assert!(
        answered >= played / 5,
        "only {answered} of {played} connections were answered"
    );
    assert!(
        played >= total.min(1000),
        "only {played} cases fit in the time budget"
    );
    let result = tokio::time::timeout(
        Duration::from_secs(8),
        well_behaved_clients_work(server.addr),
    )
    .await;
    assert!(
        server.alive(),
        "server died after fuzzing:\n{}",
        log_tail(&server)
    );
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!(
            "well-behaved client failed after fuzzing: {e}\n{}",
            log_tail(&server)
        ),
        Err(_) => panic!(
            "well-behaved client timed out after fuzzing\n{}",
            log_tail(&server)
        ),
    }
}
