//! Turning a write request into a txn, sans-IO (`PrepRequestProcessor.pRequest2Txn`).
//!
//! Checks run in ZooKeeper's order (path, ACL, version, existence, ...) so the
//! first error reported is the one Apache ZooKeeper reports. On success the
//! change is recorded in [`ChangeRecords`] so later requests see it.

use std::collections::HashSet;

use crate::proto::data::{perms, Acl, Id, StatPersisted};
use crate::proto::error_code::ErrorCode;
use crate::proto::multi::MultiOp;
use crate::proto::opcode::OpCode;
use crate::proto::requests::{
    CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest, SetAclRequest,
    SetDataRequest,
};
use crate::server::change_records::{ChangeRecord, ChangeRecords};
use crate::tree::acl::{check_acl, fix_acl, Providers};
use crate::tree::digest::digest_prefix;
use crate::tree::path::validate_path;
use crate::tree::{DataTree, EphemeralType, CONTAINER_EPHEMERAL_OWNER};
use crate::txn::*;

/// Everything a txn is prepared against.
pub struct TxnBuilder<'a> {
    pub tree: &'a DataTree,
    pub changes: &'a mut ChangeRecords,
    pub zxid: i64,
    pub time: i64,
    pub session_id: i64,
    pub auth: &'a [Id],
    /// The tree digest once every txn prepared so far is applied; each
    /// recorded change moves it (`PrepRequestProcessor.precalculateDigest`).
    pub digest: i64,
    /// Refuse writes past a quota's hard limit (`enforceQuota`).
    pub enforce_quota: bool,
    /// The optional providers registered, whose ids ACLs may name (`x509`
    /// when a port takes TLS clients, `sasl` with `authProvider.N`).
    pub acl_providers: Providers,
}

type Prepared = Result<TxnBody, ErrorCode>;

/// The `CreateMode` a flag value names: (ephemeral, sequential, container, ttl).
fn create_mode(flags: i32) -> Result<(bool, bool, bool, bool), ErrorCode> {
    Ok(match flags {
        0 => (false, false, false, false),
        1 => (true, false, false, false),
        2 => (false, true, false, false),
        3 => (true, true, false, false),
        4 => (false, false, true, false),
        5 => (false, false, false, true),
        6 => (false, true, false, true),
        _ => return Err(ErrorCode::BadArguments),
    })
}

fn bad_path(path: &str) -> Result<(), ErrorCode> {
    validate_path(path).map_err(|_| ErrorCode::BadArguments)
}

/// `checkAndIncVersion`: -1 matches any version; the new version skips -1 (ZOOKEEPER-4743).
fn check_and_inc(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(match current.wrapping_add(1) {
        -1 => 0,
        n => n,
    })
}

fn parent_of(path: &str) -> Result<&str, ErrorCode> {
    match path.rfind('/') {
        Some(i) if !path.contains('\0') => Ok(&path[..i]),
        _ => Err(ErrorCode::BadArguments),
    }
}

