//! The key and trust stores `ssl.keyStore.*` and `ssl.trustStore.*` name,
//! read as ZooKeeper 3.8 reads them, so an operator's stores serve as
//! they are.
//!
//! - The type is `….type` (any case), else the file name's ending: `.pem`,
//!   `.p12`, `.jks` (ZooKeeper's `KeyStoreFileType`).
//! - PEM: the key store holds the private key and the certificate chain;
//!   the key may be encrypted (`ENCRYPTED PRIVATE KEY`, PBES2, as `openssl
//!   pkcs8 -topk8` writes it) with `….password`. The trust store's
//!   certificates are all trusted.
//! - PKCS12 and JKS: Java reads either kind whichever of the two is named
//!   (its "dual format" key stores), so the content decides. The password
//!   opens the store and its key. As in Java, a trust store's anchors are
//!   its trusted-certificate entries: a PKCS12 file from `openssl pkcs12`
//!   has none (keytool's do).
//! - BCFKS (BouncyCastle FIPS) is refused.

use std::path::Path;

use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::jks;
use crate::config::StorePassword;

/// A store as the config names it.
pub struct Store<'a> {
    /// The config keys' common start: `ssl.keyStore` or `ssl.trustStore`.
    pub key: &'static str,
    pub path: &'a Path,
    /// `….type`, if set.
    pub declared_type: Option<&'a str>,
    pub password: &'a StorePassword,
}

/// A certificate chain (the server's own first) and its private key.
pub type KeyAndChain = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The formats read.
#[derive(Debug, PartialEq, Eq)]
enum Format {
    Pem,
    /// JKS or PKCS12: told apart by content.
    Java,
}

