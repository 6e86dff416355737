//! `make repo`'s script (scripts/make-repo.sh) on the three packages that
//! `make debs` builds: every architecture is in its index, the indexes are
//! signed by the key it exports, and a run without packages says what to do.
//! That apt on a Pi installs from it and refuses other repositories is
//! checked by the install test (tests/packaging_install.rs).
//!
//! It needs the three packages, gpg and apt-ftparchive. In CI (`CI` set) a
//! missing piece is a failure; elsewhere the test says loudly that it was
//! skipped and why.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ARCHES: [&str; 3] = ["amd64", "arm64", "armhf"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn package(arch: &str) -> PathBuf {
    root().join(format!("target/debian/piworker_{}-1_{arch}.deb", env!("CARGO_PKG_VERSION")))
}

fn missing_prerequisite() -> Option<String> {
    for tool in ["gpg", "gpgv", "apt-ftparchive", "dpkg-parsechangelog"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
        if !found.map(|o| o.status.success()).unwrap_or(false) {
            return Some(format!("{tool} is not installed (make build-deps)"));
        }
    }
    ARCHES
        .iter()
        .map(|arch| package(arch))
        .find(|deb| !deb.exists())
        .map(|deb| format!("{} was not built (make debs)", deb.display()))
}

/// Runs scripts/make-repo.sh into `repo` with these arguments.
fn make_repo(repo: &Path, args: &[PathBuf]) -> Output {
    Command::new("bash")
        .arg(root().join("scripts/make-repo.sh"))
        .args(args)
        .env("REPO_DIR", repo)
        .env("REPO_URL", "http://head.invalid:8000/")
        .env_remove("PIWORKER_REPO_KEY")
        .env_remove("GNUPGHOME")
        .output()
        .expect("run scripts/make-repo.sh")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_repository_holds_every_architecture_signed_by_its_exported_key() {
    if let Some(why) = missing_prerequisite() {
        if std::env::var_os("CI").is_some() {
            panic!("the repository test cannot run in CI: {why}");
        }
        eprintln!("\n################################################################");
        eprintln!("# SKIPPED: make-repo.sh was not checked: {why}");
        eprintln!("# Run it with: sudo make build-deps && make debs");
        eprintln!("################################################################\n");
        return;
    }
    let repo = std::env::temp_dir().join(format!("piworker-repo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&repo);
    let debs: Vec<PathBuf> = ARCHES.iter().map(|arch| package(arch)).collect();

    // Twice: a second run over the same packages is the same repository.
    for run in 1..=2 {
        let out = make_repo(&repo, &debs);
        assert!(out.status.success(), "make-repo.sh (run {run}) failed:\n{}", text(&out));
        assert!(!text(&out).contains("different bytes"), "run {run} found changed packages:\n{}", text(&out));
    }

    let version = format!("{}-1", env!("CARGO_PKG_VERSION"));
    for arch in ARCHES {
        let index = repo.join(format!("dists/stable/main/binary-{arch}/Packages"));
        let packages = std::fs::read_to_string(&index).unwrap_or_default();
        assert!(packages.contains("Package: piworker\n"), "{} lists no piworker:\n{packages}", index.display());
        assert!(packages.contains(&format!("Version: {version}\n")), "{} lacks {version}", index.display());
        assert!(packages.contains(&format!("Architecture: {arch}\n")), "{} lacks {arch}", index.display());
        let pooled = format!("Filename: pool/main/piworker_{version}_{arch}.deb\n");
        assert!(packages.contains(&pooled), "{} does not point at its pool file", index.display());
        assert!(repo.join(format!("pool/main/piworker_{version}_{arch}.deb")).is_file());
    }
    let release = std::fs::read_to_string(repo.join("dists/stable/Release")).unwrap_or_default();
    assert!(release.contains("Architectures: amd64 arm64 armhf\n"), "Release: {release}");
    assert!(release.contains("SHA256:"), "Release has no SHA256 sums (apt needs them): {release}");

    // Both signatures verify against the exported binary keyring alone,
    // as apt's gpgv does with signed-by.
    let keyring = repo.join("piworker-archive-keyring.gpg");
    for (signed, signature) in [("InRelease", None), ("Release", Some("Release.gpg"))] {
        let mut gpgv = Command::new("gpgv");
        gpgv.arg("--keyring").arg(&keyring);
        if let Some(signature) = signature {
            gpgv.arg(repo.join("dists/stable").join(signature));
        }
        let out = gpgv.arg(repo.join("dists/stable").join(signed)).output().expect("run gpgv");
        assert!(out.status.success(), "gpgv refuses {signed} with the exported key:\n{}", text(&out));
    }
    let armored = std::fs::read_to_string(repo.join("piworker-archive-keyring.asc")).unwrap_or_default();
    assert!(armored.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"), "the .asc key is not armored");
    let sources = std::fs::read_to_string(repo.join("piworker.sources")).unwrap_or_default();
    assert!(sources.contains("URIs: http://head.invalid:8000/\n"), "piworker.sources: {sources}");
    assert!(sources.contains("Signed-By: /usr/share/keyrings/piworker-archive-keyring.gpg\n"), "{sources}");

    // No package built: a clear error naming the file and what to run.
    let absent = repo.join("piworker_9.9.9-1_amd64.deb");
    let out = make_repo(&repo, std::slice::from_ref(&absent));
    assert!(!out.status.success(), "make-repo.sh accepted a missing package");
    let said = text(&out);
    assert!(said.contains(&absent.display().to_string()) && said.contains("make debs"), "{said}");

    std::fs::remove_dir_all(&repo).expect("remove the test repository");
}
