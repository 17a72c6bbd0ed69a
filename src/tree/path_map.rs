//! The tree's nodes: each in a numbered slot ([`NodeId`]), found by path
//! through [`SHARDS`] hash maps split by a hash of the path.
//!
//! A hash map doubles its table when it fills, rehashing every entry at
//! once: with a million nodes in one map that is a stop of a hundred
//! milliseconds or more for every request behind the create that triggered
//! it. Split, a growth moves a sixty-fourth of the nodes. The slots grow a
//! fixed-size chunk at a time, so they never move either.
//!
//! A parent keeps its children's ids beside their names, so a walk of the
//! tree (the snapshotter's) goes from parent to child without hashing and
//! probing a million-entry table for every node.

use std::collections::hash_map::{Entry, HashMap};

use super::Node;

/// Number of shards (a power of two).
const SHARDS: usize = 64;

/// Slots per chunk.
const CHUNK: usize = 4096;

/// Where a node is kept while it is in the tree. A freed slot is reused: once
/// the tree lock has been let go, an id may find its slot empty or holding a
/// node created since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId(pub(super) u32);

type Shard = HashMap<String, NodeId, ahash::RandomState>;

/// Numbered slots for nodes, in chunks that never move.
#[derive(Debug, Default)]
struct Slots {
    chunks: Vec<Box<[Option<Box<Node>>]>>,
    free: Vec<NodeId>,
}

impl Slots {
    fn put(&mut self, node: Box<Node>) -> NodeId {
        let id = self.free.pop().unwrap_or_else(|| {
            let id = NodeId((self.chunks.len() * CHUNK) as u32);
            self.chunks.push((0..CHUNK).map(|_| None).collect());
            self.free
                .extend((id.0 + 1..id.0 + CHUNK as u32).rev().map(NodeId));
            id
        });
        *self.slot_mut(id) = Some(node);
        id
    }

    fn take(&mut self, id: NodeId) -> Option<Box<Node>> {
        let node = self.slot_mut(id).take();
        self.free.push(id);
        node
    }

    fn get(&self, id: NodeId) -> Option<&Node> {
        let i = id.0 as usize;
        self.chunks.get(i / CHUNK)?[i % CHUNK].as_deref()
    }

    fn get_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.slot_mut(id).as_deref_mut()
    }

    fn slot_mut(&mut self, id: NodeId) -> &mut Option<Box<Node>> {
        let i = id.0 as usize;
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

/// Paths to nodes. aHash (keyed per process, so clients cannot pick
/// colliding paths) is several times faster than SipHash on paths.
#[derive(Debug)]
pub(super) struct PathMap {
    /// Picks the shard; independent of the shards' own hasher, so a shard's
    /// keys do not share the hash bits its table probes by.
    selector: ahash::RandomState,
    shards: Box<[Shard]>,
    slots: Slots,
}

impl Default for PathMap {
    fn default() -> Self {
        let hasher = ahash::RandomState::new();
        PathMap {
            selector: ahash::RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| HashMap::with_hasher(hasher.clone()))
                .collect(),
            slots: Slots::default(),
        }
    }
}

impl PathMap {
    fn shard_of(&self, path: &str) -> usize {
        self.selector.hash_one(path) as usize & (SHARDS - 1)
    }

    pub fn id(&self, path: &str) -> Option<NodeId> {
        self.shards[self.shard_of(path)].get(path).copied()
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.slots.get(self.id(path)?)
    }

    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        let id = self.id(path)?;
        self.slots.get_mut(id)
    }

    /// The node in slot `id` (see [`NodeId`] for how long an id is good).
    pub fn by_id(&self, id: NodeId) -> Option<&Node> {
        self.slots.get(id)
    }

    pub fn by_id_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.slots.get_mut(id)
    }

    pub fn contains_key(&self, path: &str) -> bool {
        self.id(path).is_some()
    }

    /// Adds the node at `path`, or replaces the one there in its slot (so
    /// its id stays good), returning the old one with its path.
    pub fn insert(
        &mut self,
        path: String,
        node: Box<Node>,
    ) -> (NodeId, Option<(String, Box<Node>)>) {
        let i = self.shard_of(&path);
        match self.shards[i].entry(path) {
            Entry::Occupied(e) => {
                let id = *e.get();
                let old = self.slots.slot_mut(id).replace(node);
                (id, old.map(|old| (e.key().clone(), old)))
            }
            Entry::Vacant(e) => {
                let id = self.slots.put(node);
                e.insert(id);
                (id, None)
            }
        }
    }

    pub fn remove(&mut self, path: &str) -> Option<Box<Node>> {
        let i = self.shard_of(path);
        let id = self.shards[i].remove(path)?;
        self.slots.take(id)
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
        self.shards.iter().flat_map(|s| {
            s.iter()
                .map(|(p, &id)| (p, self.slots.get(id).expect("a mapped slot holds its node")))
        })
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

    fn czxid(n: &Node) -> i64 {
        n.stat_persisted().czxid
    }

    #[test]
    fn finds_what_it_holds_across_shards() {
        let mut m = PathMap::default();
        for i in 0..1000 {
            let path = format!("/n{i}");
            assert!(m.insert(path.clone(), node(&path)).1.is_none());
        }
        assert_eq!(m.len(), 1000);
        assert!(
            m.shards.iter().all(|s| !s.is_empty()),
            "paths spread over every shard"
        );
        assert!((0..1000).all(|i| m.contains_key(&format!("/n{i}"))));
        assert!(m.remove("/n7").is_some());
        assert!(m.get("/n7").is_none() && m.get_mut("/n8").is_some());
        assert!(m.remove("/n7").is_none());
        assert_eq!(m.iter().count(), 999);
    }

    /// An id finds its node across growth of the slots (past one chunk)
    /// and other nodes coming and going; a replaced node keeps its slot; a
    /// freed slot is reused.
    #[test]
    fn ids_stay_with_their_nodes() {
        let mut m = PathMap::default();
        let mut ids = Vec::new();
        for i in 0..CHUNK as i64 + 10 {
            let mut n = node("/n");
            n.stat.czxid = i;
            let (id, old) = m.insert(format!("/n{i}"), n);
            assert!(old.is_none());
            ids.push(id);
        }
        for i in (0..ids.len()).step_by(3) {
            assert_eq!(
                czxid(m.remove(&format!("/n{i}")).unwrap().as_ref()),
                i as i64
            );
            assert!(m.by_id(ids[i]).is_none());
        }
        for (i, &id) in ids.iter().enumerate().filter(|(i, _)| i % 3 != 0) {
            assert_eq!(m.id(&format!("/n{i}")), Some(id));
            assert_eq!(czxid(m.by_id(id).unwrap()), i as i64);
        }

        let mut n = node("/n1");
        n.stat.czxid = -1;
        let (id, old) = m.insert("/n1".into(), n);
        let old = old.map(|(path, node)| (path, czxid(&node)));
        assert_eq!((id, old), (ids[1], Some(("/n1".to_owned(), 1))));
        assert_eq!(czxid(m.by_id(ids[1]).unwrap()), -1);

        let (reused, _) = m.insert("/again".into(), node("/again"));
        assert!(ids.iter().step_by(3).any(|&id| id == reused), "{reused:?}");
        assert_eq!(m.len(), ids.len() - ids.len().div_ceil(3) + 1);
    }
}
