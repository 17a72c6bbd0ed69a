//! Outstanding changes: the state prep has promised but final has not applied yet.
//!
//! Prep validates each write against the tree *plus* these records, so a
//! pipelined create-then-delete sees the create (as `outstandingChanges` in
//! `PrepRequestProcessor`). Final reports each applied zxid; records at or
//! below it are dropped because the tree now says the same.

use std::collections::{HashMap, VecDeque};

use crate::proto::data::{Acl, StatPersisted};

use crate::proto::error_code::ErrorCode;
use crate::tree::digest::digest_term;
use crate::tree::DataTree;

/// What prep knows of one path after all txns it has issued so far.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    /// The zxid of the txn that produced this view.
    pub zxid: i64,
    /// `None` when the path is being deleted.
    pub stat: Option<StatPersisted>,
    pub child_count: i32,
    pub acl: Vec<Acl>,
    /// The CRC32 of path and data the node's digest term starts from
    /// (`ChangeRecord.precalculatedDigest` in Java keeps the whole term).
    pub digest_prefix: Option<u32>,
    /// Bytes of data (`ChangeRecord.data`'s length: setData's quota check).
    pub data_len: i64,
}

impl ChangeRecord {
    /// This view's term of the tree digest; 0 for a deleted node.
    pub fn digest(&self) -> i64 {
        self.stat
            .as_ref()
            .map_or(0, |s| digest_term(self.digest_prefix, s))
    }
}

/// The outstanding changes, by path, and in zxid order for dropping them.
#[derive(Debug, Default)]
pub struct ChangeRecords {
    by_path: HashMap<String, ChangeRecord>,
    /// (zxid, path) of every `put`, oldest first (`zks.outstandingChanges`).
    order: VecDeque<(i64, String)>,
}

impl ChangeRecords {
    /// The latest view of `path`: the outstanding change, else the tree; NoNode when absent.
    pub fn get(&self, tree: &DataTree, path: &str) -> Result<ChangeRecord, ErrorCode> {
        let record = match self.by_path.get(path) {
            Some(r) => r.clone(),
            None => {
                let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
                // The raw stat: cversion counts creates (sequential names use it).
                ChangeRecord {
                    zxid: -1,
                    stat: Some(*node.stat_persisted()),
                    child_count: node.num_children(),
                    acl: node.acl().to_vec(),
                    digest_prefix: node.digest_prefix(),
                    data_len: node.data().map_or(0, |d| d.len() as i64),
                }
            }
        };
        if record.stat.is_none() {
            return Err(ErrorCode::NoNode);
        }
        Ok(record)
    }

    /// The raw outstanding record of a path, if any.
    pub fn outstanding(&self, path: &str) -> Option<&ChangeRecord> {
        self.by_path.get(path)
    }

    /// Records a promised change; returns what it replaced (for multi rollback).
    pub fn put(&mut self, path: &str, record: ChangeRecord) -> Option<ChangeRecord> {
        self.order.push_back((record.zxid, path.to_owned()));
        self.by_path.insert(path.to_owned(), record)
    }

    /// Puts back what `put` replaced.
    pub fn restore(&mut self, path: &str, previous: Option<ChangeRecord>) {
        match previous {
            Some(r) => {
                self.by_path.insert(path.to_owned(), r);
            }
            None => {
                self.by_path.remove(path);
            }
        }
    }

    /// Drops records that the tree has caught up with: oldest first, and a
    /// path's record only if no newer change replaced it. Cost is the number
    /// of records dropped, never the size of the map.
    pub fn applied(&mut self, zxid: i64) {
        while let Some((z, _)) = self.order.front() {
            if *z > zxid {
                break;
            }
            let (z, path) = self.order.pop_front().expect("front exists");
            if self.by_path.get(&path).is_some_and(|r| r.zxid == z) {
                self.by_path.remove(&path);
            }
        }
    }

    /// Every outstanding record (for closeSession's ephemeral list).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ChangeRecord)> {
        self.by_path.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(zxid: i64) -> ChangeRecord {
        ChangeRecord {
            zxid,
            stat: None,
            child_count: 0,
            acl: Vec::new(),
            digest_prefix: None,
            data_len: 0,
        }
    }

    #[test]
    fn applied_drops_only_caught_up_records() {
        let mut c = ChangeRecords::default();
        c.put("/a", record(1));
        c.put("/b", record(2));
        c.put("/a", record(3));
        c.applied(1);
        assert_eq!(
            c.outstanding("/a").map(|r| r.zxid),
            Some(3),
            "newer change kept"
        );
        c.applied(2);
        assert!(c.outstanding("/b").is_none());
        c.applied(3);
        assert!(c.is_empty());
    }

    #[test]
    fn restored_records_are_dropped_too() {
        let mut c = ChangeRecords::default();
        let prev = c.put("/a", record(5));
        c.restore("/a", prev);
        c.put("/b", record(6));
        c.applied(6);
        assert!(c.is_empty());
    }
}
