//! Server and connection counters for the four-letter words (`srvr`, `stat`,
//! `cons`, `mntr`, `dump`) and the AdminServer, as ZooKeeper's `ServerStats` and the per-connection
//! statistics of `ServerCnxn` keep them.
//!
//! Everything on the request path is a relaxed atomic: the session actor that
//! owns a connection is the only writer of its [`ConnStats`], and readers (a
//! four-letter word) only need a recent value, not a consistent snapshot. The
//! registry of connections is locked only when a connection opens or closes
//! and when a four-letter word lists them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::log_metrics::{LogMetrics, Percentiles};
use crate::proto::opcode::OpCode;

const R: Ordering = Ordering::Relaxed;

/// Adds to a counter only its owner writes: a plain load and store, no
/// locked instruction on the request path. (`crst` from another thread may
/// lose against a concurrent update; ZooKeeper's counters are as loose.)
fn bump(a: &AtomicU64, by: u64) {
    a.store(a.load(R).wrapping_add(by), R);
}

/// Milliseconds since the Unix epoch.
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `lastOp` abbreviations, as `FinalRequestProcessor` names them; index 0 is
/// the initial "NA".
const OP_NAMES: &[&str] = &[
    "NA", "PING", "SESS", "MULT", "MLTR", "CREA", "DELE", "SETD", "RECO", "SETA", "CLOS", "SYNC",
    "CHEC", "EXIS", "GETD", "SETW", "STW2", "ADDW", "GETA", "GETC", "GETACN", "CHKW", "REMW",
    "HOMI", "GETE",
];

/// The index in [`OP_NAMES`] of the `lastOp` ZooKeeper records for `op_type`.
fn op_index(op_type: i32) -> u8 {
    use OpCode::*;
    let name = match OpCode::from_i32(op_type) {
        Some(Ping) => "PING",
        Some(CreateSession) => "SESS",
        Some(Multi) => "MULT",
        Some(MultiRead) => "MLTR",
        Some(Create | Create2 | CreateTtl | CreateContainer) => "CREA",
        Some(Delete | DeleteContainer) => "DELE",
        Some(SetData) => "SETD",
        Some(Reconfig) => "RECO",
        Some(SetAcl) => "SETA",
        Some(CloseSession) => "CLOS",
        Some(Sync) => "SYNC",
        Some(Check) => "CHEC",
        Some(Exists) => "EXIS",
        Some(GetData) => "GETD",
        Some(SetWatches) => "SETW",
        Some(SetWatches2) => "STW2",
        Some(AddWatch) => "ADDW",
        Some(GetAcl) => "GETA",
        Some(GetChildren | GetChildren2) => "GETC",
        Some(GetAllChildrenNumber) => "GETACN",
        Some(CheckWatches) => "CHKW",
        Some(RemoveWatches) => "REMW",
        Some(WhoAmI) => "HOMI",
        Some(GetEphemerals) => "GETE",
        _ => "NA",
    };
    OP_NAMES.iter().position(|n| *n == name).unwrap_or(0) as u8
}

/// A write whose txn failed is answered before `lastOp` is set (Java throws
/// out of the switch), so it stays "NA"; a failed read still names its op.
fn is_write(op_type: i32) -> bool {
    use OpCode::*;
    matches!(
        OpCode::from_i32(op_type),
        Some(
            Create
                | Create2
                | CreateTtl
                | CreateContainer
                | Delete
                | DeleteContainer
                | SetData
                | SetAcl
                | Multi
                | Reconfig
                | Check
        )
    )
}

/// min/avg/max over request latencies in milliseconds (`AvgMinMaxCounter`).
#[derive(Default)]
pub struct Latency {
    min: AtomicU64,
    max: AtomicU64,
    total: AtomicU64,
    count: AtomicU64,
}

impl Latency {
    pub fn new() -> Self {
        let l = Latency::default();
        l.min.store(u64::MAX, R);
        l
    }

    /// A sample from any thread (the server-wide counter).
    pub fn add(&self, ms: u64) {
        self.add_n(ms, 1);
    }

    /// `n` samples of the same value.
    pub fn add_n(&self, ms: u64, n: u64) {
        self.add_aggregate(ms, ms, ms * n, n);
    }

