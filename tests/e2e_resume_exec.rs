//! `--joblog`/`--resume` for `pisubmit exec` and the stdin farms, end to
//! end: pisubmit is killed with SIGKILL at many moments (before the first
//! piece, after the first, mid-stream, while the output file grows, during
//! the last piece, and after varied delays), resumed each time, and the
//! output compared byte for byte with a run that was never stopped. Also:
//! a worker killed during a resumed run, a different stdin refused, a
//! failed piece that --resume stops at and --resume-failed runs again.

mod common;

use common::*;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// Range pieces: each sleeps, then prints a line per number; the piece
/// that ends the range sleeps longer, so there is a "last piece" to kill
/// pisubmit during.
const PIECE: &str = "#!/bin/sh\nsleep 0.2\n[ \"$PIW_END\" = 64000 ] && sleep 1.5\n\
                     seq -f \"%.0f $PIW_PIECE abcdefghijklmnopqrstuvwxyz0123456789\" $PIW_START $((PIW_END-1))\n";
const RANGE: &[&str] = &["--range", "0..64000"];
/// A stdin farm's program: its line, upper-cased, after a while.
const UPPER: &str = "#!/bin/sh\nsleep 0.1\ntr a-z A-Z\n";

/// Workers with a job directory of test programs, and a scratch directory.
struct Cluster {
    dir: PathBuf,
    workers: Vec<Worker>,
}

impl Cluster {
    fn new(name: &str, workers: usize, programs: &[(&str, &str)]) -> Cluster {
        let dir = temp_dir(&format!("resume-exec-{name}"));
        let jobs = dir.join("jobs");
        std::fs::create_dir_all(&jobs).unwrap();
        for (program, body) in programs {
            let path = jobs.join(program);
            std::fs::write(&path, body.replace("@DIR@", dir.to_str().unwrap())).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&jobs, std::fs::Permissions::from_mode(0o755)).unwrap();
        let jobs = jobs.to_str().unwrap();
        let workers = (0..workers).map(|_| Worker::start(&["--job-dir", jobs, "--threads", "2"])).collect();
        Cluster { dir, workers }
    }

    fn hosts(&self) -> String {
        self.workers.iter().map(Worker::addr).collect::<Vec<_>>().join(",")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// pisubmit with `args`, its stdin the file `input` or nothing.
    fn spawn(&self, hosts: &str, args: &[&str], input: Option<&Path>) -> Child {
        let Some(input) = input else { return spawn_pisubmit(hosts, args) };
        let (child, mut stdin) = spawn_pisubmit_fed(hosts, args);
        stdin.write_all(&std::fs::read(input).unwrap()).unwrap();
        child
    }

    /// A resumed run with `input` is refused (exit 2), the error naming
    /// what differs.
    fn refused(&self, args: &[&str], input: &Path, lines: &[String], needle: &str) {
        std::fs::write(input, lines.join("\n") + "\n").unwrap();
        let run = self.run(args, Some(input));
        assert_eq!(run.code, 2, "refused: {}", run.stderr);
        assert!(run.stderr.contains(needle), "the error says {needle:?}: {}", run.stderr);
    }

    fn run(&self, args: &[&str], input: Option<&Path>) -> Run {
        finish(self.spawn(&self.hosts(), args, input), Duration::from_secs(120))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The (piece, outcome) of each whole line of a job log.
fn logged(log: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    whole
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("Seq\t"))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[1].parse().expect("a piece number"), f[7].to_string())
        })
        .collect()
}

