//! Multi-op requests and responses (`multi`, opcode 14, and `multiRead`, opcode 22).
//!
//! Framing, after `MultiOperationRecord.java` and `MultiResponse.java`: each op or
//! result is a `MultiHeader { type, done: false, err }` followed by its body, and the
//! list ends with `MultiHeader { -1, true, -1 }`. There is no count. Decoding stops
//! at the first header with `done` set, whatever its type and err.
//!
//! Requests: the header's err is -1 and its type selects the body record; any other
//! type is bad bytes ("Invalid type of op").
//!
//! Responses (`MultiResponse.serialize`):
//! - create → header type 1 + `CreateResponse { path }`;
//! - create2, createContainer, createTTL → header type **15** (create2) +
//!   `Create2Response { path, stat }` (`FinalRequestProcessor` builds
//!   `new CreateResult(path, stat)`, whose type is create2);
//! - delete (and deleteContainer) → header type 2, no body; check → type 13, no body;
//! - setData → type 5 + `SetDataResponse`; getChildren → type 8 +
//!   `GetChildrenResponse`; getData → type 4 + `GetDataResponse`;
//! - error → header type **-1**, done false, err = the code, then
//!   `ErrorResponse { err }` again.
//!
//! Every header but an error's carries err 0. A failed multi is still answered with
//! ReplyHeader err 0 and one result per op: the failing op its code, the ops before
//! it Ok (0), the ops after it RuntimeInconsistency (-2) (`PrepRequestProcessor`).

use super::data::Stat;
use super::header::MultiHeader;
use super::jute::*;
use super::opcode::OpCode;
use super::requests::*;
use super::responses::*;
use bytes::BytesMut;
use nom::error::{Error, ErrorKind};

fn invalid_type(input: &[u8]) -> nom::Err<Error<&[u8]>> {
    nom::Err::Error(Error::new(input, ErrorKind::Switch))
}

/// One op of a multi request; the variant is the `MultiHeader.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    Create(CreateRequest),
    Create2(CreateRequest),
    CreateContainer(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    /// Only in multiRead.
    GetChildren(GetChildrenRequest),
    /// Only in multiRead.
    GetData(GetDataRequest),
}

impl MultiOp {
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create(_) => OpCode::Create,
            MultiOp::Create2(_) => OpCode::Create2,
            MultiOp::CreateContainer(_) => OpCode::CreateContainer,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    /// The path the op works on.
    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => &r.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetChildren(r) => &r.path,
            MultiOp::GetData(r) => &r.path,
        }
    }
}

/// `MultiOperationRecord`: the body of a multi or multiRead request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    pub ops: Vec<MultiOp>,
}

impl Record for MultiRequest {
    fn decode(mut input: &[u8]) -> Decoded<'_, Self> {
        let mut ops = Vec::new();
        loop {
            let (rest, h) = MultiHeader::decode(input)?;
            if h.done {
                return Ok((rest, MultiRequest { ops }));
            }
            let (rest, op) = match OpCode::from_i32(h.op_type) {
                Some(OpCode::Create) => map(rest, CreateRequest::decode, MultiOp::Create)?,
                Some(OpCode::Create2) => map(rest, CreateRequest::decode, MultiOp::Create2)?,
                Some(OpCode::CreateContainer) => {
                    map(rest, CreateRequest::decode, MultiOp::CreateContainer)?
                }
                Some(OpCode::CreateTtl) => map(rest, CreateTtlRequest::decode, MultiOp::CreateTtl)?,
                Some(OpCode::Delete) => map(rest, DeleteRequest::decode, MultiOp::Delete)?,
                Some(OpCode::SetData) => map(rest, SetDataRequest::decode, MultiOp::SetData)?,
                Some(OpCode::Check) => map(rest, CheckVersionRequest::decode, MultiOp::Check)?,
                Some(OpCode::GetChildren) => {
                    map(rest, GetChildrenRequest::decode, MultiOp::GetChildren)?
                }
                Some(OpCode::GetData) => map(rest, GetDataRequest::decode, MultiOp::GetData)?,
                _ => return Err(invalid_type(input)),
            };
            ops.push(op);
            input = rest;
        }
    }

    fn encode(&self, out: &mut BytesMut) {
        for op in &self.ops {
            MultiHeader {
                op_type: op.op_code() as i32,
                done: false,
                err: -1,
            }
            .encode(out);
            match op {
                MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => {
                    r.encode(out)
                }
                MultiOp::CreateTtl(r) => r.encode(out),
                MultiOp::Delete(r) => r.encode(out),
                MultiOp::SetData(r) => r.encode(out),
                MultiOp::Check(r) => r.encode(out),
                MultiOp::GetChildren(r) => r.encode(out),
                MultiOp::GetData(r) => r.encode(out),
            }
        }
        MultiHeader::DONE.encode(out);
    }
}