    /// `count` samples from `min` to `max` that sum to `total`.
    pub fn add_aggregate(&self, min: u64, max: u64, total: u64, count: u64) {
        if min < self.min.load(R) {
            self.min.fetch_min(min, R);
        }
        if max > self.max.load(R) {
            self.max.fetch_max(max, R);
        }
        self.total.fetch_add(total, R);
        self.count.fetch_add(count, R);
    }

    /// A sample from the only writer (a connection's own counter).
    fn add_owned(&self, ms: u64) {
        if ms < self.min.load(R) {
            self.min.store(ms, R);
        }
        if ms > self.max.load(R) {
            self.max.store(ms, R);
        }
        bump(&self.total, ms);
        bump(&self.count, 1);
    }

    pub fn reset(&self) {
        self.min.store(u64::MAX, R);
        self.max.store(0, R);
        self.total.store(0, R);
        self.count.store(0, R);
    }

    /// 0 before the first sample, as Java reports it.
    pub fn min(&self) -> u64 {
        match self.min.load(R) {
            u64::MAX => 0,
            v => v,
        }
    }

    pub fn max(&self) -> u64 {
        self.max.load(R)
    }

    pub fn count(&self) -> u64 {
        self.count.load(R)
    }

    pub fn sum(&self) -> u64 {
        self.total.load(R)
    }

    /// The server's average: a double rounded to 4 places (`AvgMinMaxCounter.getAvg`).
    pub fn avg(&self) -> f64 {
        let count = self.count.load(R);
        if count == 0 {
            return 0.0;
        }
        let avg = self.total.load(R) as f64 / count as f64;
        (avg * 10_000.0).round() / 10_000.0
    }

    /// A connection's average: integer division (`ServerCnxn.getAvgLatency`).
    pub fn avg_floor(&self) -> u64 {
        self.total
            .load(R)
            .checked_div(self.count.load(R))
            .unwrap_or(0)
    }
}

/// One client connection as `cons` and `stat` show it (`ServerCnxn`).
pub struct ConnStats {
    pub id: u64,
    pub peer: SocketAddr,
    /// Accepted on the secure client port.
    pub secure_port: bool,
    /// When the connection was accepted (ms since the epoch; `est=`).
    pub established_ms: u64,
    reading: AtomicBool,
    session_id: AtomicI64,
    timeout_ms: AtomicI32,
    queued: AtomicU64,
    recved: AtomicU64,
    sent: AtomicU64,
    last_op: AtomicU8,
    last_cxid: AtomicI64,
    last_zxid: AtomicI64,
    /// ms since the server started (Java prints its monotonic clock).
    last_resp_ms: AtomicU64,
    last_latency: AtomicU64,
    latency: Latency,
    /// Last packet from the client (ms since the server started): the
    /// session and connection expiry that `dump` shows are counted from here.
    last_activity_ms: AtomicU64,
}

impl ConnStats {
    pub fn new(id: u64, peer: SocketAddr, secure_port: bool, server: &ServerStats) -> Self {
        ConnStats {
            secure_port,
            id,
            peer,
            established_ms: wall_ms(),
            reading: AtomicBool::new(true),
            session_id: AtomicI64::new(0),
            timeout_ms: AtomicI32::new(0),
            queued: AtomicU64::new(0),
            recved: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            last_op: AtomicU8::new(0),
            last_cxid: AtomicI64::new(-1),
            last_zxid: AtomicI64::new(-1),
            last_resp_ms: AtomicU64::new(0),
            last_latency: AtomicU64::new(0),
            latency: Latency::new(),
            last_activity_ms: AtomicU64::new(server.uptime_ms()),
        }
    }

    /// A packet (frame or four-letter word) arrived from the client, of
    /// `bytes` (a frame's with its length prefix).
    pub fn packet_received(&self, server: &ServerStats, bytes: u64) {
        bump(&self.recved, 1);
        self.last_activity_ms.store(server.uptime_ms(), R);
        server.packets_received.fetch_add(1, R);
        server.bytes_received.fetch_add(bytes, R);
    }

    /// A frame (reply, notification) or a four-letter-word answer was written.
    pub fn packet_sent(&self, server: &ServerStats) {
        bump(&self.sent, 1);
        server.packets_sent.fetch_add(1, R);
    }

    /// A request went into the pipeline.
    pub fn request_queued(&self) {
        bump(&self.queued, 1);
    }

