//! Loading nodes from a snapshot (`DataTree.deserialize`): no stat or watch
//! changes, each node linked under its parent, which the snapshot lists first.
//!
//! The work is split so a loader can run the two halves on two threads: a
//! [`NodeMaker`] builds each node whole — ACL conversion, digest CRC, sizes —
//! without the tree, and a [`Restorer`] only links it in (one hash lookup for
//! the node, one per run of siblings).

use std::sync::Arc;

use compact_str::CompactString;

use super::path_map::NodeId;
use super::{java_len, AclCache, DataTree, EphemeralType, Node};
use crate::proto::data::{Acl, StatPersisted};

/// A node made ready for [`Restorer::restore`].
#[derive(Debug)]
pub struct RestoreNode {
    path: String,
    /// Index of the last '/' of `path`; `None` for a path without one.
    slash: Option<usize>,
    node: Box<Node>,
    /// The node's digest term ([`Node::digest`]).
    term: i64,
    /// What the node adds to the tree's approximate data size.
    size: i64,
    kind: EphemeralType,
    owner: i64,
}

/// Builds [`RestoreNode`]s. It holds the tree's ACL cache meanwhile (taken by
/// [`DataTree::node_maker`], returned by [`give_back`](Self::give_back)), so
/// lists are converted, and numbered, in the order the nodes use them.
#[derive(Debug)]
pub struct NodeMaker {
    acl_cache: AclCache,
    extended_types_enabled: bool,
}

impl NodeMaker {
    /// The tree's shared copy of an ACL list (`aclCache.convertAcls`).
    pub fn shared_acl(&mut self, acl: &[Acl]) -> Arc<[Acl]> {
        self.acl_cache.intern(acl)
    }

    /// The node at `path` ("/" for the root); `acl` from [`shared_acl`](Self::shared_acl).
    pub fn make(
        &self,
        path: String,
        data: Option<Vec<u8>>,
        acl: Arc<[Acl]>,
        stat: StatPersisted,
    ) -> RestoreNode {
        let slash = path.rfind('/');
        let size = java_len(&path) + data.as_ref().map_or(0, |d| d.len() as i64);
        let node = Box::new(Node::new(
            &path,
            data,
            acl,
            stat,
            self.extended_types_enabled,
        ));
        RestoreNode {
            term: node.digest(),
            kind: node.kind,
            owner: node.stat.ephemeral_owner,
            size,
            slash,
            node,
            path,
        }
    }

    /// Returns the ACL cache to `tree`, which must be the one it came from.
    pub fn give_back(self, tree: &mut DataTree) {
        debug_assert!(tree.acl_cache.is_empty(), "ACL cache given back twice");
        tree.acl_cache = self.acl_cache;
    }
}

impl DataTree {
    /// Lends the ACL cache to a [`NodeMaker`] until its `give_back`.
    pub fn node_maker(&mut self) -> NodeMaker {
        NodeMaker {
            acl_cache: std::mem::take(&mut self.acl_cache),
            extended_types_enabled: self.extended_types_enabled,
        }
    }

    /// [`Restorer::restore`] for one node given by reference; false
    /// (nothing stored) when its parent does not exist.
    pub fn restore_node(
        &mut self,
        path: &str,
        data: Option<Vec<u8>>,
        acl: &[Acl],
        stat: StatPersisted,
    ) -> bool {
        let mut maker = self.node_maker();
        let acl = maker.shared_acl(acl);
        let n = maker.make(path.to_owned(), data, acl, stat);
        maker.give_back(self);
        Restorer::new(self).restore(n).is_ok()
    }
}

/// Links restored nodes into a tree. The names of a run of siblings (a
/// snapshot lists a node's children together) are held back and added to
/// their parent in one go, so the run costs one parent lookup; they are
/// linked at the latest when the restorer is dropped.
pub struct Restorer<'a> {
    tree: &'a mut DataTree,
    /// The parent whose children are held back (it exists).
    parent: String,
    names: Vec<(CompactString, NodeId)>,
}

impl<'a> Restorer<'a> {
    pub fn new(tree: &'a mut DataTree) -> Restorer<'a> {
        Restorer {
            tree,
            parent: String::new(),
            names: Vec::new(),
        }
    }

    /// Room for `additional` more nodes without growing the path map.
    pub fn reserve(&mut self, additional: usize) {
        self.tree.nodes.reserve(additional);
    }

    /// Stores a node (replacing one at the same path, whose children stay
    /// linked) and links it into its parent, tracking its owner. Stores
    /// nothing when the node's parent does not exist: `Err` with its path.
    pub fn restore(&mut self, n: RestoreNode) -> Result<(), String> {
        let name = if n.path == "/" {
            None
        } else {
            let parent = match n.slash {
                Some(0) => "/",
                Some(i) => &n.path[..i],
                None => return Err(n.path),
            };
            if parent != self.parent {
                self.flush();
                if !self.tree.nodes.contains_key(parent) {
                    return Err(n.path);
                }
                parent.clone_into(&mut self.parent);
            }
            let slash = n.slash.expect("checked above");
            Some(CompactString::from(&n.path[slash + 1..]))
        };
        let tree = &mut *self.tree;
        let node = n.node;
        let tracked = (n.kind != EphemeralType::Void).then(|| n.path.clone());
        tree.digest = tree.digest.wrapping_add(n.term);
        tree.data_size += n.size;
        let (id, replaced) = tree.nodes.insert(n.path, node);
        if let Some((path, mut old)) = replaced {
            // Replacing (the root from a snapshot): keep the links to children.
            let new = tree.nodes.by_id_mut(id).expect("just stored");
            new.children = std::mem::take(&mut old.children);
            tree.digest = tree.digest.wrapping_sub(old.digest());
            tree.data_size -= java_len(&path) + old.data.as_ref().map_or(0, |d| d.len() as i64);
            tree.untrack_owner(&path, old.kind, old.stat.ephemeral_owner);
        }
        if let Some(path) = tracked {
            tree.track_owner(&path, n.kind, n.owner);
        }
        if let Some(name) = name {
            self.names.push((name, id));
        }
        Ok(())
    }

    /// Links the held-back children into their parent.
    fn flush(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let names = self.names.drain(..);
        let parent = self.tree.nodes.get_mut(&self.parent);
        let children = &mut parent.expect("held-back parent exists").children;
        if children.is_empty() {
            // Built in bulk (sorted once; snapshots we write are sorted already).
            *children = names.collect();
        } else {
            children.extend(names);
        }
    }
}

impl Drop for Restorer<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}
