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
//!
//! Here: the whole `--hosts` SPEC; `spec` parses one host, `ranges` expands an item,
//! `list` builds a list from items and `file` reads and watches a hosts file.

mod error;
mod file;
mod list;
mod ranges;
mod spec;

pub use error::HostsError;
pub use file::{HostsFile, MAX_HOSTS_FILE_BYTES};
pub use list::parse_hosts_file;
pub use ranges::{expand_item, MAX_HOSTS};
pub use spec::{parse_host, HostSpec};

use file::{hosts_text, read_hosts_file};
use list::HostList;
use std::path::Path;

/// Parses a whole SPEC: a comma-separated list or `@FILE`.
pub fn parse_hosts(spec: &str) -> Result<Vec<HostSpec>, HostsError> {
    if let Some(path) = spec.strip_prefix('@') {
        let bytes = read_hosts_file(Path::new(path))?;
        let text = hosts_text(&bytes, Path::new(path))?;
        return parse_hosts_file(text, path);
    }
    let mut list = HostList::default();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        list.add(item).map_err(|e| HostsError::Item { item: item.to_string(), error: Box::new(e) })?;
    }
    if list.hosts.is_empty() {
        return Err(HostsError::EmptyList);
    }
    Ok(list.hosts)
}

#[cfg(test)]
mod tests;