fn done(log: &Path) -> Vec<usize> {
    logged(log).into_iter().filter(|(_, o)| o == "ok").map(|(p, _)| p).collect()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// When to kill a run.
#[derive(Debug)]
enum Moment {
    AtOnce,
    After(Duration),
    /// Once the log shows this many pieces done.
    Logged(usize),
    /// Once this file is longer than it was at the start.
    Grows(PathBuf),
}

/// Waits (bounded) for `moment`, then SIGKILLs pisubmit. Returns whether
/// it was killed (false: it finished first) and its stdout.
fn kill_at(mut child: Child, moment: &Moment, log: &Path) -> (bool, String) {
    let start_size = match moment {
        Moment::Grows(p) => size(p),
        _ => 0,
    };
    let begun = Instant::now();
    let deadline = begun + Duration::from_secs(60);
    let reached = || match moment {
        Moment::AtOnce => true,
        Moment::After(d) => begun.elapsed() >= *d,
        Moment::Logged(n) => done(log).len() >= *n,
        Moment::Grows(p) => size(p) > start_size,
    };
    let mut ended = false;
    while !reached() {
        if child.try_wait().unwrap().is_some() {
            ended = true;
            break;
        }
        assert!(Instant::now() < deadline, "the moment to kill pisubmit never came");
        std::thread::sleep(Duration::from_millis(2));
    }
    if !ended {
        child.kill().unwrap();
    }
    let (status, stdout, stderr) = collect(child, Duration::from_secs(30));
    let status = status.expect("pisubmit ends once killed");
    if ended {
        assert!(status.success(), "a run that was not killed failed: {stderr}");
    }
    (!ended, stdout)
}

/// Kills an exec run at every moment in turn, resuming each time, then
/// lets the last resumed run finish. `partial` is the file being written.
fn kill_and_resume(c: &Cluster, args: &[&str], input: Option<&Path>, partial: &Path, total: usize) {
    let log = c.path("job.log");
    let log_arg = log.to_str().unwrap();
    let with = |resume: bool| {
        let mut a = vec!["--joblog", log_arg];
        if resume {
            a.push("--resume");
        }
        a.extend_from_slice(args);
        a
    };
    let (killed, _) = kill_at(c.spawn(&c.hosts(), &with(false), input), &Moment::AtOnce, &log);
    assert!(killed, "the first run was killed before its first piece");
    let mut moments = vec![Moment::After(Duration::from_millis(30)), Moment::Logged(1)];
    for delay in [120, 400] {
        moments.push(Moment::After(Duration::from_millis(delay)));
    }
    moments.push(Moment::Grows(partial.to_path_buf()));
    // Mid-stream, then during the last (slow) piece.
    moments.push(Moment::Logged(3));
    moments.push(Moment::Logged(total));
    let mut killed_last = false;
    for moment in moments {
        let moment = match moment {
            Moment::Logged(n) if n == total => Moment::Logged(total - 1),
            Moment::Logged(n) => Moment::Logged((done(&log).len() + n).min(total - 1)),
            m => m,
        };
        let (killed, _) = kill_at(c.spawn(&c.hosts(), &with(true), input), &moment, &log);
        // What each kill caught, for whoever reads a failure.
        eprintln!("{moment:?}: killed {killed}, {} pieces logged done", done(&log).len());
        killed_last = killed && matches!(moment, Moment::Logged(n) if n == total - 1);
    }
    let last = c.run(&with(true), input);
    assert_eq!(last.code, 0, "{}", last.stderr);
    if killed_last && input.is_none() {
        assert!(last.stdout.contains(" 1 pieces over"), "only the last piece ran again: {}", last.stdout);
    }
    let mut pieces = done(&log);
    pieces.sort_unstable();
    assert_eq!(pieces, (0..total).collect::<Vec<_>>(), "each piece logged done once");
}

fn joined<'a>(flags: &[&'a str], job: &[&'a str]) -> Vec<&'a str> {
    flags.iter().chain(job).copied().collect()
}

/// Lines grouped by the piece that printed them (the second word).
fn pieces_of(text: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        let piece = line.split(' ').nth(1).unwrap_or("").to_string();
        match out.last_mut() {
            Some((p, lines)) if *p == piece => lines.push(line),
            _ => out.push((piece, vec![line])),
        }
    }
    out
}

