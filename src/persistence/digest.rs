//! The data-tree digest Apache ZooKeeper 3.6+ keeps (`DigestCalculator`,
//! `NodeHashMapImpl`, `util/AdHash`): the tree digest is the wrapping sum of one
//! CRC32 per node, so it is updated in O(1) on every change. ZooKeeper appends
//! it to each log entry (`TxnDigest`) and after a snapshot's nodes
//! (`DataTree.ZxidDigest`) and compares on replay; a mismatch is only logged
//! and counted. Both are optional for a reader: a log entry without one, or a
//! snapshot with an empty one (zxid 0), is never compared.
//!
//! The tree owns the running sum; this module gives the per-node term and the
//! snapshot record.

use crate::proto::data::StatPersisted;

/// `DigestCalculator.DIGEST_VERSION`.
pub const DIGEST_VERSION: i32 = 2;

/// `DigestCalculator.calculateDigest`: CRC32 of the path ("/" counted as ""),
/// the data and 60 bytes of stat (czxid, mzxid, pzxid, ctime, mtime, version,
/// cversion, aversion, ephemeralOwner). Nodes under `/zookeeper` count 0.
/// Add it to the tree digest when a node appears, subtract it when the node
/// goes or before it changes, add the new term after.
pub fn node_digest(path: &str, data: Option<&[u8]>, stat: &StatPersisted) -> i64 {
    // The tree computes the same term in two parts so it can cache the costly one.
    use crate::tree::digest::{digest_prefix, digest_term};
    digest_term(digest_prefix(path, data), stat)
}

/// `DataTree.ZxidDigest`: the tree digest as of `zxid`, written after a
/// snapshot's nodes. `ZxidDigest::empty()` (zxid 0) is what ZooKeeper writes
/// when it has none, and means "do not compare".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    pub zxid: i64,
    pub digest_version: i32,
    pub digest: i64,
}

impl ZxidDigest {
    pub fn empty() -> ZxidDigest {
        ZxidDigest {
            zxid: 0,
            digest_version: DIGEST_VERSION,
            digest: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.zxid <= 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zookeeper_subtree_is_excluded_and_root_is_empty_path() {
        let stat = StatPersisted::default();
        assert_eq!(node_digest("/zookeeper/quota", None, &stat), 0);
        assert_ne!(node_digest("/zookeeper", None, &stat), 0);
        let mut h = crc32fast::Hasher::new();
        h.update(&[0u8; 60]);
        assert_eq!(node_digest("/", None, &stat), h.finalize() as i64);
        assert_eq!(
            node_digest("/", Some(b""), &stat),
            node_digest("/", None, &stat)
        );
    }
}
