//! The host list: `host[:port][/threads],...` or `@FILE` with one host per
//! line and `#` comments (like seed 004's pi_list.txt).
//!
//! Every item, in a `--hosts` list or on a line of a file, may hold ranges,
//! expanded before the item is parsed:
//!
//! - `{A..B}`: decimal numbers from A to B, counting down when A > B (as in
//!   bash); when A or B is written with a leading zero, every number is
//!   zero-padded to the longer of the two widths (`{08..10}` is 08, 09, 10).
//! - `[A-B]`: decimal numbers from A to B (A <= B), zero-padded to the width
//!   A is written with (`pi[01-12]` is pi01..pi12, `pi[1-3]` is pi1..pi3).
//!   A bracket group is a range only if it is `[digits-digits]`; a group at
//!   the start of an item that holds anything else is an address in brackets
//!   (`[::1]:9`), kept as written (braces inside it still expand).
//!
//! Several ranges in one item give the cartesian product, leftmost range
//! slowest: `192.168.{4..5}.{1..2}` is .4.1, .4.2, .5.1, .5.2. Ranges may
//! stand anywhere, so the `:port` and `/threads` suffixes apply to every host
//! (`pi[1-3]:31416/2`). A list expands to at most [`MAX_HOSTS`] hosts.
//!
//! Duplicates are merged, not refused: a host (same name, compared without
//! case, or same address, and same port) that appears again keeps the place
//! of its first appearance, and a later `/threads` overrides an earlier one,
//! so a file can say `pi[01-12]/4` and then `pi07/2` for one slower Pi.

use crate::protocol::DEFAULT_PORT;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hasher;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The most hosts a list may expand to, over all its items.
pub const MAX_HOSTS: usize = 65_536;

/// Hosts files larger than this are refused (a typo such as `@/dev/zero`).
pub const MAX_HOSTS_FILE_BYTES: u64 = 16 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    /// Host name or address as the user wrote it (without the port).
    pub host: String,
    pub port: u16,
    /// Use at most this many of the worker's threads (the `/N` suffix).
    pub threads: Option<u16>,
}

impl HostSpec {
    /// `host:port`, with IPv6 addresses bracketed.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// What makes two specs the same worker: the port and the host, an
    /// address in its canonical form (`::0:1` is `::1`), a name without case.
    fn key(&self) -> (String, u16) {
        let host = match self.host.parse::<IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => self.host.to_ascii_lowercase(),
        };
        (host, self.port)
    }
}

impl fmt::Display for HostSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address())
    }
}

/// Parses a whole SPEC: a comma-separated list or `@FILE`.
pub fn parse_hosts(spec: &str) -> Result<Vec<HostSpec>, String> {
    if let Some(path) = spec.strip_prefix('@') {
        let bytes = read_hosts_file(Path::new(path))?;
        let text = hosts_text(&bytes, Path::new(path))?;
        return parse_hosts_file(text, path);
    }
    let mut list = HostList::default();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        list.add(item).map_err(|e| format!("host {item:?}: {e}"))?;
    }
    if list.hosts.is_empty() {
        return Err("the host list is empty".into());
    }
    Ok(list.hosts)
}

/// One host item per line; `#` starts a comment; blank lines are skipped.
/// Errors name `path:line`.
pub fn parse_hosts_file(text: &str, path: &str) -> Result<Vec<HostSpec>, String> {
    let mut list = HostList::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        list.add(line).map_err(|e| format!("{path}:{}: {line:?}: {e}", n + 1))?;
    }
    if list.hosts.is_empty() {
        return Err(format!("{path}: no hosts in the file"));
    }
    Ok(list.hosts)
}

/// The hosts of a list being built: expanded, parsed, duplicates merged.
#[derive(Default)]
struct HostList {
    hosts: Vec<HostSpec>,
    index: HashMap<(String, u16), usize>,
    /// Hosts expanded so far, duplicates included (what [`MAX_HOSTS`] caps).
    expanded: usize,
}

