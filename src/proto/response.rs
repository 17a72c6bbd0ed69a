//! A server reply body (what follows a `ReplyHeader`), chosen by the opcode of the
//! request it answers, after `FinalRequestProcessor.java`:
//! - create answers `CreateResponse`; create2, createContainer and createTTL all
//!   answer `Create2Response`; reconfig answers `GetDataResponse`;
//! - addWatch answers `ErrorResponse { err: 0 }` (a 4-byte body, `FinalRequestProcessor`:
//!   `rsp = new ErrorResponse(0)`); stock clients ignore it but the bytes are there;
//! - delete, ping, closeSession, auth, setWatches(2), checkWatches and
//!   removeWatches answer a bare header ([`Response::Empty`]);
//! - a top-level check answers `SetDataResponse` in Java (in practice only multi
//!   carries check); decoded as `SetData` when a body is present, else `Empty`;
//! - any error (ReplyHeader err != 0) is a bare header too, except multi, which
//!   answers err 0 and carries per-op errors in its results.

use super::jute::Record;
use super::multi::MultiResponse;
use super::opcode::OpCode;
use super::request::{parse, DecodeError};
use super::responses::*;
use bytes::BytesMut;

/// Every reply body the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Create(CreateResponse),
    Create2(Create2Response),
    Exists(ExistsResponse),
    GetData(GetDataResponse),
    SetData(SetDataResponse),
    GetAcl(GetAclResponse),
    SetAcl(SetAclResponse),
    GetChildren(GetChildrenResponse),
    GetChildren2(GetChildren2Response),
    Sync(SyncResponse),
    GetAllChildrenNumber(GetAllChildrenNumberResponse),
    GetEphemerals(GetEphemeralsResponse),
    WhoAmI(WhoAmIResponse),
    /// multi and multiRead.
    Multi(MultiResponse),
    /// An `ErrorResponse` body: the reply to addWatch (always err 0).
    Error(ErrorResponse),
    /// No body.
    Empty,
}

impl Response {
    /// Decodes the body of a successful (err 0) reply to a request with opcode `op`.
    pub fn decode(op: OpCode, body: &[u8]) -> Result<Response, DecodeError> {
        use OpCode as O;
        Ok(match op {
            O::Create => Response::Create(parse(body)?),
            O::Create2 | O::CreateContainer | O::CreateTtl => Response::Create2(parse(body)?),
            O::Exists => Response::Exists(parse(body)?),
            O::GetData | O::Reconfig => Response::GetData(parse(body)?),
            O::SetData => Response::SetData(parse(body)?),
            O::GetAcl => Response::GetAcl(parse(body)?),
            O::SetAcl => Response::SetAcl(parse(body)?),
            O::GetChildren => Response::GetChildren(parse(body)?),
            O::GetChildren2 => Response::GetChildren2(parse(body)?),
            O::Sync => Response::Sync(parse(body)?),
            O::GetAllChildrenNumber => Response::GetAllChildrenNumber(parse(body)?),
            O::GetEphemerals => Response::GetEphemerals(parse(body)?),
            O::WhoAmI => Response::WhoAmI(parse(body)?),
            O::Multi | O::MultiRead => Response::Multi(parse(body)?),
            O::AddWatch => Response::Error(parse(body)?),
            O::Check if !body.is_empty() => Response::SetData(parse(body)?),
            O::Delete
            | O::DeleteContainer
            | O::Check
            | O::Ping
            | O::CloseSession
            | O::Auth
            | O::SetWatches
            | O::SetWatches2
            | O::CheckWatches
            | O::RemoveWatches => Response::Empty,
            O::Notification | O::Sasl | O::CreateSession | O::Error => {
                return Err(DecodeError::Unsupported(op as i32))
            }
        })
    }

    /// Decodes a reply body given its `ReplyHeader.err`: an error reply with no
    /// body is `Empty`, anything else as [`Response::decode`].
    pub fn decode_reply(op: OpCode, err: i32, body: &[u8]) -> Result<Response, DecodeError> {
        if err != 0 && body.is_empty() {
            return Ok(Response::Empty);
        }
        Response::decode(op, body)
    }

