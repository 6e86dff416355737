//! The Python wheels of `make wheels` install and answer as pisubmit does:
//! scripts/wheel-test.sh builds the x86_64, aarch64 and armv7 wheels,
//! checks their names, tags and ELF headers, installs the x86_64 one into a
//! fresh venv (no NumPy) and the aarch64 one into an arm64 Debian userland
//! under qemu-user, and compares every call with pisubmit --json against
//! native workers on 127.0.0.1.
//!
//! It needs root and what `make build-deps` installs. Without them this test
//! says loudly that it was skipped, unless CI is set: CI must run it.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Cold: three LTO builds of the extension and a debootstrap under qemu.
const LIMIT: Duration = Duration::from_secs(3600);
const TOOLS: [&str; 8] = [
    "debootstrap",
    "qemu-aarch64-static",
    "update-binfmts",
    "unshare",
    "chroot",
    "python3",
    "aarch64-linux-gnu-gcc",
    "arm-linux-gnueabihf-gcc",
];

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// What is missing to run the check, empty if nothing is.
fn missing() -> Vec<String> {
    let mut missing: Vec<String> = TOOLS.iter().filter(|t| !on_path(t)).map(|t| format!("{t} on PATH")).collect();
    if !cfg!(target_arch = "x86_64") {
        missing.push("an amd64 (x86_64) host".into());
    }
    if !nix::unistd::Uid::effective().is_root() {
        missing.push("root (a chroot into the arm64 tree, mounts, binfmt_misc)".into());
    }
    let venv = Command::new("python3").args(["-c", "import ensurepip, venv"]).output();
    if !venv.is_ok_and(|o| o.status.success()) {
        missing.push("python3's venv and ensurepip (python3-venv)".into());
    }
    missing
}

#[test]
fn wheels_install_and_answer_like_pisubmit_on_amd64_and_arm64() {
    let missing = missing();
    if !missing.is_empty() {
        let list = missing.join("\n      ");
        if std::env::var_os("CI").is_some() {
            panic!(
                "CI is set, so the wheel test must run, but it lacks:\n      {list}\nrun `make build-deps` (as root)"
            );
        }
        // Straight to the stderr handle: the harness captures the macros'
        // output of passing tests, and this must show.
        let _ = writeln!(
            std::io::stderr(),
            "\n\
             ********************************************************************\n\
             * SKIPPED: tests/python_wheels.rs (the Python wheels, amd64 and arm64)\n\
             * missing:\n      {list}\n\
             * The wheels were NOT checked. Run `make build-deps` and the tests\n\
             * as root.\n\
             ********************************************************************\n"
        );
        return;
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let child = Command::new("bash")
        .arg(root.join("scripts/wheel-test.sh"))
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bash scripts/wheel-test.sh");
    // The script bounds each of its steps; this is the backstop.
    let (status, stdout, stderr) = common::collect(child, LIMIT);
    let took = started.elapsed().as_secs_f64();
    match status {
        Some(status) if status.success() => println!("{stdout}\nwheel-test.sh passed in {took:.1} s"),
        Some(status) => panic!(
            "scripts/wheel-test.sh failed ({status}) after {took:.1} s\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        ),
        None => panic!("scripts/wheel-test.sh did not finish within {LIMIT:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"),
    }
}
