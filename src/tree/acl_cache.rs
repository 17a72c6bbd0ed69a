//! The tree's ACL lists, shared between the nodes that hold the same list,
//! each with the id a snapshot refers to it by (`ReferenceCountedACLCache`).
//!
//! A list's users are counted by its `Arc`: the cache holds one reference and
//! every node holding the list another. ZooKeeper drops a list as soon as its
//! count falls to zero; here unused lists are dropped by
//! [`AclCache::purge_unused`] when a snapshot starts. Until the next one, ids
//! only go up, so a list first used while a fuzzy snapshot is written gets the
//! id ZooKeeper allocates when it replays that txn over the snapshot (its
//! `aclIndex` continues from the largest id in the snapshot's map), and the
//! lists in the map stay while the snapshotter's copy holds them.

use std::collections::HashMap;
use std::sync::Arc;

use crate::proto::data::Acl;

/// Every ACL list held by a node (and, until the next purge, those that
/// were), with its snapshot id.
#[derive(Debug, Default)]
pub struct AclCache {
    ids: HashMap<Arc<[Acl]>, i64, ahash::RandomState>,
    /// `aclIndex`: the id given last.
    last_id: i64,
}

impl AclCache {
    /// `convertAcls`: the cache's copy of `acl`, added with the next id if new.
    pub fn intern(&mut self, acl: &[Acl]) -> Arc<[Acl]> {
        if let Some((a, _)) = self.ids.get_key_value(acl) {
            return a.clone();
        }
        let a: Arc<[Acl]> = Arc::from(acl);
        self.last_id += 1;
        self.ids.insert(a.clone(), self.last_id);
        a
    }

    /// The snapshot id of `acl`, if cached.
    pub fn id(&self, acl: &[Acl]) -> Option<i64> {
        self.ids.get(acl).copied()
    }

    /// Every cached list with its id, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (i64, &Arc<[Acl]>)> {
        self.ids.iter().map(|(a, id)| (*id, a))
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// `purgeUnused`: drops every list nothing but the cache holds, then
    /// continues ids from the largest one left, as ZooKeeper does after
    /// loading a snapshot of this cache. Returns how many were dropped.
    pub fn purge_unused(&mut self) -> usize {
        let before = self.ids.len();
        self.ids.retain(|a, _| Arc::strong_count(a) > 1);
        self.last_id = self.ids.values().copied().max().unwrap_or(0);
        before - self.ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(id: &str) -> Vec<Acl> {
        vec![Acl {
            perms: 31,
            id: crate::proto::data::Id {
                scheme: "digest".into(),
                id: id.into(),
            },
        }]
    }

    #[test]
    fn a_list_is_shared_and_numbered_in_first_use_order() {
        let mut cache = AclCache::default();
        let a = cache.intern(&list("a"));
        let b = cache.intern(&list("b"));
        let a2 = cache.intern(&list("a"));
        assert!(Arc::ptr_eq(&a, &a2));
        assert_eq!(cache.id(&list("a")), Some(1));
        assert_eq!(cache.id(&list("b")), Some(2));
        assert_eq!(cache.id(&list("c")), None);
        drop(b);
    }

    #[test]
    fn purge_drops_only_lists_nobody_holds_and_ids_go_on_from_the_largest_left() {
        let mut cache = AclCache::default();
        let a = cache.intern(&list("a"));
        drop(cache.intern(&list("b")));
        let c = cache.intern(&list("c"));
        drop(cache.intern(&list("d")));
        // Without a purge a released list keeps its id and ids only go up.
        assert_eq!(cache.id(&list("b")), Some(2));
        assert_eq!(cache.purge_unused(), 2);
        let mut left: Vec<(i64, Vec<Acl>)> = cache.iter().map(|(i, l)| (i, l.to_vec())).collect();
        left.sort_unstable_by_key(|(i, _)| *i);
        assert_eq!(left, vec![(1, list("a")), (3, list("c"))]);
        // ZooKeeper, loading {1, 3}, gives the next new list 4.
        let e = cache.intern(&list("e"));
        assert_eq!(cache.id(&e), Some(4));

        drop((c, e));
        assert_eq!(cache.purge_unused(), 2, "c and e");
        let _f = cache.intern(&list("f"));
        assert_eq!(cache.id(&list("f")), Some(2));
        assert_eq!(cache.id(&a), Some(1));
    }
}
