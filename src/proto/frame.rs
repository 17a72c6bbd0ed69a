//! Packet framing: every client↔server packet is a 4-byte big-endian length
//! followed by that many bytes. [`FrameCodec`] splits a byte stream into packets
//! (without the length) and writes packets with their length.
//!
//! Length check as `NIOServerCnxn.readLength`: `len < 0 || len > jute.maxbuffer`
//! is a "Len error" that closes the connection. Caution for the server: on a
//! connection's first packet Java first checks whether the 4 length bytes are a
//! four-letter word (`ruok`, `stat`, ... read as an int, e.g. `ruok` =
//! 0x72756f6b), which is always larger than maxbuffer; do that check before
//! handing the stream to this codec.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Java's default `jute.maxbuffer` (`BinaryInputArchive.maxBuffer`): 1 MiB - 1.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// Why the byte stream could not be framed; each closes the connection.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("packet length {len} is greater than jute.maxbuffer={max}")]
    TooLarge { len: usize, max: usize },
    #[error("negative packet length {0}")]
    NegativeLength(i32),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Length-prefixed framing with a maximum packet size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameCodec {
    pub max_len: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec {
            max_len: DEFAULT_MAX_BUFFER,
        }
    }
}

impl FrameCodec {
    pub fn new(max_len: usize) -> Self {
        FrameCodec { max_len }
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let len = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if len < 0 {
            return Err(FrameError::NegativeLength(len));
        }
        let len = len as usize;
        if len > self.max_len {
            return Err(FrameError::TooLarge {
                len,
                max: self.max_len,
            });
        }
        if src.len() < 4 + len {
            src.reserve(4 + len - src.len());
            return Ok(None);
        }
        src.advance(4);
        Ok(Some(src.split_to(len)))
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = FrameError;

    /// Outgoing packets are not limited by `max_len` (Java's server does not check
    /// what it sends; the client enforces its own `jute.maxbuffer`).
    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        let len = i32::try_from(item.len()).map_err(|_| FrameError::TooLarge {
            len: item.len(),
            max: i32::MAX as usize,
        })?;
        dst.reserve(4 + item.len());
        dst.put_i32(len);
        dst.put_slice(&item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_frames_and_waits_for_more() {
        let mut c = FrameCodec::default();
        let mut src = BytesMut::from(&[0, 0, 0, 2, 7, 8, 0, 0, 0, 0, 0, 0][..]);
        assert_eq!(&c.decode(&mut src).unwrap().unwrap()[..], &[7, 8]);
        assert_eq!(&c.decode(&mut src).unwrap().unwrap()[..], &[] as &[u8]);
        assert_eq!(c.decode(&mut src).unwrap(), None);
        src.extend_from_slice(&[0, 1]);
        assert_eq!(c.decode(&mut src).unwrap(), None);
        src.extend_from_slice(&[9]);
        assert_eq!(&c.decode(&mut src).unwrap().unwrap()[..], &[9]);
        assert!(src.is_empty());
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut c = FrameCodec::new(16);
        let mut src = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            c.decode(&mut src),
            Err(FrameError::NegativeLength(-1))
        ));
        let mut src = BytesMut::from(&[0, 0, 0, 17][..]);
        assert!(matches!(
            c.decode(&mut src),
            Err(FrameError::TooLarge { len: 17, max: 16 })
        ));
        let mut src = BytesMut::from(&b"ruok"[..]);
        assert!(FrameCodec::default().decode(&mut src).is_err());
        // Exactly max_len is fine.
        let mut src = BytesMut::from(&[0, 0, 0, 16][..]);
        assert_eq!(c.decode(&mut src).unwrap(), None);
    }

    #[test]
    fn encodes_with_length() {
        let mut c = FrameCodec::default();
        let mut dst = BytesMut::new();
        c.encode(Bytes::from_static(b"abc"), &mut dst).unwrap();
        assert_eq!(&dst[..], b"\0\0\0\x03abc");
        let mut back = dst.clone();
        assert_eq!(&c.decode(&mut back).unwrap().unwrap()[..], b"abc");
    }
}
