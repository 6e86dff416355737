//! The arm64 and armhf binaries are proven to run: scripts/arm-test.sh
//! cross-builds them, runs the protocol's golden vectors on both under
//! qemu-user, starts an arm64 and an armhf piworker under qemu next to a
//! native one and requires every job to give the same answer on all three,
//! and runs tests/e2e_memory.rs against each arm worker (oversized jobs are
//! refused naming the memory budget, and the worker serves on).
//!
//! Without the cross toolchains, qemu-user or the rustup targets this test
//! says loudly that it was skipped, unless CI is set: CI must run it.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TRIPLES: [&str; 2] = ["aarch64-unknown-linux-gnu", "armv7-unknown-linux-gnueabihf"];
const TOOLS: [&str; 5] =
    ["qemu-aarch64-static", "qemu-arm-static", "aarch64-linux-gnu-gcc", "arm-linux-gnueabihf-gcc", "python3"];
/// Cross builds from scratch with LTO take minutes on a small machine.
const LIMIT: Duration = Duration::from_secs(3600);

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// What is missing to run the check, empty if nothing is.
fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    if !cfg!(target_arch = "x86_64") {
        missing.push("an amd64 (x86_64) host".to_string());
    }
    for tool in TOOLS {
        if !on_path(tool) {
            missing.push(format!("{tool} on PATH"));
        }
    }
    for dir in ["/usr/aarch64-linux-gnu/lib", "/usr/arm-linux-gnueabihf/lib"] {
        if !Path::new(dir).is_dir() {
            missing.push(format!("{dir} (libc6-dev-*-cross)"));
        }
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    for triple in TRIPLES {
        let installed =
            sysroot.as_ref().is_some_and(|root| Path::new(root).join("lib/rustlib").join(triple).join("lib").is_dir());
        if !installed {
            missing.push(format!("the rustup target {triple}"));
        }
    }
    missing
}

#[test]
fn arm64_and_armhf_workers_answer_like_amd64_under_qemu() {
    let missing = missing();
    if !missing.is_empty() {
        let list = missing.join("\n      ");
        if std::env::var_os("CI").is_some() {
            panic!(
                "CI is set, so the arm check must run, but it lacks:\n      {list}\n\
                 run `make build-deps` (as root) first"
            );
        }
        // Straight to the stderr handle, not eprintln!: the test harness
        // captures the macros' output of passing tests, and this must show.
        let _ = writeln!(
            std::io::stderr(),
            "\n\
             ********************************************************************\n\
             * SKIPPED: tests/arm_qemu.rs (arm64 and armhf under qemu-user)\n\
             * missing:\n      {list}\n\
             * The arm binaries were NOT checked. Run `make build-deps` (as root)\n\
             * to install the cross toolchains, qemu-user and the rustup targets.\n\
             ********************************************************************\n"
        );
        return;
    }

    let root = env!("CARGO_MANIFEST_DIR");
    let started = Instant::now();
    let child = Command::new("bash")
        .arg(format!("{root}/scripts/arm-test.sh"))
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bash scripts/arm-test.sh");
    // Bounded: the script bounds each of its own steps; this is the backstop.
    let (status, stdout, stderr) = common::collect(child, LIMIT);
    let took = started.elapsed();
    match status {
        Some(status) if status.success() => {
            println!("{stdout}");
            println!("arm-test.sh passed in {:.1} s", took.as_secs_f64());
        }
        Some(status) => panic!(
            "scripts/arm-test.sh failed ({status}) after {:.1} s\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            took.as_secs_f64()
        ),
        None => panic!(
            "scripts/arm-test.sh did not finish within {LIMIT:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        ),
    }
}
