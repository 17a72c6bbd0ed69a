//! Sans-IO encoding of the log's building blocks: the `FileHeader` every log and
//! snapshot starts with, and one log entry as `FileTxnLog.append` writes it:
//!
//! ```text
//! long  checksum   Adler32 of the payload, as a Java long (0 ..= 2^32-1)
//! int   length     payload length; 0 means "no more entries" (preallocated zeros)
//! byte[] payload   TxnHeader + txn record (+ TxnDigest, 3.6+ with digests on)
//! byte  0x42       'B', end of record (Util.writeTxnBytes)
//! ```
//!
//! [`parse_frame`] classifies the bytes at a position without deciding what a
//! bad frame means: the reader decides between "torn tail" and "corruption" by
//! looking at what follows.

use bytes::BytesMut;

use crate::proto::jute::Record;
use crate::proto::request::DecodeError;
use crate::proto::txn::{decode_txn_body_prefix, encode_txn_body, TxnDigest};
use crate::proto::wire::jute_record;
use crate::txn::{Txn, TxnHeader};

/// `FileTxnLog.TXNLOG_MAGIC`: "ZKLG" read as a big-endian int.
pub const TXNLOG_MAGIC: i32 = i32::from_be_bytes(*b"ZKLG");
/// `FileSnap.SNAP_MAGIC`: "ZKSN".
pub const SNAP_MAGIC: i32 = i32::from_be_bytes(*b"ZKSN");
/// `FileTxnLog.VERSION` / `FileSnap.VERSION`.
pub const FORMAT_VERSION: i32 = 2;
/// The dbid ZooKeeper writes into logs (`FileTxnLog.dbId`, never set: 0).
pub const LOG_DBID: i64 = 0;
/// The dbid ZooKeeper writes into snapshots (`FileSnap.dbId`).
pub const SNAP_DBID: i64 = -1;
/// Bytes of a `FileHeader`.
pub const FILE_HEADER_LEN: usize = 16;
/// `Util.writeTxnBytes`: the end-of-record marker, 'B'.
pub const END_OF_RECORD: u8 = 0x42;
/// checksum (8) + length (4).
pub const FRAME_PREFIX_LEN: usize = 12;

jute_record! {
    /// `FileHeader` of `zookeeper.jute` (module `org.apache.zookeeper.server.persistence`).
    FileHeader {
        magic: i32,
        version: i32,
        dbid: i64,
    }
}

impl FileHeader {
    pub fn txn_log() -> FileHeader {
        FileHeader {
            magic: TXNLOG_MAGIC,
            version: FORMAT_VERSION,
            dbid: LOG_DBID,
        }
    }

    pub fn snapshot() -> FileHeader {
        FileHeader {
            magic: SNAP_MAGIC,
            version: FORMAT_VERSION,
            dbid: SNAP_DBID,
        }
    }
}

/// One txn as stored in the log, with the tree digest ZooKeeper 3.6+ appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub txn: Txn,
    pub digest: Option<TxnDigest>,
}

/// Adler32 as `java.util.zip.Adler32.getValue()` returns it.
pub fn adler32(bytes: &[u8]) -> i64 {
    adler2::adler32_slice(bytes) as i64
}

/// `Util.marshallTxnEntry`: TxnHeader + record (+ digest), the checksummed payload.
pub fn marshal_txn(txn: &Txn, digest: Option<&TxnDigest>, out: &mut BytesMut) {
    txn.header.encode(out);
    encode_txn_body(&txn.body, out);
    if let Some(d) = digest {
        d.encode(out);
    }
}

/// `SerializeUtils.deserializeTxn`: payload bytes back to a txn. A digest is
/// read when at least a whole `TxnDigest` follows the body; fewer bytes mean
/// none (as Java's EOFException path does).
pub fn unmarshal_txn(payload: &[u8]) -> Result<LogEntry, DecodeError> {
    let (rest, header) = TxnHeader::decode(payload)?;
    let (body, rest) = decode_txn_body_prefix(header.op_type, rest)?;
    let digest = match TxnDigest::decode(rest) {
        Ok((_, d)) => Some(d),
        Err(_) => None,
    };
    Ok(LogEntry {
        txn: Txn { header, body },
        digest,
    })
}

/// Appends one whole frame (checksum, length, payload, 'B') for `txn` to `out`.
pub fn encode_log_entry(txn: &Txn, digest: Option<&TxnDigest>, out: &mut Vec<u8>) {
    let mut payload = BytesMut::new();
    marshal_txn(txn, digest, &mut payload);
    out.extend_from_slice(&adler32(&payload).to_be_bytes());
    out.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    out.extend_from_slice(&payload);
    out.push(END_OF_RECORD);
}

