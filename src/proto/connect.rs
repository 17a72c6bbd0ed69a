//! The session handshake: `ConnectRequest` (the first frame a client sends, with no
//! RequestHeader) and `ConnectResponse` (the first frame the server answers, with
//! no ReplyHeader).
//!
//! Quirk: the trailing `readOnly` boolean is optional on the wire. Clients up to
//! 3.3 neither send nor expect it; Java reads it only if present and answers with
//! it only if the client sent it (`compat/ProtocolManager.java`,
//! `deserializeConnectRequest` / `serializeConnectResponse`). So `decode` reads it
//! only when a byte remains and `encode` writes it only when `Some`.

use super::jute::*;
use bytes::BytesMut;

/// `ConnectRequest`; `session_id` 0 asks for a new session, `passwd` is 16 zero
/// bytes then. A null passwd reads as empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

/// `ConnectResponse`; `time_out` is the negotiated timeout, and a session the
/// server refuses (expired, bad password) is answered with `time_out` 0 and
/// `session_id` 0 before the connection closes (`ZooKeeperServer.finishSessionInit`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

/// The optional trailing boolean: absent if the input is exhausted.
fn optional_bool(input: &[u8]) -> Decoded<'_, Option<bool>> {
    if input.is_empty() {
        return Ok((input, None));
    }
    let (input, b) = boolean(input)?;
    Ok((input, Some(b)))
}

impl Record for ConnectRequest {
    fn decode(input: &[u8]) -> Decoded<'_, Self> {
        let (input, protocol_version) = int(input)?;
        let (input, last_zxid_seen) = long(input)?;
        let (input, time_out) = int(input)?;
        let (input, session_id) = long(input)?;
        let (input, passwd) = buffer_or_empty(input)?;
        let (input, read_only) = optional_bool(input)?;
        Ok((
            input,
            ConnectRequest {
                protocol_version,
                last_zxid_seen,
                time_out,
                session_id,
                passwd,
                read_only,
            },
        ))
    }

    fn encode(&self, out: &mut BytesMut) {
        put_int(out, self.protocol_version);
        put_long(out, self.last_zxid_seen);
        put_int(out, self.time_out);
        put_long(out, self.session_id);
        put_buffer(out, Some(&self.passwd));
        if let Some(ro) = self.read_only {
            put_bool(out, ro);
        }
    }
}

impl Record for ConnectResponse {
    fn decode(input: &[u8]) -> Decoded<'_, Self> {
        let (input, protocol_version) = int(input)?;
        let (input, time_out) = int(input)?;
        let (input, session_id) = long(input)?;
        let (input, passwd) = buffer_or_empty(input)?;
        let (input, read_only) = optional_bool(input)?;
        Ok((
            input,
            ConnectResponse {
                protocol_version,
                time_out,
                session_id,
                passwd,
                read_only,
            },
        ))
    }

    fn encode(&self, out: &mut BytesMut) {
        put_int(out, self.protocol_version);
        put_int(out, self.time_out);
        put_long(out, self.session_id);
        put_buffer(out, Some(&self.passwd));
        if let Some(ro) = self.read_only {
            put_bool(out, ro);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::testing::{assert_prefixes_fail, assert_round_trip};

    fn request(read_only: Option<bool>) -> ConnectRequest {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x1_0000_0005,
            time_out: 30_000,
            session_id: 0x0100_0000_0000_0001,
            passwd: vec![0; 16],
            read_only,
        }
    }

    #[test]
    fn connect_request_without_read_only_round_trips() {
        let b = assert_round_trip(&request(None));
        assert_eq!(b.len(), 44);
    }

    #[test]
    fn connect_request_with_read_only_round_trips() {
        let value = request(Some(true));
        let b = value.to_bytes();
        assert_eq!(b.len(), 45);
        assert_eq!(ConnectRequest::decode(&b).unwrap().1, value);
        // Dropping the last byte is a valid old-style request; shorter is never Ok.
        assert_eq!(ConnectRequest::decode(&b[..44]).unwrap().1, request(None));
        assert_prefixes_fail(&b[..44], |p| ConnectRequest::decode(p).is_ok());
    }

    #[test]
    fn connect_response_round_trips() {
        let value = ConnectResponse {
            protocol_version: 0,
            time_out: 4000,
            session_id: 77,
            passwd: (0..16).collect(),
            read_only: None,
        };
        assert_eq!(assert_round_trip(&value).len(), 36);
        let ro = ConnectResponse {
            read_only: Some(false),
            ..value.clone()
        };
        let b = ro.to_bytes();
        assert_eq!(ConnectResponse::decode(&b).unwrap().1, ro);
        assert_eq!(ConnectResponse::decode(&b[..36]).unwrap().1, value);
        assert_prefixes_fail(&b[..36], |p| ConnectResponse::decode(p).is_ok());
    }

    #[test]
    fn null_passwd_reads_as_empty() {
        let mut b = BytesMut::new();
        put_int(&mut b, 0);
        put_long(&mut b, 0);
        put_int(&mut b, 10);
        put_long(&mut b, 0);
        put_buffer(&mut b, None);
        let (_, r) = ConnectRequest::decode(&b).unwrap();
        assert!(r.passwd.is_empty() && r.read_only.is_none());
    }
}