    /// A queued request will get no reply.
    pub fn request_dropped(&self) {
        self.queued.store(self.queued.load(R).saturating_sub(1), R);
    }

    /// The answer to a queued request left (`updateStatsForResponse`).
    #[allow(clippy::too_many_arguments)]
    pub fn responded(
        &self,
        server: &ServerStats,
        op_type: i32,
        cxid: i32,
        zxid: i64,
        err: i32,
        started: Instant,
    ) {
        let now = Instant::now();
        let ms = now.saturating_duration_since(started).as_millis() as u64;
        self.request_dropped();
        let op = if err != 0 && is_write(op_type) {
            0
        } else {
            op_index(op_type)
        };
        self.last_op.store(op, R);
        self.last_cxid.store(cxid as i64, R);
        self.last_zxid.store(zxid, R);
        self.last_resp_ms.store(
            now.saturating_duration_since(server.started).as_millis() as u64,
            R,
        );
        self.last_latency.store(ms, R);
        self.latency.add_owned(ms);
        server.latency.add(ms);
        // `ServerStats.updateLatency`: requests with a txn header are updates.
        if is_write(op_type) || op_type == OpCode::CreateSession as i32 {
            server.update_latency.add(ms);
        } else {
            server.read_latency.add(ms);
        }
    }

    /// The session is open on this connection.
    pub fn opened(&self, session_id: i64, timeout_ms: i32) {
        self.session_id.store(session_id, R);
        self.timeout_ms.store(timeout_ms, R);
    }

    /// The connection stopped reading (a four-letter word is being answered).
    pub fn stop_reading(&self) {
        self.reading.store(false, R);
    }

    pub fn session_id(&self) -> i64 {
        self.session_id.load(R)
    }

    pub fn timeout_ms(&self) -> i32 {
        self.timeout_ms.load(R)
    }

    pub fn queued(&self) -> u64 {
        self.queued.load(R)
    }

    /// When the client last sent a packet, in ms since the epoch.
    pub fn last_activity_wall_ms(&self, server: &ServerStats) -> u64 {
        server.started_wall_ms + self.last_activity_ms.load(R)
    }

    /// `ServerCnxn.getConnectionInfo`: the AdminServer's form of [`describe`](Self::describe).
    pub fn info(&self, brief: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("remote_socket_address".into(), self.peer.to_string().into());
        m.insert("interest_ops".into(), u8::from(self.reading.load(R)).into());
        m.insert("outstanding_requests".into(), self.queued.load(R).into());
        m.insert("packets_received".into(), self.recved.load(R).into());
        m.insert("packets_sent".into(), self.sent.load(R).into());
        let sid = self.session_id();
        if !brief && sid != 0 {
            let op = OP_NAMES[self.last_op.load(R) as usize];
            let fields: [(&str, Value); 11] = [
                ("session_id", sid.into()),
                ("last_operation", op.into()),
                ("established", self.established_ms.into()),
                ("session_timeout", self.timeout_ms().into()),
                ("last_cxid", self.last_cxid.load(R).into()),
                ("last_zxid", self.last_zxid.load(R).into()),
                ("last_response_time", self.last_resp_ms.load(R).into()),
                ("last_latency", self.last_latency.load(R).into()),
                ("min_latency", self.latency.min().into()),
                ("avg_latency", self.latency.avg_floor().into()),
                ("max_latency", self.latency.max().into()),
            ];
            m.extend(fields.map(|(k, v)| (k.to_owned(), v)));
        }
        m
    }

    /// `crst`: `ServerCnxn.resetStats`.
    pub fn reset(&self) {
        self.recved.store(0, R);
        self.sent.store(0, R);
        self.last_op.store(0, R);
        self.last_cxid.store(-1, R);
        self.last_zxid.store(-1, R);
        self.last_resp_ms.store(0, R);
        self.last_latency.store(0, R);
        self.latency.reset();
    }

