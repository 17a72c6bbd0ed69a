//! Client request bodies of jute module `org.apache.zookeeper.proto` (what follows
//! the `RequestHeader`). One struct per jute class; `GetChildrenRequest` serves
//! both getChildren and getChildren2 (`GetChildren2Request` has the same fields).
//! `CheckWatchesRequest` and `RemoveWatchesRequest` carry a `Watcher.WatcherType`
//! (see [`super::watches::watcher_type`]) in `op_type` (jute field `type`).

use super::data::Acl;
use super::wire::jute_record;

jute_record! {
    /// `CreateRequest` (create, create2, createContainer): `flags` is a
    /// `CreateMode` flag (0 persistent, 1 ephemeral, 2 persistent-sequential,
    /// 3 ephemeral-sequential, 4 container; 5/6 are the TTL modes, which need
    /// `CreateTtlRequest`). Data may be null (-1) on the wire.
    CreateRequest {
        path: String,
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        flags: i32,
    }
}

jute_record! {
    /// `CreateTTLRequest` (createTTL).
    CreateTtlRequest {
        path: String,
        data: Option<Vec<u8>>,
        acl: Vec<Acl>,
        flags: i32,
        ttl: i64,
    }
}

jute_record! {
    /// `DeleteRequest`: `version` -1 matches any version.
    DeleteRequest { path: String, version: i32 }
}

jute_record! {
    /// `ExistsRequest`.
    ExistsRequest { path: String, watch: bool }
}

jute_record! {
    /// `GetDataRequest`.
    GetDataRequest { path: String, watch: bool }
}

jute_record! {
    /// `SetDataRequest`: `version` -1 matches any version.
    SetDataRequest {
        path: String,
        data: Option<Vec<u8>>,
        version: i32,
    }
}

jute_record! {
    /// `GetACLRequest`.
    GetAclRequest { path: String }
}

jute_record! {
    /// `SetACLRequest`: `version` is the expected aversion (-1 any).
    SetAclRequest {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    }
}

jute_record! {
    /// `GetChildrenRequest` / `GetChildren2Request` (identical wire form).
    GetChildrenRequest { path: String, watch: bool }
}

jute_record! {
    /// `CheckVersionRequest` (the `check` op of a multi).
    CheckVersionRequest { path: String, version: i32 }
}

jute_record! {
    /// `SyncRequest`.
    SyncRequest { path: String }
}

jute_record! {
    /// `GetAllChildrenNumberRequest`.
    GetAllChildrenNumberRequest { path: String }
}

jute_record! {
    /// `GetEphemeralsRequest`: an empty or "/" prefix means all of the session's ephemerals.
    GetEphemeralsRequest { prefix_path: String }
}

jute_record! {
    /// `AddWatchRequest`: `mode` is an [`super::watches::add_watch_mode`] value.
    AddWatchRequest { path: String, mode: i32 }
}

jute_record! {
    /// `CheckWatchesRequest`: `op_type` is a `WatcherType`.
    CheckWatchesRequest { path: String, op_type: i32 }
}

jute_record! {
    /// `RemoveWatchesRequest`: `op_type` is a `WatcherType`.
    RemoveWatchesRequest { path: String, op_type: i32 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::testing::assert_round_trip;

    #[test]
    fn create_requests_round_trip() {
        let b = assert_round_trip(&CreateRequest {
            path: "/a".into(),
            data: Some(b"hi".to_vec()),
            acl: Acl::open_unsafe(),
            flags: 3,
        });
        // path(4+2) data(4+2) acl(4 + 4 + 4+5 + 4+6) flags(4)
        assert_eq!(b.len(), 6 + 6 + 27 + 4);
        assert_round_trip(&CreateRequest {
            data: None,
            ..Default::default()
        });
        assert_round_trip(&CreateTtlRequest {
            path: "/t".into(),
            data: Some(vec![]),
            acl: Acl::read_unsafe(),
            flags: 5,
            ttl: 60_000,
        });
    }

    #[test]
    fn path_requests_round_trip() {
        let p = || "/some/path".to_string();
        assert_round_trip(&DeleteRequest {
            path: p(),
            version: -1,
        });
        assert_round_trip(&ExistsRequest {
            path: p(),
            watch: true,
        });
        assert_round_trip(&GetDataRequest {
            path: p(),
            watch: false,
        });
        assert_round_trip(&SetDataRequest {
            path: p(),
            data: Some(vec![0, 1, 2]),
            version: 4,
        });
        assert_round_trip(&GetAclRequest { path: p() });
        assert_round_trip(&SetAclRequest {
            path: p(),
            acl: Acl::open_unsafe(),
            version: 0,
        });
        assert_round_trip(&GetChildrenRequest {
            path: p(),
            watch: true,
        });
        assert_round_trip(&CheckVersionRequest {
            path: p(),
            version: 9,
        });
        assert_round_trip(&SyncRequest { path: p() });
        assert_round_trip(&GetAllChildrenNumberRequest { path: p() });
        assert_round_trip(&GetEphemeralsRequest { prefix_path: p() });
        assert_round_trip(&AddWatchRequest { path: p(), mode: 1 });
        assert_round_trip(&CheckWatchesRequest {
            path: p(),
            op_type: 3,
        });
        assert_round_trip(&RemoveWatchesRequest {
            path: p(),
            op_type: 2,
        });
    }
}
