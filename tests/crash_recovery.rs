//! Crash recovery of a live server: `kill -9` under a write load, restart on the
//! same data directory, and check what survived.
//!
//! - [`acknowledged_writes_survive_kill_9`]: 16 sessions pipeline sequential
//!   creates, setData and multi (create + setData) while the server is killed at
//!   a random moment (seeded: the seed is printed, `CRASH_SEED=<n>` replays it),
//!   several rounds. After each restart: every acknowledged write is there with
//!   the Stat it was acknowledged with; per session the applied writes are a
//!   prefix of the sent ones (nothing acknowledged lost, nothing unacknowledged
//!   half-applied: a node exists with its full data or not at all, a multi is
//!   all or nothing); sequence numbers never repeat and new ones come after
//!   all earlier ones; zxids keep growing.
//! - [`sessions_resume_after_restart`]: a session resumes (same id and
//!   password) after kill -9 / SIGTERM and its ephemeral is still there; a
//!   session nobody resumes expires after its timeout and takes its ephemeral.
//!
//! `FERROKEEPER_TEST_TARGET=zookeeper` runs the same against Apache ZooKeeper.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{connect_request, RawClient, TestServer};
use ferrokeeper::proto::data::{Acl, Stat};
use ferrokeeper::proto::jute::Record;
use ferrokeeper::proto::multi::{MultiOp, MultiRequest, MultiResponse, OpResult};
use ferrokeeper::proto::request::Request;
use ferrokeeper::proto::requests::*;
use ferrokeeper::proto::responses::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const THREADS: usize = 16;
const ROUNDS: usize = 5;
/// Requests each session keeps in flight.
const IN_FLIGHT: usize = 4;
/// Upper bound of ops per session per round (keeps the tree small).
const MAX_OPS: u64 = 600;
const SEQ_PARENT: &str = "/crash/seq";
const PERSISTENT_SEQUENTIAL: i32 = 2;
const EPHEMERAL: i32 = 1;

