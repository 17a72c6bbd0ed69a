//! `ferrokeeper-bench`: a ZooKeeper-protocol load generator for any server.
//!
//! `--mode load` (default) drives `--sessions` sessions with `--inflight`
//! pipelined requests each, ops drawn from `--mix`, and reports throughput and
//! latency percentiles; `--mode watch-fanout` times how long one change takes
//! to notify `--watchers` watching sessions; `--mode populate` creates
//! `--nodes` znodes under `--parents` parents of `--root`; `--mode probe`
//! retries until a getData of `--path` succeeds and reports the time since
//! `--since-ns` (the server's launch); `--mode idle-sessions` holds
//! `--sessions` idle sessions for `--duration`, printing `READY n` once all
//! are connected; `--mode floor` measures what the machine allows with no
//! server at all (loopback round trip, write + fdatasync in `--dir`). Tables
//! go to stdout, progress to stderr, JSON to `--json FILE`. Exit status: 0 ok, 1 a session failed, 3 the
//! server answered some requests with errors.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use ferrokeeper::bench::fanout::{self, FanoutConfig};
use ferrokeeper::bench::floor::{self, FloorConfig};
use ferrokeeper::bench::load::{self, LoadConfig};
use ferrokeeper::bench::scale::{self, PopulateConfig};
use ferrokeeper::bench::workload::Mix;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Throughput and latency of an op mix.
    Load,
    /// Time until every watcher of one node is notified of a change.
    WatchFanout,
    /// Create `--nodes` znodes of `--value-size` bytes (scale runs).
    Populate,
    /// Time until a session is served and getData(`--path`) succeeds.
    Probe,
    /// Hold `--sessions` idle sessions (with pings) for `--duration`.
    IdleSessions,
    /// Latency floors of this machine, no server: loopback round trip and
    /// write + fdatasync in `--dir` (`--samples` of each).
    Floor,
}

