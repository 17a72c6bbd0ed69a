//! Crash recovery of a live server: `kill -9` under a write load, restart on the
//! same data directory, and check what survived.
//!
//! - [`acknowledged_writes_survive_kill_9`]: 16 sessions pipeline sequential
//!   creates, setData, multi (create + setData) and deletes of their own
//!   newest sequential nodes while the server is killed at a random moment
//!   (seeded: the seed is printed, `CRASH_SEED=<n>` replays it), several rounds.
//!   After each restart, per session the applied writes must be a prefix of
//!   the sent ones that includes every acknowledged one (found by replaying
//!   the session's ops on a model until it matches what the server shows):
//!   nothing acknowledged is lost, nothing unacknowledged is half-applied (a
//!   node has its full data or does not exist, a multi is all or nothing),
//!   acknowledged creates keep their name and czxid and sets their Stat.
//!   Sequence numbers never repeat, even of deleted nodes: the next one is the
//!   number of creates so far (ZooKeeper's counter), and the parent's
//!   cversion is creates + deletes; new zxids are above all earlier ones.
//! - [`acknowledged_writes_survive_kill_9_during_snapshots`]: the same with a
//!   small snapCount (fuzzy snapshots during the load, replay over them), gzip
//!   snapshots and a separate dataLogDir.
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
/// Requests each session keeps in flight.
const IN_FLIGHT: usize = 4;
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
    /// A sequential `t<t>-` child of SEQ_PARENT.
    Create,
    /// setData of the session's node `/crash/t<t>`.
    Set,
    /// create `m<t>-` + setData of the session's node, atomically.
    Multi,
    /// delete of the session's newest acknowledged sequential node.
    Delete,
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
    /// For a delete: the `n` and name of the node it deletes.
    target: Option<(u64, String)>,
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
        Kind::Delete => Request::Delete(DeleteRequest {
            path: format!("{SEQ_PARENT}/{}", op.target.as_ref().unwrap().1),
            version: -1,
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
        Kind::Delete => Outcome::Acked {
            path: None,
            czxid: 0,
            set_stat: None,
        },
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

/// How a crash test runs.
#[derive(Debug, Clone, Copy)]
struct Load {
    rounds: usize,
    /// Upper bound of ops per session per round (keeps the tree small).
    max_ops: u64,
    /// Upper bound of a payload's filler.
    max_payload: usize,
}

/// One session's load until `stop` or the connection breaks. `own` are the
/// session's sequential nodes known to exist, `(n, name)` ascending. Returns
/// every op it sent (or was about to send), in order.
fn load(
    addr: SocketAddr,
    t: usize,
    first_n: u64,
    mut own: Vec<(u64, String)>,
    seed: u64,
    stop: Arc<AtomicBool>,
    cfg: Load,
) -> Vec<Op> {
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
        while pending.len() < IN_FLIGHT
            && !stop.load(Ordering::Relaxed)
            && n < first_n + cfg.max_ops
        {
            let mut kind = match rng.gen_range(0..10) {
                0..=3 => Kind::Create,
                4..=6 => Kind::Set,
                7..=8 => Kind::Multi,
                _ => Kind::Delete,
            };
            let target = if kind == Kind::Delete {
                own.pop()
            } else {
                None
            };
            if kind == Kind::Delete && target.is_none() {
                kind = Kind::Create;
            }
            let len = rng.gen_range(0..cfg.max_payload);
            let op = Op {
                kind,
                n,
                data: payload(t, n, len),
                target,
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
                let op = &mut ops[i];
                assert_eq!(h.xid as u64, op.n + 1, "replies out of order");
                op.outcome = outcome_of(op.kind, h.err, &body);
                if let Outcome::Acked { path: Some(p), .. } = &op.outcome {
                    own.push((op.n, p.rsplit('/').next().unwrap().to_string()));
                }
            }
            None => return ops,
        }
    }
}

/// What the previous checks established after a restart.
#[derive(Clone)]
struct Confirmed {
    /// Children of SEQ_PARENT: name -> (data, czxid).
    children: BTreeMap<String, (Vec<u8>, i64)>,
    /// Per session node: (data, version, mzxid).
    nodes: Vec<(Vec<u8>, i32, i64)>,
    next_n: Vec<u64>,
    max_zxid: i64,
    /// Creates and deletes under SEQ_PARENT so far.
    creates: i64,
    deletes: i64,
    /// Highest sequence number ever seen (deleted nodes too).
    max_seq: i64,
}

impl Confirmed {
    /// Session `t`'s sequential nodes: n -> name.
    fn own(&self, t: usize) -> BTreeMap<u64, String> {
        self.children
            .iter()
            .filter_map(|(name, (data, _))| match parse_header(data) {
                Some((tt, n)) if tt == t => Some((n, name.clone())),
                _ => None,
            })
            .collect()
    }
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

/// A session's state as a model: its sequential nodes by `n`, the `n` of the
/// last value of its node (None: unchanged), how many sets, creates, deletes.
#[derive(Debug, PartialEq, Eq)]
struct Model {
    own: BTreeSet<u64>,
    node_n: Option<u64>,
    sets: i32,
    creates: i64,
    deletes: i64,
}

/// The model after applying `ops` (failed ones change nothing) to `own`.
fn simulate(own: &BTreeSet<u64>, ops: &[Op]) -> Model {
    let mut m = Model {
        own: own.clone(),
        node_n: None,
        sets: 0,
        creates: 0,
        deletes: 0,
    };
    for op in ops {
        if matches!(op.outcome, Outcome::Failed(_)) {
            continue;
        }
        match op.kind {
            Kind::Create => {
                m.own.insert(op.n);
                m.creates += 1;
            }
            Kind::Set => {
                m.node_n = Some(op.n);
                m.sets += 1;
            }
            Kind::Multi => {
                m.own.insert(op.n);
                m.creates += 1;
                m.node_n = Some(op.n);
                m.sets += 1;
            }
            Kind::Delete => {
                m.own.remove(&op.target.as_ref().unwrap().0);
                m.deletes += 1;
            }
        }
    }
    m
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
    // (t, n) -> name, for every child
    let mut by_op: BTreeMap<(usize, u64), String> = BTreeMap::new();
    for name in &list.children {
        let (data, stat) = get_data(&mut c, next_xid(), &format!("{SEQ_PARENT}/{name}"))
            .unwrap_or_else(|| panic!("round {round}: listed child {name} cannot be read"));
        let key = parse_header(&data)
            .unwrap_or_else(|| panic!("round {round}: child {name} has foreign data"));
        assert!(
            by_op.insert(key, name.clone()).is_none(),
            "round {round}: two children hold the data of t{} n{}",
            key.0,
            key.1
        );
        children.insert(name.clone(), (data, stat.czxid));
    }
    let seqs: BTreeSet<i64> = children.keys().map(|n| seq_of(n)).collect();
    assert_eq!(
        seqs.len(),
        children.len(),
        "round {round}: a sequence number repeats: {:?}",
        children.keys().collect::<Vec<_>>()
    );
    // Confirmed nodes are unchanged while they exist (deletes are checked below).
    for (name, (data, czxid)) in &prev.children {
        if let Some(now) = children.get(name) {
            assert!(
                now == &(data.clone(), *czxid),
                "round {round}: {name} (czxid {czxid:#x}) confirmed earlier has changed"
            );
        }
    }
    let mut max_zxid = prev.max_zxid;
    let mut nodes = Vec::new();
    let (mut creates, mut deletes) = (prev.creates, prev.deletes);
    let mut acked_total = 0;
    let mut unknown_applied = 0;
    for (t, ops) in ops.iter().enumerate() {
        let (node_data, node_stat) = get_data(&mut c, next_xid(), &t_path(t)).unwrap();
        let prev_own = prev.own(t);
        let observed = Model {
            own: by_op
                .keys()
                .filter(|(tt, _)| *tt == t)
                .map(|(_, n)| *n)
                .collect(),
            node_n: if node_data == prev.nodes[t].0 {
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
            },
            sets: node_stat.version - prev.nodes[t].1,
            creates: 0,
            deletes: 0,
        };
        // No write of this load can fail while the server is up.
        for op in ops {
            if let Outcome::Failed(err) = op.outcome {
                panic!(
                    "round {round}: t{t} {:?} n{} (target {:?}) failed with error {err}",
                    op.kind, op.n, op.target
                );
            }
        }
        // Every op with a reply is applied: the prefix is at least that long.
        let lo = ops
            .iter()
            .rposition(|o| !matches!(o.outcome, Outcome::Unknown))
            .map_or(0, |i| i + 1);
        let start: BTreeSet<u64> = prev_own.keys().copied().collect();
        let k = (lo..=ops.len())
            .find(|&k| {
                let m = simulate(&start, &ops[..k]);
                (&m.own, m.node_n, m.sets) == (&observed.own, observed.node_n, observed.sets)
            })
            .unwrap_or_else(|| {
                let with_acked = simulate(&start, &ops[..lo]);
                let with_all = simulate(&start, ops);
                let missing: Vec<_> = with_acked.own.difference(&observed.own).collect();
                let extra: Vec<_> = observed.own.difference(&with_all.own).collect();
                panic!(
                    "round {round}: t{t}: what the server shows is no prefix of the session's \
                     writes that includes the {lo} answered ones.\n\
                     sequential nodes missing (acknowledged): {missing:?}; unexpected: {extra:?}\n\
                     node: last n {:?} version +{} (acknowledged prefix: n {:?} +{}; all sent: n {:?} +{})\n\
                     ops: {:?}",
                    observed.node_n,
                    observed.sets,
                    with_acked.node_n,
                    with_acked.sets,
                    with_all.node_n,
                    with_all.sets,
                    ops.iter()
                        .map(|o| (o.kind, o.n, matches!(o.outcome, Outcome::Acked { .. })))
                        .collect::<Vec<_>>()
                )
            });
        let m = simulate(&start, &ops[..k]);
        creates += m.creates;
        deletes += m.deletes;
        unknown_applied += k - lo;
        for op in &ops[..k] {
            if let Some(name) = by_op.get(&(t, op.n)) {
                let prefix = if op.kind == Kind::Multi { 'm' } else { 't' };
                assert!(
                    name.starts_with(&format!("{prefix}{t}-")),
                    "round {round}: t{t} n{} created as {name}",
                    op.n
                );
                let data = &children[name].0;
                assert!(
                    data == &op.data,
                    "round {round}: {name} has {} bytes, not the {} written",
                    data.len(),
                    op.data.len()
                );
            }
            if m.node_n == Some(op.n) {
                assert!(
                    node_data == op.data,
                    "round {round}: {} torn ({} bytes, {} written)",
                    t_path(t),
                    node_data.len(),
                    op.data.len()
                );
            }
            if let Outcome::Acked {
                path,
                czxid,
                set_stat,
            } = &op.outcome
            {
                acked_total += 1;
                if let Some(p) = path {
                    max_zxid = max_zxid.max(*czxid);
                    // Still there unless a later delete of this session took it.
                    if let Some(name) = by_op.get(&(t, op.n)) {
                        assert_eq!(&format!("{SEQ_PARENT}/{name}"), p, "round {round}");
                        assert_eq!(children[name].1, *czxid, "round {round}: czxid of {p}");
                    }
                }
                if let Some(s) = set_stat {
                    max_zxid = max_zxid.max(s.mzxid);
                    if m.node_n == Some(op.n) {
                        assert_eq!(
                            (node_stat.version, node_stat.mzxid),
                            (s.version, s.mzxid),
                            "round {round}: {} Stat differs from the acknowledged one",
                            t_path(t)
                        );
                    }
                }
            }
        }
        max_zxid = max_zxid.max(node_stat.mzxid);
        nodes.push((node_data, node_stat.version, node_stat.mzxid));
    }
    let foreign: Vec<_> = by_op
        .iter()
        .filter(|((t, _), name)| *t >= THREADS && !prev.children.contains_key(*name))
        .collect();
    assert!(
        foreign.is_empty(),
        "round {round}: nodes nobody wrote: {foreign:?}"
    );
    for (_, czxid) in children.values() {
        max_zxid = max_zxid.max(*czxid);
    }
    let max_seq = prev.max_seq.max(seqs.iter().copied().max().unwrap_or(-1));
    // The parent's counters (ZooKeeper: the stored cversion counts creates and
    // names the next sequential node; clients see creates + deletes).
    assert_eq!(
        (list.stat.cversion as i64, list.stat.num_children as usize),
        (creates + deletes, children.len()),
        "round {round}: {SEQ_PARENT} cversion/numChildren vs {creates} creates, {deletes} deletes"
    );
    // A new sequential node comes after every earlier one (deleted ones
    // too); its zxid too.
    let probe_data = format!("t{THREADS}:n{round}:probe").into_bytes();
    let (h, body) = c.call(
        next_xid(),
        &Request::Create2(create_req(format!("{SEQ_PARENT}/probe-"), &probe_data)),
    );
    assert_eq!(h.err, 0, "round {round}: create after restart");
    let (_, probe) = Create2Response::decode(&body).unwrap();
    let probe_name = probe.path.rsplit('/').next().unwrap().to_string();
    assert!(
        seq_of(&probe_name) > max_seq,
        "round {round}: sequence number {} after restart repeats (highest ever: {max_seq})",
        seq_of(&probe_name)
    );
    assert_eq!(
        seq_of(&probe_name),
        creates,
        "round {round}: the next sequence number is not the count of creates"
    );
    assert!(
        probe.stat.czxid > max_zxid,
        "round {round}: zxid {:#x} after restart is not above {max_zxid:#x}",
        probe.stat.czxid
    );
    children.insert(probe_name.clone(), (probe_data, probe.stat.czxid));
    c.call(next_xid(), &Request::CloseSession);
    eprintln!(
        "round {round}: {} ops sent, {acked_total} acknowledged, {unknown_applied} unacknowledged applied, \
         {} children, {creates} creates, {deletes} deletes",
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
        creates: creates + 1,
        deletes,
        max_seq: seq_of(&probe_name),
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let cfg = Load {
        rounds: 5,
        max_ops: 600,
        max_payload: 1500,
    };
    crash_rounds(cfg, "");
}

/// The same with the log rolled and a fuzzy snapshot taken every 50-100 txns
/// (so kills land during snapshots and recovery replays txns a snapshot
/// already holds), gzip snapshots, and the log in its own dataLogDir.
#[test]
fn acknowledged_writes_survive_kill_9_during_snapshots() {
    let cfg = Load {
        rounds: 4,
        max_ops: 250,
        max_payload: 300,
    };
    let log_dir = tempfile::tempdir().unwrap();
    crash_rounds(
        cfg,
        &format!(
            "snapCount=100\nsnapshot.compression.method=gz\ndataLogDir={}",
            log_dir.path().display()
        ),
    );
    let logs = std::fs::read_dir(log_dir.path().join("version-2"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        logs > 4,
        "expected several log files in dataLogDir, found {logs}"
    );
}

/// With forceSync=no the log is written by its own thread instead of the
/// event loop, and nothing is fsynced; a process killed with -9 still leaves
/// its writes in the page cache, so no acknowledged write may be lost either.
/// The log rolls every 50-100 txns, so the thread rolls it too.
#[test]
fn acknowledged_writes_survive_kill_9_without_force_sync() {
    let cfg = Load {
        rounds: 3,
        max_ops: 400,
        max_payload: 800,
    };
    let server = crash_rounds(cfg, "forceSync=no\nsnapCount=100");
    let logs = std::fs::read_dir(server.log_version_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("log.")
        })
        .count();
    assert!(
        logs > 2,
        "expected the writer thread to roll the log, found {logs} log files"
    );
}

/// Runs the rounds; returns the server (up) for a look at its files.
fn crash_rounds(cfg: Load, extra: &str) -> TestServer {
    let seed = seed();
    eprintln!("crash_recovery seed = {seed} (replay with CRASH_SEED={seed}); {cfg:?} {extra:?}");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut server = TestServer::start_with(500, extra);
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
        creates: 0,
        deletes: 0,
        max_seq: -1,
    };
    for round in 0..cfg.rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (addr, stop) = (server.addr, stop.clone());
                let own = confirmed.own(t).into_iter().collect();
                let (first, s) = (confirmed.next_n[t], rng.gen());
                std::thread::spawn(move || load(addr, t, first, own, s, stop, cfg))
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
    eprintln!("{} rounds in {:?}", cfg.rounds, started.elapsed());
    let snaps = std::fs::read_dir(server.snap_version_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot."))
        .count();
    eprintln!(
        "{snaps} snapshots in {}",
        server.snap_version_dir().display()
    );
    server
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
    let mut c = RawClient::new_session(server.addr, LONG);
    let (c_id, c_pw) = (c.session.session_id, c.session.passwd.clone());
    let (a_id, a_pw) = (a.session.session_id, a.session.passwd.clone());
    let (b_id, b_pw) = (b.session.session_id, b.session.passwd.clone());
    assert_eq!(a.session.time_out, LONG);
    assert_eq!(b.session.time_out, SHORT);
    create(&mut a, 1, "/eph-a", EPHEMERAL);
    create(&mut b, 1, "/eph-b", EPHEMERAL);
    // C closes before the crash: it must stay closed.
    create(&mut c, 1, "/eph-c", EPHEMERAL);
    assert_eq!(c.call(2, &Request::CloseSession).0.err, 0);
    let last_zxid = create(&mut a, 2, "/persistent", 0);

    match how {
        Stop::Kill9 => server.kill9(),
        Stop::Term => server.terminate(),
    }
    drop((a, b, c));
    let t0 = Instant::now();
    server.restart();
    eprintln!("{how:?}: restart took {:?}", t0.elapsed());

    // A wrong password does not open it.
    let mut wrong = a_pw.clone();
    wrong[0] ^= 0xff;
    let refused = RawClient::try_connect(server.addr, connect_request(a_id, wrong, LONG, 0));
    assert!(
        refused.as_ref().is_none_or(|c| c.session.time_out == 0),
        "{how:?}: session resumed with a wrong password: {:?}",
        refused.map(|c| c.session)
    );
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
    assert!(
        exists(&mut a, 3, "/eph-c").is_none(),
        "{how:?}: the ephemeral of a session closed before the crash is back"
    );
    let refused = RawClient::try_connect(server.addr, connect_request(c_id, c_pw.clone(), LONG, 0));
    assert!(
        refused.as_ref().is_none_or(|c| c.session.time_out == 0),
        "{how:?}: the session closed before the crash was resumed: {:?}",
        refused.map(|c| c.session)
    );

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
    let refused =
        RawClient::try_connect(server.addr, connect_request(b_id, b_pw.clone(), SHORT, 0));
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
    drop(fresh);

    // The expiry and the closes were logged: another crash brings none of
    // the sessions or their ephemerals back.
    server.kill9();
    server.restart();
    let mut d = RawClient::new_session(server.addr, LONG);
    for (i, p) in ["/eph-a", "/eph-b", "/eph-c"].into_iter().enumerate() {
        assert!(
            exists(&mut d, i as i32 + 1, p).is_none(),
            "{how:?}: {p} is back after a second restart"
        );
    }
    assert!(exists(&mut d, 10, "/persistent").is_some());
    for (id, pw) in [(a_id, a_pw), (b_id, b_pw), (c_id, c_pw)] {
        let r = RawClient::try_connect(server.addr, connect_request(id, pw, LONG, 0));
        assert!(
            r.as_ref().is_none_or(|c| c.session.time_out == 0),
            "{how:?}: ended session {id:#x} resumed after a second restart"
        );
    }
}

#[test]
fn sessions_resume_after_restart() {
    let started = Instant::now();
    session_resume_case(Stop::Kill9);
    session_resume_case(Stop::Term);
    eprintln!("sessions_resume_after_restart: {:?}", started.elapsed());
}
