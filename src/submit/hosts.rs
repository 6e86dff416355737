//! The host list: `host[:port][/threads],...` or `@FILE` with one host per
//! line and `#` comments (like seed 004's pi_list.txt).

use crate::daemon::config::DEFAULT_PORT;
use std::fmt;

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
}

impl fmt::Display for HostSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address())
    }
}

/// Parses a whole SPEC: a comma-separated list or `@FILE`.
pub fn parse_hosts(spec: &str) -> Result<Vec<HostSpec>, String> {
    if let Some(path) = spec.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read hosts file {path}: {e}"))?;
        return parse_hosts_file(&text, path);
    }
    let hosts: Vec<HostSpec> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| parse_host(item).map_err(|e| format!("host {item:?}: {e}")))
        .collect::<Result<_, _>>()?;
    if hosts.is_empty() {
        return Err("the host list is empty".into());
    }
    Ok(hosts)
}

/// One host per line; `#` starts a comment; blank lines are skipped.
pub fn parse_hosts_file(text: &str, path: &str) -> Result<Vec<HostSpec>, String> {
    let mut hosts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        hosts.push(parse_host(line).map_err(|e| format!("{path}:{}: {line:?}: {e}", n + 1))?);
    }
    if hosts.is_empty() {
        return Err(format!("{path}: no hosts in the file"));
    }
    Ok(hosts)
}

/// `host`, `host:port`, `host/threads`, `host:port/threads`, `[v6]:port`.
pub fn parse_host(item: &str) -> Result<HostSpec, String> {
    let (addr, threads) = match item.rsplit_once('/') {
        Some((a, t)) => {
            let n: u16 = t
                .parse()
                .map_err(|_| format!("{t:?} after '/' is not a thread count"))?;
            if n == 0 {
                return Err("a thread count of 0 leaves nothing to run on".into());
            }
            (a, Some(n))
        }
        None => (item, None),
    };
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (h, tail) = rest
            .split_once(']')
            .ok_or("unclosed '[' in an IPv6 address")?;
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
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("{p:?} is not a port number"))?,
        None => DEFAULT_PORT,
    };
    Ok(HostSpec {
        host: host.to_string(),
        port,
        threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let h = parse_hosts("pi1, 10.0.0.2:7000/2,[::1]:9,fe80::1").unwrap();
        assert_eq!(
            h[0],
            HostSpec {
                host: "pi1".into(),
                port: DEFAULT_PORT,
                threads: None
            }
        );
        assert_eq!(
            h[1],
            HostSpec {
                host: "10.0.0.2".into(),
                port: 7000,
                threads: Some(2)
            }
        );
        assert_eq!(h[2].address(), "[::1]:9");
        assert_eq!(h[3].host, "fe80::1");
    }

    #[test]
    fn file_with_comments_and_line_numbers() {
        let text = "# the rack\npi1\n\npi2:31416 # spare\npi3/0\n";
        let err = parse_hosts_file(text, "hosts.txt").unwrap_err();
        assert_eq!(
            err,
            "hosts.txt:5: \"pi3/0\": a thread count of 0 leaves nothing to run on"
        );
        assert_eq!(
            parse_hosts_file("pi1\npi2:31416 # spare\n", "h")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn bad_ports_are_named() {
        assert_eq!(
            parse_hosts("pi1:http").unwrap_err(),
            "host \"pi1:http\": \"http\" is not a port number"
        );
        assert!(parse_hosts(" , ").unwrap_err().contains("empty"));
    }
}