/// What the bytes at one position of a log are.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole frame whose checksum matches; `len` bytes in all.
    Entry { payload: &'a [u8], len: usize },
    /// Length 0 or nothing left (or only zeros shorter than a prefix): the end
    /// of the data, as ZooKeeper defines it for preallocated files.
    End,
    /// The frame runs past the end of the bytes.
    Incomplete,
    /// Bytes that are not a valid frame.
    Bad(&'static str),
}

/// Classifies the frame at the front of `buf`.
pub fn parse_frame(buf: &[u8]) -> Frame<'_> {
    if buf.len() < FRAME_PREFIX_LEN {
        return if buf.iter().all(|b| *b == 0) {
            Frame::End
        } else {
            Frame::Incomplete
        };
    }
    let crc = i64::from_be_bytes(buf[0..8].try_into().unwrap());
    let len = i32::from_be_bytes(buf[8..12].try_into().unwrap());
    if len == 0 {
        return Frame::End;
    }
    if len < 0 {
        return Frame::Bad("negative entry length");
    }
    let len = len as usize;
    let total = FRAME_PREFIX_LEN + len + 1;
    if buf.len() < total {
        return Frame::Incomplete;
    }
    if buf[total - 1] != END_OF_RECORD {
        return Frame::Bad("end-of-record byte is not 0x42");
    }
    let payload = &buf[FRAME_PREFIX_LEN..FRAME_PREFIX_LEN + len];
    if adler32(payload) != crc {
        return Frame::Bad("checksum mismatch");
    }
    Frame::Entry {
        payload,
        len: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{CreateTxn, TxnBody};

    pub(crate) fn txn(zxid: i64) -> Txn {
        Txn {
            header: TxnHeader {
                client_id: 0x1234,
                cxid: 7,
                zxid,
                time: 1_700_000_000_000,
                op_type: 1,
            },
            body: TxnBody::Create(CreateTxn {
                path: format!("/n{zxid}"),
                data: Some(b"hello".to_vec()),
                acl: crate::proto::data::Acl::open_unsafe(),
                ephemeral: false,
                parent_cversion: 1,
            }),
        }
    }

    #[test]
    fn magic_numbers_match_java() {
        // ByteBuffer.wrap("ZKLG".getBytes()).getInt()
        assert_eq!(TXNLOG_MAGIC, 0x5a4b_4c47);
        assert_eq!(SNAP_MAGIC, 0x5a4b_534e);
        assert_eq!(FileHeader::txn_log().to_bytes().len(), FILE_HEADER_LEN);
    }

    #[test]
    fn adler32_matches_java_reference_values() {
        // java.util.zip.Adler32 over "Wikipedia" is 0x11E60398.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
    }

    #[test]
    fn entry_round_trips_with_and_without_digest() {
        for digest in [
            None,
            Some(TxnDigest {
                version: 2,
                tree_digest: -42,
            }),
        ] {
            let mut out = Vec::new();
            encode_log_entry(&txn(5), digest.as_ref(), &mut out);
            let Frame::Entry { payload, len } = parse_frame(&out) else {
                panic!("not an entry")
            };
            assert_eq!(len, out.len());
            let e = unmarshal_txn(payload).unwrap();
            assert_eq!(e.txn, txn(5));
            assert_eq!(e.digest, digest);
        }
    }

    #[test]
    fn frame_classification() {
        let mut out = Vec::new();
        encode_log_entry(&txn(5), None, &mut out);
        assert_eq!(parse_frame(&[]), Frame::End);
        assert_eq!(parse_frame(&[0; 40]), Frame::End);
        assert_eq!(parse_frame(&[0; 5]), Frame::End);
        for n in 1..out.len() {
            let f = parse_frame(&out[..n]);
            // The checksum's high half is zero: a few leading zero bytes look
            // like preallocated space, which loses nothing.
            let ok = matches!(f, Frame::Incomplete) || (n < FRAME_PREFIX_LEN && f == Frame::End);
            assert!(ok, "prefix {n}: {f:?}");
        }
        for i in 0..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 0x10;
            let f = parse_frame(&bad);
            assert!(
                matches!(f, Frame::Bad(_) | Frame::Incomplete | Frame::End),
                "flip at {i}: {f:?}"
            );
        }
    }
}
