//! The server: the actors and how they are wired.
//!
//! ```text
//! client ─TCP─▶ session ─▶ prep ─▶ sync ─▶ final ─▶ session ─TCP─▶ client
//! ```
//! - [`listener`] accepts connections and starts a [`session`] actor for each.
//! - [`prep`] validates and turns writes into txns ([`prep_txn`], [`change_records`]),
//!   and tracks sessions ([`session_tracker`]).
//! - [`sync`] is the log stage; [`final_stage`] applies, fires watches, replies ([`reads`]).
//! - [`standalone`] wires the pipeline for a single server.

pub mod change_records;
pub mod final_stage;
pub mod four_letter;
pub mod listener;
pub mod pipeline;
pub mod prep;
pub mod prep_txn;
pub mod reads;
pub mod session;
pub mod session_tracker;
pub mod standalone;
pub mod sync;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use crate::config::Config;
use crate::tree::DataTree;

/// State every actor of one server may read.
pub struct Shared {
    pub config: Config,
    /// Written only by the final stage; prep and four-letter words read it.
    pub tree: Arc<RwLock<DataTree>>,
    connections: Mutex<HashMap<IpAddr, u32>>,
}

impl Shared {
    pub fn new(config: Config, tree: DataTree) -> Self {
        Shared {
            config,
            tree: Arc::new(RwLock::new(tree)),
            connections: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new connection from `ip`; false when `maxClientCnxns` is reached.
    pub fn connection_opened(&self, ip: IpAddr) -> bool {
        let mut map = self.connections.lock().expect("connections lock");
        let n = map.entry(ip).or_insert(0);
        let max = self.config.max_client_cnxns;
        if max != 0 && *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    pub fn connection_closed(&self, ip: IpAddr) {
        let mut map = self.connections.lock().expect("connections lock");
        if let Some(n) = map.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&ip);
            }
        }
    }

    pub fn connection_count(&self) -> u32 {
        self.connections
            .lock()
            .expect("connections lock")
            .values()
            .sum()
    }
}
