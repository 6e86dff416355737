//! A job log on a disk that cannot take it (read-only, full, filling up)
//! fails the job at once, naming the path and the reason, not at the end;
//! and a piece logged as failed stops --resume until --resume-failed.
//!
//! The file-system cases mount a tmpfs, which takes root: without it they
//! print a loud SKIPPED notice (and fail in CI, where they must run).

mod common;

use common::{hosts, pisubmit, spawn_pisubmit, temp_dir, Run, Worker};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Sixty pieces on two hosts: enough that a disk fills in the middle.
const BIG: [&str; 5] = ["primes", "--from", "1", "--to", "1000000000"];
const SMALL: [&str; 5] = ["primes", "--from", "1", "--to", "20000000"];

/// A tmpfs mounted for one test, unmounted when dropped (also when the
/// test fails).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// None, after a loud notice, where mounting is not allowed here.
    fn mount(test: &str, dir: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(dir).output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir: dir.to_path_buf() }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                if std::env::var_os("CI").is_some() {
                    panic!("{test}: cannot mount a tmpfs in CI: {why}");
                }
                eprintln!(
                    "\n################################################################\n\
                     # SKIPPED: {test}\n\
                     #   mounting a tmpfs failed ({why}); run as root:\n\
                     #   sudo cargo test --release --test e2e_joblog_disks\n\
                     ################################################################\n"
                );
                None
            }
        }
    }

    fn remount(&self, options: &str) {
        let st = Command::new("mount").args(["-o", &format!("remount,{options}")]).arg(&self.dir).status().unwrap();
        assert!(st.success(), "remount {options} {}", self.dir.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn started(workers: &[&Worker]) -> usize {
    workers.iter().map(|w| w.log().matches("(primes) started").count()).sum()
}

fn with_log<'a>(log: &'a str, extra: &[&'a str], job: &[&'a str]) -> Vec<&'a str> {
    ["--joblog", log].into_iter().chain(extra.iter().copied()).chain(job.iter().copied()).collect()
}

/// Checks a run that must fail before any piece: exit 1, naming the path
/// and the reason, and no worker was given a piece.
fn fails_at_once(case: &str, run: &Run, path: &str, reason: &str, workers: &[&Worker], before: usize) {
    assert_eq!(run.code, 1, "{case}: exit {}: {}", run.code, run.stderr);
    assert!(run.stderr.contains(&format!("--joblog {path}")), "{case}: the path is not named: {}", run.stderr);
    assert!(run.stderr.contains(reason), "{case}: {reason:?} is not said: {}", run.stderr);
    assert_eq!(started(workers), before, "{case}: a piece ran before the log failed");
}

#[test]
fn a_joblog_on_dev_full_fails_before_any_piece() {
    let w = Worker::start(&["--threads", "1"]);
    let run = pisubmit(&hosts(&[&w]), &with_log("/dev/full", &[], &SMALL));
    fails_at_once("/dev/full", &run, "/dev/full", "No space left on device", &[&w], 0);
}

