//! Packet headers of jute module `org.apache.zookeeper.proto`: `RequestHeader`
//! (before every client request body), `ReplyHeader` (before every server reply and
//! notification) and `MultiHeader` (before each op of a multi request/response).

use super::wire::jute_record;

/// xid of a watch notification (`ClientCnxn.NOTIFICATION_XID`); its ReplyHeader has zxid -1.
pub const XID_NOTIFICATION: i32 = -1;
/// xid of a ping and its reply (`ClientCnxn.PING_XID`).
pub const XID_PING: i32 = -2;
/// xid of an auth packet and its reply (`ClientCnxn.AUTHPACKET_XID`).
pub const XID_AUTH: i32 = -4;
/// xid of the setWatches request a client sends after reconnecting (`ClientCnxn.SET_WATCHES_XID`).
pub const XID_SET_WATCHES: i32 = -8;

jute_record! {
    /// `RequestHeader { int xid; int type; }`: `op_type` is an `OpCode` value.
    RequestHeader {
        xid: i32,
        op_type: i32,
    }
}

jute_record! {
    /// `ReplyHeader { int xid; long zxid; int err; }`: `err` is a `KeeperException.Code`.
    /// On error Java sends the header alone (no body), see `FinalRequestProcessor`.
    ReplyHeader {
        xid: i32,
        zxid: i64,
        err: i32,
    }
}

jute_record! {
    /// `MultiHeader { int type; boolean done; int err; }`: precedes each op of a multi;
    /// `{-1, true, -1}` terminates the list (`MultiOperationRecord.serialize`).
    MultiHeader {
        op_type: i32,
        done: bool,
        err: i32,
    }
}

impl MultiHeader {
    /// The terminator written after the last op or result.
    pub const DONE: MultiHeader = MultiHeader {
        op_type: -1,
        done: true,
        err: -1,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::testing::assert_round_trip;

    #[test]
    fn headers_round_trip() {
        let b = assert_round_trip(&RequestHeader {
            xid: XID_PING,
            op_type: 11,
        });
        assert_eq!(&b[..], &[0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11]);
        let b = assert_round_trip(&ReplyHeader {
            xid: 7,
            zxid: 0x1_0000_0002,
            err: -101,
        });
        assert_eq!(b.len(), 16);
        let b = assert_round_trip(&MultiHeader::DONE);
        assert_eq!(&b[..], &[0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]);
    }
}
