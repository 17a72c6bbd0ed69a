//! What the log stage and the snapshotter report in `mntr`, under the names
//! ZooKeeper 3.8's `ServerMetrics` gives them, so an operator's dashboards
//! and alerts (`zk_avg_fsynctime`, `zk_max_fsynctime`, ...) keep working.
//!
//! A [`Latency`] is ZooKeeper's `AvgMinMaxCounter` (`avg_`, `min_`, `max_`,
//! `cnt_`, `sum_`); a [`Percentiles`] is its `AvgMinMaxPercentileCounter`,
//! which adds `p50_` to `p999_`. ZooKeeper estimates those from a uniform
//! sample of 4096 values; here a histogram with one bucket per millisecond
//! gives them exactly (up to [`Percentiles::BUCKETS`] ms, beyond which
//! values count in the last bucket). All of it resets with `srst`, as
//! `ServerStats.reset` resets ZooKeeper's metrics.
//!
//! How ferrokeeper's stages map onto `SyncRequestProcessor`'s: the queue is
//! the writer thread's channel, a "flush" is a group commit (one fsync of
//! every batch written meanwhile).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::stats::Latency;

const R: Ordering = Ordering::Relaxed;

/// Milliseconds, truncated as `TimeUnit.NANOSECONDS.toMillis` does.
pub fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// An `AvgMinMaxPercentileCounter`: a [`Latency`] plus percentiles.
pub struct Percentiles {
    summary: Latency,
    buckets: Box<[AtomicU64]>,
}

