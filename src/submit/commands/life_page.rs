//! Life on the `--serve` page: the generation reached, and the board, downscaled,
//! whenever the head holds it whole: each checkpoint (`--checkpoint-every`) and
//! each frame (`--frames`, `--show`). Gathering it more often would take the link
//! from the job.

use crate::life::{picture, Board};
use crate::submit::report::web::{BoardView, Hub};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The page's board is at most this many pixels on a side.
const MAX_SIDE: u32 = 512;
/// Generations can go by thousands a second: the page hears of them this often at most.
const EVERY: Duration = Duration::from_millis(100);

pub struct PageFeed {
    hub: Arc<Hub>,
    generations: u64,
    told: Option<Instant>,
    drawn: Option<Instant>,
}

impl PageFeed {
    pub fn new(hub: Arc<Hub>, generations: u64) -> PageFeed {
        hub.update_job(|job| job.pieces_total = Some(generations));
        PageFeed { hub, generations, told: None, drawn: None }
    }

    pub fn generation(&mut self, generation: u64) {
        if generation == self.generations || self.told.is_none_or(|t| t.elapsed() >= EVERY) {
            self.hub.update_job(|job| {
                job.life_generation = Some(generation);
                job.pieces_done = generation;
            });
            self.told = Some(Instant::now());
        }
    }

    pub fn board(&mut self, generation: u64, board: &Board) {
        if generation != self.generations && self.drawn.is_some_and(|t| t.elapsed() < EVERY * 5) {
            return;
        }
        match picture::png_downscaled(board, MAX_SIDE) {
            Ok(png) => self.hub.set_board(BoardView {
                generation,
                rows: u64::from(board.height()),
                cols: u64::from(board.width()),
                png: Arc::new(png),
            }),
            Err(e) => log::warn!("web page: no picture of the board: {e}"),
        }
        self.drawn = Some(Instant::now());
    }
}
