//! A life strip's side of the direct border swap (protocol 1.5): the
//! `Peers` op that tells it its neighbours, the tokens it registered to
//! receive their rows, and the links that send its own. The strip job
//! (`life.rs`) asks here whether a round's ghost rows have come, takes
//! them, and hands over its borders when a round ends.
//!
//! `Peers` body: `max_rows` u32 (the most rows a feed carries: the deepest
//! `ret` the head will ask for), then for the upper side and the lower
//! side in turn: `receive` token (16 bytes; the feed that brings that
//! neighbour's rows here), `address` string (where that neighbour's
//! worker listens), `send` token (16 bytes; the feed there that takes this
//! strip's rows). A dead edge's side is a zero token, an empty address and
//! a zero token.

use super::error::JobError;
use super::life_link::PeerLink;
use super::life_peers::{Inbox, PeerHub, Side, Token, MAX_FEED_ROWS, MAX_QUEUED};
use super::life_rows::put_rows;
use crate::protocol::{WireReader, WireWrite};
use std::cell::RefCell;
use std::rc::Rc;

pub struct StripPeers {
    hub: Rc<PeerHub>,
    inbox: Rc<RefCell<Inbox>>,
    /// Tokens registered for this strip, dropped with it.
    receive: Vec<Token>,
    up: Option<PeerLink>,
    down: Option<PeerLink>,
    words: usize,
}

/// One side of a `Peers` op, as the head writes it.
pub struct SideSpec {
    pub receive: Token,
    pub address: String,
    pub send: Token,
}

impl SideSpec {
    pub const DEAD: SideSpec = SideSpec { receive: [0; 16], address: String::new(), send: [0; 16] };

    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.receive);
        out.put_string(&self.address);
        out.extend_from_slice(&self.send);
    }

    fn read(r: &mut WireReader) -> Result<SideSpec, JobError> {
        let receive = read_token(r, "life.peers.receive")?;
        let address = r.string("life.peers.address")?;
        let send = read_token(r, "life.peers.send")?;
        Ok(SideSpec { receive, address, send })
    }

    fn is_dead(&self) -> bool {
        self.receive == [0; 16] && self.address.is_empty() && self.send == [0; 16]
    }
}

fn read_token(r: &mut WireReader, field: &'static str) -> Result<Token, JobError> {
    let mut t = [0u8; 16];
    t.copy_from_slice(r.take(16, field)?);
    Ok(t)
}

/// The body of a `Peers` op (after its op byte).
pub fn encode_peers(max_rows: u32, up: &SideSpec, down: &SideSpec) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_u32(max_rows);
    up.put(&mut out);
    down.put(&mut out);
    out
}

/// Bytes of ghost rows an inbox may hold for a strip of `width` cells.
pub fn inbox_bytes(width: u32, max_rows: u32) -> u64 {
    2 * MAX_QUEUED as u64 * u64::from(max_rows) * (width as u64).div_ceil(64) * 8
}

/// Where a strip is: what `Peers` is checked against.
pub struct StripShape {
    pub width: u32,
    pub rows: u32,
    pub generation: u64,
    pub dead_top: bool,
    pub dead_bottom: bool,
}

