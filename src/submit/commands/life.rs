//! `pisubmit life`: Conway's Game of Life on a board cut over every worker
//! (seed 004's planned first demo). `cli` reads the options, `driver` runs
//! the rounds; this file builds the board, writes frames and the report.

use crate::life::pattern::to_rle;
use crate::life::{picture, show, Board, Edges};
use crate::submit::cli::Global;
use crate::submit::cluster::connect::connect;
use crate::submit::commands::life_page::PageFeed;
use crate::submit::commands::serve::{with_page, JobPage};
use crate::submit::error::SubmitError;
use crate::submit::plans::life::checkpoint::writer::Written;
use crate::submit::plans::life::checkpoint::Format;
use crate::submit::plans::life::driver::{DriverOpts, Outcome, Snapshots};
use crate::submit::plans::life::runs::StripRun;
use crate::submit::plans::life::survive::{self, Survival};
use crate::submit::plans::life::{initial_board, LifeOpts, Start};
use crate::submit::report::json::Json;
use crate::submit::report::npy;
use crate::submit::report::progress::Bars;
use crate::submit::report::summary::{host_json, ms};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn run(global: &Global, opts: &LifeOpts) -> Result<String, SubmitError> {
    with_page(global, || format!("life --generations {}", opts.generations), |page| run_life(global, opts, page))
}

fn run_life(global: &Global, opts: &LifeOpts, page: Option<&JobPage>) -> Result<String, SubmitError> {
    let started = Instant::now();
    // Everything that can be wrong with the command line is found before
    // any worker is bothered.
    let (board, edges) = initial_board(opts)?;
    let opts = &LifeOpts { edges: Some(edges), ..opts.clone() };
    if let Some(dir) = &opts.frames {
        std::fs::create_dir_all(dir)
            .map_err(|e| SubmitError::Usage(format!("--frames: cannot create {}: {e}", dir.display())))?;
    }
    let (keep, start) = survive::open(opts, global.joblog.as_ref(), board, edges, global.hosts.len())?;
    let mut frames = Frames::new(opts, global.quiet, keep);
    frames.page = page.map(|p| PageFeed::new(Arc::clone(&p.hub), opts.generations));
    // A resumed run's earlier frames are on disk already; the board it
    // starts from is a frame only if an unbroken run draws it too.
    let every = opts.every.unwrap_or(1);
    if start.0 % every == 0 || start.0 == opts.generations {
        frames.frame(start.0, &start.1)?;
    }
    if start.0 == opts.generations {
        let kept = frames.kept()?;
        return finish(global, opts, start.1, Outcome::default(), started.elapsed(), &[], &kept);
    }
    let mut engine = connect(&global.reach(started), JobPage::watch(page, Box::new(Bars::new(global.quiet))))?;
    let driver_opts = DriverOpts {
        edges: opts.edges(),
        generations: opts.generations,
        exchange_every: opts.exchange_every,
        checkpoint: opts.checkpoint,
        every: (opts.frames.is_some() || opts.show).then_some(opts.every.unwrap_or(1)),
        deadline: global.timeout.map(|t| started + t),
        borders: opts.borders,
        random: match opts.start {
            Start::Random { density, seed } if !opts.resume => Some((density, seed)),
            _ => None,
        },
    };
    let run_started = Instant::now();
    let (board, outcome) = crate::submit::plans::life::driver::run(&mut engine, start, &driver_opts, &mut frames)?;
    let wall = run_started.elapsed();
    frames.bar.finish_and_clear();
    frames.frame(opts.generations, &board)?;
    let kept = frames.kept()?;
    let reports = engine.reports();
    if let Some(page) = page {
        page.reports(&reports);
    }
    let hosts: Vec<Json> = reports.iter().map(|r| Json::obj(host_json(r))).collect();
    finish(global, opts, board, outcome, wall, &hosts, &kept)
}

/// What the checkpoint file and job log did, for the report.
struct Kept {
    resumed_from: Option<u64>,
    written: Option<Written>,
    handover: Duration,
}

/// The board at generation 0, from the file or the random fill, and its
/// edges (the flag's, else the file's bounded grid, else a torus).
/// Where snapshots go: PNG files and the terminal.
struct Frames {
    dir: Option<PathBuf>,
    scale: u32,
    show: bool,
    delay: Duration,
    /// Generations done, on stderr when it is a terminal (not with --show,
    /// which draws there, nor --quiet).
    bar: indicatif::ProgressBar,
    /// The checkpoint file and job log.
    keep: Survival,
    /// --serve: the page's generation and board.
    page: Option<PageFeed>,
}