fn seed() -> u64 {
    std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

fn t_path(t: usize) -> String {
    format!("/crash/t{t}")
}

/// The payload of op `n` of session `t`: a header naming the op, then filler
/// whose length and bytes depend on both (so a torn or mixed-up value shows).
fn payload(t: usize, n: u64, len: usize) -> Vec<u8> {
    let mut d = format!("t{t}:n{n}:").into_bytes();
    d.extend((0..len).map(|k| (k as u64 * 31 + n * 7 + t as u64) as u8));
    d
}

/// `(t, n)` from a payload header.
fn parse_header(data: &[u8]) -> Option<(usize, u64)> {
    let mut parts = data.splitn(3, |&b| b == b':');
    let field = |p: Option<&[u8]>, tag: char| -> Option<u64> {
        std::str::from_utf8(p?)
            .ok()?
            .strip_prefix(tag)?
            .parse()
            .ok()
    };
    let t = field(parts.next(), 't')?;
    let n = field(parts.next(), 'n')?;
    Some((t as usize, n))
}

fn seq_of(name: &str) -> i64 {
    name[name.len() - 10..].parse().expect("10-digit suffix")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Create,
    Set,
    /// create `m<t>-` + setData of the session's node, atomically.
    Multi,
}

#[derive(Debug, Clone)]
enum Outcome {
    /// Acknowledged: the create's path and czxid and/or the set's Stat.
    Acked {
        path: Option<String>,
        czxid: i64,
        set_stat: Option<Stat>,
    },
    /// An error reply: must not be applied.
    Failed(i32),
    /// Sent (or about to be), no reply before the crash.
    Unknown,
}

#[derive(Debug, Clone)]
struct Op {
    kind: Kind,
    n: u64,
    data: Vec<u8>,
    outcome: Outcome,
}

fn create_req(path: String, data: &[u8]) -> CreateRequest {
    CreateRequest {
        path,
        data: Some(data.to_vec()),
        acl: Acl::open_unsafe(),
        flags: PERSISTENT_SEQUENTIAL,
    }
}

fn request_for(t: usize, op: &Op) -> Request {
    let set = || SetDataRequest {
        path: t_path(t),
        data: Some(op.data.clone()),
        version: -1,
    };
    match op.kind {
        Kind::Create => Request::Create2(create_req(format!("{SEQ_PARENT}/t{t}-"), &op.data)),
        Kind::Set => Request::SetData(set()),
        Kind::Multi => Request::Multi(MultiRequest {
            ops: vec![
                MultiOp::Create2(create_req(format!("{SEQ_PARENT}/m{t}-"), &op.data)),
                MultiOp::SetData(set()),
            ],
        }),
    }
}

fn outcome_of(kind: Kind, err: i32, body: &[u8]) -> Outcome {
    if err != 0 {
        return Outcome::Failed(err);
    }
    match kind {
        Kind::Create => {
            let (_, r) = Create2Response::decode(body).expect("Create2Response");
            Outcome::Acked {
                path: Some(r.path),
                czxid: r.stat.czxid,
                set_stat: None,
            }
        }
        Kind::Set => {
            let (_, r) = SetDataResponse::decode(body).expect("SetDataResponse");
            Outcome::Acked {
                path: None,
                czxid: 0,
                set_stat: Some(r.stat),
            }
        }
        Kind::Multi => {
            let (_, r) = MultiResponse::decode(body).expect("MultiResponse");
            match r.results.as_slice() {
                // ZooKeeper answers a create2 inside a multi with a plain
                // CreateResult (path only); a multi is one txn, so the
                // create's czxid is the setData's mzxid.
                [OpResult::Create { path, stat, .. }, OpResult::SetData { stat: set }] => {
                    Outcome::Acked {
                        path: Some(path.clone()),
                        czxid: stat.map_or(set.mzxid, |s| s.czxid),
                        set_stat: Some(*set),
                    }
                }
                [OpResult::Error { err }, ..] | [_, OpResult::Error { err }] => {
                    Outcome::Failed(*err)
                }
                other => panic!("unexpected multi results {other:?}"),
            }
        }
    }
}

/// One session's load until `stop` or the connection breaks. Returns every op
/// it sent (or was about to send), in order.
fn load(addr: SocketAddr, t: usize, first_n: u64, seed: u64, stop: Arc<AtomicBool>) -> Vec<Op> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ops: Vec<Op> = Vec::new();
    let Some(mut c) = RawClient::try_connect(addr, connect_request(0, vec![0; 16], 10_000, 0))
    else {
        return ops;
    };
    if c.session.time_out <= 0 {
        return ops;
    }
    let mut pending = std::collections::VecDeque::new();
    let mut n = first_n;
    loop {
        while pending.len() < IN_FLIGHT && !stop.load(Ordering::Relaxed) && n < first_n + MAX_OPS {
            let kind = match rng.gen_range(0..10) {
                0..=4 => Kind::Create,
                5..=7 => Kind::Set,
                _ => Kind::Multi,
            };
            let len = rng.gen_range(0..1500);
            let op = Op {
                kind,
                n,
                data: payload(t, n, len),
                outcome: Outcome::Unknown,
            };
            n += 1;
            let sent = c.try_send(n as i32, &request_for(t, &op));
            ops.push(op);
            if !sent {
                return ops;
            }
            pending.push_back(ops.len() - 1);
        }
        let Some(i) = pending.pop_front() else {
            return ops;
        };
        match c.try_recv() {
            Some((h, body)) => {
                assert_eq!(h.xid as u64, ops[i].n + 1, "replies out of order");
                ops[i].outcome = outcome_of(ops[i].kind, h.err, &body);
            }
            None => return ops,
        }
    }
}

