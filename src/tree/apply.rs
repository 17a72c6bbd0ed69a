//! Applying a txn to the tree (`DataTree.processTxn` and the node operations
//! it calls: `createNode`, `deleteNode`, `setData`, `setACL`, `killSession`).
//!
//! Application never fails as a whole: a txn that does not fit the tree (a
//! replayed create of an existing node, a delete of a missing one) reports the
//! error ZooKeeper reports in `ProcessTxnResult.err` and changes what Java
//! changes up to that point, which is what makes replay after a fuzzy
//! snapshot idempotent.

use std::collections::HashSet;
use std::sync::Arc;

use super::node::{create_stat, EphemeralType, Node, CONTAINER_EPHEMERAL_OWNER};
use super::watches::{event_type, WatchEvent};
use super::DataTree;
use crate::proto::data::{Acl, Stat};
use crate::proto::error_code::ErrorCode;
use crate::proto::opcode::OpCode;
use crate::txn::{Txn, TxnBody, TxnHeader};

/// `ProcessTxnResult`: what the final stage needs to build the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnResult {
    /// The txn type (the header's; for a multi's parts the part's, -1 when it
    /// was turned into an error txn).
    pub op_type: i32,
    /// An `ErrorCode` value; for a multi the first non-zero part error.
    pub err: i32,
    /// The path the txn named; empty where Java leaves it null (multi, error,
    /// session txns).
    pub path: String,
    /// Set for create2/createContainer/createTTL, setData and setACL when they succeed.
    pub stat: Option<Stat>,
    /// A multi's part results, in order.
    pub multi: Vec<TxnResult>,
}

impl TxnResult {
    fn new(op_type: i32) -> TxnResult {
        TxnResult {
            op_type,
            err: 0,
            path: String::new(),
            stat: None,
            multi: Vec::new(),
        }
    }
}

/// The result of [`DataTree::apply`] and the notifications it triggered, in
/// ZooKeeper's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyResult {
    pub result: TxnResult,
    pub events: Vec<WatchEvent>,
}

/// (parent key, child name) of a path; the root's key is "/" (Java's "").
fn split(path: &str) -> Option<(&str, &str)> {
    let i = path.rfind('/')?;
    let parent = if i == 0 { "/" } else { &path[..i] };
    Some((parent, &path[i + 1..]))
}

fn notify(
    events: &mut Vec<WatchEvent>,
    watchers: &[i64],
    skip: Option<&HashSet<i64>>,
    ty: i32,
    path: &str,
    acl: &Arc<[Acl]>,
) {
    for &w in watchers {
        if skip.is_some_and(|s| s.contains(&w)) {
            continue;
        }
        events.push(WatchEvent {
            watcher: w,
            event_type: ty,
            path: path.to_owned(),
            acl: acl.clone(),
        });
    }
}

impl DataTree {
    /// `processTxn(header, txn)`: applies the txn, advances `last_processed_zxid`
    /// and returns the result with the watch events it triggered.
    pub fn apply(&mut self, txn: &Txn) -> ApplyResult {
        let mut events = Vec::new();
        let result = self.process(
            &txn.header,
            txn.header.op_type,
            &txn.body,
            false,
            &mut events,
        );
        ApplyResult { result, events }
    }