impl HostList {
    fn add(&mut self, item: &str) -> Result<(), String> {
        let names = expand_item_within(item, MAX_HOSTS - self.expanded.min(MAX_HOSTS)).map_err(|e| match e {
            Expand::TooMany if self.expanded > 0 => {
                format!("the host list expands to more than {MAX_HOSTS} hosts in total")
            }
            Expand::TooMany => format!("expands to more than {MAX_HOSTS} hosts"),
            Expand::Bad(msg) => msg,
        })?;
        self.expanded += names.len();
        let several = names.len() > 1;
        for name in names {
            let spec = parse_host(&name).map_err(|e| if several { format!("{name:?}: {e}") } else { e })?;
            match self.index.get(&spec.key()) {
                Some(&i) => {
                    if spec.threads.is_some() {
                        self.hosts[i].threads = spec.threads;
                    }
                }
                None => {
                    self.index.insert(spec.key(), self.hosts.len());
                    self.hosts.push(spec);
                }
            }
        }
        Ok(())
    }
}

enum Expand {
    TooMany,
    Bad(String),
}

/// Expands the ranges of one item (see the module's documentation) into the
/// items it stands for, in order; an item without ranges gives itself.
pub fn expand_item(item: &str) -> Result<Vec<String>, String> {
    expand_item_within(item, MAX_HOSTS).map_err(|e| match e {
        Expand::TooMany => format!("expands to more than {MAX_HOSTS} hosts"),
        Expand::Bad(msg) => msg,
    })
}

enum Part {
    Text(String),
    /// From `from` to `to` (down when `from > to`), zero-padded to `width`.
    Range {
        from: u64,
        to: u64,
        width: usize,
    },
}

impl Part {
    fn len(&self) -> u64 {
        match *self {
            Part::Text(_) => 1,
            Part::Range { from, to, .. } => from.abs_diff(to).saturating_add(1),
        }
    }
}

fn expand_item_within(item: &str, limit: usize) -> Result<Vec<String>, Expand> {
    let parts = split_ranges(item).map_err(Expand::Bad)?;
    let mut total: u64 = 1;
    for part in &parts {
        total = total.saturating_mul(part.len());
    }
    if total > limit as u64 {
        return Err(Expand::TooMany);
    }
    let mut out = vec![String::new()];
    for part in &parts {
        match part {
            Part::Text(text) => out.iter_mut().for_each(|s| s.push_str(text)),
            &Part::Range { from, to, width } => {
                let numbers: Vec<u64> = if from <= to { (from..=to).collect() } else { (to..=from).rev().collect() };
                out =
                    out.iter().flat_map(|prefix| numbers.iter().map(move |n| format!("{prefix}{n:0width$}"))).collect();
            }
        }
    }
    Ok(out)
}

/// Cuts an item into text and ranges.
fn split_ranges(item: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    // The byte index of the `]` closing an address in brackets at the start.
    let mut address_close = None;
    let mut i = 0;
    while let Some(c) = item[i..].chars().next() {
        match c {
            '{' => {
                let len = item[i..].find('}').ok_or("unclosed '{' in a range")?;
                let inner = &item[i + 1..i + len];
                parts.push(Part::Text(std::mem::take(&mut text)));
                parts.push(brace_range(inner)?);
                i += len + 1;
            }
            '}' => return Err("'}' without its '{'".into()),
            '[' if address_close.is_some_and(|close| i < close) => {
                return Err("'[' inside an address in brackets".into())
            }
            '[' => {
                let len = item[i..].find(']').ok_or("unclosed '['")?;
                let inner = &item[i + 1..i + len];
                if let Some(range) = bracket_range(inner)? {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                    parts.push(range);
                    i += len + 1;
                } else if i == 0 {
                    address_close = Some(len);
                    text.push('[');
                    i += 1;
                } else {
                    return Err(format!("\"[{inner}]\" is not a range [A-B] of decimal numbers"));
                }
            }
            ']' if address_close == Some(i) => {
                text.push(']');
                i += 1;
            }
            ']' => return Err("']' without its '['".into()),
            c => {
                text.push(c);
                i += c.len_utf8();
            }
        }
    }
    parts.push(Part::Text(text));
    parts.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
    Ok(parts)
}

/// `A..B` inside braces.
fn brace_range(inner: &str) -> Result<Part, String> {
    if inner.is_empty() {
        return Err("empty range {}".into());
    }
    let garbled = || format!("\"{{{inner}}}\" is not a range {{A..B}} of decimal numbers");
    let (a, b) = inner.split_once("..").ok_or_else(garbled)?;
    let (from, to) = (number(a).ok_or_else(garbled)?, number(b).ok_or_else(garbled)?);
    let padded = |s: &str| s.len() > 1 && s.starts_with('0');
    let width = if padded(a) || padded(b) { a.len().max(b.len()) } else { 0 };
    Ok(Part::Range { from, to, width })
}

