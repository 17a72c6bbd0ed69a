//! Server reply bodies of jute module `org.apache.zookeeper.proto` (what follows a
//! `ReplyHeader` with err 0). Which op answers with which record is decided in
//! [`super::response::Response`], after `FinalRequestProcessor.java`.

use super::data::{Acl, ClientInfo, Stat};
use super::wire::jute_record;

jute_record! {
    /// `CreateResponse` (create): the actual path (with sequence suffix).
    CreateResponse { path: String }
}

jute_record! {
    /// `Create2Response` (create2, createContainer and createTTL all answer this).
    Create2Response { path: String, stat: Stat }
}

jute_record! {
    /// `ExistsResponse`; a missing node is err NoNode with no body.
    ExistsResponse { stat: Stat }
}

jute_record! {
    /// `GetDataResponse`; also the reply to reconfig (the new config as data).
    GetDataResponse {
        data: Option<Vec<u8>>,
        stat: Stat,
    }
}

jute_record! {
    /// `SetDataResponse`.
    SetDataResponse { stat: Stat }
}

jute_record! {
    /// `GetACLResponse`.
    GetAclResponse { acl: Vec<Acl>, stat: Stat }
}

jute_record! {
    /// `SetACLResponse`.
    SetAclResponse { stat: Stat }
}

jute_record! {
    /// `GetChildrenResponse`: child names, not paths.
    GetChildrenResponse { children: Vec<String> }
}

jute_record! {
    /// `GetChildren2Response`.
    GetChildren2Response {
        children: Vec<String>,
        stat: Stat,
    }
}

jute_record! {
    /// `SyncResponse`: echoes the request path.
    SyncResponse { path: String }
}

jute_record! {
    /// `GetAllChildrenNumberResponse`.
    GetAllChildrenNumberResponse { total_number: i32 }
}

jute_record! {
    /// `GetEphemeralsResponse`: full paths.
    GetEphemeralsResponse { ephemerals: Vec<String> }
}

jute_record! {
    /// `WhoAmIResponse`.
    WhoAmIResponse { client_info: Vec<ClientInfo> }
}

jute_record! {
    /// `ErrorResponse`: only used inside a multi response (`OpResult.ErrorResult`).
    ErrorResponse { err: i32 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::testing::assert_round_trip;

    fn stat() -> Stat {
        Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            data_length: 9,
            num_children: 10,
            pzxid: 11,
        }
    }

    #[test]
    fn responses_round_trip() {
        assert_round_trip(&CreateResponse {
            path: "/a0000000001".into(),
        });
        assert_round_trip(&Create2Response {
            path: "/a".into(),
            stat: stat(),
        });
        assert_eq!(
            assert_round_trip(&ExistsResponse { stat: stat() }).len(),
            68
        );
        assert_round_trip(&GetDataResponse {
            data: Some(b"x".to_vec()),
            stat: stat(),
        });
        assert_round_trip(&GetDataResponse {
            data: None,
            stat: stat(),
        });
        assert_round_trip(&SetDataResponse { stat: stat() });
        assert_round_trip(&GetAclResponse {
            acl: Acl::open_unsafe(),
            stat: stat(),
        });
        assert_round_trip(&SetAclResponse { stat: stat() });
        assert_round_trip(&GetChildrenResponse {
            children: vec!["a".into(), "b".into()],
        });
        assert_round_trip(&GetChildren2Response {
            children: vec![],
            stat: stat(),
        });
        assert_round_trip(&SyncResponse { path: "/".into() });
        assert_round_trip(&GetAllChildrenNumberResponse { total_number: 12 });
        assert_round_trip(&GetEphemeralsResponse {
            ephemerals: vec!["/e".into()],
        });
        assert_round_trip(&WhoAmIResponse {
            client_info: vec![ClientInfo {
                auth_scheme: "ip".into(),
                user: "127.0.0.1".into(),
            }],
        });
        assert_round_trip(&ErrorResponse { err: -101 });
    }
}
