//! Measurements: HDR latency histograms (nanoseconds, 3 significant digits)
//! per op kind, error counts by code, the live counters the progress line
//! reads, and the percentile summary that goes into reports.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::workload::OpKind;

/// Highest latency tracked exactly (larger values are clamped): 60 s.
const MAX_TRACKED_NS: u64 = 60_000_000_000;

/// A latency histogram in nanoseconds.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3).expect("valid histogram bounds")
}

/// Records `d` into `h`, clamping to the tracked range.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let ns = (d.as_nanos() as u64).clamp(1, MAX_TRACKED_NS);
    h.saturating_record(ns);
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        Latency {
            mean: h.mean() / 1000.0,
            p50: us(h.value_at_quantile(0.50)),
            p90: us(h.value_at_quantile(0.90)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            max: us(h.max()),
        }
    }
}

/// One op kind's measurements in the measured window.
#[derive(Debug, Clone)]
pub struct OpStats {
    pub latency: Histogram<u64>,
    pub errors: u64,
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats {
            latency: new_histogram(),
            errors: 0,
        }
    }
}

/// What one session (or, merged, the whole run) measured.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub per_op: BTreeMap<OpKind, OpStats>,
    /// Error replies by `ReplyHeader.err` (measured window only).
    pub error_codes: BTreeMap<i32, u64>,
}

impl RunStats {
    /// Records one completed op; `err` is the reply's error code (0 success).
    pub fn record(&mut self, kind: OpKind, latency: Duration, err: i32) {
        let s = self.per_op.entry(kind).or_default();
        record(&mut s.latency, latency);
        if err != 0 {
            s.errors += 1;
            *self.error_codes.entry(err).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: &RunStats) {
        for (kind, s) in &other.per_op {
            let mine = self.per_op.entry(*kind).or_default();
            mine.latency
                .add(&s.latency)
                .expect("histograms share bounds");
            mine.errors += s.errors;
        }
        for (code, n) in &other.error_codes {
            *self.error_codes.entry(*code).or_default() += n;
        }
    }

    /// All op kinds together.
    pub fn total(&self) -> OpStats {
        let mut t = OpStats::default();
        for s in self.per_op.values() {
            t.latency.add(&s.latency).expect("histograms share bounds");
            t.errors += s.errors;
        }
        t
    }
}

/// Counters shared by the sessions and the progress line (all ops, any phase).
#[derive(Debug, Default)]
pub struct Progress {
    pub completed: AtomicU64,
    pub errors: AtomicU64,
}

impl Progress {
    pub fn add(&self, completed: u64, errors: u64) {
        self.completed.fetch_add(completed, Ordering::Relaxed);
        if errors > 0 {
            self.errors.fetch_add(errors, Ordering::Relaxed);
        }
    }

    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.completed.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_in_microseconds() {
        let mut s = RunStats::default();
        for i in 1..=1000u64 {
            s.record(OpKind::Get, Duration::from_micros(i), 0);
        }
        s.record(OpKind::Set, Duration::from_millis(5), -101);
        let mut merged = RunStats::default();
        merged.merge(&s);
        let t = merged.total();
        assert_eq!(t.latency.len(), 1001);
        assert_eq!(t.errors, 1);
        assert_eq!(merged.error_codes.get(&-101), Some(&1));
        let l = Latency::of(&merged.per_op[&OpKind::Get].latency);
        assert!((l.p50 - 500.0).abs() < 1.0, "{l:?}");
        assert!((l.max - 1000.0).abs() < 1.0, "{l:?}");
        assert_eq!(Latency::of(&new_histogram()), Latency::default());
    }
}
