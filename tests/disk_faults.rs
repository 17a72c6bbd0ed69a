//! A live server on a damaged data directory:
//! - a torn last log entry (the file cut, or zeroed, in the middle of its last
//!   entry, as a crash mid-write leaves it): the server starts, says so in its
//!   log, serves everything before it, and later writes survive another restart;
//! - one flipped byte in an entry before the tail: start-up fails, naming the
//!   file and offset;
//! - a log missing between the newest usable snapshot and the tail: start-up
//!   fails, naming the gap;
//! - a full disk (a 2 MB tmpfs mounted by the test; skipped unless root): the
//!   server stays up, writes fail instead of being acknowledged, reads work,
//!   the log names the problem, and every acknowledged write is durable.
//!
//! Log entries: checksum (8) length (4) payload 0x42, after a 16-byte file
//! header; preallocated zeros follow the last one.
//! `FERROKEEPER_TEST_TARGET=zookeeper` runs them against Apache ZooKeeper; the
//! ferrokeeper-specific checks (log lines, refusing a gap, surviving a full disk)
//! are then reported, not asserted.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{target_is_zookeeper, RawClient, TestServer};
use ferrokeeper::persistence::list_files;
use ferrokeeper::proto::data::Acl;
use ferrokeeper::proto::jute::Record;
use ferrokeeper::proto::request::Request;
use ferrokeeper::proto::requests::*;
use ferrokeeper::proto::responses::*;

/// One entry of a log file: where its frame starts and its payload length.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u64,
    len: u64,
}

impl Entry {
    fn end(&self) -> u64 {
        self.start + 12 + self.len + 1
    }
}

/// The entries of a log file, up to the preallocated zeros (or the end).
fn entries(path: &Path) -> Vec<Entry> {
    let data = std::fs::read(path).unwrap();
    assert_eq!(&data[0..4], b"ZKLG", "{}: not a txn log", path.display());
    let mut out = Vec::new();
    let mut p = 16usize;
    while p + 12 <= data.len() {
        let len = i32::from_be_bytes(data[p + 8..p + 12].try_into().unwrap());
        if len <= 0 {
            break;
        }
        let e = Entry {
            start: p as u64,
            len: len as u64,
        };
        if e.end() as usize > data.len() {
            break;
        }
        assert_eq!(
            data[e.end() as usize - 1],
            0x42,
            "{}: entry at {p}",
            path.display()
        );
        out.push(e);
        p = e.end() as usize;
    }
    out
}

fn logs(server: &TestServer) -> Vec<(i64, PathBuf)> {
    list_files(&server.log_version_dir(), "log").unwrap()
}

