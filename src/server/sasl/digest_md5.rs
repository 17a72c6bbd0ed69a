//! The server side of SASL DIGEST-MD5 (RFC 2831), as Java's
//! `DigestMD5Server` runs it for ZooKeeper: one realm, `zk-sasl-md5`,
//! quality of protection `auth` only (no integrity or privacy layer),
//! `algorithm=md5-sess`, UTF-8.
//!
//! 1. The client sends an empty token; the server answers with a
//!    challenge: realm, a fresh nonce, charset, algorithm.
//! 2. The client answers with its user name, its own nonce and a digest of
//!    both nonces and the password; the server checks it and answers
//!    `rspauth=`, a digest proving it knows the password too. The exchange
//!    is then complete, and the session is the user.

use md5::{Digest, Md5};

/// The realm and server name ZooKeeper gives DIGEST-MD5
/// (`SecurityUtils.createSaslServer`).
pub const REALM: &str = "zk-sasl-md5";
/// The `digest-uri` a client must name: service `zookeeper`, host `REALM`.
const DIGEST_URI: &str = "zookeeper/zk-sasl-md5";

/// Where an exchange is.
#[derive(Debug)]
enum State {
    Start,
    Challenged,
    Done,
}

/// One client's exchange.
#[derive(Debug)]
pub struct DigestMd5 {
    nonce: String,
    state: State,
}

/// What a step gives the client: a token, and the user once authenticated.
#[derive(Debug, PartialEq, Eq)]
pub struct Step {
    pub token: Vec<u8>,
    pub user: Option<String>,
}

impl DigestMd5 {
    /// A fresh exchange; `nonce` must be unpredictable (base64 of random bytes).
    pub fn new(nonce: String) -> Self {
        DigestMd5 {
            nonce,
            state: State::Start,
        }
    }

    /// The next step for the client's `token`; `password_of` gives a user's
    /// password. An error ends the exchange (its text reads as Java's).
    pub fn step(
        &mut self,
        token: &[u8],
        password_of: impl Fn(&str) -> Option<String>,
    ) -> Result<Step, String> {
        match self.state {
            State::Start => {
                if !token.is_empty() {
                    return Err("DIGEST-MD5 must not have an initial response".into());
                }
                self.state = State::Challenged;
                let challenge = format!(
                    "realm=\"{REALM}\",nonce=\"{}\",charset=utf-8,algorithm=md5-sess",
                    self.nonce
                );
                Ok(Step {
                    token: challenge.into_bytes(),
                    user: None,
                })
            }
            State::Challenged => {
                self.state = State::Done;
                let (user, rspauth) = self.check_response(token, password_of)?;
                Ok(Step {
                    token: format!("rspauth={rspauth}").into_bytes(),
                    user: Some(user),
                })
            }
            State::Done => Err("DIGEST-MD5 authentication already complete".into()),
        }
    }

    /// The user and the `rspauth` value, once the client's digest checks out.
    fn check_response(
        &self,
        token: &[u8],
        password_of: impl Fn(&str) -> Option<String>,
    ) -> Result<(String, String), String> {
        let text = std::str::from_utf8(token)
            .map_err(|_| "DIGEST-MD5: digest response is not UTF-8".to_string())?;
        let fields = directives(text)?;
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        let need = |k: &str| {
            get(k).ok_or_else(|| {
                format!("DIGEST-MD5: digest response format violation. Missing {k}.")
            })
        };
        let user = need("username")?;
        let realm = get("realm").unwrap_or(REALM);
        if realm != REALM {
            return Err(format!(
                "DIGEST-MD5: digest response format violation. Nonexistent realm: {realm}"
            ));
        }
        if need("nonce")? != self.nonce {
            return Err("DIGEST-MD5: digest response format violation. Mismatched nonce.".into());
        }
        let nc = need("nc")?;
        if nc != "00000001" {
            return Err(format!("DIGEST-MD5: Nonce count does not match: {nc}"));
        }
        let qop = get("qop").unwrap_or("auth");
        if qop != "auth" {
            return Err(format!(
                "DIGEST-MD5: digest response format violation. Invalid QOP: {qop}"
            ));
        }
        let uri = need("digest-uri")?;
        if !uri.eq_ignore_ascii_case(DIGEST_URI) {
            return Err(format!("DIGEST-MD5: digest response format violation. Mismatched URI: {uri}; expecting: {DIGEST_URI}"));
        }
        let cnonce = need("cnonce")?;
        let password = password_of(user).ok_or_else(|| {
            format!("DIGEST-MD5: cannot acquire password for {user} in realm : {realm}")
        })?;
        let expected = SessionKey::new(user, realm, &password, &self.nonce, cnonce, get("authzid"));
        if !need("response")?.eq_ignore_ascii_case(&expected.digest("AUTHENTICATE:", uri, nc, qop))
        {
            return Err(
                "DIGEST-MD5: digest response format violation. Mismatched response.".into(),
            );
        }
        Ok((user.to_string(), expected.digest(":", uri, nc, qop)))
    }
}

/// H(A1) of RFC 2831 (`md5-sess`), and what is needed to finish a digest.
struct SessionKey<'a> {
    ha1: String,
    nonce: &'a str,
    cnonce: &'a str,
}

impl<'a> SessionKey<'a> {
    fn new(
        user: &str,
        realm: &str,
        password: &str,
        nonce: &'a str,
        cnonce: &'a str,
        authzid: Option<&str>,
    ) -> Self {
        let secret = Md5::digest(format!("{user}:{realm}:{password}").as_bytes());
        let mut a1 = secret.to_vec();
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        if let Some(z) = authzid {
            a1.extend_from_slice(format!(":{z}").as_bytes());
        }
        SessionKey {
            ha1: hex(&Md5::digest(&a1)),
            nonce,
            cnonce,
        }
    }

