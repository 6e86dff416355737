//! The host list's parsing, expansion and hosts file tests.

use super::*;
use crate::protocol::DEFAULT_PORT;
use std::path::PathBuf;

#[test]
fn forms() {
    let h = parse_hosts("pi1, 10.0.0.2:7000/2,[::1]:9,fe80::1").unwrap();
    assert_eq!(h[0], HostSpec { host: "pi1".into(), port: DEFAULT_PORT, threads: None });
    assert_eq!(h[1], HostSpec { host: "10.0.0.2".into(), port: 7000, threads: Some(2) });
    assert_eq!(h[2].address(), "[::1]:9");
    assert_eq!(h[3].host, "fe80::1");
}

#[test]
fn file_with_comments_and_line_numbers() {
    let text = "# the rack\npi1\n\npi2:31416 # spare\npi3/0\n";
    let err = parse_hosts_file(text, "hosts.txt").unwrap_err().to_string();
    assert_eq!(err, "hosts.txt:5: \"pi3/0\": a thread count of 0 leaves nothing to run on");
    assert_eq!(parse_hosts_file("pi1\npi2:31416 # spare\n", "h").unwrap().len(), 2);
}

#[test]
fn bad_ports_are_named() {
    assert_eq!(parse_hosts("pi1:http").unwrap_err().to_string(), "host \"pi1:http\": \"http\" is not a port number");
    assert!(parse_hosts(" , ").unwrap_err().to_string().contains("empty"));
}

fn names(spec: &str) -> Vec<String> {
    parse_hosts(spec).unwrap().iter().map(HostSpec::to_string).collect()
}

#[test]
fn brace_ranges_are_a_cartesian_product_left_to_right() {
    assert_eq!(
        names("192.168.{4..5}.{1..2}"),
        ["192.168.4.1:31415", "192.168.4.2:31415", "192.168.5.1:31415", "192.168.5.2:31415"]
    );
    // Seed 004's generator.
    let h = parse_hosts("192.168.{4..67}.{1..3}").unwrap();
    assert_eq!(h.len(), 64 * 3);
    assert_eq!(h[0].host, "192.168.4.1");
    assert_eq!(h[3].host, "192.168.5.1");
    assert_eq!(h[191].host, "192.168.67.3");
}

#[test]
fn brace_ranges_count_down_and_pad_like_bash() {
    assert_eq!(expand_item("n{3..1}").unwrap(), ["n3", "n2", "n1"]);
    assert_eq!(expand_item("n{08..10}").unwrap(), ["n08", "n09", "n10"]);
    assert_eq!(expand_item("n{8..10}").unwrap(), ["n8", "n9", "n10"]);
    assert_eq!(expand_item("n{7..7}").unwrap(), ["n7"]);
}

#[test]
fn bracket_ranges_keep_the_width_of_the_start() {
    let h = expand_item("pi[01-12]").unwrap();
    assert_eq!(h.len(), 12);
    assert_eq!((h[0].as_str(), h[11].as_str()), ("pi01", "pi12"));
    assert_eq!(expand_item("pi[1-3]").unwrap(), ["pi1", "pi2", "pi3"]);
    assert_eq!(expand_item("pi[8-10]").unwrap(), ["pi8", "pi9", "pi10"]);
    assert_eq!(
        expand_item("r[1-2]-pi[001-002].lan").unwrap(),
        ["r1-pi001.lan", "r1-pi002.lan", "r2-pi001.lan", "r2-pi002.lan"]
    );
    assert_eq!(expand_item("pi1").unwrap(), ["pi1"]);
}

#[test]
fn port_and_threads_apply_to_every_expanded_host() {
    let h = parse_hosts("pi[1-3]:31416/2").unwrap();
    assert_eq!(h.len(), 3);
    for (i, spec) in h.iter().enumerate() {
        assert_eq!(spec.host, format!("pi{}", i + 1));
        assert_eq!((spec.port, spec.threads), (31416, Some(2)));
    }
    // A range in the port is a range like any other.
    assert_eq!(names("localhost:{31415..31416}"), ["localhost:31415", "localhost:31416"]);
}

