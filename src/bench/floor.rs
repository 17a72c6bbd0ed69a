//! What the machine itself allows, with no server work at all: the latency
//! floors a server's synchronous figures cannot go under.
//!
//! - A loopback round trip of a small request through a trivial echo thread
//!   (TCP, `TCP_NODELAY`, blocking sockets): the floor of a synchronous read.
//! - A write of about one txn entry plus `fdatasync`, over already-written
//!   blocks of a file in the data directory's file system (as a txn log that
//!   keeps its preallocation zeroed): the floor of making one write durable.
//! - Their sum, pairing independent samples of each: the floor of a
//!   synchronous durable write (the sync-set workload).
//!
//! `bench/compare.sh` runs this beside the servers, so a latency target below
//! what the machine allows shows as such in the summary.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;

use super::stats::{new_histogram, record, Latency};

/// Bytes of the echoed request: about a getData request with its frame.
const REQUEST_BYTES: usize = 60;
/// Round trips and syncs before measuring.
const WARMUP_SAMPLES: usize = 1000;
/// Bytes written (as zeros) before the fsync probe, so its writes land on
/// allocated blocks and its fsyncs flush only data.
const PREFILL_BYTES: u64 = 16 * 1024 * 1024;
/// The largest synced write probed (larger `write_bytes` are cut to it).
const MAX_WRITE_BYTES: usize = 1024 * 1024;

/// What to measure.
#[derive(Debug, Clone)]
pub struct FloorConfig {
    /// Directory whose file system is probed (the servers' data directory).
    pub dir: PathBuf,
    /// Samples of each kind.
    pub samples: usize,
    /// Bytes per synced write (about one txn log entry).
    pub write_bytes: usize,
}

/// The floors, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct FloorReport {
    pub mode: &'static str,
    pub dir: String,
    pub samples: usize,
    pub write_bytes: usize,
    /// Loopback round trip through an echo thread.
    pub round_trip_us: Latency,
    /// One write of `write_bytes` plus `fdatasync`.
    pub fdatasync_us: Latency,
    /// A round trip plus a synced write (independent samples added).
    pub round_trip_plus_fdatasync_us: Latency,
    /// Synced writes that took over 1 ms, per second spent syncing: the
    /// disk's stalls, which hold up every write in flight at the time.
    pub fdatasync_over_1ms_per_s: f64,
}

impl FloorReport {
    pub fn table(&self) -> String {
        let row = |name: &str, l: &Latency| {
            format!(
                "{name:<34} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9.1}\n",
                l.p50, l.p90, l.p99, l.p999, l.max
            )
        };
        let mut s = format!(
            "machine floors ({} samples each; synced writes of {} B in {})\n{:<34} {:>8} {:>8} {:>8} {:>8} {:>9}\n",
            self.samples, self.write_bytes, self.dir, "floor", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us"
        );
        s += &row("loopback round trip (echo)", &self.round_trip_us);
        s += &row("write + fdatasync", &self.fdatasync_us);
        s += &row(
            "round trip + write + fdatasync",
            &self.round_trip_plus_fdatasync_us,
        );
        s += &format!(
            "fdatasyncs over 1 ms: {:.1} per second of syncing\n",
            self.fdatasync_over_1ms_per_s
        );
        s
    }
}

/// Measures the floors; takes about `samples` x (round trip + fdatasync).
pub fn run(cfg: &FloorConfig) -> anyhow::Result<FloorReport> {
    let samples = cfg.samples.max(1);
    let write_bytes = cfg.write_bytes.clamp(1, MAX_WRITE_BYTES);
    let trips = round_trips(samples).context("loopback round trips")?;
    let syncs = synced_writes(&cfg.dir, samples, write_bytes)
        .with_context(|| format!("synced writes in {}", cfg.dir.display()))?;
    // Pair each round trip with a sync taken half a run away, so the two of
    // a pair never share a moment of machine noise.
    let mut sum = new_histogram();
    for (i, trip) in trips.iter().enumerate() {
        record(&mut sum, *trip + syncs[(i + samples / 2) % samples]);
    }
    Ok(FloorReport {
        mode: "floor",
        dir: cfg.dir.display().to_string(),
        samples,
        write_bytes,
        round_trip_us: Latency::of(&histogram(&trips)),
        fdatasync_us: Latency::of(&histogram(&syncs)),
        round_trip_plus_fdatasync_us: Latency::of(&sum),
        fdatasync_over_1ms_per_s: stalls_per_second(&syncs, Duration::from_millis(1)),
    })
}

