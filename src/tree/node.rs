//! One znode (`DataNode.java`) and the meaning of its `ephemeralOwner`
//! (`EphemeralType.java`).
//!
//! The stored `cversion` counts child *creations*; clients see
//! `cversion * 2 - numChildren` (`DataNode.copyStat`), so a delete also bumps
//! the visible value although nothing stored changes. The sequential suffix is
//! derived from the stored value (what [`Node::stat_persisted`] returns).

use std::collections::BTreeMap;
use std::sync::Arc;

use compact_str::CompactString;

use super::digest::{digest_prefix, digest_term};
use super::path_map::NodeId;
use crate::proto::data::{Acl, Stat, StatPersisted};

/// `EphemeralType.CONTAINER_EPHEMERAL_OWNER`.
pub const CONTAINER_EPHEMERAL_OWNER: i64 = i64::MIN;

const EXTENDED_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;
const EXTENDED_BIT_TTL: i64 = 0x0000;
const RESERVED_BITS_MASK: i64 = 0x00ff_ff00_0000_0000;
const RESERVED_BITS_SHIFT: u32 = 40;
const EXTENDED_FEATURE_VALUE_MASK: i64 = !(EXTENDED_MASK | RESERVED_BITS_MASK);

/// `EphemeralType`: what an `ephemeralOwner` value means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EphemeralType {
    /// Owner 0: persistent.
    Void,
    /// A session id.
    Normal,
    /// `Long.MIN_VALUE`.
    Container,
    /// `0xff` in the top byte, feature bits 0, the TTL (ms) in the low 40 bits.
    Ttl,
}

impl EphemeralType {
    /// `EphemeralType.get`. With extended types disabled (ZooKeeper's default,
    /// `zookeeper.extendedTypesEnabled=false`) a TTL-encoded owner is `Normal`.
    /// An extended owner with unknown feature bits is an error in Java
    /// (IllegalArgumentException); it is `Normal` here.
    /// The 3.5.3 TTL emulation (`zookeeper.emulate353TTLNodes`) is not supported.
    pub fn of(owner: i64, extended_types_enabled: bool) -> EphemeralType {
        if extended_types_enabled
            && owner & EXTENDED_MASK == EXTENDED_MASK
            && (owner & RESERVED_BITS_MASK) >> RESERVED_BITS_SHIFT == EXTENDED_BIT_TTL
        {
            return EphemeralType::Ttl;
        }
        if owner == CONTAINER_EPHEMERAL_OWNER {
            EphemeralType::Container
        } else if owner == 0 {
            EphemeralType::Void
        } else {
            EphemeralType::Normal
        }
    }

    /// `EphemeralType.TTL.maxValue()`: about 34 years in milliseconds.
    pub const TTL_MAX: i64 = EXTENDED_FEATURE_VALUE_MASK;

    /// `EphemeralType.TTL.toEphemeralOwner`: `None` unless `0 < ttl <= TTL_MAX`.
    pub fn ttl_owner(ttl: i64) -> Option<i64> {
        (ttl > 0 && ttl <= Self::TTL_MAX).then_some(EXTENDED_MASK | EXTENDED_BIT_TTL | ttl)
    }

    /// `EphemeralType.TTL.getValue`: the TTL (ms) of a TTL owner.
    pub fn ttl_of(owner: i64) -> i64 {
        owner & EXTENDED_FEATURE_VALUE_MASK
    }
}

/// `DataTree.createStat`: a new node's persisted stat (cversion 0).
pub fn create_stat(zxid: i64, time: i64, ephemeral_owner: i64) -> StatPersisted {
    StatPersisted {
        czxid: zxid,
        mzxid: zxid,
        ctime: time,
        mtime: time,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeral_owner,
        pzxid: zxid,
    }
}

/// A znode: data (null allowed, as in Java), ACL, persisted stat and children
/// (names, and where each is kept).
#[derive(Debug, Clone)]
pub struct Node {
    pub(crate) data: Option<Vec<u8>>,
    pub(crate) acl: Arc<[Acl]>,
    pub(crate) stat: StatPersisted,
    /// Names of up to 24 bytes are kept inline, so a search of a wide
    /// node's children compares bytes in the B-tree's own nodes instead of
    /// following a pointer per name.
    pub(crate) children: BTreeMap<CompactString, NodeId>,
    /// `EphemeralType.get(stat.ephemeralOwner)`, fixed when the node is stored.
    pub(crate) kind: EphemeralType,
    /// CRC32 of path and data for the digest ([`super::digest::digest_prefix`]);
    /// the cache `DataNode.digestCached` plays in Java.
    pub(crate) digest_prefix: Option<u32>,
}

