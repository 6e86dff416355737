//! The `#` lines at the top of a job log: what command it logged (the
//! fingerprint a resumed run must match) and how the job was cut.

use std::fmt::Write as _;

/// The command a log belongs to. Hosts are not in it: the cluster may
/// change between a run and its resumption.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub job: String,
    /// (name, value): the job's parameters, and its input's size and hash.
    pub params: Vec<(String, String)>,
    /// What the pieces were cut for (hosts, or exec's pieces): a resumed
    /// run cuts the same pieces whatever the cluster is now.
    pub cut: u64,
}

impl Header {
    pub fn new(job: &str, params: Vec<(String, String)>, cut: u64) -> Header {
        Header { job: job.to_string(), params, cut }
    }

    /// The `#` lines, after the magic line.
    pub fn format(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# job\t{}", self.job);
        for (name, value) in &self.params {
            let _ = writeln!(out, "# param\t{name}\t{}", value.replace(['\t', '\n', '\r'], " "));
        }
        let _ = writeln!(out, "# cut\t{}", self.cut);
        out
    }

    /// From the `#` lines (line number, text after "# "); the error names
    /// the line.
    pub fn parse(lines: &[(usize, &str)]) -> Result<Header, (usize, String)> {
        let mut job = None;
        let mut params = Vec::new();
        let mut cut = None;
        for &(number, text) in lines {
            let fields: Vec<&str> = text.split('\t').collect();
            match fields.as_slice() {
                ["job", name] => job = Some(name.to_string()),
                ["param", name, value] => params.push((name.to_string(), value.to_string())),
                ["cut", n] => cut = Some(n.parse().map_err(|_| (number, format!("cut {n:?} is not a number")))?),
                _ => return Err((number, format!("unknown header line {text:?}"))),
            }
        }
        let last = lines.last().map_or(1, |l| l.0);
        let job = job.ok_or((last, "the header names no job (# job)".to_string()))?;
        let cut =
            cut.ok_or((last, "the header stops here without its # cut line (the file was cut short?)".to_string()))?;
        Ok(Header { job, params, cut })
    }

    /// How `self` (the log's) differs from `now` (this command's), if it does.
    pub fn difference(&self, now: &Header) -> Option<String> {
        if self.job != now.job {
            return Some(format!("it logged {}, this is {}", self.job, now.job));
        }
        let value = |h: &Header, name: &str| h.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let names = self.params.iter().chain(&now.params).map(|(n, _)| n.as_str());
        for name in names {
            match (value(self, name), value(now, name)) {
                (Some(a), Some(b)) if a != b => return Some(format!("{name} is {a} there, {b} here")),
                (Some(a), None) => return Some(format!("{name} is {a} there, not given here")),
                (None, Some(b)) => return Some(format!("{name} is not given there, {b} here")),
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(b: &str) -> Header {
        Header::new("primes", vec![("a".into(), "1".into()), ("b".into(), b.into())], 4)
    }

    #[test]
    fn a_header_reads_back_and_names_what_differs() {
        let h = header("1000");
        let text = h.format();
        let lines: Vec<(usize, &str)> =
            text.lines().enumerate().map(|(i, l)| (i + 2, l.strip_prefix("# ").unwrap())).collect();
        assert_eq!(Header::parse(&lines), Ok(h.clone()));
        assert_eq!(h.difference(&header("1000")), None);
        assert_eq!(h.difference(&header("2000")).as_deref(), Some("b is 1000 there, 2000 here"));
        let pi = Header::new("pi", vec![], 4);
        assert_eq!(h.difference(&pi).as_deref(), Some("it logged primes, this is pi"));
        assert_eq!(
            Header::parse(&[(2, "job\tpi"), (3, "colour\tred")]),
            Err((3, "unknown header line \"colour\\tred\"".into()))
        );
    }
}
