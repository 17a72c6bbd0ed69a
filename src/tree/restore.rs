//! Loading nodes from a snapshot (`DataTree.deserialize`): no stat or watch
//! changes, each node linked under its parent, which the snapshot lists first.
//!
//! The per-node work that needs no tree — the digest CRC over path and data,
//! the child name, the path's Java length — is done by [`RestoreNode::new`],
//! which a loader may run on another thread; a [`Restorer`] then only links
//! the node in: one hash lookup for the node, one per run of siblings.

use std::collections::hash_map::Entry;
use std::collections::BTreeSet;
use std::sync::Arc;

use super::digest::{digest_prefix, digest_term};
use super::{java_len, DataTree, EphemeralType, Node};
use crate::proto::data::{Acl, StatPersisted};

/// A node made ready for [`DataTree::restore`].
#[derive(Debug)]
pub struct RestoreNode {
    path: String,
    /// Index of the last '/' of `path`; `None` for a path without one.
    slash: Option<usize>,
    /// The name under its parent (what follows the last '/').
    name: String,
    data: Option<Vec<u8>>,
    stat: StatPersisted,
    digest_prefix: Option<u32>,
    /// The node's digest term ([`Node::digest`]).
    term: i64,
    java_len: i64,
}

impl RestoreNode {
    /// `path` is "/" for the root.
    pub fn new(path: String, data: Option<Vec<u8>>, stat: StatPersisted) -> RestoreNode {
        let slash = path.rfind('/');
        let name = match slash {
            Some(i) if path != "/" => path[i + 1..].to_owned(),
            _ => String::new(),
        };
        let prefix = digest_prefix(&path, data.as_deref());
        RestoreNode {
            digest_prefix: prefix,
            term: digest_term(prefix, &stat),
            java_len: java_len(&path),
            slash,
            name,
            data,
            stat,
            path,
        }
    }
}

impl DataTree {
    /// [`Restorer::restore`] for one node given by reference; false
    /// (nothing stored) when its parent does not exist.
    pub fn restore_node(
        &mut self,
        path: &str,
        data: Option<Vec<u8>>,
        acl: &[Acl],
        stat: StatPersisted,
    ) -> bool {
        let acl = self.intern_acl(acl);
        Restorer::new(self)
            .restore(RestoreNode::new(path.to_owned(), data, stat), acl)
            .is_ok()
    }
}

/// Links restored nodes into a tree. The names of a run of siblings (a
/// snapshot lists a node's children together) are held back and added to
/// their parent in one go, so the run costs one parent lookup; they are
/// linked at the latest when the restorer is dropped.
pub struct Restorer<'a> {
    tree: &'a mut DataTree,
    /// The parent whose child names are held back (it exists).
    parent: String,
    names: Vec<String>,
}

impl<'a> Restorer<'a> {
    pub fn new(tree: &'a mut DataTree) -> Restorer<'a> {
        Restorer {
            tree,
            parent: String::new(),
            names: Vec::new(),
        }
    }

    /// The tree's shared copy of an ACL list (`aclCache.convertAcls`): what
    /// [`restore`](Self::restore) takes, so a loader converts each of a
    /// snapshot's lists once rather than once per node.
    pub fn shared_acl(&mut self, acl: &[Acl]) -> Arc<[Acl]> {
        self.tree.intern_acl(acl)
    }

    /// Room for `additional` more nodes without growing the path map.
    pub fn reserve(&mut self, additional: usize) {
        self.tree.nodes.reserve(additional);
    }

    /// Stores a node (replacing one at the same path, whose children stay
    /// linked) and links it into its parent, tracking its owner. `acl` must
    /// come from [`shared_acl`](Self::shared_acl). Stores nothing when the node's
    /// parent does not exist: `Err` with the node's path.
    pub fn restore(&mut self, n: RestoreNode, acl: Arc<[Acl]>) -> Result<(), String> {
        if n.path != "/" {
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
            self.names.push(n.name);
        }
        let tree = &mut *self.tree;
        let kind = EphemeralType::of(n.stat.ephemeral_owner, tree.extended_types_enabled);
        let mut node = Node {
            digest_prefix: n.digest_prefix,
            data: n.data,
            acl,
            kind,
            stat: n.stat,
            children: BTreeSet::new(),
        };
        let owner = node.stat.ephemeral_owner;
        let tracked = (kind != EphemeralType::Void).then(|| n.path.clone());
        tree.digest = tree.digest.wrapping_add(n.term);
        tree.data_size += n.java_len + node.data.as_ref().map_or(0, |d| d.len() as i64);
        let replaced = match tree.nodes.entry(n.path) {
            Entry::Vacant(e) => {
                e.insert(node);
                None
            }
            Entry::Occupied(mut e) => {
                // Replacing (the root from a snapshot): keep the links to children.
                node.children = std::mem::take(&mut e.get_mut().children);
                Some((e.key().clone(), e.insert(node)))
            }
        };
        if let Some((path, old)) = replaced {
            tree.digest = tree.digest.wrapping_sub(old.digest());
            tree.data_size -= n.java_len + old.data.as_ref().map_or(0, |d| d.len() as i64);
            tree.untrack_owner(&path, old.kind, old.stat.ephemeral_owner);
        }
        if let Some(path) = tracked {
            tree.track_owner(&path, kind, owner);
        }
        Ok(())
    }

    /// Links the held-back names into their parent.
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
