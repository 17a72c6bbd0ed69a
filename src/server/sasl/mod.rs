//! SASL authentication of client sessions (`OpCode.sasl` packets), as
//! ZooKeeper's `ZooKeeperServer.processSasl` does it with DIGEST-MD5 users
//! from a JAAS file.
//!
//! - [`jaas`] reads the file (`-Djava.security.auth.login.config`, taken
//!   from `SERVER_JVMFLAGS` or `JVMFLAGS` as zkServer.sh passes it) and its
//!   section (`sasl.serverconfig`, default `Server`): each `user_<name>`
//!   option of `DigestLoginModule` is a user and its password.
//! - [`digest_md5`] runs one client's exchange.
//!
//! A session that completes it holds the id `sasl:<user>`, and `super`
//! too when the user is `superUser`. Kerberos (GSSAPI) is not served.

pub mod digest_md5;
mod jaas;

use std::collections::HashMap;

use base64::Engine;
use rand::RngCore;

use crate::config::SaslConfig;
use crate::proto::data::Id;
use digest_md5::DigestMd5;

/// The server's SASL users, from the JAAS file.
pub struct Login {
    users: HashMap<String, String>,
    /// `SASLAuthenticationProvider.superPassword`: the password of user `super`.
    super_password: Option<String>,
    super_user: Option<String>,
}

impl Login {
    /// The users of the configured JAAS section; `None` without a JAAS
    /// file. A file that cannot be read or parsed, or lacks the section,
    /// stops start-up (as ZooKeeper's "Server cannot start").
    pub fn load(config: &SaslConfig) -> Result<Option<Login>, String> {
        let Some(path) = &config.jaas_file else {
            return Ok(None);
        };
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("java.security.auth.login.config {shown}: {e}"))?;
        let sections = jaas::parse(&text)
            .map_err(|e| format!("java.security.auth.login.config {shown}: {e}"))?;
        let section = config.login_context.as_deref().unwrap_or("Server");
        let Some((_, modules)) = sections.iter().find(|(name, _)| name == section) else {
            return Err(format!(
                "java.security.auth.login.config {shown}: could not find a '{section}' entry: \
                 server cannot start (sasl.serverconfig names the section)"
            ));
        };
        let users: HashMap<String, String> = modules
            .iter()
            .flat_map(|m| &m.options)
            .filter_map(|(k, v)| Some((k.strip_prefix("user_")?.to_string(), v.clone())))
            .collect();
        if users.is_empty() && config.super_password.is_none() {
            tracing::warn!(
                "{shown}: section {section} has no user_<name> options: no client can \
                 authenticate with DIGEST-MD5 (Kerberos is not served)"
            );
        }
        tracing::info!("SASL: {} DIGEST-MD5 users from {shown}", users.len());
        Ok(Some(Login {
            users,
            super_password: config.super_password.clone(),
            super_user: config.super_user.clone(),
        }))
    }

    /// A new exchange, with a fresh nonce (30 random bytes, as Java's).
    pub fn exchange(&self) -> DigestMd5 {
        let mut nonce = [0u8; 30];
        rand::thread_rng().fill_bytes(&mut nonce);
        DigestMd5::new(base64::engine::general_purpose::STANDARD.encode(nonce))
    }

    /// A user's password (`SaslServerCallbackHandler`: the super password,
    /// when set, is user `super`'s).
    pub fn password_of(&self, user: &str) -> Option<String> {
        match &self.super_password {
            Some(p) if user == "super" => Some(p.clone()),
            _ => self.users.get(user).cloned(),
        }
    }

    /// The ids an authenticated user adds to its session: `sasl:<user>`,
    /// and `super` when it is the super user.
    pub fn ids_of(&self, user: &str) -> Vec<Id> {
        let sasl = Id {
            scheme: "sasl".into(),
            id: user.to_string(),
        };
        let is_super = self.super_user.as_deref() == Some(user);
        let super_id = is_super.then(|| Id {
            scheme: "super".into(),
            id: String::new(),
        });
        std::iter::once(sasl).chain(super_id).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn config(jaas: &str, dir: &std::path::Path) -> SaslConfig {
        let path = dir.join("jaas.conf");
        std::fs::write(&path, jaas).unwrap();
        SaslConfig {
            jaas_file: Some(path),
            super_user: Some("admin".into()),
            ..SaslConfig::default()
        }
    }

    #[test]
    fn users_come_from_the_server_section_and_super_user_gets_super() {
        let dir = tempfile::tempdir().unwrap();
        let jaas = "Client { m required username=\"x\" password=\"y\"; };\n\
                    Server { org.apache.zookeeper.server.auth.DigestLoginModule required \
                    user_admin=\"a\" user_bob=\"b\"; };";
        let mut cfg = config(jaas, dir.path());
        let login = Login::load(&cfg).unwrap().unwrap();
        assert_eq!(login.password_of("bob").as_deref(), Some("b"));
        assert_eq!(login.password_of("x"), None);
        assert_eq!(login.password_of("super"), None);
        let ids = login.ids_of("admin");
        assert_eq!(ids.len(), 2);
        assert_eq!(
            (ids[0].scheme.as_str(), ids[0].id.as_str()),
            ("sasl", "admin")
        );
        assert_eq!(ids[1].scheme, "super");
        assert_eq!(login.ids_of("bob").len(), 1);

        cfg.super_password = Some("sp".into());
        let login = Login::load(&cfg).unwrap().unwrap();
        assert_eq!(login.password_of("super").as_deref(), Some("sp"));

        cfg.login_context = Some("Client".into());
        let login = Login::load(&cfg).unwrap().unwrap();
        assert_eq!(login.password_of("bob"), None);
    }

    #[test]
    fn a_missing_file_or_section_stops_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config("Other { m required; };", dir.path());
        let err = Login::load(&cfg).err().unwrap();
        assert!(err.contains("could not find a 'Server' entry"), "{err}");
        cfg.jaas_file = Some(PathBuf::from("/nonexistent/jaas.conf"));
        let err = Login::load(&cfg).err().unwrap();
        assert!(
            err.starts_with("java.security.auth.login.config /nonexistent"),
            "{err}"
        );
        assert!(Login::load(&SaslConfig::default()).unwrap().is_none());
    }

    #[test]
    fn nonces_differ() {
        let dir = tempfile::tempdir().unwrap();
        let login = Login::load(&config("Server { m required; };", dir.path()))
            .unwrap()
            .unwrap();
        let token = |mut e: DigestMd5| e.step(b"", |_| None).unwrap().token;
        assert_ne!(token(login.exchange()), token(login.exchange()));
    }
}