/// Complete snapshot files: one being written when the server was killed
/// stays behind as `snapshot.<zxid>.tmp`, which is no snapshot.
fn snapshots(server: &TestServer) -> Vec<(i64, PathBuf)> {
    list_files(&server.snap_version_dir(), "snapshot")
        .unwrap()
        .into_iter()
        .filter(|(_, p)| !file_name(p).ends_with(".tmp"))
        .collect()
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

struct Client {
    c: RawClient,
    xid: i32,
}

impl Client {
    fn new(server: &TestServer) -> Client {
        Client {
            c: RawClient::new_session(server.addr, 10_000),
            xid: 0,
        }
    }

    fn next(&mut self) -> i32 {
        self.xid += 1;
        self.xid
    }

    /// The reply's err, or `None` when the connection is gone.
    fn try_create(&mut self, path: &str, data: &[u8]) -> Option<i32> {
        let xid = self.next();
        let req = Request::Create(CreateRequest {
            path: path.into(),
            data: Some(data.to_vec()),
            acl: Acl::open_unsafe(),
            flags: 0,
        });
        self.c.try_call(xid, &req).map(|(h, _)| h.err)
    }

    fn create(&mut self, path: &str, data: &[u8]) {
        assert_eq!(self.try_create(path, data), Some(0), "create {path}");
    }

    fn get(&mut self, path: &str) -> Option<Vec<u8>> {
        let xid = self.next();
        let (h, body) = self.c.try_call(
            xid,
            &Request::GetData(GetDataRequest {
                path: path.into(),
                watch: false,
            }),
        )?;
        (h.err == 0).then(|| {
            GetDataResponse::decode(&body)
                .unwrap()
                .1
                .data
                .unwrap_or_default()
        })
    }
}

fn value(i: usize) -> Vec<u8> {
    format!("value-{i}-{}", "x".repeat(i % 50)).into_bytes()
}

/// A server with `/d/n0..n<count>` written and acknowledged, then killed.
fn server_with_nodes(count: usize, extra: &str) -> TestServer {
    let mut server = TestServer::start_with(500, extra);
    let mut c = Client::new(&server);
    c.create("/d", b"");
    for i in 0..count {
        c.create(&format!("/d/n{i}"), &value(i));
    }
    server.kill9();
    server
}

fn assert_nodes(server: &TestServer, range: std::ops::Range<usize>, absent: &[usize]) {
    let mut c = Client::new(server);
    for i in range {
        let got = c.get(&format!("/d/n{i}"));
        if absent.contains(&i) {
            assert_eq!(got, None, "/d/n{i} should be gone");
        } else {
            assert_eq!(got, Some(value(i)), "/d/n{i} after restart");
        }
    }
}

// -- (a) torn tail ------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Tear {
    /// The file ends in the middle of the last entry.
    Truncate,
    /// The second half of the last entry is zeros (a preallocated file).
    ZeroFill,
}

fn torn_tail_case(tear: Tear) {
    const N: usize = 30;
    let mut server = server_with_nodes(N, "");
    let (_, log) = logs(&server).pop().expect("a log file");
    let ents = entries(&log);
    let last = *ents.last().unwrap();
    let cut = last.start + 12 + last.len / 2;
    match tear {
        Tear::Truncate => {
            let f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
            f.set_len(cut).unwrap();
        }
        Tear::ZeroFill => {
            let mut data = std::fs::read(&log).unwrap();
            data[cut as usize..last.end() as usize].fill(0);
            std::fs::write(&log, data).unwrap();
        }
    }
    eprintln!(
        "{tear:?}: {} has {} entries; last at offset {} (payload {} bytes), torn at {cut}",
        log.display(),
        ents.len(),
        last.start,
        last.len
    );

    let t0 = Instant::now();
    if let Err(f) = server.try_restart(Duration::from_secs(30)) {
        panic!(
            "{tear:?}: server did not start after a torn tail ({:?}):\n{}",
            f.status, f.log
        );
    }
    eprintln!("{tear:?}: restarted in {:?}", t0.elapsed());
    let run_log = server.run_log();
    let named = run_log
        .lines()
        .find(|l| l.to_lowercase().contains("torn") && l.contains(&file_name(&log)));
    if target_is_zookeeper() {
        eprintln!("{tear:?}: ZooKeeper's log about it: {named:?}");
    } else {
        assert!(
            named.is_some(),
            "{tear:?}: no log line about the torn tail of {}:\n{run_log}",
            log.display()
        );
        eprintln!("{tear:?}: {}", named.unwrap().trim());
    }
    // The last write was the create of /d/n<N-1>: it is gone, the rest is there.
    assert_nodes(&server, 0..N, &[N - 1]);

    // New writes land after the cut and survive another crash.
    let mut c = Client::new(&server);
    for i in N..N + 10 {
        c.create(&format!("/d/n{i}"), &value(i));
    }
    server.kill9();
    server.restart();
    assert_nodes(&server, 0..N + 10, &[N - 1]);
}

#[test]
fn torn_tail_is_cut_off_and_the_rest_served() {
    torn_tail_case(Tear::Truncate);
    if target_is_zookeeper() {
        // ZooKeeper reads a zeroed tail as a checksum error.
        return;
    }
    torn_tail_case(Tear::ZeroFill);
}