impl Store<'_> {
    /// The server's key and chain, or why not (naming the store's keys).
    pub fn key_and_chain(&self) -> Result<KeyAndChain, String> {
        match self.format()? {
            Format::Pem => self.pem_key_and_chain(),
            Format::Java => {
                let (data, password) = (self.read()?, self.password()?);
                if jks::is_jks(&data) {
                    self.jks_key_and_chain(&data, &password)
                } else {
                    let store = self.pkcs12(&data, &password)?;
                    let (alias, chain) = store
                        .private_key_chain()
                        .ok_or_else(|| self.error("no private key with its certificate in it"))?;
                    self.log_key(alias);
                    let key = PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec());
                    let certs = chain.certs().iter().map(|c| der(c.as_der())).collect();
                    Ok((certs, key.into()))
                }
            }
        }
    }

    /// The certificates trusted as anchors (never none).
    pub fn trust_anchors(&self) -> Result<Vec<CertificateDer<'static>>, String> {
        let anchors: Vec<_> = match self.format()? {
            Format::Pem => self.pem_certificates(&self.read()?)?,
            Format::Java => {
                let (data, password) = (self.read()?, self.password()?);
                if jks::is_jks(&data) {
                    jks::read(&data, &password)
                        .map_err(|e| self.password_error(e))?
                        .into_iter()
                        .filter_map(|entry| match entry {
                            jks::Entry::TrustedCertificate { certificate } => {
                                Some(der(&certificate))
                            }
                            jks::Entry::PrivateKey { .. } => None,
                        })
                        .collect()
                } else {
                    self.pkcs12(&data, &password)?
                        .entries()
                        .filter_map(|(_, entry)| match entry {
                            KeyStoreEntry::Certificate(c) => Some(der(c.as_der())),
                            _ => None,
                        })
                        .collect()
                }
            }
        };
        if anchors.is_empty() {
            return Err(self.error("no trusted certificate in it"));
        }
        Ok(anchors)
    }

    fn format(&self) -> Result<Format, String> {
        let named = match self.declared_type.filter(|t| !t.is_empty()) {
            Some(t) => t.to_ascii_uppercase(),
            None => match self.path.extension().and_then(|e| e.to_str()) {
                Some("pem") => "PEM".into(),
                Some("p12") => "PKCS12".into(),
                Some("jks") => "JKS".into(),
                Some("bcfks") => "BCFKS".into(),
                _ => {
                    return Err(self.error(format_args!(
                        "cannot tell the store's type from its file name \
                         (.pem, .p12 or .jks); set {}.type",
                        self.key
                    )))
                }
            },
        };
        match named.as_str() {
            "PEM" => Ok(Format::Pem),
            "PKCS12" | "JKS" => Ok(Format::Java),
            "BCFKS" => Err(self.error(
                "BCFKS stores are not supported; convert it to PKCS12 with keytool -importkeystore",
            )),
            other => Err(format!(
                "{}.type {other}: expected PEM, PKCS12 or JKS",
                self.key
            )),
        }
    }

    /// The certificates of a PEM file's contents.
    fn pem_certificates(&self, data: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
        CertificateDer::pem_slice_iter(data)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.error(e))
    }

    fn pem_key_and_chain(&self) -> Result<KeyAndChain, String> {
        let data = self.read()?;
        let chain = self.pem_certificates(&data)?;
        if chain.is_empty() {
            return Err(self.error("no certificate in it"));
        }
        let text = String::from_utf8_lossy(&data);
        let key = match encrypted_pem_key(&text) {
            Some(sealed) => {
                let password = self.password()?;
                if password.is_empty() {
                    return Err(self.error(format_args!(
                        "the private key is encrypted; set {}.password",
                        self.key
                    )));
                }
                let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(sealed.as_slice())
                    .map_err(|e| self.error(format_args!("encrypted private key: {e}")))?;
                let plain = info.decrypt(password.as_bytes()).map_err(|e| {
                    self.error(format_args!(
                        "the private key does not open with {}.password ({e})",
                        self.key
                    ))
                })?;
                PrivatePkcs8KeyDer::from(plain.as_bytes().to_vec()).into()
            }
            None => PrivateKeyDer::from_pem_slice(text.as_bytes())
                .map_err(|e| self.error(format_args!("no private key: {e}")))?,
        };
        Ok((chain, key))
    }

    fn jks_key_and_chain(&self, data: &[u8], password: &str) -> Result<KeyAndChain, String> {
        let entries = jks::read(data, password).map_err(|e| self.password_error(e))?;
        let (alias, sealed_key, chain) = entries
            .into_iter()
            .find_map(|entry| match entry {
                jks::Entry::PrivateKey {
                    alias,
                    sealed_key,
                    chain,
                } if !chain.is_empty() => Some((alias, sealed_key, chain)),
                _ => None,
            })
            .ok_or_else(|| self.error("no private key with its certificate in it"))?;
        self.log_key(&alias);
        let key = jks::recover_key(&sealed_key, password).map_err(|e| self.password_error(e))?;
        let certs = chain.iter().map(|c| der(c)).collect();
        Ok((certs, PrivatePkcs8KeyDer::from(key).into()))
    }

    fn pkcs12(&self, data: &[u8], password: &str) -> Result<KeyStore, String> {
        KeyStore::from_pkcs12(data, password, Pkcs12ImportPolicy::Strict)
            .map_err(|e| self.password_error(format_args!("not a readable PKCS12 store: {e}")))
    }

    /// Which key serves, when a store may hold several (the first, by
    /// alias in PKCS12, as stored in JKS).
    fn log_key(&self, alias: &str) {
        tracing::info!(
            "{}.location {}: serving with the key {alias:?}",
            self.key,
            self.path.display()
        );
    }

    fn read(&self) -> Result<Vec<u8>, String> {
        std::fs::read(self.path).map_err(|e| self.error(e))
    }

    fn password(&self) -> Result<String, String> {
        self.password.resolve(self.key)
    }

    fn error(&self, what: impl std::fmt::Display) -> String {
        format!("{}.location {}: {what}", self.key, self.path.display())
    }

    /// An error that a wrong password is the likely cause of.
    fn password_error(&self, what: impl std::fmt::Display) -> String {
        self.error(format_args!("{what} (check {}.password)", self.key))
    }
}

/// The DER inside the first `ENCRYPTED PRIVATE KEY` block, if any.
fn encrypted_pem_key(text: &str) -> Option<Vec<u8>> {
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    let start = text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----")?;
    let end = start + text[start..].find(END)? + END.len();
    pkcs8::der::pem::decode_vec(&text.as_bytes()[start..end])
        .ok()
        .map(|(_, der)| der)
}

