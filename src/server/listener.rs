//! Accepts client connections and starts a session actor for each, spreading
//! the session actors over I/O threads (one per core) so socket work uses
//! every core while prep and final keep their single-threaded order.

use std::sync::Arc;

use actix::{Addr, Arbiter, ArbiterHandle};
use tokio::net::TcpListener;

use crate::server::prep::Prep;
use crate::server::session::Session;
use crate::server::Shared;

/// The I/O threads session actors run on.
pub fn io_threads() -> Vec<ArbiterHandle> {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    (0..n).map(|_| Arbiter::new().handle()).collect()
}

/// Accepts until the process ends; refuses an IP past `maxClientCnxns`.
pub async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    prep: Addr<Prep>,
    threads: Vec<ArbiterHandle>,
) {
    let mut next = 0;
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
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot hand over a connection from {peer}: {e}");
                shared.connection_closed(peer.ip());
                continue;
            }
        };
        next = (next + 1) % threads.len();
        Session::spawn_on(&threads[next], stream, peer, shared.clone(), prep.clone());
    }
}
