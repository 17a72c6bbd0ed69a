//! Jute encoding of the transaction records (`org.apache.zookeeper.txn`) whose
//! in-memory form lives in [`crate::txn`]: the write-ahead log stores
//! `TxnHeader` + body (+ optional `TxnDigest`) exactly as Apache ZooKeeper does.
//!
//! Quirks kept from `SerializeUtils.deserializeTxn` and `DataTree.processTxn`:
//! - create and create2 share `CreateTxn`; delete and deleteContainer share `DeleteTxn`;
//! - a create whose body ends right after `ephemeral` is a pre-3.3 `CreateTxnV0`,
//!   read with `parent_cversion` -1 (which triggers fix-up on apply);
//! - a closeSession with no body is a pre-3.6 log entry: no paths to delete;
//! - a multi body is `MultiTxn { vector<Txn { int type; buffer data }> }`, each
//!   sub-txn serialized into its own buffer; only create*, delete*, setData,
//!   check and error may appear inside.

use super::jute::*;
use super::opcode::OpCode;
use super::request::DecodeError;
use super::wire::{impl_record, jute_record};
use crate::txn::*;
use bytes::BytesMut;

impl_record!(TxnHeader {
    client_id,
    cxid,
    zxid,
    time,
    op_type
});
impl_record!(CreateTxn {
    path,
    data,
    acl,
    ephemeral,
    parent_cversion
});
impl_record!(CreateContainerTxn {
    path,
    data,
    acl,
    parent_cversion
});
impl_record!(CreateTtlTxn {
    path,
    data,
    acl,
    parent_cversion,
    ttl
});
impl_record!(DeleteTxn { path });
impl_record!(SetDataTxn {
    path,
    data,
    version
});
impl_record!(CheckVersionTxn { path, version });
impl_record!(SetAclTxn { path, acl, version });
impl_record!(CreateSessionTxn { time_out });
impl_record!(CloseSessionTxn { paths_to_delete });
impl_record!(ErrorTxn { err });

jute_record! {
    /// `TxnDigest`: the tree digest that may follow a txn in the log (3.6+,
    /// `ZooKeeperServer.isDigestEnabled`).
    TxnDigest {
        version: i32,
        tree_digest: i64,
    }
}

/// Appends the jute form of `body` (without header) to `out`.
pub fn encode_txn_body(body: &TxnBody, out: &mut BytesMut) {
    match body {
        TxnBody::Create(t) | TxnBody::Create2(t) => t.encode(out),
        TxnBody::CreateContainer(t) => t.encode(out),
        TxnBody::CreateTtl(t) => t.encode(out),
        TxnBody::Delete(t) | TxnBody::DeleteContainer(t) => t.encode(out),
        TxnBody::SetData(t) => t.encode(out),
        TxnBody::SetAcl(t) => t.encode(out),
        TxnBody::Check(t) => t.encode(out),
        TxnBody::CreateSession(t) => t.encode(out),
        TxnBody::CloseSession(t) => t.encode(out),
        TxnBody::Error(t) => t.encode(out),
        TxnBody::Multi(subs) => put_vector(out, subs, |out, sub| {
            put_int(out, sub.op_code() as i32);
            let mut data = BytesMut::new();
            encode_txn_body(sub, &mut data);
            put_buffer(out, Some(&data));
        }),
    }
}

/// Decodes a txn body of type `op_type` (`TxnHeader.type`), ignoring trailing bytes.
pub fn decode_txn_body(op_type: i32, input: &[u8]) -> Result<TxnBody, DecodeError> {
    decode_txn_body_prefix(op_type, input).map(|(body, _)| body)
}

