//! The in-memory data tree (`server/DataTree.java`), sans-IO: the final stage
//! applies a txn ([`DataTree::apply`]) and gets back the result for the reply
//! plus the watch events to deliver; reads query nodes directly.
//!
//! Like ZooKeeper it keeps a hash map from full path to node, each node holding
//! the names of its children; ephemerals per session, containers and TTL nodes
//! are tracked for the session closer and the container reaper. The tree owns
//! the two watch tables. ACL lists are shared between nodes holding the same
//! list (`ReferenceCountedACLCache`).
//!
//! It also keeps the tree digest ZooKeeper 3.6+ writes into logs and
//! snapshots (`NodeHashMapImpl`): the wrapping sum of every node's term, the
//! old term taken out and the new one added on each change.
//!
//! Submodules: [`path`] (validation), [`acl`] (checks and fix-up),
//! [`acl_digest`] (the `digest` provider's ids),
//! `acl_cache` (the shared lists and their snapshot ids), [`node`],
//! [`digest`] (a node's term), [`watches`], `apply` (txn application),
//! `quota` (the stats of paths under quota), `restore` (snapshot loading).

pub mod acl;
mod acl_cache;
pub mod acl_digest;
mod apply;
pub mod digest;
#[cfg(test)]
mod digest_tests;
pub mod node;
pub mod path;
mod path_map;
mod quota;
#[cfg(test)]
mod quota_tests;
mod restore;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod watch_tests;
pub mod watches;
mod x500_name;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use compact_str::CompactString;

use crate::proto::data::{Acl, StatPersisted};
use acl_cache::AclCache;
pub use path_map::NodeId;
use path_map::PathMap;

pub use apply::{ApplyResult, TxnResult};
pub use node::{EphemeralType, Node, CONTAINER_EPHEMERAL_OWNER};
pub use restore::{NodeMaker, RestoreNode, Restorer};
pub use watches::{event_type, WatchEvent, WatchMode, WatchTable, WatcherType};

/// The tree of znodes with its watch tables.
#[derive(Debug)]
pub struct DataTree {
    /// Keyed by full path, in shards that grow one at a time. Nodes are
    /// boxed: the tables' slots stay small, and a snapshot loader builds
    /// nodes on another thread.
    nodes: PathMap,
    /// Session -> its ephemeral paths. As in Java a session's (possibly empty)
    /// set stays until its closeSession.
    ephemerals: HashMap<i64, BTreeSet<String>>,
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    /// The ACL lists nodes hold, with the ids a snapshot refers to them by.
    acl_cache: AclCache,
    data_watches: WatchTable,
    child_watches: WatchTable,
    last_processed_zxid: i64,
    extended_types_enabled: bool,
    /// `nodeDataSize`: UTF-16 path lengths plus data lengths.
    data_size: i64,
    /// `nodes.getDigest()`: the wrapping sum of [`Node::digest`] over all nodes.
    digest: i64,
    /// `digestLog`: (zxid, tree digest) after every whole txn whose zxid is a
    /// multiple of [`DIGEST_LOG_INTERVAL`], the last [`DIGEST_LOG_LIMIT`]
    /// of them (the `hash` four-letter word).
    digest_log: VecDeque<(i64, i64)>,
    /// No digest is logged for a zxid at or below this: replay inside a
    /// fuzzy snapshot compares digests instead (`compareSnapshotDigests`).
    digest_log_quiet_through: i64,
    /// Paths under quota (`pTrie`): each has a limits node under `/zookeeper/quota`.
    quota_paths: HashSet<String>,
}

/// `DataTree.DIGEST_LOG_INTERVAL`: 0x80, so servers' histories line up.
pub const DIGEST_LOG_INTERVAL: i64 = 128;

/// `DataTree.DIGEST_LOG_LIMIT`.
pub const DIGEST_LOG_LIMIT: usize = 1024;

/// What a session watches (`watches_for`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionWatches {
    pub data: Vec<String>,
    pub child: Vec<String>,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

fn java_len(s: &str) -> i64 {
    s.encode_utf16().count() as i64
}

impl DataTree {
    /// A fresh tree as a new standalone Apache ZooKeeper 3.8 shows it (DataTree
    /// constructor + `addConfigNode`): `/`, `/zookeeper`, `/zookeeper/quota`
    /// with empty data, all-zero stats and OPEN_ACL_UNSAFE, and
    /// `/zookeeper/config` with READ_ACL_UNSAFE and aversion -1 (set by
    /// `setACL(configZookeeper, READ_ACL_UNSAFE, -1)`). Clients then see
    /// cversion -1 on `/` and -2 on `/zookeeper` (stored 0, `0*2 - numChildren`).
    pub fn new() -> DataTree {
        DataTree::with_extended_types(false)
    }