    /// The response digest: `a2_prefix` is `AUTHENTICATE:` for the client's,
    /// `:` for the server's `rspauth`.
    fn digest(&self, a2_prefix: &str, uri: &str, nc: &str, qop: &str) -> String {
        let ha2 = hex(&Md5::digest(format!("{a2_prefix}{uri}").as_bytes()));
        let kd = format!(
            "{}:{}:{nc}:{}:{qop}:{ha2}",
            self.ha1, self.nonce, self.cnonce
        );
        hex(&Md5::digest(kd.as_bytes()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `name=value` pairs separated by commas; a value is a token or a quoted
/// string (`\` escapes the next character).
fn directives(text: &str) -> Result<Vec<(String, String)>, String> {
    let bad = || "DIGEST-MD5: digest response format violation".to_string();
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or_else(bad)?;
        let name = rest[..eq].trim().to_string();
        rest = rest[eq + 1..].trim_start();
        let mut value = String::new();
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                    Some((_, c)) => value.push(c),
                    None => return Err(bad()),
                }
            };
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        out.push((name, value));
        rest = rest.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bob(user: &str) -> Option<String> {
        (user == "bob").then(|| "bob-secret".to_string())
    }

    /// A client's response, as RFC 2831 computes it.
    fn response(nonce: &str, password: &str, authzid: Option<&str>) -> String {
        let key = SessionKey::new("bob", REALM, password, nonce, "c-nonce", authzid);
        let digest = key.digest("AUTHENTICATE:", DIGEST_URI, "00000001", "auth");
        let z = authzid
            .map(|z| format!(",authzid=\"{z}\""))
            .unwrap_or_default();
        format!(
            "qop=auth,realm=\"{REALM}\",username=\"bob\",nonce=\"{nonce}\",cnonce=\"c-nonce\",\
             nc=00000001,digest-uri=\"{DIGEST_URI}\",response={digest}{z}"
        )
    }

    #[test]
    fn a_kazoo_exchange_recorded_from_zookeeper_checks_out() {
        // Recorded from kazoo (pure-sasl) against ZooKeeper 3.8, user bob,
        // password bob-secret: the same nonce must give the same digests.
        let nonce = "u1LuksQm+hjY4/e2b/NuTBY2CpQuyfhaEOa/OUKr";
        let mut server = DigestMd5::new(nonce.into());
        let challenge = server.step(b"", bob).unwrap();
        assert_eq!(
            String::from_utf8(challenge.token).unwrap(),
            format!("realm=\"zk-sasl-md5\",nonce=\"{nonce}\",charset=utf-8,algorithm=md5-sess")
        );
        let client = format!(
            "qop=auth,realm=\"zk-sasl-md5\",username=\"bob\",nonce=\"{nonce}\",\
             cnonce=\"4831217733057237\",nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\",\
             response=67cc500c836356fb30ebb3715813538f"
        );
        let done = server.step(client.as_bytes(), bob).unwrap();
        assert_eq!(done.token, b"rspauth=9eee30ca509d1f91762bc3b810e1957a");
        assert_eq!(done.user.as_deref(), Some("bob"));
        let again = server.step(b"", bob).unwrap_err();
        assert!(again.contains("already complete"), "{again}");
    }

    #[test]
    fn an_authzid_enters_the_digest() {
        let mut server = DigestMd5::new("n1".into());
        server.step(b"", bob).unwrap();
        let done = server.step(response("n1", "bob-secret", Some("alice")).as_bytes(), bob);
        assert_eq!(done.unwrap().user.as_deref(), Some("bob"));
    }

    #[test]
    fn wrong_passwords_users_nonces_and_uris_are_refused() {
        let cases = [
            (response("n1", "wrong", None), "Mismatched response"),
            (response("n2", "bob-secret", None), "Mismatched nonce"),
            (
                response("n1", "bob-secret", None).replace("bob\"", "eve\""),
                "cannot acquire password for eve",
            ),
            (
                response("n1", "bob-secret", None).replace(DIGEST_URI, "ldap/x"),
                "Mismatched URI",
            ),
            (
                response("n1", "bob-secret", None).replace("nc=00000001", "nc=00000002"),
                "Nonce count",
            ),
            (
                response("n1", "bob-secret", None).replace("qop=auth", "qop=auth-conf"),
                "Invalid QOP",
            ),
            ("username=\"bob".to_string(), "format violation"),
            ("garbage".to_string(), "format violation"),
        ];
        for (token, says) in cases {
            let mut server = DigestMd5::new("n1".into());
            server.step(b"", bob).unwrap();
            let err = server.step(token.as_bytes(), bob).unwrap_err();
            assert!(err.contains(says), "{token}: {err}");
        }
        let err = DigestMd5::new("n".into()).step(b"x", bob).unwrap_err();
        assert!(err.contains("initial response"), "{err}");
    }

    proptest::proptest! {
        /// A client's token is network input: any bytes, or any text made
        /// of the directives' characters, answer an error or a step.
        #[test]
        fn any_token_is_answered_without_panicking(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            text in "[a-z=,\"\\ 0-9-]{0,120}",
        ) {
            for token in [bytes.as_slice(), text.as_bytes()] {
                let mut server = DigestMd5::new("n1".into());
                let _ = server.step(b"", bob);
                let _ = server.step(token, bob);
                let _ = server.step(token, bob);
            }
        }
    }
}
