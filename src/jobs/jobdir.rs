//! Job programs: executables an administrator installs in a job directory
//! on each worker. A client names one by its file name only; it never
//! chooses a path or a command line (distcc's CVE-2004-2687 is what
//! happens otherwise).
//!
//! Every lookup checks the file again, so a program added, replaced or
//! removed is seen at once, and a check that passed yesterday is not
//! trusted today.

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where job programs live when no `--job-dir` is given: the
/// administrator's own first, then the package's examples.
pub const DEFAULT_DIRS: [&str; 2] = ["/etc/piworker/jobs.d", "/usr/lib/piworker/jobs"];
/// Longest job name.
pub const MAX_NAME: usize = 64;

/// Checks a job name: letters, digits, `_`, `.` and `-`, no leading dot,
/// at most `MAX_NAME` bytes. So it can never be a path.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the job name is empty".into());
    }
    if name.len() > MAX_NAME {
        return Err(format!("job name {name:?} is longer than {MAX_NAME} bytes"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(format!(
            "job name {name:?} contains {c:?}: a job is named by its file name only (letters, digits, _ . -)"
        ));
    }
    if name.starts_with('.') {
        return Err(format!("job name {name:?} starts with a dot: hidden files are not job programs"));
    }
    Ok(())
}

/// A job program that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub name: String,
    /// The file that runs (symlinks resolved).
    pub path: PathBuf,
    pub size: u64,
}

/// One entry of a listing: a program, or why a file is not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub dir: PathBuf,
    /// The program and its SHA-256, or why it is refused.
    pub outcome: Result<(Program, [u8; 32]), String>,
}

#[derive(Clone, Debug)]
pub struct JobDirs {
    dirs: Vec<PathBuf>,
}

impl JobDirs {
    pub fn new(dirs: Vec<PathBuf>) -> JobDirs {
        JobDirs { dirs }
    }

    pub fn defaults() -> JobDirs {
        JobDirs::new(DEFAULT_DIRS.iter().map(PathBuf::from).collect())
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The program `name` names: the first directory that has a file of
    /// that name decides (a refused file there is an error, not a reason
    /// to look further).
    pub fn resolve(&self, name: &str) -> Result<Program, String> {
        check_name(name)?;
        for dir in &self.dirs {
            let path = dir.join(name);
            match fs::symlink_metadata(&path) {
                Ok(_) => return check_program(dir, &path, name),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("job program {name}: cannot read {}: {e}", path.display())),
            }
        }
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        Err(format!("no job program {name:?} on this worker (looked in {})", dirs.join(", ")))
    }

    /// Every file in the directories, in name order; a name in an earlier
    /// directory hides the same name in a later one.
    pub fn list(&self) -> Vec<Listed> {
        let mut out: Vec<Listed> = Vec::new();
        for dir in &self.dirs {
            let Ok(entries) = fs::read_dir(dir) else { continue };
            let mut names: Vec<String> =
                entries.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect();
            names.sort();
            for name in names {
                if name.starts_with('.') || out.iter().any(|l| l.name == name) {
                    continue;
                }
                let outcome = check_name(&name)
                    .and_then(|_| check_program(dir, &dir.join(&name), &name))
                    .and_then(|p| checksum(&p.path).map(|sum| (p, sum)));
                out.push(Listed { name, dir: dir.clone(), outcome });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// A file may run only if it is a regular, executable file inside its
/// directory (after symlinks), and neither it nor the directory can be
/// changed by users other than its owner.
fn check_program(dir: &Path, path: &Path, name: &str) -> Result<Program, String> {
    let refuse = |why: String| Err(format!("job program {name} refused: {why}"));
    let real_dir = fs::canonicalize(dir).map_err(|e| format!("job directory {}: {e}", dir.display()))?;
    let real = match fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) => return refuse(format!("{} does not resolve: {e}", path.display())),
    };
    if real.parent() != Some(real_dir.as_path()) {
        return refuse(format!("{} leads to {}, outside {}", path.display(), real.display(), real_dir.display()));
    }
    let dir_mode = fs::metadata(&real_dir).map(|m| m.permissions().mode()).unwrap_or(0);
    if dir_mode & 0o002 != 0 {
        return refuse(format!("its directory {} is writable by everyone (chmod o-w)", real_dir.display()));
    }
    let meta = fs::metadata(&real).map_err(|e| format!("job program {name}: {e}"))?;
    if !meta.is_file() {
        return refuse(format!("{} is not a regular file", real.display()));
    }
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return refuse(format!(
            "{} is writable by group or others (mode {:o}; chmod go-w)",
            real.display(),
            mode & 0o777
        ));
    }
    if mode & 0o111 == 0 {
        return refuse(format!("{} is not executable (chmod +x)", real.display()));
    }
    Ok(Program { name: name.to_string(), path: real, size: meta.len() })
}

fn checksum(path: &Path) -> Result<[u8; 32], String> {
    let mut file = fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hash.update(&buf[..n]),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
    }
    Ok(hash.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("piw-jobdir-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn program(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, "#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn names_are_file_names_only() {
        for ok in ["primes", "log-lines", "a.py", "x_1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("../x", "contains '/'"),
            ("/bin/sh", "contains '/'"),
            (".hidden", "starts with a dot"),
            ("a b", "contains ' '"),
            ("x;rm", "contains ';'"),
        ] {
            let e = check_name(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert!(check_name(&"x".repeat(65)).unwrap_err().contains("longer"));
    }

    #[test]
    fn programs_are_checked_where_they_are() {
        let dir = scratch("check");
        let outside = scratch("outside");
        program(&dir, "good", 0o755);
        program(&dir, "loose", 0o777);
        program(&dir, "plain", 0o644);
        program(&outside, "elsewhere", 0o755);
        symlink(outside.join("elsewhere"), dir.join("escape")).unwrap();
        symlink(dir.join("good"), dir.join("alias")).unwrap();
        fs::create_dir(dir.join("subdir")).unwrap();
        let dirs = JobDirs::new(vec![dir.clone()]);
        assert_eq!(dirs.resolve("good").unwrap().path, fs::canonicalize(dir.join("good")).unwrap());
        assert!(dirs.resolve("alias").is_ok(), "a symlink within the directory is fine");
        for (name, why) in [
            ("loose", "writable by group or others"),
            ("plain", "not executable"),
            ("escape", "outside"),
            ("subdir", "not a regular file"),
            ("missing", "no job program \"missing\""),
        ] {
            let e = dirs.resolve(name).unwrap_err();
            assert!(e.contains(why), "{name}: {e}");
        }
        let listed = dirs.list();
        let names: Vec<&str> = listed.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["alias", "escape", "good", "loose", "plain", "subdir"]);
        let good = listed.iter().find(|l| l.name == "good").unwrap();
        let sum = good.outcome.as_ref().unwrap().1;
        assert_eq!(sum, <[u8; 32]>::from(Sha256::digest(b"#!/bin/sh\necho hi\n")));
        // A change is seen at the next lookup.
        fs::set_permissions(dir.join("good"), fs::Permissions::from_mode(0o775)).unwrap();
        assert!(dirs.resolve("good").is_err());
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        fs::set_permissions(dir.join("good"), fs::Permissions::from_mode(0o755)).unwrap();
        assert!(dirs.resolve("good").unwrap_err().contains("writable by everyone"));
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_dir_all(&outside);
    }
}