/// exec --range --output, in piece order and as pieces finish: killed at
/// every moment and resumed, the file is the uninterrupted run's (the
/// same bytes; for --unordered, the same pieces, each whole and once).
#[test]
fn exec_output_files_survive_kills_at_every_moment() {
    let c = Cluster::new("range", 2, &[("piece", PIECE)]);
    let reference = c.path("reference.txt");
    let mut args = vec!["exec", "piece", "--pieces", "32", "--output", reference.to_str().unwrap()];
    args.extend_from_slice(RANGE);
    let run = c.run(&args, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = std::fs::read(&reference).unwrap();
    assert_eq!(expected.iter().filter(|&&b| b == b'\n').count(), 64000);

    for ordered in [true, false] {
        let out = c.path(if ordered { "ordered.txt" } else { "unordered.txt" });
        let _ = std::fs::remove_file(c.path("job.log"));
        let mut args = vec!["exec", "piece", "--pieces", "32", "--output", out.to_str().unwrap()];
        args.extend_from_slice(RANGE);
        if !ordered {
            args.push("--unordered");
        }
        let partial = PathBuf::from(format!("{}.partial", out.display()));
        kill_and_resume(&c, &args, None, &partial, 32);
        assert!(!partial.exists(), "the partial file was renamed into place");
        same_pieces(&out, &expected, ordered);
        // Resuming a finished run runs nothing and leaves the file as it is.
        let log = c.path("job.log");
        let mut again = vec!["--joblog", log.to_str().unwrap(), "--resume"];
        again.extend_from_slice(&args);
        let run = c.run(&again, None);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stdout.contains("32 pieces of piece"), "{}", run.stdout);
        assert!(run.stdout.contains(" 0 pieces over"), "nothing ran again: {}", run.stdout);
        same_pieces(&out, &expected, ordered);
        // A file that lost its tail (a head that lost power before the
        // disk had it): the lost pieces run again, and the log still
        // resumes after that.
        let file = std::fs::OpenOptions::new().write(true).open(&out).unwrap();
        file.set_len(expected.len() as u64 / 2 + 7).unwrap();
        drop(file);
        for _ in 0..2 {
            let run = c.run(&again, None);
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert!(run.stdout.contains("32 pieces of piece"), "{}", run.stdout);
            same_pieces(&out, &expected, ordered);
        }
    }
}

/// `out` holds the reference's pieces: the same bytes in piece order, or
/// (--unordered) each piece's lines whole and once, in any order.
fn same_pieces(out: &Path, expected: &[u8], ordered: bool) {
    let got = std::fs::read(out).unwrap();
    if ordered {
        assert!(got == expected, "ordered output differs from the uninterrupted run's");
        return;
    }
    let (got, expected) = (String::from_utf8(got).unwrap(), String::from_utf8(expected.to_vec()).unwrap());
    let mut got_pieces = pieces_of(&got);
    let mut expected_pieces = pieces_of(&expected);
    assert_eq!(got_pieces.len(), expected_pieces.len(), "each piece's lines together, once");
    got_pieces.sort();
    expected_pieces.sort();
    assert!(got_pieces == expected_pieces, "the unordered file holds other pieces than the reference");
}

/// A stdin farm (exec NAME with no range) writing an ordered --output:
/// the same input piped again after each kill gives the uninterrupted
/// run's bytes; a different or shorter input is refused, naming the line.
#[test]
fn an_exec_stdin_farm_resumes_with_the_same_input_and_refuses_another() {
    let c = Cluster::new("farm", 2, &[("upper", UPPER)]);
    let input = c.path("input.txt");
    let words: Vec<String> = (1..=40).map(|i| format!("word {i}")).collect();
    std::fs::write(&input, words.join("\n") + "\n").unwrap();
    let reference = c.path("reference.txt");
    let run = c.run(&["exec", "upper", "--output", reference.to_str().unwrap()], Some(&input));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected = std::fs::read_to_string(&reference).unwrap();
    assert!(expected.starts_with("WORD 1\nWORD 2\n") && expected.ends_with("WORD 40\n"), "{expected}");

    let out = c.path("out.txt");
    let partial = c.path("out.txt.partial");
    kill_and_resume(&c, &["exec", "upper", "--output", out.to_str().unwrap()], Some(&input), &partial, 40);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);

    let log = c.path("job.log");
    let resume = ["--joblog", log.to_str().unwrap(), "--resume", "exec", "upper", "--output", out.to_str().unwrap()];
    let other = c.path("other.txt");
    let mut changed = words.clone();
    changed[2] = "another word".into();
    c.refused(&resume, &other, &changed, "stdin line 3 differs");
    c.refused(&resume, &other, &changed, "job.log line ");
    c.refused(&resume, &other, &words[..10], "the input ended after 10 pieces");
}

