//! `pisubmit life`: Conway's Game of Life on a board cut over every worker
//! (seed 004's planned first demo). `cli` reads the options, `driver` runs
//! the rounds; this file builds the board, writes frames and the report.

use crate::life::pattern::{self, to_rle};
use crate::life::{picture, show, Board, Edges};
use crate::submit::cli::life::{LifeOpts, Start, DEFAULT_SIDE, MAX_CELLS};
use crate::submit::cli::Invocation;
use crate::submit::cluster::engine::Engine;
use crate::submit::cluster::hosts::HostsFile;
use crate::submit::commands::{engine_options, host_json, ms};
use crate::submit::error::SubmitError;
use crate::submit::plans::life::driver::{DriverOpts, Outcome, Snapshots};
use crate::submit::report::json::Json;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub fn run(inv: &Invocation, opts: &LifeOpts) -> Result<String, SubmitError> {
    let started = Instant::now();
    // Everything that can be wrong with the command line is found before
    // any worker is bothered.
    let (board, edges) = initial_board(opts)?;
    let opts = &LifeOpts { edges: Some(edges), ..opts.clone() };
    if let Some(dir) = &opts.frames {
        std::fs::create_dir_all(dir)
            .map_err(|e| SubmitError::Usage(format!("--frames: cannot create {}: {e}", dir.display())))?;
    }
    let mut frames = Frames::new(opts, inv.quiet);
    frames.frame(0, &board)?;
    if opts.generations == 0 {
        return finish(inv, opts, board, Outcome::default(), started.elapsed(), &[]);
    }
    let hosts_file = match &inv.hosts_file {
        Some(path) => Some(HostsFile::open(path).map_err(SubmitError::Usage)?.0),
        None => None,
    };
    let mut engine = Engine::connect(inv.hosts.clone(), hosts_file, engine_options(inv, started)?)?;
    let driver_opts = DriverOpts {
        edges: opts.edges(),
        generations: opts.generations,
        exchange_every: opts.exchange_every,
        checkpoint: opts.checkpoint,
        every: (opts.frames.is_some() || opts.show).then_some(opts.every.unwrap_or(1)),
        deadline: inv.timeout.map(|t| started + t),
    };
    let run_started = Instant::now();
    let (board, outcome) = crate::submit::plans::life::driver::run(&mut engine, board, &driver_opts, &mut frames)?;
    let wall = run_started.elapsed();
    frames.bar.finish_and_clear();
    frames.frame(opts.generations, &board)?;
    let reports = engine.reports();
    let hosts: Vec<Json> = reports.iter().map(|r| Json::obj(host_json(r))).collect();
    finish(inv, opts, board, outcome, wall, &hosts)
}

/// The board at generation 0, from the file or the random fill, and its
/// edges (the flag's, else the file's bounded grid, else a torus).
fn initial_board(opts: &LifeOpts) -> Result<(Board, Edges), SubmitError> {
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

/// Each cell alive with probability `density`: xorshift64* seeded from
/// `seed`, cells in row-major order, alive when the top 53 bits of the
/// next number, as a fraction of 2^53, are below `density`.
pub fn fill_random(board: &mut Board, density: f64, seed: u64) {
    let mut s = seed ^ 0x9E37_79B9_7F4A_7C15;
    if s == 0 {
        s = 1;
    }
    let threshold = (density * (1u64 << 53) as f64) as u64;
    for y in 0..board.height() {
        for x in 0..board.width() {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            if r < threshold {
                board.set(x, y, true);
            }
        }
    }
}

/// Where snapshots go: PNG files and the terminal.
struct Frames {
    dir: Option<PathBuf>,
    scale: u32,
    show: bool,
    delay: Duration,
    /// Generations done, on stderr when it is a terminal (not with --show,
    /// which draws there, nor --quiet).
    bar: indicatif::ProgressBar,
}

impl Frames {
    fn new(opts: &LifeOpts, quiet: bool) -> Frames {
        use std::io::IsTerminal;
        let drawn = !quiet && !opts.show && std::io::stderr().is_terminal();
        let target =
            if drawn { indicatif::ProgressDrawTarget::stderr() } else { indicatif::ProgressDrawTarget::hidden() };
        let bar = indicatif::ProgressBar::with_draw_target(Some(opts.generations), target);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:30} generation {pos}/{len}  {per_sec}  ETA {eta}")
        {
            bar.set_style(style);
        }
        Frames { bar, dir: opts.frames.clone(), scale: opts.scale, show: opts.show, delay: opts.delay }
    }
}