    /// As [`DataTree::new`], with `zookeeper.extendedTypesEnabled` (TTL nodes) set.
    pub fn with_extended_types(extended_types_enabled: bool) -> DataTree {
        let mut t = DataTree {
            nodes: PathMap::default(),
            ephemerals: HashMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            acl_cache: AclCache::default(),
            data_watches: WatchTable::default(),
            child_watches: WatchTable::default(),
            last_processed_zxid: 0,
            extended_types_enabled,
            data_size: 0,
            digest: 0,
            digest_log: VecDeque::new(),
            digest_log_quiet_through: 0,
            quota_paths: HashSet::new(),
        };
        for path in ["/", "/zookeeper", "/zookeeper/quota"] {
            t.restore_node(
                path,
                Some(Vec::new()),
                &Acl::open_unsafe(),
                StatPersisted::default(),
            );
        }
        let config_stat = StatPersisted {
            aversion: -1,
            ..StatPersisted::default()
        };
        t.restore_node(
            "/zookeeper/config",
            Some(Vec::new()),
            &Acl::read_unsafe(),
            config_stat,
        );
        t
    }

    /// Whether TTL owners are recognised (`EphemeralType.extendedEphemeralTypesEnabled`).
    pub fn extended_types_enabled(&self) -> bool {
        self.extended_types_enabled
    }

    /// Java keeps the root under both "" and "/"; this tree only under "/".
    fn key(path: &str) -> &str {
        if path.is_empty() {
            "/"
        } else {
            path
        }
    }

    fn track_owner(&mut self, path: &str, kind: EphemeralType, owner: i64) {
        match kind {
            EphemeralType::Container => {
                self.containers.insert(path.to_owned());
            }
            EphemeralType::Ttl => {
                self.ttls.insert(path.to_owned());
            }
            EphemeralType::Normal => {
                self.ephemerals
                    .entry(owner)
                    .or_default()
                    .insert(path.to_owned());
            }
            EphemeralType::Void => {}
        }
    }

    fn untrack_owner(&mut self, path: &str, kind: EphemeralType, owner: i64) {
        match kind {
            EphemeralType::Container => {
                self.containers.remove(path);
            }
            EphemeralType::Ttl => {
                self.ttls.remove(path);
            }
            EphemeralType::Normal => {
                if let Some(set) = self.ephemerals.get_mut(&owner) {
                    set.remove(path);
                }
            }
            EphemeralType::Void => {}
        }
    }

    /// `aclCache.convertAcls`: the shared copy of an ACL list.
    fn intern_acl(&mut self, acl: &[Acl]) -> Arc<[Acl]> {
        self.acl_cache.intern(acl)
    }

    // ---- queries -------------------------------------------------------

