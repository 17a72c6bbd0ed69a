//! Accepts client connections and starts a session actor for each: plain
//! TCP on `clientPort`, TLS on `secureClientPort` (see [`tls`](super::tls)).
//!
//! Session actors share the event-loop thread with prep and final: measured on
//! 2 cores, spreading them over per-core I/O threads cost more in wake-ups and
//! context switches (two per read) than it gained (get-heavy 430k → 300k ops/s;
//! docs/PERFORMANCE.md). Blocking work (fsync, snapshots) has its own threads.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::proto::data::Id;
use crate::server::prep::Prep;
use crate::server::session::Session;
use crate::server::tls::x509_client_id;
use crate::server::Shared;

/// How long a TLS client may take over its handshake
/// (`zookeeper.ssl.handshakeDetectionTimeoutMillis`' default).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts until the process ends; refuses an IP past `maxClientCnxns`.
/// With `tls`, each connection is a TLS one.
pub async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    prep: Addr<Prep>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: log, back off a little, keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
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
        let _ = stream.set_nodelay(true);
        match &tls {
            None => {
                let (read, write) = stream.into_split();
                Session::spawn(
                    read,
                    Box::new(write),
                    peer,
                    Vec::new(),
                    shared.clone(),
                    prep.clone(),
                );
            }
            Some(acceptor) => {
                let handshake =
                    tls_session(acceptor.clone(), stream, peer, shared.clone(), prep.clone());
                actix::spawn(handshake);
            }
        }
    }
}

/// Runs the TLS handshake, then starts the session; a failed or slow
/// handshake closes the connection with a log line.
async fn tls_session(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    prep: Addr<Prep>,
) {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            let client_id = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(x509_client_id);
            let ids = certificate_ids(client_id, shared.config.ssl.x509_super_user.as_deref());
            let (read, write) = tokio::io::split(tls);
            Session::spawn(read, Box::new(write), peer, ids, shared, prep);
        }
        Ok(Err(e)) => {
            tracing::warn!("TLS handshake with {peer} failed: {e}");
            shared.connection_closed(peer.ip());
        }
        Err(_) => {
            tracing::warn!("TLS handshake with {peer} timed out after {TLS_HANDSHAKE_TIMEOUT:?}");
            shared.connection_closed(peer.ip());
        }
    }
}

/// What a client certificate authenticates a session as
/// (`X509AuthenticationProvider`): `x509:<subject DN>`, after `super` when
/// the DN is the configured super user.
fn certificate_ids(client_id: Option<String>, super_user: Option<&str>) -> Vec<Id> {
    let Some(id) = client_id else {
        return Vec::new();
    };
    let is_super = super_user == Some(id.as_str());
    let x509 = Id {
        scheme: "x509".into(),
        id,
    };
    let super_id = is_super.then(|| Id {
        scheme: "super".into(),
        id: x509.id.clone(),
    });
    super_id.into_iter().chain([x509]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_its_x509_id_and_super_when_it_is_the_super_user() {
        assert!(certificate_ids(None, Some("CN=a")).is_empty());
        let ids = certificate_ids(Some("CN=a".into()), Some("CN=b"));
        assert_eq!(ids.len(), 1);
        assert_eq!(
            (ids[0].scheme.as_str(), ids[0].id.as_str()),
            ("x509", "CN=a")
        );
        let ids = certificate_ids(Some("CN=a".into()), Some("CN=a"));
        let ids: Vec<_> = ids
            .iter()
            .map(|i| (i.scheme.as_str(), i.id.as_str()))
            .collect();
        assert_eq!(ids, [("super", "CN=a"), ("x509", "CN=a")]);
    }
}
