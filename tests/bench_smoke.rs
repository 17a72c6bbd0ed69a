//! Smoke test of the load generator (`ferrokeeper::bench`): a ferrokeeper
//! process on a free loopback port, about a second of load with every op kind,
//! and a small watch fan-out; each must complete requests with no errors.
//! Not a performance test: nothing here asserts a rate or a latency.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrokeeper::bench::fanout::{self, FanoutConfig};
use ferrokeeper::bench::load::{self, LoadConfig};

/// A ferrokeeper process, killed on drop.
struct Server {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    child: Child,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ferrokeeper"))
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "ferrokeeper did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            addr,
            _dir: dir,
            child,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(server: &Server, mix: &str) -> LoadConfig {
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
    let server = Server::start();
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
    let server = Server::start();
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
