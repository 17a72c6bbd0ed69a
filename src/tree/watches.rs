//! Watch tables (`server/watch/WatchManager.java`, `WatcherModeManager.java`),
//! one for data watches and one for child watches, both owned by the data tree.
//!
//! A watcher is a session id (a session has at most one connection). Each
//! (session, path) holds one mode: standard (one-shot), persistent or
//! persistent-recursive; adding a watch replaces the mode, as
//! `WatcherModeManager.setWatcherMode` does. A trigger returns the watchers in
//! registration order, each once, so tests and replays are deterministic
//! (Java iterates a HashSet).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::proto::data::Acl;

pub use crate::proto::watches::event_type;

/// One notification for one session.
///
/// `acl` is the ACL of the node the event is about (the parent's for
/// NodeChildrenChanged; empty for events `set_watches` produces). Since
/// ZooKeeper 3.8.4 (CVE-2024-23944, also in Debian's 3.8.0 build) the
/// connection delivers an event only if `check_acl(&acl, READ, session_auth)`
/// (`NIOServerCnxn.process(WatchedEvent, List<ACL>)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    pub watcher: i64,
    pub event_type: i32,
    pub path: String,
    pub acl: Arc<[Acl]>,
}

/// `WatcherMode`: how a watch behaves once triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchMode {
    /// One-shot: removed when it fires.
    Standard,
    /// `AddWatchMode.PERSISTENT` (0): stays; fires for the path only.
    Persistent,
    /// `AddWatchMode.PERSISTENT_RECURSIVE` (1): stays; fires for the path and
    /// every descendant, never with NodeChildrenChanged.
    PersistentRecursive,
}

impl WatchMode {
    /// The mode of an `AddWatchRequest.mode` value.
    pub fn from_add_watch_mode(mode: i32) -> Option<WatchMode> {
        match mode {
            0 => Some(WatchMode::Persistent),
            1 => Some(WatchMode::PersistentRecursive),
            _ => None,
        }
    }

    fn is_recursive(self) -> bool {
        self == WatchMode::PersistentRecursive
    }
}

/// `Watcher.WatcherType` for removeWatches / checkWatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatcherType {
    Children = 1,
    Data = 2,
    Any = 3,
}