/// What the previous checks established as present after a restart.
struct Confirmed {
    /// Children of SEQ_PARENT: name -> (data, czxid).
    children: BTreeMap<String, (Vec<u8>, i64)>,
    /// Per session node: (data, version, mzxid).
    nodes: Vec<(Vec<u8>, i32, i64)>,
    next_n: Vec<u64>,
    max_zxid: i64,
}

fn get_data(c: &mut RawClient, xid: i32, path: &str) -> Option<(Vec<u8>, Stat)> {
    let (h, body) = c.call(
        xid,
        &Request::GetData(GetDataRequest {
            path: path.into(),
            watch: false,
        }),
    );
    if h.err != 0 {
        return None;
    }
    let (_, r) = GetDataResponse::decode(&body).unwrap();
    Some((r.data.unwrap_or_default(), r.stat))
}

/// Checks the restarted server against what was confirmed before and what the
/// sessions of this round recorded; returns the new confirmed state.
fn check_round(addr: SocketAddr, round: usize, prev: &Confirmed, ops: &[Vec<Op>]) -> Confirmed {
    let mut c = RawClient::new_session(addr, 10_000);
    let mut xid = 0;
    let mut next_xid = || {
        xid += 1;
        xid
    };
    let (h, body) = c.call(
        next_xid(),
        &Request::GetChildren2(GetChildrenRequest {
            path: SEQ_PARENT.into(),
            watch: false,
        }),
    );
    assert_eq!(h.err, 0, "round {round}: {SEQ_PARENT} is missing");
    let (_, list) = GetChildren2Response::decode(&body).unwrap();
    let mut children = BTreeMap::new();
    for name in &list.children {
        let (data, stat) = get_data(&mut c, next_xid(), &format!("{SEQ_PARENT}/{name}"))
            .unwrap_or_else(|| panic!("round {round}: listed child {name} cannot be read"));
        children.insert(name.clone(), (data, stat.czxid));
    }
    // Sequence numbers are unique and the parent's counter matches (no deletes).
    let seqs: BTreeSet<i64> = children.keys().map(|n| seq_of(n)).collect();
    assert_eq!(
        seqs.len(),
        children.len(),
        "round {round}: a sequence number repeats: {:?}",
        children.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        list.stat.cversion as usize,
        children.len(),
        "round {round}: parent cversion vs children"
    );
    // Nothing confirmed earlier is lost or changed.
    for (name, (data, czxid)) in &prev.children {
        let now = children.get(name);
        assert!(
            now == Some(&(data.clone(), *czxid)),
            "round {round}: {name} (czxid {czxid:#x}) confirmed in an earlier round is {}",
            if now.is_some() { "changed" } else { "gone" }
        );
    }
    // Applied creates of this round by (session, n).
    let mut applied: BTreeMap<(usize, u64), (String, Vec<u8>, i64)> = BTreeMap::new();
    for (name, (data, czxid)) in &children {
        if prev.children.contains_key(name) {
            continue;
        }
        let (t, n) = parse_header(data)
            .unwrap_or_else(|| panic!("round {round}: new child {name} has foreign data"));
        applied.insert((t, n), (name.clone(), data.clone(), *czxid));
    }
    let mut max_zxid = prev.max_zxid;
    let mut nodes = Vec::new();
    let mut acked_total = 0;
    let mut unknown_applied = 0;
    for (t, ops) in ops.iter().enumerate() {
        let (node_data, node_stat) = get_data(&mut c, next_xid(), &t_path(t)).unwrap();
        // The last op that changed the session node, by its data.
        let last_set_n = if node_data == prev.nodes[t].0 {
            None
        } else {
            let (tt, n) = parse_header(&node_data).expect("session node data");
            assert_eq!(
                tt,
                t,
                "round {round}: {} holds another session's data",
                t_path(t)
            );
            Some(n)
        };
        let mut applied_flags = Vec::new();
        let mut sets_applied = 0;
        for op in ops {
            let create = match op.kind {
                Kind::Set => None,
                Kind::Create | Kind::Multi => applied.remove(&(t, op.n)),
            };
            let set_applied = last_set_n.is_some_and(|last| op.n <= last);
            let is_applied = match op.kind {
                Kind::Create => create.is_some(),
                Kind::Set => set_applied,
                Kind::Multi => {
                    assert_eq!(
                        create.is_some(),
                        set_applied,
                        "round {round}: multi t{t} n{} half-applied (create {}, setData {})",
                        op.n,
                        create.is_some(),
                        set_applied
                    );
                    set_applied
                }
            };
            if let Some((name, data, _)) = &create {
                let prefix = if op.kind == Kind::Multi { 'm' } else { 't' };
                assert!(
                    name.starts_with(&format!("{prefix}{t}-")),
                    "round {round}: t{t} n{} created as {name}",
                    op.n
                );
                assert!(
                    data == &op.data,
                    "round {round}: {name} has {} bytes, not the {} written",
                    data.len(),
                    op.data.len()
                );
            }
            if op.kind != Kind::Create && set_applied {
                sets_applied += 1;
                if last_set_n == Some(op.n) {
                    assert!(
                        node_data == op.data,
                        "round {round}: {} torn ({} bytes, {} written)",
                        t_path(t),
                        node_data.len(),
                        op.data.len()
                    );
                }
            }
            match &op.outcome {
                Outcome::Acked {
                    path,
                    czxid,
                    set_stat,
                } => {
                    acked_total += 1;
                    assert!(
                        is_applied,
                        "round {round}: acknowledged {:?} t{t} n{} ({path:?}) lost in the crash",
                        op.kind, op.n
                    );
                    if let Some(p) = path {
                        let (name, _, cz) = create.as_ref().unwrap();
                        assert_eq!(&format!("{SEQ_PARENT}/{name}"), p, "round {round}");
                        assert_eq!(cz, czxid, "round {round}: czxid of {p}");
                        max_zxid = max_zxid.max(*czxid);
                    }
                    if let Some(s) = set_stat {
                        max_zxid = max_zxid.max(s.mzxid);
                        if last_set_n == Some(op.n) {
                            assert_eq!(
                                (node_stat.version, node_stat.mzxid),
                                (s.version, s.mzxid),
                                "round {round}: {} Stat differs from the acknowledged one",
                                t_path(t)
                            );
                        }
                    }
                }
                Outcome::Failed(err) => {
                    assert!(
                        !is_applied,
                        "round {round}: t{t} n{} failed with {err} but is applied",
                        op.n
                    );
                }
                Outcome::Unknown => {
                    if is_applied {
                        unknown_applied += 1;
                    }
                }
            }
            applied_flags.push(is_applied);
        }
        // Per session the applied ops are a prefix of the sent ones.
        let k = applied_flags.iter().take_while(|a| **a).count();
        assert!(
            applied_flags[k..].iter().all(|a| !a),
            "round {round}: t{t}: applied ops are not a prefix of the sent ones: {applied_flags:?}"
        );
        assert_eq!(
            node_stat.version,
            prev.nodes[t].1 + sets_applied,
            "round {round}: {} version vs setData applied",
            t_path(t)
        );
        max_zxid = max_zxid.max(node_stat.mzxid);
        nodes.push((node_data, node_stat.version, node_stat.mzxid));
    }
    assert!(
        applied.is_empty(),
        "round {round}: nodes nobody wrote: {:?}",
        applied.values().map(|v| &v.0).collect::<Vec<_>>()
    );
    for (_, czxid) in children.values() {
        max_zxid = max_zxid.max(*czxid);
    }
    // A new sequential node comes after every earlier one; its zxid too.
    let probe_data = format!("t{THREADS}:n{round}:probe").into_bytes();
    let (h, body) = c.call(
        next_xid(),
        &Request::Create2(create_req(format!("{SEQ_PARENT}/probe-"), &probe_data)),
    );
    assert_eq!(h.err, 0, "round {round}: create after restart");
    let (_, probe) = Create2Response::decode(&body).unwrap();
    let probe_name = probe.path.rsplit('/').next().unwrap().to_string();
    let max_seq = seqs.iter().copied().max().unwrap_or(-1);
    assert!(
        seq_of(&probe_name) > max_seq,
        "round {round}: sequence number {} after restart repeats (highest before: {max_seq})",
        seq_of(&probe_name)
    );
    assert!(
        probe.stat.czxid > max_zxid,
        "round {round}: zxid {:#x} after restart is not above {max_zxid:#x}",
        probe.stat.czxid
    );
    children.insert(probe_name, (probe_data, probe.stat.czxid));
    c.call(next_xid(), &Request::CloseSession);
    eprintln!(
        "round {round}: {} ops sent, {acked_total} acknowledged, {unknown_applied} unacknowledged applied, {} children",
        ops.iter().map(Vec::len).sum::<usize>(),
        children.len()
    );
    let next_n = ops
        .iter()
        .zip(&prev.next_n)
        .map(|(o, prev)| o.last().map_or(*prev, |op| op.n + 1))
        .collect();
    Confirmed {
        children,
        nodes,
        next_n,
        max_zxid: probe.stat.czxid,
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let seed = seed();
    eprintln!("crash_recovery seed = {seed} (replay with CRASH_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut server = TestServer::start_with(500, "");
    let mut c = RawClient::new_session(server.addr, 10_000);
    let mut nodes = Vec::new();
    for (i, p) in ["/crash", SEQ_PARENT].into_iter().enumerate() {
        let (h, _) = c.call(
            i as i32 + 1,
            &Request::Create(CreateRequest {
                path: p.into(),
                data: None,
                acl: Acl::open_unsafe(),
                flags: 0,
            }),
        );
        assert_eq!(h.err, 0);
    }
    for t in 0..THREADS {
        let (h, body) = c.call(
            10 + t as i32,
            &Request::Create2(CreateRequest {
                path: t_path(t),
                data: Some(b"init".to_vec()),
                acl: Acl::open_unsafe(),
                flags: 0,
            }),
        );
        assert_eq!(h.err, 0);
        let (_, r) = Create2Response::decode(&body).unwrap();
        nodes.push((b"init".to_vec(), 0, r.stat.mzxid));
    }
    c.call(100, &Request::CloseSession);
    let mut confirmed = Confirmed {
        children: BTreeMap::new(),
        max_zxid: nodes.iter().map(|n| n.2).max().unwrap(),
        nodes,
        next_n: vec![0; THREADS],
    };
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (addr, stop) = (server.addr, stop.clone());
                let (first, s) = (confirmed.next_n[t], rng.gen());
                std::thread::spawn(move || load(addr, t, first, s, stop))
            })
            .collect();
        let kill_after = Duration::from_millis(rng.gen_range(100..1200));
        std::thread::sleep(kill_after);
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        let ops: Vec<Vec<Op>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        eprintln!("round {round}: killed after {kill_after:?}");
        server.restart();
        confirmed = check_round(server.addr, round, &confirmed, &ops);
    }
    eprintln!("{ROUNDS} rounds in {:?}", started.elapsed());
}