#[test]
fn ipv6_brackets_are_not_ranges() {
    assert_eq!(names("[::1]:9,[fe80::1]/2"), ["[::1]:9", "[fe80::1]:31415"]);
    assert_eq!(names("[fd00::{1..2}]:7000"), ["[fd00::1]:7000", "[fd00::2]:7000"]);
    assert_eq!(names("fe80::1"), ["[fe80::1]:31415"]);
    // A bracket range at the start is still a range.
    assert_eq!(expand_item("[1-2].lan").unwrap(), ["1.lan", "2.lan"]);
}

#[test]
fn bad_ranges_are_named() {
    let err = |spec: &str| parse_hosts(spec).unwrap_err().to_string();
    assert_eq!(err("pi[12-01]"), "host \"pi[12-01]\": range \"[12-01]\" is reversed: 12 is after 1");
    assert_eq!(err("pi[]"), "host \"pi[]\": empty range []");
    assert_eq!(err("pi{}"), "host \"pi{}\": empty range {}");
    assert_eq!(err("pi[1-2-3]"), "host \"pi[1-2-3]\": \"[1-2-3]\" is not a range [A-B] of decimal numbers");
    assert_eq!(err("pi[a-c]"), "host \"pi[a-c]\": \"[a-c]\" is not a range [A-B] of decimal numbers");
    assert_eq!(err("pi{1..}"), "host \"pi{1..}\": \"{1..}\" is not a range {A..B} of decimal numbers");
    assert_eq!(err("pi{a..c}"), "host \"pi{a..c}\": \"{a..c}\" is not a range {A..B} of decimal numbers");
    assert!(err("pi{1..3").contains("unclosed '{'"));
    assert!(err("pi1..3}").contains("'}' without its '{'"));
    assert!(err("pi[1-3").contains("unclosed '['"));
    assert!(err("pi1]").contains("']' without its '['"));
    assert!(err("pi{1..99999999999999999999}").contains("not a range"));
    assert_eq!(err("pi[1-3]:http"), "host \"pi[1-3]:http\": \"pi1:http\": \"http\" is not a port number");
}

#[test]
fn errors_in_files_name_the_line() {
    let err = parse_hosts_file("pi[1-4]\n# more\n10.0.{1..2}.{3..}\n", "racks.txt").unwrap_err().to_string();
    assert_eq!(err, "racks.txt:3: \"10.0.{1..2}.{3..}\": \"{3..}\" is not a range {A..B} of decimal numbers");
    let h = parse_hosts_file("pi[1-4] # the rack\n10.0.{1..2}.9:7000/1\n", "r").unwrap();
    assert_eq!(h.len(), 6);
    assert_eq!(h[5].address(), "10.0.2.9:7000");
}

#[test]
fn expansion_is_capped() {
    assert_eq!(parse_hosts("h{1..65536}").unwrap().len(), MAX_HOSTS);
    assert_eq!(
        parse_hosts("h{0..65536}").unwrap_err().to_string(),
        "host \"h{0..65536}\": expands to more than 65536 hosts"
    );
    // Checked before anything is built.
    assert!(parse_hosts("h{1..999999999}.{1..999999999}.{1..999999999}")
        .unwrap_err()
        .to_string()
        .contains("more than 65536"));
    assert_eq!(
        parse_hosts("a{1..40000},b{1..40000}").unwrap_err().to_string(),
        "host \"b{1..40000}\": the host list expands to more than 65536 hosts in total"
    );
    let text = "a{1..40000}\nb{1..40000}\n";
    assert_eq!(
        parse_hosts_file(text, "big").unwrap_err().to_string(),
        "big:2: \"b{1..40000}\": the host list expands to more than 65536 hosts in total"
    );
}

#[test]
fn duplicates_are_merged_and_later_threads_win() {
    let h = parse_hosts("pi[1-4]/4,pi3/2,PI2,pi1:7000,pi[1-2]").unwrap();
    let got: Vec<_> = h.iter().map(|s| (s.address(), s.threads)).collect();
    assert_eq!(
        got,
        [
            ("pi1:31415".to_string(), Some(4)),
            ("pi2:31415".to_string(), Some(4)),
            ("pi3:31415".to_string(), Some(2)),
            ("pi4:31415".to_string(), Some(4)),
            ("pi1:7000".to_string(), None),
        ]
    );
    // Addresses are compared in canonical form.
    assert_eq!(parse_hosts("[::1]:9,[0::0:1]:9").unwrap().len(), 1);
    assert_eq!(parse_hosts_file("pi1\npi1\n", "f").unwrap().len(), 1);
}

