//! The AdminServer's commands (`server/admin/Commands.java` in ZooKeeper 3.8):
//! each answers a JSON object of its data followed by `"command"` and
//! `"error"`, under its name or one of its aliases (most are the four-letter
//! words). The data come from the same counters and tables as the
//! four-letter words; unlike those, no whitelist applies (as in ZooKeeper).

use serde_json::{json, Map, Value};

use crate::persistence::DIGEST_VERSION;
use crate::server::four_letter::{self, dumps, host};
use crate::server::Shared;

/// A command's data, or the error it answers with.
type Outcome = Result<Map<String, Value>, String>;

/// What a command does with the query string.
type Run = fn(&Shared, &str) -> Outcome;

/// Every command (name, aliases, what it runs), in the order ZooKeeper lists them.
const COMMANDS: &[(&str, &[&str], Run)] = &[
    ("configuration", &["conf", "config"], configuration),
    ("connection_stat_reset", &["crst"], connection_stat_reset),
    ("connections", &["cons"], connections),
    ("dirs", &[], dirs),
    ("dump", &[], dump),
    ("environment", &["env", "envi"], environment),
    ("get_trace_mask", &["gtmk"], get_trace_mask),
    ("hash", &[], hash),
    ("initial_configuration", &["icfg"], initial_configuration),
    ("is_read_only", &["isro"], is_read_only),
    ("last_snapshot", &["lsnp"], last_snapshot),
    ("leader", &["lead"], leader),
    ("monitor", &["mntr"], monitor),
    ("observer_connection_stat_reset", &["orst"], no_data),
    ("observers", &["obsr"], observers),
    ("ruok", &[], no_data),
    ("server_stats", &["srvr"], server_stats),
    ("set_trace_mask", &["stmk"], set_trace_mask),
    ("stat_reset", &["srst"], stat_reset),
    ("stats", &["stat"], stats),
    ("system_properties", &["sysp"], system_properties),
    ("voting_view", &[], voting_view),
    ("watch_summary", &["wchs"], watch_summary),
    ("watches", &["wchc"], watches),
    ("watches_by_path", &["wchp"], watches_by_path),
    ("zabstate", &[], zabstate),
];

/// The primary names, for the command list.
pub fn names() -> impl Iterator<Item = &'static str> {
    COMMANDS.iter().map(|(name, _, _)| *name)
}

/// Runs the command `name` (or an alias) with the request's query string,
/// and gives its JSON object: the data, then `command` (the primary name)
/// and `error` (null on success). An unknown name is answered too, with an
/// error, as ZooKeeper answers it.
pub fn run(name: &str, query: &str, shared: &Shared) -> Map<String, Value> {
    let Some((primary, _, command)) = COMMANDS
        .iter()
        .find(|(primary, aliases, _)| *primary == name || aliases.contains(&name))
    else {
        let mut m = Map::new();
        m.insert("command".into(), name.into());
        m.insert("error".into(), format!("Unknown command: {name}").into());
        return m;
    };
    match command(shared, query) {
        Ok(mut m) => {
            m.insert("command".into(), (*primary).into());
            m.insert("error".into(), Value::Null);
            m
        }
        // ZooKeeper puts a command's own error ahead of the name.
        Err(e) => {
            let mut m = Map::new();
            m.insert("error".into(), e.into());
            m.insert("command".into(), (*primary).into());
            m
        }
    }
}

/// The entries of a `json!({...})` literal.
fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A metric's text value as JSON: integers and decimals as numbers.
fn number_or_text(v: String) -> Value {
    if let Ok(i) = v.parse::<i64>() {
        return i.into();
    }
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() => f.into(),
        _ => v.into(),
    }
}

fn no_data(_: &Shared, _: &str) -> Outcome {
    Ok(Map::new())
}

fn configuration(shared: &Shared, _: &str) -> Outcome {
    let cfg = &shared.config;
    let (snap_dir, log_dir) = four_letter::version_dirs(shared);
    Ok(object(json!({
        "client_port": cfg.client_port,
        "data_dir": four_letter::absolute(&snap_dir),
        "data_log_dir": four_letter::absolute(&log_dir),
        "tick_time": cfg.tick_time_ms,
        "max_client_cnxns": cfg.max_client_cnxns,
        "min_session_timeout": cfg.min_session_timeout_ms,
        "max_session_timeout": cfg.max_session_timeout_ms,
        "server_id": 0,
        "client_port_listen_backlog": four_letter::listen_backlog(shared),
    })))
}

fn connection_stat_reset(shared: &Shared, _: &str) -> Outcome {
    shared.stats.reset_connections();
    Ok(Map::new())
}

/// The details of every connection of one port kind, plain or secure, as
/// ZooKeeper lists each connection factory's (`brief`: only the counters).
fn connection_list(shared: &Shared, brief: bool, secure_port: bool) -> Value {
    let list: Vec<Value> = shared
        .stats
        .connections()
        .iter()
        .filter(|c| c.secure_port == secure_port)
        .map(|c| Value::Object(c.info(brief)))
        .collect();
    list.into()
}