    fn process(
        &mut self,
        hdr: &TxnHeader,
        op_type: i32,
        body: &TxnBody,
        is_sub: bool,
        ev: &mut Vec<WatchEvent>,
    ) -> TxnResult {
        let mut rc = TxnResult::new(op_type);
        let (zxid, time) = (hdr.zxid, hdr.time);
        let outcome: Result<(), ErrorCode> = match body {
            TxnBody::Create(t) | TxnBody::Create2(t) => {
                rc.path = t.path.clone();
                let owner = if t.ephemeral { hdr.client_id } else { 0 };
                self.create_node(
                    &t.path,
                    &t.data,
                    &t.acl,
                    owner,
                    t.parent_cversion,
                    zxid,
                    time,
                    ev,
                )
                .map(|stat| {
                    // Only create2 reports a stat (processTxn passes null for create).
                    if matches!(body, TxnBody::Create2(_)) {
                        rc.stat = Some(stat);
                    }
                })
            }
            TxnBody::CreateTtl(t) => {
                rc.path = t.path.clone();
                // Java throws an unchecked IllegalArgumentException for a TTL out
                // of range; prep never produces one. BadArguments here.
                match EphemeralType::ttl_owner(t.ttl) {
                    Some(owner) => self
                        .create_node(
                            &t.path,
                            &t.data,
                            &t.acl,
                            owner,
                            t.parent_cversion,
                            zxid,
                            time,
                            ev,
                        )
                        .map(|stat| rc.stat = Some(stat)),
                    None => Err(ErrorCode::BadArguments),
                }
            }
            TxnBody::CreateContainer(t) => {
                rc.path = t.path.clone();
                self.create_node(
                    &t.path,
                    &t.data,
                    &t.acl,
                    CONTAINER_EPHEMERAL_OWNER,
                    t.parent_cversion,
                    zxid,
                    time,
                    ev,
                )
                .map(|stat| rc.stat = Some(stat))
            }
            TxnBody::Delete(t) | TxnBody::DeleteContainer(t) => {
                rc.path = t.path.clone();
                self.delete_node(&t.path, zxid, ev)
            }
            TxnBody::SetData(t) => {
                rc.path = t.path.clone();
                self.set_data(&t.path, &t.data, t.version, zxid, time, ev)
                    .map(|stat| rc.stat = Some(stat))
            }
            TxnBody::SetAcl(t) => {
                rc.path = t.path.clone();
                self.set_acl(&t.path, &t.acl, t.version)
                    .map(|stat| rc.stat = Some(stat))
            }
            TxnBody::CloseSession(t) => {
                self.kill_session(hdr.client_id, zxid, &t.paths_to_delete, ev);
                Ok(())
            }
            TxnBody::CreateSession(_) => Ok(()),
            TxnBody::Error(e) => {
                rc.err = e.err;
                Ok(())
            }
            TxnBody::Check(t) => {
                rc.path = t.path.clone();
                Ok(())
            }
            TxnBody::Multi(parts) => {
                self.multi(hdr, parts, &mut rc, ev);
                Ok(())
            }
        };
        if let Err(e) = outcome {
            rc.err = e.code();
        }
        // A replayed create whose node exists (deleted by a closeSession and
        // re-created by another session inside the fuzzy snapshot range) still
        // moves the parent's cversion/pzxid forward (processTxn, after the switch).
        if op_type == OpCode::Create as i32 && rc.err == ErrorCode::NodeExists.code() {
            if let TxnBody::Create(t) | TxnBody::Create2(t) = body {
                let parent = match rc.path.rfind('/') {
                    Some(0) | None => "/",
                    Some(i) => &rc.path[..i],
                };
                if self
                    .set_cversion_pzxid(parent, t.parent_cversion, zxid)
                    .is_err()
                {
                    rc.err = ErrorCode::NoNode.code();
                }
            }
        }
        // Only a whole txn advances lastProcessedZxid, never a multi's part.
        if !is_sub {
            if hdr.zxid > self.last_processed_zxid {
                self.last_processed_zxid = hdr.zxid;
            }
            self.log_digest(hdr.zxid);
        }
        rc
    }

    /// The multi case of `processTxn`: if any part is an error txn (prep
    /// failed), parts before the first error become ErrorTxn(OK) and parts
    /// after it ErrorTxn(RuntimeInconsistency); error parts keep their code.
    fn multi(
        &mut self,
        hdr: &TxnHeader,
        parts: &[TxnBody],
        rc: &mut TxnResult,
        ev: &mut Vec<WatchEvent>,
    ) {
        let failed = parts.iter().any(|p| matches!(p, TxnBody::Error(_)));
        let mut post_failed = false;
        for part in parts {
            match part {
                TxnBody::Error(_) => post_failed = true,
                // Java throws IOException("Invalid type of op"): the remaining
                // parts are skipped, the result so far stands.
                TxnBody::SetAcl(_)
                | TxnBody::Multi(_)
                | TxnBody::CreateSession(_)
                | TxnBody::CloseSession(_) => {
                    return;
                }
                _ => {}
            }
            let converted;
            let body = if failed && !matches!(part, TxnBody::Error(_)) {
                let err = if post_failed {
                    ErrorCode::RuntimeInconsistency
                } else {
                    ErrorCode::Ok
                };
                converted = TxnBody::Error(crate::txn::ErrorTxn { err: err.code() });
                &converted
            } else {
                part
            };
            let sub = self.process(hdr, body.op_code() as i32, body, true, ev);
            if sub.err != 0 && rc.err == 0 {
                rc.err = sub.err;
            }
            rc.multi.push(sub);
        }
    }

