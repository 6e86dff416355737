//! `pisubmit exec NAME`'s options: the program, how its pieces are cut,
//! and where the output goes.

use crate::jobs::jobdir::check_name;
use crate::submit::cli::args::{next_flag, text, Args, Next};
use crate::submit::cli::values::{count, number, seconds, unknown, usage};
use crate::submit::error::SubmitError;
use crate::submit::plans::exec::{ExecOpts, Mode};
use std::path::PathBuf;

pub fn parse_exec(p: &mut Args) -> Result<ExecOpts, SubmitError> {
    let name = match p.next_arg()? {
        Next::Word(name) => name,
        _ => return Err(usage("exec: give the job program's name first: pisubmit exec NAME --range A..B")),
    };
    check_name(&name).map_err(|e| usage(format!("exec: {e}")))?;
    let mut o = ExecOpts { name, mode: Mode::Farm, ordered: true, output: None, time_limit: None, memory_limit: None };
    let (mut range, mut pieces, mut lines, mut block) = (None, None, None, 1usize);
    while let Some(flag) = next_flag(p, "exec")? {
        match flag {
            "range" => {
                let v = text(p, "--range")?;
                let (a, b) = v.split_once("..").ok_or_else(|| usage(format!("--range: {v:?} is not A..B")))?;
                let (a, b): (i64, i64) = (number(a, "--range", "an integer")?, number(b, "--range", "an integer")?);
                if b <= a {
                    return Err(usage(format!("--range: {v} is empty (B must be above A; B is not included)")));
                }
                range = Some((a, b));
            }
            "pieces" => {
                let n = count(&text(p, "--pieces")?, "--pieces")?;
                if n == 0 {
                    return Err(usage("--pieces must be at least 1"));
                }
                pieces = Some(n);
            }
            "lines" => lines = Some(PathBuf::from(text(p, "--lines")?)),
            "block" => {
                block = number(&text(p, "--block")?, "--block", "a whole number of lines")?;
                if block == 0 {
                    return Err(usage("--block must be at least 1 line"));
                }
            }
            "ordered" => o.ordered = true,
            "unordered" => o.ordered = false,
            "output" => o.output = Some(PathBuf::from(text(p, "--output")?)),
            "time-limit" => o.time_limit = Some(seconds(&text(p, "--time-limit")?, "--time-limit")?),
            "memory-limit" => {
                let v = text(p, "--memory-limit")?;
                let bytes = crate::units::parse_size(&v)
                    .filter(|&b| b >= 1 << 20)
                    .ok_or_else(|| usage(format!("--memory-limit: {v:?} is not a size of at least 1M, like 256M")))?;
                o.memory_limit = Some(bytes);
            }
            other => return Err(unknown("exec", other)),
        }
    }
    o.mode = match (range, lines) {
        (Some(_), Some(_)) => return Err(usage("exec: give --range or --lines, not both")),
        (Some((start, end)), None) => Mode::Range { start, end, pieces },
        (None, Some(file)) => Mode::Lines { file, block },
        (None, None) => Mode::Farm,
    };
    if pieces.is_some() && !matches!(o.mode, Mode::Range { .. }) {
        return Err(usage("exec: --pieces goes with --range"));
    }
    if block != 1 && !matches!(o.mode, Mode::Lines { .. }) {
        return Err(usage("exec: --block goes with --lines"));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::exec::Params;

    fn parse(args: &[&str]) -> Result<ExecOpts, SubmitError> {
        let mut p = Args::after("exec", args);
        parse_exec(&mut p)
    }

    #[test]
    fn modes_and_mistakes() {
        let o = parse(&["primes", "--range", "1..1000", "--pieces", "7"]).unwrap();
        assert_eq!(o.mode, Mode::Range { start: 1, end: 1000, pieces: Some(7) });
        let pieces = o.pieces(2).unwrap();
        assert_eq!(pieces.len(), 7);
        assert_eq!(parse(&["x"]).unwrap().mode, Mode::Farm);
        let err = |a: &[&str]| parse(a).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(&["../x"]).contains("contains '/'"));
        assert!(err(&[".hidden"]).contains("starts with a dot"));
        assert!(err(&["/bin/sh"]).contains("contains '/'"));
        assert!(err(&[]).contains("give the job program's name"));
        assert!(err(&["x", "--range", "5..5"]).contains("empty"));
        assert!(err(&["x", "--range", "1..5", "--lines", "f"]).contains("not both"));
        assert!(err(&["x", "--pieces", "3"]).contains("--pieces goes with --range"));
        assert!(err(&["x", "--memory-limit", "12"]).contains("at least 1M"));
    }

    #[test]
    fn range_pieces_cover_it_exactly() {
        let o = parse(&["p", "--range", "-5..6", "--pieces", "4"]).unwrap();
        let spans: Vec<(i64, i64)> = o
            .pieces(1)
            .unwrap()
            .iter()
            .map(|p| {
                let q = Params::decode(&p.params).unwrap();
                (q.start, q.end)
            })
            .collect();
        assert_eq!(spans, [(-5, -2), (-2, 1), (1, 4), (4, 6)]);
        // More pieces than numbers: one number each.
        assert_eq!(parse(&["p", "--range", "0..3", "--pieces", "9"]).unwrap().pieces(1).unwrap().len(), 3);
    }
}
