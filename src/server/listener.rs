//! Accepts client connections and starts a session actor for each: plain
//! TCP on `clientPort`, TLS on `secureClientPort` (see [`tls`](super::tls)),
//! and with `client.portUnification` either on `clientPort`, told apart as
//! ZooKeeper's `DualModeSslHandler` does, by whether the first bytes are a
//! TLS handshake record.
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
use crate::server::session::{Client, Session};
use crate::server::tls::x509_client_id;
use crate::server::Shared;

/// How long a TLS client may take over its handshake, and a client on a
/// unified port over its first bytes
/// (`zookeeper.ssl.handshakeDetectionTimeoutMillis`' default).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a listener's connections speak.
pub enum Transport {
    Plain,
    Tls(TlsAcceptor),
    /// TLS or plain, by the first bytes (`client.portUnification`).
    Either(TlsAcceptor),
}

/// Accepts until the process ends; refuses an IP past `maxClientCnxns`.
pub async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
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
        match &transport {
            Transport::Plain => plain_session(stream, peer, shared.clone(), prep.clone()),
            Transport::Tls(acceptor) => {
                let (shared, prep) = (shared.clone(), prep.clone());
                let handshake = tls_session(acceptor.clone(), stream, peer, true, shared, prep);
                actix::spawn(handshake);
            }
            Transport::Either(acceptor) => {
                let (acceptor, shared, prep) = (acceptor.clone(), shared.clone(), prep.clone());
                actix::spawn(async move {
                    match starts_with_tls(&stream).await {
                        Some(true) => {
                            tls_session(acceptor, stream, peer, false, shared, prep).await
                        }
                        Some(false) => plain_session(stream, peer, shared, prep),
                        None => shared.connection_closed(peer.ip()),
                    }
                });
            }
        }
    }
}

fn plain_session(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, prep: Addr<Prep>) {
    let (read, write) = stream.into_split();
    let client = Client {
        peer,
        secure_port: false,
        certificate_ids: Vec::new(),
    };
    Session::spawn(read, Box::new(write), client, shared, prep);
}

/// Whether the client's first bytes are a TLS handshake record (content
/// type 22, version 3.x); `None` if it closes or sends nothing in time.
async fn starts_with_tls(stream: &TcpStream) -> Option<bool> {
    let peek = async {
        let mut buf = [0u8; 2];
        loop {
            match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(1) if buf[0] == 0x16 => tokio::time::sleep(Duration::from_millis(1)).await,
                Ok(_) => return Some(buf == [0x16, 0x03]),
            }
        }
    };
    tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, peek)
        .await
        .ok()
        .flatten()
}

/// Runs the TLS handshake, then starts the session; a failed or slow
/// handshake closes the connection with a log line. `secure_port`: the
/// connection came to `secureClientPort` (not a unified plain port).
async fn tls_session(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    secure_port: bool,
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
            let client = Client {
                peer,
                secure_port,
                certificate_ids: ids,
            };
            Session::spawn(read, Box::new(write), client, shared, prep);
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
