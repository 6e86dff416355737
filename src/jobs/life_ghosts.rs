//! `life-ghosts` (kind 11, protocol 1.5): a feed of border rows from one
//! life strip to its neighbour on another worker. The sending worker
//! submits it with the token the head gave the receiving strip; each input
//! Data frame is `generation` u64 then whole packed rows (as `life`'s
//! rows), put into the strip's inbox (`life_peers`). No partials; the
//! result is empty.

use super::context::WorkerContext;
use super::error::JobError;
use super::life_peers::{token_hex, Inbox, Side, Token};
use super::life_rows::get_rows;
use super::running::{PartialSink, RunningJob};
use crate::protocol::WireReader;
use std::cell::RefCell;
use std::rc::Weak;
use std::sync::Arc;

pub fn encode_params(token: &Token) -> Vec<u8> {
    token.to_vec()
}

struct Feed {
    token: Token,
    inbox: Weak<RefCell<Inbox>>,
    side: Side,
    wake: Arc<dyn Fn() + Send + Sync>,
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let mut r = WireReader::new(payload);
    let mut token = [0u8; 16];
    token.copy_from_slice(r.take(16, "life-ghosts.token")?);
    r.finish("life-ghosts params")?;
    let Some((inbox, side)) = ctx.peers.lookup(&token) else {
        return Err(JobError::bad_params(format!(
            "life-ghosts: no life strip on this worker waits for token {} (it ended, or was never told it)",
            token_hex(&token)
        )));
    };
    Ok(Box::new(Feed { token, inbox, side, wake: Arc::clone(&ctx.peers.wake) }))
}

impl RunningJob for Feed {
    fn input(&mut self, data: &[u8], _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        let Some(inbox) = self.inbox.upgrade() else {
            return Err(JobError::failed(format!(
                "life-ghosts: the life strip that token {} fed has ended",
                token_hex(&self.token)
            )));
        };
        let mut r = WireReader::new(data);
        let generation = r.u64("life-ghosts.generation")?;
        let bytes = r.take(r.remaining(), "life-ghosts.rows")?;
        let mut inbox = inbox.borrow_mut();
        inbox.check_rows(self.side, bytes.len())?;
        let mut rows = vec![0u64; bytes.len() / 8];
        get_rows(bytes, inbox.width, &mut rows)?;
        inbox.push(self.side, generation, rows)?;
        (self.wake)();
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        Ok(Vec::new())
    }
}
