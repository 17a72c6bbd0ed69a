//! Server configuration: Apache ZooKeeper's `zoo.cfg` keys, with the same defaults.
//!
//! A file is read as Java reads it, a properties file ([`properties`]):
//! `key=value` lines, `#` comments. Unknown keys are kept and logged
//! (ZooKeeper passes them on as system properties); a value that does not
//! parse stops start-up with an error naming the file, line and key.

mod properties;
mod sasl;
mod ssl;

pub use sasl::SaslConfig;
pub use ssl::{ClientAuth, SslConfig, StorePassword};

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::persistence::txnlog::DEFAULT_FSYNC_WARNING_MS;
use crate::persistence::RollPolicy;
use crate::proto::frame::DEFAULT_MAX_BUFFER;
use crate::tree::acl_digest::DigestAlg;

/// `metricsProvider.className` of ZooKeeper's Prometheus provider.
const PROMETHEUS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";
/// `metricsProvider.className`'s default: metrics for `mntr` only.
const DEFAULT_METRICS_PROVIDER: &str = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";

/// How errors name the JVM flags' settings.
const JVM_FLAGS: &str = "-D flag in SERVER_JVMFLAGS/JVMFLAGS, number";

/// The `-D` flags of JVM flags ZooKeeper reads as system properties, as
/// (place, key, value); flags are split at whitespace.
fn system_properties(jvm_flags: &str) -> Vec<(usize, String, String)> {
    jvm_flags
        .split_whitespace()
        .enumerate()
        .filter_map(|(i, flag)| {
            let (key, value) = flag.strip_prefix("-D")?.split_once('=')?;
            let read = key.starts_with("zookeeper.")
                || key == "jute.maxbuffer"
                || key == "java.security.auth.login.config";
            read.then(|| (i + 1, key.to_string(), value.to_string()))
        })
        .collect()
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: invalid value {value:?} for {key}: {reason}")]
    BadValue {
        path: PathBuf,
        line: usize,
        key: String,
        value: String,
        reason: String,
    },
    #[error("{path}:{line}: not a key=value line: {text:?}")]
    BadLine {
        path: PathBuf,
        line: usize,
        text: String,
    },
}

/// Every setting the standalone server reads.
#[derive(Debug, Clone)]
pub struct Config {
    pub tick_time_ms: u32,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub client_port: u16,
    pub client_port_address: IpAddr,
    /// Connections allowed from one IP address; 0 means unlimited.
    pub max_client_cnxns: u32,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// Four-letter words that may run; `*` allows all.
    pub four_letter_words: Vec<String>,
    /// Largest packet accepted from a client (`jute.maxbuffer`).
    pub max_buffer: usize,
    /// fsync the txn log before acknowledging writes (`forceSync`, default yes).
    pub force_sync: bool,
    /// Txns between log rolls and snapshots (`snapCount`, randomised as ZooKeeper does).
    pub snap_count: i64,
    /// Txn log preallocation block (`preAllocSize`, in KB).
    pub pre_alloc_size_kb: u64,
    /// Bytes of log (in KB) after which a snapshot is due, whatever
    /// `snapCount` says (`snapSizeLimitInKb`, 4 GiB; 0 or less: off).
    pub snap_size_limit_kb: i64,
    /// A log file rolls once it holds more than this many KB of entries
    /// (`txnLogSizeLimitInKb`; -1, the default, or 0: no limit).
    pub txn_log_size_limit_kb: i64,
    /// Start from the logs alone when there is no snapshot
    /// (`snapshot.trust.empty`, false: such a data dir is refused, as it
    /// may have lost its snapshots; ZooKeeper's escape hatch for data dirs
    /// of 3.4, which took no snapshot of an empty tree).
    pub snapshot_trust_empty: bool,
    /// An fsync of the log slower than this many ms is logged
    /// (`fsync.warningthresholdms`, a system property in ZooKeeper that
    /// zoo.cfg sets too; -1 logs every fsync).
    pub fsync_warning_threshold_ms: i64,
    /// Snapshots kept by autopurge (`autopurge.snapRetainCount`, at least 3).
    pub snap_retain_count: usize,
    /// Hours between purges; 0 disables (`autopurge.purgeInterval`).
    pub purge_interval_hours: u64,
    /// `snapshot.compression.method`: "", "gz" or "snappy".
    pub snapshot_compression: String,
    /// TTL nodes (`zookeeper.extendedTypesEnabled`, a system property in
    /// ZooKeeper that zoo.cfg sets as `extendedTypesEnabled`).
    pub extended_types_enabled: bool,
    /// Refuse creates and setData that pass a quota's hard limit
    /// (`zookeeper.enforceQuota`, which zoo.cfg sets as `enforceQuota`;
    /// default false: a limit passed is only logged).
    pub enforce_quota: bool,
    /// `DigestAuthenticationProvider.superDigest`: `super:<digest>`; a
    /// session that adds that digest's `digest` auth is also `super`.
    pub super_digest: Option<String>,
    /// The AdminServer (`admin.*`).
    pub admin: AdminConfig,
    /// The TLS client port (`secureClientPort`); none by default.
    pub secure_client_port: Option<u16>,
    /// `secureClientPortAddress` (default 0.0.0.0).
    pub secure_client_port_address: IpAddr,
    /// The TLS settings of the secure client port (`ssl.*`).
    pub ssl: SslConfig,
    /// `DigestAuthenticationProvider.digestAlg`: the hash of `digest` ids.
    pub digest_alg: DigestAlg,
    /// `DigestAuthenticationProvider.enabled` (default true): `false`
    /// refuses `addauth digest` and `digest` ACLs.
    pub digest_enabled: bool,
    /// Where the Prometheus `/metrics` endpoint listens, when
    /// `metricsProvider.className` names `PrometheusMetricsProvider`
    /// (`metricsProvider.httpHost`, `.httpPort`; default 0.0.0.0:7000).
    pub prometheus: Option<SocketAddr>,
    /// SASL authentication (`superUser`, `authProvider.N`, the JAAS file).
    pub sasl: SaslConfig,
    /// `client.portUnification`: the plain client port takes TLS clients
    /// too, told apart by their first bytes (default false).
    pub port_unification: bool,
    /// The config file's text as read (`initial_configuration`); empty with
    /// the embedded defaults.
    pub source_text: String,
    /// Keys this server does not use, as read.
    pub unknown: BTreeMap<String, String>,
}

