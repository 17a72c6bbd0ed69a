//! `AuthPacket`: the body of an `addAuth` request (opcode 100, xid `XID_AUTH`).
//! The reply is a bare ReplyHeader with xid -4; a failed auth answers err
//! AuthFailed and then the server closes the session (`ZooKeeperServer.processPacket`).

use super::wire::jute_record;

jute_record! {
    /// `AuthPacket { int type; ustring scheme; buffer auth; }`: `auth_type` is
    /// always 0 from stock clients.
    AuthPacket {
        auth_type: i32,
        scheme: String,
        auth: Vec<u8>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::testing::assert_round_trip;

    #[test]
    fn auth_packet_round_trips() {
        assert_round_trip(&AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: b"user:secret".to_vec(),
        });
        assert_round_trip(&AuthPacket::default());
    }
}
