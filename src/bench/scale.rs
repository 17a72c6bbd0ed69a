//! Scale runs for `bench/scale.sh` (issue 3, part 3), against any server:
//!
//! - [`populate`]: create N persistent znodes of a given size under a few
//!   parents (`<root>/pNNN/nNNNNNNNN`), pipelined over several sessions; node
//!   i goes under parent `i % parents`, so the last node is
//!   [`node_path`]`(root, parents, n - 1)`.
//! - [`probe`]: connect again and again until a session is served and a
//!   getData of one path succeeds; reports the time since a wall-clock
//!   instant (the server's launch), i.e. start-up / recovery time.
//! - [`idle_sessions`]: open N sessions, keep them alive with pings, print a
//!   `READY` line once all are connected, and hold them for a while (for
//!   memory per session).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::admin::{close_quietly, pipelined};
use super::client::{ClientError, Incoming, Session};
use super::workload::{create_request, value_bytes};
use crate::proto::error_code::ErrorCode;
use crate::proto::request::Request;
use crate::proto::requests::GetDataRequest;

/// The path of node `i` in a populated tree.
pub fn node_path(root: &str, parents: usize, i: u64) -> String {
    format!("{root}/p{:03}/n{i:08}", i % parents.max(1) as u64)
}

/// What [`populate`] does.
#[derive(Debug, Clone)]
pub struct PopulateConfig {
    pub server: String,
    pub root: String,
    pub nodes: u64,
    pub parents: usize,
    pub sessions: usize,
    pub inflight: usize,
    pub value_size: usize,
    pub session_timeout_ms: i32,
    pub progress: bool,
}

/// Result of [`populate`].
#[derive(Debug, Serialize)]
pub struct PopulateReport {
    pub nodes: u64,
    pub parents: usize,
    pub value_size: usize,
    pub seconds: f64,
    pub creates_per_sec: f64,
    pub last_path: String,
}

/// Creates the root, the parents and `nodes` children of `value_size` bytes.
/// An existing node (NodeExists) counts as created, so a run can resume.
pub async fn populate(cfg: &PopulateConfig) -> Result<PopulateReport, ClientError> {
    let parents = cfg.parents.max(1);
    let sessions = cfg.sessions.max(1) as u64;
    let mut admin = Session::connect(&cfg.server, cfg.session_timeout_ms).await?;
    let dirs = std::iter::once(cfg.root.clone())
        .chain((0..parents).map(|p| format!("{}/p{p:03}", cfg.root)))
        .map(|d| create_request(d, Vec::new(), 0));
    pipelined(&mut admin, dirs, 64, &[ErrorCode::NodeExists]).await?;
    close_quietly(admin).await;

    let value = value_bytes(cfg.value_size, 1);
    let start = Instant::now();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for s in 0..sessions {
        let cfg = cfg.clone();
        let value = value.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut sess = Session::connect(&cfg.server, cfg.session_timeout_ms).await?;
            // Session s creates nodes s, s + sessions, s + 2 * sessions, ...
            let mut next = s;
            loop {
                let mut sent = false;
                while sess.in_flight() < cfg.inflight.max(1) && next < cfg.nodes {
                    let path = node_path(&cfg.root, parents, next);
                    sess.send(&create_request(path, value.clone(), 0), 0)
                        .await?;
                    next += sessions;
                    sent = true;
                }
                if sent {
                    sess.flush().await?;
                }
                if sess.in_flight() == 0 {
                    break;
                }
                if let Incoming::Reply(r) = sess.recv().await? {
                    if r.err != 0 && r.err != ErrorCode::NodeExists as i32 {
                        return Err(ClientError::Server {
                            op: r.op,
                            err: r.err,
                        });
                    }
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
            close_quietly(sess).await;
            Ok::<(), ClientError>(())
        }));
    }
    let progress = cfg.progress.then(|| {
        let done = done.clone();
        let total = cfg.nodes;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let d = done.load(std::sync::atomic::Ordering::Relaxed);
                let secs = start.elapsed().as_secs_f64();
                eprintln!(
                    "populate: {d}/{total} after {secs:.0} s ({:.0}/s)",
                    d as f64 / secs
                );
            }
        })
    });
    let mut result = Ok(());
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(e) => result = Err(ClientError::Protocol(format!("task: {e}"))),
        }
    }
    if let Some(p) = progress {
        p.abort();
    }
    result?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(PopulateReport {
        nodes: cfg.nodes,
        parents,
        value_size: cfg.value_size,
        seconds,
        creates_per_sec: cfg.nodes as f64 / seconds.max(1e-9),
        last_path: node_path(&cfg.root, parents, cfg.nodes.saturating_sub(1)),
    })
}