/// The AdminServer's settings: in ZooKeeper the system properties
/// `zookeeper.admin.*`, which zoo.cfg sets as `admin.*`.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `admin.enableServer` (default true).
    pub enabled: bool,
    /// `admin.serverAddress` (default 0.0.0.0).
    pub address: IpAddr,
    /// `admin.serverPort` (default 8080).
    pub port: u16,
    /// `admin.commandURL`: where the commands live (default `/commands`).
    pub command_url: String,
    /// `admin.idleTimeout`: ms an idle connection is kept (default 30000).
    pub idle_timeout_ms: u64,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            enabled: true,
            address: IpAddr::from([0, 0, 0, 0]),
            port: 8080,
            command_url: "/commands".into(),
            idle_timeout_ms: 30_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::with_tick(2000)
    }
}

impl Config {
    fn with_tick(tick: u32) -> Config {
        Config {
            tick_time_ms: tick,
            data_dir: PathBuf::from("data"),
            data_log_dir: PathBuf::from("data"),
            client_port: 2181,
            client_port_address: IpAddr::from([0, 0, 0, 0]),
            max_client_cnxns: 60,
            min_session_timeout_ms: 2 * tick as i32,
            max_session_timeout_ms: 20 * tick as i32,
            four_letter_words: vec!["srvr".into()],
            max_buffer: DEFAULT_MAX_BUFFER,
            force_sync: true,
            snap_count: 100_000,
            pre_alloc_size_kb: 65536,
            snap_size_limit_kb: RollPolicy::DEFAULT_SNAP_SIZE_KB,
            txn_log_size_limit_kb: -1,
            snapshot_trust_empty: false,
            fsync_warning_threshold_ms: DEFAULT_FSYNC_WARNING_MS,
            snap_retain_count: 3,
            purge_interval_hours: 0,
            snapshot_compression: String::new(),
            extended_types_enabled: false,
            enforce_quota: false,
            admin: AdminConfig::default(),
            super_digest: None,
            secure_client_port: None,
            secure_client_port_address: IpAddr::from([0, 0, 0, 0]),
            ssl: SslConfig::default(),
            sasl: SaslConfig::default(),
            prometheus: None,
            digest_alg: DigestAlg::default(),
            digest_enabled: true,
            port_unification: false,
            source_text: String::new(),
            unknown: BTreeMap::new(),
        }
    }

