//! Jute primitives: the big-endian building blocks every record is made of.
//!
//! Decoders are nom *streaming* parsers, so a short buffer yields
//! `nom::Err::Incomplete` ("need more bytes") while a malformed one yields
//! `nom::Err::Error` ("bad bytes"). Encoders append to a `BytesMut`.
//! Lengths read off the wire are never trusted for pre-allocation.

use bytes::{BufMut, BytesMut};
use nom::bytes::streaming::take;
use nom::error::{Error, ErrorKind};
use nom::number::streaming::{be_i32, be_i64, be_u8};
use nom::IResult;

/// Result of decoding one value from a byte slice.
pub type Decoded<'a, T> = IResult<&'a [u8], T>;

/// A jute record: decodes from and encodes to the wire format of `zookeeper.jute`.
pub trait Record: Sized {
    /// Decodes one record from the front of `input`.
    fn decode(input: &[u8]) -> Decoded<'_, Self>;
    /// Appends the record's wire form to `out`.
    fn encode(&self, out: &mut BytesMut);

    /// Encodes into a fresh buffer.
    fn to_bytes(&self) -> BytesMut {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out
    }
}

fn bad(input: &[u8]) -> nom::Err<Error<&[u8]>> {
    nom::Err::Error(Error::new(input, ErrorKind::Verify))
}

pub fn int(input: &[u8]) -> Decoded<'_, i32> {
    be_i32(input)
}

pub fn long(input: &[u8]) -> Decoded<'_, i64> {
    be_i64(input)
}

/// Jute booleans are one byte; any non-zero byte reads as true (as Java's `readBool`).
pub fn boolean(input: &[u8]) -> Decoded<'_, bool> {
    let (rest, b) = be_u8(input)?;
    Ok((rest, b != 0))
}

/// A `buffer`: length-prefixed bytes, length -1 meaning null.
pub fn buffer(input: &[u8]) -> Decoded<'_, Option<Vec<u8>>> {
    let (rest, len) = be_i32(input)?;
    if len == -1 {
        return Ok((rest, None));
    }
    if len < 0 {
        return Err(bad(input));
    }
    let (rest, bytes) = take(len as usize)(rest)?;
    Ok((rest, Some(bytes.to_vec())))
}

/// A `buffer` where null and empty mean the same thing.
pub fn buffer_or_empty(input: &[u8]) -> Decoded<'_, Vec<u8>> {
    let (rest, b) = buffer(input)?;
    Ok((rest, b.unwrap_or_default()))
}

/// A `ustring`: length-prefixed UTF-8, length -1 (null) read as empty.
/// Invalid UTF-8 is replaced, as Java's `new String(bytes, UTF_8)` does.
pub fn ustring(input: &[u8]) -> Decoded<'_, String> {
    let (rest, b) = buffer(input)?;
    Ok((
        rest,
        b.map(|v| match String::from_utf8(v) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
        .unwrap_or_default(),
    ))
}

/// A `ustring` that must not be null (-1).
pub fn non_null_ustring(input: &[u8]) -> Decoded<'_, String> {
    if let Ok((_, -1)) = be_i32::<_, Error<&[u8]>>(input) {
        return Err(bad(input));
    }
    ustring(input)
}

/// A `vector<T>`: count-prefixed elements, count -1 (null) read as empty.
pub fn vector<'a, T>(
    input: &'a [u8],
    mut element: impl FnMut(&'a [u8]) -> Decoded<'a, T>,
) -> Decoded<'a, Vec<T>> {
    let (mut rest, count) = be_i32(input)?;
    if count == -1 {
        return Ok((rest, Vec::new()));
    }
    if count < 0 {
        return Err(bad(input));
    }
    // Every element takes at least one byte: cap the reservation by what is there.
    let mut items = Vec::with_capacity((count as usize).min(rest.len()));
    for _ in 0..count {
        let (r, item) = element(rest)?;
        rest = r;
        items.push(item);
    }
    Ok((rest, items))
}

pub fn put_int(out: &mut BytesMut, v: i32) {
    out.put_i32(v);
}

pub fn put_long(out: &mut BytesMut, v: i64) {
    out.put_i64(v);
}

pub fn put_bool(out: &mut BytesMut, v: bool) {
    out.put_u8(v as u8);
}

pub fn put_buffer(out: &mut BytesMut, v: Option<&[u8]>) {
    match v {
        None => out.put_i32(-1),
        Some(b) => {
            out.put_i32(b.len() as i32);
            out.put_slice(b);
        }
    }
}

pub fn put_ustring(out: &mut BytesMut, v: &str) {
    put_buffer(out, Some(v.as_bytes()));
}

pub fn put_vector<T>(out: &mut BytesMut, items: &[T], mut element: impl FnMut(&mut BytesMut, &T)) {
    out.put_i32(items.len() as i32);
    for item in items {
        element(out, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_incomplete_not_error() {
        assert!(matches!(int(&[0, 0, 1]), Err(nom::Err::Incomplete(_))));
        assert!(matches!(
            buffer(&[0, 0, 0, 4, 1, 2]),
            Err(nom::Err::Incomplete(_))
        ));
    }

    #[test]
    fn negative_length_is_bad_bytes() {
        assert!(matches!(
            buffer(&[0xff, 0xff, 0xff, 0xfe]),
            Err(nom::Err::Error(_))
        ));
        assert!(matches!(
            vector(&[0xff, 0xff, 0xff, 0xfe], int),
            Err(nom::Err::Error(_))
        ));
    }

    #[test]
    fn null_buffer_round_trips() {
        let mut out = BytesMut::new();
        put_buffer(&mut out, None);
        put_buffer(&mut out, Some(b"ab"));
        let (rest, a) = buffer(&out).unwrap();
        let (rest, b) = buffer(rest).unwrap();
        assert_eq!((a, b.as_deref(), rest.len()), (None, Some(&b"ab"[..]), 0));
    }

    #[test]
    fn huge_vector_count_does_not_preallocate() {
        let input = [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1];
        assert!(matches!(vector(&input, int), Err(nom::Err::Incomplete(_))));
    }
}

/// Test helpers shared by every record module's tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use std::fmt::Debug;

    /// Encodes `value`, checks it decodes back to itself with nothing left over,
    /// and that every strict prefix of the encoding is `Incomplete` or `Error`
    /// (never a panic, never a wrong `Ok`). Returns the encoding.
    pub fn assert_round_trip<T: Record + PartialEq + Debug>(value: &T) -> BytesMut {
        let bytes = value.to_bytes();
        let (rest, back) = T::decode(&bytes).expect("decodes");
        assert_eq!(&back, value);
        assert!(rest.is_empty(), "{} bytes left over", rest.len());
        assert_prefixes_fail(&bytes, |b| T::decode(b).is_ok());
        bytes
    }

    /// Calls `decode_ok` on every strict prefix of `bytes`; it must return false.
    pub fn assert_prefixes_fail(bytes: &[u8], mut decode_ok: impl FnMut(&[u8]) -> bool) {
        for n in 0..bytes.len() {
            assert!(
                !decode_ok(&bytes[..n]),
                "prefix of {n}/{} bytes decoded",
                bytes.len()
            );
        }
    }
}
