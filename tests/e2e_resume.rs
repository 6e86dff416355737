//! --joblog and --resume end to end: pisubmit is killed with SIGKILL at
//! many moments (before its first piece, mid-stream, during its last piece,
//! while --output is being written), resumed, and the answer (--json, bit
//! for bit) and every output byte must equal an uninterrupted run's.
//!
//! The kill moments are spread over the wall time of an uninterrupted run
//! measured in the same test, so they land in the same places on a fast
//! and a slow machine; no assertion is about time.

mod common;

use common::{collect, finish, hosts, pisubmit, spawn_pisubmit, temp_dir, Run, Worker};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Kills per job.
const KILLS: usize = 10;

/// The piece lines of a job log (whole lines only: a torn tail is not one).
fn piece_lines(log: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    whole
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("Seq\t"))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// One job: its arguments (after --json), and the output file it writes.
struct Job {
    name: &'static str,
    args: Vec<String>,
    output: Option<PathBuf>,
}

impl Job {
    fn new(name: &'static str, args: &[&str]) -> Job {
        Job { name, args: args.iter().map(|s| s.to_string()).collect(), output: None }
    }

    /// The same job writing to `path` (appended as `--output PATH`).
    fn writing(mut self, path: &Path) -> Job {
        self.args.extend(["--output".into(), path.display().to_string()]);
        self.output = Some(path.to_path_buf());
        self
    }

    /// Its arguments with a job log, resumed if there is one.
    fn logged(&self, log: &Path) -> Vec<String> {
        let mut args = vec!["--json".into(), "--joblog".into(), log.display().to_string()];
        if log.exists() {
            args.push("--resume".into());
        }
        args.extend(self.args.clone());
        args
    }
}

/// What an uninterrupted run gives.
struct Reference {
    answer: String,
    output: Option<Vec<u8>>,
    wall: Duration,
    /// How many pieces the job is cut into (the hosts' pieces added up).
    pieces: usize,
}

/// The uninterrupted run's answer and output; its wall time is that of
/// an uninterrupted run with a job log (which hashes the input, too),
/// which must give the same.
fn reference(cluster: &str, job: &Job, dir: &Path) -> Reference {
    let mut args = vec!["--json".to_string()];
    args.extend(job.args.clone());
    let run = pisubmit(cluster, &args.iter().map(String::as_str).collect::<Vec<_>>());
    // The logged runs write to the same file (the answer names it).
    let take_output = || {
        job.output.as_ref().map(|p| {
            let bytes = std::fs::read(p).expect("the reference output");
            std::fs::remove_file(p).expect("remove the reference output");
            bytes
        })
    };
    let output = take_output();
    let pieces =
        run.json()["hosts"].as_array().expect("hosts").iter().map(|h| h["pieces"].as_u64().unwrap()).sum::<u64>();
    let mut want = Reference { answer: run.answer(), output, wall: Duration::ZERO, pieces: pieces as usize };
    let log = dir.join(format!("{}.timing.joblog", job.name));
    let args = job.logged(&log);
    let started = Instant::now();
    let run = pisubmit(cluster, &args.iter().map(String::as_str).collect::<Vec<_>>());
    want.wall = started.elapsed();
    check_same(job, &run, job.output.as_deref(), &want, "an uninterrupted run with --joblog");
    check_each_piece_once(job, &log, want.pieces);
    std::fs::remove_file(&log).unwrap();
    take_output();
    want
}

/// Checks a finished logged run against the reference: answer and bytes.
fn check_same(job: &Job, run: &Run, output: Option<&Path>, want: &Reference, when: &str) {
    assert_eq!(run.answer(), want.answer, "{}: {when}: the answer differs\n{}", job.name, run.stderr);
    if let (Some(path), Some(bytes)) = (output, &want.output) {
        let got = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {when}: {}: {e}", job.name, path.display()));
        assert!(got == *bytes, "{}: {when}: {} differs from the uninterrupted run's output", job.name, path.display());
        let partial = PathBuf::from(format!("{}.partial", path.display()));
        assert!(!partial.exists(), "{}: {when}: {} is left behind", job.name, partial.display());
    }
}

/// How a series of killed runs went.
#[derive(Default, Debug)]
struct Kills {
    /// Runs killed before they finished.
    killed: usize,
    /// Kills that left a log with no piece in it.
    before_first: usize,
    /// Kills that left a log with some pieces done and some not.
    mid_stream: usize,
    /// Of those, kills with only the last piece left.
    last_piece: usize,
    /// Runs that finished before their kill (checked, then started afresh).
    finished: usize,
}

