//! Compatibility with the real thing, Debian's Apache ZooKeeper 3.8:
//! - its tools (`TxnLogToolkit`, `SnapshotFormatter`) read the files we write;
//! - we read the data directory a running ZooKeeper wrote;
//! - ZooKeeper starts on a data directory we wrote and serves our tree.
//!
//! Skipped, with a message, only when java or the ZooKeeper jars are missing
//! (`make test` installs them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrokeeper::persistence::snapshot::OPEN_ACL_REF;
use ferrokeeper::persistence::{
    find_valid_snapshot, node_digest, replay, Compression, DataDirs, LogEntry, Snapshot,
    SnapshotNode, TxnDigest, TxnLogOptions, TxnLogWriter, ZxidDigest, DIGEST_VERSION,
};
use ferrokeeper::proto::data::{Acl, StatPersisted};
use ferrokeeper::txn::*;
use zookeeper_client as zk;

const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";

/// The classpath (zookeeper.jar's manifest names its dependencies), or `None`
/// with a message when java or ZooKeeper is not installed.
fn classpath() -> Option<String> {
    let java_ok = Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !java_ok || !Path::new(ZK_JAR).exists() {
        eprintln!("SKIPPED: java or {ZK_JAR} missing (apt-get install zookeeper)");
        return None;
    }
    let mut jars = vec![ZK_JAR.to_string()];
    for j in ["slf4j-log4j12.jar", "log4j-1.2.jar", "snappy-java.jar"] {
        let p = format!("/usr/share/java/{j}");
        if Path::new(&p).exists() {
            jars.push(p);
        }
    }
    Some(jars.join(":"))
}

/// Runs a ZooKeeper main class; returns stdout + stderr, panicking on failure.
fn run_java(cp: &str, class: &str, args: &[&str]) -> String {
    let out = Command::new("java")
        .args(["-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", cp, class])
        .args(args)
        .output()
        .expect("run java");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{class} {args:?} failed:\n{text}");
    text
}

fn hdr(zxid: i64, client_id: i64, body: &TxnBody) -> TxnHeader {
    TxnHeader {
        client_id,
        cxid: (zxid & 0xff) as i32,
        zxid,
        time: 1_700_000_000_000 + zxid,
        op_type: body.op_code() as i32,
    }
}

fn txn(zxid: i64, client_id: i64, body: TxnBody) -> Txn {
    Txn {
        header: hdr(zxid, client_id, &body),
        body,
    }
}

fn create(
    path: &str,
    data: &[u8],
    acl: Vec<Acl>,
    ephemeral: bool,
    parent_cversion: i32,
) -> TxnBody {
    TxnBody::Create2(CreateTxn {
        path: path.into(),
        data: Some(data.to_vec()),
        acl,
        ephemeral,
        parent_cversion,
    })
}

fn stat(
    czxid: i64,
    mzxid: i64,
    version: i32,
    cversion: i32,
    owner: i64,
    pzxid: i64,
) -> StatPersisted {
    StatPersisted {
        czxid,
        mzxid,
        ctime: 1_700_000_000_000 + czxid,
        mtime: 1_700_000_000_000 + mzxid,
        version,
        cversion,
        aversion: 0,
        ephemeral_owner: owner,
        pzxid,
    }
}

const SESSION: i64 = 0x0100_0000_0000_00ab;

/// A tree as Apache ZooKeeper would snapshot it after zxid 0x10: the system
/// nodes, /fk with two children, an ephemeral of a live session.
fn our_snapshot() -> Snapshot {
    let node = |path: &str, data: Option<&[u8]>, acl: i64, stat| SnapshotNode {
        path: path.into(),
        data: data.map(|d| d.to_vec()),
        acl,
        stat,
    };
    let zero = StatPersisted::default();
    let mut acls = BTreeMap::new();
    acls.insert(1, Acl::read_unsafe());
    acls.insert(2, Acl::open_unsafe());
    Snapshot {
        zxid: 0x10,
        sessions: vec![(SESSION, 60_000)],
        acls,
        nodes: vec![
            node("/", Some(b""), OPEN_ACL_REF, stat(0, 0, 0, 1, 0, 0x1)),
            node("/zookeeper", Some(b""), OPEN_ACL_REF, zero),
            node("/zookeeper/config", Some(b""), 1, zero),
            node("/zookeeper/quota", Some(b""), OPEN_ACL_REF, zero),
            node(
                "/fk",
                Some(b"from-ferrokeeper"),
                2,
                stat(0x1, 0x2, 1, 3, 0, 0x10),
            ),
            node("/fk/a", Some(b"a1"), 1, stat(0x3, 0x3, 0, 0, 0, 0x3)),
            node("/fk/b", None, 2, stat(0x4, 0x4, 0, 0, 0, 0x4)),
            node(
                "/fk/eph",
                Some(b"e"),
                2,
                stat(0x10, 0x10, 0, 0, SESSION, 0x10),
            ),
        ],
        ..Default::default()
    }
}