impl Snapshots for Frames {
    fn frame(&mut self, generation: u64, board: &Board) -> Result<(), SubmitError> {
        if let Some(dir) = &self.dir {
            let path = dir.join(picture::frame_name(generation));
            picture::write_png(board, &path, self.scale).map_err(SubmitError::Job)?;
        }
        if self.show {
            let (rows, cols) = console::Term::stderr().size();
            let (rows, cols) = (usize::from(rows).saturating_sub(2).max(4), usize::from(cols).max(20));
            let picture = show::render(board, cols, rows);
            let factor = show::shrink_factor(board, cols, rows);
            let scale = if factor > 1 { format!(", 1 dot = {factor}x{factor} cells") } else { String::new() };
            // Home and clear, then the board: a redraw in place.
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\x1b[H\x1b[2J{picture}\ngeneration {generation}, population {}{scale}\n",
                board.population()
            );
            let _ = err.flush();
            std::thread::sleep(self.delay);
        }
        Ok(())
    }

    fn note(&mut self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    fn progress(&mut self, generation: u64) {
        self.bar.set_position(generation);
    }
}

fn finish(
    inv: &Invocation,
    opts: &LifeOpts,
    board: Board,
    out: Outcome,
    wall: Duration,
    hosts: &[Json],
) -> Result<String, SubmitError> {
    if let Some(path) = &opts.output {
        let comment = format!("generation {} of pisubmit life ({} edges)", opts.generations, opts.edges().name());
        let text = to_rle(&board, opts.edges(), None, &[comment]);
        std::fs::write(path, text).map_err(|e| SubmitError::Job(format!("--output {}: {e}", path.display())))?;
    }
    let population = board.population();
    let hash = board.digest();
    let cells = f64::from(board.width()) * f64::from(board.height()) * opts.generations as f64;
    let rate = if wall.as_secs_f64() > 0.0 { cells / wall.as_secs_f64() } else { 0.0 };
    let exchange = out.round_time.saturating_sub(out.compute_time);
    let edges = match opts.edges() {
        Edges::Wrap => "torus",
        Edges::Dead => "dead edges",
    };
    if inv.json || opts.json {
        let recoveries = out
            .recoveries
            .iter()
            .map(|r| {
                Json::obj(vec![
                    ("host", Json::Str(r.host.clone())),
                    ("why", Json::Str(r.why.clone())),
                    ("lost_at", Json::Int(i128::from(r.lost_at))),
                    ("resumed_from", Json::Int(i128::from(r.resumed_from))),
                    ("hosts_left", Json::Int(r.hosts_left as i128)),
                ])
            })
            .collect();
        let strips = out
            .strips
            .iter()
            .map(|s| {
                Json::obj(vec![
                    ("host", Json::Str(s.host.clone())),
                    ("threads", Json::Int(s.threads as i128)),
                    ("first_row", Json::Int(i128::from(s.first_row))),
                    ("rows", Json::Int(i128::from(s.rows))),
                ])
            })
            .collect();
        let fields = vec![
            ("job", Json::Str("life".into())),
            ("result", Json::Int(i128::from(population))),
            ("hash", Json::Str(hash)),
            ("width", Json::Int(i128::from(board.width()))),
            ("height", Json::Int(i128::from(board.height()))),
            ("edges", Json::Str(opts.edges().name().into())),
            ("generations", Json::Int(i128::from(opts.generations))),
            ("wall_ms", Json::Float(ms(wall))),
            ("cell_updates_per_s", Json::Float(rate.round())),
            ("rounds", Json::Int(i128::from(out.rounds))),
            ("exchange_every", Json::Int(i128::from(out.depth))),
            ("exchange_every_reason", Json::Str(out.depth_reason.clone())),
            ("round_ms", Json::Float(ms(out.round_time))),
            ("compute_ms", Json::Float(ms(out.compute_time))),
            ("exchange_ms", Json::Float(ms(exchange))),
            ("snapshots", Json::Int(i128::from(out.snapshots))),
            ("snapshot_ms", Json::Float(ms(out.snapshot_time))),
            ("recoveries", Json::Array(recoveries)),
            ("strips", Json::Array(strips)),
            ("hosts", Json::Array(hosts.to_vec())),
        ];
        return Ok(Json::obj(fields).render() + "\n");
    }
    let mut s = format!(
        "life: {}x{} {edges}, {} generations: population {population}\n  board sha256 {hash}\n",
        board.width(),
        board.height(),
        opts.generations
    );
    if opts.generations > 0 {
        let threads: usize = out.strips.iter().map(|s| s.threads).sum();
        let _ = writeln!(
            s,
            "  {:.3} s, {:.3e} cell updates/s on {} hosts ({threads} threads)",
            wall.as_secs_f64(),
            rate,
            out.strips.len()
        );
        let measured = out.measured.map_or(String::new(), |(rtt, row)| {
            format!(": round trip {:.3} ms, {:.0} ns per row and generation", rtt.as_secs_f64() * 1e3, row)
        });
        let _ = writeln!(
            s,
            "  {} rounds, borders exchanged every {} generations ({}{measured})",
            out.rounds, out.depth, out.depth_reason
        );
        let share = if out.round_time.is_zero() { 0.0 } else { exchange.as_secs_f64() / out.round_time.as_secs_f64() };
        let _ = writeln!(
            s,
            "  exchange through the head: {:.1} ms, {:.1}% of the rounds; {} snapshots, {:.1} ms",
            ms(exchange),
            share * 100.0,
            out.snapshots,
            ms(out.snapshot_time)
        );
        for r in &out.recoveries {
            let _ = writeln!(
                s,
                "  recovered: {} lost at generation {} ({}); resumed from generation {} on {} hosts",
                r.host, r.lost_at, r.why, r.resumed_from, r.hosts_left
            );
        }
        let _ = writeln!(s, "  {:<24} {:>7} {:>10} {:>10}", "host", "threads", "first row", "rows");
        for st in &out.strips {
            let _ = writeln!(s, "  {:<24} {:>7} {:>10} {:>10}", st.host, st.threads, st.first_row, st.rows);
        }
    }
    if let Some(path) = &opts.output {
        let _ = writeln!(s, "  final board written to {} (RLE)", path.display());
    }
    if let Some(dir) = &opts.frames {
        let _ = writeln!(s, "  frames in {}", dir.display());
    }
    Ok(s)
}
