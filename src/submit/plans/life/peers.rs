//! How the strips' borders travel: through the head (every worker), or
//! directly between neighbouring workers (protocol 1.5, `--borders peers`).
//! This file chooses, and writes each strip's `Peers` op: fresh random
//! tokens for every epoch, so that a feed from a strip of a cancelled epoch
//! can never reach a strip of the next.

use crate::jobs::life::OP_PEERS;
use crate::jobs::life_peers::Token;
use crate::jobs::life_swap::{encode_peers, SideSpec};
use crate::life::Edges;
use crate::protocol::auth;
use crate::protocol::versions::PEER_BORDERS_SINCE;
use crate::submit::cluster::engine::Engine;
use crate::submit::error::SubmitError;

/// `--borders`: who carries the borders between rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Borders {
    /// Neighbouring workers send them to each other (when all can).
    Peers,
    /// The head relays them, as workers before 1.5 need.
    Head,
}

impl Borders {
    pub fn parse(text: &str) -> Option<Borders> {
        [Borders::Peers, Borders::Head].into_iter().find(|b| b.name() == text)
    }

    pub fn name(self) -> &'static str {
        match self {
            Borders::Peers => "peers",
            Borders::Head => "head",
        }
    }
}

/// Whether every one of `links` runs a worker that swaps borders directly;
/// otherwise the names of those that do not.
pub fn unable(engine: &Engine, links: &[usize]) -> Vec<String> {
    links.iter().filter(|&&l| !engine.link_may_send(l, PEER_BORDERS_SINCE)).map(|&l| engine.link_name(l)).collect()
}

/// Each strip's `Peers` op for strips on `links` (top to bottom), whose
/// feeds carry at most `max_rows` rows.
pub fn peer_ops(engine: &Engine, links: &[usize], edges: Edges, max_rows: u32) -> Result<Vec<Vec<u8>>, SubmitError> {
    let n = links.len();
    let token = || -> Result<Token, SubmitError> {
        auth::nonce().map_err(|e| SubmitError::Job(format!("life: no random token for the border feeds: {e}")))
    };
    // receive[i]: (rows from above, rows from below) into strip i.
    let mut receive = Vec::with_capacity(n);
    for _ in 0..n {
        receive.push((token()?, token()?));
    }
    let wrap = edges == Edges::Wrap;
    let ops = (0..n)
        .map(|i| {
            let (above, below) = ((i + n - 1) % n, (i + 1) % n);
            let up = if wrap || i > 0 {
                SideSpec { receive: receive[i].0, address: engine.link_address(links[above]), send: receive[above].1 }
            } else {
                SideSpec::DEAD
            };
            let down = if wrap || i + 1 < n {
                SideSpec { receive: receive[i].1, address: engine.link_address(links[below]), send: receive[below].0 }
            } else {
                SideSpec::DEAD
            };
            let mut op = vec![OP_PEERS];
            op.extend(encode_peers(max_rows, &up, &down));
            op
        })
        .collect();
    Ok(ops)
}
