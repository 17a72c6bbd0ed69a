//! Transaction log: write/read round trips, group commit, rolling, and the
//! three ways a log can end badly (torn tail, corruption before the tail, a
//! missing file).

use std::path::{Path, PathBuf};

use ferrokeeper::persistence::{
    replay, truncate_at, LogEntry, PersistError, TxnDigest, TxnLogIter, TxnLogOptions, TxnLogWriter,
};
use ferrokeeper::proto::data::Acl;
use ferrokeeper::txn::*;

fn header(zxid: i64, op: i32) -> TxnHeader {
    TxnHeader {
        client_id: 0x1000_0000_0000_0042,
        cxid: zxid as i32,
        zxid,
        time: 1_700_000_000_000 + zxid,
        op_type: op,
    }
}

/// A txn of a kind chosen by `zxid`, so a run covers every body type.
fn txn(zxid: i64) -> Txn {
    let path = format!("/node{zxid}");
    let body = match zxid % 8 {
        0 => TxnBody::Create(CreateTxn {
            path,
            data: Some(vec![zxid as u8; 10]),
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_cversion: zxid as i32,
        }),
        1 => TxnBody::SetData(SetDataTxn {
            path,
            data: Some(b"v".to_vec()),
            version: 1,
        }),
        2 => TxnBody::Delete(DeleteTxn { path }),
        3 => TxnBody::CreateSession(CreateSessionTxn { time_out: 30_000 }),
        4 => TxnBody::CloseSession(CloseSessionTxn {
            paths_to_delete: vec![path],
        }),
        5 => TxnBody::Error(ErrorTxn { err: -101 }),
        6 => TxnBody::Multi(vec![
            TxnBody::Create2(CreateTxn {
                path: path.clone(),
                data: None,
                acl: Acl::read_unsafe(),
                ephemeral: true,
                parent_cversion: 2,
            }),
            TxnBody::Check(CheckVersionTxn { path, version: 0 }),
        ]),
        _ => TxnBody::CreateTtl(CreateTtlTxn {
            path,
            data: Some(vec![]),
            acl: Acl::open_unsafe(),
            parent_cversion: 0,
            ttl: 5000,
        }),
    };
    let op = body.op_code() as i32;
    Txn {
        header: header(zxid, op),
        body,
    }
}

fn small() -> TxnLogOptions {
    TxnLogOptions {
        prealloc_size: 64 * 1024,
        force_sync: false,
        ..TxnLogOptions::default()
    }
}

/// Writes zxids `range` to `dir`, committing every 3 txns, rolling before each zxid in `roll_at`.
fn write(dir: &Path, range: std::ops::RangeInclusive<i64>, roll_at: &[i64]) {
    let mut w = TxnLogWriter::open(dir, small()).unwrap();
    for z in range {
        if roll_at.contains(&z) {
            w.roll().unwrap();
        }
        let digest = TxnDigest {
            version: 2,
            tree_digest: z * 1000,
        };
        w.append_with_digest(&txn(z), (z % 2 == 0).then_some(&digest))
            .unwrap();
        if z % 3 == 0 {
            w.commit().unwrap();
        }
    }
    w.close().unwrap();
}

fn read_all(dir: &Path, after: i64) -> (Vec<LogEntry>, TxnLogIter) {
    let mut it = TxnLogIter::open(dir, after, dir.join("snapshot")).unwrap();
    let entries = it.by_ref().collect::<Result<Vec<_>, _>>().unwrap();
    (entries, it)
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("log."))
        .collect();
    v.sort_by_key(|p| i64::from_str_radix(p.extension().unwrap().to_str().unwrap(), 16).unwrap());
    v
}

#[test]
fn round_trip_across_rolled_files() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), 1..=40, &[11, 30]);
    let names: Vec<_> = log_files(d.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["log.1", "log.b", "log.1e"]);
    let (entries, it) = read_all(d.path(), 0);
    assert!(it.torn_tail().is_none());
    assert_eq!(entries.len(), 40);
    for (i, e) in entries.iter().enumerate() {
        let z = i as i64 + 1;
        assert_eq!(e.txn, txn(z));
        assert_eq!(
            e.digest.as_ref().map(|d| d.tree_digest),
            (z % 2 == 0).then_some(z * 1000)
        );
    }
    // From the middle of a file: only later txns.
    let (entries, _) = read_all(d.path(), 15);
    assert_eq!(entries.first().unwrap().txn.header.zxid, 16);
    assert_eq!(entries.len(), 25);
    // Past the end: nothing.
    assert!(read_all(d.path(), 40).0.is_empty());
}

