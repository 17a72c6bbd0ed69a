//! Whether an `x509` ACL id is a distinguished name, as ZooKeeper's
//! `X509AuthenticationProvider.isValid` decides it (`new X500Principal(id)`
//! must not throw): RDNs separated by `,` or `;`, attribute-value pairs
//! within one by `+`, each `keyword=value` with a keyword Java knows or an
//! OID. Quotes and backslash escapes protect separators inside a value.

/// The keywords `X500Principal` parses (RFC 1779, RFC 2253 and Java's own).
const KEYWORDS: [&str; 21] = [
    "CN",
    "C",
    "L",
    "S",
    "ST",
    "O",
    "OU",
    "T",
    "IP",
    "STREET",
    "DC",
    "DNQUALIFIER",
    "DNQ",
    "SURNAME",
    "GIVENNAME",
    "INITIALS",
    "GENERATION",
    "EMAIL",
    "EMAILADDRESS",
    "UID",
    "SERIALNUMBER",
];

/// A non-empty distinguished name whose every attribute type is known.
pub fn is_x500_name(id: &str) -> bool {
    !id.is_empty() && attribute_pairs(id).is_some_and(|pairs| pairs.iter().all(|p| valid_pair(p)))
}

/// The `type=value` pairs of `dn`, split at unquoted, unescaped `,`, `;` and
/// `+`; `None` for an unterminated quote.
fn attribute_pairs(dn: &str) -> Option<Vec<String>> {
    let mut pairs = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in dn.chars() {
        let current = pairs.last_mut().expect("never empty");
        if escaped {
            escaped = false;
            current.push(c);
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                current.push(c);
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' | ';' | '+' if !quoted => pairs.push(String::new()),
            _ => current.push(c),
        }
    }
    (!quoted).then_some(pairs)
}

fn valid_pair(pair: &str) -> bool {
    let Some((keyword, _value)) = pair.split_once('=') else {
        return false;
    };
    let keyword = keyword.trim();
    let oid = keyword
        .strip_prefix("OID.")
        .or_else(|| keyword.strip_prefix("oid."))
        .unwrap_or(keyword);
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(keyword))
        || (!oid.is_empty()
            && oid
                .split('.')
                .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What ZooKeeper 3.8 answered for each as an `x509` ACL id
    /// (compat-tests/test_tls.py checks the same ids on both servers).
    #[test]
    fn distinguished_names_as_x500_principal_takes_them() {
        for dn in [
            "CN=a",
            "cn=a, o=b",
            "1.2.3=#0403616263",
            "OID.2.5.4.3=x",
            "CN=a;O=b",
            "CN=a+O=b",
            "CN=\"q,v\"",
            "CN=x\\, y,O=z",
            "EMAILADDRESS=a@b",
            "ST=x,STREET=y,DC=z,UID=u,SERIALNUMBER=1,T=t,SURNAME=s,GIVENNAME=g",
        ] {
            assert!(is_x500_name(dn), "{dn}");
        }
        for dn in [
            "",
            "not a dn",
            "FOO=bar",
            "CN=a,",
            "=x",
            "CN",
            "CN=\"open",
            "1..2=x",
        ] {
            assert!(!is_x500_name(dn), "{dn}");
        }
    }
}