impl Node {
    pub(crate) fn new(
        path: &str,
        data: Option<Vec<u8>>,
        acl: Arc<[Acl]>,
        stat: StatPersisted,
        extended_types_enabled: bool,
    ) -> Node {
        Node {
            digest_prefix: digest_prefix(path, data.as_deref()),
            data,
            acl,
            kind: EphemeralType::of(stat.ephemeral_owner, extended_types_enabled),
            stat,
            children: BTreeMap::new(),
        }
    }

    /// This node's term of the tree digest (`DigestCalculator.calculateDigest`).
    pub fn digest(&self) -> i64 {
        digest_term(self.digest_prefix, &self.stat)
    }

    /// The cached CRC32 of path and data the digest term starts from.
    pub fn digest_prefix(&self) -> Option<u32> {
        self.digest_prefix
    }

    /// Replaces the data, keeping the digest cache in step.
    pub(crate) fn set_data(&mut self, path: &str, data: Option<Vec<u8>>) {
        self.digest_prefix = digest_prefix(path, data.as_deref());
        self.data = data;
    }

    /// The data; `None` when a client stored null.
    pub fn data(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }

    pub fn acl(&self) -> &[Acl] {
        &self.acl
    }

    /// The ACL as shared with every node holding the same list (the ACL cache entry).
    pub fn acl_shared(&self) -> &Arc<[Acl]> {
        &self.acl
    }

    /// The stat clients see (`DataNode.copyStat`): dataLength and numChildren
    /// computed, cversion translated to `cversion * 2 - numChildren`, and
    /// ephemeralOwner 0 for container and TTL nodes.
    pub fn stat(&self) -> Stat {
        let num_children = self.num_children();
        let s = &self.stat;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: s.aversion,
            ephemeral_owner: match self.kind {
                EphemeralType::Normal => s.ephemeral_owner,
                _ => 0,
            },
            data_length: self.data.as_ref().map_or(0, |d| d.len() as i32),
            num_children,
            pzxid: s.pzxid,
        }
    }

    /// The stat as stored and snapshotted; prep's `ChangeRecord` starts from this
    /// (raw cversion for sequential names, raw ephemeralOwner).
    pub fn stat_persisted(&self) -> &StatPersisted {
        &self.stat
    }

    /// What the owner means (container, TTL, session ephemeral, persistent).
    pub fn ephemeral_type(&self) -> EphemeralType {
        self.kind
    }

    /// Child names, in byte order.
    pub fn children(&self) -> impl Iterator<Item = &str> {
        self.children.keys().map(CompactString::as_str)
    }

    /// Children (name and slot) after `after` (all of them for `None`), in
    /// byte order.
    pub fn children_after<'a>(
        &'a self,
        after: Option<&str>,
    ) -> impl Iterator<Item = (&'a str, NodeId)> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.children
            .range::<str, _>((from, Bound::Unbounded))
            .map(|(name, &id)| (name.as_str(), id))
    }

    pub fn num_children(&self) -> i32 {
        self.children.len() as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ephemeral_types() {
        assert_eq!(EphemeralType::of(0, true), EphemeralType::Void);
        assert_eq!(EphemeralType::of(0x1234, false), EphemeralType::Normal);
        assert_eq!(EphemeralType::of(i64::MIN, false), EphemeralType::Container);
        let ttl = EphemeralType::ttl_owner(1000).unwrap();
        assert_eq!(ttl as u64, 0xff00_0000_0000_03e8);
        assert_eq!(EphemeralType::of(ttl, true), EphemeralType::Ttl);
        assert_eq!(EphemeralType::of(ttl, false), EphemeralType::Normal);
        assert_eq!(EphemeralType::ttl_of(ttl), 1000);
        assert_eq!(EphemeralType::ttl_owner(0), None);
        assert_eq!(EphemeralType::ttl_owner(EphemeralType::TTL_MAX + 1), None);
        assert!(EphemeralType::ttl_owner(EphemeralType::TTL_MAX).is_some());
        // Unknown feature bits are not TTL.
        assert_eq!(
            EphemeralType::of(0xff01_0000_0000_0001_u64 as i64, true),
            EphemeralType::Normal
        );
    }

    #[test]
    fn client_stat_translates_cversion_and_owner() {
        let mut n = Node::new(
            "/n",
            Some(b"abc".to_vec()),
            Arc::from(Acl::open_unsafe()),
            create_stat(5, 7, 0),
            false,
        );
        n.stat.cversion = 3;
        n.children.insert("x".into(), NodeId(0));
        let s = n.stat();
        assert_eq!((s.cversion, s.num_children, s.data_length), (5, 1, 3));
        let c = Node::new(
            "/c",
            None,
            Arc::from(Vec::new()),
            create_stat(5, 7, CONTAINER_EPHEMERAL_OWNER),
            false,
        );
        assert_eq!(c.stat().ephemeral_owner, 0);
        assert_eq!(c.stat().data_length, 0);
        assert_eq!(
            c.stat_persisted().ephemeral_owner,
            CONTAINER_EPHEMERAL_OWNER
        );
    }
}