impl Frames {
    fn new(opts: &LifeOpts, quiet: bool, keep: Survival) -> Frames {
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
        Frames {
            bar,
            dir: opts.frames.clone(),
            scale: opts.scale,
            show: opts.show,
            delay: opts.delay,
            keep,
            page: None,
        }
    }

    /// Waits for the last checkpoint to be written: what was kept.
    fn kept(&mut self) -> Result<Kept, SubmitError> {
        let written = self.keep.finish()?;
        Ok(Kept { resumed_from: self.keep.resumed_from, written, handover: self.keep.handover })
    }
}

impl Snapshots for Frames {
    fn frame(&mut self, generation: u64, board: &Board) -> Result<(), SubmitError> {
        if let Some(page) = self.page.as_mut() {
            page.board(generation, board);
        }
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
        if let Some(page) = self.page.as_mut() {
            page.generation(generation);
        }
    }

    /// A checkpoint is a whole board the head holds anyway: the page gets
    /// it too, at no cost to the link.
    fn checkpoint(&mut self, generation: u64, board: &Board) -> Result<(), SubmitError> {
        if let Some(page) = self.page.as_mut() {
            page.board(generation, board);
        }
        self.keep.checkpoint(generation, board)
    }

    fn strips_ran(&mut self, runs: &[StripRun]) -> Result<(), SubmitError> {
        self.keep.strips_ran(runs)
    }
}

fn finish(
    global: &Global,
    opts: &LifeOpts,
    board: Board,
    out: Outcome,
    wall: Duration,
    hosts: &[Json],
    kept: &Kept,
) -> Result<String, SubmitError> {
    if let Some(path) = &opts.output {
        let comment = format!("generation {} of pisubmit life ({} edges)", opts.generations, opts.edges().name());
        let written = if npy::is_npy(path) {
            npy::write_board(path, board.height(), board.width(), |x, y| board.get(x, y))
        } else {
            std::fs::write(path, to_rle(&board, opts.edges(), None, &[comment]))
        };
        written.map_err(|e| SubmitError::Job(format!("--output {}: {e}", path.display())))?;
    }
    let population = board.population();
    let hash = board.digest();
    // A resumed run ran only the generations after its checkpoint.
    let ran = opts.generations - kept.resumed_from.unwrap_or(0);
    let cells = f64::from(board.width()) * f64::from(board.height()) * ran as f64;
    let rate = if wall.as_secs_f64() > 0.0 { cells / wall.as_secs_f64() } else { 0.0 };
    let exchange = out.round_time.saturating_sub(out.compute_time);
    let edges = match opts.edges() {
        Edges::Wrap => "torus",
        Edges::Dead => "dead edges",
    };
    if global.json {
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
            ("borders", Json::Str(out.borders.into())),
            ("round_ms", Json::Float(ms(out.round_time))),
            ("compute_ms", Json::Float(ms(out.compute_time))),
            ("exchange_ms", Json::Float(ms(exchange))),
            ("snapshots", Json::Int(i128::from(out.snapshots))),
            ("snapshot_ms", Json::Float(ms(out.snapshot_time))),
            ("recoveries", Json::Array(recoveries)),
            ("resumed_from", kept.resumed_from.map_or(Json::Null, |g| Json::Int(i128::from(g)))),
            ("checkpoints_written", Json::Int(i128::from(kept.written.map_or(0, |w| w.count)))),
            ("checkpoint_write_ms", Json::Float(kept.written.map_or(0.0, |w| ms(w.time)))),
            ("checkpoint_handover_ms", Json::Float(ms(kept.handover))),
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
    if out.rounds > 0 {
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
    if let Some(g) = kept.resumed_from {
        let _ = writeln!(s, "  resumed from the checkpoint at generation {g}");
    }
    if let (Some(path), Some(w)) = (&opts.checkpoint_file, kept.written) {
        let each = |t: Duration, n: u64| if n > 0 { ms(t) / n as f64 } else { 0.0 };
        let format = if w.format == Some(Format::Binary) { "binary" } else { "RLE" };
        let _ = writeln!(
            s,
            "  {} checkpoints written to {} ({format}, {:.2} MiB), {:.1} ms each on the writer thread, \
             {} superseded; handing each over held the rounds {:.1} ms",
            w.count,
            path.display(),
            w.bytes as f64 / f64::from(1 << 20),
            each(w.time, w.count),
            w.superseded,
            each(kept.handover, (w.count + w.superseded).saturating_sub(1)),
        );
    }
    if let Some(path) = &opts.output {
        let format = if npy::is_npy(path) { "NumPy uint8 rows x columns" } else { "RLE" };
        let _ = writeln!(s, "  final board written to {} ({format})", path.display());
    }
    if let Some(dir) = &opts.frames {
        let _ = writeln!(s, "  frames in {}", dir.display());
    }
    Ok(s)
}
