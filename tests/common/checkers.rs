//! The outside tools that check what the flag tables render (groff, man,
//! bash, zsh, fish): run one on some input, and insist it is silent.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `tool` with `args` and `input` on stdin; None (and a loud note)
/// when the tool is not installed.
pub fn check_with(tool: &str, args: &[&str], input: &str) -> Option<Output> {
    let child =
        Command::new(tool).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "\n#### SKIPPED: {tool} is not installed ({e}); scripts/install-build-deps.sh installs it ####\n"
            );
            return None;
        }
    };
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write to the checker");
    Some(child.wait_with_output().expect("checker output"))
}

pub fn assert_clean(tool: &str, out: Option<Output>) {
    if let Some(out) = out {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.trim().is_empty(), "{tool} complains:\n{stderr}");
    }
}
