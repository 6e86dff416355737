//! What a job log records of an exec command (`--joblog`): the program,
//! how the pieces are cut (a --lines file by path, size and hash), where
//! the output goes and the limits asked for, so that `--resume` refuses a
//! log of another command. A stdin farm's input is not here: each logged
//! piece's params hash covers its line instead.

use super::opts::{ExecOpts, Mode};
use crate::submit::error::SubmitError;
use crate::submit::plans::fingerprint::{file_digest, Params};

/// The fingerprint of `pisubmit exec`.
pub fn of_exec(opts: &ExecOpts) -> Result<Params, SubmitError> {
    let mut p: Params = vec![("program".into(), opts.name.clone())];
    let mut add = |name: &str, value: String| p.push((name.to_string(), value));
    match &opts.mode {
        Mode::Range { start, end, pieces } => {
            add("range", format!("{start}..{end}"));
            add("pieces", pieces.map_or("4 per thread (see cut)".into(), |n| n.to_string()));
        }
        Mode::Lines { file, block } => {
            add("lines", file.display().to_string());
            add("lines-data", file_digest(file, "--lines")?);
            add("block", block.to_string());
        }
        Mode::Farm => add("stdin", "one piece per line".into()),
    }
    add("ordered", opts.ordered.to_string());
    add("output", opts.output.as_ref().map_or("stdout".into(), |o| o.display().to_string()));
    add("time-limit", opts.time_limit.map_or("the workers'".into(), |t| format!("{:?}", t.as_secs_f64())));
    add("memory-limit", opts.memory_limit.map_or("the workers'".into(), |m| m.to_string()));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn opts(mode: Mode) -> ExecOpts {
        ExecOpts { name: "piece".into(), mode, ordered: true, output: None, time_limit: None, memory_limit: None }
    }

    #[test]
    fn what_changes_the_fingerprint() {
        let range = opts(Mode::Range { start: 0, end: 100, pieces: None });
        let base = of_exec(&range).unwrap();
        let mut other = range.clone();
        other.ordered = false;
        assert_ne!(of_exec(&other).unwrap(), base, "--unordered");
        other = range.clone();
        other.output = Some(PathBuf::from("out.txt"));
        assert_ne!(of_exec(&other).unwrap(), base, "--output");
        other = opts(Mode::Range { start: 0, end: 100, pieces: Some(7) });
        assert_ne!(of_exec(&other).unwrap(), base, "--pieces");
        let missing = opts(Mode::Lines { file: PathBuf::from("/nonexistent/lines.txt"), block: 1 });
        let err = of_exec(&missing).unwrap_err().to_string();
        assert!(err.contains("--lines /nonexistent/lines.txt"), "{err}");
    }
}
