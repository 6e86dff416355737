//! `pisubmit life` end to end: real workers on loopback, boards checked
//! against a byte-per-cell reference (tests/common/life_ref.rs), known
//! patterns against their published periods and lifespans, and a worker
//! killed mid-run.

mod common;
#[path = "common/life_ref.rs"]
mod life_ref;

use common::*;
use life_ref::{catalogue, Kind, RefBoard, RefEdges};
use piworker::life::picture::{frame_name, read_png};
use piworker::life::Board;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("piw-life-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn to_ref(board: &Board) -> RefBoard {
    let mut r = RefBoard::new(board.width() as usize, board.height() as usize);
    for (x, y) in board.live_cells() {
        r.set(x as usize, y as usize, true);
    }
    r
}

fn frame(dir: &Path, generation: u64) -> RefBoard {
    let path = dir.join(frame_name(generation));
    to_ref(&read_png(&path).unwrap_or_else(|e| panic!("frame {generation}: {e}")))
}

/// Writes a reference board as RLE (to give pisubmit exactly this board).
fn write_rle(board: &RefBoard, path: &Path) {
    let mut b = Board::new(board.width as u32, board.height as u32);
    for (x, y) in board.live() {
        b.set(x as u32, y as u32, true);
    }
    let text = piworker::life::pattern::to_rle(&b, piworker::life::Edges::Wrap, None, &[]);
    std::fs::write(path, text).expect("write rle");
}

fn assert_same(got: &RefBoard, want: &RefBoard, what: &str) {
    if got != want {
        let first = (0..want.height)
            .flat_map(|y| (0..want.width).map(move |x| (x, y)))
            .find(|&(x, y)| got.get(x, y) != want.get(x, y));
        panic!(
            "{what}: boards differ (population {} vs reference {}; first difference at {first:?})",
            got.population(),
            want.population()
        );
    }
}

fn workers(n: usize, threads: &str) -> Vec<Worker> {
    (0..n).map(|_| Worker::start(&["--threads", threads])).collect()
}

fn host_list(ws: &[Worker]) -> String {
    ws.iter().map(|w| w.addr()).collect::<Vec<_>>().join(",")
}