    /// The node at `path` (`""` is the root, as in Java).
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(Self::key(path))
    }

    /// The node in slot `id`, as [`Node::children_after`] gives a child's
    /// (see [`NodeId`] for what an id read under an earlier lock hold finds).
    pub fn node_by_id(&self, id: NodeId) -> Option<&Node> {
        self.nodes.by_id(id)
    }

    /// Child names of `path`, in byte order; `None` when it does not exist.
    pub fn get_children(&self, path: &str) -> Option<Vec<String>> {
        self.node(path)
            .map(|n| n.children.keys().map(CompactString::to_string).collect())
    }

    /// `getEphemerals(sessionId)`, sorted.
    pub fn ephemerals(&self, session_id: i64) -> Vec<String> {
        self.ephemerals
            .get(&session_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The getEphemerals request (`FinalRequestProcessor`): all of the session's
    /// ephemerals when the prefix is empty or `/` after Java's `trim()`, else those
    /// whose path starts with `prefix` (a plain string prefix, untrimmed).
    pub fn ephemerals_with_prefix(&self, session_id: i64, prefix: &str) -> Vec<String> {
        let trimmed = prefix.trim_matches(|c: char| c <= ' ');
        let all = self.ephemerals.get(&session_id);
        let all = all.into_iter().flatten();
        if trimmed.is_empty() || trimmed == "/" {
            all.cloned().collect()
        } else {
            all.filter(|p| p.starts_with(prefix)).cloned().collect()
        }
    }

    /// `getSessions()`: sessions with an ephemeral set, sorted.
    pub fn sessions_with_ephemerals(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.ephemerals.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// `getEphemeralsCount()`.
    pub fn ephemerals_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }

    /// Container nodes (for the container reaper), sorted.
    pub fn containers(&self) -> Vec<String> {
        self.containers.iter().cloned().collect()
    }

    /// TTL nodes (for the container reaper), sorted.
    pub fn ttls(&self) -> Vec<String> {
        self.ttls.iter().cloned().collect()
    }

    /// `getAllChildrenNumber`: every descendant of `path`; `None` when it does
    /// not exist (FinalRequestProcessor answers NoNode).
    pub fn all_children_number(&self, path: &str) -> Option<i32> {
        let node = self.node(path)?;
        if Self::key(path) == "/" {
            // Java: nodes.size() - 2, culling "" and "/".
            return Some(self.nodes.len() as i32 - 1);
        }
        let mut count = 0i32;
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            for child in n.children.values().filter_map(|&id| self.nodes.by_id(id)) {
                count += 1;
                if !child.children.is_empty() {
                    stack.push(child);
                }
            }
        }
        Some(count)
    }

    /// The zxid of the last applied txn (`lastProcessedZxid`).
    pub fn last_processed_zxid(&self) -> i64 {
        self.last_processed_zxid
    }

    /// Sets the last processed zxid (after loading a snapshot).
    pub fn set_last_processed_zxid(&mut self, zxid: i64) {
        self.last_processed_zxid = zxid;
    }

    /// `getNodeCount()` as `srvr`/`mntr` report it: Java's map holds the root
    /// twice ("" and "/"), so a fresh tree counts 5.
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// `getTreeDigest()`: the digest of the tree as it is now.
    pub fn tree_digest(&self) -> i64 {
        self.digest
    }

    /// `logZxidDigest`: records the tree digest after the whole txn `zxid`
    /// when `zxid` is a multiple of [`DIGEST_LOG_INTERVAL`].
    fn log_digest(&mut self, zxid: i64) {
        if zxid % DIGEST_LOG_INTERVAL == 0 && zxid > self.digest_log_quiet_through {
            self.digest_log.push_back((zxid, self.digest));
            if self.digest_log.len() > DIGEST_LOG_LIMIT {
                self.digest_log.pop_front();
            }
        }
    }

    /// Logs no digest for txns up to `zxid` (that one included): recovery
    /// replays them over a fuzzy snapshot whose digest is of `zxid`.
    pub fn quiet_digest_log_through(&mut self, zxid: i64) {
        self.digest_log_quiet_through = zxid;
    }

    /// `getDigestLog()`: the logged (zxid, digest) pairs, oldest first.
    pub fn digest_log(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.digest_log.iter().copied()
    }

    /// The digest recomputed from every node (for checks; O(nodes)).
    pub fn compute_tree_digest(&self) -> i64 {
        self.nodes
            .iter()
            .map(|(p, n)| digest::digest_term(digest::digest_prefix(p, n.data()), &n.stat))
            .fold(0i64, i64::wrapping_add)
    }

    /// `cachedApproximateDataSize()` (`mntr` zk_approximate_data_size).
    pub fn approximate_data_size(&self) -> i64 {
        self.data_size
    }

    /// Every (path, node), in no particular order (for snapshots).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// How many ACL lists are cached: those nodes hold and, until the next
    /// [`snapshot_acl_map`](Self::snapshot_acl_map), those they held.
    #[cfg(test)]
    pub(crate) fn acl_list_count(&self) -> usize {
        self.acl_cache.iter().count()
    }

    /// The snapshot id of a list in use by some node.
    pub fn acl_id(&self, acl: &[Acl]) -> Option<i64> {
        self.acl_cache.id(acl)
    }

    /// The ACL map a snapshot starts with, sorted by id: lists no node holds
    /// any more are dropped first (`purgeUnused`). The copies it returns keep
    /// its lists, and their ids, in the cache while the snapshot is written.
    pub fn snapshot_acl_map(&mut self) -> Vec<(i64, Arc<[Acl]>)> {
        let dropped = self.acl_cache.purge_unused();
        if dropped > 0 {
            tracing::debug!(dropped, "ACL lists no node holds dropped");
        }
        let mut map: Vec<(i64, Arc<[Acl]>)> = self
            .acl_cache
            .iter()
            .map(|(id, a)| (id, a.clone()))
            .collect();
        map.sort_unstable_by_key(|(id, _)| *id);
        map
    }

    // ---- watches -------------------------------------------------------

    /// A one-shot data watch (getData, exists — also on a missing node).
    pub fn add_data_watch(&mut self, path: &str, session: i64) {
        self.data_watches.add(path, session, WatchMode::Standard);
    }

    /// A one-shot child watch (getChildren).
    pub fn add_child_watch(&mut self, path: &str, session: i64) {
        self.child_watches.add(path, session, WatchMode::Standard);
    }

    /// The addWatch request (`DataTree.addWatch`): a persistent or recursive
    /// watch in both tables.
    pub fn add_watch(&mut self, path: &str, session: i64, mode: WatchMode) {
        self.data_watches.add(path, session, mode);
        self.child_watches.add(path, session, mode);
    }

    /// `removeCnxn`: all watches of a session whose connection closed.
    pub fn remove_watcher(&mut self, session: i64) {
        self.data_watches.remove_session(session);
        self.child_watches.remove_session(session);
    }

    /// The removeWatches request (`DataTree.removeWatch`); false means NoWatcher.
    pub fn remove_watch(&mut self, path: &str, kind: WatcherType, session: i64) -> bool {
        match kind {
            WatcherType::Children => self.child_watches.remove(path, session),
            WatcherType::Data => self.data_watches.remove(path, session),
            WatcherType::Any => {
                let c = self.child_watches.remove(path, session);
                let d = self.data_watches.remove(path, session);
                c || d
            }
        }
    }

    /// The checkWatches request (`DataTree.containsWatcher`); false means
    /// NoWatcher. Mirrors 3.8: true when anyone watches the path in that table.
    pub fn contains_watch(&self, path: &str, kind: WatcherType) -> bool {
        match kind {
            WatcherType::Children => self.child_watches.contains_any(path),
            WatcherType::Data => self.data_watches.contains_any(path),
            WatcherType::Any => {
                self.child_watches.contains_any(path) || self.data_watches.contains_any(path)
            }
        }
    }

    pub fn has_data_watch(&self, path: &str, session: i64) -> bool {
        self.data_watches.contains(path, session)
    }

    pub fn has_child_watch(&self, path: &str, session: i64) -> bool {
        self.child_watches.contains(path, session)
    }

    /// The paths a session watches (`wchc`), sorted.
    pub fn watches_for(&self, session: i64) -> SessionWatches {
        SessionWatches {
            data: self.data_watches.paths_of(session),
            child: self.child_watches.paths_of(session),
        }
    }

    /// The data and child watch tables (`wchs`, `wchp`).
    pub fn watch_tables(&self) -> (&WatchTable, &WatchTable) {
        (&self.data_watches, &self.child_watches)
    }

    /// `getWatchCount()`: data plus child (path, watcher) pairs.
    pub fn watch_count(&self) -> usize {
        self.data_watches.len() + self.child_watches.len()
    }

    /// The setWatches request a reconnecting client sends (`DataTree.setWatches`):
    /// a watch whose condition already happened after `relative_zxid` fires at
    /// once (returned, ACL empty = unfiltered), the others are registered.
    #[allow(clippy::too_many_arguments)]
    pub fn set_watches(
        &mut self,
        relative_zxid: i64,
        data: &[String],
        exist: &[String],
        child: &[String],
        persistent: &[String],
        persistent_recursive: &[String],
        session: i64,
    ) -> Vec<WatchEvent> {
        let mut events = Vec::new();
        let mut fire = |event_type: i32, path: &str| {
            events.push(WatchEvent {
                watcher: session,
                event_type,
                path: path.to_owned(),
                acl: Arc::from(Vec::new()),
            })
        };
        for p in data {
            match self.nodes.get(Self::key(p)) {
                None => fire(event_type::NODE_DELETED, p),
                Some(n) if n.stat.mzxid > relative_zxid => fire(event_type::NODE_DATA_CHANGED, p),
                Some(_) => {
                    self.data_watches.add(p, session, WatchMode::Standard);
                }
            }
        }
        for p in exist {
            if self.nodes.contains_key(Self::key(p)) {
                fire(event_type::NODE_CREATED, p);
            } else {
                self.data_watches.add(p, session, WatchMode::Standard);
            }
        }
        for p in child {
            match self.nodes.get(Self::key(p)) {
                None => fire(event_type::NODE_DELETED, p),
                Some(n) if n.stat.pzxid > relative_zxid => {
                    fire(event_type::NODE_CHILDREN_CHANGED, p)
                }
                Some(_) => {
                    self.child_watches.add(p, session, WatchMode::Standard);
                }
            }
        }
        for p in persistent {
            self.add_watch(p, session, WatchMode::Persistent);
        }
        for p in persistent_recursive {
            self.add_watch(p, session, WatchMode::PersistentRecursive);
        }
        events
    }
}
