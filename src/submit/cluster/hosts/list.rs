//! A list of hosts being built from items: expanded, parsed, duplicates merged.

use super::error::HostsError;
use super::ranges::{expand_item_within, Expand, MAX_HOSTS};
use super::spec::{parse, HostSpec};
use std::collections::HashMap;

/// One host item per line; `#` starts a comment; blank lines are skipped.
/// Errors name `path:line`.
pub fn parse_hosts_file(text: &str, path: &str) -> Result<Vec<HostSpec>, HostsError> {
    let mut list = HostList::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        list.add(line).map_err(|e| HostsError::Line {
            path: path.to_string(),
            line: n + 1,
            text: line.to_string(),
            error: Box::new(e),
        })?;
    }
    if list.hosts.is_empty() {
        return Err(HostsError::EmptyFile { path: path.to_string() });
    }
    Ok(list.hosts)
}

/// The hosts of a list being built: expanded, parsed, duplicates merged.
#[derive(Default)]
pub(super) struct HostList {
    pub(super) hosts: Vec<HostSpec>,
    index: HashMap<(String, u16), usize>,
    /// Hosts expanded so far, duplicates included (what [`MAX_HOSTS`] caps).
    expanded: usize,
}

impl HostList {
    pub(super) fn add(&mut self, item: &str) -> Result<(), HostsError> {
        let names = expand_item_within(item, MAX_HOSTS - self.expanded.min(MAX_HOSTS)).map_err(|e| match e {
            Expand::TooMany if self.expanded > 0 => {
                HostsError::Host(format!("the host list expands to more than {MAX_HOSTS} hosts in total"))
            }
            Expand::TooMany => HostsError::Host(format!("expands to more than {MAX_HOSTS} hosts")),
            Expand::Bad(msg) => HostsError::Host(msg),
        })?;
        self.expanded += names.len();
        let several = names.len() > 1;
        for name in names {
            let spec =
                parse(&name).map_err(|e| HostsError::Host(if several { format!("{name:?}: {e}") } else { e }))?;
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