#[test]
fn a_joblog_on_a_read_only_disk_fails_before_any_piece() {
    let test = "a_joblog_on_a_read_only_disk_fails_before_any_piece";
    let dir = temp_dir("joblog-ro").join("mnt");
    let Some(fs) = Tmpfs::mount(test, &dir, "size=1m") else { return };
    let w = Worker::start(&["--threads", "1"]);
    let cluster = hosts(&[&w]);
    // A log begun there, then the disk turns read-only (as an ext4 does on
    // an error): neither a new log nor the resumed one can be written.
    let log = dir.join("job.log").display().to_string();
    let first = pisubmit(&cluster, &with_log(&log, &[], &SMALL));
    assert_eq!(first.code, 0, "{}", first.stderr);
    fs.remount("ro");
    let before = started(&[&w]);
    let run = pisubmit(&cluster, &with_log(&log, &["--resume"], &SMALL));
    fails_at_once("resume on a read-only disk", &run, &log, "Read-only file system", &[&w], before);
    let new = dir.join("new.log").display().to_string();
    let run = pisubmit(&cluster, &with_log(&new, &[], &SMALL));
    fails_at_once("a new log on a read-only disk", &run, &new, "Read-only file system", &[&w], before);
    drop(fs);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn a_disk_that_fills_mid_run_fails_the_job_then_and_the_log_resumes() {
    let test = "a_disk_that_fills_mid_run_fails_the_job_then_and_the_log_resumes";
    let dir = temp_dir("joblog-full").join("mnt");
    let Some(fs) = Tmpfs::mount(test, &dir, "size=16k") else { return };
    let (a, b) = (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"]));
    let cluster = hosts(&[&a, &b]);
    let mut json = vec!["--json"];
    json.extend(BIG);
    let reference = pisubmit(&cluster, &json);
    let want = reference.answer();
    let pieces: u64 = reference.json()["hosts"].as_array().unwrap().iter().map(|h| h["pieces"].as_u64().unwrap()).sum();
    // Three of the four pages are taken: the log's header and a few
    // dozen lines fit in the last one.
    let filler = dir.join("filler");
    std::fs::write(&filler, vec![0u8; 12288]).expect("the filler fits");
    let log = dir.join("job.log").display().to_string();
    let before = started(&[&a, &b]);
    let run = pisubmit(&cluster, &with_log(&log, &["--json"], &BIG));
    assert_eq!(run.code, 1, "exit {}: {}", run.code, run.stderr);
    assert!(run.stderr.contains(&format!("--joblog {log}")), "the path is not named: {}", run.stderr);
    assert!(run.stderr.contains("No space left on device"), "the reason is not said: {}", run.stderr);
    assert!(!run.stderr.contains("worker 127.0.0.1"), "a full disk is blamed on a worker: {}", run.stderr);
    let logged = std::fs::read_to_string(&log).unwrap().lines().filter(|l| l.contains("\tok\t")).count() as u64;
    let ran = (started(&[&a, &b]) - before) as u64;
    eprintln!("the disk filled after {logged} of {pieces} pieces; {ran} were started");
    assert!(logged > 0 && logged < pieces, "{logged} of {pieces} logged: the disk did not fill mid-run");
    // At that moment, not at the end: the pieces started after the
    // failed line are at most the few each worker keeps in flight.
    assert!(ran < pieces, "all {pieces} pieces ran: the job went on after the disk was full");
    // Room again: the log (its torn last line dropped) resumes.
    std::fs::remove_file(&filler).unwrap();
    let resumed = pisubmit(&cluster, &with_log(&log, &["--json", "--resume"], &BIG));
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.answer(), want);
    drop(fs);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

/// Waits (bounded) until the log has `n` piece lines.
fn wait_lines(log: &Path, n: usize) {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().filter(|l| l.contains("\tok\t")).count() >= n {
            return;
        }
        assert!(Instant::now() < end, "the log never had {n} lines:\n{text}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_failed_piece_stops_resume_and_resume_failed_runs_it() {
    let dir = temp_dir("joblog-failed");
    let (a, mut b) = (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"]));
    let cluster = hosts(&[&a, &b]);
    let mut json = vec!["--json"];
    json.extend(BIG);
    let want = pisubmit(&cluster, &json).answer();
    // --retries 1: a piece lost with its worker fails the job, and the
    // log records it as failed. That is the honest way to make one.
    let log = dir.join("job.log");
    let log_s = log.display().to_string();
    let child = spawn_pisubmit(&cluster, &with_log(&log_s, &["--retries", "1"], &BIG));
    wait_lines(&log, 3);
    b.child.kill().expect("SIGKILL the worker");
    assert!(b.wait_exit(Duration::from_secs(10)).is_some());
    let run = common::finish(child, Duration::from_secs(60));
    assert_eq!(run.code, 1, "losing a worker with --retries 1 did not fail the job: {}", run.stderr);
    let text = std::fs::read_to_string(&log).unwrap();
    let failed = text.lines().position(|l| l.split('\t').nth(7) == Some("failed")).map(|i| i + 1);
    let failed = failed.unwrap_or_else(|| panic!("no failed line in the log:\n{text}"));

    let c = Worker::start(&["--threads", "1"]);
    let cluster = hosts(&[&a, &c]);
    let run = pisubmit(&cluster, &with_log(&log_s, &["--resume"], &BIG));
    assert_eq!(run.code, 2, "{}", run.stderr);
    let named = format!("--joblog {log_s} line {failed}: ");
    assert!(run.stderr.contains(&named), "the failed line is not named ({named}): {}", run.stderr);
    assert!(run.stderr.contains("--resume-failed runs it again"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), text, "a refused resume changed the log");

    let run = pisubmit(&cluster, &with_log(&log_s, &["--json", "--resume-failed"], &BIG));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.answer(), want, "--resume-failed did not give the uninterrupted answer");
    let _ = std::fs::remove_dir_all(&dir);
}
