//! Once recovery is done the server turns transparent huge pages off for
//! itself (a first touch of a huge page zeroes 2 MiB on the thread that
//! allocates, stalling the event loop): the kernel reports it in
//! `/proc/<pid>/status` as `THP_enabled: 0`.

mod common;

use common::{target_is_zookeeper, TestServer};

#[test]
fn a_serving_server_has_transparent_huge_pages_off() {
    if target_is_zookeeper() {
        return;
    }
    let server = TestServer::start_with(2000, "");
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) else {
        eprintln!("this kernel does not report THP_enabled; nothing to check");
        return;
    };
    assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
}
