//! The load run: set up the key space under a unique root, drive N sessions
//! with K pipelined requests each for warm-up + duration, measure the ops that
//! complete inside the measured window, print a progress line each second,
//! then close the sessions and remove everything the run created.
//!
//! Closed loop: a session sends a new request only when one of its K is
//! answered, so latency is the server's (plus loopback and the client's own
//! scheduling), with no coordinated-omission correction.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::admin::{close_quietly, connect_many, delete_tree, pipelined, unique_root};
use super::client::{ClientError, Incoming, Session};
use super::report::{LoadParams, LoadReport};
use super::stats::{Progress, RunStats};
use super::workload::{create_request, value_bytes, Layout, Mix, OpGen, OpKind};
use crate::proto::response::Response;

/// Requests in flight while creating the key space.
const SETUP_WINDOW: usize = 256;

/// What a load run does.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub server: String,
    /// Free text identifying the server in reports ("zookeeper", "ferrokeeper").
    pub label: String,
    pub sessions: usize,
    pub inflight: usize,
    pub mix: Mix,
    pub value_size: usize,
    pub keys: u64,
    pub duration: Duration,
    pub warmup: Duration,
    pub seed: u64,
    pub session_timeout_ms: i32,
    /// Print a progress line on stderr each second.
    pub progress: bool,
}

/// What one session brings back.
struct Outcome {
    stats: RunStats,
    failure: Option<String>,
}

/// Runs the workload and returns its report.
pub async fn run(cfg: &LoadConfig) -> Result<LoadReport, ClientError> {
    let layout = Layout::new(unique_root());
    let value = value_bytes(cfg.value_size, cfg.seed);
    let mut admin = Session::connect(&cfg.server, cfg.session_timeout_ms).await?;
    setup(&mut admin, cfg, &layout, &value).await?;
    // The admin session would idle through the run; close it and reconnect later.
    close_quietly(admin).await;

    let sessions = connect_many(&cfg.server, cfg.sessions, cfg.session_timeout_ms).await?;
    let start = Instant::now();
    let warm_end = start + cfg.warmup;
    let end = warm_end + cfg.duration;
    let progress = Arc::new(Progress::default());
    let ticker = cfg
        .progress
        .then(|| tokio::spawn(progress_line(progress.clone(), start, warm_end, end)));

    let mut tasks = Vec::with_capacity(sessions.len());
    for (i, s) in sessions.into_iter().enumerate() {
        let gen = OpGen::new(
            cfg.mix.clone(),
            layout.clone(),
            cfg.keys,
            value.clone(),
            cfg.seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
        );
        let window = Window { warm_end, end };
        tasks.push(tokio::spawn(drive(
            s,
            gen,
            cfg.inflight,
            window,
            progress.clone(),
        )));
    }
    let mut stats = RunStats::default();
    let mut failures = Vec::new();
    for t in tasks {
        match t.await {
            Ok(o) => {
                stats.merge(&o.stats);
                failures.extend(o.failure);
            }
            Err(e) => failures.push(format!("session task: {e}")),
        }
    }
    if let Some(t) = ticker {
        t.abort();
    }
    let measured = end.min(Instant::now()).saturating_duration_since(warm_end);

    let mut admin = Session::connect(&cfg.server, cfg.session_timeout_ms).await?;
    if let Err(e) = delete_tree(&mut admin, &layout.root).await {
        failures.push(format!("cleanup of {}: {e}", layout.root));
    }
    close_quietly(admin).await;

    let params = LoadParams {
        server: cfg.server.clone(),
        label: cfg.label.clone(),
        sessions: cfg.sessions,
        inflight: cfg.inflight,
        mix: cfg.mix.to_string(),
        value_size: cfg.value_size,
        keys: cfg.keys,
        duration_s: cfg.duration.as_secs_f64(),
        warmup_s: cfg.warmup.as_secs_f64(),
        seed: cfg.seed,
    };
    Ok(LoadReport::new(
        params,
        measured.as_secs_f64(),
        &stats,
        failures,
    ))
}