/// How many `samples` exceed `over`, per second of their total.
fn stalls_per_second(samples: &[Duration], over: Duration) -> f64 {
    let total: Duration = samples.iter().sum();
    let stalls = samples.iter().filter(|d| **d > over).count();
    if total.is_zero() {
        0.0
    } else {
        stalls as f64 / total.as_secs_f64()
    }
}

fn histogram(samples: &[Duration]) -> Histogram<u64> {
    let mut h = new_histogram();
    for d in samples {
        record(&mut h, *d);
    }
    h
}

/// Times `samples` round trips of a small request through an echo thread.
fn round_trips(samples: usize) -> std::io::Result<Vec<Duration>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let echo = std::thread::Builder::new()
        .name("floor-echo".into())
        .spawn(move || -> std::io::Result<()> {
            let (mut conn, _) = listener.accept()?;
            conn.set_nodelay(true)?;
            let mut buf = [0u8; REQUEST_BYTES];
            // The client closing its end ends the loop.
            while conn.read_exact(&mut buf).is_ok() {
                conn.write_all(&buf)?;
            }
            Ok(())
        })?;
    let mut conn = TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    let mut buf = [7u8; REQUEST_BYTES];
    let mut out = Vec::with_capacity(samples);
    for i in 0..WARMUP_SAMPLES + samples {
        let t = Instant::now();
        conn.write_all(&buf)?;
        conn.read_exact(&mut buf)?;
        if i >= WARMUP_SAMPLES {
            out.push(t.elapsed());
        }
    }
    drop(conn);
    echo.join()
        .map_err(|_| std::io::Error::other("echo thread panicked"))??;
    Ok(out)
}

/// Times `samples` appends of `bytes` each followed by `fdatasync`, in a
/// scratch file in `dir` that is removed afterwards.
fn synced_writes(dir: &Path, samples: usize, bytes: usize) -> std::io::Result<Vec<Duration>> {
    let path = dir.join(format!("floor-probe.{}.tmp", std::process::id()));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let result = time_synced_writes(&file, samples, bytes);
    std::fs::remove_file(&path)?;
    result
}

fn time_synced_writes(file: &File, samples: usize, bytes: usize) -> std::io::Result<Vec<Duration>> {
    let zeros = vec![0u8; 1024 * 1024];
    let mut at = 0;
    while at < PREFILL_BYTES {
        file.write_all_at(&zeros, at)?;
        at += zeros.len() as u64;
    }
    file.sync_all()?;
    let entry = vec![0x42u8; bytes];
    let wrap = PREFILL_BYTES - bytes as u64;
    let mut pos = 0u64;
    let mut out = Vec::with_capacity(samples);
    for i in 0..WARMUP_SAMPLES + samples {
        let t = Instant::now();
        file.write_all_at(&entry, pos)?;
        file.sync_data()?;
        if i >= WARMUP_SAMPLES {
            out.push(t.elapsed());
        }
        pos = (pos + bytes as u64) % wrap;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_are_measured_and_the_scratch_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let report = run(&FloorConfig {
            dir: dir.path().to_path_buf(),
            samples: 200,
            write_bytes: 200,
        })
        .unwrap();
        for l in [
            report.round_trip_us,
            report.fdatasync_us,
            report.round_trip_plus_fdatasync_us,
        ] {
            assert!(l.p50 > 0.0 && l.p50 <= l.p99 && l.p99 <= l.max, "{l:?}");
        }
        // Each sum exceeds its own round trip and its own sync.
        assert!(report.round_trip_plus_fdatasync_us.p50 > report.round_trip_us.p50);
        assert!(report.round_trip_plus_fdatasync_us.p50 > report.fdatasync_us.p50);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(report.table().contains("round trip + write + fdatasync"));
    }

    #[test]
    fn stalls_are_counted_per_second_of_samples() {
        let us = Duration::from_micros;
        // 4 ms in all; one sample over 1 ms, three over 0.75 ms.
        let samples = [us(500), us(1500), us(1000), us(1000)];
        assert_eq!(stalls_per_second(&samples, us(1000)), 250.0);
        assert_eq!(stalls_per_second(&samples, us(750)), 750.0);
        assert_eq!(stalls_per_second(&[], us(1000)), 0.0);
    }
}
