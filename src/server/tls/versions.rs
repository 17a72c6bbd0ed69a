//! Which TLS versions and cipher suites the secure port offers, from
//! ZooKeeper's `ssl.protocol`, `ssl.enabledProtocols` and
//! `ssl.ciphersuites`, with Java's names, within what rustls implements:
//! TLS 1.2 and 1.3, AEAD suites.
//!
//! - `ssl.enabledProtocols` (a comma list) wins; else `ssl.protocol` alone
//!   is offered, as in ZooKeeper (`TLS` offers both); else TLS 1.2 and 1.3.
//!   ZooKeeper 3.8 offers only its default `ssl.protocol`, TLSv1.2, there.
//! - Protocols Java has but rustls does not implement (TLSv1, TLSv1.1)
//!   are left out with a warning; a name Java does not know stops
//!   start-up, as Java fails it.
//! - Suites this server does not implement (CBC ones, say) are left out
//!   with a warning. Start-up stops when no named suite is left for an
//!   offered version.

use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::{ProtocolVersion, SupportedProtocolVersion, ALL_VERSIONS};

use crate::config::SslConfig;

/// The versions offered, and the crypto provider holding the suites offered.
pub struct Offer {
    pub versions: Vec<&'static SupportedProtocolVersion>,
    pub provider: CryptoProvider,
}

/// Protocol names Java has that rustls does not implement (Java 17 turns
/// them off by default too).
const UNIMPLEMENTED_PROTOCOLS: [&str; 4] = ["TLSv1.1", "TLSv1", "SSLv3", "SSLv2Hello"];

/// The offer the settings make, or why they cannot (naming the key).
pub fn offer(ssl: &SslConfig, provider: CryptoProvider) -> Result<Offer, String> {
    let versions = versions(ssl)?;
    let provider = match ssl.cipher_suites.as_deref() {
        Some(list) => only_suites(list, &versions, provider)?,
        None => provider,
    };
    Ok(Offer { versions, provider })
}

fn versions(ssl: &SslConfig) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let (key, names): (&str, Vec<&str>) = match (&ssl.enabled_protocols, &ssl.protocol) {
        (Some(list), _) => ("ssl.enabledProtocols", names(list)),
        (None, Some(p)) if p == "TLS" => return Ok(ALL_VERSIONS.to_vec()),
        (None, Some(p)) => ("ssl.protocol", vec![p.as_str()]),
        (None, None) => return Ok(ALL_VERSIONS.to_vec()),
    };
    let mut offered = Vec::new();
    for name in names {
        match ALL_VERSIONS.iter().find(|v| java_version_name(v) == name) {
            Some(v) => offered.push(*v),
            None if UNIMPLEMENTED_PROTOCOLS.contains(&name) => {
                tracing::warn!("{key}: {name} is not offered (only TLSv1.2 and TLSv1.3 are)")
            }
            None => {
                return Err(format!(
                    "{key} {name}: not a TLS protocol (TLSv1.2, TLSv1.3)"
                ))
            }
        }
    }
    if offered.is_empty() {
        return Err(format!("{key}: offers neither TLSv1.2 nor TLSv1.3"));
    }
    Ok(offered)
}

/// The provider with only the suites `list` names.
fn only_suites(
    list: &str,
    versions: &[&'static SupportedProtocolVersion],
    mut provider: CryptoProvider,
) -> Result<CryptoProvider, String> {
    let wanted = names(list);
    let known: Vec<String> = provider.cipher_suites.iter().map(java_suite_name).collect();
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|w| !known.iter().any(|k| k == w))
        .collect();
    if !missing.is_empty() {
        tracing::warn!(
            "ssl.ciphersuites: not offered, as this server does not implement them: {}",
            missing.join(",")
        );
    }
    provider
        .cipher_suites
        .retain(|s| wanted.contains(&java_suite_name(s).as_str()));
    let usable = provider
        .cipher_suites
        .iter()
        .any(|s| versions.iter().any(|v| s.version() == *v));
    if !usable {
        let offered: Vec<&str> = versions.iter().map(|v| java_version_name(v)).collect();
        return Err(format!(
            "ssl.ciphersuites {list}: no suite this server implements for {} (it has {})",
            offered.join(" or "),
            known.join(",")
        ));
    }
    Ok(provider)
}

