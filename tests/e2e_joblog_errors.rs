//! Bad job logs and bad disks (issue 17, point 5): a truncated, corrupted,
//! hand-edited, reordered or foreign log is refused with an error naming
//! the file and the line; a torn last line is dropped and resumed (the
//! designed behaviour); a log on a read-only or full disk fails the job at
//! once, naming the path and the reason.

mod common;

use common::{hosts, pisubmit, temp_dir, Run, Worker};
use piworker::submit::report::joblog::Entry;
use std::path::{Path, PathBuf};

/// A small job with an output file: ten pieces on two hosts.
const JOB: [&str; 5] = ["primes", "--from", "1", "--to", "20000000"];

struct Setup {
    dir: PathBuf,
    cluster: String,
    workers: Vec<Worker>,
    /// The uninterrupted run's --json answer (without wall time and hosts).
    answer: String,
    output: Vec<u8>,
}

impl Setup {
    fn new(name: &str) -> Setup {
        let dir = temp_dir(name);
        let workers = vec![Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"])];
        let cluster = hosts(&workers.iter().collect::<Vec<_>>());
        let mut s = Setup { dir, cluster, workers, answer: String::new(), output: Vec::new() };
        // The reference writes where the logged runs write: the answer
        // names the file.
        let run = s.run(&["--json"], &s.out());
        s.answer = run.answer();
        s.output = std::fs::read(s.out()).expect("the reference output");
        std::fs::remove_file(s.out()).unwrap();
        s
    }

    /// pisubmit `flags` JOB --output `output`.
    fn run(&self, flags: &[&str], output: &Path) -> Run {
        let out = output.display().to_string();
        let args: Vec<&str> = flags.iter().copied().chain(JOB).chain(["--output", &out]).collect();
        pisubmit(&self.cluster, &args)
    }

    fn log(&self) -> PathBuf {
        self.dir.join("job.log")
    }

    fn out(&self) -> PathBuf {
        self.dir.join("primes.txt")
    }

    /// A complete log (and its output) of the job.
    fn complete_log(&self) -> String {
        let _ = std::fs::remove_file(self.log());
        let log = self.log().display().to_string();
        let run = self.run(&["--json", "--joblog", &log], &self.out());
        assert_eq!(run.answer(), self.answer);
        std::fs::read_to_string(self.log()).unwrap()
    }

    /// Resumes from the log as it is now.
    fn resume(&self, extra: &[&str]) -> Run {
        let log = self.log().display().to_string();
        let flags: Vec<&str> =
            ["--json", "--joblog", &log, "--resume"].into_iter().chain(extra.iter().copied()).collect();
        self.run(&flags, &self.out())
    }

    /// Writes `text` as the log, resumes, and expects a usage error (exit
    /// 2) that names the log and contains each of `needles`; the log and
    /// the output are left as they were.
    fn refused(&self, case: &str, text: &str, needles: &[&str]) -> String {
        std::fs::write(self.log(), text).unwrap();
        let before = self.output_bytes();
        let started = self.started();
        let run = self.resume(&[]);
        assert_eq!(run.code, 2, "{case}: exit {} (want 2): {}", run.code, run.stderr);
        assert!(run.stdout.is_empty(), "{case}: printed an answer: {}", run.stdout);
        let named = format!("--joblog {}", self.log().display());
        assert!(run.stderr.contains(&named), "{case}: the error does not name the log: {}", run.stderr);
        for needle in needles {
            assert!(run.stderr.contains(needle), "{case}: the error lacks {needle:?}: {}", run.stderr);
        }
        assert_eq!(std::fs::read_to_string(self.log()).unwrap(), text, "{case}: the log was changed");
        assert!(self.output_bytes() == before, "{case}: the output was changed");
        assert_eq!(self.started(), started, "{case}: a piece ran");
        run.stderr
    }

    /// The output's bytes, whether finished or (after a refused resume)
    /// back at FILE.partial: none may be lost.
    fn output_bytes(&self) -> Option<Vec<u8>> {
        let partial = PathBuf::from(format!("{}.partial", self.out().display()));
        std::fs::read(self.out()).or_else(|_| std::fs::read(partial)).ok()
    }

    /// Pieces the workers started so far.
    fn started(&self) -> usize {
        self.workers.iter().map(|w| w.log().matches("(primes) started").count()).sum()
    }

    /// Resuming must give the uninterrupted run's answer and bytes.
    fn resumes_right(&self, case: &str, extra: &[&str]) {
        let run = self.resume(extra);
        assert_eq!(run.code, 0, "{case}: {}", run.stderr);
        assert_eq!(run.answer(), self.answer, "{case}: the answer differs");
        assert!(std::fs::read(self.out()).unwrap() == self.output, "{case}: the output differs");
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The 1-based number of the first piece line (after the column header).
fn first_piece_line(text: &str) -> usize {
    text.lines().position(|l| l.starts_with("Seq\t")).expect("a column header") + 2
}

/// `text` with line `n` (1-based) replaced by `f(line)`.
fn edit_line(text: &str, n: usize, f: impl FnOnce(&str) -> String) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[n - 1] = f(&lines[n - 1]);
    lines.join("\n") + "\n"
}

#[test]
fn a_torn_last_line_is_dropped_and_the_piece_runs_again() {
    let s = Setup::new("joblog-torn");
    let text = s.complete_log();
    // Cut the last line in its middle, as a head killed mid-write leaves it.
    let last_start = text[..text.len() - 1].rfind('\n').unwrap() + 1;
    let torn = &text[..last_start + (text.len() - last_start) / 2];
    std::fs::write(s.log(), torn).unwrap();
    s.resumes_right("a torn last line", &[]);
    let after = std::fs::read_to_string(s.log()).unwrap();
    assert!(after.starts_with(&text[..last_start]), "the whole lines before the torn one were not kept");
    assert_eq!(after.lines().count(), text.lines().count(), "the torn line was not replaced by one whole line");
    // The logged pieces did not run again: only the torn one did.
    assert_eq!(s.started(), 10 + 10 + 1, "reference + complete log + the torn piece");
}

#[test]
fn a_log_torn_in_its_header_is_refused_naming_the_line() {
    let s = Setup::new("joblog-header");
    let text = s.complete_log();
    let at = text.find("# param\tb").unwrap() + 5;
    // Lines 1-3 are whole: the header stops after line 3.
    let err = s.refused("torn in the header", &text[..at], &["line 3", "without its # cut line"]);
    eprintln!("torn header: {err}");
}

#[test]
fn a_log_torn_after_its_header_starts_afresh_and_stays_readable() {
    let s = Setup::new("joblog-columns");
    let text = s.complete_log();
    // Killed while writing the column header: nothing was logged yet.
    let at = text.find("Seq\t").unwrap() + 6;
    std::fs::write(s.log(), &text[..at]).unwrap();
    let _ = std::fs::remove_file(s.out());
    s.resumes_right("torn in the column header", &[]);
    // The log the resumed run wrote must itself resume.
    assert_eq!(std::fs::read_to_string(s.log()).unwrap().lines().count(), text.lines().count());
    s.resumes_right("resuming the log a torn header left", &[]);
}

#[test]
fn corrupted_edited_reordered_and_duplicated_lines_are_refused_naming_the_line() {
    let s = Setup::new("joblog-corrupt");
    let text = s.complete_log();
    let first = first_piece_line(&text);
    let third = first + 2;

    // One byte flipped (a bit rot): the checksum finds it.
    let mut bytes = text.clone().into_bytes();
    let at = text.lines().take(third - 1).map(|l| l.len() + 1).sum::<usize>() + 2;
    bytes[at] ^= 0x01;
    let flipped = String::from_utf8(bytes).unwrap();
    s.refused("a flipped byte", &flipped, &[&format!("line {third}"), "checksum"]);

    // A value edited by hand: the Result of a piece.
    let edited = edit_line(&text, third, |l| {
        let mut f: Vec<&str> = l.split('\t').collect();
        let result = f[13].replacen('0', "1", 1);
        f[13] = &result;
        f.join("\t")
    });
    s.refused("an edited Result", &edited, &[&format!("line {third}"), "checksum"]);

    // Lines swapped.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(first - 1, first);
    let swapped = lines.join("\n") + "\n";
    s.refused("two lines swapped", &swapped, &[&format!("line {}", first + 1), "does not follow"]);

    // A line copied to the end.
    let copied = format!("{text}{}\n", text.lines().nth(third - 1).unwrap());
    s.refused("a line copied", &copied, &[&format!("line {}", text.lines().count() + 1), "does not follow"]);

    // The same piece logged again with a valid Seq and checksum (as a
    // buggy or hand-made tool would write it).
    // (Without an output span: a piece whose bytes the file lost is
    // logged again by the run that rewrote them, and that later line
    // rightly counts; the file is checked against it.)
    let mut again = Entry::parse(text.lines().nth(third - 1).unwrap()).unwrap();
    again.seq = 11;
    again.output = None;
    let mut bytes = Vec::new();
    again.format(&mut bytes);
    let line = String::from_utf8(bytes.clone()).unwrap();
    let duplicated = format!("{text}{line}");
    let want = format!("piece {} is logged as done twice (also on line {third})", again.piece);
    s.refused("a piece logged twice", &duplicated, &[&format!("line {}", text.lines().count() + 1), &want]);

    // A piece line that names another piece's parameters: the job log
    // is of another cut of the job.
    let mut other = Entry::parse(text.lines().nth(third - 1).unwrap()).unwrap();
    other.params ^= 1;
    other.format(&mut bytes);
    let line = String::from_utf8(bytes).unwrap();
    let moved = edit_line(&text, third, |_| line.trim_end().to_string());
    let err = s.refused("a piece with other parameters", &moved, &[&format!("line {third}"), "not the piece logged"]);
    eprintln!("{err}");

    // A parameter edited.
    let reparam = text.replace("# param\tb\t20000000\n", "# param\tb\t20000001\n");
    assert_ne!(reparam, text);
    s.refused("a parameter edited", &reparam, &["b is 20000001 there, 20000000 here"]);
}

#[test]
fn an_edited_cut_is_refused_at_the_first_piece_it_changes() {
    let s = Setup::new("joblog-cut");
    // pi's pieces depend on the cut (primes --output's do not): the header
    // has no checksum, but each piece line holds its parameters' hash.
    let log = s.log().display().to_string();
    let pi = ["pi", "--samples", "20000000", "--seed", "3"];
    let args: Vec<&str> = ["--joblog", &log].into_iter().chain(pi).collect();
    assert_eq!(pisubmit(&s.cluster, &args).code, 0);
    let text = std::fs::read_to_string(s.log()).unwrap();
    let recut = text.replace("# cut\t2\n", "# cut\t1\n");
    assert_ne!(recut, text);
    std::fs::write(s.log(), &recut).unwrap();
    let args: Vec<&str> = ["--joblog", &log, "--resume"].into_iter().chain(pi).collect();
    let run = pisubmit(&s.cluster, &args);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // The line piece 0 is logged on (pieces are logged as they finish).
    let line = text.lines().position(|l| l.split('\t').nth(1) == Some("0") && !l.starts_with('#')).unwrap() + 1;
    let want = format!("--joblog {log} line {line}: piece 0 is not the piece logged there");
    assert!(run.stderr.contains(&want), "{}", run.stderr);
}

#[test]
fn foreign_files_are_refused_naming_their_first_line() {
    let s = Setup::new("joblog-foreign");
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_else(|_| "NAME=\"Debian\"\n".into());
    let name = os_release.lines().next().unwrap().split('=').next().unwrap().to_string();
    s.refused("/etc/os-release", &os_release, &["not a pisubmit job log", &format!("its first line is \"{name}=")]);
    let gnu_parallel = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n\
                        1\t:\t1764728100.123\t0.004\t0\t6\t0\t0\techo hello\n";
    s.refused("a GNU parallel joblog", gnu_parallel, &["not a pisubmit job log", "Seq\\tHost"]);
    s.refused("a newer version", "# pisubmit joblog 2\n", &["line 1", "version 2"]);
    let binary = "\u{7f}ELF\u{2}\u{1}\u{1}\n";
    s.refused("a binary", binary, &["not a pisubmit job log"]);
}

#[test]
fn a_log_of_another_command_is_refused_naming_what_differs() {
    let s = Setup::new("joblog-differs");
    s.complete_log();
    let log = s.log().display().to_string();
    let before = std::fs::read(s.log()).unwrap();
    let out = s.out().display().to_string();
    let cases: [(&[&str], &str); 3] = [
        (&["primes", "--from", "1", "--to", "30000000", "--output", &out], "b is 20000000 there, 30000000 here"),
        (&["primes", "--from", "1", "--to", "20000000"], "output is "),
        (&["pi", "--samples", "1000"], "it logged primes, this is pi"),
    ];
    for (job, want) in cases {
        let args: Vec<&str> = ["--joblog", &log, "--resume"].into_iter().chain(job.iter().copied()).collect();
        let run = pisubmit(&s.cluster, &args);
        assert_eq!(run.code, 2, "{job:?}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("--joblog {log} is the log of a different command")), "{}", run.stderr);
        assert!(run.stderr.contains(want), "{job:?}: the error lacks {want:?}: {}", run.stderr);
        assert_eq!(std::fs::read(s.log()).unwrap(), before, "{job:?}: the log was changed");
    }
}

#[test]
fn an_existing_log_without_resume_is_refused_and_kept() {
    let s = Setup::new("joblog-exists");
    s.complete_log();
    let log = s.log().display().to_string();
    let before = std::fs::read(s.log()).unwrap();
    let run = s.run(&["--joblog", &log], &s.out());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("--joblog {log} already exists")), "{}", run.stderr);
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    assert_eq!(std::fs::read(s.log()).unwrap(), before, "the log was overwritten");
    assert!(std::fs::read(s.out()).unwrap() == s.output, "the output was touched");

    for flag in ["--resume", "--resume-failed"] {
        let run = s.run(&[flag], &s.out());
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("{flag} needs --joblog FILE")), "{flag}: {}", run.stderr);
    }
}

#[test]
fn a_complete_log_resumes_without_running_anything() {
    let s = Setup::new("joblog-complete");
    let text = s.complete_log();
    let before = s.started();
    s.resumes_right("a complete log", &[]);
    assert_eq!(s.started(), before, "a logged piece ran again");
    assert_eq!(std::fs::read_to_string(s.log()).unwrap(), text, "the complete log was changed");
}
