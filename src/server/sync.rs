//! The sync (log) stage: where txns become durable before final applies them.
//!
//! Items arrive in prep's order and leave in the same order. The log is kept
//! in memory for now (durability lands with the on-disk txn log); the stage
//! exists so that writes already take the path they will take then: reads wait
//! behind writes that came before them, as in `SyncRequestProcessor`.

use actix::prelude::*;

use crate::server::final_stage::{Apply, FinalStage};
use crate::server::pipeline::Work;

/// Items to log, in order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Log(pub Work);

pub struct SyncStage {
    next: Addr<FinalStage>,
    /// Highest zxid handed on; txns must arrive in increasing zxid order.
    last_zxid: i64,
}

impl SyncStage {
    pub fn new(next: Addr<FinalStage>) -> Self {
        SyncStage { next, last_zxid: 0 }
    }
}

impl Actor for SyncStage {
    type Context = Context<Self>;
}

impl Handler<Log> for SyncStage {
    type Result = ();
    fn handle(&mut self, Log(work): Log, _: &mut Context<Self>) {
        if let Some(zxid) = work.zxid() {
            debug_assert!(zxid > self.last_zxid, "zxids must increase");
            self.last_zxid = zxid;
        }
        self.next.do_send(Apply(work));
    }
}
