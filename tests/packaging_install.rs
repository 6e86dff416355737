//! The Debian package installed under a real systemd (systemd-nspawn) in
//! two network namespaces, from the .deb file and from the head's signed
//! apt repository (`make repo`'s script), then upgraded one at a time to
//! the next release during a job: scripts/install-test.sh does the work;
//! this test runs it as part of `make test`.
//!
//! It needs root, debootstrap, systemd-nspawn and a built package. In CI
//! (`CI` set) a missing piece is a failure; elsewhere the test says loudly
//! that it was skipped and why.

use std::path::Path;
use std::process::Command;

fn missing_prerequisite(root: &Path) -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("it needs root (network namespaces, containers)".into());
    }
    // gpg and apt-ftparchive make the head's signed repository, python3
    // serves it (scripts/install-test-apt.sh).
    for tool in ["debootstrap", "systemd-nspawn", "nsenter", "ip", "gpg", "apt-ftparchive", "python3"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
        if !found.map(|o| o.status.success()).unwrap_or(false) {
            return Some(format!("{tool} is not installed (make build-deps)"));
        }
    }
    // The package, and the next release the rolling upgrade moves the Pis to.
    for (dir, make) in [("target/debian", "make deb"), ("target/next", "make deb-next")] {
        let found = std::fs::read_dir(root.join(dir))
            .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with("_amd64.deb")))
            .unwrap_or(false);
        if !found {
            return Some(format!("no {dir}/piworker_*_amd64.deb ({make})"));
        }
    }
    None
}

#[test]
fn the_deb_installs_and_serves_under_systemd() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(why) = missing_prerequisite(root) {
        if std::env::var_os("CI").is_some() {
            panic!("the install test cannot run in CI: {why}");
        }
        eprintln!("\n################################################################");
        eprintln!("# SKIPPED: the .deb install test under systemd-nspawn did not run:");
        eprintln!("#   {why}");
        eprintln!("# Run it with: sudo make build-deps deb && sudo make test");
        eprintln!("################################################################\n");
        return;
    }
    let out = Command::new("bash").arg(root.join("scripts/install-test.sh")).output().expect("run install-test.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{text}");
    assert!(out.status.success(), "install test failed:\n{text}");
    assert!(text.contains("[install-test] PASS"));
}

/// ELF e_machine of each package's architecture.
const ARCHES: [(&str, u16); 3] = [("amd64", 0x3e), ("arm64", 0xb7), ("armhf", 0x28)];

fn run(cmd: &str) -> String {
    let out = Command::new("sh").args(["-c", cmd]).output().expect("run sh");
    assert!(out.status.success(), "`{cmd}` failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn each_package_holds_the_right_architecture_and_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let debs: Vec<_> = ARCHES
        .iter()
        .map(|(arch, _)| root.join(format!("target/debian/piworker_{}-1_{arch}.deb", env!("CARGO_PKG_VERSION"))))
        .collect();
    if let Some(missing) = debs.iter().find(|d| !d.exists()) {
        if std::env::var_os("CI").is_some() {
            panic!("{} was not built (make debs)", missing.display());
        }
        eprintln!("\n########################################################");
        eprintln!("# SKIPPED: {} is missing; run `make build-deps debs`", missing.display());
        eprintln!("########################################################\n");
        return;
    }
    for ((arch, machine), deb) in ARCHES.iter().zip(&debs) {
        let deb = deb.display();
        assert_eq!(run(&format!("dpkg-deb -f {deb} Architecture")).trim(), *arch);
        let files = run(&format!("dpkg-deb --contents {deb}"));
        for path in [
            "./usr/bin/piworker",
            "./usr/bin/pisubmit",
            "./usr/lib/systemd/system/piworker.service",
            "./usr/lib/sysctl.d/60-piworker.conf",
            "./etc/default/piworker",
            "./usr/share/man/man8/piworker.8.gz",
            "./usr/share/man/man1/pisubmit.1.gz",
            "./usr/share/bash-completion/completions/piworker",
            "./usr/share/zsh/vendor-completions/_piworker",
            "./usr/share/fish/vendor_completions.d/piworker.fish",
            "./usr/share/bash-completion/completions/pisubmit",
            "./usr/share/zsh/vendor-completions/_pisubmit",
            "./usr/share/fish/vendor_completions.d/pisubmit.fish",
            "./usr/share/doc/piworker/copyright",
        ] {
            assert!(files.lines().any(|l| l.ends_with(path)), "{deb} lacks {path}");
        }
        let dir = std::env::temp_dir().join(format!("piworker-deb-{arch}-{}", std::process::id()));
        run(&format!("rm -rf {0} && mkdir -p {0} && dpkg-deb -R {deb} {0}", dir.display()));
        assert_eq!(std::fs::read_to_string(dir.join("DEBIAN/conffiles")).unwrap().trim(), "/etc/default/piworker");
        // What lintian asks of every package (`make test` also runs lintian
        // where it is installed): a Debian changelog, and md5sums that list
        // every file but the conffile, with the right sums.
        let changelog = dir.join("usr/share/doc/piworker/changelog.Debian.gz");
        assert!(changelog.is_file(), "{deb} lacks usr/share/doc/piworker/changelog.Debian.gz");
        let sums = std::fs::read_to_string(dir.join("DEBIAN/md5sums")).unwrap_or_default();
        let summed: Vec<&str> = sums.lines().filter_map(|l| l.split_once("  ").map(|(_, path)| path)).collect();
        let shipped = run(&format!("cd {} && find . -path ./DEBIAN -prune -o -type f -printf '%P\\n'", dir.display()));
        for path in shipped.lines().filter(|p| *p != "etc/default/piworker") {
            assert!(summed.contains(&path), "{deb}: {path} is missing from DEBIAN/md5sums");
        }
        run(&format!("cd {} && md5sum --check --quiet DEBIAN/md5sums", dir.display()));
        for script in ["postinst", "postrm"] {
            let text = std::fs::read_to_string(dir.join("DEBIAN").join(script)).unwrap();
            assert!(text.contains("deb-systemd") || text.contains("systemctl"), "{script} lacks the systemd snippet");
        }
        for bin in ["piworker", "pisubmit"] {
            let elf = std::fs::read(dir.join("usr/bin").join(bin)).unwrap();
            assert_eq!(&elf[..4], b"\x7fELF");
            assert_eq!(
                u16::from_le_bytes([elf[18], elf[19]]),
                *machine,
                "{bin} in the {arch} package is for another CPU"
            );
            let sections = run(&format!("readelf -S {}", dir.join("usr/bin").join(bin).display()));
            assert!(!sections.contains(".symtab"), "{bin} ({arch}) is not stripped");
            assert!(!sections.contains(".comment"), "{bin} ({arch}) keeps the unneeded .comment section");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
