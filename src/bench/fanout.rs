//! Watch fan-out: N watcher sessions each set a data watch (getData with
//! watch=true) on one node; once all are armed, a setter session changes the
//! node, and we time from sending that setData until each watcher has decoded
//! its NodeDataChanged notification. Repeated R times (watches are one-shot,
//! so each repetition re-arms them).

use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

use super::admin::{close_quietly, connect_many, delete_tree, pipelined, unique_root};
use super::client::{ClientError, Incoming, Session};
use super::report::{FanoutRep, FanoutReport, Summary};
use super::stats::{new_histogram, record, Latency};
use super::workload::{create_request, value_bytes};
use crate::proto::request::Request;
use crate::proto::requests::{GetDataRequest, SetDataRequest};
use crate::proto::watches::event_type;

/// How long to wait for all watchers to arm, or all to be notified.
const PHASE_TIMEOUT: Duration = Duration::from_secs(60);

/// What a fan-out run does.
#[derive(Debug, Clone)]
pub struct FanoutConfig {
    pub server: String,
    pub label: String,
    pub watchers: usize,
    pub repeats: usize,
    pub value_size: usize,
    pub session_timeout_ms: i32,
    pub progress: bool,
}

#[derive(Debug, Clone, Copy)]
enum Cmd {
    Arm,
    Stop,
}

/// Runs the fan-out repetitions and returns the report.
pub async fn run(cfg: &FanoutConfig) -> Result<FanoutReport, ClientError> {
    let root = unique_root();
    let node = format!("{root}/w");
    let mut setter = Session::connect(&cfg.server, cfg.session_timeout_ms).await?;
    let value = value_bytes(cfg.value_size, 1);
    pipelined(
        &mut setter,
        [
            create_request(root.clone(), Vec::new(), 0),
            create_request(node.clone(), value.clone(), 0),
        ],
        1,
        &[],
    )
    .await?;

    let t = Instant::now();
    let sessions = connect_many(&cfg.server, cfg.watchers, cfg.session_timeout_ms).await?;
    if cfg.progress {
        eprintln!(
            "fan-out: {} watcher sessions connected in {:.2}s",
            cfg.watchers,
            t.elapsed().as_secs_f64()
        );
    }
    let (cmd_tx, _) = broadcast::channel::<Cmd>(4);
    let (armed_tx, mut armed_rx) = mpsc::channel::<Result<(), String>>(cfg.watchers.max(1));
    let (note_tx, mut note_rx) = mpsc::channel::<Instant>(cfg.watchers.max(1));
    let mut tasks = Vec::new();
    for s in sessions {
        tasks.push(tokio::spawn(watcher(
            s,
            node.clone(),
            cmd_tx.subscribe(),
            armed_tx.clone(),
            note_tx.clone(),
        )));
    }
    drop((armed_tx, note_tx));

    let mut reps = Vec::new();
    let mut failures = Vec::new();
    let mut each = new_histogram();
    for rep in 0..cfg.repeats {
        let _ = cmd_tx.send(Cmd::Arm);
        let armed = tokio::time::timeout(PHASE_TIMEOUT, async {
            for _ in 0..cfg.watchers {
                match armed_rx.recv().await {
                    Some(Ok(())) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Err("watchers gone".to_string()),
                }
            }
            Ok(())
        })
        .await;
        match armed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failures.push(format!("arming: {e}"));
                break;
            }
            Err(_) => {
                failures.push("arming timed out".into());
                break;
            }
        }
        let data = value_bytes(cfg.value_size, rep as u64 + 2);
        let t0 = Instant::now();
        let reply = setter
            .call_ok(&Request::SetData(SetDataRequest {
                path: node.clone(),
                data: Some(data),
                version: -1,
            }))
            .await?;
        let set_reply_ms = ms(t0, Instant::now());
        drop(reply);
        let mut times = Vec::with_capacity(cfg.watchers);
        let collected = tokio::time::timeout(PHASE_TIMEOUT, async {
            while times.len() < cfg.watchers {
                match note_rx.recv().await {
                    Some(at) => times.push(at.saturating_duration_since(t0)),
                    None => break,
                }
            }
        })
        .await;
        if collected.is_err() || times.len() < cfg.watchers {
            failures.push(format!(
                "repetition {rep}: {} of {} watchers notified",
                times.len(),
                cfg.watchers
            ));
        }
        for d in &times {
            record(&mut each, *d);
        }
        let mut msv: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        msv.sort_by(|a, b| a.total_cmp(b));
        let r = FanoutRep {
            set_reply_ms,
            first_ms: msv.first().copied().unwrap_or(f64::NAN),
            median_ms: msv.get(msv.len() / 2).copied().unwrap_or(f64::NAN),
            all_ms: msv.last().copied().unwrap_or(f64::NAN),
            notified: msv.len(),
        };
        if cfg.progress {
            eprintln!(
                "[rep {:>3}] all {} notified in {:.2} ms (median {:.2} ms, setData reply {:.2} ms)",
                rep + 1,
                r.notified,
                r.all_ms,
                r.median_ms,
                r.set_reply_ms
            );
        }
        reps.push(r);
        if !failures.is_empty() {
            break;
        }
    }
    let _ = cmd_tx.send(Cmd::Stop);
    for t in tasks {
        if let Ok(Some(e)) = t.await {
            failures.push(e);
        }
    }
    if let Err(e) = delete_tree(&mut setter, &root).await {
        failures.push(format!("cleanup of {root}: {e}"));
    }
    close_quietly(setter).await;

    let pick = |f: fn(&FanoutRep) -> f64| -> Vec<f64> { reps.iter().map(f).collect() };
    Ok(FanoutReport {
        mode: "watch-fanout",
        server: cfg.server.clone(),
        label: cfg.label.clone(),
        watchers: cfg.watchers,
        repeats: reps.len(),
        value_size: cfg.value_size,
        all_notified_ms: Summary::of(&pick(|r| r.all_ms)),
        median_notified_ms: Summary::of(&pick(|r| r.median_ms)),
        set_reply_ms: Summary::of(&pick(|r| r.set_reply_ms)),
        per_notification_us: Latency::of(&each),
        reps,
        failures,
    })
}