impl Default for Percentiles {
    fn default() -> Self {
        Percentiles {
            summary: Latency::new(),
            buckets: (0..Self::BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Percentiles {
    /// Milliseconds told apart; larger values count as `BUCKETS - 1`.
    pub const BUCKETS: usize = 4096;

    pub fn add(&self, ms: u64) {
        self.add_n(ms, 1);
    }

    /// `n` samples of the same value.
    pub fn add_n(&self, ms: u64, n: u64) {
        self.summary.add_n(ms, n);
        self.buckets[(ms as usize).min(Self::BUCKETS - 1)].fetch_add(n, R);
    }

    /// One sample per item of `since`, the time each was queued, as
    /// milliseconds before `now`: one update per distinct value (items
    /// queued in order mostly share one).
    pub fn add_since(&self, now: Instant, since: &[Instant]) {
        let mut run: Option<(u64, u64)> = None;
        for &t in since {
            let ms = millis(now.saturating_duration_since(t));
            run = match run {
                Some((v, n)) if v == ms => Some((v, n + 1)),
                Some((v, n)) => {
                    self.add_n(v, n);
                    Some((ms, 1))
                }
                None => Some((ms, 1)),
            };
        }
        if let Some((v, n)) = run {
            self.add_n(v, n);
        }
    }

    pub fn reset(&self) {
        self.summary.reset();
        for b in self.buckets.iter() {
            b.store(0, R);
        }
    }

    /// `mntr` lines for `name`, in `AvgMinMaxPercentileCounter.values` order.
    pub fn lines(&self, name: &str, out: &mut Vec<(String, String)>) {
        summary_lines(&self.summary, name, out);
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(R)).collect();
        for (label, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
            out.push((format!("{label}_{name}"), quantile(&counts, q).to_string()));
        }
    }
}

/// The `k`-th smallest value (0-based) of what the buckets hold.
fn nth(counts: &[u64], k: u64) -> f64 {
    let mut seen = 0;
    for (ms, &c) in counts.iter().enumerate() {
        seen += c;
        if seen > k {
            return ms as f64;
        }
    }
    0.0
}

/// Codahale's `UniformSnapshot.getValue(q)` over every value, rounded
/// as `Math.round`: interpolated between the two values around
/// `q * (n + 1)`.
fn quantile(counts: &[u64], q: f64) -> u64 {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return 0;
    }
    let pos = q * (n + 1) as f64;
    let index = pos as u64;
    let value = if index < 1 {
        nth(counts, 0)
    } else if index >= n {
        nth(counts, n - 1)
    } else {
        let lower = nth(counts, index - 1);
        let upper = nth(counts, index);
        lower + (pos - pos.floor()) * (upper - lower)
    };
    (value + 0.5).floor() as u64
}

/// `mntr` lines of an `AvgMinMaxCounter` named `name`.
fn summary_lines(s: &Latency, name: &str, out: &mut Vec<(String, String)>) {
    out.push((format!("avg_{name}"), format!("{:?}", s.avg())));
    out.push((format!("min_{name}"), s.min().to_string()));
    out.push((format!("max_{name}"), s.max().to_string()));
    out.push((format!("cnt_{name}"), s.count().to_string()));
    out.push((format!("sum_{name}"), s.sum().to_string()));
}

/// The log stage's and the snapshotter's metrics.
pub struct LogMetrics {
    /// `sync_processor_request_queued`: items handed to the log stage.
    queued: AtomicU64,
    /// `sync_processor_queue_size`: items still waiting as the writer takes
    /// each one (see [`LogMetrics::taken`]).
    queue_size: Latency,
    /// `sync_processor_queue_time_ms`: per item, from queued to taken by the writer.
    pub queue_time: Percentiles,
    /// `sync_process_time`: per item, the time to append and write its batch.
    pub process_time: Latency,
    /// `sync_processor_batch_size`: items per group commit.
    pub batch_size: Latency,
    /// `sync_processor_queue_flush_time_ms`: per group commit, its fsyncs.
    pub flush_time: Percentiles,
    /// `sync_processor_queue_and_flush_time_ms`: per item, from queued to durable.
    pub queue_and_flush_time: Percentiles,
    /// `fsynctime`: per log file fsynced.
    pub fsync_time: Latency,
    /// `snapshottime`: per snapshot written.
    pub snapshot_time: Latency,
    /// `startup_snap_load_time`, `startup_txns_loaded`, `startup_txns_load_time`.
    pub startup_snap_load_time: Latency,
    pub startup_txns_loaded: Latency,
    pub startup_txns_load_time: Latency,
}

impl Default for LogMetrics {
    fn default() -> Self {
        LogMetrics {
            queued: AtomicU64::new(0),
            queue_size: Latency::new(),
            queue_time: Percentiles::default(),
            process_time: Latency::new(),
            batch_size: Latency::new(),
            flush_time: Percentiles::default(),
            queue_and_flush_time: Percentiles::default(),
            fsync_time: Latency::new(),
            snapshot_time: Latency::new(),
            startup_snap_load_time: Latency::new(),
            startup_txns_loaded: Latency::new(),
            startup_txns_load_time: Latency::new(),
        }
    }
}

impl LogMetrics {
    /// The writer took `n` waiting items at once: `queued` grows by `n`,
    /// and the queue size is sampled as `SyncRequestProcessor` samples it,
    /// once per item taken, with the items behind it: `n - 1` down to 0.
    pub fn taken(&self, n: u64) {
        if n == 0 {
            return;
        }
        self.queued.fetch_add(n, R);
        self.queue_size.add_aggregate(0, n - 1, n * (n - 1) / 2, n);
    }

    /// `srst`.
    pub fn reset(&self) {
        self.queued.store(0, R);
        for l in self.summaries() {
            l.1.reset();
        }
        for p in self.percentiles() {
            p.1.reset();
        }
    }

    fn summaries(&self) -> [(&'static str, &Latency); 8] {
        [
            ("sync_processor_queue_size", &self.queue_size),
            ("sync_process_time", &self.process_time),
            ("sync_processor_batch_size", &self.batch_size),
            ("fsynctime", &self.fsync_time),
            ("snapshottime", &self.snapshot_time),
            ("startup_snap_load_time", &self.startup_snap_load_time),
            ("startup_txns_loaded", &self.startup_txns_loaded),
            ("startup_txns_load_time", &self.startup_txns_load_time),
        ]
    }

    fn percentiles(&self) -> [(&'static str, &Percentiles); 3] {
        [
            ("sync_processor_queue_time_ms", &self.queue_time),
            ("sync_processor_queue_flush_time_ms", &self.flush_time),
            (
                "sync_processor_queue_and_flush_time_ms",
                &self.queue_and_flush_time,
            ),
        ]
    }

    /// `mntr` lines (keys without the `zk_` prefix).
    pub fn lines(&self) -> Vec<(String, String)> {
        let mut out = vec![(
            "sync_processor_request_queued".to_owned(),
            self.queued.load(R).to_string(),
        )];
        for (name, s) in self.summaries() {
            summary_lines(s, name, &mut out);
        }
        for (name, p) in self.percentiles() {
            p.lines(name, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(lines: &[(String, String)], key: &str) -> String {
        lines
            .iter()
            .find(|(k, _)| k == key)
            .unwrap_or_else(|| panic!("no {key}"))
            .1
            .clone()
    }

    #[test]
    fn percentiles_interpolate_as_codahale_does() {
        let p = Percentiles::default();
        // 1..=10: pos = q * 11; p50 at 5.5 -> 5 + 0.5 * (6 - 5) = 5.5, rounds to 6.
        for ms in 1..=10 {
            p.add(ms);
        }
        let mut lines = Vec::new();
        p.lines("t", &mut lines);
        assert_eq!(value_of(&lines, "p50_t"), "6");
        // p95: pos 10.45, index 10 >= n: the largest value.
        assert_eq!(value_of(&lines, "p95_t"), "10");
        assert_eq!(value_of(&lines, "avg_t"), "5.5");
        assert_eq!(value_of(&lines, "min_t"), "1");
        assert_eq!(value_of(&lines, "max_t"), "10");
        assert_eq!(value_of(&lines, "cnt_t"), "10");
        assert_eq!(value_of(&lines, "sum_t"), "55");
    }

    #[test]
    fn percentiles_of_a_skewed_sample_and_of_none() {
        let p = Percentiles::default();
        let mut lines = Vec::new();
        p.lines("t", &mut lines);
        assert_eq!(value_of(&lines, "p99_t"), "0");
        assert_eq!(value_of(&lines, "avg_t"), "0.0");
        // 990 zeros, 9 values of 7 and one of 5000 (counted in the last bucket).
        for _ in 0..990 {
            p.add(0);
        }
        for _ in 0..9 {
            p.add(7);
        }
        p.add(5000);
        let mut lines = Vec::new();
        p.lines("t", &mut lines);
        assert_eq!(value_of(&lines, "p50_t"), "0");
        // p99: pos 990.99 -> values[989] = 0 and values[990] = 7: 6.93 -> 7.
        assert_eq!(value_of(&lines, "p99_t"), "7");
        // p999: pos 999.999 -> between 7 and the largest bucket.
        assert_eq!(
            value_of(&lines, "p999_t"),
            ((7.0 + 0.999 * (Percentiles::BUCKETS as f64 - 1.0 - 7.0)) + 0.5)
                .floor()
                .to_string()
        );
        assert_eq!(value_of(&lines, "max_t"), "5000");
    }

    #[test]
    fn every_zookeeper_key_is_listed_and_srst_clears_them() {
        let m = LogMetrics::default();
        m.taken(3);
        m.fsync_time.add(12);
        m.queue_and_flush_time.add(4);
        let lines = m.lines();
        assert_eq!(value_of(&lines, "sync_processor_request_queued"), "3");
        // Taking 3 at once: 2, 1 and 0 behind each.
        assert_eq!(value_of(&lines, "sum_sync_processor_queue_size"), "3");
        assert_eq!(value_of(&lines, "max_sync_processor_queue_size"), "2");
        assert_eq!(value_of(&lines, "avg_sync_processor_queue_size"), "1.0");
        assert_eq!(value_of(&lines, "max_fsynctime"), "12");
        assert_eq!(
            value_of(&lines, "p50_sync_processor_queue_and_flush_time_ms"),
            "4"
        );
        for key in [
            "cnt_sync_processor_batch_size",
            "avg_sync_process_time",
            "sum_snapshottime",
            "cnt_startup_snap_load_time",
            "max_startup_txns_loaded",
            "min_startup_txns_load_time",
            "avg_sync_processor_queue_size",
            "p999_sync_processor_queue_time_ms",
            "p95_sync_processor_queue_flush_time_ms",
        ] {
            value_of(&lines, key);
        }
        m.reset();
        let lines = m.lines();
        assert_eq!(value_of(&lines, "sync_processor_request_queued"), "0");
        assert_eq!(value_of(&lines, "cnt_fsynctime"), "0");
        assert_eq!(
            value_of(&lines, "p50_sync_processor_queue_and_flush_time_ms"),
            "0"
        );
    }
}
