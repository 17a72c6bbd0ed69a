//! TLS for client connections (`secureClientPort`, `client.portUnification`),
//! from ZooKeeper's `ssl.*` settings, and the `x509` id a client
//! certificate authenticates a session as.
//!
//! Key and trust stores are read as PEM, which ZooKeeper 3.8 takes with
//! `ssl.keyStore.type=PEM` (or a `.pem` file name): the key store holds the
//! server's private key (PKCS#8, PKCS#1 or SEC1, unencrypted) and its
//! certificate chain, the trust store the CA certificates client
//! certificates must chain to. Java key stores (JKS, PKCS12, BCFKS) are
//! refused at start-up with a line saying so; `keytool -importkeystore`
//! and `openssl pkcs12` turn them into PEM. `ssl.clientAuth` decides whether
//! a client must (`need`, the default), may (`want`) or is not asked to
//! (`none`) present a certificate.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::{ClientAuth, SslConfig};

/// The acceptor for TLS clients, or why the settings are unusable (naming
/// the key at fault).
pub fn acceptor(ssl: &SslConfig) -> Result<TlsAcceptor, String> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let key_store = ssl
        .key_store
        .as_deref()
        .ok_or("TLS (secureClientPort, client.portUnification) needs ssl.keyStore.location")?;
    pem_store("ssl.keyStore", key_store, ssl.key_store_type.as_deref())?;
    let chain = certificates("ssl.keyStore.location", key_store)?;
    let key = PrivateKeyDer::from_pem_file(key_store).map_err(|e| {
        format!(
            "ssl.keyStore.location {}: no unencrypted private key: {e}",
            key_store.display()
        )
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match ssl.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        auth => {
            let trust_store = ssl.trust_store.as_deref().ok_or(
                "ssl.clientAuth need or want needs ssl.trustStore.location (or ssl.clientAuth=none)",
            )?;
            pem_store(
                "ssl.trustStore",
                trust_store,
                ssl.trust_store_type.as_deref(),
            )?;
            let mut roots = RootCertStore::empty();
            for ca in certificates("ssl.trustStore.location", trust_store)? {
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
        .map_err(|e| format!("ssl.keyStore.location {}: {e}", key_store.display()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The `x509` auth id of a client certificate, as ZooKeeper's
/// `X509AuthenticationProvider` gives it: the subject's distinguished name
/// in RFC 2253 form, as Java's `X500Principal.getName()` writes it (last RDN
/// first, RFC 2253's keywords, other attribute types as dotted OIDs with
/// the value's DER in hex). `None` for a certificate that does not parse.
pub fn x509_client_id(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let rdns: Vec<String> = cert
        .subject()
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let oid = atv.attr_type().to_id_string();
                    let keyword = RFC2253_KEYWORDS
                        .iter()
                        .find(|(o, _)| *o == oid)
                        .map(|(_, k)| *k);
                    match (keyword, atv.as_str()) {
                        (Some(k), Ok(v)) => format!("{k}={}", rfc2253_escape(v)),
                        (k, _) => format!("{}=#{}", k.unwrap_or(&oid), der_hex(atv.attr_value())),
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    Some(rdns.into_iter().rev().collect::<Vec<_>>().join(","))
}

/// The attribute types RFC 2253 names by keyword.
const RFC2253_KEYWORDS: [(&str, &str); 9] = [
    ("2.5.4.3", "CN"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.6", "C"),
    ("2.5.4.9", "STREET"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("0.9.2342.19200300.100.1.1", "UID"),
];

/// RFC 2253 section 2.4: `,+"\<>;` escaped, and a leading `#` or space
/// and a trailing space.
fn rfc2253_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The DER encoding of an attribute value (tag, length, content) in lower-case hex.
fn der_hex(value: &x509_parser::der_parser::asn1_rs::Any<'_>) -> String {
    let data = value.as_bytes();
    let mut der = vec![value.tag().0 as u8];
    match data.len() {
        n if n < 0x80 => der.push(n as u8),
        n => {
            let len = (n as u64).to_be_bytes();
            let skip = len.iter().take_while(|b| **b == 0).count();
            der.push(0x80 | (8 - skip) as u8);
            der.extend_from_slice(&len[skip..]);
        }
    }
    der.extend_from_slice(data);
    der.iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses a store that is not PEM, by its type or else its file name (as
/// ZooKeeper's `KeyStoreFileType.fromPropertyValueOrFileName` decides).
fn pem_store(prefix: &str, path: &Path, kind: Option<&str>) -> Result<(), String> {
    let kind = match kind.filter(|k| !k.is_empty()) {
        Some(k) => k.to_ascii_uppercase(),
        None => match path.extension().and_then(|e| e.to_str()) {
            Some("jks") => "JKS".into(),
            Some("p12" | "pfx") => "PKCS12".into(),
            Some("bcfks") => "BCFKS".into(),
            _ => "PEM".into(),
        },
    };
    if kind == "PEM" {
        return Ok(());
    }
    Err(format!(
        "{prefix}.location {}: {kind} stores are not supported, only PEM \
         ({prefix}.type=PEM); convert it with keytool -importkeystore and openssl pkcs12",
        path.display()
    ))
}

fn certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{key} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{key} {}: no certificate in it", path.display()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use super::*;

    /// A self-signed certificate and its key, as one PEM store, by `openssl`.
    fn pem_store_file(dir: &Path) -> PathBuf {
        let ok = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args([
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
            ])
            .current_dir(dir)
            .status()
            .expect("openssl")
            .success();
        assert!(ok);
        let store = dir.join("store.pem");
        let text = std::fs::read_to_string(dir.join("key.pem")).unwrap()
            + &std::fs::read_to_string(dir.join("cert.pem")).unwrap();
        std::fs::write(&store, text).unwrap();
        store
    }

    fn error_of(ssl: &SslConfig) -> String {
        match acceptor(ssl) {
            Ok(_) => panic!("accepted {ssl:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn rfc2253_values_are_escaped_as_java_escapes_them() {
        assert_eq!(rfc2253_escape("plain value"), "plain value");
        assert_eq!(
            rfc2253_escape("a,b+c\"d\\e<f>g;h"),
            "a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h"
        );
        assert_eq!(rfc2253_escape("#x "), "\\#x\\ ");
        assert_eq!(rfc2253_escape(" x"), "\\ x");
    }

    #[test]
    fn java_key_stores_are_refused_by_type_or_file_name() {
        let jks = Path::new("/etc/zk/server.jks");
        assert!(pem_store("ssl.keyStore", jks, None)
            .unwrap_err()
            .contains("JKS stores are not supported"));
        let p12 = Path::new("/etc/zk/server.p12");
        assert!(pem_store("ssl.trustStore", p12, None)
            .unwrap_err()
            .starts_with("ssl.trustStore.location"));
        assert!(pem_store("ssl.keyStore", p12, Some("pem")).is_ok());
        let pem = Path::new("/etc/zk/server.pem");
        assert!(pem_store("ssl.keyStore", pem, Some("PKCS12"))
            .unwrap_err()
            .contains("PKCS12"));
        assert!(pem_store("ssl.keyStore", Path::new("/etc/zk/store"), None).is_ok());
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
        ssl.key_store = Some(dir.path().join("key.pem"));
        assert!(error_of(&ssl).contains("no certificate"));
        ssl.key_store = None;
        assert!(error_of(&ssl).contains("needs ssl.keyStore.location"));
    }
}