/// To stdout, a resumed farm prints only the lines the log does not show
/// as answered: exec --unordered (in any order), exec and the built-in
/// farm in input order (exactly the rest, in order).
#[test]
fn a_resumed_farm_on_stdout_prints_only_the_unanswered_lines() {
    let c = Cluster::new("stdout", 2, &[("upper", UPPER)]);
    let log = c.path("job.log");
    let log_arg = log.to_str().unwrap();
    let input = c.path("input.txt");
    let words: Vec<String> = (1..=30).map(|i| format!("word {i}")).collect();
    std::fs::write(&input, words.join("\n") + "\n").unwrap();
    for ordered in [false, true] {
        let _ = std::fs::remove_file(&log);
        let order = if ordered { "--ordered" } else { "--unordered" };
        let args = ["--joblog", log_arg, "exec", "upper", order];
        let (killed, _) = kill_at(c.spawn(&c.hosts(), &args, Some(&input)), &Moment::Logged(8), &log);
        assert!(killed, "killed mid-run");
        let answered = done(&log);
        let run = c.run(&["--joblog", log_arg, "--resume", "exec", "upper", order], Some(&input));
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("not printed again"), "says so: {}", run.stderr);
        let mut printed: Vec<&str> = run.stdout.lines().collect();
        let mut rest: Vec<String> =
            (0..30).filter(|i| !answered.contains(i)).map(|i| words[i].to_uppercase()).collect();
        if ordered {
            assert_eq!(answered, (0..answered.len()).collect::<Vec<_>>(), "logged in order, once printed");
        } else {
            printed.sort_unstable();
            rest.sort_unstable();
        }
        assert_eq!(printed, rest);
    }

    // The built-in farm, in input order: a task is logged once printed.
    let tasks = c.path("tasks.txt");
    let lines: Vec<String> = (1..=40).map(|i| format!("40 task {i}")).collect();
    std::fs::write(&tasks, lines.join("\n") + "\n").unwrap();
    let farm_log = c.path("farm.log");
    let farm_arg = farm_log.to_str().unwrap();
    let (killed, first) = kill_at(
        c.spawn(&c.hosts(), &["--joblog", farm_arg, "farm", "spin"], Some(&tasks)),
        &Moment::Logged(10),
        &farm_log,
    );
    assert!(killed, "killed mid-run");
    let answered = done(&farm_log);
    assert_eq!(answered, (0..answered.len()).collect::<Vec<_>>(), "logged in input order");
    assert!(first.lines().count() >= answered.len(), "each logged task was printed first");
    let run = c.run(&["--joblog", farm_arg, "--resume", "farm", "spin"], Some(&tasks));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, lines[answered.len()..].join("\n") + "\n", "the rest, in order, once");
    let mut changed = lines.clone();
    changed[1] = "40 changed".into();
    let resume = ["--joblog", farm_arg, "--resume", "farm", "spin"];
    c.refused(&resume, &c.path("changed.txt"), &changed, "task on stdin line 2 differs");

    // The built-in farm as tasks finish: a task is logged only once its
    // result is out of pisubmit (results go out together, then their log
    // lines), so every logged task is in the killed run's stdout.
    let _ = std::fs::remove_file(&farm_log);
    let job = ["--joblog", farm_arg, "farm", "spin", "--unordered"];
    let (killed, first) = kill_at(c.spawn(&c.hosts(), &job, Some(&tasks)), &Moment::Logged(10), &farm_log);
    assert!(killed, "killed mid-run");
    let answered = done(&farm_log);
    let printed: Vec<&str> = first.lines().collect();
    for &task in &answered {
        assert!(printed.contains(&lines[task].as_str()), "task {task} is logged but was not printed: {first}");
    }
    let run = c.run(&["--joblog", farm_arg, "--resume", "farm", "spin", "--unordered"], Some(&tasks));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut again: Vec<&str> = run.stdout.lines().collect();
    let mut rest: Vec<&str> = (0..40).filter(|i| !answered.contains(i)).map(|i| lines[i].as_str()).collect();
    again.sort_unstable();
    rest.sort_unstable();
    assert_eq!(again, rest, "the unlogged tasks, each once");
}

