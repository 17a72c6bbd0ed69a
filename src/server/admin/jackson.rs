//! JSON laid out as Apache ZooKeeper's AdminServer writes it (Jackson's
//! default pretty printer): `"key" : value`, one entry per line indented by
//! two spaces per level, arrays on one line as `[ a, b ]`, empty containers
//! as `[ ]` and `{ }`. Scripts that grep the answers see the same text.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// A serde_json formatter with Jackson's `DefaultPrettyPrinter` layout.
#[derive(Default)]
struct JacksonFormatter {
    /// Object nesting (arrays stay on their line and do not indent).
    depth: usize,
    /// Whether the innermost object written so far has an entry.
    has_entry: bool,
}

impl JacksonFormatter {
    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl Formatter for JacksonFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b" ]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b" " } else { b", " })
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_entry = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_entry {
            self.newline(w)?;
        } else {
            w.write_all(b" ")?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b" : ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_entry = true;
        Ok(())
    }
}

/// `value` as the AdminServer's JSON text.
pub fn to_string(value: &impl Serialize) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JacksonFormatter::default());
    value
        .serialize(&mut ser)
        .expect("serialising into memory does not fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lays_out_like_jackson() {
        // Shapes from ZooKeeper 3.8's answers (`connections`, `dump`, `voting_view`).
        let v = json!({
            "connections": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
            "secure": [],
            "ids": [1, 2],
            "empty": {},
            "nested": {"k": [ "/e" ]},
            "error": null
        });
        let expected = "{\n  \"connections\" : [ {\n    \"a\" : 1,\n    \"b\" : \"x\"\n  }, {\n    \"a\" : 2,\n    \"b\" : \"y\"\n  } ],\n  \"secure\" : [ ],\n  \"ids\" : [ 1, 2 ],\n  \"empty\" : { },\n  \"nested\" : {\n    \"k\" : [ \"/e\" ]\n  },\n  \"error\" : null\n}";
        assert_eq!(to_string(&v), expected);
    }
}