/// The tree digest ZooKeeper keeps: the wrapping sum of every node's term.
fn tree_digest<'a>(
    nodes: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>, &'a StatPersisted)>,
) -> i64 {
    nodes.into_iter().fold(0i64, |sum, (p, d, st)| {
        sum.wrapping_add(node_digest(p, d, st))
    })
}

fn snapshot_digest(s: &Snapshot) -> i64 {
    tree_digest(
        s.nodes
            .iter()
            .map(|n| (n.path.as_str(), n.data.as_deref(), &n.stat)),
    )
}

/// Txns 0x11.. after `our_snapshot`. The first carries the tree digest after
/// it, as 3.8 writes it, so ZooKeeper checks our digest arithmetic on replay.
fn our_txns() -> Vec<(Txn, Option<TxnDigest>)> {
    let snap = our_snapshot();
    // Creating /fk/late at 0x11 sets /fk's cversion to 4 and pzxid to 0x11.
    let fk = snap.nodes.iter().find(|n| n.path == "/fk").unwrap();
    let mut fk_after = fk.stat;
    fk_after.cversion = 4;
    fk_after.pzxid = 0x11;
    let late = stat(0x11, 0x11, 0, 0, 0, 0x11);
    let after_0x11 = snapshot_digest(&snap)
        .wrapping_sub(node_digest("/fk", fk.data.as_deref(), &fk.stat))
        .wrapping_add(node_digest("/fk", fk.data.as_deref(), &fk_after))
        .wrapping_add(node_digest("/fk/late", Some(b"late"), &late));
    let digest = Some(TxnDigest {
        version: DIGEST_VERSION,
        tree_digest: after_0x11,
    });
    let other = 0x0200_0000_0000_0001;
    vec![
        (
            txn(
                0x11,
                SESSION,
                create("/fk/late", b"late", Acl::open_unsafe(), false, 4),
            ),
            digest,
        ),
        (
            txn(
                0x12,
                SESSION,
                TxnBody::SetData(SetDataTxn {
                    path: "/fk/a".into(),
                    data: Some(b"a2".to_vec()),
                    version: 1,
                }),
            ),
            None,
        ),
        (
            txn(
                0x13,
                SESSION,
                // Inside a multi a create is always `create` (1): DataTree.processTxn
                // rejects create2 there (Op.create maps create2 back to create).
                TxnBody::Multi(vec![
                    TxnBody::Create(CreateTxn {
                        path: "/fk/m".into(),
                        data: Some(b"multi".to_vec()),
                        acl: Acl::open_unsafe(),
                        ephemeral: false,
                        parent_cversion: 5,
                    }),
                    TxnBody::Delete(DeleteTxn {
                        path: "/fk/b".into(),
                    }),
                ]),
            ),
            None,
        ),
        (
            txn(
                0x14,
                other,
                TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }),
            ),
            None,
        ),
        (
            txn(0x15, other, TxnBody::Error(ErrorTxn { err: -110 })),
            None,
        ),
        (
            txn(
                0x16,
                other,
                TxnBody::CloseSession(CloseSessionTxn::default()),
            ),
            None,
        ),
    ]
}

fn write_our_data_dir(data_dir: &Path) -> DataDirs {
    let dirs = DataDirs::new(data_dir, None);
    dirs.create().unwrap();
    let mut snap = our_snapshot();
    snap.digest = Some(ZxidDigest {
        zxid: 0x10,
        digest_version: DIGEST_VERSION,
        digest: snapshot_digest(&snap),
    });
    snap.save(&dirs.snap_dir, Compression::None, true).unwrap();
    let mut w =
        TxnLogWriter::open(&dirs.log_dir, TxnLogOptions::default().with_prealloc_kb(64)).unwrap();
    for (t, d) in our_txns() {
        w.append_with_digest(&t, d.as_ref()).unwrap();
    }
    w.close().unwrap();
    dirs
}