    /// Appends the body (not the header) to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Response::Create(r) => r.encode(out),
            Response::Create2(r) => r.encode(out),
            Response::Exists(r) => r.encode(out),
            Response::GetData(r) => r.encode(out),
            Response::SetData(r) => r.encode(out),
            Response::GetAcl(r) => r.encode(out),
            Response::SetAcl(r) => r.encode(out),
            Response::GetChildren(r) => r.encode(out),
            Response::GetChildren2(r) => r.encode(out),
            Response::Sync(r) => r.encode(out),
            Response::GetAllChildrenNumber(r) => r.encode(out),
            Response::GetEphemerals(r) => r.encode(out),
            Response::WhoAmI(r) => r.encode(out),
            Response::Multi(r) => r.encode(out),
            Response::Error(r) => r.encode(out),
            Response::Empty => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::data::{Acl, ClientInfo, Stat};
    use crate::proto::jute::testing::assert_prefixes_fail;
    use crate::proto::multi::OpResult;

    #[test]
    fn every_response_round_trips_and_rejects_truncation() {
        let stat = Stat {
            czxid: 1,
            pzxid: 2,
            ..Default::default()
        };
        let cases = vec![
            (
                OpCode::Create,
                Response::Create(CreateResponse { path: "/a".into() }),
            ),
            (
                OpCode::CreateTtl,
                Response::Create2(Create2Response {
                    path: "/a".into(),
                    stat,
                }),
            ),
            (OpCode::Exists, Response::Exists(ExistsResponse { stat })),
            (
                OpCode::GetData,
                Response::GetData(GetDataResponse {
                    data: Some(b"x".to_vec()),
                    stat,
                }),
            ),
            (OpCode::SetData, Response::SetData(SetDataResponse { stat })),
            (
                OpCode::GetAcl,
                Response::GetAcl(GetAclResponse {
                    acl: Acl::open_unsafe(),
                    stat,
                }),
            ),
            (OpCode::SetAcl, Response::SetAcl(SetAclResponse { stat })),
            (
                OpCode::GetChildren,
                Response::GetChildren(GetChildrenResponse {
                    children: vec!["c".into()],
                }),
            ),
            (
                OpCode::GetChildren2,
                Response::GetChildren2(GetChildren2Response {
                    children: vec![],
                    stat,
                }),
            ),
            (
                OpCode::Sync,
                Response::Sync(SyncResponse { path: "/".into() }),
            ),
            (
                OpCode::GetAllChildrenNumber,
                Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number: 3 }),
            ),
            (
                OpCode::GetEphemerals,
                Response::GetEphemerals(GetEphemeralsResponse {
                    ephemerals: vec!["/e".into()],
                }),
            ),
            (
                OpCode::WhoAmI,
                Response::WhoAmI(WhoAmIResponse {
                    client_info: vec![ClientInfo::default()],
                }),
            ),
            (
                OpCode::Multi,
                Response::Multi(MultiResponse {
                    results: vec![OpResult::Delete, OpResult::Error { err: -2 }],
                }),
            ),
            (OpCode::AddWatch, Response::Error(ErrorResponse { err: 0 })),
            (OpCode::Delete, Response::Empty),
            (OpCode::Ping, Response::Empty),
        ];
        for (op, resp) in cases {
            let mut b = BytesMut::new();
            resp.encode(&mut b);
            assert_eq!(Response::decode(op, &b).unwrap(), resp, "{op:?}");
            if !b.is_empty() {
                assert_prefixes_fail(&b, |p| Response::decode(op, p).is_ok());
            }
        }
    }

    #[test]
    fn error_reply_without_body_is_empty() {
        assert_eq!(
            Response::decode_reply(OpCode::GetData, -101, &[]),
            Ok(Response::Empty)
        );
        assert_eq!(
            Response::decode(OpCode::GetData, &[]),
            Err(DecodeError::Truncated)
        );
        let mut b = BytesMut::new();
        Response::Error(ErrorResponse { err: -4 }).encode(&mut b);
        assert_eq!(&b[..], &[0xff, 0xff, 0xff, 0xfc]);
    }
}