fn der(bytes: &[u8]) -> CertificateDer<'static> {
    CertificateDer::from(bytes.to_vec())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::test_certs::{self_signed, sh};
    use super::*;

    /// key.pem (PKCS#8) and cert.pem, self-signed; then the same key and
    /// certificate as a PKCS12 file, an encrypted PEM store and a plain one.
    fn stores(dir: &Path) {
        self_signed(dir, "cert");
        std::fs::rename(dir.join("cert.key"), dir.join("key.pem")).unwrap();
        sh(dir, "openssl pkcs12 -export -inkey key.pem -in cert.pem -name srv -out store.p12 -passout pass:pw12");
        sh(
            dir,
            "openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out enc.key -passout pass:pwpem",
        );
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        std::fs::write(dir.join("enc.pem"), read("enc.key") + &read("cert.pem")).unwrap();
        std::fs::write(dir.join("plain.pem"), read("key.pem") + &read("cert.pem")).unwrap();
    }

    fn password(value: &str) -> StorePassword {
        StorePassword {
            value: Some(value.into()),
            path: None,
        }
    }

    fn key_and_chain(path: PathBuf, kind: Option<&str>, pw: &str) -> Result<KeyAndChain, String> {
        Store {
            key: "ssl.keyStore",
            path: &path,
            declared_type: kind,
            password: &password(pw),
        }
        .key_and_chain()
    }

    #[test]
    fn pem_pkcs12_and_encrypted_pem_stores_give_the_same_key_and_chain() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        stores(d);
        let plain = key_and_chain(d.join("plain.pem"), None, "").unwrap();
        assert_eq!(plain.0.len(), 1);
        for (file, kind, pw) in [
            ("store.p12", None, "pw12"),
            ("store.p12", Some("jks"), "pw12"),
            ("enc.pem", None, "pwpem"),
            ("enc.pem", Some("Pem"), "pwpem"),
        ] {
            let (chain, key) = key_and_chain(d.join(file), kind, pw).unwrap();
            assert_eq!(chain, plain.0, "{file}");
            assert_eq!(key.secret_der(), plain.1.secret_der(), "{file}");
        }
    }

    #[test]
    fn wrong_passwords_and_unknown_types_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        stores(d);
        let err = key_and_chain(d.join("store.p12"), None, "nope").unwrap_err();
        assert!(err.starts_with("ssl.keyStore.location"), "{err}");
        assert!(err.ends_with("(check ssl.keyStore.password)"), "{err}");
        let err = key_and_chain(d.join("enc.pem"), None, "nope").unwrap_err();
        assert!(
            err.contains("does not open with ssl.keyStore.password"),
            "{err}"
        );
        let err = key_and_chain(d.join("enc.pem"), None, "").unwrap_err();
        assert!(
            err.contains("encrypted; set ssl.keyStore.password"),
            "{err}"
        );

        let err = key_and_chain(d.join("store.pfx"), None, "").unwrap_err();
        assert!(err.contains("set ssl.keyStore.type"), "{err}");
        let err = key_and_chain(d.join("store.p12"), Some("BCFKS"), "").unwrap_err();
        assert!(err.contains("BCFKS stores are not supported"), "{err}");
        let err = key_and_chain(d.join("store.p12"), Some("PKCS11"), "").unwrap_err();
        assert_eq!(err, "ssl.keyStore.type PKCS11: expected PEM, PKCS12 or JKS");
        let err = key_and_chain(d.join("missing.pem"), None, "").unwrap_err();
        assert!(err.starts_with("ssl.keyStore.location"), "{err}");
    }

    #[test]
    fn an_openssl_pkcs12_file_has_no_trust_anchors_as_in_java() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        stores(d);
        let trust = |file: &str, pw: &str| {
            Store {
                key: "ssl.trustStore",
                path: &d.join(file),
                declared_type: None,
                password: &password(pw),
            }
            .trust_anchors()
        };
        assert_eq!(trust("cert.pem", "").unwrap().len(), 1);
        let err = trust("store.p12", "pw12").unwrap_err();
        assert!(err.ends_with("no trusted certificate in it"), "{err}");
    }
}
