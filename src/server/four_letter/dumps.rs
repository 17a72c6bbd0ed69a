//! The listing words: `wchs`, `wchc`, `wchp` (the data-watch table, as
//! `DataTree.dumpWatchesSummary` / `dumpWatches` print it — child watches are
//! not listed there) and `dump` (sessions by expiry bucket, ephemerals,
//! connections by expiry bucket).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::server::Shared;

/// `wchs`: `WatchManager.toString()` plus the command's final newline.
pub fn wchs(shared: &Shared) -> String {
    let tree = shared.tree.read().expect("tree lock");
    let (data, _) = tree.watch_tables();
    let (connections, paths, total) = data.summary();
    format!("{connections} connections watching {paths} paths\nTotal watches:{total}\n")
}

/// `wchp`: each watched path, then its watchers' session ids.
pub fn wchp(shared: &Shared) -> String {
    let tree = shared.tree.read().expect("tree lock");
    let (data, _) = tree.watch_tables();
    let mut s = String::new();
    for (path, sessions) in data.by_path() {
        let _ = writeln!(s, "{path}");
        for sid in sessions {
            let _ = writeln!(s, "\t0x{sid:x}");
        }
    }
    s.push('\n');
    s
}

/// The data watches by session: each watching session's paths.
pub fn watches_by_session(shared: &Shared) -> BTreeMap<i64, Vec<String>> {
    let tree = shared.tree.read().expect("tree lock");
    let (data, _) = tree.watch_tables();
    let mut by_session: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (path, sessions) in data.by_path() {
        for sid in sessions {
            by_session.entry(sid).or_default().push(path.clone());
        }
    }
    by_session
}

/// `wchc`: each watching session, then its paths.
pub fn wchc(shared: &Shared) -> String {
    let mut s = String::new();
    for (sid, paths) in watches_by_session(shared) {
        let _ = writeln!(s, "0x{sid:x}");
        for p in paths {
            let _ = writeln!(s, "\t{p}");
        }
    }
    s.push('\n');
    s
}

/// ZooKeeper's sessionless-connection timeout: the connection expiry
/// interval `dump` groups connections by.
const CNXN_EXPIRY_INTERVAL_MS: u64 = 10_000;

/// `ExpiryQueue.roundToNextInterval`.
fn round_to_next(time: u64, interval: u64) -> u64 {
    (time / interval + 1) * interval
}

/// `ExpiryQueue.dump`: "Sets (buckets)/(elements):" then each bucket in time order.
fn expiry_sets(out: &mut String, buckets: &BTreeMap<u64, Vec<String>>) {
    let elements: usize = buckets.values().map(Vec::len).sum();
    let _ = writeln!(out, "Sets ({})/({}):", buckets.len(), elements);
    for (at, members) in buckets {
        let _ = writeln!(out, "{} expire at {}:", members.len(), java_date(*at));
        for m in members {
            let _ = writeln!(out, "\t{m}");
        }
    }
}

/// The session tracker's expiry buckets: when (ms since the epoch, rounded up
/// to a tick) each live session expires unless its client is heard from.
pub fn session_expiry(shared: &Shared) -> BTreeMap<u64, Vec<i64>> {
    let tick = u64::from(shared.config.tick_time_ms.max(1));
    let sessions = shared.sessions();
    let last = shared.stats.session_last_activity(&sessions);
    let mut buckets: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    for (sid, timeout) in &sessions {
        let from = last
            .get(sid)
            .copied()
            .unwrap_or(shared.stats.started_wall_ms);
        let at = round_to_next(from + u64::try_from(*timeout).unwrap_or(0), tick);
        buckets.entry(at).or_default().push(*sid);
    }
    buckets
}

/// `DumpCommand`: the session tracker, the ephemerals, the connections.
pub fn dump(shared: &Shared) -> String {
    let buckets: BTreeMap<u64, Vec<String>> = session_expiry(shared)
        .into_iter()
        .map(|(at, sids)| (at, sids.iter().map(|sid| format!("0x{sid:x}")).collect()))
        .collect();
    let mut s = String::from("SessionTracker dump:\nSession ");
    expiry_sets(&mut s, &buckets);

    s.push_str("ephemeral nodes dump:\n");
    {
        let tree = shared.tree.read().expect("tree lock");
        let owners = tree.sessions_with_ephemerals();
        let _ = writeln!(s, "Sessions with Ephemerals ({}):", owners.len());
        for sid in owners {
            let _ = writeln!(s, "0x{sid:x}:");
            for p in tree.ephemerals(sid) {
                let _ = writeln!(s, "\t{p}");
            }
        }
    }

    s.push_str("Connections dump:\nConnections ");
    let mut buckets: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for c in shared.stats.connections() {
        let timeout = match u64::try_from(c.timeout_ms()) {
            Ok(t) if t > 0 => t,
            _ => CNXN_EXPIRY_INTERVAL_MS,
        };
        let last = c.last_activity_wall_ms(&shared.stats);
        let at = round_to_next(last + timeout, CNXN_EXPIRY_INTERVAL_MS);
        let line = format!("ip: /{} sessionId: 0x{:x}", c.peer, c.session_id());
        buckets.entry(at).or_default().push(line);
    }
    expiry_sets(&mut s, &buckets);
    s
}

/// `java.util.Date.toString()` in UTC: "Wed Nov 25 15:32:46 UTC 2026".
pub fn java_date(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        y
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_as_java_does() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2026-11-25T15:32:46Z
        assert_eq!(java_date(1_795_620_766_000), "Wed Nov 25 15:32:46 UTC 2026");
        // 2024-02-29T23:59:59Z
        assert_eq!(java_date(1_709_251_199_000), "Thu Feb 29 23:59:59 UTC 2024");
    }

    #[test]
    fn buckets_round_up() {
        assert_eq!(round_to_next(0, 500), 500);
        assert_eq!(round_to_next(499, 500), 500);
        assert_eq!(round_to_next(500, 500), 1000);
    }
}