fn map<'a, R, T>(
    input: &'a [u8],
    decode: impl Fn(&'a [u8]) -> Decoded<'a, R>,
    wrap: impl Fn(R) -> T,
) -> Decoded<'a, T> {
    let (rest, r) = decode(input)?;
    Ok((rest, wrap(r)))
}

/// One result of a multi or multiRead response (`OpResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// `op_type` is the create flavour. Encoded as a plain create (type 1, path only)
    /// when it is `OpCode::Create`, otherwise as create2 (type 15, path and stat;
    /// a missing stat is written as zeros). Decodes with `op_type` 1 or 15.
    Create {
        op_type: i32,
        path: String,
        stat: Option<Stat>,
    },
    Delete,
    SetData {
        stat: Stat,
    },
    Check,
    GetChildren {
        children: Vec<String>,
    },
    GetData {
        data: Option<Vec<u8>>,
        stat: Stat,
    },
    /// `ErrorResult`: err 0 marks an op that would have succeeded in a failed multi.
    Error {
        err: i32,
    },
}

/// `MultiResponse`: the body of a multi or multiRead reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    pub results: Vec<OpResult>,
}

impl Record for MultiResponse {
    fn decode(mut input: &[u8]) -> Decoded<'_, Self> {
        let mut results = Vec::new();
        loop {
            let (rest, h) = MultiHeader::decode(input)?;
            if h.done {
                return Ok((rest, MultiResponse { results }));
            }
            let (rest, result) = match h.op_type {
                t if t == OpCode::Create as i32 => {
                    map(rest, CreateResponse::decode, |r| OpResult::Create {
                        op_type: t,
                        path: r.path,
                        stat: None,
                    })?
                }
                t if t == OpCode::Create2 as i32 => {
                    map(rest, Create2Response::decode, |r| OpResult::Create {
                        op_type: t,
                        path: r.path,
                        stat: Some(r.stat),
                    })?
                }
                t if t == OpCode::Delete as i32 => (rest, OpResult::Delete),
                t if t == OpCode::Check as i32 => (rest, OpResult::Check),
                t if t == OpCode::SetData as i32 => map(rest, SetDataResponse::decode, |r| {
                    OpResult::SetData { stat: r.stat }
                })?,
                t if t == OpCode::GetChildren as i32 => {
                    map(rest, GetChildrenResponse::decode, |r| {
                        OpResult::GetChildren {
                            children: r.children,
                        }
                    })?
                }
                t if t == OpCode::GetData as i32 => {
                    map(rest, GetDataResponse::decode, |r| OpResult::GetData {
                        data: r.data,
                        stat: r.stat,
                    })?
                }
                t if t == OpCode::Error as i32 => map(rest, ErrorResponse::decode, |r| {
                    OpResult::Error { err: r.err }
                })?,
                _ => return Err(invalid_type(input)),
            };
            results.push(result);
            input = rest;
        }
    }

    fn encode(&self, out: &mut BytesMut) {
        for result in &self.results {
            let header = |op: OpCode, err: i32| MultiHeader {
                op_type: op as i32,
                done: false,
                err,
            };
            match result {
                OpResult::Create {
                    op_type,
                    path,
                    stat,
                } if *op_type == OpCode::Create as i32 => {
                    let _ = stat;
                    header(OpCode::Create, 0).encode(out);
                    put_ustring(out, path);
                }
                OpResult::Create { path, stat, .. } => {
                    header(OpCode::Create2, 0).encode(out);
                    put_ustring(out, path);
                    stat.unwrap_or_default().encode(out);
                }
                OpResult::Delete => header(OpCode::Delete, 0).encode(out),
                OpResult::Check => header(OpCode::Check, 0).encode(out),
                OpResult::SetData { stat } => {
                    header(OpCode::SetData, 0).encode(out);
                    stat.encode(out);
                }
                OpResult::GetChildren { children } => {
                    header(OpCode::GetChildren, 0).encode(out);
                    put_vector(out, children, |out, c| put_ustring(out, c));
                }
                OpResult::GetData { data, stat } => {
                    header(OpCode::GetData, 0).encode(out);
                    put_buffer(out, data.as_deref());
                    stat.encode(out);
                }
                OpResult::Error { err } => {
                    header(OpCode::Error, *err).encode(out);
                    put_int(out, *err);
                }
            }
        }
        MultiHeader::DONE.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::data::Acl;
    use crate::proto::jute::testing::assert_round_trip;

    fn create(path: &str) -> CreateRequest {
        CreateRequest {
            path: path.into(),
            data: Some(b"d".to_vec()),
            acl: Acl::open_unsafe(),
            flags: 0,
        }
    }

    #[test]
    fn multi_request_round_trips() {
        let req = MultiRequest {
            ops: vec![
                MultiOp::Create(create("/a")),
                MultiOp::Create2(create("/b")),
                MultiOp::CreateContainer(create("/c")),
                MultiOp::CreateTtl(CreateTtlRequest {
                    path: "/t".into(),
                    ttl: 5,
                    flags: 5,
                    ..Default::default()
                }),
                MultiOp::Delete(DeleteRequest {
                    path: "/a".into(),
                    version: -1,
                }),
                MultiOp::SetData(SetDataRequest {
                    path: "/b".into(),
                    data: None,
                    version: 0,
                }),
                MultiOp::Check(CheckVersionRequest {
                    path: "/b".into(),
                    version: 1,
                }),
                MultiOp::GetChildren(GetChildrenRequest {
                    path: "/".into(),
                    watch: false,
                }),
                MultiOp::GetData(GetDataRequest {
                    path: "/b".into(),
                    watch: false,
                }),
            ],
        };
        let b = assert_round_trip(&req);
        // First header: type create, not done, err -1.
        assert_eq!(&b[..9], &[0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&b[b.len() - 9..], &MultiHeader::DONE.to_bytes()[..]);
        assert_eq!(assert_round_trip(&MultiRequest::default()).len(), 9);
    }

    #[test]
    fn unknown_op_type_is_bad_bytes() {
        let mut b = BytesMut::new();
        MultiHeader {
            op_type: OpCode::Exists as i32,
            done: false,
            err: -1,
        }
        .encode(&mut b);
        put_ustring(&mut b, "/a");
        put_bool(&mut b, false);
        MultiHeader::DONE.encode(&mut b);
        assert!(matches!(MultiRequest::decode(&b), Err(nom::Err::Error(_))));
    }

    #[test]
    fn multi_response_round_trips() {
        let stat = Stat {
            mzxid: 3,
            ..Default::default()
        };
        let resp = MultiResponse {
            results: vec![
                OpResult::Create {
                    op_type: 1,
                    path: "/a".into(),
                    stat: None,
                },
                OpResult::Create {
                    op_type: 15,
                    path: "/b".into(),
                    stat: Some(stat),
                },
                OpResult::Delete,
                OpResult::SetData { stat },
                OpResult::Check,
                OpResult::GetChildren {
                    children: vec!["x".into()],
                },
                OpResult::GetData { data: None, stat },
                OpResult::Error { err: -101 },
            ],
        };
        assert_round_trip(&resp);
    }

    #[test]
    fn error_result_framing() {
        let b = MultiResponse {
            results: vec![OpResult::Error { err: -110 }, OpResult::Error { err: -2 }],
        }
        .to_bytes();
        let mut want = BytesMut::new();
        for err in [-110, -2] {
            MultiHeader {
                op_type: -1,
                done: false,
                err,
            }
            .encode(&mut want);
            put_int(&mut want, err);
        }
        MultiHeader::DONE.encode(&mut want);
        assert_eq!(b, want);
    }

    #[test]
    fn container_and_ttl_results_encode_as_create2() {
        let b = MultiResponse {
            results: vec![OpResult::Create {
                op_type: OpCode::CreateTtl as i32,
                path: "/t".into(),
                stat: None,
            }],
        }
        .to_bytes();
        let (_, back) = MultiResponse::decode(&b).unwrap();
        assert_eq!(
            back.results,
            vec![OpResult::Create {
                op_type: 15,
                path: "/t".into(),
                stat: Some(Stat::default()),
            }]
        );
    }
}