impl StripPeers {
    /// Reads a `Peers` op's body, registers the strip's tokens and starts
    /// dialing its neighbours.
    pub fn open(r: &mut WireReader, hub: &Rc<PeerHub>, shape: &StripShape) -> Result<StripPeers, JobError> {
        let max_rows = r.u32("life.peers.max_rows")?;
        let up = SideSpec::read(r)?;
        let down = SideSpec::read(r)?;
        r.finish("life peers")?;
        if max_rows == 0 || max_rows > shape.rows.min(MAX_FEED_ROWS) {
            return Err(JobError::bad_params(format!(
                "life: peers' max_rows {max_rows} is not in 1..={} (the strip's rows, at most {MAX_FEED_ROWS})",
                shape.rows.min(MAX_FEED_ROWS)
            )));
        }
        for (spec, dead, name) in [(&up, shape.dead_top, "upper"), (&down, shape.dead_bottom, "lower")] {
            let complete = spec.receive != [0; 16] && !spec.address.is_empty() && spec.send != [0; 16];
            if dead != spec.is_dead() || (!dead && !complete) {
                return Err(JobError::bad_params(format!(
                    "life: the {name} side of peers must be {} (its edge is {})",
                    if dead { "empty" } else { "two non-zero tokens and an address" },
                    if dead { "dead" } else { "shared with a neighbour" }
                )));
            }
        }
        let inbox = Rc::new(RefCell::new(Inbox::new(shape.width, max_rows, shape.generation)));
        let mut peers = StripPeers {
            hub: Rc::clone(hub),
            inbox,
            receive: Vec::new(),
            up: None,
            down: None,
            words: (shape.width as usize).div_ceil(64),
        };
        for (spec, side) in [(&up, Side::Above), (&down, Side::Below)] {
            if !spec.is_dead() {
                hub.register(spec.receive, &peers.inbox, side)?;
                peers.receive.push(spec.receive);
            }
        }
        if !up.is_dead() {
            peers.up = Some(PeerLink::open(&up.address, up.send, "upper", hub));
        }
        if !down.is_dead() {
            peers.down = Some(PeerLink::open(&down.address, down.send, "lower", hub));
        }
        Ok(peers)
    }

    /// The most rows a feed to this strip carries.
    pub fn max_rows(&self) -> u32 {
        self.inbox.borrow().max_rows
    }

    /// Why a link to a neighbour failed, if one did.
    pub fn failure(&self) -> Option<String> {
        self.up.iter().chain(&self.down).find_map(PeerLink::failure)
    }

    /// Whether the ghost rows for a round from `generation` have come from
    /// every neighbour.
    pub fn ready(&self, generation: u64) -> bool {
        let inbox = self.inbox.borrow();
        (self.up.is_none() || inbox.has(Side::Above, generation))
            && (self.down.is_none() || inbox.has(Side::Below, generation))
    }

    /// Takes a ready round's ghost rows, `depth` a side: the last rows the
    /// upper neighbour sent (its bottom), the first the lower one sent.
    pub fn take(&mut self, generation: u64, depth: usize) -> Result<(Vec<u64>, Vec<u64>), JobError> {
        let words = self.words;
        let mut inbox = self.inbox.borrow_mut();
        let mut side = |present: bool, side: Side| -> Result<Vec<u64>, JobError> {
            if !present {
                return Ok(Vec::new());
            }
            let rows = inbox.take(side, generation).unwrap_or_default();
            if rows.len() < depth * words {
                return Err(JobError::bad_params(format!(
                    "life: the {} neighbour sent {} ghost rows for generation {generation}; the step needs {depth}",
                    side.name(),
                    rows.len() / words.max(1)
                )));
            }
            Ok(match side {
                Side::Above => rows[rows.len() - depth * words..].to_vec(),
                Side::Below => rows[..depth * words].to_vec(),
            })
        };
        let above = side(self.up.is_some(), Side::Above)?;
        let below = side(self.down.is_some(), Side::Below)?;
        Ok((above, below))
    }

    /// A round ended at `generation`: the strip's top rows go up (the
    /// upper neighbour's lower ghosts), its bottom rows down.
    pub fn send(&mut self, generation: u64, top: &[u64], bottom: &[u64]) {
        self.inbox.borrow_mut().generation = generation;
        for (link, rows) in [(&self.up, top), (&self.down, bottom)] {
            if let Some(link) = link {
                let mut out = Vec::with_capacity(8 + rows.len() * 8);
                out.put_u64(generation);
                put_rows(&mut out, rows);
                link.send(out);
            }
        }
    }
}

impl Drop for StripPeers {
    fn drop(&mut self) {
        for token in &self.receive {
            self.hub.unregister(token);
        }
    }
}