// -- sessions across a restart ------------------------------------------------

fn exists(c: &mut RawClient, xid: i32, path: &str) -> Option<Stat> {
    let (h, body) = c.call(
        xid,
        &Request::Exists(ExistsRequest {
            path: path.into(),
            watch: false,
        }),
    );
    (h.err == 0).then(|| ExistsResponse::decode(&body).unwrap().1.stat)
}

fn create(c: &mut RawClient, xid: i32, path: &str, flags: i32) -> i64 {
    let (h, body) = c.call(
        xid,
        &Request::Create2(CreateRequest {
            path: path.into(),
            data: Some(b"x".to_vec()),
            acl: Acl::open_unsafe(),
            flags,
        }),
    );
    assert_eq!(h.err, 0, "create {path}");
    Create2Response::decode(&body).unwrap().1.stat.czxid
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    Kill9,
    Term,
}

fn session_resume_case(how: Stop) {
    const LONG: i32 = 30_000;
    const SHORT: i32 = 2_000;
    let mut server = TestServer::start_with(200, "maxSessionTimeout=60000");
    let mut a = RawClient::new_session(server.addr, LONG);
    let mut b = RawClient::new_session(server.addr, SHORT);
    let (a_id, a_pw) = (a.session.session_id, a.session.passwd.clone());
    let (b_id, b_pw) = (b.session.session_id, b.session.passwd.clone());
    assert_eq!(a.session.time_out, LONG);
    assert_eq!(b.session.time_out, SHORT);
    create(&mut a, 1, "/eph-a", EPHEMERAL);
    create(&mut b, 1, "/eph-b", EPHEMERAL);
    let last_zxid = create(&mut a, 2, "/persistent", 0);

    match how {
        Stop::Kill9 => server.kill9(),
        Stop::Term => server.terminate(),
    }
    drop((a, b));
    let t0 = Instant::now();
    server.restart();
    eprintln!("{how:?}: restart took {:?}", t0.elapsed());

    // The same session, by id and password.
    let mut a = RawClient::try_connect(
        server.addr,
        connect_request(a_id, a_pw.clone(), LONG, last_zxid),
    )
    .expect("handshake after restart");
    assert_eq!(
        (a.session.session_id, a.session.time_out > 0),
        (a_id, true),
        "{how:?}: session {a_id:#x} was not resumed: {:?}",
        a.session
    );
    assert_eq!(a.session.passwd, a_pw);
    let st = exists(&mut a, 1, "/eph-a")
        .unwrap_or_else(|| panic!("{how:?}: ephemeral of the resumed session is gone"));
    assert_eq!(st.ephemeral_owner, a_id);
    assert!(exists(&mut a, 2, "/persistent").is_some());

    // Nobody resumes B: its ephemeral goes after its timeout (counted from the restart).
    let deadline = t0 + Duration::from_millis(SHORT as u64) + Duration::from_secs(8);
    let mut xid = 10;
    loop {
        xid += 1;
        match exists(&mut a, xid, "/eph-b") {
            None => break,
            Some(st) => assert_eq!(st.ephemeral_owner, b_id),
        }
        assert!(
            Instant::now() < deadline,
            "{how:?}: /eph-b of the unresumed session {b_id:#x} is still there {:?} after the restart",
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "{how:?}: unresumed session's ephemeral gone {:?} after the restart",
        t0.elapsed()
    );
    let refused = RawClient::try_connect(server.addr, connect_request(b_id, b_pw, SHORT, 0));
    assert!(
        refused.as_ref().is_none_or(|c| c.session.time_out == 0),
        "{how:?}: the expired session was resumed: {:?}",
        refused.map(|c| c.session)
    );
    // A new session does not reuse an old id.
    let fresh = RawClient::new_session(server.addr, LONG);
    assert!(![a_id, b_id].contains(&fresh.session.session_id));
    // A is still alive and owns its ephemeral until it closes.
    assert!(exists(&mut a, 100, "/eph-a").is_some());
    assert_eq!(a.call(101, &Request::CloseSession).0.err, 0);
    let mut fresh = fresh;
    assert!(exists(&mut fresh, 1, "/eph-a").is_none());
}

#[test]
fn sessions_resume_after_restart() {
    let started = Instant::now();
    session_resume_case(Stop::Kill9);
    session_resume_case(Stop::Term);
    eprintln!("sessions_resume_after_restart: {:?}", started.elapsed());
}