    /// Reads a zoo.cfg file, after the system properties of `jvm_flags`
    /// (see [`Config::parse_with_flags`]).
    pub fn load(path: &Path, jvm_flags: &str) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse_with_flags(path, &text, jvm_flags)
    }

    /// Parses zoo.cfg text; `path` only names the source in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        Config::parse_with_flags(path, text, "")
    }

    /// Parses zoo.cfg text after the `-D` flags of `jvm_flags` (the JVM
    /// flags zkServer.sh gives ZooKeeper, `SERVER_JVMFLAGS` and `JVMFLAGS`)
    /// that ZooKeeper reads as system properties: `-Dzookeeper.<key>`,
    /// `-Djute.maxbuffer` and `-Djava.security.auth.login.config`. A
    /// `zookeeper.<key>` flag counts where ZooKeeper reads `<key>` as a
    /// system property, as the same zoo.cfg line would; zoo.cfg's lines
    /// come later, so they win. A flag's errors name it by its place.
    pub fn parse_with_flags(
        path: &Path,
        text: &str,
        jvm_flags: &str,
    ) -> Result<Config, ConfigError> {
        let flags = Path::new(JVM_FLAGS);
        let file_pairs = properties::entries(text).map_err(|line| ConfigError::BadLine {
            path: path.to_owned(),
            line,
            text: text.lines().nth(line - 1).unwrap_or("").to_owned(),
        })?;
        let pairs: Vec<(&Path, usize, String, String)> = system_properties(jvm_flags)
            .into_iter()
            .map(|(n, k, v)| (flags, n, k, v))
            .chain(file_pairs.into_iter().map(|(n, k, v)| (path, n, k, v)))
            .collect();
        let tick = match pairs.iter().rev().find(|(_, _, k, _)| k == "tickTime") {
            Some((src, line, k, v)) => number::<u32>(src, *line, k, v)?,
            None => 2000,
        };
        let mut cfg = Config::with_tick(tick);
        cfg.source_text = text.to_owned();
        let (mut min_set, mut max_set, mut log_dir_set) = (false, false, false);
        let mut prometheus_on = false;
        let mut prometheus_at = SocketAddr::from(([0, 0, 0, 0], 7000));
        for (src, line, key, value) in pairs {
            let line_no = line;
            let bad = |reason: &str| ConfigError::BadValue {
                path: src.to_owned(),
                line: line_no,
                key: key.clone(),
                value: value.clone(),
                reason: reason.to_owned(),
            };
            match key.as_str() {
                "tickTime" => {}
                "dataDir" => cfg.data_dir = PathBuf::from(&value),
                "dataLogDir" => {
                    cfg.data_log_dir = PathBuf::from(&value);
                    log_dir_set = true;
                }
                "clientPort" => cfg.client_port = number(src, line, &key, &value)?,
                "clientPortAddress" => {
                    cfg.client_port_address = value.parse().map_err(|_| bad("not an IP address"))?
                }
                "maxClientCnxns" => cfg.max_client_cnxns = number(src, line, &key, &value)?,
                "minSessionTimeout" => {
                    let v: i32 = number(src, line, &key, &value)?;
                    if v != -1 {
                        cfg.min_session_timeout_ms = v;
                        min_set = true;
                    }
                }
                "maxSessionTimeout" => {
                    let v: i32 = number(src, line, &key, &value)?;
                    if v != -1 {
                        cfg.max_session_timeout_ms = v;
                        max_set = true;
                    }
                }
                "4lw.commands.whitelist" | "zookeeper.4lw.commands.whitelist" => {
                    cfg.four_letter_words = value
                        .split(',')
                        .map(|w| w.trim().to_owned())
                        .filter(|w| !w.is_empty())
                        .collect()
                }
                "jute.maxbuffer" => cfg.max_buffer = number(src, line, &key, &value)?,
                "forceSync" | "zookeeper.forceSync" => {
                    cfg.force_sync = match value.as_str() {
                        "yes" | "true" => true,
                        "no" | "false" => false,
                        _ => return Err(bad("expected yes or no")),
                    }
                }
                "snapCount" | "zookeeper.snapCount" => {
                    cfg.snap_count = number(src, line, &key, &value)?;
                    if cfg.snap_count < 2 {
                        return Err(bad("must be at least 2"));
                    }
                }
                "preAllocSize" | "zookeeper.preAllocSize" => {
                    cfg.pre_alloc_size_kb = number(src, line, &key, &value)?
                }
                "snapSizeLimitInKb" | "zookeeper.snapSizeLimitInKb" => {
                    cfg.snap_size_limit_kb = number(src, line, &key, &value)?
                }
                "txnLogSizeLimitInKb" | "zookeeper.txnLogSizeLimitInKb" => {
                    cfg.txn_log_size_limit_kb = number(src, line, &key, &value)?
                }
                "snapshot.trust.empty" | "zookeeper.snapshot.trust.empty" => {
                    cfg.snapshot_trust_empty = boolean(src, line, &key, &value)?
                }
                "fsync.warningthresholdms" | "zookeeper.fsync.warningthresholdms" => {
                    cfg.fsync_warning_threshold_ms = number(src, line, &key, &value)?
                }
                "autopurge.snapRetainCount" => {
                    // ZooKeeper raises values below 3 to 3.
                    cfg.snap_retain_count = number::<usize>(src, line, &key, &value)?.max(3)
                }
                "autopurge.purgeInterval" => {
                    cfg.purge_interval_hours = number(src, line, &key, &value)?
                }
                "extendedTypesEnabled" | "zookeeper.extendedTypesEnabled" => {
                    cfg.extended_types_enabled = boolean(src, line, &key, &value)?
                }
                "enforceQuota" | "zookeeper.enforceQuota" => {
                    cfg.enforce_quota = boolean(src, line, &key, &value)?
                }
                "admin.enableServer" | "zookeeper.admin.enableServer" => {
                    cfg.admin.enabled = boolean(src, line, &key, &value)?
                }
                "admin.serverAddress" | "zookeeper.admin.serverAddress" => {
                    cfg.admin.address = value.parse().map_err(|_| bad("not an IP address"))?
                }
                "admin.serverPort" | "zookeeper.admin.serverPort" => {
                    cfg.admin.port = number(src, line, &key, &value)?
                }
                "admin.commandURL" | "zookeeper.admin.commandURL" => {
                    if !value.starts_with('/') {
                        return Err(bad("must start with /"));
                    }
                    cfg.admin.command_url = value.trim_end_matches('/').to_owned();
                }
                "admin.idleTimeout" | "zookeeper.admin.idleTimeout" => {
                    cfg.admin.idle_timeout_ms = number(src, line, &key, &value)?
                }
                "secureClientPort" => {
                    cfg.secure_client_port = Some(number(src, line, &key, &value)?)
                }
                "secureClientPortAddress" => {
                    cfg.secure_client_port_address =
                        value.parse().map_err(|_| bad("not an IP address"))?
                }
                "ssl.keyStore.location" | "zookeeper.ssl.keyStore.location" => {
                    cfg.ssl.key_store = Some(PathBuf::from(&value))
                }
                "ssl.keyStore.type" | "zookeeper.ssl.keyStore.type" => {
                    cfg.ssl.key_store_type = Some(value.clone())
                }
                "ssl.keyStore.password" | "zookeeper.ssl.keyStore.password" => {
                    cfg.ssl.key_store_password.value = Some(value.clone())
                }
                "ssl.keyStore.passwordPath" | "zookeeper.ssl.keyStore.passwordPath" => {
                    cfg.ssl.key_store_password.path = Some(PathBuf::from(&value))
                }
                "ssl.trustStore.password" | "zookeeper.ssl.trustStore.password" => {
                    cfg.ssl.trust_store_password.value = Some(value.clone())
                }
                "ssl.trustStore.passwordPath" | "zookeeper.ssl.trustStore.passwordPath" => {
                    cfg.ssl.trust_store_password.path = Some(PathBuf::from(&value))
                }
                "ssl.trustStore.location" | "zookeeper.ssl.trustStore.location" => {
                    cfg.ssl.trust_store = Some(PathBuf::from(&value))
                }
                "ssl.trustStore.type" | "zookeeper.ssl.trustStore.type" => {
                    cfg.ssl.trust_store_type = Some(value.clone())
                }
                "client.portUnification" | "zookeeper.client.portUnification" => {
                    cfg.port_unification = boolean(src, line, &key, &value)?
                }
                "java.security.auth.login.config" if src == flags => {
                    cfg.sasl.jaas_file = Some(PathBuf::from(&value))
                }
                "DigestAuthenticationProvider.enabled"
                | "zookeeper.DigestAuthenticationProvider.enabled" => {
                    // `Boolean.parseBoolean`: anything but "true" is false.
                    cfg.digest_enabled = value.trim().eq_ignore_ascii_case("true")
                }
                "DigestAuthenticationProvider.digestAlg"
                | "zookeeper.DigestAuthenticationProvider.digestAlg" => {
                    cfg.digest_alg = DigestAlg::from_java_name(&value)
                        .ok_or_else(|| bad("don't support this ACL digest algorithm"))?
                }
                "DigestAuthenticationProvider.superDigest"
                | "zookeeper.DigestAuthenticationProvider.superDigest" => {
                    cfg.super_digest = Some(value.clone())
                }
                "X509AuthenticationProvider.superUser"
                | "zookeeper.X509AuthenticationProvider.superUser" => {
                    cfg.ssl.x509_super_user = Some(value.clone())
                }
                "metricsProvider.className" => prometheus_on = match value.trim() {
                    PROMETHEUS_PROVIDER => true,
                    DEFAULT_METRICS_PROVIDER => false,
                    _ => return Err(bad(
                        "only PrometheusMetricsProvider and DefaultMetricsProvider are provided",
                    )),
                },
                "metricsProvider.httpHost" => {
                    prometheus_at.set_ip(value.parse().map_err(|_| bad("not an IP address"))?)
                }
                "metricsProvider.httpPort" => {
                    prometheus_at.set_port(number(src, line, &key, &value)?)
                }
                "ssl.protocol" | "zookeeper.ssl.protocol" => cfg.ssl.protocol = Some(value.clone()),
                "ssl.enabledProtocols" | "zookeeper.ssl.enabledProtocols" => {
                    cfg.ssl.enabled_protocols = Some(value.clone())
                }
                "ssl.ciphersuites" | "zookeeper.ssl.ciphersuites" => {
                    cfg.ssl.cipher_suites = Some(value.clone())
                }
                "ssl.clientAuth" | "zookeeper.ssl.clientAuth" => {
                    // `ClientAuth.fromPropertyValue`: any case, empty is need.
                    cfg.ssl.client_auth = match value.to_ascii_lowercase().as_str() {
                        "" | "need" => ClientAuth::Need,
                        "want" => ClientAuth::Want,
                        "none" => ClientAuth::None,
                        _ => return Err(bad("expected need, want or none")),
                    }
                }
                "snapshot.compression.method" | "zookeeper.snapshot.compression.method" => {
                    match value.as_str() {
                        "" | "gz" | "snappy" => cfg.snapshot_compression = value.clone(),
                        _ => return Err(bad("expected gz or snappy")),
                    }
                }
                _ => match cfg.sasl.set(&key, &value) {
                    Ok(true) => {}
                    Ok(false) => {
                        cfg.unknown.insert(key.clone(), value.clone());
                    }
                    Err(reason) => return Err(bad(reason)),
                },
            }
        }
        if !log_dir_set {
            cfg.data_log_dir = cfg.data_dir.clone();
        }
        if !min_set {
            cfg.min_session_timeout_ms = 2 * tick as i32;
        }
        if !max_set {
            cfg.max_session_timeout_ms = 20 * tick as i32;
        }
        cfg.prometheus = prometheus_on.then_some(prometheus_at);
        Ok(cfg)
    }

    /// Whether any port takes TLS clients (which also makes `x509` ids
    /// valid in ACLs, as ZooKeeper registers its x509 provider then).
    pub fn tls_enabled(&self) -> bool {
        self.secure_client_port.is_some() || self.port_unification
    }

    /// Whether a four-letter word may run.
    pub fn allows_four_letter_word(&self, word: &str) -> bool {
        self.four_letter_words.iter().any(|w| w == "*" || w == word)
    }
}