/// Load generator for ZooKeeper-compatible servers.
#[derive(Debug, Parser)]
#[command(name = "ferrokeeper-bench", version)]
struct Args {
    /// Server address (host:port).
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: String,
    #[arg(long, value_enum, default_value_t = Mode::Load)]
    mode: Mode,
    /// Client sessions (load mode).
    #[arg(long, default_value_t = 16)]
    sessions: usize,
    /// Pipelined requests in flight per session (load mode).
    #[arg(long, default_value_t = 8)]
    inflight: usize,
    /// Op mix by weight: get, set, create, create-eseq, exists, children, multi, delete.
    #[arg(long, default_value = "get=90,set=10")]
    mix: Mix,
    /// Bytes of data per node written.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// Number of key nodes that get/set/exists/children/multi pick from.
    #[arg(long, default_value_t = 1000)]
    keys: u64,
    /// Measured seconds (after warm-up).
    #[arg(long, default_value = "10", value_parser = parse_secs)]
    duration: Duration,
    /// Warm-up seconds (load runs, not measured).
    #[arg(long, default_value = "2", value_parser = parse_secs)]
    warmup: Duration,
    /// Seed of the op and key choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Name of the server in reports.
    #[arg(long, default_value = "")]
    label: String,
    /// Watcher sessions (watch-fanout mode).
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    /// Repetitions (watch-fanout mode).
    #[arg(long, default_value_t = 10)]
    repeats: usize,
    /// Session timeout asked for, milliseconds.
    #[arg(long, default_value_t = 30_000)]
    session_timeout_ms: i32,
    /// Client runtime threads (keep low: the client shares the machine).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Znodes to create (populate mode).
    #[arg(long, default_value_t = 1_000_000)]
    nodes: u64,
    /// Parent nodes the znodes are spread over (populate mode).
    #[arg(long, default_value_t = 10)]
    parents: usize,
    /// Root of the populated tree (populate mode).
    #[arg(long, default_value = "/fkscale")]
    root: String,
    /// Path whose getData the probe waits for (probe mode).
    #[arg(long, default_value = "/")]
    path: String,
    /// Wall-clock start (ns since the epoch) the probe measures from; now if 0.
    #[arg(long, default_value_t = 0)]
    since_ns: u128,
    /// Give up after this many seconds (probe mode).
    #[arg(long, default_value = "600", value_parser = parse_secs)]
    deadline: Duration,
    /// Concurrent connects (idle-sessions mode).
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Directory whose file system the floor mode probes with fdatasync.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Samples of each kind (floor mode).
    #[arg(long, default_value_t = 50_000)]
    samples: usize,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim_end_matches('s')
        .parse()
        .map_err(|e| format!("{s:?}: {e}"))?;
    if !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("{s:?}: out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ferrokeeper-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()?
    };
    let (table, json, failed, errors) = match args.mode {
        Mode::Load => {
            let cfg = LoadConfig {
                server: args.server.clone(),
                label: args.label.clone(),
                sessions: args.sessions.max(1),
                inflight: args.inflight.max(1),
                mix: args.mix.clone(),
                value_size: args.value_size,
                keys: args.keys.max(1),
                duration: args.duration,
                warmup: args.warmup,
                seed: args.seed,
                session_timeout_ms: args.session_timeout_ms,
                progress: !args.quiet,
            };
            let report = rt
                .block_on(load::run(&cfg))
                .with_context(|| format!("load run against {}", args.server))?;
            (
                report.table(),
                serde_json::to_string_pretty(&report)?,
                !report.failures.is_empty(),
                report.total.errors,
            )
        }
        Mode::WatchFanout => {
            let cfg = FanoutConfig {
                server: args.server.clone(),
                label: args.label.clone(),
                watchers: args.watchers.max(1),
                repeats: args.repeats.max(1),
                value_size: args.value_size,
                session_timeout_ms: args.session_timeout_ms,
                progress: !args.quiet,
            };
            let report = rt
                .block_on(fanout::run(&cfg))
                .with_context(|| format!("watch fan-out against {}", args.server))?;
            (
                report.table(),
                serde_json::to_string_pretty(&report)?,
                !report.failures.is_empty(),
                0,
            )
        }
        Mode::Populate => {
            let cfg = PopulateConfig {
                server: args.server.clone(),
                root: args.root.clone(),
                nodes: args.nodes,
                parents: args.parents,
                sessions: args.sessions,
                inflight: args.inflight,
                value_size: args.value_size,
                session_timeout_ms: args.session_timeout_ms,
                progress: !args.quiet,
            };
            let report = rt
                .block_on(scale::populate(&cfg))
                .with_context(|| format!("populate {}", args.server))?;
            (
                format!(
                    "populated {} nodes of {} B under {} parents in {:.1} s ({:.0} creates/s); last {}\n",
                    report.nodes,
                    report.value_size,
                    report.parents,
                    report.seconds,
                    report.creates_per_sec,
                    report.last_path
                ),
                serde_json::to_string_pretty(&report)?,
                false,
                0,
            )
        }
        Mode::Probe => {
            let since = if args.since_ns == 0 {
                std::time::SystemTime::now()
            } else {
                scale::epoch_ns(args.since_ns)
            };
            let report = rt
                .block_on(scale::probe(
                    &args.server,
                    &args.path,
                    since,
                    Duration::from_millis(20),
                    args.deadline,
                ))
                .with_context(|| format!("probe {}", args.server))?;
            (
                format!(
                    "getData {} served {:.0} ms after start (first session {:.0} ms, {} attempts)\n",
                    report.path, report.ready_ms, report.first_session_ms, report.attempts
                ),
                serde_json::to_string_pretty(&report)?,
                false,
                0,
            )
        }
        Mode::IdleSessions => {
            let report = rt
                .block_on(scale::idle_sessions(
                    &args.server,
                    args.sessions,
                    args.connect_concurrency,
                    args.session_timeout_ms,
                    args.duration,
                    !args.quiet,
                ))
                .with_context(|| format!("idle sessions against {}", args.server))?;
            (
                format!(
                    "{} idle sessions connected in {:.1} s, held {:.1} s, {} lost\n",
                    report.sessions, report.connect_seconds, report.held_seconds, report.lost
                ),
                serde_json::to_string_pretty(&report)?,
                report.lost > 0,
                0,
            )
        }
        Mode::Floor => {
            let report = floor::run(&FloorConfig {
                dir: args.dir.clone(),
                samples: args.samples,
                // About one setData txn log entry: header, path, data, digest.
                write_bytes: args.value_size + 100,
            })?;
            (
                report.table(),
                serde_json::to_string_pretty(&report)?,
                false,
                0,
            )
        }
    };
    print!("{table}");
    if let Some(path) = &args.json {
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else if errors > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
