//! `pisubmit hosts`: the workers --hosts expands to, printed without
//! contacting any. One host per line (a hosts file pisubmit reads back as
//! the same list), `--json`, or with `--ansible` the JSON an Ansible
//! dynamic inventory prints for `--list`: packaging/ansible/inventory.sh
//! runs it, so the playbook provisions exactly the machines pisubmit will
//! use, from the same ranges, with no second parser to disagree.

use crate::submit::cluster::hosts::HostSpec;
use crate::submit::error::SubmitError;
use crate::submit::report::json::Json;
use std::collections::BTreeMap;

/// The inventory group every host is in; the playbook's `hosts:` names it.
pub const ANSIBLE_GROUP: &str = "piworkers";

pub fn run(hosts: &[HostSpec], json: bool, ansible: bool) -> Result<String, SubmitError> {
    if ansible {
        return Ok(inventory(hosts)?.render() + "\n");
    }
    if json {
        let list = hosts
            .iter()
            .map(|h| {
                Json::obj(vec![
                    ("host", Json::Str(h.host.clone())),
                    ("port", Json::Int(h.port.into())),
                    ("threads", h.threads.map_or(Json::Null, |t| Json::Int(t.into()))),
                ])
            })
            .collect();
        return Ok(Json::obj(vec![("hosts", Json::Array(list))]).render() + "\n");
    }
    Ok(hosts.iter().map(|h| line(h) + "\n").collect())
}

/// `host:port[/threads]`, as a hosts file line: parsing it gives `h` back.
fn line(h: &HostSpec) -> String {
    match h.threads {
        Some(t) => format!("{}/{t}", h.address()),
        None => h.address(),
    }
}

/// `{"piworkers": {"hosts": [...]}, "_meta": {"hostvars": {...}}}`. With
/// `_meta` present Ansible asks for no host one by one (`--host NAME`).
/// Ansible names a machine by its host alone, so one listed with two ports
/// (two daemons on a machine, which the list allows) cannot be one entry
/// with one piworker_port: refused, naming both.
fn inventory(hosts: &[HostSpec]) -> Result<Json, SubmitError> {
    let mut seen: BTreeMap<String, u16> = BTreeMap::new();
    let mut names = Vec::new();
    let mut hostvars = Vec::new();
    for h in hosts {
        // A name in another case is the same machine (as the host list has it).
        let machine = h.host.to_ascii_lowercase();
        if let Some(port) = seen.get(&machine) {
            return Err(SubmitError::Usage(format!(
                "hosts --ansible: {} is listed with port {port} and port {}: the playbook installs one piworker \
                 per machine, so give each machine once",
                h.host, h.port
            )));
        }
        seen.insert(machine, h.port);
        names.push(Json::Str(h.host.clone()));
        // Not /threads: that limits what pisubmit uses, not the daemon.
        hostvars.push((h.host.clone(), Json::obj(vec![("piworker_port", Json::Int(h.port.into()))])));
    }
    Ok(Json::obj(vec![
        (ANSIBLE_GROUP, Json::obj(vec![("hosts", Json::Array(names))])),
        ("_meta", Json::obj(vec![("hostvars", Json::Object(hostvars))])),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::DEFAULT_PORT;
    use crate::submit::cluster::hosts::parse_hosts;

    #[test]
    fn a_line_reads_back_as_the_same_host() {
        let hosts = parse_hosts("pi[1-2]:31416/2,[::1],10.0.0.{8..9}").unwrap();
        let text = run(&hosts, false, false).unwrap();
        assert_eq!(text, "pi1:31416/2\npi2:31416/2\n[::1]:31415\n10.0.0.8:31415\n10.0.0.9:31415\n");
        let again: Vec<&str> = text.lines().collect();
        assert_eq!(parse_hosts(&again.join(",")).unwrap(), hosts);
        assert_eq!(hosts[2].port, DEFAULT_PORT);
    }

    #[test]
    fn a_machine_with_two_ports_is_not_an_inventory() {
        let hosts = parse_hosts("pi1:31415,PI1:31416").unwrap();
        let e = run(&hosts, false, true).unwrap_err().to_string();
        assert!(e.contains("PI1 is listed with port 31415 and port 31416"), "{e}");
    }
}
