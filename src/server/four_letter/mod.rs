//! Four-letter words: plain-text commands sent in place of a ConnectRequest,
//! answered and then closed. Each answer has the layout Apache ZooKeeper 3.8
//! standalone gives it (`server/command/*.java`); monitoring scripts parse them.
//! Only words in `4lw.commands.whitelist` run, as in ZooKeeper.
//!
//! - server state: `ruok`, `isro`, `srvr`, `stat`, `mntr`, `conf`, `srst`, `crst`
//! - connections and sessions: `cons`, `dump` ([`dumps`])
//! - watches: `wchs`, `wchc`, `wchp` ([`dumps`])
//! - the host: `envi`, `dirs` ([`host`])
//! - the tree digest history: `hash`
//! - `ZooTrace`'s text trace mask: `gtmk`, `stmk` (stored and reported only;
//!   ferrokeeper traces nothing by it)
//!
//! The AdminServer's commands ([`crate::server::admin`]) read the same
//! data through the `pub` gatherers here (`monitor_pairs`, `version_dirs`,
//! [`dumps`], [`host`]).

pub mod dumps;
pub mod host;

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::server::Shared;

const WORDS: &[&str] = &[
    "ruok", "srvr", "stat", "isro", "conf", "envi", "cons", "crst", "dump", "mntr", "srst", "wchc",
    "wchp", "wchs", "dirs", "gtmk", "stmk", "hash",
];

/// The ZooKeeper release whose wire protocol and answers ferrokeeper follows.
/// Tools read the version to pick features (kazoo's `server_version()` parses
/// the digits before the first `-`), so it leads the version string.
pub const ZOOKEEPER_VERSION: &str = "3.8.0";

