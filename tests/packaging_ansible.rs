//! The Ansible playbook (packaging/ansible/) provisioning three Debian
//! "Pis" booted under systemd-nspawn, over ssh, from the head's signed apt
//! repository, with an inventory pisubmit makes from a host spec:
//! scripts/ansible-test.sh does the work; this test runs it as part of
//! `make test`.
//!
//! It needs root, debootstrap, systemd-nspawn, ansible-playbook, ssh and a
//! built package. In CI (`CI` set) a missing piece is a failure; elsewhere
//! the test says loudly that it was skipped and why.

use std::path::Path;
use std::process::Command;

/// What the script needs on the head (scripts/install-build-deps.sh
/// installs them): containers and their network, the signed repository
/// (gpg, apt-ftparchive) and its web server (python3), Ansible and ssh.
const TOOLS: [&str; 11] = [
    "debootstrap",
    "systemd-nspawn",
    "nsenter",
    "ip",
    "gpg",
    "apt-ftparchive",
    "python3",
    "ssh",
    "ssh-keygen",
    "ansible-playbook",
    "dpkg-deb",
];

/// Why the test cannot run here, if it cannot.
fn why_not(root: &Path) -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("it needs root (network namespaces, containers)".to_string());
    }
    let on_path = |tool: &str| {
        Command::new("sh").arg("-c").arg(format!("command -v {tool} >/dev/null")).status().is_ok_and(|s| s.success())
    };
    if let Some(tool) = TOOLS.iter().find(|t| !on_path(t)) {
        return Some(format!("{tool} is not installed (make build-deps)"));
    }
    // What `make deb` and `make build` leave: the first says what is missing.
    let amd64_deb = |e: std::fs::DirEntry| e.file_name().to_string_lossy().ends_with("_amd64.deb");
    let built = [
        (
            std::fs::read_dir(root.join("target/debian")).is_ok_and(|d| d.flatten().any(amd64_deb)),
            "no target/debian/piworker_*_amd64.deb (make deb)",
        ),
        (root.join("target/release/pisubmit").is_file(), "no target/release/pisubmit (make build)"),
    ];
    built.iter().find(|(there, _)| !there).map(|(_, why)| why.to_string())
}

#[test]
fn the_playbook_provisions_and_upgrades_three_nspawn_pis_over_ssh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(why) = why_not(root) {
        assert!(std::env::var_os("CI").is_none(), "the Ansible playbook test cannot run in CI: {why}");
        let how = "sudo make build-deps deb && sudo cargo test --release --test packaging_ansible";
        eprintln!(
            "\n{0}\n# SKIPPED: the Ansible playbook test did not run: {why}\n# Run it with: {how}\n{0}\n",
            "#".repeat(64)
        );
        return;
    }
    let run = Command::new("bash").arg(root.join("scripts/ansible-test.sh")).output().expect("run ansible-test.sh");
    let said = String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    eprintln!("{said}");
    assert!(run.status.success(), "the Ansible playbook test failed ({}):\n{said}", run.status);
    for step in ["first run (", "second run: changed=0 on every Pi", "the next batch did not start", "upgrade run ("] {
        assert!(said.contains(step), "the script passed without reporting '{step}':\n{said}");
    }
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.trim_end().ends_with("[ansible-test] PASS"), "no PASS at the end:\n{said}");
}