fn ms(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_secs_f64() * 1e3
}

/// One watcher session: on `Arm`, set a data watch and report; on the
/// notification, report when it was decoded; ping while idle. Returns a failure.
async fn watcher(
    mut s: Session,
    node: String,
    mut cmds: broadcast::Receiver<Cmd>,
    armed: mpsc::Sender<Result<(), String>>,
    notified: mpsc::Sender<Instant>,
) -> Option<String> {
    let mut ping = tokio::time::interval(s.timeout / 3);
    ping.tick().await;
    let arm = Request::GetData(GetDataRequest {
        path: node.clone(),
        watch: true,
    });
    loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Ok(Cmd::Arm) => {
                    let r = s.call_ok(&arm).await.map_err(|e| e.to_string());
                    let failed = r.as_ref().err().cloned();
                    let _ = armed.send(r.map(|_| ())).await;
                    if let Some(e) = failed {
                        return Some(format!("watcher arm: {e}"));
                    }
                }
                Ok(Cmd::Stop) | Err(_) => break,
            },
            inc = s.recv() => match inc {
                Ok(Incoming::Watch(ev, at)) => {
                    if ev.event_type == event_type::NODE_DATA_CHANGED && ev.path == node {
                        let _ = notified.send(at).await;
                    }
                }
                Ok(Incoming::Reply(_)) => {}
                Err(e) => return Some(format!("watcher session: {e}")),
            },
            _ = ping.tick() => {
                if let Err(e) = s.ping().await {
                    return Some(format!("watcher ping: {e}"));
                }
            }
        }
    }
    close_quietly(s).await;
    None
}
