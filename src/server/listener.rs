//! Accepts client connections and starts a session actor for each.
//!
//! Session actors share the event-loop thread with prep and final: measured on
//! 2 cores, spreading them over per-core I/O threads cost more in wake-ups and
//! context switches (two per read) than it gained (get-heavy 430k → 300k ops/s;
//! docs/PERFORMANCE.md). Blocking work (fsync, snapshots) has its own threads.

use std::sync::Arc;

use actix::Addr;
use tokio::net::TcpListener;

use crate::server::prep::Prep;
use crate::server::session::Session;
use crate::server::Shared;

/// Accepts until the process ends; refuses an IP past `maxClientCnxns`.
pub async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, prep: Addr<Prep>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: log, back off a little, keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if !shared.connection_opened(peer.ip()) {
            tracing::warn!(
                "Too many connections from {} - max is {}",
                peer.ip(),
                shared.config.max_client_cnxns
            );
            drop(stream);
            continue;
        }
        Session::spawn(stream, peer, shared.clone(), prep.clone());
    }
}