    /// `ServerCnxn.dumpConnectionInfo`: the line `stat` (brief) and `cons` print.
    pub fn describe(&self, brief: bool) -> String {
        use std::fmt::Write;
        let mut s = format!(
            " /{}[{}](queued={},recved={},sent={}",
            self.peer,
            u8::from(self.reading.load(R)),
            self.queued.load(R),
            self.recved.load(R),
            self.sent.load(R)
        );
        let sid = self.session_id();
        if !brief && sid != 0 {
            let _ = write!(
                s,
                ",sid=0x{:x},lop={},est={},to={}",
                sid,
                OP_NAMES[self.last_op.load(R) as usize],
                self.established_ms,
                self.timeout_ms()
            );
            let cxid = self.last_cxid.load(R);
            if cxid >= 0 {
                let _ = write!(s, ",lcxid=0x{cxid:x}");
            }
            let _ = write!(
                s,
                ",lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
                self.last_zxid.load(R),
                self.last_resp_ms.load(R),
                self.last_latency.load(R),
                self.latency.min(),
                self.latency.avg_floor(),
                self.latency.max()
            );
        }
        s.push(')');
        s
    }
}

/// `BufferStats`: the sizes of the responses sent to clients (replies and
/// notifications, without the length prefix), -1 before the first.
pub struct ResponseSizes {
    last: AtomicI64,
    min: AtomicI64,
    max: AtomicI64,
}

impl ResponseSizes {
    fn new() -> Self {
        ResponseSizes {
            last: AtomicI64::new(-1),
            min: AtomicI64::new(-1),
            max: AtomicI64::new(-1),
        }
    }

    /// A response of `size` bytes was sent.
    pub fn record(&self, size: usize) {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        self.last.store(size, R);
        let min = self.min.load(R);
        if min == -1 || size < min {
            self.min.store(size, R);
        }
        if size > self.max.load(R) {
            self.max.store(size, R);
        }
    }

    fn reset(&self) {
        for v in [&self.last, &self.min, &self.max] {
            v.store(-1, R);
        }
    }

    /// (last, min, max).
    pub fn get(&self) -> (i64, i64, i64) {
        (self.last.load(R), self.min.load(R), self.max.load(R))
    }
}

/// Server-wide counters (`ServerStats`) and the open connections.
pub struct ServerStats {
    pub started: Instant,
    pub started_wall_ms: u64,
    packets_received: AtomicU64,
    packets_sent: AtomicU64,
    /// `bytes_received_count`: bytes received from clients, four-letter
    /// words included.
    bytes_received: AtomicU64,
    /// `connection_request_count`: ConnectRequests received.
    connection_requests: AtomicU64,
    pub latency: Latency,
    /// `readlatency` and `updatelatency` (`mntr`): the latency of requests
    /// without a txn, and with one.
    pub read_latency: Percentiles,
    pub update_latency: Percentiles,
    /// The log stage's and the snapshotter's metrics (`mntr`).
    pub log: LogMetrics,
    auth_failed: AtomicU64,
    /// Sizes of the responses sent (`client_response_stats`).
    pub response_sizes: ResponseSizes,
    /// Log fsyncs slower than `fsync.warningthresholdms`.
    fsync_threshold_exceeded: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<ConnStats>>>,
    /// Last client activity of sessions whose connection closed (for `dump`).
    detached: Mutex<HashMap<i64, u64>>,
}

impl Default for ServerStats {
    fn default() -> Self {
        ServerStats::new()
    }
}

impl ServerStats {
    pub fn new() -> Self {
        ServerStats {
            started: Instant::now(),
            started_wall_ms: wall_ms(),
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            connection_requests: AtomicU64::new(0),
            latency: Latency::new(),
            read_latency: Percentiles::default(),
            update_latency: Percentiles::default(),
            log: LogMetrics::default(),
            auth_failed: AtomicU64::new(0),
            response_sizes: ResponseSizes::new(),
            fsync_threshold_exceeded: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            detached: Mutex::new(HashMap::new()),
        }
    }

    pub fn packets_received(&self) -> u64 {
        self.packets_received.load(R)
    }

    pub fn bytes_received(&self) -> u64 {
        self.bytes_received.load(R)
    }

    /// A ConnectRequest arrived.
    pub fn connection_requested(&self) {
        self.connection_requests.fetch_add(1, R);
    }

    pub fn connection_requests(&self) -> u64 {
        self.connection_requests.load(R)
    }

    pub fn packets_sent(&self) -> u64 {
        self.packets_sent.load(R)
    }

    pub fn auth_failed(&self) {
        self.auth_failed.fetch_add(1, R);
    }

    pub fn auth_failed_count(&self) -> u64 {
        self.auth_failed.load(R)
    }

