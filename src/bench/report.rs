//! Results as a human table (stdout) and as JSON (`--json FILE`): the load
//! report (throughput and latency per op kind and overall) and the watch
//! fan-out report (time until every watcher is notified, per repetition).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::stats::{Latency, RunStats};
use super::workload::OpKind;

/// One op kind's (or all ops') figures.
#[derive(Debug, Clone, Serialize)]
pub struct OpFigures {
    pub ops: u64,
    pub errors: u64,
    pub ops_per_sec: f64,
    pub latency_us: Latency,
}

/// The parameters a load run used.
#[derive(Debug, Clone, Serialize)]
pub struct LoadParams {
    pub server: String,
    pub label: String,
    pub sessions: usize,
    pub inflight: usize,
    pub mix: String,
    pub value_size: usize,
    pub keys: u64,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub seed: u64,
}

/// The result of a load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub mode: &'static str,
    pub params: LoadParams,
    /// Length of the measured window, seconds.
    pub measured_s: f64,
    pub total: OpFigures,
    pub per_op: BTreeMap<String, OpFigures>,
    /// Error replies by code.
    pub error_codes: BTreeMap<String, u64>,
    /// Session-level failures (connection lost, protocol violations).
    pub failures: Vec<String>,
}

impl LoadReport {
    pub fn new(
        params: LoadParams,
        measured_s: f64,
        stats: &RunStats,
        failures: Vec<String>,
    ) -> LoadReport {
        let figures = |ops: u64, errors: u64, latency: Latency| OpFigures {
            ops,
            errors,
            ops_per_sec: if measured_s > 0.0 {
                ops as f64 / measured_s
            } else {
                0.0
            },
            latency_us: latency,
        };
        let total = stats.total();
        let per_op = stats
            .per_op
            .iter()
            .map(|(kind, s): (&OpKind, _)| {
                (
                    kind.name().to_string(),
                    figures(s.latency.len(), s.errors, Latency::of(&s.latency)),
                )
            })
            .collect();
        LoadReport {
            mode: "load",
            params,
            measured_s,
            total: figures(
                total.latency.len(),
                total.errors,
                Latency::of(&total.latency),
            ),
            per_op,
            error_codes: stats
                .error_codes
                .iter()
                .map(|(c, n)| (c.to_string(), *n))
                .collect(),
            failures,
        }
    }

    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let p = &self.params;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "server {} ({}) | {} sessions x {} in flight | mix {} | {} B values | {} keys | {:.1}s measured after {:.1}s warm-up | seed {}",
            p.server, p.label, p.sessions, p.inflight, p.mix, p.value_size, p.keys,
            self.measured_s, p.warmup_s, p.seed
        );
        let _ = writeln!(
            s,
            "{:<12} {:>10} {:>7} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "op",
            "ops",
            "errors",
            "ops/s",
            "mean us",
            "p50 us",
            "p90 us",
            "p99 us",
            "p99.9 us",
            "max us"
        );
        let mut row = |name: &str, f: &OpFigures| {
            let l = &f.latency_us;
            let _ = writeln!(
                s,
                "{:<12} {:>10} {:>7} {:>11.0} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                name, f.ops, f.errors, f.ops_per_sec, l.mean, l.p50, l.p90, l.p99, l.p999, l.max
            );
        };
        for (name, f) in &self.per_op {
            row(name, f);
        }
        if self.per_op.len() > 1 {
            row("total", &self.total);
        }
        if !self.error_codes.is_empty() {
            let _ = writeln!(s, "error codes: {:?}", self.error_codes);
        }
        for f in &self.failures {
            let _ = writeln!(s, "FAILURE: {f}");
        }
        s
    }
}

/// Summary statistics of a small sample (milliseconds).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Summary {
        if values.is_empty() {
            return Summary::default();
        }
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
        Summary {
            min: v[0],
            p50: at(0.5),
            p90: at(0.9),
            max: v[v.len() - 1],
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

/// One fan-out repetition, milliseconds from sending the setData.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutRep {
    pub set_reply_ms: f64,
    pub first_ms: f64,
    pub median_ms: f64,
    pub all_ms: f64,
    pub notified: usize,
}

/// The result of a watch fan-out run.
#[derive(Debug, Clone, Serialize)]
pub struct FanoutReport {
    pub mode: &'static str,
    pub server: String,
    pub label: String,
    pub watchers: usize,
    pub repeats: usize,
    pub value_size: usize,
    /// Time until every watcher was notified, over the repetitions.
    pub all_notified_ms: Summary,
    /// Median watcher's notification time, over the repetitions.
    pub median_notified_ms: Summary,
    /// The setter's setData round trip, over the repetitions.
    pub set_reply_ms: Summary,
    /// Every single notification, all repetitions (microseconds).
    pub per_notification_us: Latency,
    pub reps: Vec<FanoutRep>,
    pub failures: Vec<String>,
}

impl FanoutReport {
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "server {} ({}) | watch fan-out: {} watchers on one node, {} repetitions",
            self.server, self.label, self.watchers, self.repeats
        );
        let _ = writeln!(
            s,
            "{:<28} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "figure (ms)", "min", "p50", "p90", "max", "mean"
        );
        for (name, x) in [
            ("all watchers notified", &self.all_notified_ms),
            ("median watcher notified", &self.median_notified_ms),
            ("setData reply", &self.set_reply_ms),
        ] {
            let _ = writeln!(
                s,
                "{:<28} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                name, x.min, x.p50, x.p90, x.max, x.mean
            );
        }
        let l = &self.per_notification_us;
        let _ = writeln!(
            s,
            "each notification (us): p50 {:.0} p90 {:.0} p99 {:.0} p99.9 {:.0} max {:.0}",
            l.p50, l.p90, l.p99, l.p999, l.max
        );
        for f in &self.failures {
            let _ = writeln!(s, "FAILURE: {f}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_sample() {
        let s = Summary::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.min, s.p50, s.max, s.mean), (1.0, 2.0, 3.0, 2.0));
        assert_eq!(Summary::of(&[]).max, 0.0);
    }
}
