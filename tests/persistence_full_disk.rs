//! A full disk (a small tmpfs the test mounts): the log writer reports the
//! error and then refuses every write, every txn whose commit returned `Ok` is
//! still readable, a log file whose header does not fit is never left as an
//! empty `log.<zxid>`, and a snapshot that does not fit leaves no file behind.
//!
//! Needs root (to mount); skipped with a message otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferrokeeper::persistence::snapshot::SnapshotNode;
use ferrokeeper::persistence::{
    Compression, PersistError, Snapshot, TxnLogIter, TxnLogOptions, TxnLogWriter,
};
use ferrokeeper::proto::data::{Acl, StatPersisted};
use ferrokeeper::txn::*;

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("fs");
        std::fs::create_dir(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: cannot mount a tmpfs (needs root / CAP_SYS_ADMIN)");
            return None;
        }
        Some(Tmpfs {
            dir,
            _parent: parent,
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

fn big_txn(zxid: i64) -> Txn {
    let body = TxnBody::Create(CreateTxn {
        path: format!("/big{zxid}"),
        data: Some(vec![0x5a; 1500]),
        acl: Acl::open_unsafe(),
        ephemeral: false,
        parent_cversion: zxid as i32,
    });
    Txn {
        header: TxnHeader {
            client_id: 1,
            cxid: zxid as i32,
            zxid,
            time: 0,
            op_type: body.op_code() as i32,
        },
        body,
    }
}

fn read_zxids(dir: &Path) -> Vec<i64> {
    let mut it = TxnLogIter::open(dir, 0, "snapshot").unwrap();
    let zxids = it
        .by_ref()
        .map(|e| e.unwrap().txn.header.zxid)
        .collect::<Vec<_>>();
    if let Some(t) = it.torn_tail() {
        eprintln!("torn tail after the failed write: {t:?}");
    }
    zxids
}

#[test]
fn full_disk_stops_the_log_without_losing_acknowledged_txns() {
    let Some(fs) = Tmpfs::mount("256k") else {
        return;
    };
    let dir = fs.dir.join("version-2");
    let opts = TxnLogOptions {
        prealloc_size: 64 * 1024,
        force_sync: true,
        ..TxnLogOptions::default()
    };
    let mut w = TxnLogWriter::open(&dir, opts).unwrap();
    let mut acked = Vec::new();
    let mut zxid = 0;
    let err = loop {
        // Batches of 4 txns, one commit each; roll now and then.
        let batch: Vec<i64> = (0..4)
            .map(|_| {
                zxid += 1;
                zxid
            })
            .collect();
        if zxid % 40 == 1 {
            if let Err(e) = w.roll() {
                break e;
            }
        }
        let r = batch
            .iter()
            .try_for_each(|z| w.append(&big_txn(*z)))
            .and_then(|()| w.commit());
        match r {
            Ok(()) => acked.extend(batch),
            Err(e) => break e,
        }
        assert!(zxid < 10_000, "the tmpfs never filled up");
    };
    match &err {
        PersistError::Io { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::StorageFull, "{err}")
        }
        e => panic!("expected an IO error, got {e}"),
    }
    assert!(!acked.is_empty());
    // From now on nothing is accepted, not even after space is freed.
    assert!(w.failed().is_some());
    assert!(matches!(
        w.append(&big_txn(zxid + 1)),
        Err(PersistError::Failed(_))
    ));
    assert!(matches!(w.commit(), Err(PersistError::Failed(_))));
    // Every acknowledged txn is on disk, in order; what failed is at most a torn tail.
    let on_disk = read_zxids(&dir);
    assert!(
        on_disk.len() >= acked.len(),
        "{} < {}",
        on_disk.len(),
        acked.len()
    );
    assert_eq!(&on_disk[..acked.len()], acked.as_slice());
}

/// ZooKeeper 3.8 does not start on a data dir with an empty or headless log
/// file (`EOFException` in `FileHeader.deserialize`); a crash or a full disk
/// between creating a log file and writing its header must not leave one.
#[test]
fn a_log_file_whose_header_does_not_fit_is_not_left_as_a_log() {
    let Some(fs) = Tmpfs::mount("64k") else {
        return;
    };
    let dir = fs.dir.join("version-2");
    std::fs::create_dir(&dir).unwrap();
    let mut filler = std::fs::File::create(fs.dir.join("filler")).unwrap();
    let err = loop {
        if let Err(e) = std::io::Write::write_all(&mut filler, &[1; 4096]) {
            break e;
        }
    };
    assert_eq!(err.kind(), std::io::ErrorKind::StorageFull, "{err}");
    let opts = TxnLogOptions {
        prealloc_size: 64 * 1024,
        force_sync: true,
        ..TxnLogOptions::default()
    };
    let mut w = TxnLogWriter::open(&dir, opts).unwrap();
    let err = w.append(&big_txn(1)).and_then(|()| w.commit()).unwrap_err();
    assert!(
        matches!(&err, PersistError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
        "{err}"
    );
    let logs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("log."))
        .collect();
    assert_eq!(logs, Vec::<String>::new(), "a log file without its header");
    assert_eq!(read_zxids(&dir), Vec::<i64>::new());
}

#[test]
fn a_snapshot_that_does_not_fit_leaves_no_file() {
    let Some(fs) = Tmpfs::mount("64k") else {
        return;
    };
    let nodes = (0..200)
        .map(|i| SnapshotNode {
            path: if i == 0 { "/".into() } else { format!("/n{i}") },
            data: Some(vec![i as u8; 1000]),
            acl: -1,
            stat: StatPersisted::default(),
        })
        .collect();
    let snap = Snapshot {
        zxid: 7,
        nodes,
        ..Default::default()
    };
    let err = snap.save(&fs.dir, Compression::None, true).unwrap_err();
    assert!(
        matches!(&err, PersistError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&fs.dir).unwrap().count(), 0);
}