/// `A-B` inside brackets: `Ok(None)` if the group is not a range at all
/// (an address in brackets), an error if it is a garbled or reversed one.
fn bracket_range(inner: &str) -> Result<Option<Part>, String> {
    if !inner.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Ok(None);
    }
    if inner.is_empty() {
        return Err("empty range []".into());
    }
    let garbled = || format!("\"[{inner}]\" is not a range [A-B] of decimal numbers");
    let (a, b) = inner.split_once('-').ok_or_else(garbled)?;
    let (from, to) = (number(a).ok_or_else(garbled)?, number(b).ok_or_else(garbled)?);
    if from > to {
        return Err(format!("range \"[{inner}]\" is reversed: {from} is after {to}"));
    }
    Ok(Some(Part::Range { from, to, width: a.len() }))
}

/// A decimal number of at most 18 digits.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `host`, `host:port`, `host/threads`, `host:port/threads`, `[v6]:port`.
/// One host, as written: no ranges (see [`expand_item`]).
pub fn parse_host(item: &str) -> Result<HostSpec, String> {
    let (addr, threads) = match item.rsplit_once('/') {
        Some((a, t)) => {
            let n: u16 = t.parse().map_err(|_| format!("{t:?} after '/' is not a thread count"))?;
            if n == 0 {
                return Err("a thread count of 0 leaves nothing to run on".into());
            }
            (a, Some(n))
        }
        None => (item, None),
    };
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (h, tail) = rest.split_once(']').ok_or("unclosed '[' in an IPv6 address")?;
        match tail.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if tail.is_empty() => (h, None),
            None => return Err(format!("unexpected {tail:?} after the IPv6 address")),
        }
    } else if addr.matches(':').count() > 1 {
        (addr, None) // a bare IPv6 address
    } else {
        match addr.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (addr, None),
        }
    };
    if host.is_empty() {
        return Err("no host name".into());
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| format!("{p:?} is not a port number"))?,
        None => DEFAULT_PORT,
    };
    Ok(HostSpec { host: host.to_string(), port, threads })
}

/// A hosts file watched while a job runs.
///
/// [`HostsFile::changed`] reads the whole file on every call (it is small;
/// call it about once a second) and compares its length and a hash of its
/// bytes with the last read. The modification time alone is not enough (a
/// rewrite within the same second, or on a file system with coarse times,
/// keeps it) and not needed (a `touch` that changes nothing is no change).
/// Editors that save in place may be caught half-way through a write; the
/// next call sees the finished file.
#[derive(Debug)]
pub struct HostsFile {
    path: PathBuf,
    last: Seen,
}

/// What the last read found: the contents' length and hash, or the error.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Contents { len: u64, hash: u64 },
    Unreadable(String),
}

