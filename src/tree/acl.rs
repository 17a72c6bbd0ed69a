//! Access control: the permission check (`ZooKeeperServer.checkACL`), the ACL
//! fix-up prep applies to create/setACL (`PrepRequestProcessor.fixupACL`), and
//! the authentication providers' id checks (`isValid`, `matches`): `ip`
//! (`IPAuthenticationProvider.java`), `digest` (ids made by
//! [`acl_digest`](super::acl_digest)), and, when registered
//! ([`Providers`]), `x509` and `sasl`.
//!
//! `ip` is not "authenticated", so never used by the `auth` scheme.
//! `world:anyone` is special-cased by both functions; `super` in a
//! session's ids passes every check.

use crate::proto::data::{Acl, Id};
use crate::proto::error_code::ErrorCode;
use crate::tree::x500_name::is_x500_name;

/// `ZooKeeperServer.checkACL`: may a session holding `auth_ids` do `perm` on a node with `acl`?
pub fn check_acl(acl: &[Acl], perm: i32, auth_ids: &[Id]) -> bool {
    if acl.is_empty() {
        return true;
    }
    if auth_ids.iter().any(|id| id.scheme == "super") {
        return true;
    }
    acl.iter().any(|a| {
        if a.perms & perm == 0 {
            return false;
        }
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return true;
        }
        auth_ids.iter().any(|auth| {
            auth.scheme == a.id.scheme && provider_matches(&a.id.scheme, &auth.id, &a.id.id)
        })
    })
}

/// The providers a server registers besides `ip` (`ProviderRegistry`),
/// which decide whether their ACL ids are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Providers {
    /// `digest`, unless `DigestAuthenticationProvider.enabled=false`.
    pub digest: bool,
    /// `x509`: a port takes TLS clients.
    pub x509: bool,
    /// `sasl`: an `authProvider.N` names `SASLAuthenticationProvider`.
    pub sasl: bool,
}

impl Providers {
    /// Whether a provider for `scheme` is registered.
    pub fn has(&self, scheme: &str) -> bool {
        match scheme {
            "ip" => true,
            "digest" => self.digest,
            "x509" => self.x509,
            "sasl" => self.sasl,
            _ => false,
        }
    }
}

/// `PrepRequestProcessor.fixupACL` (after `removeDuplicates`): drops exact
/// duplicates, expands `auth` entries to the session's authenticated ids and
/// validates every other id. `InvalidAcl` for an empty list, an `auth` entry
/// without an authenticated id, an unknown scheme or a malformed id.
pub fn fix_acl(acl: &[Acl], auth_ids: &[Id], providers: Providers) -> Result<Vec<Acl>, ErrorCode> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for a in acl {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out = Vec::with_capacity(unique.len());
    for a in unique {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a.clone());
        } else if a.id.scheme == "auth" {
            // The id of an `auth` entry is ignored; duplicates are not removed
            // again after expansion (as in Java).
            let mut valid = false;
            for cid in auth_ids {
                if is_authenticated_scheme(&cid.scheme, providers) {
                    valid = true;
                    out.push(Acl {
                        perms: a.perms,
                        id: cid.clone(),
                    });
                }
            }
            if !valid {
                return Err(ErrorCode::InvalidAcl);
            }
        } else if is_valid_id(&a.id.scheme, &a.id.id, providers) {
            out.push(a.clone());
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    Ok(out)
}

/// Is there a provider for `scheme` whose ids count for the `auth` scheme (`isAuthenticated`)?
fn is_authenticated_scheme(scheme: &str, providers: Providers) -> bool {
    match scheme {
        "digest" => providers.digest,
        "x509" => providers.x509,
        "sasl" => providers.sasl,
        _ => false,
    }
}

