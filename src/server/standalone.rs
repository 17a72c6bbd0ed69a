//! Wires a standalone server: recovery, then
//! listener → session → prep → sync (txn log) → final, with the snapshotter
//! and the AdminServer beside.

use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::persistence::{DataDirs, TxnLogOptions, TxnLogWriter};
use crate::server::admin;
use crate::server::final_stage::FinalStage;
use crate::server::listener::{accept_loop, Transport};
use crate::server::prep::Prep;
use crate::server::recovery::recover;
use crate::server::sasl::Login;
use crate::server::snapshotter::{snapshot_now, Snapshotter};
use crate::server::sync::{LogTargets, SyncStage};
use crate::server::{prometheus, tls, Shared};

fn startup_error(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e}"))
}

/// Recovers the data dir, starts the pipeline and the listener; returns the
/// address clients connect to. Must run inside an actix system.
pub async fn start(config: Config) -> std::io::Result<SocketAddr> {
    let sasl = Login::load(&config.sasl).map_err(std::io::Error::other)?;
    let dirs = DataDirs::new(&config.data_dir, Some(&config.data_log_dir));
    dirs.create()
        .map_err(|e| startup_error("cannot create the data directories", e))?;
    let recovered = recover(&config, &dirs).map_err(|e| startup_error("recovery failed", e))?;
    let bind = SocketAddr::new(config.client_port_address, config.client_port);
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {bind}: {e}")))?;
    let local = listener.local_addr()?;
    let log_options = TxnLogOptions {
        force_sync: config.force_sync,
        fsync_warning_ms: config.fsync_warning_threshold_ms,
        ..TxnLogOptions::default()
    }
    .with_prealloc_kb(match config.txn_log_size_limit_kb {
        // The size limit also caps the preallocation, as ZooKeeper documents it.
        limit if limit > 0 => config.pre_alloc_size_kb.min(limit as u64),
        _ => config.pre_alloc_size_kb,
    });
    let writer = TxnLogWriter::open(&dirs.log_dir, log_options)
        .map_err(|e| startup_error("cannot open the transaction log", e))?;
    let restored = recovered.sessions.clone();
    let from_snapshot = recovered.snapshot.is_some();
    let shared = Arc::new(Shared::new(config, recovered.tree, recovered.sessions).with_sasl(sasl));
    check_enforced_auth(&shared).map_err(std::io::Error::other)?;
    if let Some(info) = recovered.snapshot {
        shared.set_last_snapshot(info);
    }
    recovered.timings.record(&shared.stats.log);
    // A clean snapshot at start-up, as ZooKeeper takes one after loading. A new
    // data dir gets it before any txn is logged (logs without a snapshot are
    // refused at the next start); otherwise the snapshotter writes it while
    // clients are served — the old snapshot and logs still recover everything.
    if !from_snapshot {
        snapshot_now(&shared, &dirs).map_err(|e| startup_error("cannot write a snapshot", e))?;
    }
    let acceptor = tls_acceptor(&shared.config)?;
    let plain = match (&acceptor, shared.config.port_unification) {
        (Some(acceptor), true) => Transport::Either(acceptor.clone()),
        _ => Transport::Plain,
    };
    let secure = bind_secure(&shared.config, acceptor).await?;
    // Before any actor starts: if its port is taken, start-up stops here.
    admin::start(shared.clone()).await?;
    prometheus::start(shared.clone()).await?;
    let snapshotter = Snapshotter::start_on_own_thread(shared.clone(), dirs, from_snapshot);
    let pipeline_shared = shared.clone();
    let prep = Prep::create(move |ctx| {
        let final_stage = FinalStage::new(pipeline_shared.clone(), ctx.address()).start();
        let targets = LogTargets {
            next: final_stage.clone(),
            snapshotter,
            shared: pipeline_shared.clone(),
        };
        let sync = SyncStage::new(writer, targets);
        Prep::new(pipeline_shared, sync, final_stage, restored)
    });
    tracing::info!("binding to port {local}");
    if let Some((listener, acceptor)) = secure {
        tracing::info!("binding to secure port {}", listener.local_addr()?);
        let transport = Transport::Tls(acceptor);
        actix::spawn(accept_loop(
            listener,
            transport,
            shared.clone(),
            prep.clone(),
        ));
    }
    actix::spawn(accept_loop(listener, plain, shared, prep));
    Ok(local)
}

/// `AuthenticationHelper.validateConfiguredProperties`: enforcing
/// authentication needs schemes, each with a provider.
fn check_enforced_auth(shared: &Shared) -> Result<(), String> {
    let sasl = &shared.config.sasl;
    if sasl.enforce_auth && !sasl.require_sasl && sasl.enforce_auth_schemes.is_none() {
        return Err("enforce.auth.enabled is true: enforce.auth.schemes must be configured".into());
    }
    let providers = shared.acl_providers();
    match shared.enforced_auth_schemes.iter().find(|s| !providers.has(s)) {
        Some(scheme) => Err(format!(
            "enforce.auth.schemes: authentication scheme '{scheme}' is not available \
             (sasl needs authProvider.N=org.apache.zookeeper.server.auth.SASLAuthenticationProvider, \
             x509 a TLS port)"
        )),
        None => Ok(()),
    }
}

/// The TLS acceptor, when a port takes TLS clients; unusable TLS settings
/// stop start-up.
fn tls_acceptor(config: &Config) -> std::io::Result<Option<TlsAcceptor>> {
    if !config.tls_enabled() {
        return Ok(None);
    }
    tls::acceptor(&config.ssl)
        .map(Some)
        .map_err(std::io::Error::other)
}

/// The secure client port's listener, when `secureClientPort` is set.
async fn bind_secure(
    config: &Config,
    acceptor: Option<TlsAcceptor>,
) -> std::io::Result<Option<(TcpListener, TlsAcceptor)>> {
    let (Some(port), Some(acceptor)) = (config.secure_client_port, acceptor) else {
        return Ok(None);
    };
    let bind = SocketAddr::new(config.secure_client_port_address, port);
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {bind}: {e}")))?;
    Ok(Some((listener, acceptor)))
}