/// `Version.getFullVersion()` as ferrokeeper reports it.
pub fn full_version() -> String {
    format!(
        "{ZOOKEEPER_VERSION}-ferrokeeper-{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// `ZooTrace`'s default text trace mask: client requests, server packets,
/// sessions and warnings (306).
pub const DEFAULT_TRACE_MASK: i64 = 0b1_0011_0010;

/// The word a frame length spells, when it is one ZooKeeper knows.
pub fn word_of(len: u32) -> Option<&'static str> {
    let bytes = len.to_be_bytes();
    WORDS.iter().copied().find(|w| w.as_bytes() == bytes)
}

/// The text answer to `word`, given the bytes that arrived with it; `None`
/// when the connection is to be closed without one.
pub fn answer(word: &str, rest: &[u8], shared: &Shared) -> Option<String> {
    if !shared.config.allows_four_letter_word(word) {
        return Some(format!(
            "{word} is not executed because it is not in the whitelist.\n"
        ));
    }
    let text = match word {
        "ruok" => "imok".into(),
        "isro" => "rw".into(),
        "srvr" => server_summary(shared, false),
        "stat" => server_summary(shared, true),
        "conf" => conf(shared),
        "mntr" => mntr(shared),
        "cons" => cons(shared),
        "srst" => {
            shared.stats.reset();
            "Server stats reset.\n".into()
        }
        "crst" => {
            shared.stats.reset_connections();
            "Connection stats reset.\n".into()
        }
        "gtmk" => shared.trace_mask().to_string(),
        "stmk" => return set_trace_mask(rest, shared),
        "wchs" => dumps::wchs(shared),
        "wchc" => dumps::wchc(shared),
        "wchp" => dumps::wchp(shared),
        "dump" => dumps::dump(shared),
        "envi" => host::envi(),
        "dirs" => host::dirs(shared),
        "hash" => digest_history(shared),
        _ => format!("{word} is not supported by ferrokeeper yet.\n"),
    };
    Some(text)
}

/// `SetTraceMaskCommand` (`stmk`): the new mask is the big-endian long that
/// follows the word, and the answer is that mask in decimal. ZooKeeper takes
/// the long from one non-blocking read (`NIOServerCnxn.checkFourLetterWord`),
/// so it must arrive with the word: with fewer than 8 bytes there it closes
/// the connection without an answer (a `BufferUnderflowException`) and the
/// mask stays. Bytes past the 8 are ignored.
fn set_trace_mask(rest: &[u8], shared: &Shared) -> Option<String> {
    let mask = i64::from_be_bytes(*rest.first_chunk::<8>()?);
    shared.set_trace_mask(mask);
    tracing::info!("Set text trace mask to 0x{mask:x}");
    Some(mask.to_string())
}

/// `DigestCommand` (`hash`): the tree digest every 128 zxids, the last 1024,
/// as "<hex zxid>: <digest>" lines.
fn digest_history(shared: &Shared) -> String {
    let tree = shared.tree.read().expect("tree lock");
    tree.digest_log()
        .map(|(zxid, digest)| format!("{zxid:x}: {digest}\n"))
        .collect()
}

/// A double as Java's `Double.toString` prints small values ("0.0", "29.6667").
fn java_double(v: f64) -> String {
    format!("{v:?}")
}

/// `StatCommand`: `srvr`, and with the client list `stat`.
fn server_summary(shared: &Shared, with_clients: bool) -> String {
    let (zxid, nodes) = {
        let tree = shared.tree.read().expect("tree lock");
        (tree.last_processed_zxid(), tree.node_count())
    };
    let stats = &shared.stats;
    let mut s = format!("Zookeeper version: {}\n", full_version());
    if with_clients {
        s.push_str("Clients:\n");
        for c in stats.connections() {
            s.push_str(&c.describe(true));
            s.push('\n');
        }
        s.push('\n');
    }
    let _ = write!(
        s,
        "Latency min/avg/max: {}/{}/{}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{:x}\nMode: standalone\nNode count: {}\n",
        stats.latency.min(),
        java_double(stats.latency.avg()),
        stats.latency.max(),
        stats.packets_received(),
        stats.packets_sent(),
        shared.connection_count(),
        stats.outstanding(),
        zxid,
        nodes
    );
    s
}

/// `ConsCommand`: every connection with its session's counters.
fn cons(shared: &Shared) -> String {
    let mut s = String::new();
    for c in shared.stats.connections() {
        s.push_str(&c.describe(false));
        s.push('\n');
    }
    s.push('\n');
    s
}

/// The directories ZooKeeper reports as dataDir and dataLogDir: where the
/// snapshots and the logs are (`version-2` under each).
pub fn version_dirs(shared: &Shared) -> (PathBuf, PathBuf) {
    let cfg = &shared.config;
    (
        cfg.data_dir.join("version-2"),
        cfg.data_log_dir.join("version-2"),
    )
}

/// `clientPortListenBacklog` (-1: the OS default).
pub fn listen_backlog(shared: &Shared) -> i32 {
    shared
        .config
        .unknown
        .get("clientPortListenBacklog")
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(-1)
}

/// `ZooKeeperServer.dumpConf`.
fn conf(shared: &Shared) -> String {
    let cfg = &shared.config;
    let (snap_dir, log_dir) = version_dirs(shared);
    let (snap_size, log_size) = host::dir_sizes(shared);
    let backlog = listen_backlog(shared);
    format!(
        "clientPort={}\nsecureClientPort={}\ndataDir={}\ndataDirSize={}\ndataLogDir={}\ndataLogSize={}\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\nmaxSessionTimeout={}\nclientPortListenBacklog={}\nserverId=0\n",
        cfg.client_port,
        cfg.secure_client_port.map_or(-1, i32::from),
        absolute(&snap_dir),
        snap_size,
        absolute(&log_dir),
        log_size,
        cfg.tick_time_ms,
        cfg.max_client_cnxns,
        cfg.min_session_timeout_ms,
        cfg.max_session_timeout_ms,
        backlog
    )
}

pub fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// `MonitorCommand`: `zk_<key>\t<value>` lines.
fn mntr(shared: &Shared) -> String {
    let mut s = String::new();
    for (k, v) in monitor_pairs(shared) {
        let _ = writeln!(s, "zk_{k}\t{v}");
    }
    s
}

/// `MonitorCommand`'s gauges and metrics, in the order ZooKeeper 3.8 gives
/// them, with their values as text.
pub fn monitor_pairs(shared: &Shared) -> Vec<(String, String)> {
    let (nodes, watches, ephemerals, data_size) = {
        let tree = shared.tree.read().expect("tree lock");
        (
            tree.node_count(),
            tree.watch_count(),
            tree.ephemerals_count(),
            tree.approximate_data_size(),
        )
    };
    let stats = &shared.stats;
    let (open_fds, max_fds) = host::file_descriptors();
    let (last_size, min_size, max_size) = stats.response_sizes.get();
    let gauges: Vec<(&str, String)> = vec![
        ("version", full_version()),
        ("server_state", "standalone".into()),
        ("ephemerals_count", ephemerals.to_string()),
        (
            "num_alive_connections",
            shared.connection_count().to_string(),
        ),
        ("avg_latency", java_double(stats.latency.avg())),
        ("outstanding_requests", stats.outstanding().to_string()),
        ("znode_count", nodes.to_string()),
        ("global_sessions", shared.sessions().len().to_string()),
        ("non_mtls_remote_conn_count", "0".into()),
        ("last_client_response_size", last_size.to_string()),
        ("packets_sent", stats.packets_sent().to_string()),
        ("packets_received", stats.packets_received().to_string()),
        ("max_client_response_size", max_size.to_string()),
        ("connection_drop_probability", "0.0".into()),
        ("watch_count", watches.to_string()),
        ("auth_failed_count", stats.auth_failed_count().to_string()),
        ("min_latency", stats.latency.min().to_string()),
        ("max_file_descriptor_count", max_fds.to_string()),
        ("approximate_data_size", data_size.to_string()),
        ("open_file_descriptor_count", open_fds.to_string()),
        ("local_sessions", "0".into()),
        ("uptime", stats.uptime_ms().to_string()),
        ("max_latency", stats.latency.max().to_string()),
        ("outstanding_tls_handshake", "0".into()),
        ("min_client_response_size", min_size.to_string()),
        ("non_mtls_local_conn_count", "0".into()),
    ];
    let mut pairs: Vec<(String, String)> =
        gauges.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    pairs.push((
        "bytes_received_count".into(),
        stats.bytes_received().to_string(),
    ));
    pairs.push((
        "connection_request_count".into(),
        stats.connection_requests().to_string(),
    ));
    pairs.extend(stats.log.lines());
    stats.read_latency.lines("readlatency", &mut pairs);
    stats.update_latency.lines("updatelatency", &mut pairs);
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::tree::DataTree;

    #[test]
    fn lengths_spell_words() {
        assert_eq!(word_of(u32::from_be_bytes(*b"ruok")), Some("ruok"));
        assert_eq!(word_of(u32::from_be_bytes(*b"abcd")), None);
    }

    #[test]
    fn stmk_sets_the_mask_gtmk_reports() {
        let config = Config {
            four_letter_words: vec!["*".into()],
            ..Config::default()
        };
        let shared = Shared::new(config, DataTree::new(), Default::default());
        let answer = |word, rest: &[u8]| super::answer(word, rest, &shared);
        assert_eq!(answer("gtmk", b"").as_deref(), Some("306"));
        let mask = 0x1ffi64.to_be_bytes();
        assert_eq!(answer("stmk", &mask).as_deref(), Some("511"));
        assert_eq!(answer("gtmk", b"").as_deref(), Some("511"));
        // A negative long prints signed, as Java's does; extra bytes are ignored.
        assert_eq!(
            answer("stmk", b"\xff\xff\xff\xff\xff\xff\xff\xffabc").as_deref(),
            Some("-1")
        );
        // Fewer than 8 bytes: no answer, the mask stays.
        assert_eq!(answer("stmk", &mask[..7]), None);
        assert_eq!(answer("stmk", b""), None);
        assert_eq!(answer("gtmk", b"").as_deref(), Some("-1"));
    }

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(29.6667), "29.6667");
        assert_eq!(java_double(3.8), "3.8");
    }

    #[test]
    fn version_parses_as_kazoo_expects() {
        let v = full_version();
        let digits: Vec<&str> = v.split('-').next().unwrap().split('.').collect();
        assert_eq!(digits.len(), 3);
        assert!(digits.iter().all(|d| d.parse::<u32>().is_ok()));
    }
}