/// `AuthenticationProvider.isValid` of the provider for `scheme`; false when
/// there is none.
pub fn is_valid_id(scheme: &str, id: &str, providers: Providers) -> bool {
    match scheme {
        "x509" => providers.x509 && is_x500_name(id),
        "sasl" => providers.sasl && is_kerberos_name(id),
        // `id.split(":").length == 2`: Java's split drops trailing empty parts.
        "digest" => providers.digest && java_split_len(id, ':') == 2,
        "ip" => {
            let mut parts = id.splitn(2, '/');
            let addr = parts.next().unwrap_or("");
            let Some(bytes) = v4_addr_bytes(addr) else {
                return false;
            };
            match parts.next() {
                Some(bits) => parse_bits(bits, bytes.len()).is_some(),
                None => true,
            }
        }
        _ => false,
    }
}

/// `SASLAuthenticationProvider.isValid`: whether `KerberosName` takes the
/// id: any name without `@`, else `service[/host]@REALM`.
fn is_kerberos_name(id: &str) -> bool {
    let Some((principal, realm)) = id.split_once('@') else {
        return true;
    };
    !realm.contains(['@', '/']) && principal.split('/').count() <= 2
}

/// `AuthenticationProvider.matches`; false when no provider exists for `scheme`.
fn provider_matches(scheme: &str, id: &str, acl_expr: &str) -> bool {
    match scheme {
        // A session has an `x509` id only from a client certificate.
        "digest" | "x509" => id == acl_expr,
        // `SASLAuthenticationProvider.matches`: user `super` matches all.
        "sasl" => id == acl_expr || id == "super",
        "ip" => ip_matches(id, acl_expr),
        _ => false,
    }
}

/// `IPAuthenticationProvider.matches`: `acl_expr` is `a.b.c.d` or `a.b.c.d/bits` (IPv4 only).
fn ip_matches(id: &str, acl_expr: &str) -> bool {
    let mut parts = acl_expr.splitn(2, '/');
    let Some(mut acl_addr) = v4_addr_bytes(parts.next().unwrap_or("")) else {
        return false;
    };
    let bits = match parts.next() {
        Some(b) => match parse_bits(b, acl_addr.len()) {
            Some(bits) => bits,
            None => return false,
        },
        None => acl_addr.len() * 8,
    };
    mask(&mut acl_addr, bits);
    let Some(mut remote) = v4_addr_bytes(id) else {
        return false;
    };
    mask(&mut remote, bits);
    remote == acl_addr
}

fn parse_bits(s: &str, addr_len: usize) -> Option<usize> {
    let bits: i32 = s.parse().ok()?;
    (bits >= 0 && bits as usize <= addr_len * 8).then_some(bits as usize)
}

/// `IPAuthenticationProvider.v4addr2Bytes`: four `Integer.parseInt` parts in 0..=255.
fn v4_addr_bytes(addr: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut n = 0;
    for part in addr.split('.') {
        if n == 4 {
            return None;
        }
        let v: i32 = part.parse().ok()?;
        out[n] = u8::try_from(v).ok()?;
        n += 1;
    }
    (n == 4).then_some(out)
}

fn mask(b: &mut [u8], bits: usize) {
    let mut start = bits / 8;
    let mut start_mask: u8 = !(((1u16 << (8 - bits % 8)) - 1) as u8);
    while start < b.len() {
        b[start] &= start_mask;
        start_mask = 0;
        start += 1;
    }
}