#[test]
fn zookeeper_tools_read_our_log_and_snapshots() {
    let Some(cp) = classpath() else { return };
    let d = tempfile::tempdir().unwrap();
    let dirs = write_our_data_dir(d.path());
    let log = dirs.log_dir.join("log.11");
    let out = run_java(
        &cp,
        "org.apache.zookeeper.server.persistence.TxnLogToolkit",
        &["-d", log.to_str().unwrap()],
    );
    assert!(
        out.contains("ZooKeeper Transactional Log File with dbid 0 txnlog format version 2"),
        "{out}"
    );
    assert!(!out.contains("CRC ERROR"), "{out}");
    assert!(out.contains("EOF reached after 6 txns."), "{out}");
    for (zxid, what) in [
        ("0x11", "create2"),
        ("0x12", "setData"),
        ("0x13", "multi"),
        ("0x14", "createSession"),
        ("0x15", "error"),
        ("0x16", "closeSession"),
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(&format!("zxid {zxid} ")))
            .unwrap_or_else(|| panic!("no txn {zxid} in:\n{out}"));
        assert!(line.contains(&format!(" {what} ")), "{line}");
    }
    assert!(out.contains("/fk/late"), "{out}");

    for c in [Compression::None, Compression::Gzip, Compression::Snappy] {
        let snap = our_snapshot().save(&dirs.snap_dir, c, false).unwrap();
        let out = run_java(
            &cp,
            "org.apache.zookeeper.server.SnapshotFormatter",
            &["-d", snap.to_str().unwrap()],
        );
        // DataTree counts the root twice ("" and its alias "/").
        assert!(out.contains("ZNode Details (count=9)"), "{c:?}:\n{out}");
        for p in ["/fk/a", "/fk/b", "/fk/eph", "/zookeeper/quota"] {
            assert!(out.lines().any(|l| l == p), "{c:?}: {p} missing:\n{out}");
        }
        // base64("from-ferrokeeper")
        assert!(out.contains("data = ZnJvbS1mZXJyb2tlZXBlcg=="), "{out}");
        assert!(
            out.contains("0x1000000000000ab, 60000, 1"),
            "session line:\n{out}"
        );
        assert!(out.contains("Last zxid: 0x10"), "{out}");
    }
}