/// A comma list, as ZooKeeper splits it (less spaces and empty items).
fn names(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect()
}

fn java_version_name(v: &SupportedProtocolVersion) -> &'static str {
    if v.version == ProtocolVersion::TLSv1_3 {
        "TLSv1.3"
    } else {
        "TLSv1.2"
    }
}

/// A suite's IANA name, as Java names it (rustls writes TLS 1.3's `TLS13_`).
fn java_suite_name(suite: &tokio_rustls::rustls::SupportedCipherSuite) -> String {
    let name = suite.suite().as_str().unwrap_or_default();
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> CryptoProvider {
        tokio_rustls::rustls::crypto::ring::default_provider()
    }

    fn ssl(protocol: Option<&str>, enabled: Option<&str>, suites: Option<&str>) -> SslConfig {
        SslConfig {
            protocol: protocol.map(String::from),
            enabled_protocols: enabled.map(String::from),
            cipher_suites: suites.map(String::from),
            ..SslConfig::default()
        }
    }

    fn versions_of(ssl: &SslConfig) -> Vec<&'static str> {
        let offer = offer(ssl, ring()).unwrap();
        offer
            .versions
            .iter()
            .map(|v| java_version_name(v))
            .collect()
    }

    #[test]
    fn enabled_protocols_win_over_the_protocol_which_wins_over_both() {
        assert_eq!(versions_of(&ssl(None, None, None)), ["TLSv1.3", "TLSv1.2"]);
        assert_eq!(versions_of(&ssl(Some("TLS"), None, None)).len(), 2);
        assert_eq!(versions_of(&ssl(Some("TLSv1.2"), None, None)), ["TLSv1.2"]);
        let both = ssl(Some("TLSv1.2"), Some("TLSv1.1, TLSv1.3"), None);
        assert_eq!(versions_of(&both), ["TLSv1.3"]);
        for (bad, says) in [
            (ssl(None, Some("TLSv1,TLSv1.1"), None), "offers neither"),
            (
                ssl(None, Some("TLSv1.2,TLSv2"), None),
                "ssl.enabledProtocols TLSv2:",
            ),
            (
                ssl(Some("TLSv1.1"), None, None),
                "ssl.protocol: offers neither",
            ),
            (
                ssl(Some("DTLS"), None, None),
                "ssl.protocol DTLS: not a TLS protocol",
            ),
        ] {
            let err = offer(&bad, ring()).err().unwrap();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn cipher_suites_are_named_as_java_names_them() {
        let list = "TLS_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,\
                    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
        let offer = offer(&ssl(None, None, Some(list)), ring()).unwrap();
        let names: Vec<String> = offer
            .provider
            .cipher_suites
            .iter()
            .map(java_suite_name)
            .collect();
        assert_eq!(
            names,
            [
                "TLS_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
            ]
        );
        // TLS 1.3 only, with only TLS 1.2 suites: nothing could be agreed.
        let only13 = ssl(
            None,
            Some("TLSv1.3"),
            Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        );
        let err = offer_err(&only13);
        assert!(
            err.contains("no suite this server implements for TLSv1.3"),
            "{err}"
        );
        let err = offer_err(&ssl(None, None, Some("TLS_RSA_WITH_NULL_SHA")));
        assert!(
            err.starts_with("ssl.ciphersuites TLS_RSA_WITH_NULL_SHA"),
            "{err}"
        );
    }

    fn offer_err(ssl: &SslConfig) -> String {
        offer(ssl, ring()).err().unwrap()
    }
}