/// Runs `job` with a job log again and again, each run killed with SIGKILL
/// after one of `KILLS` delays spread over the uninterrupted run's wall
/// time; a run after a kill resumes (so kills come several in a row). A
/// run that finishes before its kill is checked and the next starts
/// afresh. At the end a resumed run must give the reference's answer and
/// bytes.
fn kill_and_resume(cluster: &str, job: &Job, dir: &Path, want: &Reference) -> Kills {
    let log = dir.join(format!("{}.joblog", job.name));
    let output = job.output.clone();
    let mut kills = Kills::default();
    for k in 0..KILLS {
        // 0 (before the first piece is sent), then up to the end of a run.
        let delay = want.wall.mul_f64(k as f64 / (KILLS - 1) as f64 * 1.1);
        let args = job.logged(&log);
        let mut child = spawn_pisubmit(cluster, &args.iter().map(String::as_str).collect::<Vec<_>>());
        std::thread::sleep(delay);
        let killed = child.try_wait().expect("wait").is_none();
        if killed {
            child.kill().expect("SIGKILL pisubmit");
        }
        let (status, stdout, stderr) = collect(child, Duration::from_secs(60));
        let status = status.expect("pisubmit ends");
        if killed && status.code().is_none() {
            kills.killed += 1;
            let done = piece_lines(&log).len();
            kills.before_first += usize::from(done == 0);
            kills.mid_stream += usize::from(done > 0 && done < want.pieces);
            kills.last_piece += usize::from(done + 1 == want.pieces);
            continue;
        }
        // It finished first: it must be right; the next run starts afresh.
        let run = Run { code: status.code().unwrap_or(-1), stdout, stderr };
        check_same(job, &run, output.as_deref(), want, &format!("run {k}, finished before its kill"));
        kills.finished += 1;
        std::fs::remove_file(&log).expect("remove the log");
        if let Some(out) = &output {
            std::fs::remove_file(out).expect("remove the output");
        }
    }
    resume_to_the_end(cluster, job, &log, want, "the final resumed run after the timed kills");
    // Kills at two events rather than times: a fresh run once half the
    // pieces are logged, then its resumed run once all but the last are
    // (the last piece is running, or its output being written).
    let _ = std::fs::remove_file(&log);
    if let Some(out) = &output {
        let _ = std::fs::remove_file(out);
    }
    for at in [want.pieces / 2, want.pieces - 1] {
        let args = job.logged(&log);
        let mut child = spawn_pisubmit(cluster, &args.iter().map(String::as_str).collect::<Vec<_>>());
        let end = Instant::now() + Duration::from_secs(60);
        while piece_lines(&log).len() < at && child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < end, "{}: the log never held {at} pieces", job.name);
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill();
        let (status, _, stderr) = collect(child, Duration::from_secs(60));
        let done = piece_lines(&log).len();
        if status.expect("pisubmit ends").code().is_none() && done < want.pieces {
            kills.killed += 1;
            kills.mid_stream += 1;
            kills.last_piece += usize::from(done + 1 == want.pieces);
        } else {
            assert_eq!(done, want.pieces, "{}: the run ended with {done} pieces logged: {stderr}", job.name);
        }
    }
    resume_to_the_end(cluster, job, &log, want, "the final resumed run after the event kills");
    eprintln!("{}: uninterrupted {:?}; {kills:?}", job.name, want.wall);
    assert!(kills.mid_stream > 0, "{}: no kill landed mid-stream ({kills:?}): the test tested nothing", job.name);
    kills
}

/// Resumes `log` to the end: the reference's answer and bytes, and every
/// piece logged once.
fn resume_to_the_end(cluster: &str, job: &Job, log: &Path, want: &Reference, when: &str) {
    let args = job.logged(log);
    let run =
        finish(spawn_pisubmit(cluster, &args.iter().map(String::as_str).collect::<Vec<_>>()), Duration::from_secs(120));
    check_same(job, &run, job.output.as_deref(), want, when);
    check_each_piece_once(job, log, want.pieces);
    // The log is complete now: resuming it runs nothing, changes nothing
    // and prints the same answer.
    let text = std::fs::read(log).unwrap();
    let args = job.logged(log);
    let again =
        finish(spawn_pisubmit(cluster, &args.iter().map(String::as_str).collect::<Vec<_>>()), Duration::from_secs(60));
    check_same(job, &again, job.output.as_deref(), want, &format!("{when}, resumed once more"));
    let ran: u64 = again.json()["hosts"].as_array().unwrap().iter().map(|h| h["pieces"].as_u64().unwrap()).sum();
    assert_eq!(ran, 0, "{}: resuming a complete log ran {ran} pieces", job.name);
    assert!(std::fs::read(log).unwrap() == text, "{}: resuming a complete log changed it", job.name);
}

