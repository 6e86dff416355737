//! Where a worker's life strips meet the border rows their neighbours send
//! them directly (protocol 1.5): a registry from a feed's token to the
//! strip waiting for it, and each strip's inbox of ghost rows.
//!
//! Everything here lives on the event loop thread (`Rc`, `RefCell`): a
//! `life-ghosts` feed job (`life_ghosts.rs`) puts rows into an inbox, and
//! wakes the loop so that the strip job, polled as a streaming job, can
//! start the round that waited for them. The links that *send* rows are in
//! `life_link.rs`; this file owns no socket and no thread.

use super::error::JobError;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::rc::{Rc, Weak};
use std::sync::Arc;

/// A feed's token: 128 random bits chosen by the head for one side of one
/// strip in one epoch. Zero is never a token (it marks a dead edge).
pub type Token = [u8; 16];

/// The most rows one feed frame may carry: the deepest ghost zone a head
/// asks for is 256 rows, so this is a bound, not a tuning knob.
pub const MAX_FEED_ROWS: u32 = 1024;
/// Generations a side's inbox holds: the one the strip waits for, and the
/// next (a neighbour can be one round ahead, never two: it needs this
/// strip's borders to go on).
pub const MAX_QUEUED: usize = 2;

/// Which neighbour rows came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The strip above: its bottom rows are this strip's upper ghosts.
    Above,
    /// The strip below: its top rows are this strip's lower ghosts.
    Below,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Above => "upper",
            Side::Below => "lower",
        }
    }
}

/// Ghost rows from both neighbours, by the generation they belong to.
pub struct Inbox {
    /// The board's width in cells, and in words a row.
    pub width: u32,
    words: usize,
    /// Most rows a feed frame may carry (the strip's `max_rows`).
    pub max_rows: u32,
    /// The strip's generation: rows for an earlier one are stale.
    pub generation: u64,
    above: VecDeque<(u64, Vec<u64>)>,
    below: VecDeque<(u64, Vec<u64>)>,
}

impl Inbox {
    pub fn new(width: u32, max_rows: u32, generation: u64) -> Inbox {
        let words = (width as usize).div_ceil(64);
        Inbox { width, words, max_rows, generation, above: VecDeque::new(), below: VecDeque::new() }
    }

    fn queue(&mut self, side: Side) -> &mut VecDeque<(u64, Vec<u64>)> {
        match side {
            Side::Above => &mut self.above,
            Side::Below => &mut self.below,
        }
    }

    /// Rows from the `side` neighbour at `generation`, already unpacked.
    pub fn push(&mut self, side: Side, generation: u64, rows: Vec<u64>) -> Result<(), JobError> {
        self.check_rows(side, rows.len() * 8)?;
        if generation < self.generation {
            return Err(JobError::bad_params(format!(
                "life-ghosts: rows for generation {generation} from the {} neighbour, but the strip is at {}",
                side.name(),
                self.generation
            )));
        }
        let queue = self.queue(side);
        if queue.len() >= MAX_QUEUED || queue.iter().any(|(g, _)| *g >= generation) {
            return Err(JobError::bad_params(format!(
                "life-ghosts: rows for generation {generation} from the {} neighbour run too far ahead \
                 (at most {MAX_QUEUED} generations wait, in order)",
                side.name()
            )));
        }
        queue.push_back((generation, rows));
        Ok(())
    }

    /// Whether `bytes` are 1 to `max_rows` whole rows: checked before
    /// they are unpacked.
    pub fn check_rows(&self, side: Side, bytes: usize) -> Result<(), JobError> {
        let row = self.words.max(1) * 8;
        if bytes % row != 0 || bytes == 0 || bytes / row > self.max_rows as usize {
            return Err(JobError::bad_params(format!(
                "life-ghosts: {bytes} row bytes from the {} neighbour are not 1 to {} whole rows of {row} bytes",
                side.name(),
                self.max_rows,
            )));
        }
        Ok(())
    }

    /// Whether the rows for `generation` from `side` have come.
    pub fn has(&self, side: Side, generation: u64) -> bool {
        let queue = if side == Side::Above { &self.above } else { &self.below };
        queue.front().is_some_and(|(g, _)| *g == generation)
    }

    /// Takes the rows for `generation` from `side`, if they have come.
    pub fn take(&mut self, side: Side, generation: u64) -> Option<Vec<u64>> {
        let queue = self.queue(side);
        if queue.front().is_some_and(|(g, _)| *g == generation) {
            return queue.pop_front().map(|(_, rows)| rows);
        }
        None
    }
}