/// `s.split(sep).length` in Java: trailing empty strings are removed, but an
/// empty input is one empty string.
fn java_split_len(s: &str, sep: char) -> usize {
    if s.is_empty() {
        return 1;
    }
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::data::perms;

    const NONE: Providers = Providers {
        digest: true,
        x509: false,
        sasl: false,
    };
    const X509: Providers = Providers {
        digest: true,
        x509: true,
        sasl: false,
    };
    const SASL: Providers = Providers {
        digest: true,
        x509: false,
        sasl: true,
    };

    #[test]
    fn sasl_ids_need_the_provider_and_a_kerberos_shaped_name() {
        for (name, valid) in [
            ("bob", true),
            ("zookeeper/host.example@EXAMPLE.COM", true),
            ("bob@EXAMPLE.COM", true),
            ("a/b/c@R", false),
            ("a@b@c", false),
            ("a@R/x", false),
        ] {
            assert_eq!(is_valid_id("sasl", name, SASL), valid, "{name}");
            assert!(!is_valid_id("sasl", name, NONE), "{name}");
        }
        let bobs = [acl(perms::READ, "sasl", "bob")];
        assert!(check_acl(&bobs, perms::READ, &[id("sasl", "bob")]));
        assert!(check_acl(&bobs, perms::READ, &[id("sasl", "super")]));
        assert!(!check_acl(&bobs, perms::READ, &[id("sasl", "eve")]));
        let no_digest = Providers {
            digest: false,
            ..SASL
        };
        assert!(!is_valid_id("digest", "u:h", no_digest));
        assert!(!no_digest.has("digest") && no_digest.has("sasl") && no_digest.has("ip"));
        let auth = [acl(perms::ALL, "auth", "")];
        assert_eq!(
            fix_acl(&auth, &[id("sasl", "bob")], SASL),
            Ok(vec![acl(perms::ALL, "sasl", "bob")])
        );
        assert_eq!(
            fix_acl(&auth, &[id("sasl", "bob")], NONE),
            Err(ErrorCode::InvalidAcl)
        );
    }

    fn id(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    fn acl(perms: i32, scheme: &str, i: &str) -> Acl {
        Acl {
            perms,
            id: id(scheme, i),
        }
    }

    #[test]
    fn check_acl_rules() {
        let none: [Id; 0] = [];
        assert!(check_acl(&[], perms::ALL, &none));
        let open = Acl::open_unsafe();
        assert!(check_acl(&open, perms::WRITE, &none));
        let read_only = Acl::read_unsafe();
        assert!(check_acl(&read_only, perms::READ, &none));
        assert!(!check_acl(&read_only, perms::WRITE, &none));
        assert!(check_acl(&read_only, perms::WRITE, &[id("super", "")]));

        let dig = [acl(
            perms::READ | perms::WRITE,
            "digest",
            "user:smGaoVKd/cQkjm7b88GyorAUz20=",
        )];
        assert!(!check_acl(&dig, perms::READ, &none));
        assert!(check_acl(
            &dig,
            perms::READ,
            &[id("digest", "user:smGaoVKd/cQkjm7b88GyorAUz20=")]
        ));
        assert!(!check_acl(
            &dig,
            perms::DELETE,
            &[id("digest", "user:smGaoVKd/cQkjm7b88GyorAUz20=")]
        ));
        assert!(!check_acl(
            &dig,
            perms::READ,
            &[id("ip", "user:smGaoVKd/cQkjm7b88GyorAUz20=")]
        ));

        let ip = [acl(perms::ALL, "ip", "10.1.0.0/16")];
        assert!(check_acl(&ip, perms::READ, &[id("ip", "10.1.2.3")]));
        assert!(!check_acl(&ip, perms::READ, &[id("ip", "10.2.2.3")]));
        let exact = [acl(perms::ALL, "ip", "127.0.0.1")];
        assert!(check_acl(&exact, perms::READ, &[id("ip", "127.0.0.1")]));
        assert!(!check_acl(&exact, perms::READ, &[id("ip", "127.0.0.2")]));
        // Unknown schemes never match, even on equal ids.
        let other = [acl(perms::ALL, "custom", "CN=a")];
        assert!(!check_acl(&other, perms::READ, &[id("custom", "CN=a")]));
    }

    #[test]
    fn ip_masks() {
        assert!(ip_matches("192.168.1.77", "192.168.1.0/24"));
        assert!(ip_matches("192.168.1.77", "192.168.1.64/27"));
        assert!(!ip_matches("192.168.1.77", "192.168.1.96/27"));
        assert!(ip_matches("1.2.3.4", "9.9.9.9/0"));
        assert!(!ip_matches("1.2.3.4", "1.2.3.4/33"));
        assert!(!ip_matches("::1", "::1"));
        assert!(!ip_matches("1.2.3.4", "1.2.3.4/"));
    }

    #[test]
    fn id_validation() {
        assert!(is_valid_id("digest", "u:h", NONE));
        assert!(is_valid_id("digest", ":h", NONE));
        assert!(is_valid_id("digest", "u:h:", NONE));
        assert!(!is_valid_id("digest", "u:", NONE));
        assert!(!is_valid_id("digest", "u", NONE));
        assert!(!is_valid_id("digest", "a:b:c", NONE));
        assert!(!is_valid_id("digest", "", NONE));
        assert!(is_valid_id("ip", "10.0.0.1", NONE));
        assert!(is_valid_id("ip", "10.0.0.0/8", NONE));
        assert!(is_valid_id("ip", "+10.0.0.1", NONE));
        assert!(!is_valid_id("ip", "10.0.0.0/33", NONE));
        assert!(!is_valid_id("ip", "10.0.0", NONE));
        assert!(!is_valid_id("ip", "10.0.0.256", NONE));
        assert!(!is_valid_id("ip", "10.0.0.1.", NONE));
        assert!(!is_valid_id("world", "foo", NONE));
        assert!(!is_valid_id("super", "", NONE));
        assert!(is_valid_id("x509", "CN=a", X509));
        assert!(!is_valid_id("x509", "CN=a", NONE));
        assert!(!is_valid_id("x509", "not a dn", X509));
    }

    #[test]
    fn fix_acl_rules() {
        let none: [Id; 0] = [];
        assert_eq!(fix_acl(&[], &none, NONE), Err(ErrorCode::InvalidAcl));
        let open = Acl::open_unsafe();
        assert_eq!(
            fix_acl(&[open[0].clone(), open[0].clone()], &none, NONE),
            Ok(open.clone())
        );
        // `auth` needs an authenticated (digest) id; ip and super do not count.
        let auth = [acl(perms::ALL, "auth", "")];
        assert_eq!(fix_acl(&auth, &none, NONE), Err(ErrorCode::InvalidAcl));
        assert_eq!(
            fix_acl(&auth, &[id("ip", "127.0.0.1"), id("super", "")], NONE),
            Err(ErrorCode::InvalidAcl)
        );
        let ids = [
            id("ip", "127.0.0.1"),
            id("digest", "a:x"),
            id("digest", "b:y"),
        ];
        assert_eq!(
            fix_acl(&auth, &ids, NONE),
            Ok(vec![
                acl(perms::ALL, "digest", "a:x"),
                acl(perms::ALL, "digest", "b:y")
            ])
        );
        assert_eq!(
            fix_acl(&[acl(1, "world", "nobody")], &none, NONE),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fix_acl(&[acl(1, "digest", "nohash")], &none, NONE),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(
            fix_acl(&[acl(1, "x509", "CN=a")], &none, NONE),
            Err(ErrorCode::InvalidAcl)
        );
        // With a secure client port, x509 ids are valid, and `auth` takes a
        // session's x509 id as authenticated.
        assert_eq!(
            fix_acl(&[acl(1, "x509", "CN=a")], &none, X509),
            Ok(vec![acl(1, "x509", "CN=a")])
        );
        assert_eq!(
            fix_acl(
                &auth,
                &[id("ip", "127.0.0.1"), id("x509", "CN=c,O=z")],
                X509
            ),
            Ok(vec![acl(perms::ALL, "x509", "CN=c,O=z")])
        );
        let x509 = [acl(perms::READ, "x509", "CN=c,O=z")];
        assert!(check_acl(&x509, perms::READ, &[id("x509", "CN=c,O=z")]));
        assert!(!check_acl(&x509, perms::READ, &[id("x509", "CN=c")]));
        assert_eq!(
            fix_acl(
                &[acl(1, "ip", "10.0.0.1"), acl(31, "world", "anyone")],
                &none,
                NONE
            ),
            Ok(vec![acl(1, "ip", "10.0.0.1"), acl(31, "world", "anyone")])
        );
    }
}