    /// A log fsync took longer than `fsync.warningthresholdms`.
    pub fn fsync_threshold_exceeded(&self) {
        self.fsync_threshold_exceeded.fetch_add(1, R);
    }

    pub fn fsync_threshold_exceed_count(&self) -> u64 {
        self.fsync_threshold_exceeded.load(R)
    }

    pub fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// `srst`: `ServerStats.reset` (latency and packet counters, and the
    /// metrics it resets through `ServerMetrics.resetAll`).
    pub fn reset(&self) {
        self.latency.reset();
        self.read_latency.reset();
        self.update_latency.reset();
        self.log.reset();
        self.response_sizes.reset();
        self.packets_received.store(0, R);
        self.packets_sent.store(0, R);
        self.bytes_received.store(0, R);
        self.connection_requests.store(0, R);
    }

    /// A connection was accepted.
    pub fn register(&self, conn: Arc<ConnStats>) {
        let mut map = self.conns.lock().expect("conns lock");
        map.insert(conn.id, conn);
    }

    /// A connection closed; its session's last activity is kept for `dump`.
    pub fn unregister(&self, id: u64) {
        let removed = self.conns.lock().expect("conns lock").remove(&id);
        if let Some(c) = removed {
            let sid = c.session_id();
            if sid != 0 {
                let mut d = self.detached.lock().expect("detached lock");
                d.insert(sid, c.last_activity_wall_ms(self));
            }
        }
    }

    /// The open connections, oldest first.
    pub fn connections(&self) -> Vec<Arc<ConnStats>> {
        let map = self.conns.lock().expect("conns lock");
        let mut v: Vec<Arc<ConnStats>> = map.values().cloned().collect();
        v.sort_unstable_by_key(|c| c.id);
        v
    }

    /// Requests inside the pipeline, over all connections.
    pub fn outstanding(&self) -> u64 {
        self.connections().iter().map(|c| c.queued()).sum()
    }

    /// When a session last heard from its client (ms since the epoch): its
    /// connection's last packet, else when its last connection closed, else
    /// (restored from disk) when the server started. Forgets sessions not in `live`.
    pub fn session_last_activity(&self, live: &[(i64, i32)]) -> HashMap<i64, u64> {
        let mut out: HashMap<i64, u64> = HashMap::new();
        {
            let mut d = self.detached.lock().expect("detached lock");
            d.retain(|sid, _| live.iter().any(|(id, _)| id == sid));
            for (sid, _) in live {
                out.insert(*sid, d.get(sid).copied().unwrap_or(self.started_wall_ms));
            }
        }
        for c in self.connections() {
            let sid = c.session_id();
            if let Some(t) = out.get_mut(&sid) {
                *t = (*t).max(c.last_activity_wall_ms(self));
            }
        }
        out
    }

    /// `crst`.
    pub fn reset_connections(&self) {
        for c in self.connections() {
            c.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_reports_like_java() {
        let l = Latency::new();
        assert_eq!((l.min(), l.avg(), l.max()), (0, 0.0, 0));
        for ms in [1, 145, 2] {
            l.add(ms);
        }
        assert_eq!((l.min(), l.max()), (1, 145));
        assert_eq!(l.avg(), 49.3333);
        assert_eq!(l.avg_floor(), 49);
    }

    #[test]
    fn connection_lines() {
        let server = ServerStats::new();
        let c = ConnStats::new(1, "127.0.0.1:5000".parse().unwrap(), false, &server);
        c.packet_received(&server, 10);
        assert_eq!(
            c.describe(false),
            " /127.0.0.1:5000[1](queued=0,recved=1,sent=0)"
        );
        c.opened(0x100, 10_000);
        c.request_queued();
        c.responded(&server, OpCode::GetData as i32, 3, 5, 0, Instant::now());
        let line = c.describe(false);
        assert!(line.contains(",sid=0x100,lop=GETD,"), "{line}");
        assert!(
            line.contains(",to=10000,lcxid=0x3,lzxid=0x5,lresp="),
            "{line}"
        );
        assert!(line.starts_with(" /127.0.0.1:5000[1](queued=0,recved=1,sent=0,"));
        c.responded(&server, OpCode::Create as i32, 4, 6, -110, Instant::now());
        assert!(c.describe(false).contains("lop=NA"));
        assert_eq!(server.packets_received(), 1);
        assert_eq!(server.latency.count(), 2);
    }
}