/// Every piece is logged as done exactly once, however many runs it took.
fn check_each_piece_once(job: &Job, log: &Path, total: usize) {
    let lines = piece_lines(log);
    let mut pieces: Vec<usize> = lines.iter().map(|l| l[1].parse().expect("a piece number")).collect();
    let count = pieces.len();
    pieces.sort_unstable();
    pieces.dedup();
    assert_eq!(pieces.len(), count, "{}: a piece is logged twice in {}", job.name, log.display());
    assert_eq!(pieces, (0..total).collect::<Vec<_>>(), "{}: pieces missing from {}", job.name, log.display());
    assert!(lines.iter().all(|l| l[7] == "ok"), "{}: a piece not ok in {}", job.name, log.display());
}

fn two_workers() -> (Worker, Worker) {
    (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"]))
}

#[test]
fn primes_output_survives_kills_at_any_moment() {
    let dir = temp_dir("resume-primes");
    let (a, b) = two_workers();
    let cluster = hosts(&[&a, &b]);
    let job = Job::new("primes", &["primes", "--from", "1", "--to", "150000000"]).writing(&dir.join("primes.txt"));
    let want = reference(&cluster, &job, &dir);
    kill_and_resume(&cluster, &job, &dir, &want);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A .npy output: its header comes before the first piece and gets the
/// count at the end; a resume keeps it and the pieces after it.
#[test]
fn primes_npy_output_survives_kills_at_any_moment() {
    let dir = temp_dir("resume-primes-npy");
    let (a, b) = two_workers();
    let cluster = hosts(&[&a, &b]);
    let job = Job::new("primes-npy", &["primes", "--from", "1", "--to", "150000000"]).writing(&dir.join("primes.npy"));
    let want = reference(&cluster, &job, &dir);
    let bytes = want.output.as_ref().expect("the .npy output");
    assert!(bytes.starts_with(b"\x93NUMPY") && bytes.len() == 128 + 8_444_396 * 8, "{} bytes", bytes.len());
    kill_and_resume(&cluster, &job, &dir, &want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pi_and_loopsum_survive_kills_at_any_moment() {
    let dir = temp_dir("resume-pi");
    let (a, b) = two_workers();
    let cluster = hosts(&[&a, &b]);
    for job in [
        Job::new("pi", &["pi", "--samples", "200000000", "--seed", "11"]),
        Job::new("loopsum", &["loopsum", "--t-range", "-3000..40001", "--u-len", "20001", "--c", "0.1"]),
    ] {
        let want = reference(&cluster, &job, &dir);
        kill_and_resume(&cluster, &job, &dir, &want);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file of `values` f64s from a fixed generator, of mixed sizes and
/// signs, so that an exact sum depends on every bit of every value.
fn f64_file(path: &Path, values: usize) {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut bytes = Vec::with_capacity(values * 8);
    for _ in 0..values {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = (x >> 11) as f64 / (1u64 << 53) as f64 * 2f64.powi((x % 40) as i32 - 20);
        let v = if x & 1 == 0 { -v } else { v };
        bytes.extend_from_slice(&v.to_be_bytes()); // as reduce reads them
    }
    std::fs::write(path, bytes).unwrap();
}

/// A text file of `lines` decimal numbers, one a line.
fn text_file(path: &Path, lines: usize) {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut text = String::with_capacity(lines * 12);
    for _ in 0..lines {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push_str(&format!("{}.{:03}\n", (x >> 40) as i64 - (1 << 23), x % 1000));
    }
    std::fs::write(path, text).unwrap();
}

/// reduce over --input: each logged piece read its own byte range once
/// (Send is the range's length plus the parameters), and together the
/// logged ranges are the file: a resumed run read only what was missing.
fn check_ranges_read_once(log: &Path, input: &Path) {
    let size = std::fs::metadata(input).unwrap().len();
    let mut total = 0;
    let mut overhead = None;
    for line in piece_lines(log) {
        let range = line[10].strip_prefix("bytes ").and_then(|l| l.split(' ').next()).expect("a bytes label");
        let (a, b) = range.split_once("..").expect("A..B");
        let len = b.parse::<u64>().unwrap() - a.parse::<u64>().unwrap();
        let send: u64 = line[5].parse().expect("Send");
        let extra = send.checked_sub(len).unwrap_or_else(|| panic!("Send {send} < the range {range}"));
        assert!(extra < 64, "piece {} sent {extra} bytes beyond its range {range}", line[1]);
        assert_eq!(*overhead.get_or_insert(extra), extra, "piece {} sent more than its range", line[1]);
        total += len;
    }
    assert_eq!(total, size, "the logged ranges do not add up to {}", input.display());
}

#[test]
fn reduce_input_survives_kills_and_rereads_only_missing_ranges() {
    let dir = temp_dir("resume-reduce");
    let (a, b) = two_workers();
    let cluster = hosts(&[&a, &b]);
    let binary = dir.join("values.f64");
    f64_file(&binary, 12 << 20);
    let text = dir.join("values.txt");
    text_file(&text, 3 << 20);
    let bin_s = binary.display().to_string();
    let text_s = text.display().to_string();
    for (job, input) in [
        (Job::new("reduce-f64", &["reduce", "--op", "sum", "--dtype", "f64be", "--input", &bin_s]), &binary),
        (Job::new("reduce-text", &["reduce", "--op", "sum", "--input", &text_s]), &text),
    ] {
        let want = reference(&cluster, &job, &dir);
        kill_and_resume(&cluster, &job, &dir, &want);
        check_ranges_read_once(&dir.join(format!("{}.joblog", job.name)), input);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits (bounded) until `log` has more than `n` piece lines.
fn wait_lines_over(log: &Path, n: usize) {
    let end = Instant::now() + Duration::from_secs(60);
    while piece_lines(log).len() <= n {
        assert!(Instant::now() < end, "{} never got past {n} pieces", log.display());
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Cuts a job log after its first `keep` piece lines.
fn cut_to_pieces(log: &Path, keep: usize) {
    let text = std::fs::read_to_string(log).expect("the job log");
    let mut pieces = 0;
    let mut end = 0;
    for line in text.split_inclusive('\n') {
        let is_piece = !line.starts_with('#') && !line.starts_with("Seq\t");
        if is_piece && pieces == keep {
            break;
        }
        pieces += usize::from(is_piece);
        end += line.len();
    }
    std::fs::write(log, &text[..end]).expect("cut the job log");
}

/// The client addresses `worker` has started pieces for (its debug log:
/// "PEER: job N (KIND) started").
fn peers_started(worker: &Worker) -> Vec<String> {
    let log = worker.log();
    let peers =
        log.lines().filter(|l| l.contains(") started")).filter_map(|l| l.split("] ").nth(1)?.split(": job").next());
    peers.map(str::to_string).collect()
}

/// Waits (bounded) until `worker` starts a piece for a client not in
/// `old`: the resumed run, not what a killed one left in its socket.
fn wait_new_peer_started(worker: &Worker, old: &[String]) {
    let end = Instant::now() + Duration::from_secs(60);
    while peers_started(worker).iter().all(|p| old.contains(p)) {
        assert!(Instant::now() < end, "the worker never started a piece of the resumed run");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_worker_killed_during_the_resumed_run_changes_nothing() {
    let dir = temp_dir("resume-worker");
    let input = dir.join("values.f64");
    f64_file(&input, 12 << 20);
    let input_s = input.display().to_string();
    for job in [
        Job::new("primes", &["primes", "--from", "1", "--to", "150000000"]).writing(&dir.join("primes.txt")),
        Job::new("reduce", &["reduce", "--op", "sum", "--dtype", "f64be", "--input", &input_s]),
    ] {
        let workers: Vec<Worker> = (0..3).map(|_| Worker::start(&["--threads", "1"])).collect();
        let cluster = hosts(&workers.iter().collect::<Vec<_>>());
        let want = reference(&cluster, &job, &dir);
        let log = dir.join(format!("{}.joblog", job.name));
        // Killed once a piece is logged...
        let args = job.logged(&log);
        let mut first = spawn_pisubmit(&cluster, &args.iter().map(String::as_str).collect::<Vec<_>>());
        wait_lines_over(&log, 0);
        first.kill().expect("SIGKILL pisubmit");
        let _ = collect(first, Duration::from_secs(30));
        if piece_lines(&log).len() == want.pieces {
            // A short job on a busy machine can outrun its kill (reduce
            // takes a tenth of a second here, its first lines wait up to
            // 0.2 s). A log is only ever appended to, so its first half
            // is a state it passed through, with the output file ahead of
            // it: what a kill leaves while lines wait to be written.
            eprintln!("{}: the first run finished before its kill; resuming half its log", job.name);
            cut_to_pieces(&log, want.pieces / 2);
        }
        let logged = piece_lines(&log).len();
        assert!(logged > 0 && logged < want.pieces, "{}: {logged} of {} pieces logged", job.name, want.pieces);
        // ...then resumed, and a worker dies as soon as it has a piece.
        let victim = &workers[1];
        let before = peers_started(victim);
        let args = job.logged(&log);
        let resumed = spawn_pisubmit(&cluster, &args.iter().map(String::as_str).collect::<Vec<_>>());
        wait_new_peer_started(victim, &before);
        victim.signal(nix::sys::signal::Signal::SIGKILL);
        let run = finish(resumed, Duration::from_secs(120));
        check_same(&job, &run, job.output.as_deref(), &want, "resumed with a worker killed");
        let states: Vec<String> = run.json()["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| format!("{} {}", h["address"].as_str().unwrap(), h["state"].as_str().unwrap()))
            .collect();
        assert!(
            states.contains(&format!("{} lost", victim.addr())),
            "{}: the worker was not lost: {states:?}",
            job.name
        );
        check_each_piece_once(&job, &log, want.pieces);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
