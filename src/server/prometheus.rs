//! ZooKeeper's Prometheus metrics endpoint (`PrometheusMetricsProvider`):
//! with `metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider`,
//! `GET /metrics` on `metricsProvider.httpHost:metricsProvider.httpPort`
//! (default 0.0.0.0:7000) answers the text exposition format.
//!
//! The metrics are `mntr`'s, under the names ZooKeeper registers them
//! (no `zk_` prefix): gauges; the counters `bytes_received_count`,
//! `connection_request_count` and `sync_processor_request_queued`; and
//! summaries (`<name>_count`, `<name>_sum`, and the quantiles `mntr` has)
//! where `mntr` shows `avg_`/`min_`/`max_`/`cnt_`/`sum_<name>`. `mntr`'s
//! text values (`version`, `server_state`) are not metrics. There are no
//! `jvm_*` metrics (`metricsProvider.exportJvmInfo`): there is no JVM.

use std::fmt::Write;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use tokio::net::TcpListener;

use crate::server::admin::{plain, serve_http};
use crate::server::four_letter::monitor_pairs;
use crate::server::Shared;

/// The metrics ZooKeeper registers as counters; the rest are gauges or summaries.
const COUNTERS: [&str; 3] = [
    "bytes_received_count",
    "connection_request_count",
    "sync_processor_request_queued",
];

/// Binds the endpoint when it is configured and serves it on the current
/// event loop; returns its address. A port that cannot be bound stops
/// start-up (ZooKeeper's provider fails to start, and so does ZooKeeper).
pub async fn start(shared: Arc<Shared>) -> io::Result<Option<SocketAddr>> {
    let Some(bind) = shared.config.prometheus else {
        return Ok(None);
    };
    let listener = TcpListener::bind(bind).await.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot start the /metrics endpoint on {bind}: {e} (metricsProvider.httpPort)"),
        )
    })?;
    let local = listener.local_addr()?;
    tracing::info!("Started /metrics HTTP endpoint at {local}");
    actix::spawn(serve_http(
        listener,
        Duration::from_secs(30),
        "/metrics endpoint",
        move |req| {
            if req.uri().path() != "/metrics" {
                return plain(StatusCode::NOT_FOUND, "Not Found");
            }
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
            }
            let mut response =
                Response::new(Full::new(Bytes::from(exposition(&monitor_pairs(&shared)))));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        },
    ));
    Ok(Some(local))
}

/// The text exposition format (0.0.4) of `mntr`'s pairs.
pub fn exposition(pairs: &[(String, String)]) -> String {
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<f64>().ok())
    };
    let summaries: Vec<&str> = pairs
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("cnt_"))
        .collect();
    let part_of_summary = |key: &str| {
        [
            "avg_", "min_", "max_", "cnt_", "sum_", "p50_", "p95_", "p99_", "p999_",
        ]
        .iter()
        .any(|p| key.strip_prefix(p).is_some_and(|n| summaries.contains(&n)))
    };
    let mut out = String::new();
    for (key, raw) in pairs {
        if part_of_summary(key) {
            continue;
        }
        let Ok(v) = raw.parse::<f64>() else {
            continue;
        };
        let kind = if COUNTERS.contains(&key.as_str()) {
            "counter"
        } else {
            "gauge"
        };
        let _ = write!(
            out,
            "# HELP {key} {key}\n# TYPE {key} {kind}\n{key} {}\n",
            number(v)
        );
    }
    for name in summaries {
        let _ = writeln!(out, "# HELP {name} {name}\n# TYPE {name} summary");
        for (label, q) in [
            ("p50", "0.5"),
            ("p95", "0.95"),
            ("p99", "0.99"),
            ("p999", "0.999"),
        ] {
            if let Some(v) = value(&format!("{label}_{name}")) {
                let _ = writeln!(out, "{name}{{quantile=\"{q}\",}} {}", number(v));
            }
        }
        let count = value(&format!("cnt_{name}")).unwrap_or(0.0);
        let sum = value(&format!("sum_{name}")).unwrap_or(0.0);
        let _ = writeln!(
            out,
            "{name}_count {}\n{name}_sum {}",
            number(count),
            number(sum)
        );
    }
    out
}

/// A value as Prometheus' Java client writes it: `5.0`, `0.25`.
fn number(v: f64) -> String {
    format!("{v:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn gauges_counters_and_summaries_by_name() {
        let text = exposition(&pairs(&[
            ("version", "3.8.0-abc, built on x"),
            ("znode_count", "5"),
            ("avg_latency", "0.25"),
            ("bytes_received_count", "237"),
            ("avg_readlatency", "1.5"),
            ("min_readlatency", "1"),
            ("max_readlatency", "2"),
            ("cnt_readlatency", "2"),
            ("sum_readlatency", "3"),
            ("p50_readlatency", "1"),
            ("p99_readlatency", "2"),
        ]));
        assert_eq!(
            text,
            "# HELP znode_count znode_count\n# TYPE znode_count gauge\nznode_count 5.0\n\
             # HELP avg_latency avg_latency\n# TYPE avg_latency gauge\navg_latency 0.25\n\
             # HELP bytes_received_count bytes_received_count\n\
             # TYPE bytes_received_count counter\nbytes_received_count 237.0\n\
             # HELP readlatency readlatency\n# TYPE readlatency summary\n\
             readlatency{quantile=\"0.5\",} 1.0\nreadlatency{quantile=\"0.99\",} 2.0\n\
             readlatency_count 2.0\nreadlatency_sum 3.0\n"
        );
    }
}
