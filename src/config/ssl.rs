//! The secure client port's TLS settings (`ssl.*`), and the store
//! passwords, which are read from the config or from a file and never
//! printed.

use std::fmt;
use std::path::PathBuf;

/// The secure client port's TLS settings: in ZooKeeper the system
/// properties `zookeeper.ssl.*`, which zoo.cfg sets as `ssl.*`.
#[derive(Debug, Clone, Default)]
pub struct SslConfig {
    /// `ssl.keyStore.location`: the server's key and certificate chain.
    pub key_store: Option<PathBuf>,
    /// `ssl.keyStore.type`; inferred from the file name when not set.
    pub key_store_type: Option<String>,
    /// `ssl.keyStore.password` / `ssl.keyStore.passwordPath`.
    pub key_store_password: StorePassword,
    /// `ssl.trustStore.location`: the CAs client certificates are checked against.
    pub trust_store: Option<PathBuf>,
    /// `ssl.trustStore.type`; inferred from the file name when not set.
    pub trust_store_type: Option<String>,
    /// `ssl.trustStore.password` / `ssl.trustStore.passwordPath`.
    pub trust_store_password: StorePassword,
    /// `ssl.clientAuth`: `need` (the default), `want` or `none`.
    pub client_auth: ClientAuth,
    /// `ssl.protocol`: the one TLS version offered when
    /// `ssl.enabledProtocols` is not set.
    pub protocol: Option<String>,
    /// `ssl.enabledProtocols`: the TLS versions offered (a comma list).
    pub enabled_protocols: Option<String>,
    /// `ssl.ciphersuites`: the cipher suites offered (a comma list).
    pub cipher_suites: Option<String>,
    /// `X509AuthenticationProvider.superUser`: a client whose certificate's
    /// subject is this DN is also `super`.
    pub x509_super_user: Option<String>,
}

/// Whether the secure port asks clients for a certificate (`ssl.clientAuth`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientAuth {
    #[default]
    Need,
    Want,
    None,
}

/// A store's password: given in the config (`….password`) or in a file
/// (`….passwordPath`, which wins, as in ZooKeeper's
/// `X509Util.getPasswordFromConfigPropertyOrFile`). Its `Debug` form hides
/// the value, so it never reaches a log.
#[derive(Clone, Default)]
pub struct StorePassword {
    /// `….password`.
    pub value: Option<String>,
    /// `….passwordPath`.
    pub path: Option<PathBuf>,
}

impl StorePassword {
    /// The password, empty when none is set. A password file is read whole,
    /// less one line end at its end (ZooKeeper's `SecretUtils.readSecret`);
    /// `key` (`ssl.keyStore`, `ssl.trustStore`) names it in the error.
    pub fn resolve(&self, key: &str) -> Result<String, String> {
        match &self.path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{key}.passwordPath {}: {e}", path.display()))?;
                Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
            }
            None => Ok(self.value.clone().unwrap_or_default()),
        }
    }
}

impl fmt::Debug for StorePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorePassword")
            .field("value", &self.value.as_ref().map(|_| "<hidden>"))
            .field("path", &self.path)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_file_wins_and_loses_one_line_end() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n\n").unwrap();
        let mut pw = StorePassword {
            value: Some("inline".into()),
            path: None,
        };
        assert_eq!(pw.resolve("ssl.keyStore").unwrap(), "inline");
        pw.path = Some(file.clone());
        assert_eq!(pw.resolve("ssl.keyStore").unwrap(), "s3cret\n");
        pw.path = Some(dir.path().join("missing"));
        let err = pw.resolve("ssl.trustStore").unwrap_err();
        assert!(err.starts_with("ssl.trustStore.passwordPath"), "{err}");
        assert_eq!(StorePassword::default().resolve("k").unwrap(), "");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let pw = StorePassword {
            value: Some("s3cret".into()),
            path: None,
        };
        let shown = format!(
            "{:?}",
            SslConfig {
                key_store_password: pw,
                ..SslConfig::default()
            }
        );
        assert!(
            !shown.contains("s3cret") && shown.contains("<hidden>"),
            "{shown}"
        );
    }
}
