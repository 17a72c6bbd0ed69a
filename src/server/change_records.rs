//! Outstanding changes: the state prep has promised but final has not applied yet.
//!
//! Prep validates each write against the tree *plus* these records, so a
//! pipelined create-then-delete sees the create (as `outstandingChanges` in
//! `PrepRequestProcessor`). Final reports each applied zxid; records at or
//! below it are dropped because the tree now says the same.

use std::collections::HashMap;

use crate::proto::data::{Acl, StatPersisted};

use crate::proto::error_code::ErrorCode;
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
}

/// The outstanding changes, by path.
#[derive(Debug, Default)]
pub struct ChangeRecords {
    by_path: HashMap<String, ChangeRecord>,
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

    /// Drops records that the tree has caught up with.
    pub fn applied(&mut self, zxid: i64) {
        self.by_path.retain(|_, r| r.zxid > zxid);
    }

    /// Every outstanding record (for closeSession's ephemeral list).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ChangeRecord)> {
        self.by_path.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}
