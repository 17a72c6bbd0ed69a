//! The tree's path → node map, split into [`SHARDS`] hash maps by a hash of
//! the path. A hash map doubles its table when it fills, rehashing every
//! entry at once: with a million nodes in one map that is a stop of a hundred
//! milliseconds or more for every request behind the create that triggered
//! it. Split, a growth moves a sixty-fourth of the nodes.

use std::collections::hash_map::{Entry, HashMap};

use super::Node;

/// Number of shards (a power of two).
const SHARDS: usize = 64;

type Shard = HashMap<String, Box<Node>, ahash::RandomState>;

/// Paths to nodes. aHash (keyed per process, so clients cannot pick
/// colliding paths) is several times faster than SipHash on paths.
#[derive(Debug)]
pub(super) struct PathMap {
    /// Picks the shard; independent of the shards' own hasher, so a shard's
    /// keys do not share the hash bits its table probes by.
    selector: ahash::RandomState,
    shards: Box<[Shard]>,
}

impl Default for PathMap {
    fn default() -> Self {
        let hasher = ahash::RandomState::new();
        PathMap {
            selector: ahash::RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| HashMap::with_hasher(hasher.clone()))
                .collect(),
        }
    }
}

impl PathMap {
    fn shard_of(&self, path: &str) -> usize {
        self.selector.hash_one(path) as usize & (SHARDS - 1)
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.shards[self.shard_of(path)].get(path).map(Box::as_ref)
    }

    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        let i = self.shard_of(path);
        self.shards[i].get_mut(path).map(Box::as_mut)
    }

    pub fn contains_key(&self, path: &str) -> bool {
        self.shards[self.shard_of(path)].contains_key(path)
    }

    pub fn insert(&mut self, path: String, node: Box<Node>) -> Option<Box<Node>> {
        let i = self.shard_of(&path);
        self.shards[i].insert(path, node)
    }

    pub fn remove(&mut self, path: &str) -> Option<Box<Node>> {
        let i = self.shard_of(path);
        self.shards[i].remove(path)
    }

    pub fn entry(&mut self, path: String) -> Entry<'_, String, Box<Node>> {
        let i = self.shard_of(&path);
        self.shards[i].entry(path)
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    /// Room for about `additional` more nodes without growing.
    pub fn reserve(&mut self, additional: usize) {
        for shard in self.shards.iter_mut() {
            shard.reserve(additional / SHARDS + 1);
        }
    }

    /// Every (path, node), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.shards
            .iter()
            .flat_map(|s| s.iter().map(|(p, n)| (p, n.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::data::{Acl, StatPersisted};

    fn node(path: &str) -> Box<Node> {
        Box::new(Node::new(
            path,
            None,
            Acl::open_unsafe().into(),
            StatPersisted::default(),
            false,
        ))
    }

    #[test]
    fn finds_what_it_holds_across_shards() {
        let mut m = PathMap::default();
        for i in 0..1000 {
            let path = format!("/n{i}");
            assert!(m.insert(path.clone(), node(&path)).is_none());
        }
        assert_eq!(m.len(), 1000);
        assert!(
            m.shards.iter().all(|s| !s.is_empty()),
            "paths spread over every shard"
        );
        assert!((0..1000).all(|i| m.contains_key(&format!("/n{i}"))));
        assert!(m.remove("/n7").is_some());
        assert!(m.get("/n7").is_none() && m.get_mut("/n8").is_some());
        assert!(matches!(m.entry("/n7".into()), Entry::Vacant(_)));
        assert!(matches!(m.entry("/n8".into()), Entry::Occupied(_)));
        assert_eq!(m.iter().count(), 999);
    }
}