impl WatcherType {
    pub fn from_i32(v: i32) -> Option<WatcherType> {
        match v {
            1 => Some(WatcherType::Children),
            2 => Some(WatcherType::Data),
            3 => Some(WatcherType::Any),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: u64,
    mode: WatchMode,
}

/// One watch table (`WatchManager`): path -> watchers and watcher -> paths.
#[derive(Debug, Default)]
pub struct WatchTable {
    by_path: HashMap<String, HashMap<i64, Entry>>,
    /// As `watch2Paths`, a session keeps its (possibly empty) set until
    /// `remove_session`; `wchs` counts such sessions too.
    by_session: HashMap<i64, HashSet<String>>,
    recursive: usize,
    next_seq: u64,
}

impl WatchTable {
    /// `addWatch(path, watcher, mode)`; true if the session did not watch the path yet.
    pub fn add(&mut self, path: &str, session: i64, mode: WatchMode) -> bool {
        let watchers = self.by_path.entry(path.to_owned()).or_default();
        match watchers.get_mut(&session) {
            Some(e) => {
                if e.mode.is_recursive() != mode.is_recursive() {
                    if mode.is_recursive() {
                        self.recursive += 1;
                    } else {
                        self.recursive -= 1;
                    }
                }
                e.mode = mode;
            }
            None => {
                self.next_seq += 1;
                watchers.insert(
                    session,
                    Entry {
                        seq: self.next_seq,
                        mode,
                    },
                );
                if mode.is_recursive() {
                    self.recursive += 1;
                }
            }
        }
        self.by_session
            .entry(session)
            .or_default()
            .insert(path.to_owned())
    }

    /// `removeWatcher(watcher)`: every watch of a closed connection.
    pub fn remove_session(&mut self, session: i64) {
        let Some(paths) = self.by_session.remove(&session) else {
            return;
        };
        for p in paths {
            self.remove_entry(&p, session);
        }
    }

    fn remove_entry(&mut self, path: &str, session: i64) -> bool {
        let Some(watchers) = self.by_path.get_mut(path) else {
            return false;
        };
        let Some(e) = watchers.remove(&session) else {
            return false;
        };
        if e.mode.is_recursive() {
            self.recursive -= 1;
        }
        if watchers.is_empty() {
            self.by_path.remove(path);
        }
        true
    }

    /// `removeWatcher(path, watcher)`: one watch (removeWatches request).
    pub fn remove(&mut self, path: &str, session: i64) -> bool {
        let removed = self
            .by_session
            .get_mut(&session)
            .is_some_and(|paths| paths.remove(path));
        removed && self.remove_entry(path, session)
    }

    /// `containsWatcher(path, watcher)` as ZooKeeper 3.8 implements it: true when
    /// *any* session watches `path` in this table (the watcher argument only
    /// matters for recursive modes, which imply a watch at the path anyway).
    /// ZooKeeper 3.9 checks the given watcher; 3.8 is the reference here.
    pub fn contains_any(&self, path: &str) -> bool {
        self.by_path.contains_key(path)
    }

    /// Does `session` watch `path` here (any mode)?
    pub fn contains(&self, path: &str, session: i64) -> bool {
        self.by_path
            .get(path)
            .is_some_and(|w| w.contains_key(&session))
    }

    /// The mode of `session`'s watch on `path`.
    pub fn mode(&self, path: &str, session: i64) -> Option<WatchMode> {
        self.by_path.get(path)?.get(&session).map(|e| e.mode)
    }

    /// `triggerWatch(path, type)`: the watchers to notify, in registration order.
    /// One-shot watches on `path` are removed; recursive watches on `path` and
    /// its ancestors fire for every type except NodeChildrenChanged.
    pub fn trigger(&mut self, path: &str, event_type: i32) -> Vec<i64> {
        if self.recursive == 0 && !self.by_path.contains_key(path) {
            // The common case on the write path: nobody watches.
            return Vec::new();
        }
        let mut found: Vec<(u64, i64)> = Vec::new();
        let mut local = path.to_owned();
        let mut at_parent = false;
        loop {
            if let Some(watchers) = self.by_path.get_mut(&local) {
                let mut fired_once = Vec::new();
                for (&session, e) in watchers.iter() {
                    if e.mode.is_recursive() {
                        if event_type != event_type::NODE_CHILDREN_CHANGED {
                            found.push((e.seq, session));
                        }
                    } else if !at_parent {
                        found.push((e.seq, session));
                        if e.mode == WatchMode::Standard {
                            fired_once.push(session);
                        }
                    }
                }
                for session in fired_once {
                    watchers.remove(&session);
                    if let Some(paths) = self.by_session.get_mut(&session) {
                        paths.remove(&local);
                    }
                }
                if watchers.is_empty() {
                    self.by_path.remove(&local);
                }
            }
            // `PathParentIterator.forPathOnly` unless a recursive watch exists.
            if self.recursive == 0 || local == "/" || local.is_empty() {
                break;
            }
            match local.rfind('/') {
                Some(0) => local.truncate(1),
                Some(i) => local.truncate(i),
                None => break,
            }
            at_parent = true;
        }
        found.sort_unstable();
        let mut seen = HashSet::with_capacity(found.len());
        found
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| seen.insert(*s))
            .collect()
    }

    /// The paths `session` watches here, sorted.
    pub fn paths_of(&self, session: i64) -> Vec<String> {
        let mut v: Vec<String> = self
            .by_session
            .get(&session)
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// Every watched path with its watchers in registration order, sorted by path (`wchp`).
    pub fn by_path(&self) -> Vec<(String, Vec<i64>)> {
        let mut v: Vec<(String, Vec<i64>)> = self
            .by_path
            .iter()
            .map(|(p, w)| {
                let mut ws: Vec<(u64, i64)> = w.iter().map(|(s, e)| (e.seq, *s)).collect();
                ws.sort_unstable();
                (p.clone(), ws.into_iter().map(|(_, s)| s).collect())
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// `size()`: the number of (path, watcher) pairs.
    pub fn len(&self) -> usize {
        self.by_path.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// (connections, paths, total watches) as `getWatchesSummary` (`wchs`).
    pub fn summary(&self) -> (usize, usize, usize) {
        let total = self.by_session.values().map(HashSet::len).sum();
        (self.by_session.len(), self.by_path.len(), total)
    }
}

#[cfg(test)]
mod tests {
    use super::event_type::*;
    use super::*;

    #[test]
    fn standard_watches_are_one_shot_and_ordered() {
        let mut t = WatchTable::default();
        assert!(t.add("/a", 30, WatchMode::Standard));
        assert!(t.add("/a", 10, WatchMode::Standard));
        assert!(t.add("/a", 20, WatchMode::Standard));
        assert!(!t.add("/a", 10, WatchMode::Standard));
        assert_eq!(t.len(), 3);
        assert_eq!(t.trigger("/a", NODE_DATA_CHANGED), vec![30, 10, 20]);
        assert!(t.is_empty());
        assert_eq!(t.trigger("/a", NODE_DATA_CHANGED), Vec::<i64>::new());
        // Sessions keep an empty path set, as watch2Paths does.
        assert_eq!(t.summary(), (3, 0, 0));
    }

    #[test]
    fn parent_watches_do_not_fire_without_recursive() {
        let mut t = WatchTable::default();
        t.add("/a", 1, WatchMode::Standard);
        assert!(t.trigger("/a/b", NODE_CREATED).is_empty());
        assert!(t.contains("/a", 1));
    }

    #[test]
    fn persistent_and_recursive() {
        let mut t = WatchTable::default();
        t.add("/a", 1, WatchMode::Persistent);
        t.add("/", 2, WatchMode::PersistentRecursive);
        t.add("/a/b", 3, WatchMode::Standard);
        assert_eq!(t.trigger("/a/b", NODE_CREATED), vec![2, 3]);
        assert_eq!(t.trigger("/a/b", NODE_CREATED), vec![2]);
        assert_eq!(t.trigger("/a", NODE_DATA_CHANGED), vec![1, 2]);
        // Recursive watches ignore NodeChildrenChanged; persistent ones do not.
        assert_eq!(t.trigger("/a", NODE_CHILDREN_CHANGED), vec![1]);
        // A standard add replaces the mode: the next trigger consumes it.
        t.add("/a", 1, WatchMode::Standard);
        assert_eq!(t.trigger("/a", NODE_DATA_CHANGED), vec![1, 2]);
        assert!(!t.contains("/a", 1));
        t.add("/", 2, WatchMode::Standard);
        assert_eq!(t.recursive, 0);
        assert!(t.trigger("/a/b", NODE_CREATED).is_empty());
    }

    #[test]
    fn remove_and_contains() {
        let mut t = WatchTable::default();
        t.add("/a", 1, WatchMode::Standard);
        t.add("/b", 1, WatchMode::PersistentRecursive);
        t.add("/a", 2, WatchMode::Standard);
        assert!(t.contains_any("/a"));
        assert!(!t.contains("/b", 2));
        assert_eq!(t.paths_of(1), vec!["/a".to_string(), "/b".to_string()]);
        assert_eq!(t.by_path()[0], ("/a".to_string(), vec![1, 2]));
        assert!(t.remove("/a", 2));
        assert!(!t.remove("/a", 2));
        t.remove_session(1);
        assert!(t.is_empty());
        assert_eq!(t.recursive, 0);
        assert_eq!(t.summary(), (1, 0, 0));
    }
}
