//! Retention as `PurgeTxnLog.purge` (run by `DatadirCleanupManager` every
//! `autopurge.purgeInterval` hours, keeping `autopurge.snapRetainCount`):
//! keep the N newest snapshots that pass the cheap validity check, and every
//! log a kept snapshot may need — the newest log starting at or before the
//! oldest kept snapshot, and all later ones. Everything older goes.

use std::path::{Path, PathBuf};

use super::snapshot::{looks_valid, snapshot_files};
use super::{io_err, list_files, log_files_from, PersistError, Result, LOG_PREFIX};

/// `PurgeTxnLog`'s minimum for `snapRetainCount`.
pub const MIN_RETAIN_COUNT: usize = 3;

/// Deletes snapshots and logs not needed to recover from the `retain` newest
/// snapshots; returns the deleted files. `retain` must be at least 3.
pub fn purge(log_dir: &Path, snap_dir: &Path, retain: usize) -> Result<Vec<PathBuf>> {
    if retain < MIN_RETAIN_COUNT {
        return Err(PersistError::Invalid(format!(
            "snapRetainCount must be at least {MIN_RETAIN_COUNT}, got {retain}"
        )));
    }
    let kept: Vec<(i64, PathBuf)> = snapshot_files(snap_dir)?
        .into_iter()
        .filter(|(_, p)| looks_valid(p))
        .take(retain)
        .collect();
    let Some((least, _)) = kept.last().cloned() else {
        return Ok(Vec::new());
    };
    let needed_logs: Vec<PathBuf> = log_files_from(log_dir, least)?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let mut doomed = Vec::new();
    for (z, p) in list_files(log_dir, LOG_PREFIX)? {
        if z < least && !needed_logs.contains(&p) {
            doomed.push(p);
        }
    }
    for (z, p) in snapshot_files(snap_dir)? {
        if z < least {
            doomed.push(p);
        }
    }
    for p in &doomed {
        tracing::info!(file = %p.display(), "purging old snapshot/log");
        std::fs::remove_file(p).map_err(io_err(p))?;
    }
    Ok(doomed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_newest_snapshots_and_the_logs_they_need() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let valid_tail = [0u8, 0, 0, 1, b'/'];
        for z in [0x10, 0x20, 0x30, 0x40, 0x50] {
            let mut b = vec![7u8; 20];
            b.extend_from_slice(&valid_tail);
            std::fs::write(dir.join(format!("snapshot.{z:x}")), b).unwrap();
        }
        // An invalid newest snapshot does not count towards the kept three.
        std::fs::write(dir.join("snapshot.60"), b"torn").unwrap();
        for z in [0x1, 0x18, 0x25, 0x2f, 0x45] {
            std::fs::write(dir.join(format!("log.{z:x}")), b"x").unwrap();
        }
        let mut gone: Vec<String> = purge(dir, dir, 3)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        gone.sort();
        // Kept: snapshots 0x30, 0x40, 0x50 (+ the invalid 0x60); logs 0x2f (covers 0x30) and later.
        assert_eq!(
            gone,
            ["log.1", "log.18", "log.25", "snapshot.10", "snapshot.20"]
        );
        assert!(purge(dir, dir, 2).is_err());
    }
}
