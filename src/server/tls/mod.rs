//! TLS for client connections (`secureClientPort`, `client.portUnification`),
//! from ZooKeeper's `ssl.*` settings.
//!
//! - [`stores`] reads the key and trust stores (PEM, PKCS12, JKS; [`jks`]
//!   is Java's own format).
//! - [`versions`] picks the TLS versions and cipher suites offered.
//! - [`x509_id`] gives the `x509` id a client certificate authenticates a
//!   session as.
//!
//! `ssl.clientAuth` decides whether a client must (`need`, the default), may
//! (`want`) or is not asked to (`none`) present a certificate.

mod jks;
mod stores;
#[cfg(test)]
mod test_certs;
mod versions;
mod x509_id;

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::{ClientAuth, SslConfig};
use stores::Store;
pub use x509_id::x509_client_id;

/// The acceptor for TLS clients, or why the settings are unusable (naming
/// the key at fault).
pub fn acceptor(ssl: &SslConfig) -> Result<TlsAcceptor, String> {
    let offer = versions::offer(ssl, tokio_rustls::rustls::crypto::ring::default_provider())?;
    let provider = Arc::new(offer.provider);
    let key_store = ssl
        .key_store
        .as_deref()
        .ok_or("TLS (secureClientPort, client.portUnification) needs ssl.keyStore.location")?;
    let key_store = Store {
        key: "ssl.keyStore",
        path: key_store,
        declared_type: ssl.key_store_type.as_deref(),
        password: &ssl.key_store_password,
    };
    let (chain, key) = key_store.key_and_chain()?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&offer.versions)
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match ssl.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let trust_store = ssl.trust_store.as_deref().ok_or(
                "ssl.clientAuth need or want needs ssl.trustStore.location (or ssl.clientAuth=none)",
            )?;
            let mut roots = RootCertStore::empty();
            for ca in trust_store_of(ssl, trust_store).trust_anchors()? {
                roots.add(ca).map_err(|e| {
                    format!("ssl.trustStore.location {}: {e}", trust_store.display())
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == ClientAuth::Want {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier.build().map_err(|e| {
                    format!("ssl.trustStore.location {}: {e}", trust_store.display())
                })?,
            )
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("ssl.keyStore.location {}: {e}", key_store.path.display()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn trust_store_of<'a>(ssl: &'a SslConfig, path: &'a Path) -> Store<'a> {
    Store {
        key: "ssl.trustStore",
        path,
        declared_type: ssl.trust_store_type.as_deref(),
        password: &ssl.trust_store_password,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// A self-signed certificate and its key, as one PEM store.
    fn pem_store_file(dir: &Path) -> PathBuf {
        test_certs::self_signed(dir, "cert");
        test_certs::pem_store(dir, "cert");
        dir.join("cert-store.pem")
    }

    fn error_of(ssl: &SslConfig) -> String {
        match acceptor(ssl) {
            Ok(_) => panic!("accepted {ssl:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_pem_store_makes_an_acceptor_and_bad_settings_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = pem_store_file(dir.path());
        let mut ssl = SslConfig {
            key_store: Some(store.clone()),
            trust_store: Some(dir.path().join("cert.pem")),
            ..SslConfig::default()
        };
        assert!(acceptor(&ssl).is_ok());
        ssl.client_auth = ClientAuth::Want;
        assert!(acceptor(&ssl).is_ok());

        ssl.trust_store = None;
        assert!(error_of(&ssl).contains("needs ssl.trustStore.location"));
        ssl.client_auth = ClientAuth::None;
        assert!(acceptor(&ssl).is_ok());

        ssl.key_store = Some(dir.path().join("cert.pem"));
        assert!(error_of(&ssl).starts_with("ssl.keyStore.location"));
        let key_only = dir.path().join("key-only.pem");
        std::fs::copy(dir.path().join("cert.key"), &key_only).unwrap();
        ssl.key_store = Some(key_only);
        assert!(error_of(&ssl).contains("no certificate"));
        ssl.key_store = None;
        assert!(error_of(&ssl).contains("needs ssl.keyStore.location"));
    }
}
