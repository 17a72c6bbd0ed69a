//! Smoke test of the load generator (`ferrokeeper::bench`): a ferrokeeper
//! process on a free loopback port, about a second of load with every op kind,
//! and a small watch fan-out; each must complete requests with no errors.
//! Not a performance test: nothing here asserts a rate or a latency.

mod common;

use std::time::Duration;

use common::TestServer;

use ferrokeeper::bench::fanout::{self, FanoutConfig};
use ferrokeeper::bench::load::{self, LoadConfig};

fn config(server: &TestServer, mix: &str) -> LoadConfig {
    LoadConfig {
        server: server.addr.to_string(),
        label: "ferrokeeper".into(),
        sessions: 4,
        inflight: 4,
        mix: mix.parse().unwrap(),
        value_size: 100,
        keys: 100,
        duration: Duration::from_millis(800),
        warmup: Duration::from_millis(200),
        seed: 7,
        session_timeout_ms: 10_000,
        progress: false,
    }
}

fn run_load(mix: &str) {
    let server = TestServer::start(2000, "maxClientCnxns=0");
    let cfg = config(&server, mix);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(load::run(&cfg)).expect("load run");
    println!("{}", report.table());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(report.total.ops > 0, "no request completed");
    assert_eq!(report.total.errors, 0, "{:?}", report.error_codes);
    for kind in cfg.mix.entries().iter().map(|(k, _)| k.name()) {
        assert!(
            report.per_op.get(kind).is_some_and(|f| f.ops > 0),
            "no {kind} completed"
        );
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["mode"], "load");
    assert!(json["total"]["latency_us"]["p99"].as_f64().unwrap() > 0.0);
}

#[test]
fn load_with_reads_writes_multi_and_ephemerals() {
    run_load("get=40,set=20,exists=10,children=10,multi=10,create-eseq=10");
}

#[test]
fn load_with_sequential_creates_and_deletes() {
    run_load("create=1,delete=1");
}

#[test]
fn watch_fanout_notifies_every_watcher() {
    let server = TestServer::start(2000, "maxClientCnxns=0");
    let cfg = FanoutConfig {
        server: server.addr.to_string(),
        label: "ferrokeeper".into(),
        watchers: 20,
        repeats: 3,
        value_size: 100,
        session_timeout_ms: 10_000,
        progress: false,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt.block_on(fanout::run(&cfg)).expect("fan-out run");
    println!("{}", report.table());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.reps.len(), 3);
    assert!(report.reps.iter().all(|r| r.notified == 20));
}