impl TxnBuilder<'_> {
    fn record(&self, path: &str) -> Result<ChangeRecord, ErrorCode> {
        self.changes.get(self.tree, path)
    }

    /// `zks.checkQuota`, with `enforceQuota` only.
    fn check_quota(&self, path: &str, bytes_diff: i64, count_diff: i64) -> Result<(), ErrorCode> {
        if !self.enforce_quota {
            return Ok(());
        }
        self.tree.check_quota(path, bytes_diff, count_diff)
    }

    fn check(&self, acl: &[Acl], perm: i32) -> Result<(), ErrorCode> {
        if check_acl(acl, perm, self.auth) {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        }
    }

    /// Records a change; `before` is the view it replaces (`None`: no node).
    fn put(
        &mut self,
        path: &str,
        before: Option<&ChangeRecord>,
        record: ChangeRecord,
        touched: &mut Vec<(String, Option<ChangeRecord>)>,
    ) {
        let old = before.map_or(0, ChangeRecord::digest);
        self.digest = self.digest.wrapping_add(record.digest().wrapping_sub(old));
        let previous = self.changes.put(path, record);
        touched.push((path.to_owned(), previous));
    }

    /// Create in all its flavours (`pRequest2TxnCreate`).
    fn create(
        &mut self,
        op: OpCode,
        req: &CreateRequest,
        ttl: i64,
        touched: &mut Vec<(String, Option<ChangeRecord>)>,
    ) -> Prepared {
        let (ephemeral, sequential, container, is_ttl) = create_mode(req.flags)?;
        // `validateCreateRequest` / `EphemeralType.validateTTL`.
        if is_ttl && !self.tree.extended_types_enabled() {
            return Err(ErrorCode::Unimplemented);
        }
        let ttl_owner = if is_ttl {
            Some(EphemeralType::ttl_owner(ttl).ok_or(ErrorCode::BadArguments)?)
        } else if ttl >= 0 {
            return Err(ErrorCode::BadArguments);
        } else {
            None
        };
        let parent_path = parent_of(&req.path)?;
        let acl =
            fix_acl(&req.acl, self.auth, self.acl_providers).map_err(|_| ErrorCode::InvalidAcl)?;
        let parent = self.record(if parent_path.is_empty() {
            "/"
        } else {
            parent_path
        })?;
        self.check(&parent.acl, perms::CREATE)?;
        let parent_stat = parent.stat.expect("record() returns live nodes");
        let path = if sequential {
            format!("{}{:010}", req.path, parent_stat.cversion)
        } else {
            req.path.clone()
        };
        bad_path(&path)?;
        if self.record(&path).is_ok() {
            return Err(ErrorCode::NodeExists);
        }
        if EphemeralType::of(
            parent_stat.ephemeral_owner,
            self.tree.extended_types_enabled(),
        ) == EphemeralType::Normal
        {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let data_len = req.data.as_ref().map_or(0, |d| d.len() as i64);
        self.check_quota(&path, data_len, 1)?;
        let new_cversion = parent_stat.cversion + 1;
        let owner = if let Some(owner) = ttl_owner {
            owner
        } else if container || op == OpCode::CreateContainer {
            CONTAINER_EPHEMERAL_OWNER
        } else if ephemeral {
            self.session_id
        } else {
            0
        };
        let body = match op {
            _ if is_ttl => TxnBody::CreateTtl(CreateTtlTxn {
                path: path.clone(),
                data: req.data.clone(),
                acl: acl.clone(),
                parent_cversion: new_cversion,
                ttl,
            }),
            OpCode::CreateContainer => TxnBody::CreateContainer(CreateContainerTxn {
                path: path.clone(),
                data: req.data.clone(),
                acl: acl.clone(),
                parent_cversion: new_cversion,
            }),
            _ => {
                let txn = CreateTxn {
                    path: path.clone(),
                    data: req.data.clone(),
                    acl: acl.clone(),
                    ephemeral,
                    parent_cversion: new_cversion,
                };
                if op == OpCode::Create2 {
                    TxnBody::Create2(txn)
                } else {
                    TxnBody::Create(txn)
                }
            }
        };
        let mut parent_after = parent.clone();
        parent_after.zxid = self.zxid;
        parent_after.child_count += 1;
        if let Some(s) = parent_after.stat.as_mut() {
            s.cversion = new_cversion;
            s.pzxid = self.zxid;
        }
        let parent_key = if parent_path.is_empty() {
            "/"
        } else {
            parent_path
        };
        self.put(parent_key, Some(&parent), parent_after, touched);
        let node = ChangeRecord {
            zxid: self.zxid,
            stat: Some(StatPersisted {
                czxid: self.zxid,
                mzxid: self.zxid,
                ctime: self.time,
                mtime: self.time,
                version: 0,
                cversion: 0,
                aversion: 0,
                ephemeral_owner: owner,
                pzxid: self.zxid,
            }),
            child_count: 0,
            acl,
            digest_prefix: digest_prefix(&path, req.data.as_deref()),
            data_len,
        };
        self.put(&path, None, node, touched);
        Ok(body)
    }

    fn delete(
        &mut self,
        req: &DeleteRequest,
        touched: &mut Vec<(String, Option<ChangeRecord>)>,
    ) -> Prepared {
        let parent_path = parent_of(&req.path)?;
        if req.path == "/" || req.path == "/zookeeper" || req.path.starts_with("/zookeeper/") {
            // `ZKDatabase.isSpecialPath`: the system nodes cannot be deleted.
            if matches!(
                req.path.as_str(),
                "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config"
            ) {
                return Err(ErrorCode::BadArguments);
            }
        }
        let parent_key = if parent_path.is_empty() {
            "/"
        } else {
            parent_path
        };
        let parent = self.record(parent_key)?;
        self.check(&parent.acl, perms::DELETE)?;
        let node = self.record(&req.path)?;
        let stat = node.stat.expect("live node");
        check_and_inc(stat.version, req.version)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        let mut parent_after = parent.clone();
        parent_after.zxid = self.zxid;
        parent_after.child_count -= 1;
        if let Some(s) = parent_after.stat.as_mut() {
            s.pzxid = self.zxid;
        }
        self.put(parent_key, Some(&parent), parent_after, touched);
        let gone = ChangeRecord {
            zxid: self.zxid,
            stat: None,
            child_count: -1,
            acl: Vec::new(),
            digest_prefix: None,
            data_len: 0,
        };
        self.put(&req.path, Some(&node), gone, touched);
        Ok(TxnBody::Delete(DeleteTxn {
            path: req.path.clone(),
        }))
    }

    fn set_data(
        &mut self,
        req: &SetDataRequest,
        touched: &mut Vec<(String, Option<ChangeRecord>)>,
    ) -> Prepared {
        bad_path(&req.path)?;
        let node = self.record(&req.path)?;
        self.check(&node.acl, perms::WRITE)?;
        let data_len = req.data.as_ref().map_or(0, |d| d.len() as i64);
        self.check_quota(&req.path, data_len - node.data_len, 0)?;
        let mut stat = node.stat.expect("live node");
        let version = check_and_inc(stat.version, req.version)?;
        stat.version = version;
        stat.mtime = self.time;
        stat.mzxid = self.zxid;
        let after = ChangeRecord {
            zxid: self.zxid,
            stat: Some(stat),
            digest_prefix: digest_prefix(&req.path, req.data.as_deref()),
            data_len,
            ..node.clone()
        };
        self.put(&req.path, Some(&node), after, touched);
        Ok(TxnBody::SetData(SetDataTxn {
            path: req.path.clone(),
            data: req.data.clone(),
            version,
        }))
    }

    fn set_acl(
        &mut self,
        req: &SetAclRequest,
        touched: &mut Vec<(String, Option<ChangeRecord>)>,
    ) -> Prepared {
        bad_path(&req.path)?;
        let acl =
            fix_acl(&req.acl, self.auth, self.acl_providers).map_err(|_| ErrorCode::InvalidAcl)?;
        let node = self.record(&req.path)?;
        self.check(&node.acl, perms::ADMIN)?;
        let mut stat = node.stat.expect("live node");
        let version = check_and_inc(stat.aversion, req.version)?;
        stat.aversion = version;
        let after = ChangeRecord {
            zxid: self.zxid,
            stat: Some(stat),
            child_count: node.child_count,
            acl: acl.clone(),
            digest_prefix: node.digest_prefix,
            data_len: node.data_len,
        };
        self.put(&req.path, Some(&node), after, touched);
        Ok(TxnBody::SetAcl(SetAclTxn {
            path: req.path.clone(),
            acl,
            version,
        }))
    }

    fn check_version(&mut self, req: &CheckVersionRequest) -> Prepared {
        bad_path(&req.path)?;
        let node = self.record(&req.path)?;
        self.check(&node.acl, perms::READ)?;
        let stat = node.stat.expect("live node");
        let version = check_and_inc(stat.version, req.version)?;
        Ok(TxnBody::Check(CheckVersionTxn {
            path: req.path.clone(),
            version,
        }))
    }

    fn multi_op(
        &mut self,
        op: &MultiOp,
        touched: &mut Vec<(String, Option<ChangeRecord>)>,
    ) -> Prepared {
        match op {
            MultiOp::Create(r) => self.create(OpCode::Create, r, -1, touched),
            MultiOp::Create2(r) => self.create(OpCode::Create2, r, -1, touched),
            MultiOp::CreateContainer(r) => self.create(OpCode::CreateContainer, r, -1, touched),
            MultiOp::CreateTtl(r) => self.create(OpCode::CreateTtl, &r.as_create(), r.ttl, touched),
            MultiOp::Delete(r) => self.delete(r, touched),
            MultiOp::SetData(r) => self.set_data(r, touched),
            MultiOp::Check(r) => self.check_version(r),
            MultiOp::GetChildren(_) | MultiOp::GetData(_) => Err(ErrorCode::MarshallingError),
        }
    }

    /// A single write; the error is what the reply will carry.
    pub fn single(&mut self, op: OpCode, req: SingleWrite<'_>) -> Prepared {
        let mut touched = Vec::new();
        match req {
            SingleWrite::Create(r) => self.create(op, r, -1, &mut touched),
            SingleWrite::CreateTtl(r) => self.create(op, &r.as_create(), r.ttl, &mut touched),
            SingleWrite::Delete(r) => self.delete(r, &mut touched),
            SingleWrite::SetData(r) => self.set_data(r, &mut touched),
            SingleWrite::SetAcl(r) => self.set_acl(r, &mut touched),
        }
    }

    /// A multi: every op sees the ones before it; on the first failure the
    /// outstanding changes roll back, the failed op becomes an error txn with its
    /// code and the rest error txns with RuntimeInconsistency (`pRequestHelper`).
    pub fn multi(&mut self, ops: &[MultiOp]) -> TxnBody {
        let mut touched = Vec::new();
        let digest_before = self.digest;
        let mut bodies = Vec::with_capacity(ops.len());
        let mut failed = false;
        for op in ops {
            if failed {
                bodies.push(TxnBody::Error(ErrorTxn {
                    err: ErrorCode::RuntimeInconsistency.code(),
                }));
                continue;
            }
            match self.multi_op(op, &mut touched) {
                Ok(body) => bodies.push(body),
                Err(code) => {
                    failed = true;
                    for (path, previous) in touched.drain(..).rev() {
                        self.changes.restore(&path, previous);
                    }
                    self.digest = digest_before;
                    bodies.push(TxnBody::Error(ErrorTxn { err: code.code() }));
                }
            }
        }
        TxnBody::Multi(bodies)
    }

    /// closeSession: the session's ephemerals, including outstanding creates and
    /// excluding outstanding deletes, all marked deleted.
    pub fn close_session(&mut self) -> TxnBody {
        // A hash set, as Java's: sessions closing together each scan the
        // others' outstanding deletes, tens of thousands apiece.
        let mut paths: HashSet<String, ahash::RandomState> =
            self.tree.ephemerals(self.session_id).into_iter().collect();
        for (path, record) in self.changes.iter() {
            match record.stat {
                None => {
                    paths.remove(path);
                }
                Some(s) if s.ephemeral_owner == self.session_id => {
                    paths.insert(path.clone());
                }
                Some(_) => {}
            }
        }
        let mut paths: Vec<String> = paths.into_iter().collect();
        paths.sort_unstable();
        let mut touched = Vec::new();
        for path in &paths {
            let before = self.record(path).ok();
            // The parent loses a child and its pzxid moves (`deleteNode`), as
            // the parent records Java's closeSession prep adds.
            if let Ok(parent_path) = parent_of(path) {
                let parent_key = if parent_path.is_empty() {
                    "/"
                } else {
                    parent_path
                };
                if let Ok(parent) = self.record(parent_key) {
                    let mut parent_after = parent.clone();
                    parent_after.zxid = self.zxid;
                    parent_after.child_count -= 1;
                    if let Some(s) = parent_after.stat.as_mut() {
                        s.pzxid = s.pzxid.max(self.zxid);
                    }
                    self.put(parent_key, Some(&parent), parent_after, &mut touched);
                }
            }
            let gone = ChangeRecord {
                zxid: self.zxid,
                stat: None,
                child_count: 0,
                acl: Vec::new(),
                digest_prefix: None,
                data_len: 0,
            };
            self.put(path, before.as_ref(), gone, &mut touched);
        }
        TxnBody::CloseSession(CloseSessionTxn {
            paths_to_delete: paths,
        })
    }
}

impl CreateTtlRequest {
    /// The create part of a TTL create.
    fn as_create(&self) -> CreateRequest {
        CreateRequest {
            path: self.path.clone(),
            data: self.data.clone(),
            acl: self.acl.clone(),
            flags: self.flags,
        }
    }
}

/// The single (non-multi) writes.
pub enum SingleWrite<'r> {
    Create(&'r CreateRequest),
    CreateTtl(&'r CreateTtlRequest),
    Delete(&'r DeleteRequest),
    SetData(&'r SetDataRequest),
    SetAcl(&'r SetAclRequest),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_check_skips_minus_one() {
        assert_eq!(check_and_inc(3, -1), Ok(4));
        assert_eq!(check_and_inc(3, 3), Ok(4));
        assert_eq!(check_and_inc(3, 2), Err(ErrorCode::BadVersion));
        assert_eq!(check_and_inc(-2, -1), Ok(0));
    }

    #[test]
    fn create_modes_follow_create_mode_flags() {
        assert_eq!(create_mode(3), Ok((true, true, false, false)));
        assert_eq!(create_mode(7), Err(ErrorCode::BadArguments));
    }
}