/// Decodes a txn body from the front of `input` and returns what follows it
/// (a `TxnDigest`, in a log written with digests on).
pub fn decode_txn_body_prefix(op_type: i32, input: &[u8]) -> Result<(TxnBody, &[u8]), DecodeError> {
    use OpCode as O;
    let op = OpCode::from_i32(op_type).ok_or(DecodeError::Unsupported(op_type))?;
    fn rec<T: Record>(
        input: &[u8],
        wrap: impl Fn(T) -> TxnBody,
    ) -> Result<(TxnBody, &[u8]), DecodeError> {
        let (rest, t) = T::decode(input)?;
        Ok((wrap(t), rest))
    }
    match op {
        O::Create => match CreateTxn::decode(input) {
            Ok((rest, t)) => Ok((TxnBody::Create(t), rest)),
            Err(nom::Err::Incomplete(_)) => {
                let (rest, t) = create_txn_v0(input)?;
                Ok((TxnBody::Create(t), rest))
            }
            Err(e) => Err(e.into()),
        },
        O::Create2 => rec(input, TxnBody::Create2),
        O::CreateContainer => rec(input, TxnBody::CreateContainer),
        O::CreateTtl => rec(input, TxnBody::CreateTtl),
        O::Delete => rec(input, TxnBody::Delete),
        O::DeleteContainer => rec(input, TxnBody::DeleteContainer),
        O::SetData => rec(input, TxnBody::SetData),
        O::SetAcl => rec(input, TxnBody::SetAcl),
        O::Check => rec(input, TxnBody::Check),
        O::CreateSession => rec(input, TxnBody::CreateSession),
        O::CloseSession => match CloseSessionTxn::decode(input) {
            Ok((rest, t)) => Ok((TxnBody::CloseSession(t), rest)),
            // Pre-3.6 logs: closeSession has no body (SerializeUtils ignores the EOF).
            Err(nom::Err::Incomplete(_)) => Ok((TxnBody::CloseSession(Default::default()), input)),
            Err(e) => Err(e.into()),
        },
        O::Error => rec(input, TxnBody::Error),
        O::Multi => {
            let (rest, subs) = vector(input, |i| {
                let (i, t) = int(i)?;
                let (i, data) = buffer_or_empty(i)?;
                Ok((i, (t, data)))
            })?;
            let mut bodies = Vec::with_capacity(subs.len());
            for (t, data) in subs {
                bodies.push(decode_sub_txn(t, &data)?);
            }
            Ok((TxnBody::Multi(bodies), rest))
        }
        _ => Err(DecodeError::Unsupported(op_type)),
    }
}

/// A sub-txn of a multi: its buffer is complete, so running short is corruption.
fn decode_sub_txn(op_type: i32, data: &[u8]) -> Result<TxnBody, DecodeError> {
    let allowed = [
        OpCode::Create,
        OpCode::Create2,
        OpCode::CreateTtl,
        OpCode::CreateContainer,
        OpCode::Delete,
        OpCode::DeleteContainer,
        OpCode::SetData,
        OpCode::Error,
        OpCode::Check,
    ];
    match OpCode::from_i32(op_type) {
        Some(op) if allowed.contains(&op) => match decode_txn_body(op_type, data) {
            Err(DecodeError::Truncated) => Err(DecodeError::Malformed),
            other => other,
        },
        _ => Err(DecodeError::Malformed),
    }
}