#[test]
fn files_are_preallocated_and_padding_reads_as_end() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), 1..=5, &[]);
    let f = &log_files(d.path())[0];
    assert_eq!(std::fs::metadata(f).unwrap().len(), 64 * 1024);
    let bytes = std::fs::read(f).unwrap();
    assert_eq!(&bytes[..8], b"ZKLG\0\0\0\x02");
    assert_eq!(read_all(d.path(), 0).0.len(), 5);
}

#[test]
fn uncommitted_appends_are_not_on_disk_and_commit_writes_them() {
    let d = tempfile::tempdir().unwrap();
    let mut w = TxnLogWriter::open(d.path(), small()).unwrap();
    w.append(&txn(1)).unwrap();
    w.append(&txn(2)).unwrap();
    assert!(read_all(d.path(), 0).0.is_empty());
    w.commit().unwrap();
    assert_eq!(read_all(d.path(), 0).0.len(), 2);
    assert_eq!(w.appended().0, 2);
    assert_eq!(w.last_zxid(), 2);
}

#[test]
fn a_new_writer_never_appends_to_an_old_file() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), 1..=5, &[]);
    write(d.path(), 6..=9, &[]);
    assert_eq!(log_files(d.path()).len(), 2);
    assert_eq!(read_all(d.path(), 0).0.len(), 9);
}

/// Offsets of every entry of a log file (after the 16-byte header).
fn entry_offsets(file: &Path) -> Vec<u64> {
    let bytes = std::fs::read(file).unwrap();
    let mut at = 16usize;
    let mut out = Vec::new();
    loop {
        let len = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        if len == 0 {
            return out;
        }
        out.push(at as u64);
        at += 12 + len as usize + 1;
    }
}

#[test]
fn torn_tail_is_reported_and_repaired() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), 1..=10, &[]);
    let f = log_files(d.path())[0].clone();
    let offs = entry_offsets(&f);
    let last = offs[9];
    // A crash mid-write: the last entry is only half there, zeros after it.
    let mut bytes = std::fs::read(&f).unwrap();
    let end = offs[9] as usize + 20;
    for b in &mut bytes[end..] {
        *b = 0;
    }
    std::fs::write(&f, &bytes).unwrap();
    let (entries, it) = read_all(d.path(), 0);
    assert_eq!(entries.len(), 9);
    let torn = it.torn_tail().expect("torn tail").clone();
    assert_eq!((torn.file.clone(), torn.offset), (f.clone(), last));
    torn.repair().unwrap();
    assert_eq!(std::fs::metadata(&f).unwrap().len(), last);
    let (entries, it) = read_all(d.path(), 0);
    assert_eq!(entries.len(), 9);
    assert!(it.torn_tail().is_none());

    // A file cut short with no preallocation behind it (process killed mid-write).
    truncate_at(&f, last - 3).unwrap();
    let (entries, it) = read_all(d.path(), 0);
    assert_eq!(entries.len(), 8);
    assert_eq!(it.torn_tail().unwrap().offset, offs[8]);
}

#[test]
fn torn_tail_of_the_last_file_before_an_empty_rolled_one() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), 1..=10, &[]);
    let f = log_files(d.path())[0].clone();
    let offs = entry_offsets(&f);
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[offs[9] as usize + 14] ^= 0xff; // checksum no longer matches
    std::fs::write(&f, &bytes).unwrap();
    // The next file was created (header only) before the crash.
    let next = d.path().join("log.b");
    std::fs::write(&next, b"ZKLG\0\0\0\x02\0\0\0\0\0\0\0\0").unwrap();
    let (entries, it) = read_all(d.path(), 0);
    assert_eq!(entries.len(), 9);
    let torn = it.torn_tail().unwrap().clone();
    assert_eq!(torn.later_files, vec![next.clone()]);
    torn.repair().unwrap();
    assert!(!next.exists());
}