impl HostsFile {
    /// Reads and parses the file once; fails as [`parse_hosts`] would.
    pub fn open(path: impl AsRef<Path>) -> Result<(HostsFile, Vec<HostSpec>), String> {
        let path = path.as_ref().to_path_buf();
        let bytes = read_hosts_file(&path)?;
        let hosts = parse_bytes(&bytes, &path)?;
        let last = contents_seen(&bytes);
        Ok((HostsFile { path, last }, hosts))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `None` while the file's contents are those of the last call (or of
    /// `open`); otherwise the new list, or why the file cannot be used now
    /// (unreadable, removed, or invalid): an error is returned once, and
    /// then again only when the file changes again. After an error, the
    /// file's return (even with its old contents) gives `Some(Ok(list))`.
    pub fn changed(&mut self) -> Option<Result<Vec<HostSpec>, String>> {
        let read = read_hosts_file(&self.path);
        let seen = match &read {
            Ok(bytes) => contents_seen(bytes),
            Err(e) => Seen::Unreadable(e.clone()),
        };
        if seen == self.last {
            return None;
        }
        self.last = seen;
        Some(read.and_then(|bytes| parse_bytes(&bytes, &self.path)))
    }
}

fn contents_seen(bytes: &[u8]) -> Seen {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    Seen::Contents { len: bytes.len() as u64, hash: hasher.finish() }
}

fn read_hosts_file(path: &Path) -> Result<Vec<u8>, String> {
    let cannot = |e: std::io::Error| format!("cannot read hosts file {}: {e}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(MAX_HOSTS_FILE_BYTES + 1).read_to_end(&mut bytes)).map_err(cannot)?;
    if bytes.len() as u64 > MAX_HOSTS_FILE_BYTES {
        return Err(format!("hosts file {} is larger than {} MiB", path.display(), MAX_HOSTS_FILE_BYTES >> 20));
    }
    Ok(bytes)
}

fn hosts_text<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str, String> {
    std::str::from_utf8(bytes).map_err(|e| format!("hosts file {} is not UTF-8 text: {e}", path.display()))
}

fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Vec<HostSpec>, String> {
    parse_hosts_file(hosts_text(bytes, path)?, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = parse_hosts_file(text, "hosts.txt").unwrap_err();
        assert_eq!(err, "hosts.txt:5: \"pi3/0\": a thread count of 0 leaves nothing to run on");
        assert_eq!(parse_hosts_file("pi1\npi2:31416 # spare\n", "h").unwrap().len(), 2);
    }

    #[test]
    fn bad_ports_are_named() {
        assert_eq!(parse_hosts("pi1:http").unwrap_err(), "host \"pi1:http\": \"http\" is not a port number");
        assert!(parse_hosts(" , ").unwrap_err().contains("empty"));
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
        let err = |spec: &str| parse_hosts(spec).unwrap_err();
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
        let err = parse_hosts_file("pi[1-4]\n# more\n10.0.{1..2}.{3..}\n", "racks.txt").unwrap_err();
        assert_eq!(err, "racks.txt:3: \"10.0.{1..2}.{3..}\": \"{3..}\" is not a range {A..B} of decimal numbers");
        let h = parse_hosts_file("pi[1-4] # the rack\n10.0.{1..2}.9:7000/1\n", "r").unwrap();
        assert_eq!(h.len(), 6);
        assert_eq!(h[5].address(), "10.0.2.9:7000");
    }

    #[test]
    fn expansion_is_capped() {
        assert_eq!(parse_hosts("h{1..65536}").unwrap().len(), MAX_HOSTS);
        assert_eq!(parse_hosts("h{0..65536}").unwrap_err(), "host \"h{0..65536}\": expands to more than 65536 hosts");
        // Checked before anything is built.
        assert!(parse_hosts("h{1..999999999}.{1..999999999}.{1..999999999}").unwrap_err().contains("more than 65536"));
        assert_eq!(
            parse_hosts("a{1..40000},b{1..40000}").unwrap_err(),
            "host \"b{1..40000}\": the host list expands to more than 65536 hosts in total"
        );
        let text = "a{1..40000}\nb{1..40000}\n";
        assert_eq!(
            parse_hosts_file(text, "big").unwrap_err(),
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

    fn hosts_of(r: Option<Result<Vec<HostSpec>, String>>) -> Vec<String> {
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
        let err = file.changed().expect("a change").unwrap_err();
        assert!(err.ends_with(":2: \"pi2:http\": \"http\" is not a port number"), "{err}");
        assert!(file.changed().is_none());
        std::fs::write(&path, "pi1\npi[2-1]\n").unwrap();
        assert!(file.changed().expect("a change").unwrap_err().contains("reversed"));
        assert!(file.changed().is_none());
        std::fs::write(&path, "# nobody\n").unwrap();
        assert!(file.changed().expect("a change").unwrap_err().contains("no hosts"));

        std::fs::remove_file(&path).unwrap();
        let err = file.changed().expect("a change").unwrap_err();
        assert!(err.starts_with("cannot read hosts file"), "{err}");
        assert!(file.changed().is_none());

        // Back with its first contents: a change after the errors.
        std::fs::write(&path, "pi1\n").unwrap();
        assert_eq!(hosts_of(file.changed()), ["pi1"]);
        assert!(file.changed().is_none());

        std::fs::write(&path, b"pi1\n\xff\n").unwrap();
        assert!(file.changed().expect("a change").unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn hosts_file_open_fails_like_parse_hosts() {
        let dir = TempDir::new("open");
        let path = dir.0.join("hosts");
        assert!(HostsFile::open(&path).unwrap_err().starts_with("cannot read hosts file"));
        std::fs::write(&path, "pi[01-03]/2\n").unwrap();
        let (_, hosts) = HostsFile::open(&path).unwrap();
        let spec = format!("@{}", path.display());
        assert_eq!(hosts, parse_hosts(&spec).unwrap());
        assert_eq!(hosts[2].host, "pi03");
    }
}
