//! `pisubmit life --checkpoint FILE` and `--resume` end to end: pisubmit
//! killed with SIGKILL at many moments (before the first checkpoint, mid
//! run, near the end, while a checkpoint is being written), resumed, and
//! the final board hash, the --output bytes and every frame compared with
//! a run that was never stopped; a worker killed during a resumed run;
//! bad checkpoint files refused with their name and what is wrong.

mod common;

use common::*;
use piworker::submit::plans::life::checkpoint::{load, temp_path};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let dir = temp_dir(&format!("resume-life-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn s(p: &Path) -> String {
    p.to_str().expect("a UTF-8 scratch path").to_string()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A random board run with a border exchange every generation (slow
/// enough to interrupt), checkpoints every `every` generations.
fn life(side: u32, generations: u64, every: u64, extra: &[String]) -> Vec<String> {
    let mut a: Vec<String> =
        ["--json", "life", "--random", "0.3", "--seed", "11", "--exchange-every", "1"].map(String::from).to_vec();
    for (flag, value) in [("--width", side), ("--height", side)] {
        a.extend([flag.to_string(), value.to_string()]);
    }
    a.extend(["--generations".into(), generations.to_string(), "--checkpoint-every".into(), every.to_string()]);
    a.extend(extra.iter().cloned());
    a
}

/// The outputs of a run in `dir`: the final board, the frames, and (when
/// `kept`) the checkpoint. `--show` with a pause after each drawing paces
/// the run (at least 40 ms every 100 generations, whatever the machine),
/// so that it is still running when the checkpoint on disk, which lags it
/// by a write and an fsync, reaches the generation a test kills it at.
fn outputs(dir: &Path, kept: bool) -> Vec<String> {
    let mut a = vec!["--output".into(), s(&dir.join("out.rle")), "--frames".into(), s(&dir.join("frames"))];
    a.extend(["--every", "100", "--show", "--delay", "40"].map(String::from));
    if kept {
        a.extend(["--checkpoint".into(), s(&dir.join("ck"))]);
    }
    a
}

/// The generation of the checkpoint on disk; a torn one fails the test.
fn checkpoint_at(path: &Path) -> Option<u64> {
    match load(path) {
        Ok(saved) => saved.map(|c| c.meta.generation),
        Err(e) => panic!("a checkpoint on disk is never torn, but: {e}"),
    }
}

/// Waits (bounded) until the checkpoint reaches `generation`.
fn wait_for_checkpoint(path: &Path, generation: u64, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while checkpoint_at(path).is_none_or(|g| g < generation) {
        assert!(child.try_wait().expect("try_wait").is_none(), "pisubmit ended before generation {generation}");
        assert!(Instant::now() < deadline, "the checkpoint never reached generation {generation}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Starts pisubmit to be killed: its output is not wanted (and a pipe
/// nobody reads would stop it once full).
fn spawn_to_kill(hosts: &str, args: &[String]) -> Child {
    Command::new(PISUBMIT)
        .args(["--hosts", hosts])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pisubmit")
}

/// SIGKILLs pisubmit and checks it died of it (not of having finished).
fn kill(mut child: Child, moment: &str) {
    child.kill().expect("kill pisubmit");
    let status = wait_child(&mut child, Duration::from_secs(10)).expect("pisubmit dies");
    assert_eq!(status.signal(), Some(9), "{moment}: pisubmit had already ended ({status:?})");
}

/// The final board, the --output file and every frame of `got` are those of `want`.
fn assert_same_outputs(got: &Path, want: &Path, got_json: &serde_json::Value, want_json: &serde_json::Value) {
    assert_eq!(got_json["hash"], want_json["hash"], "the final board hash");
    assert_eq!(got_json["result"], want_json["result"], "the population");
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(read(got.join("out.rle")) == read(want.join("out.rle")), "--output differs from the unbroken run's");
    let names = |dir: &Path| {
        let mut v: Vec<_> =
            std::fs::read_dir(dir.join("frames")).expect("frames").map(|e| e.unwrap().file_name()).collect();
        v.sort();
        v
    };
    let frames = names(want);
    assert!(frames.len() > 3, "the reference has frames: {frames:?}");
    assert_eq!(names(got), frames, "the same frames, none missing and none extra");
    for name in frames {
        let (a, b) = (read(got.join("frames").join(&name)), read(want.join("frames").join(&name)));
        assert!(a == b, "frame {name:?} differs from the unbroken run's");
    }
}

/// Reads the job log: every line checksummed and in order, and for each
/// strip the generations logged as done cover 0..generations.
fn check_joblog(path: &Path, generations: u64) -> usize {
    let text = std::fs::read_to_string(path).expect("job log");
    assert!(text.starts_with("# pisubmit joblog 1\n# job\tlife\n"), "{text}");
    assert!(text.contains("# param\tseed\t11\n") && text.contains("# param\twidth\t"), "{text}");
    let mut covered: std::collections::BTreeMap<String, Vec<(u64, u64)>> = Default::default();
    let mut last_seq = 0;
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#') && !l.starts_with("Seq\t")).collect();
    for line in &lines {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 15, "{line}");
        let seq: u64 = f[0].parse().unwrap();
        assert!(seq > last_seq, "sequence numbers go up: {line}");
        last_seq = seq;
        // "rows A..B generations C..D"
        let words: Vec<&str> = f[10].split(' ').collect();
        let gens: Vec<u64> = words[3].split("..").map(|n| n.parse().unwrap()).collect();
        if f[7] == "ok" {
            assert_eq!(f[13].len(), 16, "the strip's population, 8 bytes in hex: {line}");
            covered.entry(words[1].to_string()).or_default().push((gens[0], gens[1]));
        }
    }
    assert!(!covered.is_empty(), "no strip logged as done:\n{text}");
    for (rows, mut runs) in covered {
        runs.sort();
        let mut reached = 0;
        for (from, to) in runs {
            assert!(from <= reached, "rows {rows}: generations {reached}..{from} are not logged");
            reached = reached.max(to);
        }
        assert_eq!(reached, generations, "rows {rows}: logged up to {reached}");
    }
    lines.len()
}

/// Killed before the first checkpoint, after it, mid-run and two thirds
/// in, each time resumed from what was on disk: the last resumed run ends
/// with the unbroken run's board, --output bytes and frames, and the job
/// log covers every generation of every strip.
#[test]
fn killed_at_many_moments_a_resumed_run_gives_the_same_board_output_and_frames() {
    let pool: Vec<Worker> = (0..2).map(|_| Worker::start(&["--threads", "1"])).collect();
    let hosts = hosts(&pool.iter().collect::<Vec<_>>());
    let (want, got) = (scratch("many-want"), scratch("many-got"));
    // Long enough that the checkpoint on disk (which lags the run by a
    // write) is well short of the end at the last kill, in release too.
    let generations = 6000;
    let reference = pisubmit(&hosts, &strs(&life(256, generations, 50, &outputs(&want, false))));
    let want_json = reference.json();
    let ck = got.join("ck");
    let log = s(&got.join("log"));
    let args = |resume: bool| {
        let mut a = vec!["--joblog".to_string(), log.clone()];
        if resume {
            a.push("--resume".into());
        }
        a.extend(life(256, generations, 50, &outputs(&got, true)));
        a
    };
    let run = |resume: bool| spawn_to_kill(&hosts, &args(resume));
    // At once: before the first checkpoint (perhaps before any file).
    kill(run(false), "before the first checkpoint");
    let mut seen = vec![checkpoint_at(&ck)];
    for (moment, at) in [("after the first checkpoint", 50), ("mid-run", 2000), ("two thirds in", 4000)] {
        let mut child = run(true);
        wait_for_checkpoint(&ck, at, &mut child);
        kill(child, moment);
        seen.push(checkpoint_at(&ck));
    }
    let last = seen.last().copied().flatten().expect("a checkpoint");
    assert!(last >= 4000 && last < generations, "killed two thirds in: {seen:?}");
    let resumed = finish(spawn_pisubmit(&hosts, &strs(&args(true))), Duration::from_secs(120));
    let json = resumed.json();
    assert_eq!(json["resumed_from"], last, "{}", resumed.stdout);
    assert_same_outputs(&got, &want, &json, &want_json);
    let lines = check_joblog(&got.join("log"), generations);
    // One line per strip per checkpoint, not per generation (each of the
    // four kills may make a stretch of them be logged again).
    assert!(lines <= 5 * 2 * (generations as usize / 50 + 2), "{lines} lines");
    // The checkpoint left at the end is the final board.
    assert_eq!(checkpoint_at(&ck), Some(generations));
}

/// SIGKILL while the writer thread is writing a checkpoint (a big board
/// checkpointed every generation): what is on disk is always a whole
/// checkpoint, and the run resumed from it ends with the unbroken run's
/// board.
#[test]
fn killed_while_a_checkpoint_is_being_written_the_file_is_whole() {
    let pool: Vec<Worker> = (0..2).map(|_| Worker::start(&["--threads", "1"])).collect();
    let hosts = hosts(&pool.iter().collect::<Vec<_>>());
    let (want, got) = (scratch("torn-want"), scratch("torn-got"));
    let big = |dir: &Path, kept: bool| {
        let mut a = life(1024, 1000, 1, &[]);
        a.extend(["--output".into(), s(&dir.join("out.rle"))]);
        if kept {
            a.extend(["--checkpoint".into(), s(&dir.join("ck")), "--resume".into()]);
        }
        a
    };
    let want_json = pisubmit(&hosts, &strs(&big(&want, false))).json();
    let ck = got.join("ck");
    let (mut kills, mut caught_mid_write) = (0, 0);
    'attempts: for attempt in 0..6u64 {
        let mut child = spawn_pisubmit(&hosts, &strs(&big(&got, true)));
        let deadline = Instant::now() + Duration::from_secs(120);
        // A varied moment: some checkpoints after the start, then the
        // next time the temporary file is there.
        let after = checkpoint_at(&ck).unwrap_or(0) + attempt % 3;
        while checkpoint_at(&ck).is_none_or(|g| g < after) || !temp_path(&ck).exists() {
            if let Some(status) = child.try_wait().expect("try_wait") {
                // A fast machine got to the end between kills.
                assert!(status.success(), "attempt {attempt}: pisubmit failed ({status:?})");
                break 'attempts;
            }
            assert!(Instant::now() < deadline, "attempt {attempt}: no checkpoint being written");
        }
        kill(child, "while a checkpoint is written");
        kills += 1;
        if temp_path(&ck).exists() {
            caught_mid_write += 1;
        }
        checkpoint_at(&ck).expect("a whole checkpoint is on disk");
    }
    eprintln!("{caught_mid_write} of {kills} kills left a checkpoint being written");
    assert!(caught_mid_write > 0, "no kill landed while a checkpoint was being written");
    let json = finish(spawn_pisubmit(&hosts, &strs(&big(&got, true))), Duration::from_secs(120)).json();
    assert!(json["resumed_from"].as_u64().is_some(), "{json}");
    assert_eq!(json["hash"], want_json["hash"]);
    assert!(std::fs::read(got.join("out.rle")).unwrap() == std::fs::read(want.join("out.rle")).unwrap());
}

/// A worker killed during the resumed run: the resumed run rebuilds its
/// strip from the checkpoint as any run does, and still ends with the
/// unbroken run's board.
#[test]
fn a_worker_killed_during_the_resumed_run() {
    let mut pool: Vec<Worker> = (0..3).map(|_| Worker::start(&["--threads", "1"])).collect();
    let hosts = hosts(&pool.iter().collect::<Vec<_>>());
    let (want, got) = (scratch("worker-want"), scratch("worker-got"));
    let generations = 6000;
    let want_json = pisubmit(&hosts, &strs(&life(256, generations, 100, &outputs(&want, false)))).json();
    let ck = got.join("ck");
    let mut child = spawn_to_kill(&hosts, &life(256, generations, 100, &outputs(&got, true)));
    wait_for_checkpoint(&ck, 300, &mut child);
    kill(child, "before the worker is killed");
    let from = checkpoint_at(&ck).expect("a checkpoint");
    let mut resumed = life(256, generations, 100, &outputs(&got, true));
    resumed.insert(0, "--resume".into());
    let mut child = spawn_pisubmit(&hosts, &strs(&resumed));
    wait_for_checkpoint(&ck, from + 300, &mut child);
    pool[1].child.kill().expect("kill a worker");
    let run = finish(child, Duration::from_secs(120));
    let json = run.json();
    assert_eq!(json["resumed_from"], from);
    let recoveries = json["recoveries"].as_array().expect("recoveries");
    assert_eq!(recoveries.len(), 1, "the lost worker was recovered from: {}", run.stdout);
    assert!(recoveries[0]["resumed_from"].as_u64().unwrap() >= from + 300, "{}", run.stdout);
    assert_same_outputs(&got, &want, &json, &want_json);
}

/// A finished run's checkpoint (RLE) read by something we did not write:
/// Python's standard library counts its live cells and finds the board's
/// size and the generation.
#[test]
fn the_rle_checkpoint_reads_in_python_as_the_final_board() {
    let pool = [Worker::start(&["--threads", "2"])];
    let dir = scratch("python");
    let ck = dir.join("ck.rle");
    let json = pisubmit(&pool[0].addr(), &strs(&life(200, 120, 30, &["--checkpoint".into(), s(&ck)]))).json();
    const COUNT: &str = r##"
import re, sys
text = open(sys.argv[1]).read()
gen = re.search(r"^#C generation (\d+)$", text, re.M).group(1)
body = [l for l in text.splitlines() if not l.startswith("#")]
w, h = re.match(r"x = (\d+), y = (\d+), rule = B3/S23:T", body[0]).groups()
live = sum(int(n or 1) for n, tag in re.findall(r"(\d*)([bo$!])", "".join(body[1:])) if tag == "o")
print(gen, w, h, live)
"##;
    let out = Command::new("python3").args(["-c", COUNT, &s(&ck)]).output().expect("python3 runs");
    assert!(out.status.success(), "python3: {}", String::from_utf8_lossy(&out.stderr));
    let want = format!("120 200 200 {}", json["result"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);
}

/// Over 4096x4096 cells the checkpoint is binary; a checkpoint may be run
/// on to more generations than the run that wrote it.
#[test]
fn a_big_board_checkpoints_in_binary_and_runs_on_to_more_generations() {
    let pool: Vec<Worker> = (0..2).map(|_| Worker::start(&["--threads", "2"])).collect();
    let hosts = hosts(&pool.iter().collect::<Vec<_>>());
    let dir = scratch("binary");
    let ck = dir.join("ck");
    let big = |generations: &str, kept: bool| {
        let mut a = ["--json", "life", "--random", "0.3", "--width", "8200", "--height", "2100", "--generations"]
            .map(String::from)
            .to_vec();
        a.extend([generations.to_string(), "--checkpoint-every".into(), "1".into()]);
        if kept {
            a.extend(["--checkpoint".into(), s(&ck), "--resume".into()]);
        }
        a
    };
    let want = pisubmit(&hosts, &strs(&big("4", false))).json();
    pisubmit(&hosts, &strs(&big("2", true))).json();
    let bytes = std::fs::read(&ck).expect("checkpoint");
    assert!(bytes.starts_with(b"PWLIFCP1"), "binary over 2^24 cells");
    assert_eq!(checkpoint_at(&ck), Some(2));
    let json = pisubmit(&hosts, &strs(&big("4", true))).json();
    assert_eq!(json["resumed_from"], 2);
    assert_eq!(json["hash"], want["hash"]);
}

/// Every bad checkpoint is refused before any worker is asked (the host
/// given does not exist), naming the file and what is wrong.
#[test]
fn bad_checkpoints_are_refused_naming_the_file_and_what_is_wrong() {
    let worker = Worker::start(&["--threads", "1"]);
    let dir = scratch("bad");
    let good = dir.join("good");
    let base = |seed: &str, width: &str, generations: &str, ck: &Path| -> Vec<String> {
        ["life", "--random", "0.3", "--seed", seed, "--width", width, "--generations", generations, "--checkpoint"]
            .map(String::from)
            .into_iter()
            .chain([s(ck), "--checkpoint-every".into(), "10".into()])
            .collect()
    };
    let good_log = dir.join("good.log");
    let mut a = vec!["--joblog".to_string(), s(&good_log)];
    a.extend(base("11", "64", "100", &good));
    let made = pisubmit(&worker.addr(), &strs(&a));
    assert_eq!(made.code, 0, "{}", made.stderr);
    let text = std::fs::read(&good).unwrap();
    let nowhere = format!("127.0.0.1:{}", free_port());
    let refused = |name: &str, bytes: &[u8], args: Vec<String>, why: &[&str]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut a = vec!["--resume".to_string()];
        a.extend(args.into_iter().map(|x| if x == s(&good) { s(&path) } else { x }));
        let run = pisubmit(&nowhere, &strs(&a));
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(&s(&path)), "{name} names the file: {}", run.stderr);
        for w in why {
            assert!(run.stderr.contains(w), "{name} says {w:?}: {}", run.stderr);
        }
    };
    let same = || base("11", "64", "100", &good);
    refused("truncated", &text[..text.len() / 2], same(), &["truncated"]);
    let mut flipped = text.clone();
    let at = text.len() - 10;
    flipped[at] = if text[at] == b'o' { b'b' } else { b'o' };
    refused("corrupted", &flipped, same(), &["corrupt"]);
    refused(
        "other-seed",
        &text,
        base("12", "64", "100", &good),
        &["different life command", "seed is 11 there, 12 here"],
    );
    refused("other-width", &text, base("11", "65", "100", &good), &["width is 64 there, 65 here"]);
    refused("glider", b"x = 3, y = 3, rule = B3/S23\nbo$2bo$3o!\n", same(), &["not a pisubmit life checkpoint"]);
    refused("empty", b"", same(), &["empty"]);
    refused("past", &text, base("11", "64", "50", &good), &["generation 100, past --generations 50"]);

    // A job log of a different command is refused too, naming the file.
    let mut a = vec!["--resume".to_string(), "--joblog".into(), s(&good_log)];
    a.extend(base("12", "64", "100", &dir.join("none-yet")));
    let run = pisubmit(&nowhere, &strs(&a));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&s(&good_log)) && run.stderr.contains("seed is 11 there, 12 here"), "{}", run.stderr);

    // A new run does not overwrite an earlier run's checkpoint.
    let run = pisubmit(&nowhere, &strs(&same()));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("the file exists") && run.stderr.contains("--resume"), "{}", run.stderr);
    // --resume needs the checkpoint: the job log alone only records.
    let mut a = vec!["--resume".to_string(), "--joblog".into(), s(&dir.join("log"))];
    a.extend(["life", "--random", "0.3", "--generations", "5"].map(String::from));
    let run = pisubmit(&nowhere, &strs(&a));
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--checkpoint FILE"), "{}", run.stderr);
    // A checkpoint that cannot be written fails at once, naming it, and
    // leaves no job log behind to refuse the next run.
    let log = dir.join("new.log");
    let mut a = vec!["--joblog".to_string(), s(&log)];
    a.extend(base("11", "64", "100", &dir.join("no/such/dir/ck")));
    let run = pisubmit(&nowhere, &strs(&a));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("no/such/dir/ck.tmp") && run.stderr.contains("cannot create"), "{}", run.stderr);
    assert!(!log.exists(), "the job log of a run that never started is removed");
    // --resume with no checkpoint yet starts from generation 0, saying so.
    let fresh = dir.join("fresh");
    let mut a = vec!["--resume".to_string(), "--json".into()];
    a.extend(base("11", "64", "100", &fresh));
    let run = pisubmit(&worker.addr(), &strs(&a));
    assert!(run.stderr.contains("no checkpoint at") && run.stderr.contains("generation 0"), "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["resumed_from"], serde_json::Value::Null);
    assert_eq!(std::fs::read(&fresh).unwrap(), text, "the same run writes the same checkpoint");
}