/// A worker killed during a resumed run: its pieces run elsewhere, and the
/// last resumed run, on the two workers left, cuts the range as the log
/// says (24 pieces for 3 workers of 2 threads), not as its cluster would.
#[test]
fn a_worker_killed_during_a_resumed_run_loses_nothing() {
    let c = Cluster::new("worker", 3, &[("piece", PIECE)]);
    let reference = c.path("reference.txt");
    let mut args = vec!["exec", "piece", "--pieces", "24", "--output", reference.to_str().unwrap()];
    args.extend_from_slice(RANGE);
    let run = c.run(&args, None);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let out = c.path("out.txt");
    let log = c.path("job.log");
    let mut args = vec!["--joblog", log.to_str().unwrap(), "exec", "piece", "--output", out.to_str().unwrap()];
    args.extend_from_slice(RANGE);
    let (killed, _) = kill_at(c.spawn(&c.hosts(), &args, None), &Moment::Logged(4), &log);
    assert!(killed, "killed mid-run");
    args.insert(2, "--resume");
    let hosts = c.hosts();
    let child = c.spawn(&hosts, &args, None);
    let before = done(&log).len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while done(&log).len() < before + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    c.workers[2].signal(nix::sys::signal::Signal::SIGKILL);
    let run = finish(child, Duration::from_secs(120));
    assert_eq!(run.code, 0, "the resumed run finished without the dead worker: {}", run.stderr);
    assert!(run.stdout.contains("24 pieces of piece"), "{}", run.stdout);
    assert!(std::fs::read(&out).unwrap() == std::fs::read(&reference).unwrap(), "the output differs");

    // Resumed on two workers (16 pieces by their threads): the log's cut.
    let two = c.workers[..2].iter().map(Worker::addr).collect::<Vec<_>>().join(",");
    let run = finish(c.spawn(&two, &args, None), Duration::from_secs(120));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("24 pieces of piece"), "the logged cut: {}", run.stdout);
}

/// A piece that fails on every worker it may try fails the job and is
/// logged failed; --resume stops at it, naming it; --resume-failed runs it
/// again (the program now succeeds) and the file is the full one.
#[test]
fn resume_failed_runs_a_failed_piece_again() {
    let flaky = "#!/bin/sh\nif [ \"$PIW_PIECE\" = 2 ] && [ ! -e @DIR@/marker ]; then\n\
                 touch @DIR@/marker; echo 'not yet' >&2; exit 3\nfi\necho \"piece $PIW_PIECE\"\n";
    let c = Cluster::new("failed", 2, &[("flaky", flaky)]);
    let out = c.path("out.txt");
    let log = c.path("job.log");
    let log_arg = log.to_str().unwrap();
    let job = ["exec", "flaky", "--range", "0..8", "--pieces", "8", "--output", out.to_str().unwrap()];
    let run = c.run(&joined(&["--retries", "1", "--joblog", log_arg], &job), None);
    assert_eq!(run.code, 1, "the failed piece fails the job: {}", run.stderr);
    assert!(logged(&log).contains(&(2, "failed".into())), "logged as failed: {:?}", logged(&log));
    let run = c.run(&joined(&["--joblog", log_arg, "--resume"], &job), None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("piece 2 (2..3) failed in the logged run"), "{}", run.stderr);
    assert!(run.stderr.contains("--resume-failed"), "says how to go on: {}", run.stderr);
    let run = c.run(&joined(&["--joblog", log_arg, "--resume-failed"], &job), None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let expected: String = (0..8).map(|i| format!("piece {i}\n")).collect();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
}