/// Result of [`probe`].
#[derive(Debug, Serialize)]
pub struct ProbeReport {
    pub path: String,
    /// From `since` until getData succeeded.
    pub ready_ms: f64,
    /// From `since` until the first session was served (connect answered).
    pub first_session_ms: f64,
    pub attempts: u64,
    pub data_length: usize,
}

fn ms_since(since: SystemTime) -> f64 {
    SystemTime::now()
        .duration_since(since)
        .unwrap_or_default()
        .as_secs_f64()
        * 1e3
}

/// Starts a new attempt every `interval` (older ones stay pending, up to 64 at
/// once, each given 10 s) until one is served a session and getData(`path`)
/// succeeds, or `deadline` passes. Overlapping attempts matter: a server may
/// accept a connection long before it answers it (ZooKeeper opens its port
/// before loading its database), and a single attempt with a timeout would
/// add up to that timeout to the figure.
pub async fn probe(
    server: &str,
    path: &str,
    since: SystemTime,
    interval: Duration,
    deadline: Duration,
) -> Result<ProbeReport, ClientError> {
    use futures::stream::{FuturesUnordered, StreamExt};
    let give_up = tokio::time::Instant::now() + deadline;
    let mut attempts = 0u64;
    let mut first_session_ms: Option<f64> = None;
    let mut pending = FuturesUnordered::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let attempt = |server: String, path: String| async move {
        let work = async {
            let mut s = Session::connect(&server, 30_000).await?;
            let at = ms_since(since);
            let r = s
                .call(&Request::GetData(GetDataRequest { path, watch: false }))
                .await;
            let done = ms_since(since);
            close_quietly(s).await;
            Ok::<_, ClientError>((at, done, r?))
        };
        match tokio::time::timeout(Duration::from_secs(10), work).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout("probe attempt")),
        }
    };
    loop {
        tokio::select! {
            _ = tick.tick(), if pending.len() < 64 => {
                attempts += 1;
                pending.push(attempt(server.to_string(), path.to_string()));
            }
            Some(r) = pending.next() => {
                if let Ok((at, done, reply)) = r {
                    let first = *first_session_ms.get_or_insert(at);
                    if reply.err == 0 {
                        return Ok(ProbeReport {
                            path: path.to_string(),
                            ready_ms: done,
                            first_session_ms: first.min(at),
                            attempts,
                            data_length: reply.body.len(),
                        });
                    }
                }
            }
            _ = tokio::time::sleep_until(give_up) => {
                return Err(ClientError::Timeout("probe: server never served the path"));
            }
        }
    }
}

/// Parses a wall-clock instant given as nanoseconds since the epoch.
pub fn epoch_ns(ns: u128) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns as u64)
}

/// Result of [`idle_sessions`].
#[derive(Debug, Serialize)]
pub struct IdleReport {
    pub sessions: usize,
    pub connect_seconds: f64,
    pub held_seconds: f64,
    /// Sessions that failed while held.
    pub lost: usize,
}

/// Opens `n` sessions (`concurrency` connects at a time), prints `READY <n>`
/// on stdout, and keeps them alive with pings for `hold`, then closes them.
pub async fn idle_sessions(
    server: &str,
    n: usize,
    concurrency: usize,
    timeout_ms: i32,
    hold: Duration,
    progress: bool,
) -> Result<IdleReport, ClientError> {
    use futures::{StreamExt, TryStreamExt};
    let start = Instant::now();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let sessions: Vec<Session> = futures::stream::iter(0..n)
        .map(|_| async {
            let s = Session::connect(server, timeout_ms).await;
            let c = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if progress && c.is_multiple_of(1000) {
                eprintln!("idle-sessions: {c}/{n} connected");
            }
            s
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let connect_seconds = start.elapsed().as_secs_f64();
    println!("READY {n}");
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let held = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for mut s in sessions {
        tasks.push(tokio::spawn(async move {
            let every = (s.timeout / 3).max(Duration::from_millis(100));
            let end = tokio::time::Instant::now() + hold;
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if tokio::time::Instant::now() >= end { break; }
                        s.ping().await?;
                    }
                    _ = tokio::time::sleep_until(end) => break,
                    r = s.recv() => { r?; }
                }
            }
            close_quietly(s).await;
            Ok::<(), ClientError>(())
        }));
    }
    let mut lost = 0;
    for t in tasks {
        if !matches!(t.await, Ok(Ok(()))) {
            lost += 1;
        }
    }
    Ok(IdleReport {
        sessions: n,
        connect_seconds,
        held_seconds: held.elapsed().as_secs_f64(),
        lost,
    })
}