/// `true` or `false`, in any case (Java's `Boolean.parseBoolean` takes any
/// case, and takes everything else as false: here that is an error).
fn boolean(path: &Path, line: usize, key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::BadValue {
            path: path.to_owned(),
            line,
            key: key.to_owned(),
            value: value.to_owned(),
            reason: "must be true or false".into(),
        }),
    }
}

fn number<T: std::str::FromStr>(
    path: &Path,
    line: usize,
    key: &str,
    value: &str,
) -> Result<T, ConfigError> {
    value.parse().map_err(|_| ConfigError::BadValue {
        path: path.to_owned(),
        line,
        key: key.to_owned(),
        value: value.to_owned(),
        reason: "not a number in range".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("zoo.cfg"), text)
    }

    #[test]
    fn defaults_follow_tick_time() {
        let c = parse("tickTime=500\ndataDir=/tmp/x\nclientPort=2999\n").unwrap();
        assert_eq!(c.min_session_timeout_ms, 1000);
        assert_eq!(c.max_session_timeout_ms, 10000);
        assert_eq!(c.client_port, 2999);
        assert_eq!(c.data_log_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn explicit_timeouts_and_whitelist() {
        let c = parse(
            "# comment\nminSessionTimeout=4000\nmaxSessionTimeout=8000\n4lw.commands.whitelist=ruok, stat\nclientPortAddress=127.0.0.1\nfoo=bar\n",
        )
        .unwrap();
        assert_eq!(
            (c.min_session_timeout_ms, c.max_session_timeout_ms),
            (4000, 8000)
        );
        assert!(c.allows_four_letter_word("stat") && !c.allows_four_letter_word("dump"));
        assert_eq!(c.unknown.get("foo").map(String::as_str), Some("bar"));
    }

    #[test]
    fn durability_keys() {
        let c = parse(
            "forceSync=no\nsnapCount=50\nautopurge.snapRetainCount=1\nautopurge.purgeInterval=2\n",
        )
        .unwrap();
        assert!(!c.force_sync);
        assert_eq!(
            (c.snap_count, c.snap_retain_count, c.purge_interval_hours),
            (50, 3, 2)
        );
        assert!(parse("forceSync=maybe\n").is_err());
        assert!(parse("snapshot.compression.method=lz4\n").is_err());
    }

    #[test]
    fn the_fsync_warning_threshold_under_either_name() {
        assert_eq!(parse("").unwrap().fsync_warning_threshold_ms, 1000);
        let c = parse("fsync.warningthresholdms=-1\n").unwrap();
        assert_eq!(c.fsync_warning_threshold_ms, -1);
        let c = parse("zookeeper.fsync.warningthresholdms=250\n").unwrap();
        assert_eq!(c.fsync_warning_threshold_ms, 250);
        assert!(parse("fsync.warningthresholdms=slow\n").is_err());
    }

    #[test]
    fn log_and_snapshot_size_limits_under_either_name() {
        let c = parse("").unwrap();
        assert_eq!(
            (c.snap_size_limit_kb, c.txn_log_size_limit_kb),
            (4_194_304, -1)
        );
        let c = parse("snapSizeLimitInKb=100\nzookeeper.txnLogSizeLimitInKb=64\n").unwrap();
        assert_eq!((c.snap_size_limit_kb, c.txn_log_size_limit_kb), (100, 64));
        let c = parse("zookeeper.snapSizeLimitInKb=0\ntxnLogSizeLimitInKb=32\n").unwrap();
        assert_eq!((c.snap_size_limit_kb, c.txn_log_size_limit_kb), (0, 32));
        assert!(parse("txnLogSizeLimitInKb=big\n").is_err());
    }

    #[test]
    fn trusting_a_data_dir_without_snapshots() {
        assert!(!parse("").unwrap().snapshot_trust_empty);
        assert!(
            parse("snapshot.trust.empty=true\n")
                .unwrap()
                .snapshot_trust_empty
        );
        assert!(
            parse("zookeeper.snapshot.trust.empty=TRUE\n")
                .unwrap()
                .snapshot_trust_empty
        );
        assert!(parse("snapshot.trust.empty=yes\n").is_err());
    }

    #[test]
    fn jvm_flags_set_system_properties_and_zoo_cfg_wins() {
        let flags = "-Xmx1g -Djava.security.auth.login.config=/etc/zk/jaas.conf \
                     -Dzookeeper.superUser=from-flag -Djute.maxbuffer=4096 \
                     -Dzookeeper.DigestAuthenticationProvider.digestAlg=SHA-256 \
                     -Dzookeeper.ssl.keyStore.location=/k.p12 -Dzookeeper.clientPort=1 -Dother=x \
                     -Dzookeeper.snapCount=5000 -Dzookeeper.forceSync=no";
        let cfg =
            Config::parse_with_flags(Path::new("zoo.cfg"), "superUser=from-cfg\n", flags).unwrap();
        assert_eq!(cfg.sasl.jaas_file, Some(PathBuf::from("/etc/zk/jaas.conf")));
        assert_eq!(cfg.sasl.super_user.as_deref(), Some("from-cfg"));
        assert_eq!(cfg.max_buffer, 4096);
        assert_eq!(cfg.digest_alg, DigestAlg::Sha256);
        assert_eq!(cfg.ssl.key_store.as_deref(), Some(Path::new("/k.p12")));
        assert_eq!(cfg.snap_count, 5000);
        assert!(!cfg.force_sync);
        // ZooKeeper reads clientPort from zoo.cfg only: the flag is unused.
        assert_eq!(cfg.client_port, 2181);
        assert!(cfg.unknown.contains_key("zookeeper.clientPort"));
        assert!(!cfg.unknown.contains_key("other"));
        // zoo.cfg cannot name the JAAS file (ZooKeeper would not read it there).
        let cfg = parse("java.security.auth.login.config=/x\n").unwrap();
        assert_eq!(cfg.sasl.jaas_file, None);
        let err = Config::parse_with_flags(Path::new("zoo.cfg"), "", "-Xmx1g -Djute.maxbuffer=big")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("-D flag in SERVER_JVMFLAGS/JVMFLAGS, number:2:"),
            "{err}"
        );
        let err = parse("DigestAuthenticationProvider.digestAlg=SHA-999\n").unwrap_err();
        assert!(
            err.to_string()
                .contains("don't support this ACL digest algorithm"),
            "{err}"
        );
    }

    #[test]
    fn the_prometheus_provider_and_its_address() {
        assert_eq!(
            parse("metricsProvider.httpPort=7001\n").unwrap().prometheus,
            None
        );
        let on = parse(
            "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n",
        )
        .unwrap();
        assert_eq!(on.prometheus, Some("0.0.0.0:7000".parse().unwrap()));
        let at = parse(
            "metricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=7001\n\
             metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n",
        )
        .unwrap();
        assert_eq!(at.prometheus, Some("127.0.0.1:7001".parse().unwrap()));
        let off =
            "metricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";
        assert_eq!(parse(off).unwrap().prometheus, None);
        let err = parse("metricsProvider.className=com.example.Mine").unwrap_err();
        assert!(
            err.to_string().contains("metricsProvider.className"),
            "{err}"
        );
    }

    #[test]
    fn secure_port_and_ssl_keys_under_either_name() {
        let cfg = parse("tickTime=2000\n").unwrap();
        assert_eq!(cfg.secure_client_port, None);
        assert!(!cfg.tls_enabled());
        assert_eq!(cfg.ssl.client_auth, ClientAuth::Need);
        let cfg = parse(
            "secureClientPort=2281\nsecureClientPortAddress=127.0.0.1\n\
             ssl.keyStore.location=/k.pem\nzookeeper.ssl.keyStore.type=PEM\n\
             zookeeper.ssl.trustStore.location=/t.pem\nssl.trustStore.type=PEM\n\
             ssl.clientAuth=WANT\nX509AuthenticationProvider.superUser=CN=admin\n\
             client.portUnification=true\n\
             DigestAuthenticationProvider.superDigest=super:abc=\n\
             ssl.keyStore.password=kpw\nzookeeper.ssl.trustStore.password=tpw\n\
             zookeeper.ssl.keyStore.passwordPath=/kpw\nssl.trustStore.passwordPath=/tpw\n\
             ssl.protocol=TLSv1.3\nzookeeper.ssl.enabledProtocols=TLSv1.2\n\
             ssl.ciphersuites=TLS_AES_128_GCM_SHA256\n",
        )
        .unwrap();
        assert_eq!(cfg.secure_client_port, Some(2281));
        assert_eq!(
            cfg.secure_client_port_address,
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(cfg.ssl.key_store.as_deref(), Some(Path::new("/k.pem")));
        assert_eq!(cfg.ssl.trust_store.as_deref(), Some(Path::new("/t.pem")));
        assert_eq!(cfg.ssl.key_store_type.as_deref(), Some("PEM"));
        assert_eq!(cfg.ssl.trust_store_type.as_deref(), Some("PEM"));
        assert_eq!(cfg.ssl.client_auth, ClientAuth::Want);
        assert_eq!(cfg.ssl.x509_super_user.as_deref(), Some("CN=admin"));
        assert!(cfg.port_unification && cfg.tls_enabled());
        assert_eq!(cfg.super_digest.as_deref(), Some("super:abc="));
        let (k, t) = (&cfg.ssl.key_store_password, &cfg.ssl.trust_store_password);
        assert_eq!(k.value.as_deref(), Some("kpw"));
        assert_eq!(t.value.as_deref(), Some("tpw"));
        assert_eq!(k.path.as_deref(), Some(Path::new("/kpw")));
        assert_eq!(t.path.as_deref(), Some(Path::new("/tpw")));
        assert_eq!(cfg.ssl.protocol.as_deref(), Some("TLSv1.3"));
        assert_eq!(cfg.ssl.enabled_protocols.as_deref(), Some("TLSv1.2"));
        assert_eq!(
            cfg.ssl.cipher_suites.as_deref(),
            Some("TLS_AES_128_GCM_SHA256")
        );
        assert!(cfg.unknown.is_empty(), "{:?}", cfg.unknown);
        assert_eq!(
            parse("ssl.clientAuth=none\n").unwrap().ssl.client_auth,
            ClientAuth::None
        );
        for bad in [
            "ssl.clientAuth=maybe",
            "secureClientPort=x",
            "secureClientPortAddress=h",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad.split('=').next().unwrap()), "{err}");
        }
    }

    #[test]
    fn admin_server_keys_under_either_name() {
        let cfg = parse("tickTime=2000\n").unwrap();
        assert!(cfg.admin.enabled);
        assert_eq!(
            (cfg.admin.address, cfg.admin.port),
            ("0.0.0.0".parse().unwrap(), 8080)
        );
        assert_eq!(cfg.admin.command_url, "/commands");
        let cfg = parse(
            "admin.enableServer=False\nadmin.serverAddress=127.0.0.1\n\
             zookeeper.admin.serverPort=9090\nadmin.commandURL=/cmd/\nadmin.idleTimeout=500\n",
        )
        .unwrap();
        assert!(!cfg.admin.enabled);
        assert_eq!(
            (cfg.admin.address, cfg.admin.port),
            ("127.0.0.1".parse().unwrap(), 9090)
        );
        assert_eq!(cfg.admin.command_url, "/cmd");
        assert_eq!(cfg.admin.idle_timeout_ms, 500);
        assert!(cfg.unknown.is_empty(), "{:?}", cfg.unknown);
        for bad in [
            "admin.enableServer=yes",
            "admin.serverPort=80808",
            "admin.commandURL=commands",
        ] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad.split('=').next().unwrap()), "{err}");
        }
    }

    #[test]
    fn boolean_keys_take_true_or_false_in_any_case() {
        type Read = fn(&Config) -> bool;
        let keys: [(&str, Read); 4] = [
            ("enforceQuota", |c| c.enforce_quota),
            ("zookeeper.extendedTypesEnabled", |c| {
                c.extended_types_enabled
            }),
            ("admin.enableServer", |c| c.admin.enabled),
            ("snapshot.trust.empty", |c| c.snapshot_trust_empty),
        ];
        for (key, get) in keys {
            assert!(get(&parse(&format!("{key}=TRUE\n")).unwrap()), "{key}");
            assert!(!get(&parse(&format!("{key}=false\n")).unwrap()), "{key}");
            let err = parse(&format!("{key}=1\n")).unwrap_err().to_string();
            assert!(err.contains("must be true or false"), "{err}");
        }
        assert!(!parse("").unwrap().enforce_quota);
    }

    #[test]
    fn the_file_text_is_kept_for_initial_configuration() {
        let text = "tickTime=2000\n# a comment\nclientPort=2182\n";
        assert_eq!(parse(text).unwrap().source_text, text);
        assert_eq!(Config::default().source_text, "");
    }

    #[test]
    fn bad_values_name_the_line() {
        let err = parse("tickTime=2000\nclientPort=abc\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("zoo.cfg:2") && err.contains("clientPort"),
            "{err}"
        );
        let err = parse("justaword\n").unwrap_err().to_string();
        assert!(err.contains("zoo.cfg:1"), "{err}");
    }
}