#[test]
fn one_flipped_byte_mid_log_is_corruption_with_file_and_offset() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), 1..=10, &[]);
    let f = log_files(d.path())[0].clone();
    let offs = entry_offsets(&f);
    let pristine = std::fs::read(&f).unwrap();
    // Flip one byte in each part of entry 5: checksum, length, payload, end byte.
    let start = offs[4] as usize;
    let end_byte = offs[5] as usize - 1;
    for at in [start + 3 + 4, start + 9, start + 20, start + 40, end_byte] {
        let mut bytes = pristine.clone();
        bytes[at] ^= 0x01;
        std::fs::write(&f, &bytes).unwrap();
        let mut it = TxnLogIter::open(d.path(), 0, "snap").unwrap();
        let results: Vec<_> = it.by_ref().collect();
        assert_eq!(results.len(), 5, "flip at {at}");
        assert!(results[..4].iter().all(|r| r.is_ok()));
        match results.last().unwrap() {
            Err(PersistError::Corrupt {
                file,
                offset,
                reason,
            }) => {
                assert_eq!((file, *offset), (&f, offs[4]), "flip at {at}: {reason}");
            }
            other => panic!("flip at {at}: expected corruption, got {other:?}"),
        }
        assert!(it.torn_tail().is_none());
    }
}

#[test]
fn corruption_in_an_earlier_file_is_not_a_torn_tail() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), 1..=20, &[11]);
    let f = log_files(d.path())[0].clone();
    let offs = entry_offsets(&f);
    // Cut the first file inside its last entry: the second file still has data.
    truncate_at(&f, offs[9] + 5).unwrap();
    let err = TxnLogIter::open(d.path(), 0, "snap")
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    match err {
        PersistError::Corrupt {
            file,
            offset,
            reason,
        } => {
            assert_eq!((file, offset), (f, offs[9]));
            assert!(reason.contains("log.b"), "{reason}");
        }
        e => panic!("{e}"),
    }
}

