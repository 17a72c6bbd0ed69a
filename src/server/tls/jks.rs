//! Java's own key store format, JKS (`keytool -storetype JKS`), as
//! `sun.security.provider.JavaKeyStore` reads it, for stores that
//! ZooKeeper operators already have.
//!
//! The file is `FEEDFEED`, a version (1 or 2), an entry count, the entries
//! (a private key with its certificate chain, or a trusted certificate),
//! and a SHA-1 over the password, the words "Mighty Aphrodite" and
//! everything before it: a wrong password and a changed byte both fail
//! that check, as in Java. A private key is sealed by Sun's `KeyProtector`:
//! a salt, the key XORed with a SHA-1 chain of the password and the salt,
//! and a SHA-1 of the password and the plain key.
//!
//! Passwords are Java `char`s: UTF-16, big-endian.

use nom::bytes::complete::take;
use nom::combinator::{map, verify};
use nom::multi::count;
use nom::number::complete::{be_u16, be_u32, be_u64};
use nom::sequence::tuple;
use nom::IResult;
use sha1::{Digest, Sha1};
use x509_parser::prelude::FromDer;
use x509_parser::x509::AlgorithmIdentifier;

const MAGIC: u32 = 0xFEED_FEED;
const WHITENER: &[u8] = b"Mighty Aphrodite";
const DIGEST_LEN: usize = 20;
/// `KeyProtector`'s algorithm (1.3.6.1.4.1.42.2.17.1.1).
const KEY_PROTECTOR_OID: &str = "1.3.6.1.4.1.42.2.17.1.1";

/// Whether `data` starts as a JKS store does (the rest is PKCS12 or PEM).
pub fn is_jks(data: &[u8]) -> bool {
    data.starts_with(&MAGIC.to_be_bytes())
}

/// One entry of a store, in the order stored.
#[derive(Debug)]
pub enum Entry {
    /// A private key, still sealed (see [`recover_key`]), and its chain,
    /// the key's own certificate first (DER).
    PrivateKey {
        alias: String,
        sealed_key: Vec<u8>,
        chain: Vec<Vec<u8>>,
    },
    /// A certificate trusted as an anchor (DER).
    TrustedCertificate { certificate: Vec<u8> },
}

/// The entries of a JKS store, checked against `password`. The errors
/// read as Java's.
pub fn read(data: &[u8], password: &str) -> Result<Vec<Entry>, String> {
    let (rest, entries) = store(data).map_err(|_| "not a readable JKS key store".to_string())?;
    let body = &data[..data.len() - rest.len()];
    let stored = rest
        .get(..DIGEST_LEN)
        .ok_or("JKS key store ends before its digest")?;
    let mut sha = Sha1::new();
    sha.update(java_chars(password));
    sha.update(WHITENER);
    sha.update(body);
    if sha.finalize().as_slice() != stored {
        return Err("Keystore was tampered with, or password was incorrect".into());
    }
    Ok(entries)
}

/// The PKCS#8 DER of a sealed private key; the key's password in ZooKeeper
/// is the store's.
pub fn recover_key(sealed: &[u8], password: &str) -> Result<Vec<u8>, String> {
    let bad = || "private key: not sealed by Java's KeyProtector".to_string();
    let (oid, sealed) = encrypted_private_key_info(sealed).ok_or_else(bad)?;
    if oid != KEY_PROTECTOR_OID || sealed.len() < 2 * DIGEST_LEN {
        return Err(bad());
    }
    let (salt, rest) = sealed.split_at(DIGEST_LEN);
    let (encrypted, check) = rest.split_at(rest.len() - DIGEST_LEN);
    let password = java_chars(password);
    let mut pad = Vec::with_capacity(encrypted.len() + DIGEST_LEN);
    let mut link = salt.to_vec();
    while pad.len() < encrypted.len() {
        link = Sha1::new()
            .chain_update(&password)
            .chain_update(&link)
            .finalize()
            .to_vec();
        pad.extend_from_slice(&link);
    }
    let key: Vec<u8> = encrypted.iter().zip(&pad).map(|(c, p)| c ^ p).collect();
    let digest = Sha1::new()
        .chain_update(&password)
        .chain_update(&key)
        .finalize();
    if digest.as_slice() != check {
        return Err("Cannot recover key (is the key's password the store's?)".into());
    }
    Ok(key)
}