/// Creates the root, its directories and (if the mix reads or writes keys) the keys.
async fn setup(
    admin: &mut Session,
    cfg: &LoadConfig,
    layout: &Layout,
    value: &[u8],
) -> Result<(), ClientError> {
    let dirs = layout
        .dirs()
        .into_iter()
        .map(|p| create_request(p, Vec::new(), 0));
    pipelined(admin, dirs, 1, &[]).await?;
    if cfg.mix.uses_keys() {
        let t = Instant::now();
        let keys = (0..cfg.keys).map(|i| create_request(layout.key(i), value.to_vec(), 0));
        pipelined(admin, keys, SETUP_WINDOW, &[]).await?;
        if cfg.progress {
            eprintln!(
                "setup: {} keys of {} B under {} in {:.2}s",
                cfg.keys,
                cfg.value_size,
                layout.keys_dir(),
                t.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// The measured window: ops completing in `[warm_end, end)` count.
#[derive(Debug, Clone, Copy)]
struct Window {
    warm_end: Instant,
    end: Instant,
}

/// One session's loop: keep `inflight` requests outstanding until the end,
/// then drain and close.
async fn drive(
    mut s: Session,
    mut gen: OpGen,
    inflight: usize,
    window: Window,
    progress: Arc<Progress>,
) -> Outcome {
    let mut stats = RunStats::default();
    let sid = s.session_id;
    // A reply that takes longer than the session timeout means the server is stuck.
    let reply_deadline = s.timeout.max(Duration::from_secs(10));
    let result: Result<(), ClientError> = async {
        loop {
            if Instant::now() < window.end && s.in_flight() < inflight {
                while s.in_flight() < inflight {
                    let (kind, req) = gen.next_op();
                    s.send(&req, kind.tag()).await?;
                }
                s.flush().await?;
            }
            if s.in_flight() == 0 {
                return Ok(());
            }
            let first = tokio::time::timeout(reply_deadline, s.recv())
                .await
                .map_err(|_| ClientError::Timeout("reply"))??;
            let (mut done, mut errors) = (0, 0);
            let mut incoming = Some(first);
            while let Some(inc) = incoming {
                if let Incoming::Reply(r) = inc {
                    let at = Instant::now();
                    let kind = OpKind::from_tag(r.tag);
                    done += 1;
                    if r.err != 0 {
                        errors += 1;
                    }
                    if at >= window.warm_end && at < window.end {
                        stats.record(kind, at - r.sent, r.err);
                    }
                    if kind == OpKind::Create && r.err == 0 {
                        if let Ok(Response::Create(c)) = r.response() {
                            gen.on_created(c.path);
                        }
                    }
                }
                incoming = s.try_recv()?;
            }
            progress.add(done, errors);
        }
    }
    .await;
    let failure = match result {
        Ok(()) => {
            // Closing removes the session's ephemerals (create-eseq) in one txn.
            if let Err(e) = s.close(Duration::from_secs(60)).await {
                Some(format!("session {sid:#x} close: {e}"))
            } else {
                None
            }
        }
        Err(e) => Some(format!("session {sid:#x} failed: {e}")),
    };
    Outcome { stats, failure }
}

/// Prints `[  3s] run  ops/s ... total ... errors ...` each second on stderr.
async fn progress_line(progress: Arc<Progress>, start: Instant, warm_end: Instant, end: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = (0u64, Instant::now());
    loop {
        tick.tick().await;
        let now = Instant::now();
        let (done, errors) = progress.snapshot();
        let rate = (done - last.0) as f64 / (now - last.1).as_secs_f64();
        last = (done, now);
        let phase = if now < warm_end {
            "warmup"
        } else if now < end {
            "run"
        } else {
            "drain"
        };
        eprintln!(
            "[{:>4.0}s] {phase:<6} {rate:>10.0} ops/s  total {done:>10}  errors {errors}",
            (now - start).as_secs_f64()
        );
    }
}
