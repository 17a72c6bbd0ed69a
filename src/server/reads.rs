//! Read requests against the tree, sans-IO (the read half of `FinalRequestProcessor`).
//!
//! Each returns the response body or the error code ZooKeeper answers with;
//! a `watch` flag registers a one-shot watch for the asking session.

use crate::proto::data::{perms, Acl, ClientInfo, Id};
use crate::proto::error_code::ErrorCode;
use crate::proto::multi::{MultiOp, MultiResponse, OpResult};
use crate::proto::request::Request;
use crate::proto::requests::{GetChildrenRequest, GetDataRequest};
use crate::proto::response::Response;
use crate::proto::responses::*;
use crate::proto::watches::add_watch_mode;
use crate::tree::acl::check_acl;
use crate::tree::watches::{WatchMode, WatcherType};
use crate::tree::DataTree;

type ReadResult = Result<Response, ErrorCode>;

fn allowed(tree: &DataTree, path: &str, perm: i32, auth: &[Id]) -> Result<(), ErrorCode> {
    let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
    if check_acl(node.acl(), perm, auth) {
        Ok(())
    } else {
        Err(ErrorCode::NoAuth)
    }
}

fn get_data(
    tree: &mut DataTree,
    session: i64,
    auth: &[Id],
    r: &GetDataRequest,
) -> Result<GetDataResponse, ErrorCode> {
    allowed(tree, &r.path, perms::READ, auth)?;
    if r.watch {
        tree.add_data_watch(&r.path, session);
    }
    let node = tree.node(&r.path).ok_or(ErrorCode::NoNode)?;
    Ok(GetDataResponse {
        data: node.data().map(<[u8]>::to_vec),
        stat: node.stat(),
    })
}

fn get_children(
    tree: &mut DataTree,
    session: i64,
    auth: &[Id],
    r: &GetChildrenRequest,
) -> Result<Vec<String>, ErrorCode> {
    allowed(tree, &r.path, perms::READ, auth)?;
    if r.watch {
        tree.add_child_watch(&r.path, session);
    }
    tree.get_children(&r.path).ok_or(ErrorCode::NoNode)
}

/// `AuthUtil.getClientInfos`: digest ids show only the user name.
fn client_infos(auth: &[Id]) -> Vec<ClientInfo> {
    auth.iter()
        .map(|id| ClientInfo {
            auth_scheme: id.scheme.clone(),
            user: match id.scheme.as_str() {
                "digest" => id.id.split(':').next().unwrap_or_default().to_owned(),
                _ => id.id.clone(),
            },
        })
        .collect()
}

/// getACL without ADMIN permission masks digest passwords (`FinalRequestProcessor`).
fn masked(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            let mut a = a.clone();
            if a.id.scheme == "digest" {
                if let Some((user, _)) = a.id.id.split_once(':') {
                    a.id.id = format!("{user}:x");
                }
            }
            a
        })
        .collect()
}

/// Answers a request that has no txn.
pub fn read(tree: &mut DataTree, session: i64, auth: &[Id], request: &Request) -> ReadResult {
    Ok(match request {
        Request::Exists(r) => {
            if r.path.contains('\0') {
                return Err(ErrorCode::BadArguments);
            }
            // No READ check: Apache ZooKeeper 3.8 answers exists on any node.
            // The watch is set even when the node does not exist (`DataTree.statNode`).
            if r.watch {
                tree.add_data_watch(&r.path, session);
            }
            let stat = tree.node(&r.path).ok_or(ErrorCode::NoNode)?.stat();
            Response::Exists(ExistsResponse { stat })
        }
        Request::GetData(r) => Response::GetData(get_data(tree, session, auth, r)?),
        Request::GetChildren(r) => Response::GetChildren(GetChildrenResponse {
            children: get_children(tree, session, auth, r)?,
        }),
        Request::GetChildren2(r) => {
            let children = get_children(tree, session, auth, r)?;
            let stat = tree.node(&r.path).ok_or(ErrorCode::NoNode)?.stat();
            Response::GetChildren2(GetChildren2Response { children, stat })
        }
        Request::GetAcl(r) => {
            allowed(tree, &r.path, perms::READ | perms::ADMIN, auth)?;
            let node = tree.node(&r.path).ok_or(ErrorCode::NoNode)?;
            let acl = if check_acl(node.acl(), perms::ADMIN, auth) {
                node.acl().to_vec()
            } else {
                masked(node.acl())
            };
            Response::GetAcl(GetAclResponse {
                acl,
                stat: node.stat(),
            })
        }
        Request::GetAllChildrenNumber(r) => {
            allowed(tree, &r.path, perms::READ, auth)?;
            Response::GetAllChildrenNumber(GetAllChildrenNumberResponse {
                total_number: tree.all_children_number(&r.path).ok_or(ErrorCode::NoNode)?,
            })
        }
        Request::GetEphemerals(r) => {
            let prefix = r.prefix_path.trim();
            let all = tree.ephemerals(session);
            let ephemerals = if prefix.is_empty() || prefix == "/" {
                all
            } else {
                all.into_iter()
                    .filter(|p| p.starts_with(&r.prefix_path))
                    .collect()
            };
            Response::GetEphemerals(GetEphemeralsResponse { ephemerals })
        }
        Request::Sync(r) => Response::Sync(SyncResponse {
            path: r.path.clone(),
        }),
        Request::WhoAmI => Response::WhoAmI(WhoAmIResponse {
            client_info: client_infos(auth),
        }),
        Request::MultiRead(m) => {
            let results = m
                .ops
                .iter()
                .map(|op| match op {
                    MultiOp::GetData(r) => match get_data(tree, session, auth, r) {
                        Ok(d) => OpResult::GetData {
                            data: d.data,
                            stat: d.stat,
                        },
                        Err(e) => OpResult::Error { err: e.code() },
                    },
                    MultiOp::GetChildren(r) => match get_children(tree, session, auth, r) {
                        Ok(children) => OpResult::GetChildren { children },
                        Err(e) => OpResult::Error { err: e.code() },
                    },
                    _ => OpResult::Error {
                        err: ErrorCode::MarshallingError.code(),
                    },
                })
                .collect();
            Response::Multi(MultiResponse { results })
        }
        Request::AddWatch(r) => {
            let mode = match r.mode {
                add_watch_mode::PERSISTENT => WatchMode::Persistent,
                add_watch_mode::PERSISTENT_RECURSIVE => WatchMode::PersistentRecursive,
                _ => return Err(ErrorCode::BadArguments),
            };
            tree.add_watch(&r.path, session, mode);
            Response::Error(ErrorResponse { err: 0 })
        }
        Request::CheckWatches(r) => {
            let kind = WatcherType::from_i32(r.op_type).ok_or(ErrorCode::BadArguments)?;
            if !tree.contains_watch(&r.path, kind) {
                return Err(ErrorCode::NoWatcher);
            }
            Response::Empty
        }
        Request::RemoveWatches(r) => {
            let kind = WatcherType::from_i32(r.op_type).ok_or(ErrorCode::BadArguments)?;
            if !tree.remove_watch(&r.path, kind, session) {
                return Err(ErrorCode::NoWatcher);
            }
            Response::Empty
        }
        _ => Response::Empty,
    })
}
