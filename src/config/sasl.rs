//! SASL settings, and which authentication sessions must have before any
//! request (`enforce.auth.*`). ZooKeeper reads them as Java system
//! properties, which zoo.cfg sets too (a key it does not know becomes
//! `zookeeper.<key>`), and which operators pass in `SERVER_JVMFLAGS`
//! (`-Dzookeeper.superUser=…`; see `Config::parse_with_flags`). The JAAS
//! file comes only from there (`-Djava.security.auth.login.config=…`).

use std::fmt;
use std::path::PathBuf;

/// `authProvider.N`'s value that registers the `sasl` ACL scheme.
const SASL_PROVIDER: &str = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider";

#[derive(Clone, Default)]
pub struct SaslConfig {
    /// `java.security.auth.login.config`: the JAAS file with the users.
    pub jaas_file: Option<PathBuf>,
    /// `sasl.serverconfig`: the JAAS section (default `Server`).
    pub login_context: Option<String>,
    /// `superUser`: a SASL user who is also `super`.
    pub super_user: Option<String>,
    /// `SASLAuthenticationProvider.superPassword`: user `super`'s password.
    pub super_password: Option<String>,
    /// An `authProvider.N` names `SASLAuthenticationProvider`: `sasl` ACLs
    /// are accepted.
    pub provider: bool,
    /// `allowSaslFailedClients`: a failed exchange keeps the connection.
    pub allow_failed_clients: bool,
    /// `sessionRequireClientSASLAuth`: as `enforce.auth.enabled` with `sasl`.
    pub require_sasl: bool,
    /// `enforce.auth.enabled`.
    pub enforce_auth: bool,
    /// `enforce.auth.schemes` (a comma list).
    pub enforce_auth_schemes: Option<String>,
}

impl SaslConfig {
    /// Takes `key` (bare or `zookeeper.`-prefixed) if it is a SASL setting;
    /// false for any other key. `Err` for a value that does not parse.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, &'static str> {
        let bare = key.strip_prefix("zookeeper.").unwrap_or(key);
        match bare {
            "superUser" => self.super_user = Some(value.to_string()),
            "sasl.serverconfig" => self.login_context = Some(value.to_string()),
            "SASLAuthenticationProvider.superPassword" => {
                self.super_password = Some(value.to_string())
            }
            "allowSaslFailedClients" => {
                self.allow_failed_clients = match value.trim() {
                    v if v.eq_ignore_ascii_case("true") => true,
                    v if v.eq_ignore_ascii_case("false") => false,
                    _ => return Err("expected true or false"),
                }
            }
            // `Boolean.parseBoolean`: anything but "true" is false.
            "sessionRequireClientSASLAuth" => {
                self.require_sasl = value.trim().eq_ignore_ascii_case("true")
            }
            "enforce.auth.enabled" => self.enforce_auth = value.trim().eq_ignore_ascii_case("true"),
            "enforce.auth.schemes" => self.enforce_auth_schemes = Some(value.to_string()),
            k if k.starts_with("authProvider.") && value.trim() == SASL_PROVIDER => {
                self.provider = true
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The schemes a session must hold an id of before any request
    /// (`AuthenticationHelper`); empty when nothing is enforced.
    pub fn enforced_schemes(&self) -> Vec<String> {
        if self.require_sasl {
            return vec!["sasl".to_string()];
        }
        if !self.enforce_auth {
            return Vec::new();
        }
        let list = self.enforce_auth_schemes.as_deref().unwrap_or("");
        list.split(',').map(|s| s.trim().to_string()).collect()
    }
}

impl fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslConfig")
            .field("jaas_file", &self.jaas_file)
            .field("login_context", &self.login_context)
            .field("super_user", &self.super_user)
            .field(
                "super_password",
                &self.super_password.as_ref().map(|_| "<hidden>"),
            )
            .field("provider", &self.provider)
            .field("allow_failed_clients", &self.allow_failed_clients)
            .field("enforced_schemes", &self.enforced_schemes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_bare_or_prefixed_and_the_provider_by_class_name() {
        let mut c = SaslConfig::default();
        assert!(c.set("superUser", "admin").unwrap());
        assert!(c.set("zookeeper.sasl.serverconfig", "ZkServer").unwrap());
        assert!(c
            .set("authProvider.1", "com.example.Other")
            .is_ok_and(|taken| !taken));
        assert!(!c.provider);
        assert!(c.set("zookeeper.authProvider.sasl", SASL_PROVIDER).unwrap());
        assert!(c.set("allowSaslFailedClients", "TRUE").unwrap());
        assert!(c.set("allowSaslFailedClients", "yes").is_err());
        assert!(!c.set("clientPort", "2181").unwrap());
        assert_eq!(c.super_user.as_deref(), Some("admin"));
        assert_eq!(c.login_context.as_deref(), Some("ZkServer"));
        assert!(c.provider && c.allow_failed_clients);
    }

    #[test]
    fn enforced_schemes_as_authentication_helper_reads_them() {
        let mut c = SaslConfig::default();
        assert!(c.enforced_schemes().is_empty());
        c.set("enforce.auth.schemes", "digest, sasl").unwrap();
        assert!(c.enforced_schemes().is_empty());
        c.set("zookeeper.enforce.auth.enabled", "TRUE").unwrap();
        assert_eq!(c.enforced_schemes(), ["digest", "sasl"]);
        c.set("sessionRequireClientSASLAuth", "true").unwrap();
        assert_eq!(c.enforced_schemes(), ["sasl"]);
        c.set("sessionRequireClientSASLAuth", "yes").unwrap();
        c.set("enforce.auth.enabled", "1").unwrap();
        assert!(c.enforced_schemes().is_empty());
    }
}