fn connections(shared: &Shared, _: &str) -> Outcome {
    Ok(object(json!({
        "connections": connection_list(shared, false, false),
        "secure_connections": connection_list(shared, false, true),
    })))
}

fn dirs(shared: &Shared, _: &str) -> Outcome {
    let (data, log) = host::dir_sizes(shared);
    Ok(object(json!({ "datadir_size": data, "logdir_size": log })))
}

fn dump(shared: &Shared, _: &str) -> Outcome {
    let expiry: Map<String, Value> = dumps::session_expiry(shared)
        .into_iter()
        .map(|(at, sids)| (at.to_string(), json!(sids)))
        .collect();
    let ephemerals: Map<String, Value> = {
        let tree = shared.tree.read().expect("tree lock");
        tree.sessions_with_ephemerals()
            .into_iter()
            .map(|sid| (sid.to_string(), json!(tree.ephemerals(sid))))
            .collect()
    };
    Ok(object(json!({
        "expiry_time_to_session_ids": expiry,
        "session_id_to_ephemeral_paths": ephemerals,
    })))
}

fn environment(_: &Shared, _: &str) -> Outcome {
    Ok(host::environment()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect())
}

fn get_trace_mask(shared: &Shared, _: &str) -> Outcome {
    Ok(object(json!({ "tracemask": shared.trace_mask() })))
}

/// `set_trace_mask?traceMask=<long>`.
fn set_trace_mask(shared: &Shared, query: &str) -> Outcome {
    let arg = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("traceMask="));
    let Some(arg) = arg else {
        return Err("setTraceMask requires long traceMask argument".into());
    };
    let mask: i64 = arg
        .parse()
        .map_err(|_| format!("setTraceMask requires long traceMask argument, got {arg}"))?;
    shared.set_trace_mask(mask);
    tracing::info!("Set text trace mask to 0x{mask:x}");
    Ok(object(json!({ "tracemask": mask })))
}

fn hash(shared: &Shared, _: &str) -> Outcome {
    let tree = shared.tree.read().expect("tree lock");
    let digests: Vec<Value> = tree
        .digest_log()
        .map(|(zxid, digest)| {
            json!({ "zxid": zxid, "digest": digest, "digest_version": DIGEST_VERSION })
        })
        .collect();
    Ok(object(json!({ "digests": digests })))
}

fn initial_configuration(shared: &Shared, _: &str) -> Outcome {
    Ok(object(
        json!({ "initial_configuration": shared.config.source_text }),
    ))
}

fn is_read_only(_: &Shared, _: &str) -> Outcome {
    Ok(object(json!({ "read_only": false })))
}

fn last_snapshot(shared: &Shared, _: &str) -> Outcome {
    let info = shared.last_snapshot();
    Ok(object(json!({
        "zxid": format!("{:x}", info.map_or(0, |i| i.zxid)),
        "timestamp": info.map_or(0, |i| i.timestamp_s),
    })))
}

/// A standalone server has no leader.
fn leader(_: &Shared, _: &str) -> Outcome {
    Err("server is not initialized".into())
}

fn monitor(shared: &Shared, _: &str) -> Outcome {
    Ok(four_letter::monitor_pairs(shared)
        .into_iter()
        .map(|(k, v)| (k, number_or_text(v)))
        .collect())
}

fn observers(_: &Shared, _: &str) -> Outcome {
    Ok(object(json!({ "synced_observers": 0, "observers": [] })))
}

/// `StatCommand`'s and `SrvrCommand`'s common part.
fn server_summary(shared: &Shared) -> Map<String, Value> {
    let (zxid, nodes) = {
        let tree = shared.tree.read().expect("tree lock");
        (tree.last_processed_zxid(), tree.node_count())
    };
    let stats = &shared.stats;
    let (last, min, max) = stats.response_sizes.get();
    let buffers = json!({
        "last_buffer_size": last,
        "min_buffer_size": min,
        "max_buffer_size": max,
    });
    let (data_size, log_size) = host::dir_sizes(shared);
    object(json!({
        "version": four_letter::full_version(),
        "read_only": false,
        "server_stats": {
            "packets_sent": stats.packets_sent(),
            "packets_received": stats.packets_received(),
            "fsync_threshold_exceed_count": stats.fsync_threshold_exceed_count(),
            "client_response_stats": buffers.clone(),
            "data_dir_size": data_size,
            "log_dir_size": log_size,
            "provider_null": false,
            "server_state": "standalone",
            "last_processed_zxid": zxid,
            "outstanding_requests": stats.outstanding(),
            "avg_latency": stats.latency.avg(),
            "max_latency": stats.latency.max(),
            "min_latency": stats.latency.min(),
            "num_alive_client_connections": shared.connection_count(),
            "auth_failed_count": stats.auth_failed_count(),
            "non_mtlsremote_conn_count": 0,
            "non_mtlslocal_conn_count": 0,
            "uptime": stats.uptime_ms(),
        },
        "client_response": buffers,
        "node_count": nodes,
    }))
}