/// Every distributed run equals the reference, generation by generation
/// (one frame every few generations, at counts that do not line up with
/// the exchange depth), on 1, 2, 3 and 5 hosts, both edge kinds, odd
/// widths, fixed and measured depths.
#[test]
fn distributed_runs_equal_the_reference_board_for_board() {
    let cases: &[(usize, &[&str], u32, u32, RefEdges)] = &[
        (1, &[], 133, 97, RefEdges::Wrap),
        (2, &["--exchange-every", "3"], 130, 61, RefEdges::Dead),
        (3, &["--exchange-every", "1"], 65, 40, RefEdges::Wrap),
        (3, &[], 200, 90, RefEdges::Dead),
        (5, &["--exchange-every", "5"], 97, 53, RefEdges::Wrap),
        (5, &[], 64, 61, RefEdges::Dead),
        // Fewer rows than hosts' threads: strips of one or two rows.
        (5, &[], 70, 4, RefEdges::Wrap),
    ];
    let pool = workers(5, "2");
    for (i, &(hosts, extra, w, h, edges)) in cases.iter().enumerate() {
        let dir = scratch(&format!("ref{i}"));
        let start = RefBoard::random(w as usize, h as usize, 0.35, 100 + i as u64);
        let input = dir.join("start.rle");
        write_rle(&start, &input);
        let gens = 47u64;
        let (ws, dead) = (host_list(&pool[..hosts]), edges == RefEdges::Dead);
        let mut args = vec!["--json", "life", "--input", input.to_str().unwrap(), "--generations", "47"];
        let (w_s, h_s) = (w.to_string(), h.to_string());
        args.extend(["--width", &w_s, "--height", &h_s, "--frames", dir.to_str().unwrap(), "--every", "5"]);
        args.push(if dead { "--dead" } else { "--wrap" });
        args.extend(extra);
        let out_rle = dir.join("final.rle");
        args.extend(["--output", out_rle.to_str().unwrap()]);
        let run = pisubmit(&ws, &args);
        let json = run.json();
        let mut want = start.clone();
        assert_same(&frame(&dir, 0), &want, &format!("case {i}: generation 0"));
        for g in 1..=gens {
            want = want.step(edges);
            if g % 5 == 0 || g == gens {
                assert_same(&frame(&dir, g), &want, &format!("case {i} ({hosts} hosts {extra:?}): generation {g}"));
            }
        }
        assert_eq!(json["result"], want.population(), "case {i}: population");
        assert_eq!(json["hash"], want.digest().as_str(), "case {i}: hash");
        assert_eq!(json["strips"].as_array().unwrap().len(), hosts.min(h as usize), "case {i}: strips");
        // The RLE output reads back as the same board.
        let (rw, rh, cells) = life_ref::rle_cells(&std::fs::read_to_string(&out_rle).unwrap());
        assert_eq!((rw, rh), (w as usize, h as usize));
        assert_same(&RefBoard::with_centered(rw, rh, rw, rh, &cells), &want, &format!("case {i}: --output"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Still lifes stay, oscillators come back after exactly their period
/// (and not before), spaceships come back moved by their displacement;
/// checked frame by frame on three hosts.
#[test]
fn known_patterns_keep_their_periods_and_displacements() {
    let pool = workers(3, "1");
    let hosts = host_list(&pool);
    for known in catalogue() {
        let period = match known.kind {
            Kind::StillLife => 1,
            Kind::Oscillator { period } | Kind::Spaceship { period, .. } => period,
            Kind::Methuselah { .. } => continue,
        };
        let dir = scratch(known.name);
        let input = dir.join("p.rle");
        std::fs::write(&input, known.rle).unwrap();
        let gens = (period * 3).to_string();
        let run = pisubmit(
            &hosts,
            &[
                "life",
                "--input",
                input.to_str().unwrap(),
                "--width",
                "64",
                "--height",
                "48",
                "--generations",
                &gens,
                "--frames",
                dir.to_str().unwrap(),
                "--every",
                "1",
            ],
        );
        assert_eq!(run.code, 0, "{}: {}", known.name, run.stderr);
        let start = known.board(64, 48);
        assert_same(&frame(&dir, 0), &start, &format!("{} placed at the centre", known.name));
        for g in 1..=period * 3 {
            let got = frame(&dir, g);
            let want = match known.kind {
                Kind::Spaceship { period, dx, dy } if g % period == 0 => {
                    let k = (g / period) as isize;
                    Some(start.shifted(dx * k, dy * k))
                }
                Kind::StillLife => Some(start.clone()),
                Kind::Oscillator { period } if g % period == 0 => Some(start.clone()),
                _ => None,
            };
            match want {
                Some(want) => assert_same(&got, &want, &format!("{} at generation {g}", known.name)),
                None if !matches!(known.kind, Kind::Spaceship { .. }) => {
                    assert_ne!(got, start, "{} came back at generation {g}, before its period", known.name)
                }
                None => {}
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn population_at(hosts: &str, input: &Path, size: &str, gens: u64) -> u64 {
    let gens = gens.to_string();
    let run = pisubmit(
        hosts,
        &[
            "--json",
            "life",
            "--input",
            input.to_str().unwrap(),
            "--width",
            size,
            "--height",
            size,
            "--generations",
            &gens,
        ],
    );
    run.json()["result"].as_u64().expect("population")
}

/// LifeWiki's methuselahs: R-pentomino settles at generation 1103 with 116
/// cells, diehard vanishes at 130, acorn settles at 5206 with 633. The
/// boards are tori large enough that no escaping glider comes back.
#[test]
fn methuselahs_reach_their_published_lifespans_and_populations() {
    let pool = workers(2, "2");
    let hosts = host_list(&pool);
    let dir = scratch("methuselahs");
    for known in catalogue() {
        let Kind::Methuselah { lifespan, final_population } = known.kind else { continue };
        let input = dir.join(format!("{}.rle", known.name));
        std::fs::write(&input, known.rle).unwrap();
        let size = if lifespan > 2000 { "2048" } else { "512" };
        let at = |g| population_at(&hosts, &input, size, g);
        assert_eq!(at(lifespan), final_population, "{} at generation {lifespan}", known.name);
        assert_eq!(at(lifespan + 7), final_population, "{} stays settled", known.name);
        assert_ne!(at(lifespan - 1), final_population, "{} had not settled at {}", known.name, lifespan - 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A worker killed mid-run: its strip is rebuilt from the last checkpoint
/// on the two hosts left, and the final board is the one an unbroken run
/// gives (and the reference's); with borders swapped between the workers
/// (its neighbours' links to it break too) and relayed through the head.
#[test]
fn a_worker_killed_mid_run_is_rebuilt_from_the_checkpoint() {
    killed_mid_run("peers");
}

#[test]
fn a_worker_killed_mid_run_is_rebuilt_from_the_checkpoint_with_borders_through_the_head() {
    killed_mid_run("head");
}

fn killed_mid_run(borders: &str) {
    let mut pool = workers(3, "1");
    let hosts = host_list(&pool);
    let dir = scratch(&format!("kill-{borders}"));
    let start = RefBoard::random(256, 256, 0.3, 7);
    let input = dir.join("start.rle");
    write_rle(&start, &input);
    let frames = dir.join("frames");
    let args = |frames: &Path| -> Vec<String> {
        [
            "--json",
            "life",
            "--input",
            input.to_str().unwrap(),
            "--width",
            "256",
            "--height",
            "256",
            "--generations",
            "6000",
            "--exchange-every",
            "1",
            "--checkpoint-every",
            "500",
            "--frames",
            frames.to_str().unwrap(),
            "--every",
            "1000",
            "--borders",
            borders,
        ]
        .map(String::from)
        .to_vec()
    };
    let a = args(&frames);
    let child = spawn_pisubmit(&hosts, &a.iter().map(String::as_str).collect::<Vec<_>>());
    // Kill the middle worker once generation 1000 has been drawn.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !frames.join(frame_name(1000)).exists() {
        assert!(Instant::now() < deadline, "generation 1000 never came");
        std::thread::sleep(Duration::from_millis(5));
    }
    pool[1].child.kill().expect("kill worker");
    let run = finish(child, Duration::from_secs(120));
    let json = run.json();
    let recoveries = json["recoveries"].as_array().expect("recoveries");
    assert_eq!(recoveries.len(), 1, "one recovery: {}", run.stdout);
    let r = &recoveries[0];
    assert_eq!(r["host"], pool[1].addr().as_str());
    assert_eq!(r["hosts_left"], 2);
    let (lost, resumed) = (r["lost_at"].as_u64().unwrap(), r["resumed_from"].as_u64().unwrap());
    assert!(resumed >= 1000 && resumed <= lost && resumed % 500 == 0, "resumed from {resumed}, lost at {lost}");
    assert!(lost < 6000, "the worker was lost mid-run, not after it: {lost}");
    assert!(run.stderr.contains("resuming from the checkpoint"), "{}", run.stderr);
    assert_eq!(json["strips"].as_array().unwrap().len(), 2, "the last epoch ran on the two hosts left");
    assert_eq!(json["borders"], borders, "{}", run.stderr);
    // Every frame around the loss, and the final board, are the reference's.
    let mut want = start;
    for g in (1000..=6000).step_by(1000) {
        want = want.run(RefEdges::Wrap, 1000);
        assert_same(&frame(&frames, g), &want, &format!("frame {g} around the recovery"));
    }
    assert_eq!(json["hash"], want.digest().as_str(), "the final board is the reference's");
    assert_eq!(json["result"], want.population());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A random 256² board run for GENERATIONS with a border exchange every
/// generation (so that it is slow enough to interrupt), its final board
/// going to OUT.
fn long_random_run<'a>(generations: &'a str, out: &'a std::path::Path) -> Vec<&'a str> {
    let out = out.to_str().expect("a UTF-8 scratch path");
    vec![
        "life",
        "--random",
        "0.3",
        "--width",
        "256",
        "--height",
        "256",
        "--generations",
        generations,
        "--exchange-every",
        "1",
        "--output",
        out,
    ]
}

/// With checkpoints off, a lost worker stops the run with an error that
/// says why; no board is printed or written.
#[test]
fn without_checkpoints_a_lost_worker_is_a_clear_error() {
    let mut pool = workers(2, "1");
    let hosts = host_list(&pool);
    let dir = scratch("nockpt");
    let frames = dir.join("frames");
    let out = dir.join("final.rle");
    let mut args = long_random_run("200000", &out);
    args.extend(["--checkpoint-every", "off", "--frames", frames.to_str().unwrap(), "--every", "100"]);
    let child = spawn_pisubmit(&hosts, &args);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !frames.join(frame_name(200)).exists() {
        assert!(Instant::now() < deadline, "generation 200 never came");
        std::thread::sleep(Duration::from_millis(5));
    }
    pool[0].child.kill().expect("kill worker");
    let run = finish(child, Duration::from_secs(60));
    assert_eq!(run.code, 1, "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert!(run.stderr.contains("checkpoints are off"), "{}", run.stderr);
    assert!(run.stderr.contains(&pool[0].addr()), "names the lost worker: {}", run.stderr);
    assert!(run.stdout.is_empty() && !out.exists(), "no board after a loss without checkpoints");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--show` draws the board in braille on stderr with its generation, and
/// frames can be scaled.
#[test]
fn show_draws_the_board_and_frames_scale() {
    let w = Worker::start(&[]);
    let dir = scratch("show");
    let glider = dir.join("glider.cells");
    std::fs::write(&glider, "!Name: glider\n.O.\n..O\nOOO\n").unwrap();
    let run = pisubmit(
        &w.addr(),
        &[
            "life",
            "--input",
            glider.to_str().unwrap(),
            "--width",
            "16",
            "--height",
            "16",
            "--generations",
            "8",
            "--show",
            "--delay",
            "0",
            "--frames",
            dir.to_str().unwrap(),
            "--every",
            "4",
            "--scale",
            "3",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Drawn every --every generations: 0, 4 and 8.
    for g in [0, 4, 8] {
        assert!(run.stderr.contains(&format!("generation {g}, population 5")), "generation {g} drawn: {}", run.stderr);
    }
    assert!(!run.stderr.contains("generation 3,"), "{}", run.stderr);
    assert!(run.stderr.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)), "braille dots drawn");
    let png = read_png(&dir.join(frame_name(4))).unwrap();
    assert_eq!((png.width(), png.height()), (48, 48), "scale 3");
    assert!(run.stdout.contains("population 5"), "{}", run.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bad input is named, with the file and line, before any worker is used.
#[test]
fn bad_patterns_and_options_are_named() {
    let dir = scratch("bad");
    let highlife = dir.join("hl.rle");
    std::fs::write(&highlife, "#N replicator\nx = 3, y = 3, rule = B36/S23\nbo$obo$bo!\n").unwrap();
    let big = dir.join("big.cells");
    std::fs::write(&big, "O".repeat(40)).unwrap();
    let bad_char = dir.join("bad.rle");
    std::fs::write(&bad_char, "x = 3, y = 2\nbo$2oz!\n").unwrap();
    // Nothing listens on the port: these must fail before connecting.
    let nobody = format!("127.0.0.1:{}", free_port());
    let cases: &[(&[&str], &str)] = &[
        (&["--input", highlife.to_str().unwrap()], "hl.rle:2: rule B36/S23 is not supported"),
        (&["--input", big.to_str().unwrap(), "--width", "30"], "the pattern is 40x1 but the board is only 30x"),
        (&["--input", bad_char.to_str().unwrap()], "bad.rle:2"),
        (&["--input", "/nonexistent/x.rle"], "/nonexistent/x.rle"),
        (&["--random", "2"], "not a density"),
        (&["--random", "0.5", "--width", "100000000"], "--width"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["life", "--generations", "10"];
        args.extend_from_slice(extra);
        let run = pisubmit(&nobody, &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: expected {needle:?} in {}", run.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Generation 0 needs no worker: it writes the starting board (how a
/// pattern or random board is exported for other tools, e.g. bgolly).
#[test]
fn generation_zero_writes_the_start_without_workers() {
    let dir = scratch("zero");
    let out = dir.join("start.rle");
    let nobody = format!("127.0.0.1:{}", free_port());
    let run = pisubmit(
        &nobody,
        &[
            "--json",
            "life",
            "--random",
            "0.5",
            "--seed",
            "3",
            "--width",
            "100",
            "--height",
            "30",
            "--generations",
            "0",
            "--output",
            out.to_str().unwrap(),
        ],
    );
    let json = run.json();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("x = 100, y = 30, rule = B3/S23:T100,30"), "{text}");
    let (w, h, cells) = life_ref::rle_cells(&text);
    let board = RefBoard::with_centered(w, h, w, h, &cells);
    assert_eq!(json["result"], board.population());
    assert_eq!(json["hash"], board.digest().as_str());
    let p = board.population() as f64 / 3000.0;
    assert!((0.4..0.6).contains(&p), "density 0.5 gave {p}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run past --timeout stops with an error naming the generation it got
/// to; Ctrl-C stops one with exit 130; neither writes a board.
#[test]
fn timeout_and_interrupt_stop_a_run_without_a_board() {
    let w = Worker::start(&[]);
    let dir = scratch("stop");
    let out = dir.join("final.rle");
    let long = long_random_run("100000000", &out);
    let mut args = vec!["--timeout", "1"];
    args.extend(&long);
    let run = pisubmit(&w.addr(), &args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--timeout reached at generation"), "{}", run.stderr);
    let child = spawn_pisubmit(&w.addr(), &long);
    std::thread::sleep(Duration::from_millis(700));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let run = finish(child, Duration::from_secs(30));
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(!out.exists() && run.stdout.is_empty(), "no board after a stop");
    assert!(w.wait_log("cancelled", Duration::from_secs(5)), "the worker cancels the life job: {}", w.log());
    let _ = std::fs::remove_dir_all(&dir);
}
