//! Watch records: `WatcherEvent` (the body of a notification, xid -1), `SetWatches`
//! and `SetWatches2` (re-registering watches after a reconnect, xid -8), plus the
//! constants of `Watcher.Event.EventType`, `Watcher.Event.KeeperState`,
//! `Watcher.WatcherType` and `ZooDefs.AddWatchModes`.

use super::wire::jute_record;

/// `Watcher.Event.EventType` values carried in `WatcherEvent.event_type`.
pub mod event_type {
    pub const NONE: i32 = -1;
    pub const NODE_CREATED: i32 = 1;
    pub const NODE_DELETED: i32 = 2;
    pub const NODE_DATA_CHANGED: i32 = 3;
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
    pub const DATA_WATCH_REMOVED: i32 = 5;
    pub const CHILD_WATCH_REMOVED: i32 = 6;
    pub const PERSISTENT_WATCH_REMOVED: i32 = 7;
}

/// `Watcher.Event.KeeperState` values carried in `WatcherEvent.state`.
pub mod keeper_state {
    pub const UNKNOWN: i32 = -1;
    pub const DISCONNECTED: i32 = 0;
    pub const SYNC_CONNECTED: i32 = 3;
    pub const AUTH_FAILED: i32 = 4;
    pub const CONNECTED_READ_ONLY: i32 = 5;
    pub const SASL_AUTHENTICATED: i32 = 6;
    pub const CLOSED: i32 = 7;
    pub const EXPIRED: i32 = -112;
}

/// `Watcher.WatcherType`: the `type` of `CheckWatchesRequest` / `RemoveWatchesRequest`.
pub mod watcher_type {
    pub const CHILDREN: i32 = 1;
    pub const DATA: i32 = 2;
    pub const ANY: i32 = 3;
    pub const PERSISTENT: i32 = 4;
    pub const PERSISTENT_RECURSIVE: i32 = 5;
}

/// `ZooDefs.AddWatchModes`: the `mode` of `AddWatchRequest`.
pub mod add_watch_mode {
    pub const PERSISTENT: i32 = 0;
    pub const PERSISTENT_RECURSIVE: i32 = 1;
}

jute_record! {
    /// `WatcherEvent { int type; int state; ustring path; }`, sent after a
    /// `ReplyHeader { xid: -1, zxid: -1, err: 0 }` (`NIOServerCnxn.process`).
    WatcherEvent {
        event_type: i32,
        state: i32,
        path: String,
    }
}

jute_record! {
    /// `SetWatches`: watches to re-arm on a new connection; events that happened
    /// after `relative_zxid` fire immediately (`DataTree.setWatches`).
    SetWatches {
        relative_zxid: i64,
        data_watches: Vec<String>,
        exist_watches: Vec<String>,
        child_watches: Vec<String>,
    }
}

jute_record! {
    /// `SetWatches2`: `SetWatches` plus persistent and persistent-recursive watches (3.6+).
    SetWatches2 {
        relative_zxid: i64,
        data_watches: Vec<String>,
        exist_watches: Vec<String>,
        child_watches: Vec<String>,
        persistent_watches: Vec<String>,
        persistent_recursive_watches: Vec<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::testing::assert_round_trip;

    #[test]
    fn watch_records_round_trip() {
        assert_round_trip(&WatcherEvent {
            event_type: event_type::NODE_DATA_CHANGED,
            state: keeper_state::SYNC_CONNECTED,
            path: "/a/b".into(),
        });
        assert_round_trip(&SetWatches {
            relative_zxid: 42,
            data_watches: vec!["/a".into(), "/b".into()],
            exist_watches: vec![],
            child_watches: vec!["/".into()],
        });
        assert_round_trip(&SetWatches2 {
            relative_zxid: -1,
            data_watches: vec!["/x".into()],
            persistent_recursive_watches: vec!["/r".into()],
            ..Default::default()
        });
    }
}
