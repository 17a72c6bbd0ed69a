//! zoo.cfg is a Java properties file (`java.util.Properties.load`), and
//! this reads it the same way: `#` and `!` comments, `=`, `:` or
//! whitespace between key and value, a line ending in an odd number of
//! backslashes continued on the next, and the escapes `\t`, `\n`, `\r`,
//! `\f`, `\uXXXX` and `\<any other character>` (that character). Keys and
//! values are then trimmed, as ZooKeeper's `QuorumPeerConfig` trims them.
//!
//! One difference, on purpose: a line that is a key alone, with no value,
//! which Java takes as an empty value, is refused here, so a stray word in a
//! config stops start-up with its line number instead of being ignored.

/// A `key`, its `value`, and the line its entry starts on (1-based).
pub type Entry = (usize, String, String);

/// The entries of `text`, in order; `Err(line)` for a key without a value.
pub fn entries(text: &str) -> Result<Vec<Entry>, usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = i + 1;
        let mut logical = String::new();
        let mut line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        // Continuation lines: the backslash goes, and the next line's
        // leading whitespace.
        while ends_in_odd_backslashes(line) && i < lines.len() {
            logical.push_str(&line[..line.len() - 1]);
            line = lines[i].trim_start();
            i += 1;
        }
        // A continuation backslash on the file's last line just goes.
        let line = match ends_in_odd_backslashes(line) {
            true => &line[..line.len() - 1],
            false => line,
        };
        logical.push_str(line);
        let (key, value) = split_entry(&logical).ok_or(first)?;
        out.push((
            first,
            unescape(key).trim().to_owned(),
            unescape(value).trim().to_owned(),
        ));
    }
    Ok(out)
}

fn ends_in_odd_backslashes(line: &str) -> bool {
    line.bytes().rev().take_while(|b| *b == b'\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace, as
/// `Properties.load` does: whitespace around the separator, and one `=` or
/// `:` after whitespace, belong to neither side. `None` for a key alone.
fn split_entry(line: &str) -> Option<(&str, &str)> {
    const BLANK: [char; 3] = [' ', '\t', '\x0c'];
    let bytes = line.as_bytes();
    let mut k = 0;
    while k < bytes.len() && !matches!(bytes[k], b'=' | b':' | b' ' | b'\t' | b'\x0c') {
        k += if bytes[k] == b'\\' { 2 } else { 1 };
    }
    if k >= bytes.len() {
        return None;
    }
    let rest = match bytes[k] {
        b'=' | b':' => &line[k + 1..],
        _ => {
            let after = line[k..].trim_start_matches(BLANK);
            after.strip_prefix(['=', ':']).unwrap_or(after)
        }
    };
    Some((&line[..k], rest.trim_start_matches(BLANK)))
}

/// Java's escapes: `\t \n \r \f`, `\uXXXX`, and `\c` for any other `c`.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(u) => out.push(u),
                    None => out.push_str(&hex),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        entries(text)
            .unwrap()
            .into_iter()
            .map(|(_, k, v)| (k, v))
            .collect()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn separators_comments_and_trimming_as_java_reads_them() {
        let text = "# comment\n  ! also a comment\n\ndataDir=/a\nclientPort : 2181\n\
                    tickTime 2000\n  snapCount\t=\t100  \nempty=\nkey=a=b:c\n";
        assert_eq!(
            pairs(text),
            [
                pair("dataDir", "/a"),
                pair("clientPort", "2181"),
                pair("tickTime", "2000"),
                pair("snapCount", "100"),
                pair("empty", ""),
                pair("key", "a=b:c"),
            ]
        );
    }

    #[test]
    fn escapes_and_continuation_lines() {
        let text = "super=CN=admin\\\\, O=Ops\nlong=a,\\\n    b,\\\n\tc\npath=C:\\\\zk\\tx\n\
                    uni=\\u0041\\u00e9\nkey\\=with\\:sep=v\nodd=ends\\\\\n";
        assert_eq!(
            pairs(text),
            [
                pair("super", "CN=admin\\, O=Ops"),
                pair("long", "a,b,c"),
                pair("path", "C:\\zk\tx"),
                pair("uni", "Aé"),
                pair("key=with:sep", "v"),
                pair("odd", "ends\\"),
            ]
        );
    }

    #[test]
    fn entries_know_their_first_line_and_a_lone_key_is_refused() {
        let e = entries("a=1\nb=2,\\\n  3\nc=4\n").unwrap();
        let lines: Vec<usize> = e.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(lines, [1, 2, 4]);
        assert_eq!(entries("a=1\n\njunk\n"), Err(3));
    }
}