#[test]
fn missing_log_between_snapshot_and_next_file_is_a_gap() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), 1..=30, &[11, 21]);
    std::fs::remove_file(d.path().join("log.b")).unwrap();
    // Replaying from a snapshot at 5: txns 11..=20 are gone.
    let snap = d.path().join("snapshot.5");
    let err = replay(d.path(), 5, &snap, |_| Ok(())).unwrap_err();
    match &err {
        PersistError::Gap {
            after,
            last_zxid,
            next_file,
            next_zxid,
        } => {
            assert_eq!(after, &d.path().join("log.1"));
            assert_eq!((*last_zxid, *next_zxid), (10, 21));
            assert_eq!(next_file, &d.path().join("log.15"));
        }
        e => panic!("{e}"),
    }
    assert!(err.to_string().contains("log.15"), "{err}");
    // From a snapshot at 0x10 that covers the hole, the logs are complete.
    let r = replay(d.path(), 0x10, d.path().join("snapshot.10"), |_| Ok(())).unwrap_err();
    assert!(matches!(r, PersistError::Gap { ref after, .. } if after.ends_with("snapshot.10")));
    let ok = replay(d.path(), 20, d.path().join("snapshot.14"), |_| Ok(())).unwrap();
    assert_eq!((ok.txns, ok.last_zxid), (10, 30));
    // Only a missing first log file: the snapshot's zxid is followed by a jump.
    std::fs::remove_file(d.path().join("log.1")).unwrap();
    let err = replay(d.path(), 0, &snap, |_| Ok(())).unwrap_err();
    assert!(
        matches!(
            err,
            PersistError::Gap {
                last_zxid: 0,
                next_zxid: 21,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_new_epoch_is_not_a_gap() {
    let d = tempfile::tempdir().unwrap();
    let mut w = TxnLogWriter::open(d.path(), small()).unwrap();
    for z in [1, 2, 3, (1 << 32) | 1, (1 << 32) | 2] {
        w.append(&txn(z)).unwrap();
    }
    w.commit().unwrap();
    let (entries, _) = read_all(d.path(), 0);
    assert_eq!(entries.len(), 5);
}

#[test]
fn a_failed_writer_refuses_further_appends() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("v2");
    let mut w = TxnLogWriter::open(&dir, small()).unwrap();
    w.append(&txn(1)).unwrap();
    w.commit().unwrap();
    w.roll().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(w.append(&txn(2)).is_err());
    assert!(w.failed().is_some());
    assert!(matches!(w.commit(), Err(PersistError::Failed(_))));
    assert!(matches!(w.append(&txn(3)), Err(PersistError::Failed(_))));
}

fn durable(prealloc_size: u64) -> TxnLogOptions {
    TxnLogOptions {
        prealloc_size,
        force_sync: true,
        ..TxnLogOptions::default()
    }
}

#[test]
fn write_outs_are_synced_on_another_thread_as_one_merged_ticket() {
    let d = tempfile::tempdir().unwrap();
    let mut w = TxnLogWriter::open(d.path(), durable(64 * 1024)).unwrap();
    w.append(&txn(1)).unwrap();
    let mut ticket = w.write_out().unwrap();
    w.append(&txn(2)).unwrap();
    w.roll().unwrap();
    w.append(&txn(3)).unwrap();
    ticket.merge(w.write_out().unwrap());
    std::thread::spawn(move || ticket.sync(|_, _| ()))
        .join()
        .unwrap()
        .unwrap();
    let (entries, _) = read_all(d.path(), 0);
    let zxids: Vec<i64> = entries.iter().map(|e| e.txn.header.zxid).collect();
    assert_eq!(zxids, vec![1, 2, 3]);
    assert_eq!(log_files(d.path()).len(), 2);
}

/// Bytes of `file` the file system has allocated (holes excluded).
fn allocated(file: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(file).unwrap().blocks() * 512
}

#[test]
fn durable_writes_keep_zeros_written_ahead_and_entries_over_them_read_back() {
    let d = tempfile::tempdir().unwrap();
    let mut w = TxnLogWriter::open(d.path(), durable(8 * 1024 * 1024)).unwrap();
    w.append(&txn(1)).unwrap();
    w.commit().unwrap();
    let file = w.current_file().unwrap().to_path_buf();
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 8 * 1024 * 1024);
    let first = allocated(&file);
    assert!(
        (128 * 1024..=512 * 1024).contains(&first),
        "allocated after the first write-out: {first}"
    );
    // Past several top-ups: the zeros stay ahead of the entries, never the
    // whole preallocation, and every entry reads back over them.
    let mut z = 2;
    while w.current_file_bytes() < 3 * 1024 * 1024 {
        for _ in 0..50 {
            w.append(&txn(z)).unwrap();
            z += 1;
        }
        w.commit().unwrap();
        let (pos, alloc) = (w.current_file_bytes(), allocated(&file));
        assert!(
            alloc >= pos + 100 * 1024 && alloc <= pos + 512 * 1024,
            "{alloc} bytes allocated at write position {pos}"
        );
    }
    w.close().unwrap();
    let (entries, iter) = read_all(d.path(), 0);
    assert_eq!(entries.len() as i64, z - 1);
    assert!(entries
        .iter()
        .enumerate()
        .all(|(i, e)| e.txn.header.zxid == i as i64 + 1));
    assert!(iter.torn_tail().is_none());
}

#[test]
fn without_force_sync_the_preallocation_stays_sparse() {
    let d = tempfile::tempdir().unwrap();
    let opts = TxnLogOptions {
        force_sync: false,
        ..durable(8 * 1024 * 1024)
    };
    let mut w = TxnLogWriter::open(d.path(), opts).unwrap();
    for z in 1..=100 {
        w.append(&txn(z)).unwrap();
    }
    w.commit().unwrap();
    let file = w.current_file().unwrap().to_path_buf();
    let (pos, alloc) = (w.current_file_bytes(), allocated(&file));
    assert!(alloc < pos + 64 * 1024, "{alloc} bytes allocated at {pos}");
}

#[test]
fn replay_applies_in_order_across_hand_overs_and_stops_at_an_apply_error() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), 1..=3000, &[1500]);
    let snap = d.path().join("snapshot.0");
    let mut seen = Vec::new();
    let r = replay(d.path(), 0, &snap, |e| {
        seen.push(e.txn.header.zxid);
        Ok(())
    })
    .unwrap();
    assert_eq!((r.txns, r.last_zxid), (3000, 3000));
    assert!(seen.iter().copied().eq(1..=3000));
    let mut applied = 0;
    let err = replay(d.path(), 0, &snap, |e| {
        if e.txn.header.zxid == 2500 {
            return Err(PersistError::Invalid("stop".into()));
        }
        applied += 1;
        Ok(())
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "stop");
    assert_eq!(applied, 2499);
}