/// A password as Java hands `char[]` to these digests: UTF-16 big-endian.
fn java_chars(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn store(input: &[u8]) -> IResult<&[u8], Vec<Entry>> {
    let (input, (_, version, n)) = tuple((
        verify(be_u32, |m| *m == MAGIC),
        verify(be_u32, |v| *v == 1 || *v == 2),
        be_u32,
    ))(input)?;
    let mut entries = Vec::new();
    let mut input = input;
    for _ in 0..n {
        let (rest, entry) = entry(version)(input)?;
        entries.push(entry);
        input = rest;
    }
    Ok((input, entries))
}

fn entry(version: u32) -> impl Fn(&[u8]) -> IResult<&[u8], Entry> {
    move |input| {
        let (input, (tag, alias, _created)) = tuple((be_u32, java_utf, be_u64))(input)?;
        match tag {
            1 => {
                let (input, sealed_key) = bytes_u32(input)?;
                let (input, n) = be_u32(input)?;
                let (input, chain) = count(certificate(version), n as usize)(input)?;
                Ok((
                    input,
                    Entry::PrivateKey {
                        alias,
                        sealed_key,
                        chain,
                    },
                ))
            }
            2 => map(certificate(version), |certificate| {
                Entry::TrustedCertificate { certificate }
            })(input),
            _ => Err(nom::Err::Failure(nom::error::Error::new(
                input,
                nom::error::ErrorKind::Tag,
            ))),
        }
    }
}

/// A certificate: its type (version 2 only, "X.509") and its encoding.
fn certificate(version: u32) -> impl Fn(&[u8]) -> IResult<&[u8], Vec<u8>> {
    move |input| {
        let input = if version == 2 {
            java_utf(input)?.0
        } else {
            input
        };
        bytes_u32(input)
    }
}

/// `DataInput.readUTF`: a u16 length and modified UTF-8 (read lossily: an
/// alias is only ever shown).
fn java_utf(input: &[u8]) -> IResult<&[u8], String> {
    let (input, len) = be_u16(input)?;
    map(take(len), |b| String::from_utf8_lossy(b).into_owned())(input)
}

fn bytes_u32(input: &[u8]) -> IResult<&[u8], Vec<u8>> {
    let (input, len) = be_u32(input)?;
    map(take(len), <[u8]>::to_vec)(input)
}

/// `EncryptedPrivateKeyInfo`: the algorithm's OID and the sealed bytes.
fn encrypted_private_key_info(der: &[u8]) -> Option<(String, &[u8])> {
    use x509_parser::der_parser::der::{parse_der_octetstring, parse_der_sequence_defined_g};
    parse_der_sequence_defined_g(|i: &[u8], _| {
        let (i, algorithm) = AlgorithmIdentifier::from_der(i)
            .map_err(|_| nom::Err::Error(x509_parser::der_parser::error::BerError::InvalidTag))?;
        let (i, sealed) = parse_der_octetstring(i)?;
        let sealed = sealed.as_slice().map_err(nom::Err::Error)?;
        Ok((i, (algorithm.algorithm.to_id_string(), sealed)))
    })(der)
    .ok()
    .map(|(_, info)| info)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::test_certs::{self_signed, sh};
    use super::*;

    /// A JKS store made by keytool from an openssl key and certificate,
    /// and the key's PKCS#8 DER. (The PKCS12 file between has an ASCII
    /// password: openssl and Java encode others differently there.)
    fn keytool_store(dir: &Path, password: &str) -> (Vec<u8>, Vec<u8>) {
        self_signed(dir, "jks");
        self_signed(dir, "ca");
        sh(
            dir,
            "openssl pkcs8 -topk8 -nocrypt -in jks.key -outform DER -out key.der",
        );
        sh(dir, "openssl pkcs12 -export -inkey jks.key -in jks.pem -name server -out s.p12 -passout pass:ascii");
        sh(
            dir,
            &format!(
                "keytool -importkeystore -noprompt -srckeystore s.p12 -srcstoretype PKCS12 \
             -srcstorepass ascii -destkeystore s.jks -deststoretype JKS \
             -deststorepass {password} -destkeypass {password}"
            ),
        );
        sh(
            dir,
            &format!(
            "keytool -importcert -noprompt -alias ca -file ca.pem -keystore s.jks -storetype JKS \
             -storepass {password}"
        ),
        );
        (
            std::fs::read(dir.join("s.jks")).unwrap(),
            std::fs::read(dir.join("key.der")).unwrap(),
        )
    }

    #[test]
    fn a_keytool_store_gives_its_key_chain_and_trusted_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (store, key) = keytool_store(dir.path(), "pässwört");
        assert!(is_jks(&store));
        let entries = read(&store, "pässwört").unwrap();
        let der = |name: &str| {
            let pem = std::fs::read(dir.path().join(name)).unwrap();
            x509_parser::pem::parse_x509_pem(&pem).unwrap().1.contents
        };
        let (mut keys, mut trusted) = (0, 0);
        for entry in entries {
            match entry {
                Entry::PrivateKey {
                    alias,
                    sealed_key,
                    chain,
                } => {
                    assert_eq!(alias, "server");
                    assert_eq!(chain, vec![der("jks.pem")]);
                    assert_eq!(recover_key(&sealed_key, "pässwört").unwrap(), key);
                    let err = recover_key(&sealed_key, "passwort").unwrap_err();
                    assert!(err.starts_with("Cannot recover key"), "{err}");
                    keys += 1;
                }
                Entry::TrustedCertificate { certificate } => {
                    assert_eq!(certificate, der("ca.pem"));
                    trusted += 1;
                }
            }
        }
        assert_eq!((keys, trusted), (1, 1));
    }

    #[test]
    fn a_wrong_password_or_any_changed_or_missing_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = keytool_store(dir.path(), "secret");
        let err = read(&store, "Secret").unwrap_err();
        assert_eq!(err, "Keystore was tampered with, or password was incorrect");
        for at in 0..store.len() {
            let mut flipped = store.clone();
            flipped[at] ^= 0x01;
            assert!(read(&flipped, "secret").is_err(), "byte {at} flipped");
            assert!(read(&store[..at], "secret").is_err(), "cut at {at}");
        }
        assert!(!is_jks(b"0\x82"));
    }

    #[test]
    fn a_sealed_key_that_is_not_key_protector_is_refused_without_panicking() {
        for sealed in [&b""[..], b"\x30", b"\x30\x03\x30\x01\x06", &[0x30; 64]] {
            assert!(recover_key(sealed, "x").is_err());
        }
    }

    proptest::proptest! {
        /// A store file may hold anything after the magic: an error or entries.
        #[test]
        fn any_bytes_after_the_magic_are_read_without_panicking(
            rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let mut store = MAGIC.to_be_bytes().to_vec();
            store.extend_from_slice(&[0, 0, 0, 2]);
            store.extend_from_slice(&rest);
            let _ = read(&store, "pw");
            let _ = recover_key(&rest, "pw");
        }
    }
}
