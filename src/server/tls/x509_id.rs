//! The `x509` id a client certificate authenticates a session as: the
//! subject's distinguished name as ZooKeeper's `X509AuthenticationProvider`
//! gives it, in Java's RFC 2253 form.

use rustls_pki_types::CertificateDer;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