/// The newest log file holds only part of its header (a crash right after
/// creating it): the server starts, cuts it, serves everything in the older
/// logs and snapshots, and new writes (which may start a file of the same
/// name) survive another restart.
#[test]
fn torn_log_header_is_cut_off() {
    const N: usize = 120;
    let mut server = server_with_nodes(N, "snapCount=20");
    let all = logs(&server);
    assert!(all.len() >= 3, "snapCount=20 should roll the log");
    let (z, newest) = all.last().unwrap().clone();
    let in_newest = entries(&newest).len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&newest)
        .unwrap();
    f.set_len(10).unwrap();
    drop(f);
    eprintln!(
        "cut {} (first zxid {z:#x}, {in_newest} entries) to 10 bytes",
        file_name(&newest)
    );
    if let Err(f) = server.try_restart(Duration::from_secs(30)) {
        if target_is_zookeeper() {
            // ZooKeeper 3.8 exits with an EOFException reading the header.
            eprintln!("ZooKeeper refuses a torn log header: exit {:?}", f.status);
            return;
        }
        panic!(
            "server did not start after a torn log header ({:?}):\n{}",
            f.status, f.log
        );
    }
    let run_log = server.run_log();
    let named = run_log
        .lines()
        .find(|l| l.contains(&file_name(&newest)) && !l.contains("creating new log file"));
    eprintln!("log: {named:?}");
    if !target_is_zookeeper() {
        assert!(
            named.is_some(),
            "no log line about {}:\n{run_log}",
            newest.display()
        );
    }
    // The txns of the cut file may be gone (a snapshot may still hold some);
    // everything before it is there.
    assert_nodes(&server, 0..N - in_newest, &[]);
    let mut c = Client::new(&server);
    let present: Vec<usize> = (N - in_newest..N)
        .filter(|i| c.get(&format!("/d/n{i}")).is_some())
        .collect();
    eprintln!(
        "of the {in_newest} nodes written to the cut file, {} are served (from a snapshot)",
        present.len()
    );
    for i in N..N + 10 {
        c.create(&format!("/d/n{i}"), &value(i));
    }
    server.kill9();
    server.restart();
    let mut c = Client::new(&server);
    for i in N..N + 10 {
        assert_eq!(
            c.get(&format!("/d/n{i}")),
            Some(value(i)),
            "/d/n{i} written after the cut, lost in the next restart"
        );
    }
    assert_nodes(&server, 0..N - in_newest, &[]);
}

// -- (e) a damaged newest snapshot ---------------------------------------------

#[derive(Debug, Clone, Copy)]
enum SnapDamage {
    /// Cut in half (a crash while writing it).
    Truncate,
    /// One byte flipped in the middle (its checksum no longer matches).
    FlipByte,
}

/// Start-up falls back to the next older valid snapshot and replays the logs
/// from there: nothing is lost.
fn damaged_snapshot_case(damage: SnapDamage) {
    const N: usize = 150;
    let mut server = server_with_nodes(N, "snapCount=20");
    let snaps = snapshots(&server);
    assert!(snaps.len() >= 3, "snapCount=20 should snapshot: {snaps:?}");
    let (_, newest) = snaps.last().unwrap().clone();
    let mut data = std::fs::read(&newest).unwrap();
    let len = data.len();
    match damage {
        SnapDamage::Truncate => data.truncate(len / 2),
        SnapDamage::FlipByte => data[len / 2] ^= 0x10,
    }
    std::fs::write(&newest, data).unwrap();
    eprintln!("{damage:?}: damaged {} ({len} bytes)", file_name(&newest));
    if let Err(f) = server.try_restart(Duration::from_secs(30)) {
        panic!(
            "{damage:?}: server did not start with a damaged newest snapshot ({:?}):\n{}",
            f.status, f.log
        );
    }
    let run_log = server.run_log();
    let named = run_log.lines().find(|l| {
        let lower = l.to_lowercase();
        l.contains(&file_name(&newest))
            && ["invalid", "corrupt", "problem", "skip", "older"]
                .iter()
                .any(|w| lower.contains(w))
    });
    eprintln!("{damage:?}: log: {named:?}");
    if !target_is_zookeeper() {
        assert!(
            named.is_some(),
            "{damage:?}: the log does not name the invalid {}:\n{run_log}",
            file_name(&newest)
        );
    }
    assert_nodes(&server, 0..N, &[]);
}