/// `CreateTxnV0 { path, data, acl, ephemeral }`, upgraded with parent_cversion -1.
fn create_txn_v0(input: &[u8]) -> Decoded<'_, CreateTxn> {
    let (input, path) = ustring(input)?;
    let (input, data) = buffer(input)?;
    let (input, acl) = super::data::acl_list(input)?;
    let (input, ephemeral) = boolean(input)?;
    Ok((
        input,
        CreateTxn {
            path,
            data,
            acl,
            ephemeral,
            parent_cversion: -1,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::data::Acl;
    use crate::proto::jute::testing::{assert_prefixes_fail, assert_round_trip};

    fn create() -> CreateTxn {
        CreateTxn {
            path: "/a".into(),
            data: Some(b"x".to_vec()),
            acl: Acl::open_unsafe(),
            ephemeral: true,
            parent_cversion: 3,
        }
    }

    fn bodies() -> Vec<TxnBody> {
        let set = SetDataTxn {
            path: "/a".into(),
            data: None,
            version: 2,
        };
        vec![
            TxnBody::Create(create()),
            TxnBody::Create2(create()),
            TxnBody::CreateContainer(CreateContainerTxn {
                path: "/c".into(),
                data: Some(vec![]),
                acl: vec![],
                parent_cversion: 0,
            }),
            TxnBody::CreateTtl(CreateTtlTxn {
                path: "/t".into(),
                data: None,
                acl: Acl::read_unsafe(),
                parent_cversion: 1,
                ttl: 1000,
            }),
            TxnBody::Delete(DeleteTxn { path: "/a".into() }),
            TxnBody::DeleteContainer(DeleteTxn { path: "/c".into() }),
            TxnBody::SetData(set.clone()),
            TxnBody::SetAcl(SetAclTxn {
                path: "/a".into(),
                acl: Acl::open_unsafe(),
                version: 1,
            }),
            TxnBody::Check(CheckVersionTxn {
                path: "/a".into(),
                version: 1,
            }),
            TxnBody::CreateSession(CreateSessionTxn { time_out: 30000 }),
            TxnBody::CloseSession(CloseSessionTxn {
                paths_to_delete: vec!["/e".into()],
            }),
            TxnBody::Error(ErrorTxn { err: -110 }),
            TxnBody::Multi(vec![
                TxnBody::Create2(create()),
                TxnBody::SetData(set),
                TxnBody::Error(ErrorTxn { err: 0 }),
            ]),
        ]
    }

    #[test]
    fn records_round_trip() {
        assert_round_trip(&TxnHeader {
            client_id: 0x100,
            cxid: 3,
            zxid: 0x1_0000_0001,
            time: 1_700_000_000_000,
            op_type: 1,
        });
        assert_round_trip(&create());
        assert_round_trip(&ErrorTxn { err: -101 });
        assert_round_trip(&TxnDigest {
            version: 2,
            tree_digest: -5,
        });
    }

    #[test]
    fn every_body_round_trips_and_rejects_truncation() {
        for body in bodies() {
            let op = body.op_code() as i32;
            let mut b = BytesMut::new();
            encode_txn_body(&body, &mut b);
            assert_eq!(decode_txn_body(op, &b).unwrap(), body);
            let (_, rest) = decode_txn_body_prefix(op, &[&b[..], &[9, 9]].concat())
                .map(|(t, r)| (t, r.to_vec()))
                .unwrap();
            assert_eq!(rest, vec![9, 9]);
            let lenient = matches!(body, TxnBody::Create(_) | TxnBody::CloseSession(_));
            if !lenient {
                assert_prefixes_fail(&b, |p| decode_txn_body(op, p).is_ok());
            }
        }
    }

    #[test]
    fn v0_create_and_bodyless_close_session() {
        let mut b = create().to_bytes();
        b.truncate(b.len() - 4);
        let want = CreateTxn {
            parent_cversion: -1,
            ..create()
        };
        assert_eq!(decode_txn_body(1, &b), Ok(TxnBody::Create(want)));
        assert_eq!(
            decode_txn_body(-11, &[]),
            Ok(TxnBody::CloseSession(Default::default()))
        );
        // create2 has no V0 form.
        assert_eq!(decode_txn_body(15, &b), Err(DecodeError::Truncated));
    }

    #[test]
    fn bad_multi_sub_types_are_malformed() {
        let mut b = BytesMut::new();
        encode_txn_body(
            &TxnBody::Multi(vec![TxnBody::CreateSession(CreateSessionTxn {
                time_out: 1,
            })]),
            &mut b,
        );
        assert_eq!(decode_txn_body(14, &b), Err(DecodeError::Malformed));
        assert_eq!(decode_txn_body(16, &b), Err(DecodeError::Unsupported(16)));
    }
}