/// A directory of its own under the system's temporary directory,
/// removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("piworker-hosts-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn hosts_of(r: Option<Result<Vec<HostSpec>, HostsError>>) -> Vec<String> {
    r.expect("a change").unwrap().iter().map(|h| h.host.clone()).collect()
}

#[test]
fn hosts_file_sees_same_second_same_length_rewrites() {
    let dir = TempDir::new("rewrite");
    let path = dir.0.join("hosts");
    std::fs::write(&path, "pi1\npi2\n").unwrap();
    let (mut file, hosts) = HostsFile::open(&path).unwrap();
    assert_eq!(hosts.len(), 2);
    assert_eq!(file.path(), path);
    assert!(file.changed().is_none());
    // Same length, at once: the modification time may well be the same.
    std::fs::write(&path, "pi1\npi3\n").unwrap();
    assert_eq!(hosts_of(file.changed()), ["pi1", "pi3"]);
    assert!(file.changed().is_none());
    // Rewritten with the same bytes: no change.
    std::fs::write(&path, "pi1\npi3\n").unwrap();
    assert!(file.changed().is_none());
    std::fs::write(&path, "pi1\npi3\npi[4-5]\n").unwrap();
    assert_eq!(hosts_of(file.changed()), ["pi1", "pi3", "pi4", "pi5"]);
    // Replaced by rename, as many editors save.
    let tmp = dir.0.join("hosts.new");
    std::fs::write(&tmp, "pi9\n").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    assert_eq!(hosts_of(file.changed()), ["pi9"]);
    assert!(file.changed().is_none());
}

#[test]
fn hosts_file_errors_are_reported_once_per_change() {
    let dir = TempDir::new("errors");
    let path = dir.0.join("hosts");
    std::fs::write(&path, "pi1\n").unwrap();
    let (mut file, _) = HostsFile::open(&path).unwrap();

    std::fs::write(&path, "pi1\npi2:http\n").unwrap();
    let err = file.changed().expect("a change").unwrap_err().to_string();
    assert!(err.ends_with(":2: \"pi2:http\": \"http\" is not a port number"), "{err}");
    assert!(file.changed().is_none());
    std::fs::write(&path, "pi1\npi[2-1]\n").unwrap();
    assert!(file.changed().expect("a change").unwrap_err().to_string().contains("reversed"));
    assert!(file.changed().is_none());
    std::fs::write(&path, "# nobody\n").unwrap();
    assert!(file.changed().expect("a change").unwrap_err().to_string().contains("no hosts"));

    std::fs::remove_file(&path).unwrap();
    let err = file.changed().expect("a change").unwrap_err().to_string();
    assert!(err.starts_with("cannot read hosts file"), "{err}");
    assert!(file.changed().is_none());

    // Back with its first contents: a change after the errors.
    std::fs::write(&path, "pi1\n").unwrap();
    assert_eq!(hosts_of(file.changed()), ["pi1"]);
    assert!(file.changed().is_none());

    std::fs::write(&path, b"pi1\n\xff\n").unwrap();
    assert!(file.changed().expect("a change").unwrap_err().to_string().contains("not UTF-8"));
}

#[test]
fn hosts_file_open_fails_like_parse_hosts() {
    let dir = TempDir::new("open");
    let path = dir.0.join("hosts");
    assert!(HostsFile::open(&path).unwrap_err().to_string().starts_with("cannot read hosts file"));
    std::fs::write(&path, "pi[01-03]/2\n").unwrap();
    let (_, hosts) = HostsFile::open(&path).unwrap();
    let spec = format!("@{}", path.display());
    assert_eq!(hosts, parse_hosts(&spec).unwrap());
    assert_eq!(hosts[2].host, "pi03");
}