#[test]
fn damaged_newest_snapshot_falls_back_to_an_older_one() {
    damaged_snapshot_case(SnapDamage::Truncate);
    damaged_snapshot_case(SnapDamage::FlipByte);
}

// -- autopurge ------------------------------------------------------------------

/// `autopurge.snapRetainCount=3` with a purge at start-up
/// (`autopurge.purgeInterval=1`): old snapshots and logs go, but everything
/// recovery needs stays, so a crash right after loses nothing.
#[test]
fn autopurge_keeps_what_recovery_needs() {
    const N: usize = 300;
    let mut server = server_with_nodes(
        N,
        "snapCount=20\nautopurge.snapRetainCount=3\nautopurge.purgeInterval=1",
    );
    let complete = |s: &TestServer| -> Vec<String> {
        snapshots(s).iter().map(|(_, p)| file_name(p)).collect()
    };
    let (logs_before, snaps_before) = (logs(&server).len(), complete(&server).len());
    assert!(
        snaps_before > 5,
        "snapCount=20 should snapshot: {snaps_before}"
    );
    server.restart();
    if target_is_zookeeper() {
        // ZooKeeperServerMain (unlike QuorumPeerMain) starts no purge task.
        eprintln!("ZooKeeperServerMain does not autopurge; skipped");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while complete(&server).len() > 3 {
        assert!(
            Instant::now() < deadline,
            "autopurge left {:?} (retain 3):\n{}",
            complete(&server),
            server.run_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (logs_after, snaps_after) = (logs(&server).len(), complete(&server).len());
    eprintln!(
        "autopurge: {snaps_before} -> {snaps_after} snapshots, {logs_before} -> {logs_after} logs"
    );
    assert!(logs_after < logs_before, "no log purged");
    assert_nodes(&server, 0..N, &[]);
    server.kill9();
    server.restart();
    assert_nodes(&server, 0..N, &[]);
}

// -- (b) a flipped byte before the tail ---------------------------------------

#[test]
fn flipped_byte_mid_log_refuses_to_start() {
    let mut server = server_with_nodes(30, "");
    let (_, log) = logs(&server).pop().expect("a log file");
    let ents = entries(&log);
    assert!(ents.len() > 10, "{} entries", ents.len());
    let victim = ents[ents.len() / 2];
    let at = victim.start + 12 + victim.len / 2;
    let mut data = std::fs::read(&log).unwrap();
    data[at as usize] ^= 0x01;
    std::fs::write(&log, data).unwrap();
    eprintln!(
        "flipped a bit at offset {at} of {} (entry {} of {}, starting at {})",
        log.display(),
        ents.len() / 2,
        ents.len(),
        victim.start
    );

    server.respawn();
    let status = server.wait_exit(Duration::from_secs(30));
    let run_log = server.run_log();
    match status {
        None => {
            let serving = common::serves(server.addr);
            panic!(
                "server still running 30 s after start on a corrupt log (serving: {serving}):\n{run_log}"
            );
        }
        Some(s) => assert!(!s.success(), "exited with success:\n{run_log}"),
    }
    let name = file_name(&log);
    let offsets = [victim.start, at];
    let line = run_log.lines().find(|l| {
        l.contains(&name)
            && offsets
                .iter()
                .any(|o| l.contains(&o.to_string()) || l.contains(&format!("{o:#x}")))
    });
    eprintln!("exit {status:?}; error: {line:?}");
    if !target_is_zookeeper() {
        assert!(
            line.is_some(),
            "no error line naming {name} and offset {} (or {at}):\n{run_log}",
            victim.start
        );
    }
}

// -- (c) a missing log --------------------------------------------------------

#[test]
fn logs_without_a_snapshot_refuse_to_start_unless_trusted() {
    let mut server = server_with_nodes(50, "");
    assert!(!logs(&server).is_empty(), "no log written");
    for (_, s) in snapshots(&server) {
        std::fs::remove_file(s).unwrap();
    }

    server.respawn();
    let status = server.wait_exit(Duration::from_secs(30));
    let run_log = server.run_log();
    match status {
        None => {
            panic!("server still running 30 s after start with logs and no snapshot:\n{run_log}")
        }
        Some(s) => assert!(!s.success(), "exited with success:\n{run_log}"),
    }
    assert!(
        run_log.contains("No snapshot found") || run_log.contains("no snapshot found"),
        "the refusal does not say why:\n{run_log}"
    );

    // ZooKeeper's escape hatch for data dirs of 3.4: replay the logs alone.
    let cfg = server.dir.path().join("zoo.cfg");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("snapshot.trust.empty=true\n");
    std::fs::write(&cfg, text).unwrap();
    server.restart();
    assert!(
        server
            .run_log()
            .contains("This should only be allowed during upgrading"),
        "no warning:\n{}",
        server.run_log()
    );
    assert_nodes(&server, 0..50, &[]);
}

#[test]
fn missing_log_refuses_to_start() {
    let mut server = server_with_nodes(200, "snapCount=20");
    let all_logs = logs(&server);
    eprintln!(
        "logs: {:?}\nsnapshots: {:?}",
        all_logs.iter().map(|l| file_name(&l.1)).collect::<Vec<_>>(),
        snapshots(&server)
            .iter()
            .map(|s| file_name(&s.1))
            .collect::<Vec<_>>()
    );
    assert!(all_logs.len() >= 4, "snapCount=20 should roll the log");
    let m = all_logs.len() / 2;
    let (gap_zxid, gone) = all_logs[m].clone();
    let next = &all_logs[m + 1].1;
    std::fs::remove_file(&gone).unwrap();
    for (z, s) in snapshots(&server) {
        if z >= gap_zxid {
            std::fs::remove_file(s).unwrap();
        }
    }
    let kept = snapshots(&server);
    assert!(!kept.is_empty(), "no snapshot before the gap");
    eprintln!(
        "removed {} and every snapshot from zxid {gap_zxid:#x}; newest left: {}",
        file_name(&gone),
        file_name(&kept.last().unwrap().1)
    );

    server.respawn();
    let status = server.wait_exit(Duration::from_secs(30));
    let run_log = server.run_log();
    if target_is_zookeeper() {
        eprintln!("ZooKeeper on a missing log: exit {status:?}\n{run_log}");
        return;
    }
    match status {
        None => panic!(
            "server still running 30 s after start with {} missing (serving: {}):\n{run_log}",
            file_name(&gone),
            common::serves(server.addr)
        ),
        Some(s) => assert!(!s.success(), "exited with success:\n{run_log}"),
    }
    let line = run_log.lines().find(|l| {
        let lower = l.to_lowercase();
        (lower.contains("missing") || lower.contains("gap"))
            && (l.contains(&file_name(next)) || l.contains(&file_name(&gone)))
    });
    assert!(
        line.is_some(),
        "no error naming the gap at {} (before {}):\n{run_log}",
        file_name(&gone),
        file_name(next)
    );
    eprintln!("exit {status:?}; error: {}", line.unwrap().trim());
}

// -- (d) a full disk ----------------------------------------------------------

/// A tmpfs of `size` mounted on a fresh directory; unmounted on drop (lazily
/// if something still holds it).
struct Tmpfs {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("fs");
        std::fs::create_dir(&dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs {
            dir,
            _parent: parent,
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}

#[test]
fn full_disk_refuses_writes_and_keeps_serving_reads() {
    let tmpfs = match Tmpfs::mount("2m") {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIPPED full_disk test: {why} (needs root / CAP_SYS_ADMIN)");
            return;
        }
    };
    let data_dir = tmpfs.dir.join("data");
    // Declared after the mount, so dropped (killed) before it is unmounted.
    let mut server = TestServer::start_with(500, &format!("dataDir={}", data_dir.display()));
    let mut reader = Client::new(&server);
    reader.create("/full", b"");
    let mut writers: Vec<Client> = (0..8).map(|_| Client::new(&server)).collect();
    let blob = vec![0x5au8; 4000];
    let mut acked = Vec::new();
    let mut failures = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut i = 0;
    while failures.len() < 6 && Instant::now() < deadline && i < 5000 {
        let Some(w) = writers.last_mut() else { break };
        match w.try_create(&format!("/full/n{i}"), &blob) {
            Some(0) => {
                assert!(
                    failures.is_empty(),
                    "write n{i} acknowledged after earlier writes failed ({failures:?})"
                );
                acked.push(i);
            }
            Some(err) => failures.push(format!("n{i}: error {err}")),
            None => {
                failures.push(format!("n{i}: connection closed"));
                writers.pop();
            }
        }
        i += 1;
    }
    eprintln!("{} writes acknowledged, then: {failures:?}", acked.len());
    let run_log = server.run_log();
    if target_is_zookeeper() {
        eprintln!(
            "ZooKeeper on a full disk: alive {}\n{}",
            server.alive(),
            run_log
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
        return;
    }
    assert!(
        !failures.is_empty(),
        "{} writes of 4 KB all acknowledged on a 2 MB disk",
        acked.len()
    );
    assert!(
        !acked.is_empty(),
        "nothing was written before the disk filled"
    );
    assert!(server.alive(), "server died on a full disk:\n{run_log}");
    // Reads keep working on a session opened before.
    assert_eq!(
        reader.get("/full"),
        Some(vec![]),
        "read after the disk filled"
    );
    assert_eq!(
        reader.get(&format!("/full/n{}", acked[0])),
        Some(blob.clone())
    );
    let line = run_log
        .lines()
        .find(|l| l.contains("No space left on device") || l.contains("ENOSPC"));
    assert!(
        line.is_some(),
        "the log does not name the full disk:\n{run_log}"
    );
    eprintln!("logged: {}", line.unwrap().trim());
    // Still refusing a while later, still alive.
    std::thread::sleep(Duration::from_millis(500));
    if let Some(w) = writers.last_mut() {
        assert_ne!(
            w.try_create("/full/later", b"x"),
            Some(0),
            "write accepted later"
        );
    }
    assert!(server.alive());

    // Every acknowledged write is on disk: a server on a copy of the data
    // directory (on a disk with room) serves them all.
    server.kill9();
    let copy = tempfile::tempdir().unwrap();
    let st = Command::new("cp")
        .args(["-a", "--sparse=always"])
        .arg(&data_dir)
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(st.success());
    drop(server);
    drop(tmpfs);
    let copied = copy.path().join("data");
    let server = TestServer::start_with(500, &format!("dataDir={}", copied.display()));
    let mut c = Client::new(&server);
    for i in &acked {
        assert_eq!(
            c.get(&format!("/full/n{i}")).as_deref(),
            Some(&blob[..]),
            "acknowledged /full/n{i} lost"
        );
    }
    eprintln!(
        "all {} acknowledged writes present after restart on a copy",
        acked.len()
    );
}

/// Only the snapshot disk is full (dataDir on a 1 MB tmpfs, the log in its own
/// dataLogDir with room): the log still holds every write, so writes go on and
/// are acknowledged, failed snapshots leave no partial file behind, the log
/// names the problem, and a restart (on a copy with room) has everything.
#[test]
fn full_snapshot_disk_keeps_accepting_logged_writes() {
    let tmpfs = match Tmpfs::mount("1m") {
        Ok(t) => t,
        Err(why) => {
            eprintln!("SKIPPED full snapshot disk test: {why} (needs root / CAP_SYS_ADMIN)");
            return;
        }
    };
    let log_dir = tempfile::tempdir().unwrap();
    let data_dir = tmpfs.dir.join("data");
    let mut server = TestServer::start_with(
        500,
        &format!(
            "dataDir={}\ndataLogDir={}\nsnapCount=20",
            data_dir.display(),
            log_dir.path().display()
        ),
    );
    let mut c = Client::new(&server);
    c.create("/snapfull", b"");
    let blob = vec![0x33u8; 2000];
    let mut refused = Vec::new();
    for i in 0..1500 {
        match c.try_create(&format!("/snapfull/n{i}"), &blob) {
            Some(0) => {}
            other => {
                refused.push((i, other));
                break;
            }
        }
    }
    let run_log = server.run_log();
    if target_is_zookeeper() {
        eprintln!(
            "ZooKeeper with a full snapshot disk: alive {}, refused {refused:?}",
            server.alive()
        );
        return;
    }
    assert!(
        server.alive(),
        "server died when snapshots failed:\n{run_log}"
    );
    assert!(
        refused.is_empty(),
        "writes refused although the log disk has room: {refused:?}\n{run_log}"
    );
    let line = run_log
        .lines()
        .find(|l| l.to_lowercase().contains("snapshot") && l.contains("No space left"));
    assert!(
        line.is_some(),
        "no log line about the failed snapshot:\n{run_log}"
    );
    eprintln!("logged: {}", line.unwrap().trim());
    // A snapshot may still be in progress: give it time to finish or fail.
    let partial = || -> Vec<String> {
        std::fs::read_dir(data_dir.join("version-2"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !partial().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        partial().is_empty(),
        "partial snapshots left: {:?}\n{}",
        partial(),
        server.run_log()
    );
    server.kill9();
    let copy = tempfile::tempdir().unwrap();
    let st = Command::new("cp")
        .args(["-a", "--sparse=always"])
        .arg(&data_dir)
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(st.success());
    drop(server);
    drop(tmpfs);
    let server = TestServer::start_with(
        500,
        &format!(
            "dataDir={}\ndataLogDir={}",
            copy.path().join("data").display(),
            log_dir.path().display()
        ),
    );
    let mut c = Client::new(&server);
    for i in 0..1500 {
        assert_eq!(
            c.get(&format!("/snapfull/n{i}")).as_deref(),
            Some(&blob[..]),
            "/snapfull/n{i} lost"
        );
    }
}

// -- unfinished snapshot and log file ---------------------------------------------

/// A crash during a snapshot leaves `snapshot.<zxid>.tmp`, one while a log
/// file is created `unfinished.log.<zxid>`; start-up removes both with a log
/// line and recovers from the complete files.
#[test]
fn unfinished_snapshot_and_log_files_are_removed_at_start_up() {
    if target_is_zookeeper() {
        eprintln!("ZooKeeper keeps .tmp snapshots; skipped");
        return;
    }
    let mut server = TestServer::start_with(2000, "");
    let mut c = RawClient::new_session(server.addr, 10000);
    let create = Request::Create(CreateRequest {
        path: "/kept".into(),
        data: Some(b"v".to_vec()),
        acl: Acl::open_unsafe(),
        flags: 0,
    });
    assert_eq!(c.call(1, &create).0.err, 0);
    server.kill9();
    let tmp = server.snap_version_dir().join("snapshot.fff.tmp");
    std::fs::write(&tmp, b"half a snapshot").unwrap();
    // A log file whose creation a crash interrupted, before its header.
    let log = server.log_version_dir().join("unfinished.log.fff");
    std::fs::write(&log, b"ZKLG").unwrap();
    server.restart();
    assert!(!tmp.exists(), "unfinished snapshot left in place");
    assert!(server.run_log().contains("removing unfinished snapshot"));
    assert!(!log.exists(), "unfinished log file left in place");
    assert!(server.run_log().contains("removing unfinished log file"));
    let mut c = RawClient::new_session(server.addr, 10000);
    let exists = Request::Exists(ExistsRequest {
        path: "/kept".into(),
        watch: false,
    });
    assert_eq!(c.call(1, &exists).0.err, 0);
}
