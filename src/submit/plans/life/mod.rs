//! The head half of `pisubmit life`: the lockstep driver of the strips
//! its options, the starting board, and when it checkpoints the board.

mod bad_part;
pub mod checkpoint;
pub mod driver;
pub mod fingerprint;
pub mod packed_strip;
mod partition;
pub mod peers;
pub mod runs;
pub mod survive;

use crate::life::pattern;
use crate::life::{Board, Edges};
use crate::submit::error::SubmitError;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Checkpoint {
    /// Whenever this much time has passed since the last one.
    Every(Duration),
    /// Every this many generations.
    Generations(u64),
    Off,
}

/// The most cells a board may have (the head holds the whole board, twice
/// during a checkpoint): 2^36 cells, 8 GiB packed.
pub const MAX_CELLS: u64 = 1 << 36;
/// Longest side, in cells.
pub const MAX_SIDE: u32 = 1 << 24;
/// A board with neither size given, nor a pattern that needs more.
pub const DEFAULT_SIDE: u32 = 512;

#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    /// An RLE or .cells file, centred.
    File(PathBuf),
    /// Each cell alive with this probability, from this seed.
    Random { density: f64, seed: u64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct LifeOpts {
    /// None: from the pattern (at least DEFAULT_SIDE, twice the pattern).
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub generations: u64,
    pub start: Start,
    /// None: from the pattern's bounded grid, else a torus.
    pub edges: Option<Edges>,
    /// Generations between border exchanges; None: chosen from measured
    /// round trip and compute time.
    pub exchange_every: Option<u32>,
    /// `--borders`; None: directly between workers when every worker can.
    pub borders: Option<peers::Borders>,
    pub checkpoint: Checkpoint,
    /// --checkpoint FILE: each checkpoint is written there too.
    pub checkpoint_file: Option<PathBuf>,
    /// The global --resume: go on from `checkpoint_file`.
    pub resume: bool,
    pub output: Option<PathBuf>,
    pub frames: Option<PathBuf>,
    /// Generations between frames (PNG and --show).
    pub every: Option<u64>,
    /// Pixels per cell in frames.
    pub scale: u32,
    pub show: bool,
    /// Pause after each --show drawing, so a small board can be watched.
    pub delay: Duration,
}

impl LifeOpts {
    pub fn edges(&self) -> Edges {
        self.edges.unwrap_or(Edges::Wrap)
    }
}

/// The starting board and its edges, from the options: everything wrong
/// with them is found here, before any worker is bothered.
pub fn initial_board(opts: &LifeOpts) -> Result<(Board, Edges), SubmitError> {
    let bad = |m: String| SubmitError::Usage(m);
    let pattern = match &opts.start {
        Start::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| bad(format!("--input {}: {e}", path.display())))?;
            Some(pattern::parse(&text, &path.display().to_string()).map_err(|e| bad(format!("--input {e}")))?)
        }
        Start::Random { .. } => None,
    };
    let grid = pattern.as_ref().and_then(|p| p.grid);
    // With no size given: the file's grid, or twice the pattern (room to
    // grow), and at least DEFAULT_SIDE.
    let fit = |given: Option<u32>, grid: Option<u32>, needed: u32| {
        given.or(grid).unwrap_or_else(|| needed.saturating_mul(2).max(DEFAULT_SIDE))
    };
    let (pw, ph) = pattern.as_ref().map_or((0, 0), |p| (p.width, p.height));
    let width = fit(opts.width, grid.map(|g| g.width), pw);
    let height = fit(opts.height, grid.map(|g| g.height), ph);
    if u64::from(width) * u64::from(height) > MAX_CELLS {
        return Err(bad(format!("life: a {width}x{height} board is more than {MAX_CELLS} cells")));
    }
    let edges = opts.edges.or(grid.map(|g| g.edges)).unwrap_or(Edges::Wrap);
    let mut board = Board::new(width, height);
    match (&opts.start, pattern) {
        (Start::File(path), Some(p)) => {
            p.place_centered(&mut board).map_err(|e| bad(format!("--input {}: {e}", path.display())))?
        }
        (Start::Random { density, seed }, _) => fill_random(&mut board, *density, *seed),
        _ => {}
    }
    Ok((board, edges))
}

/// Each cell alive with probability `density`, from `seed`
/// (`life::random`, which a worker uses to fill its own strip): replaces
/// the board's cells.
pub fn fill_random(board: &mut Board, density: f64, seed: u64) {
    let (width, height) = (board.width(), board.height());
    let mut words = vec![0; crate::life::board::words_per_row(width) * height as usize];
    crate::life::random::fill_rows(&mut words, width, 0, height, density, seed);
    board.put_rows(0, &words);
}
