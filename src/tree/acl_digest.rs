//! The `digest` authentication provider
//! (`server/auth/DigestAuthenticationProvider.java`): `addauth digest
//! user:password` holds the id `digest:user:<base64 hash of
//! "user:password">`, hashed with `DigestAuthenticationProvider.digestAlg`
//! (SHA1 by default, as ZooKeeper 3.8).

use base64::Engine;
use sha1::Digest;

use crate::proto::data::Id;

/// The hash of digest ids: Java's `MessageDigest` algorithms ZooKeeper
/// operators name in `DigestAuthenticationProvider.digestAlg`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DigestAlg {
    #[default]
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
    Md5,
}

impl DigestAlg {
    /// The algorithm a Java `MessageDigest` name (any case) names.
    pub fn from_java_name(name: &str) -> Option<DigestAlg> {
        use DigestAlg::*;
        Some(match name.trim().to_ascii_uppercase().as_str() {
            "SHA" | "SHA1" | "SHA-1" => Sha1,
            "SHA-224" => Sha224,
            "SHA-256" => Sha256,
            "SHA-384" => Sha384,
            "SHA-512" => Sha512,
            "SHA3-224" => Sha3_224,
            "SHA3-256" => Sha3_256,
            "SHA3-384" => Sha3_384,
            "SHA3-512" => Sha3_512,
            "MD5" => Md5,
            _ => return None,
        })
    }

    fn hash(self, bytes: &[u8]) -> Vec<u8> {
        use DigestAlg::*;
        match self {
            Sha1 => sha1::Sha1::digest(bytes).to_vec(),
            Sha224 => sha2::Sha224::digest(bytes).to_vec(),
            Sha256 => sha2::Sha256::digest(bytes).to_vec(),
            Sha384 => sha2::Sha384::digest(bytes).to_vec(),
            Sha512 => sha2::Sha512::digest(bytes).to_vec(),
            Sha3_224 => sha3::Sha3_224::digest(bytes).to_vec(),
            Sha3_256 => sha3::Sha3_256::digest(bytes).to_vec(),
            Sha3_384 => sha3::Sha3_384::digest(bytes).to_vec(),
            Sha3_512 => sha3::Sha3_512::digest(bytes).to_vec(),
            Md5 => md5::Md5::digest(bytes).to_vec(),
        }
    }
}

/// `DigestAuthenticationProvider.generateDigest`: `user:base64(hash("user:password"))`,
/// where `user` is everything before the first `:`.
pub fn digest_of(user_password: &str, alg: DigestAlg) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let b64 = base64::engine::general_purpose::STANDARD.encode(alg.hash(user_password.as_bytes()));
    format!("{user}:{b64}")
}

/// The ids a successful `addauth digest user:password` adds to a session
/// (`DigestAuthenticationProvider.handleAuthentication`): `super:` first when
/// the digest equals the configured super digest, then `digest:user:hash`.
/// Java builds the string with the platform charset; UTF-8 here.
pub fn digest_auth_ids(auth_data: &[u8], super_digest: Option<&str>, alg: DigestAlg) -> Vec<Id> {
    let digest = digest_of(&String::from_utf8_lossy(auth_data), alg);
    let mut ids = Vec::with_capacity(2);
    if super_digest == Some(digest.as_str()) {
        ids.push(Id {
            scheme: "super".into(),
            id: String::new(),
        });
    }
    ids.push(Id {
        scheme: "digest".into(),
        id: digest,
    });
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    #[test]
    fn digests_match_java() {
        // Values printed by `java org.apache.zookeeper.server.auth.DigestAuthenticationProvider`.
        let sha1 = DigestAlg::Sha1;
        assert_eq!(
            digest_of("super:test", sha1),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
        assert_eq!(
            digest_of("user:pass", sha1),
            "user:smGaoVKd/cQkjm7b88GyorAUz20="
        );
        assert_eq!(digest_of("", sha1), ":2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
        assert_eq!(
            digest_of("nocolon", sha1),
            "nocolon:Ra+cHr2ZoHvBjtNArFGNGlVie4g="
        );
        assert_eq!(digest_of("a:b:c", sha1), "a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0=");
    }

    #[test]
    fn every_algorithm_matches_java_under_its_java_names() {
        // The same, with -Dzookeeper.DigestAuthenticationProvider.digestAlg=<name>.
        for (name, digest) in [
            ("SHA1", "super:D/InIHSb7yEEbrWz8b9l71RjZJU="),
            ("SHA-256", "super:wjySwxg860UATFtciuZ1lpzrCHrPeov6SPu/ZD56uig="),
            ("SHA3-256", "super:cRy/KPYuDpW/dtsepniTMpuiuupnWgdU9txltIfv3hA="),
            ("SHA-512", "super:cMAGk13FCMtJkaVQImGEKhjqoGELCiVjYdIhiD8stB1FnIpdGeFvKwAHh5mf4tUYmBR2ZY9181dZTXEHMlkVhg=="),
            ("MD5", "super:yzhcGieXAe2NBWh0Znxa3g=="),
            ("sha-384", "super:FA/2SgoedA21NnGcUl5C1HBsMwuibAPXlAq/FqXTuUQPExUJgxpf8gWeD4eOupjP"),
            ("SHA-224", "super:opwh3FU/0WUpM+8JAOS98bsQFC+823kv438mIg=="),
        ] {
            let alg = DigestAlg::from_java_name(name).unwrap();
            assert_eq!(digest_of("super:test", alg), digest, "{name}");
        }
        assert_eq!(DigestAlg::from_java_name("SHA-1"), Some(DigestAlg::Sha1));
        assert_eq!(DigestAlg::from_java_name("SHA-999"), None);
    }

    #[test]
    fn digest_auth_adds_super_when_configured() {
        let super_digest = Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
        let ids = digest_auth_ids(b"super:test", super_digest, DigestAlg::Sha1);
        assert_eq!(ids[0], id("super", ""));
        assert_eq!(ids[1], id("digest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU="));
        assert_eq!(
            digest_auth_ids(b"user:pass", None, DigestAlg::Sha1).len(),
            1
        );
        let sha256 = digest_auth_ids(b"super:test", super_digest, DigestAlg::Sha256);
        assert_eq!(sha256.len(), 1, "a SHA1 super digest is not a SHA-256 one");
    }
}