    /// `createNode`. `parent_cversion` -1 means "parent's + 1"; the parent's
    /// cversion and pzxid only move forward.
    #[allow(clippy::too_many_arguments)]
    fn create_node(
        &mut self,
        path: &str,
        data: &Option<Vec<u8>>,
        acl: &[Acl],
        owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
        ev: &mut Vec<WatchEvent>,
    ) -> Result<Stat, ErrorCode> {
        // Java fails with StringIndexOutOfBounds for a path without '/'.
        let (parent_key, child) = split(path).ok_or(ErrorCode::NoNode)?;
        let parent_id = self.nodes.id(parent_key).ok_or(ErrorCode::NoNode)?;
        let acl = self.intern_acl(acl);
        if let Some(existing) = self.nodes.get_mut(path) {
            // ZooKeeper 3.8 allocates the list's id here (`convertAcls`) but
            // keeps the node's ACL. Setting it too repairs a node whose ACL id a
            // fuzzy snapshot could not resolve; after replay the result is the same.
            existing.acl = acl;
            return Err(ErrorCode::NodeExists);
        }
        let parent = self.nodes.by_id_mut(parent_id).expect("looked up above");
        // nodes.preChange / postChange around the parent's update.
        let parent_before = parent.digest();
        let new_cversion = if parent_cversion == -1 {
            parent.stat.cversion + 1
        } else {
            parent_cversion
        };
        // Replaying a create for a node created and deleted in the fuzzy range
        // must not move the parent back.
        if new_cversion > parent.stat.cversion {
            parent.stat.cversion = new_cversion;
            parent.stat.pzxid = zxid;
        }
        let parent_acl = parent.acl.clone();
        let parent_delta = parent.digest().wrapping_sub(parent_before);
        let node = Node::new(
            path,
            data.clone(),
            acl.clone(),
            create_stat(zxid, time, owner),
            self.extended_types_enabled,
        );
        let stat = node.stat();
        self.digest = self
            .digest
            .wrapping_add(parent_delta)
            .wrapping_add(node.digest());
        self.track_owner(path, node.kind, node.stat.ephemeral_owner);
        self.data_size += super::java_len(path) + data.as_ref().map_or(0, |d| d.len() as i64);
        let (id, _) = self.nodes.insert(path.to_owned(), Box::new(node));
        let parent = self.nodes.by_id_mut(parent_id).expect("looked up above");
        parent.children.insert(child.into(), id);
        let bytes = data.as_ref().map_or(0, |d| d.len() as i64);
        self.quota_on_create(path, parent_key, child, bytes);

        let w = self.data_watches.trigger(path, event_type::NODE_CREATED);
        notify(ev, &w, None, event_type::NODE_CREATED, path, &acl);
        let w = self
            .child_watches
            .trigger(parent_key, event_type::NODE_CHILDREN_CHANGED);
        notify(
            ev,
            &w,
            None,
            event_type::NODE_CHILDREN_CHANGED,
            parent_key,
            &parent_acl,
        );
        Ok(stat)
    }

    /// `deleteNode`. The parent loses the child name and its pzxid moves
    /// forward even when the node itself is already gone (then NoNode).
    /// The stored cversion does not change; the visible one does, through
    /// numChildren. Children of the node are not checked (prep does).
    fn delete_node(
        &mut self,
        path: &str,
        zxid: i64,
        ev: &mut Vec<WatchEvent>,
    ) -> Result<(), ErrorCode> {
        let (parent_key, child) = split(path).ok_or(ErrorCode::NoNode)?;
        if path == "/" {
            // Java would unlink "/" but keep the root under ""; prep refuses
            // to delete it (isSpecialPath), so refuse here too.
            return Err(ErrorCode::BadArguments);
        }
        let parent = self.nodes.get_mut(parent_key).ok_or(ErrorCode::NoNode)?;
        let parent_before = parent.digest();
        parent.children.remove(child);
        if zxid > parent.stat.pzxid {
            parent.stat.pzxid = zxid;
        }
        let parent_acl = parent.acl.clone();
        let parent_delta = parent.digest().wrapping_sub(parent_before);
        self.digest = self.digest.wrapping_add(parent_delta);
        let node = self.nodes.remove(path).ok_or(ErrorCode::NoNode)?;
        self.digest = self.digest.wrapping_sub(node.digest());
        self.data_size -= super::java_len(path) + node.data.as_ref().map_or(0, |d| d.len() as i64);
        self.untrack_owner(path, node.kind, node.stat.ephemeral_owner);
        let bytes = node.data.as_ref().map_or(0, |d| d.len() as i64);
        self.quota_on_delete(path, parent_key, child, bytes);
        let acl = node.acl.clone();

        let processed = self.data_watches.trigger(path, event_type::NODE_DELETED);
        notify(ev, &processed, None, event_type::NODE_DELETED, path, &acl);
        let processed: HashSet<i64> = processed.into_iter().collect();
        let w = self.child_watches.trigger(path, event_type::NODE_DELETED);
        notify(
            ev,
            &w,
            Some(&processed),
            event_type::NODE_DELETED,
            path,
            &acl,
        );
        let w = self
            .child_watches
            .trigger(parent_key, event_type::NODE_CHILDREN_CHANGED);
        notify(
            ev,
            &w,
            None,
            event_type::NODE_CHILDREN_CHANGED,
            parent_key,
            &parent_acl,
        );
        Ok(())
    }

