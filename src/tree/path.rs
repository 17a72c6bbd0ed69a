//! Znode path validation, as `org.apache.zookeeper.common.PathUtils.validatePath`.
//!
//! Java checks the path one UTF-16 code unit at a time, so the rules here run
//! over UTF-16 units too: a character outside the Basic Multilingual Plane is a
//! surrogate pair in Java and therefore falls into the forbidden range
//! `\ud800..=\uf8ff`. Error positions (`@i`) count UTF-16 units as Java does.

/// `PathUtils.validatePath(path)`: `Err` carries Java's `IllegalArgumentException` message.
pub fn validate_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("Path length must be > 0".to_owned());
    }
    if !path.starts_with('/') {
        return Err("Path must start with / character".to_owned());
    }
    if path.len() == 1 {
        // done checking - it's the root
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("Path must not end with / character".to_owned());
    }
    let chars: Vec<u16> = path.encode_utf16().collect();
    const SLASH: u16 = b'/' as u16;
    const DOT: u16 = b'.' as u16;
    let mut reason = None;
    let mut lastc = SLASH;
    for i in 1..chars.len() {
        let c = chars[i];
        let at_end_or_slash = i + 1 == chars.len() || chars[i + 1] == SLASH;
        if c == 0 {
            reason = Some(format!("null character not allowed @{i}"));
        } else if c == SLASH && lastc == SLASH {
            reason = Some(format!("empty node name specified @{i}"));
        } else if c == DOT && lastc == DOT {
            // `lastc` starts as '/', so i >= 2 here.
            if chars[i - 2] == SLASH && at_end_or_slash {
                reason = Some(format!("relative paths not allowed @{i}"));
            }
        } else if c == DOT {
            if chars[i - 1] == SLASH && at_end_or_slash {
                reason = Some(format!("relative paths not allowed @{i}"));
            }
        } else if (0x0001..=0x001f).contains(&c)
            || (0x007f..=0x009f).contains(&c)
            || (0xd800..=0xf8ff).contains(&c)
            || (0xfff0..=0xffff).contains(&c)
        {
            reason = Some(format!("invalid character @{i}"));
        }
        if reason.is_some() {
            break;
        }
        lastc = c;
    }
    match reason {
        Some(r) => Err(format!("Invalid path string \"{path}\" caused by {r}")),
        None => Ok(()),
    }
}

/// `PathUtils.validatePath(path, isSequential)`: a sequential create gets a
/// suffix appended, so the path is checked as if it ended in `1` (a trailing
/// `/` is then allowed: `/locks/` becomes `/locks/0000000003`).
pub fn validate_path_with_sequential(path: &str, is_sequential: bool) -> Result<(), String> {
    if is_sequential {
        validate_path(&format!("{path}1"))
    } else {
        validate_path(path)
    }
}

/// The parent of a validated, non-root path (`/a` -> `/`, `/a/b` -> `/a`).
/// `None` for `/` and for strings without a `/`.
pub fn parent(path: &str) -> Option<&str> {
    match path.rfind('/') {
        Some(0) if path.len() > 1 => Some("/"),
        Some(0) | None => None,
        Some(i) => Some(&path[..i]),
    }
}

/// Joins a parent path and a child name (`/` + `a` -> `/a`, `/a` + `b` -> `/a/b`).
pub fn join(parent: &str, child: &str) -> String {
    let mut s = String::with_capacity(parent.len() + 1 + child.len());
    if parent != "/" {
        s.push_str(parent);
    }
    s.push('/');
    s.push_str(child);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_paths() {
        // From PathUtilsTest / the rules in PathUtils.validatePath.
        for p in [
            "/",
            "/a",
            "/a/b",
            "/this is / a valid/path",
            "/name/with.period.",
            "/...",
            "/a/.../b",
            "/.a",
            "/a.",
            "/..a",
            "/a..",
            "/a/b/c.d/e",
            "/zookeeper",
            "/\u{00a0}", // no-break space: past the C1 range
            "/\u{f900}", // just past the private use area
            "/\u{ffef}", // just below the specials
            "/caf\u{e9}/\u{4e2d}\u{6587}",
        ] {
            assert_eq!(validate_path(p), Ok(()), "{p:?}");
        }
    }

    #[test]
    fn rejects_invalid_paths() {
        for p in [
            "",
            "a",
            "a/b",
            "//",
            "/a/",
            "/a//b",
            "///",
            "/.",
            "/..",
            "/a/.",
            "/a/..",
            "/./a",
            "/../a",
            "/a/./b",
            "/a/../b",
            "/test/.",
            "/a\u{0}b",
            "/\u{1}",
            "/\u{1f}",
            "/\u{7f}",
            "/\u{9f}",
            "/\u{e000}", // private use area
            "/\u{f8ff}",
            "/\u{fff0}",
            "/\u{ffff}",
            "/\u{1f600}", // surrogate pair in Java
        ] {
            assert!(validate_path(p).is_err(), "{p:?} should be rejected");
        }
    }

    #[test]
    fn messages_match_java() {
        assert_eq!(validate_path(""), Err("Path length must be > 0".into()));
        assert_eq!(
            validate_path("a"),
            Err("Path must start with / character".into())
        );
        assert_eq!(
            validate_path("/a/"),
            Err("Path must not end with / character".into())
        );
        assert_eq!(
            validate_path("/a//b"),
            Err("Invalid path string \"/a//b\" caused by empty node name specified @3".into())
        );
        assert_eq!(
            validate_path("/a/.."),
            Err("Invalid path string \"/a/..\" caused by relative paths not allowed @4".into())
        );
        assert_eq!(
            validate_path("/a\u{0}"),
            Err("Invalid path string \"/a\u{0}\" caused by null character not allowed @2".into())
        );
        // Positions count UTF-16 units: the emoji is two units starting at 2.
        assert_eq!(
            validate_path("/\u{e9}\u{1f600}"),
            Err("Invalid path string \"/\u{e9}\u{1f600}\" caused by invalid character @2".into())
        );
    }

    #[test]
    fn sequential_allows_trailing_slash() {
        assert_eq!(validate_path_with_sequential("/locks/", true), Ok(()));
        assert_eq!(validate_path_with_sequential("/", true), Ok(()));
        assert!(validate_path_with_sequential("/locks/", false).is_err());
        assert!(validate_path_with_sequential("/a//", true).is_err());
        assert!(validate_path_with_sequential("/a/.", true).is_ok()); // "/a/.1"
        assert!(validate_path_with_sequential("", true).is_err());
    }

    #[test]
    fn parent_and_join() {
        assert_eq!(parent("/"), None);
        assert_eq!(parent("a"), None);
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
