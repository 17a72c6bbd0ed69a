//! When the log rolls and a snapshot is taken, by ZooKeeper's rules.
//!
//! - `SyncRequestProcessor.shouldSnapshot`: roll the log and snapshot after
//!   more than `snapCount/2 + r` txns since the last snapshot, `r` random in
//!   `[0, snapCount/2)`, or more than `snapSizeLimit/2 + s` bytes of log, so
//!   that the servers of an ensemble do not all snapshot at once.
//!   `snapCount` defaults to 100 000 (at least 2), `snapSizeLimitInKb` to
//!   4 GiB (0 or less turns the size rule off).
//! - `FileTxnLog.commit` with `txnLogSizeLimitInKb` (off by default): roll
//!   the log, without a snapshot, once the file being written holds more
//!   than that many bytes of entries. (ZooKeeper 3.8.0 compares the file's
//!   length, preallocation included; later releases cap `preAllocSize` at
//!   the limit, as the caller here does, which makes the two the same.)

use rand::Rng;

/// What the writer does after a write-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roll {
    No,
    /// Start a new log file (the size limit).
    Log,
    /// Start a new log file and take a snapshot.
    LogAndSnapshot,
}

/// The rules, the random offsets drawn at the last snapshot, and what had
/// been appended then.
#[derive(Debug, Clone)]
pub struct RollPolicy {
    snap_count: i64,
    snap_size_bytes: i64,
    log_size_limit: i64,
    rand_roll: i64,
    rand_size: i64,
    /// The writer's appended txns and bytes at the last snapshot.
    mark: (u64, u64),
}

impl RollPolicy {
    pub const DEFAULT_SNAP_SIZE_KB: i64 = 4 * 1024 * 1024;

    /// `snap_size_bytes` and `log_size_limit` of 0 or less turn those rules off.
    pub fn new(snap_count: i64, snap_size_bytes: i64, log_size_limit: i64) -> RollPolicy {
        let mut p = RollPolicy {
            snap_count: snap_count.max(2),
            snap_size_bytes,
            log_size_limit,
            rand_roll: 0,
            rand_size: 0,
            mark: (0, 0),
        };
        p.draw();
        p
    }

    /// `resetSnapshotStats`: new random offsets.
    fn draw(&mut self) {
        let mut rng = rand::thread_rng();
        self.rand_roll = rng.gen_range(0..self.snap_count / 2);
        self.rand_size = if self.snap_size_bytes / 2 > 0 {
            rng.gen_range(0..self.snap_size_bytes / 2)
        } else {
            0
        };
    }

    /// Whether `txns` txns and `bytes` bytes of log since the last snapshot
    /// call for the next one.
    pub fn snapshot_due(&self, txns: u64, bytes: u64) -> bool {
        txns as i64 > self.snap_count / 2 + self.rand_roll
            || (self.snap_size_bytes > 0
                && bytes as i64 > self.snap_size_bytes / 2 + self.rand_size)
    }

    /// What to do once the writer has appended `appended` (txns, bytes)
    /// since it was opened, `file_bytes` of them in the current file.
    pub fn decide(&self, appended: (u64, u64), file_bytes: u64) -> Roll {
        let (txns, bytes) = (appended.0 - self.mark.0, appended.1 - self.mark.1);
        if self.snapshot_due(txns, bytes) {
            Roll::LogAndSnapshot
        } else if self.log_size_limit > 0 && file_bytes as i64 > self.log_size_limit {
            Roll::Log
        } else {
            Roll::No
        }
    }

    /// The log rolled for a snapshot at `appended`: counting starts again.
    pub fn snapshot_taken(&mut self, appended: (u64, u64)) {
        self.mark = appended;
        self.draw();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_window() {
        let p = RollPolicy::new(10, 0, 0);
        assert!(!p.snapshot_due(5, u64::MAX));
        assert!(p.snapshot_due(10, 0));
        let p = RollPolicy::new(1_000_000, 100, 0);
        assert!(p.snapshot_due(0, 101));
        assert!(!p.snapshot_due(0, 50));
    }

    #[test]
    fn counts_run_from_the_last_snapshot_not_the_last_roll() {
        // snapCount 100: a snapshot is due after more than 50 to 99 txns.
        let mut p = RollPolicy::new(100, 0, 1000);
        // Past the size limit of the file after 50 txns (never due): a roll
        // without a snapshot.
        assert_eq!(p.decide((50, 1500), 1500), Roll::Log);
        // 50 txns later the new file holds only 50 (never due on its own),
        // but the 100 since the last snapshot always are.
        assert_eq!(p.decide((100, 1600), 100), Roll::LogAndSnapshot);
        p.snapshot_taken((100, 1600));
        assert_eq!(p.decide((102, 1700), 100), Roll::No);
        assert_eq!(p.decide((102, 2800), 1200), Roll::Log);
    }

    #[test]
    fn the_size_rules_are_off_at_zero_or_below() {
        let p = RollPolicy::new(1_000_000, 0, -1);
        assert_eq!(p.decide((5, u64::MAX / 2), u64::MAX / 2), Roll::No);
    }
}