    /// `setData`: `version` is the new version (computed by prep).
    fn set_data(
        &mut self,
        path: &str,
        data: &Option<Vec<u8>>,
        version: i32,
        zxid: i64,
        time: i64,
        ev: &mut Vec<WatchEvent>,
    ) -> Result<Stat, ErrorCode> {
        let n = self
            .nodes
            .get_mut(Self::key(path))
            .ok_or(ErrorCode::NoNode)?;
        let old_len = n.data.as_ref().map_or(0, |d| d.len() as i64);
        let before = n.digest();
        n.set_data(path, data.clone());
        n.stat.mtime = time;
        n.stat.mzxid = zxid;
        n.stat.version = version;
        let stat = n.stat();
        self.digest = self.digest.wrapping_add(n.digest().wrapping_sub(before));
        let acl = n.acl.clone();
        let bytes_diff = data.as_ref().map_or(0, |d| d.len() as i64) - old_len;
        self.data_size += bytes_diff;
        self.quota_on_set_data(path, bytes_diff);
        let w = self
            .data_watches
            .trigger(path, event_type::NODE_DATA_CHANGED);
        notify(ev, &w, None, event_type::NODE_DATA_CHANGED, path, &acl);
        Ok(stat)
    }

    /// `setACL`: `version` is the new aversion. Triggers no watch.
    fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<Stat, ErrorCode> {
        if !self.nodes.contains_key(Self::key(path)) {
            return Err(ErrorCode::NoNode);
        }
        let acl = self.intern_acl(acl);
        let n = self.nodes.get_mut(Self::key(path)).expect("checked above");
        let old = std::mem::replace(&mut n.acl, acl);
        let before = n.digest();
        n.stat.aversion = version;
        let stat = n.stat();
        self.digest = self.digest.wrapping_add(n.digest().wrapping_sub(before));
        drop(old);
        Ok(stat)
    }

    /// `killSession`: deletes the txn's paths in order, then whatever else the
    /// session still owned (sorted; Java warns about them). NoNode is ignored.
    fn kill_session(
        &mut self,
        session: i64,
        zxid: i64,
        paths: &[String],
        ev: &mut Vec<WatchEvent>,
    ) {
        let local = self.ephemerals.remove(&session);
        for p in paths {
            let _ = self.delete_node(p, zxid, ev);
        }
        if let Some(mut local) = local {
            for p in paths {
                local.remove(p);
            }
            for p in local {
                let _ = self.delete_node(&p, zxid, ev);
            }
        }
    }

    /// `setCversionPzxid`: moves cversion (and pzxid) forward only.
    fn set_cversion_pzxid(
        &mut self,
        path: &str,
        cversion: i32,
        zxid: i64,
    ) -> Result<(), ErrorCode> {
        let path = path.strip_suffix('/').unwrap_or(path);
        let n = self
            .nodes
            .get_mut(Self::key(path))
            .ok_or(ErrorCode::NoNode)?;
        let cversion = if cversion == -1 {
            n.stat.cversion + 1
        } else {
            cversion
        };
        if cversion > n.stat.cversion {
            let before = n.digest();
            n.stat.cversion = cversion;
            n.stat.pzxid = zxid;
            self.digest = self.digest.wrapping_add(n.digest().wrapping_sub(before));
        }
        Ok(())
    }
}