fn server_stats(shared: &Shared, _: &str) -> Outcome {
    Ok(server_summary(shared))
}

fn stats(shared: &Shared, _: &str) -> Outcome {
    let mut m = server_summary(shared);
    m.insert("connections".into(), connection_list(shared, true, false));
    m.insert(
        "secure_connections".into(),
        connection_list(shared, true, true),
    );
    Ok(m)
}

fn stat_reset(shared: &Shared, _: &str) -> Outcome {
    shared.stats.reset();
    Ok(Map::new())
}

/// The JVM's system properties have no counterpart; given are the host's
/// (as `environment` has them, with the separators) and, as ZooKeeper sets
/// them, `zookeeper.<key>` for every zoo.cfg key the server does not use.
/// Sorted by name, as Java lists them.
fn system_properties(shared: &Shared, _: &str) -> Outcome {
    let mut props: Vec<(String, String)> = host::environment()
        .into_iter()
        .filter(|(k, _)| k.starts_with("os.") || k.starts_with("user."))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    props.extend(
        [
            ("file.separator", "/"),
            ("line.separator", "\n"),
            ("path.separator", ":"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    props.extend(
        shared
            .config
            .unknown
            .iter()
            .map(|(k, v)| (format!("zookeeper.{k}"), v.clone())),
    );
    props.sort();
    Ok(props.into_iter().map(|(k, v)| (k, v.into())).collect())
}

fn voting_view(_: &Shared, _: &str) -> Outcome {
    Ok(object(json!({ "current_config": {} })))
}

fn watch_summary(shared: &Shared, _: &str) -> Outcome {
    let tree = shared.tree.read().expect("tree lock");
    let (connections, paths, total) = tree.watch_tables().0.summary();
    Ok(object(json!({
        "num_connections": connections,
        "num_paths": paths,
        "num_total_watches": total,
    })))
}

fn watches(shared: &Shared, _: &str) -> Outcome {
    let by_session: Map<String, Value> = dumps::watches_by_session(shared)
        .into_iter()
        .map(|(sid, paths)| (sid.to_string(), json!(paths)))
        .collect();
    Ok(object(json!({ "session_id_to_watched_paths": by_session })))
}

fn watches_by_path(shared: &Shared, _: &str) -> Outcome {
    let tree = shared.tree.read().expect("tree lock");
    let by_path: Map<String, Value> = tree
        .watch_tables()
        .0
        .by_path()
        .into_iter()
        .map(|(path, sids)| (path, json!(sids)))
        .collect();
    Ok(object(json!({ "path_to_session_ids": by_path })))
}

fn zabstate(_: &Shared, _: &str) -> Outcome {
    Ok(object(json!({ "voting": false, "zabstate": "" })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::tree::DataTree;

    fn shared() -> Shared {
        Shared::new(Config::default(), DataTree::new(), Default::default())
    }

    fn keys(m: &Map<String, Value>) -> Vec<&str> {
        m.keys().map(String::as_str).collect()
    }

    #[test]
    fn aliases_answer_under_the_primary_name() {
        let s = shared();
        for (alias, name) in [
            ("mntr", "monitor"),
            ("conf", "configuration"),
            ("envi", "environment"),
        ] {
            let m = run(alias, "", &s);
            assert_eq!(m["command"], name);
            assert_eq!(m["error"], Value::Null);
        }
        assert_eq!(keys(&run("ruok", "", &s)), ["command", "error"]);
    }

    #[test]
    fn unknown_and_failing_commands_carry_the_error() {
        let s = shared();
        let m = run("nosuch", "", &s);
        assert_eq!(keys(&m), ["command", "error"]);
        assert_eq!(m["error"], "Unknown command: nosuch");
        let m = run("leader", "", &s);
        assert_eq!(keys(&m), ["error", "command"]);
        assert_eq!(m["error"], "server is not initialized");
    }

    #[test]
    fn set_trace_mask_takes_a_long_from_the_query() {
        let s = shared();
        assert_eq!(run("stmk", "traceMask=511", &s)["tracemask"], 511);
        assert_eq!(run("gtmk", "", &s)["tracemask"], 511);
        let m = run("set_trace_mask", "traceMask=abc", &s);
        assert_eq!(
            m["error"],
            "setTraceMask requires long traceMask argument, got abc"
        );
        let m = run("set_trace_mask", "", &s);
        assert_eq!(m["error"], "setTraceMask requires long traceMask argument");
        assert_eq!(s.trace_mask(), 511);
    }

    #[test]
    fn monitor_values_are_typed() {
        let m = run("monitor", "", &shared());
        assert!(m["version"].is_string());
        assert_eq!(m["server_state"], "standalone");
        assert!(m["znode_count"].is_u64());
        assert!(m["avg_latency"].is_f64());
        // Before the first response, ZooKeeper's BufferStats report -1.
        assert_eq!(m["last_client_response_size"], -1);
    }
}
