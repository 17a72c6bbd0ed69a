//! Wires a standalone server: listener → session → prep → sync → final.

use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::server::final_stage::FinalStage;
use crate::server::listener::accept_loop;
use crate::server::prep::Prep;
use crate::server::sync::SyncStage;
use crate::server::Shared;
use crate::tree::DataTree;

/// Starts the pipeline and the listener; returns the address clients connect to.
/// Must run inside an actix system.
pub async fn start(config: Config) -> std::io::Result<SocketAddr> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot create dataDir {}: {e}", config.data_dir.display()),
        )
    })?;
    let bind = SocketAddr::new(config.client_port_address, config.client_port);
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {bind}: {e}")))?;
    let local = listener.local_addr()?;
    let shared = Arc::new(Shared::new(config, DataTree::new()));
    let pipeline_shared = shared.clone();
    let prep = Prep::create(move |ctx| {
        let final_stage = FinalStage::new(pipeline_shared.clone(), ctx.address()).start();
        let sync = SyncStage::new(final_stage).start();
        Prep::new(pipeline_shared, sync)
    });
    tracing::info!("binding to port {local}");
    actix::spawn(accept_loop(listener, shared, prep));
    Ok(local)
}