/// What a worker lends the life strips and feeds on it: the registry of
/// tokens, and what a strip needs to dial its neighbours.
/// Where a feed's rows go: a strip's inbox (gone when the strip ends), and
/// which of its sides.
type Feeds = HashMap<Token, (Weak<RefCell<Inbox>>, Side)>;

pub struct PeerHub {
    feeds: RefCell<Feeds>,
    /// The worker's own cluster key: its neighbours share it.
    pub cluster_key: Option<Arc<Vec<u8>>>,
    /// Whether this worker's own --allow list accepts an address: the only
    /// addresses it dials (docs/SECURITY.md).
    pub may_dial: Arc<dyn Fn(IpAddr) -> bool + Send + Sync>,
    /// Wakes the event loop from a link's thread or after a feed arrived.
    pub wake: Arc<dyn Fn() + Send + Sync>,
}

impl PeerHub {
    pub fn new(
        cluster_key: Option<Arc<Vec<u8>>>,
        may_dial: Arc<dyn Fn(IpAddr) -> bool + Send + Sync>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Rc<PeerHub> {
        Rc::new(PeerHub { feeds: RefCell::new(HashMap::new()), cluster_key, may_dial, wake })
    }

    /// A hub for tests and fuzzing: no key, no loop to wake, and no
    /// address it may dial (fuzzed ops must not open connections).
    pub fn isolated() -> Rc<PeerHub> {
        PeerHub::new(None, Arc::new(|_: IpAddr| false), Arc::new(|| {}))
    }

    /// Makes `token` lead to `inbox`'s `side`.
    pub fn register(&self, token: Token, inbox: &Rc<RefCell<Inbox>>, side: Side) -> Result<(), JobError> {
        let mut feeds = self.feeds.borrow_mut();
        if token == [0; 16] || feeds.contains_key(&token) {
            return Err(JobError::bad_params("life: a feed token is zero or already in use on this worker"));
        }
        feeds.insert(token, (Rc::downgrade(inbox), side));
        Ok(())
    }

    pub fn unregister(&self, token: &Token) {
        self.feeds.borrow_mut().remove(token);
    }

    /// The inbox and side a feed's token leads to.
    pub fn lookup(&self, token: &Token) -> Option<(Weak<RefCell<Inbox>>, Side)> {
        self.feeds.borrow().get(token).cloned()
    }
}

/// Hex of a token, for messages.
pub fn token_hex(token: &Token) -> String {
    token.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbox_takes_whole_rows_in_order_and_at_most_two_generations() {
        let mut inbox = Inbox::new(128, 3, 10);
        assert!(inbox.push(Side::Above, 10, vec![0; 3]).is_err(), "half a row");
        assert!(inbox.push(Side::Above, 10, vec![0; 8]).is_err(), "more rows than max_rows");
        assert!(inbox.push(Side::Above, 9, vec![0; 2]).is_err(), "stale");
        inbox.push(Side::Above, 10, vec![1; 2]).expect("now");
        assert!(inbox.push(Side::Above, 10, vec![1; 2]).is_err(), "twice");
        inbox.push(Side::Above, 12, vec![2; 2]).expect("a round ahead");
        let err = inbox.push(Side::Above, 14, vec![3; 2]).expect_err("two ahead");
        assert!(err.message.contains("too far ahead"), "{err}");
        assert!(!inbox.has(Side::Below, 10));
        assert_eq!(inbox.take(Side::Above, 12), None, "in order");
        assert_eq!(inbox.take(Side::Above, 10), Some(vec![1; 2]));
        assert_eq!(inbox.take(Side::Above, 12), Some(vec![2; 2]));
    }

    #[test]
    fn a_token_leads_to_one_inbox_until_it_is_dropped() {
        let hub = PeerHub::isolated();
        let inbox = Rc::new(RefCell::new(Inbox::new(64, 4, 0)));
        let t = [7; 16];
        hub.register(t, &inbox, Side::Below).expect("first");
        assert!(hub.register(t, &inbox, Side::Above).is_err(), "taken");
        assert!(hub.register([0; 16], &inbox, Side::Above).is_err(), "zero");
        let (weak, side) = hub.lookup(&t).expect("registered");
        assert_eq!(side, Side::Below);
        drop(inbox);
        assert!(weak.upgrade().is_none(), "the strip has gone");
        hub.unregister(&t);
        assert!(hub.lookup(&t).is_none());
    }
}
