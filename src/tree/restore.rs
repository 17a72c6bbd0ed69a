//! Loading nodes from a snapshot (`DataTree.deserialize`): no stat or watch
//! changes, each node linked under its parent, which the snapshot lists first.
//!
//! The per-node work that needs no tree — the digest CRC over path and data,
//! the child name, the path's Java length — is done by [`RestoreNode::new`],
//! which a loader may run on another thread; [`DataTree::restore`] then only
//! links the node in, with one hash lookup for the parent and one for the node.

use std::collections::hash_map::Entry;
use std::collections::BTreeSet;
use std::sync::Arc;

use super::digest::digest_prefix;
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
        RestoreNode {
            digest_prefix: digest_prefix(&path, data.as_deref()),
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
    /// The tree's shared copy of an ACL list (`aclCache.convertAcls`): what
    /// [`restore`](Self::restore) takes, so a loader converts each of a
    /// snapshot's lists once rather than once per node.
    pub fn shared_acl(&mut self, acl: &[Acl]) -> Arc<[Acl]> {
        self.intern_acl(acl)
    }

    /// Room for `additional` more nodes without growing the path map.
    pub fn reserve(&mut self, additional: usize) {
        self.nodes.reserve(additional);
    }

    /// Stores a node (replacing one at the same path, whose children stay
    /// linked) and links it into its parent, tracking its owner. `acl` must
    /// come from [`shared_acl`](Self::shared_acl). Stores nothing when the
    /// node's parent does not exist: `Err` with the node's path.
    pub fn restore(&mut self, n: RestoreNode, acl: Arc<[Acl]>) -> Result<(), String> {
        if n.path != "/" {
            let parent = match n.slash {
                Some(0) => "/",
                Some(i) => &n.path[..i],
                None => return Err(n.path),
            };
            match self.nodes.get_mut(parent) {
                Some(p) => {
                    p.children.insert(n.name);
                }
                None => return Err(n.path),
            }
        }
        let kind = EphemeralType::of(n.stat.ephemeral_owner, self.extended_types_enabled);
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
        self.digest = self.digest.wrapping_add(node.digest());
        self.data_size += n.java_len + node.data.as_ref().map_or(0, |d| d.len() as i64);
        let replaced = match self.nodes.entry(n.path) {
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
            self.digest = self.digest.wrapping_sub(old.digest());
            self.data_size -= n.java_len + old.data.as_ref().map_or(0, |d| d.len() as i64);
            self.untrack_owner(&path, old.kind, old.stat.ephemeral_owner);
        }
        if let Some(path) = tracked {
            self.track_owner(&path, kind, owner);
        }
        Ok(())
    }

    /// [`restore`](Self::restore) for one node given by reference; false
    /// (nothing stored) when its parent does not exist.
    pub fn restore_node(
        &mut self,
        path: &str,
        data: Option<Vec<u8>>,
        acl: &[Acl],
        stat: StatPersisted,
    ) -> bool {
        let acl = self.intern_acl(acl);
        self.restore(RestoreNode::new(path.to_owned(), data, stat), acl)
            .is_ok()
    }
}
