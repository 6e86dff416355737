//! Replays the saved fuzz inputs: every file under `fuzz/regressions/<target>/`
//! goes through the same check the fuzz target runs (`fuzz/checks.rs`, shared
//! word for word), on stable and without libFuzzer. See fuzz/README.md.
//!
//! Each input runs in a child process (this test binary again, test
//! `replay_one`) with a cap on single allocations and a time limit, so an
//! input that once made a decoder allocate without bound or hang fails here
//! with its file name instead of taking the whole test run down.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 6] = [
    ("frame", checks::frame),
    ("handshake", checks::handshake),
    ("job_params", checks::job_params),
    ("job_results", checks::job_results),
    ("reduce_stream", checks::reduce_stream),
    ("metrics_request", checks::metrics_request),
];

/// Names the input a child process replays: `<target>:<path>`.
const REPLAY_ENV: &str = "PIWORKER_FUZZ_REPLAY";
/// Largest single allocation while an input replays: the `-malloc_limit_mb`
/// `make fuzz` gives libFuzzer (the per-job memory budget the checks start
/// jobs with), which would report anything bigger as out-of-memory.
const ALLOC_CAP: usize = checks::FUZZ_JOB_MEMORY as usize;
/// Per input; the slowest check takes milliseconds.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// The system allocator, refusing (so aborting the child with "memory
/// allocation of N bytes failed") any single allocation above `ALLOC_CAP`.
struct Capped;

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOC_CAP {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOC_CAP {
            return std::ptr::null_mut();
        }
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOC_CAP {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries.map(|e| e.expect("directory entry").path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_saved_fuzz_input_passes_its_check() {
    let exe = std::env::current_exe().expect("path of this test binary");
    let mut failures = Vec::new();
    for (target, _) in TARGETS {
        let files = inputs(target);
        assert!(!files.is_empty(), "fuzz/regressions/{target}/ holds no input: an empty directory proves nothing");
        for file in files {
            let mut child = Command::new(&exe)
                .args(["--exact", "replay_one", "--nocapture", "--test-threads=1"])
                .env(REPLAY_ENV, format!("{target}:{}", file.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a replay child");
            // Drained as it comes, so a long panic message cannot block the child.
            let mut pipe = child.stderr.take().expect("piped stderr");
            let reader = std::thread::spawn(move || {
                let mut text = String::new();
                let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
                text
            });
            let started = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().expect("wait for the replay child") {
                    break Some(status);
                }
                if started.elapsed() > TIME_LIMIT {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            let stderr = reader.join().unwrap_or_default();
            let stderr = tail(stderr.trim_end(), 4000);
            let name = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(&file).display().to_string();
            match status {
                Some(s) if s.success() => {}
                Some(s) => failures.push(format!("{name} ({s}):\n{stderr}")),
                None => failures.push(format!("{name}: still running after {TIME_LIMIT:?}")),
            }
        }
    }
    assert!(failures.is_empty(), "{} saved fuzz input(s) fail:\n\n{}", failures.len(), failures.join("\n\n"));
}

/// The last `max` bytes of `text` (at a character boundary).
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// Runs one input when started by the test above; does nothing otherwise.
#[test]
fn replay_one() {
    let Ok(spec) = std::env::var(REPLAY_ENV) else { return };
    let (target, path) = spec.split_once(':').expect("<target>:<path>");
    let check = TARGETS.iter().find(|(t, _)| *t == target).map(|(_, c)| *c).expect("a known target");
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    eprintln!("replaying {} bytes of {path} through the `{target}` check", data.len());
    check(&data);
}
