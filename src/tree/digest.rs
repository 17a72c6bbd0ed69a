//! The tree digest term of one node, split so the costly part (CRC32 over
//! path and data) is computed once per data change and cached in the node,
//! while the stat part (60 bytes) is added whenever the stat changes.
//!
//! `digest_term(digest_prefix(path, data), stat)` is ZooKeeper's
//! `DigestCalculator.calculateDigest` (what [`crate::persistence::node_digest`]
//! returns; the Java cross-checks live in the persistence tests); the tree keeps
//! the wrapping sum over its nodes as `NodeHashMapImpl` does.

use crate::proto::data::StatPersisted;

/// The CRC32 of the path ("/" as "") and data, `None` for the nodes under
/// `/zookeeper/` that ZooKeeper leaves out of the digest.
pub fn digest_prefix(path: &str, data: Option<&[u8]>) -> Option<u32> {
    if path.starts_with("/zookeeper/") {
        return None;
    }
    let path = if path == "/" { "" } else { path };
    let mut h = crc32fast::Hasher::new();
    h.update(path.as_bytes());
    if let Some(d) = data {
        h.update(d);
    }
    Some(h.finalize())
}

/// The node's digest term from its [`digest_prefix`] and persisted stat.
pub fn digest_term(prefix: Option<u32>, stat: &StatPersisted) -> i64 {
    let Some(prefix) = prefix else { return 0 };
    let mut b = [0u8; 60];
    let mut at = 0;
    for v in [stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime] {
        b[at..at + 8].copy_from_slice(&v.to_be_bytes());
        at += 8;
    }
    for v in [stat.version, stat.cversion, stat.aversion] {
        b[at..at + 4].copy_from_slice(&v.to_be_bytes());
        at += 4;
    }
    b[at..at + 8].copy_from_slice(&stat.ephemeral_owner.to_be_bytes());
    let mut h = crc32fast::Hasher::new_with_initial(prefix);
    h.update(&b);
    h.finalize() as i64
}
