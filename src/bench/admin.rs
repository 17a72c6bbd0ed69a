//! Setup and teardown helpers run over one plain session: a unique root path
//! per run, connecting many sessions at once, pipelined batches of requests,
//! and deleting a subtree.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};

use super::client::{ClientError, Incoming, Reply, Session};
use crate::proto::error_code::ErrorCode;
use crate::proto::request::Request;
use crate::proto::requests::{DeleteRequest, GetChildrenRequest};
use crate::proto::response::Response;

/// How many sessions connect at the same time.
const CONNECT_CONCURRENCY: usize = 64;

/// A root path no other run uses: `/ferrokeeper-bench-<pid>-<nanos>`.
pub fn unique_root() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("/ferrokeeper-bench-{}-{nanos:x}", std::process::id())
}

/// Opens `n` sessions, a few at a time, in order.
pub async fn connect_many(
    addr: &str,
    n: usize,
    timeout_ms: i32,
) -> Result<Vec<Session>, ClientError> {
    futures::stream::iter(0..n)
        .map(|_| Session::connect(addr, timeout_ms))
        .buffered(CONNECT_CONCURRENCY)
        .try_collect()
        .await
}

/// Sends `reqs` with up to `window` in flight; a reply whose error code is not
/// 0 and not in `allowed` fails the batch. Returns every reply, in order.
pub async fn pipelined(
    s: &mut Session,
    reqs: impl IntoIterator<Item = Request>,
    window: usize,
    allowed: &[ErrorCode],
) -> Result<Vec<Reply>, ClientError> {
    let mut reqs = reqs.into_iter().peekable();
    let mut replies = Vec::new();
    loop {
        let mut sent = false;
        while s.in_flight() < window.max(1) {
            match reqs.next() {
                Some(r) => {
                    s.send(&r, 0).await?;
                    sent = true;
                }
                None => break,
            }
        }
        if sent {
            s.flush().await?;
        }
        if s.in_flight() == 0 {
            return Ok(replies);
        }
        if let Incoming::Reply(r) = s.recv().await? {
            if r.err != 0 && !allowed.iter().any(|c| *c as i32 == r.err) {
                return Err(ClientError::Server {
                    op: r.op,
                    err: r.err,
                });
            }
            replies.push(r);
        }
    }
}

/// Child names of `path` (empty if it does not exist).
pub async fn children(s: &mut Session, path: &str) -> Result<Vec<String>, ClientError> {
    let r = s
        .call(&Request::GetChildren(GetChildrenRequest {
            path: path.to_string(),
            watch: false,
        }))
        .await?;
    if r.err == ErrorCode::NoNode as i32 {
        return Ok(Vec::new());
    }
    if r.err != 0 {
        return Err(ClientError::Server {
            op: r.op,
            err: r.err,
        });
    }
    match r.response()? {
        Response::GetChildren(c) => Ok(c.children),
        other => Err(ClientError::Protocol(format!(
            "getChildren answered {other:?}"
        ))),
    }
}

/// Deletes `path` and everything below it (missing nodes are fine).
pub fn delete_tree<'a>(
    s: &'a mut Session,
    path: &'a str,
) -> Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send + 'a>> {
    Box::pin(async move {
        let kids: Vec<String> = children(s, path)
            .await?
            .into_iter()
            .map(|c| format!("{path}/{c}"))
            .collect();
        let deletes: Vec<Request> = kids
            .iter()
            .map(|p| {
                Request::Delete(DeleteRequest {
                    path: p.clone(),
                    version: -1,
                })
            })
            .collect();
        let replies = pipelined(s, deletes, 256, &[ErrorCode::NoNode, ErrorCode::NotEmpty]).await?;
        for (kid, r) in kids.iter().zip(&replies) {
            if r.err == ErrorCode::NotEmpty as i32 {
                delete_tree(s, kid).await?;
            }
        }
        pipelined(
            s,
            [Request::Delete(DeleteRequest {
                path: path.to_string(),
                version: -1,
            })],
            1,
            &[ErrorCode::NoNode],
        )
        .await?;
        Ok(())
    })
}

/// Closes a session, ignoring failures (the server ends it on timeout anyway).
pub async fn close_quietly(s: Session) {
    if let Err(e) = s.close(Duration::from_secs(30)).await {
        eprintln!("warning: closing a session: {e}");
    }
}