/// A ZooKeeperServerMain on a free loopback port, killed on drop.
struct ZkServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl ZkServer {
    fn start(cp: &str, dir: &Path, data_dir: &Path, jvm_props: &[&str]) -> ZkServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = dir.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\nmaxSessionTimeout=60000\n",
                data_dir.display()
            ),
        )
        .unwrap();
        let log4j = dir.join("log4j.properties");
        std::fs::write(
            &log4j,
            "log4j.rootLogger=INFO, F\nlog4j.appender.F=org.apache.log4j.ConsoleAppender\n\
             log4j.appender.F.layout=org.apache.log4j.PatternLayout\n\
             log4j.appender.F.layout.ConversionPattern=%d [%t] %-5p %c{1} - %m%n\n",
        )
        .unwrap();
        let log = dir.join("zookeeper.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("java")
            .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg(format!("-Dlog4j.configuration=file:{}", log4j.display()))
            .arg("-Dzookeeper.admin.enableServer=false")
            .args(jvm_props)
            .args(["-cp", cp, "org.apache.zookeeper.server.ZooKeeperServerMain"])
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start ZooKeeper");
        ZkServer { child, port, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn connect(&mut self) -> zk::Client {
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = format!("127.0.0.1:{}", self.port);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ZooKeeper exited ({status}):\n{}", self.log_text());
            }
            let attempt = zk::Client::connector()
                .with_session_timeout(Duration::from_secs(20))
                .connect(&addr);
            if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), attempt).await {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "ZooKeeper did not start:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zookeeper_starts_on_our_data_dir_and_serves_our_tree() {
    let Some(cp) = classpath() else { return };
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let dirs = write_our_data_dir(&data);
    let mut server = ZkServer::start(&cp, d.path(), &data, &[]);
    let c = server.connect().await;
    let (fk, st) = c.get_data("/fk").await.unwrap();
    assert_eq!(fk, b"from-ferrokeeper");
    assert_eq!((st.czxid, st.mzxid, st.version), (0x1, 0x2, 1));
    let (a, st) = c.get_data("/fk/a").await.unwrap();
    assert_eq!((a.as_slice(), st.version, st.mzxid), (&b"a2"[..], 1, 0x12));
    let (acl, _) = c.get_acl("/fk/a").await.unwrap();
    assert_eq!(acl.len(), 1);
    assert!(acl[0].permission() == zk::Permission::READ && acl[0].scheme() == "world");
    let (late, st) = c.get_data("/fk/late").await.unwrap();
    assert_eq!((late.as_slice(), st.czxid), (&b"late"[..], 0x11));
    assert_eq!(c.get_data("/fk/m").await.unwrap().0, b"multi");
    assert!(c.check_stat("/fk/b").await.unwrap().is_none());
    // The live session's ephemeral survived the move.
    let (_, st) = c.get_data("/fk/eph").await.unwrap();
    assert_eq!(st.ephemeral_owner, SESSION);
    let mut children = c.list_children("/fk").await.unwrap();
    children.sort();
    assert_eq!(children, ["a", "eph", "late", "m"]);
    // ZooKeeper continues the zxid sequence and appends its own log...
    let (st, _) = c
        .create(
            "/fk/after",
            b"zk",
            &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()),
        )
        .await
        .unwrap();
    assert!(st.czxid > 0x16, "{:#x}", st.czxid);
    let log = server.log_text();
    assert!(!log.contains("CRC") && !log.contains("corrupt"), "{log}");
    // ZooKeeper compared our snapshot digest and our txn digest with its own.
    assert!(log.contains("with zxid as 0x10"), "{log}");
    assert!(!log.contains("Digests are not matching"), "{log}");
    drop(c);
    drop(server);
    // ...which we read back after our own, across both files.
    let mut seen = Vec::new();
    replay(
        &dirs.log_dir,
        0x10,
        dirs.snap_dir.join("snapshot.10"),
        |e| {
            seen.push(e);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(
        seen[..6]
            .iter()
            .map(|e| e.txn.header.zxid)
            .collect::<Vec<_>>(),
        (0x11..=0x16).collect::<Vec<_>>()
    );
    assert!(seen
        .iter()
        .any(|e| matches!(&e.txn.body, TxnBody::Create2(c) if c.path == "/fk/after")));
}

type ModelNode = (Option<Vec<u8>>, StatPersisted, Vec<Acl>);

/// A minimal model of the tree: enough to replay creates, deletes and setData.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    nodes: BTreeMap<String, ModelNode>,
}

impl Model {
    fn from_snapshot(s: &Snapshot) -> Model {
        let nodes = s
            .nodes
            .iter()
            .map(|n| {
                let acl = s.acl(n.acl).map(|a| a.into_owned()).unwrap_or_default();
                (n.path.clone(), (n.data.clone(), n.stat, acl))
            })
            .collect();
        Model { nodes }
    }

    fn apply(&mut self, h: &TxnHeader, body: &TxnBody) {
        let fresh = |eph: i64| stat(h.zxid, h.zxid, 0, 0, eph, h.zxid);
        let mut fresh = |path: &str, data: &Option<Vec<u8>>, acl: &[Acl], owner: i64| {
            let mut st = fresh(owner);
            st.ctime = h.time;
            st.mtime = h.time;
            // Replaying a create of an existing node fails (NodeExists) and changes nothing.
            self.nodes
                .entry(path.to_string())
                .or_insert((data.clone(), st, acl.to_vec()));
        };
        match body {
            TxnBody::Create(t) | TxnBody::Create2(t) => fresh(
                &t.path,
                &t.data,
                &t.acl,
                if t.ephemeral { h.client_id } else { 0 },
            ),
            TxnBody::CreateContainer(t) => fresh(&t.path, &t.data, &t.acl, i64::MIN),
            TxnBody::CreateTtl(t) => fresh(&t.path, &t.data, &t.acl, 0),
            TxnBody::Delete(t) | TxnBody::DeleteContainer(t) => {
                self.nodes.remove(&t.path);
            }
            TxnBody::SetData(t) => {
                if let Some(n) = self.nodes.get_mut(&t.path) {
                    n.0 = t.data.clone();
                    n.1.version = t.version;
                    n.1.mzxid = h.zxid;
                }
            }
            TxnBody::CloseSession(t) => {
                for p in &t.paths_to_delete {
                    self.nodes.remove(p);
                }
            }
            TxnBody::Multi(subs) => subs.iter().for_each(|b| self.apply(h, b)),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_read_the_data_dir_zookeeper_wrote() {
    let Some(cp) = classpath() else { return };
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // A small snapCount makes ZooKeeper roll logs and snapshot mid-run.
    let mut server = ZkServer::start(&cp, d.path(), &data, &["-Dzookeeper.snapCount=10"]);
    let c = server.connect().await;
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    c.create("/fk", b"root", &open).await.unwrap();
    for i in 0..30 {
        c.create(&format!("/fk/n{i}"), format!("v{i}").as_bytes(), &open)
            .await
            .unwrap();
    }
    c.set_data("/fk/n3", b"changed", None).await.unwrap();
    c.set_data("/fk/n3", b"changed again", Some(1))
        .await
        .unwrap();
    c.delete("/fk/n4", None).await.unwrap();
    let eph = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    c.create("/fk/eph", b"mine", &eph).await.unwrap();
    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    c.create("/fk/seq-", b"", &seq).await.unwrap();
    c.create("/fk/seq-", b"", &seq).await.unwrap();
    let ro = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_read());
    c.create("/fk/ro", b"read only", &ro).await.unwrap();
    let mut m = c.new_multi_writer();
    m.add_create("/fk/m1", b"m", &open).unwrap();
    m.add_set_data("/fk/n5", b"via multi", None).unwrap();
    m.commit().await.unwrap();
    // What the server says, to compare with what we read from its files.
    let mut expected = BTreeMap::new();
    for child in c.list_children("/fk").await.unwrap() {
        let path = format!("/fk/{child}");
        let (data, st) = c.get_data(&path).await.unwrap();
        expected.insert(
            path,
            (data, st.czxid, st.mzxid, st.version, st.ephemeral_owner),
        );
    }
    let session = c.session_id().0;
    // kill -9 with the session still open: committed txns are on disk.
    drop(server);
    drop(c);

    let dirs = DataDirs::new(&data, None);
    let snaps = std::fs::read_dir(&dirs.snap_dir).unwrap().count();
    assert!(
        snaps >= 3,
        "expected several snapshots and logs, found {snaps} files"
    );
    let snap = find_valid_snapshot(&dirs.snap_dir)
        .unwrap()
        .expect("a snapshot");
    let mut model = Model::from_snapshot(&snap);
    assert!(model.nodes.contains_key("/zookeeper/quota"));
    let mut sessions: Vec<i64> = snap.sessions.iter().map(|s| s.0).collect();
    let r = replay(&dirs.log_dir, snap.zxid, &snap.path, |e: LogEntry| {
        if matches!(e.txn.body, TxnBody::CreateSession(_)) {
            sessions.push(e.txn.header.client_id);
        }
        assert!(e.digest.is_some(), "3.8 writes a digest after every txn");
        model.apply(&e.txn.header, &e.txn.body);
        Ok(())
    })
    .unwrap();
    assert!(r.torn_tail.is_none(), "{r:?}");
    assert!(
        sessions.contains(&session),
        "session {session:#x} not in {sessions:x?}"
    );
    let ours: BTreeMap<_, _> = model
        .nodes
        .iter()
        .filter(|(p, _)| p.starts_with("/fk/"))
        .map(|(p, (data, st, _))| {
            let data = data.clone().unwrap_or_default();
            (
                p.clone(),
                (data, st.czxid, st.mzxid, st.version, st.ephemeral_owner),
            )
        })
        .collect();
    assert_eq!(ours, expected);
    assert_eq!(model.nodes["/fk/ro"].2, Acl::read_unsafe());
    assert_eq!(model.nodes["/fk/eph"].1.ephemeral_owner, session);
}
