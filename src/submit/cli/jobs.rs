//! The built-in jobs' options: `pisubmit JOB [OPTIONS]`.

use crate::jobs::{loopsum, reduce};
use crate::submit::cli::args::{next_flag, text, unknown_command, Args, Next};
use crate::submit::cli::values::{count, list, number, unknown, usage};
use crate::submit::error::SubmitError;
use crate::submit::plans::values::{self, Dtype};
use crate::submit::plans::JobSpec;
use std::path::PathBuf;

pub fn parse_job(name: &str, parser: &mut Args) -> Result<JobSpec, SubmitError> {
    Ok(match name {
        "loopsum" => parse_loopsum(parser)?,
        "pi" => parse_pi(parser)?,
        "primes" => parse_primes(parser)?,
        "powers" => parse_powers(parser)?,
        "reduce" => parse_reduce(parser)?,
        "echo" => parse_echo(parser)?,
        "farm" => parse_farm(parser)?,
        "ping" => {
            // Only global options may follow.
            next_flag(parser, "ping")?;
            JobSpec::Ping
        }
        other => return Err(unknown_command(other, None)),
    })
}

fn parse_loopsum(p: &mut Args) -> Result<JobSpec, SubmitError> {
    let mut params = loopsum::Params { t0: 0, t1: 4001, u_len: 4001, c: 1.0 };
    while let Some(flag) = next_flag(p, "loopsum")? {
        match flag {
            "t-range" => {
                let v = text(p, "--t-range")?;
                let (a, b) = v.split_once("..").ok_or_else(|| usage(format!("--t-range: {v:?} is not A..B")))?;
                params.t0 = number(a, "--t-range", "an integer")?;
                params.t1 = number(b, "--t-range", "an integer")?;
            }
            "u-len" => params.u_len = number(&text(p, "--u-len")?, "--u-len", "an integer")?,
            "c" => params.c = number(&text(p, "--c")?, "--c", "a number")?,
            other => return Err(unknown("loopsum", other)),
        }
    }
    params.validate().map_err(|e| usage(e.message))?;
    Ok(JobSpec::Loopsum(params))
}

fn parse_pi(p: &mut Args) -> Result<JobSpec, SubmitError> {
    let (mut samples, mut seed) = (None, 1);
    while let Some(flag) = next_flag(p, "pi")? {
        match flag {
            "samples" => samples = Some(count(&text(p, "--samples")?, "--samples")?),
            "seed" => seed = count(&text(p, "--seed")?, "--seed")?,
            other => return Err(unknown("pi", other)),
        }
    }
    let samples = samples.ok_or_else(|| usage("pi: --samples N is required"))?;
    if samples == 0 {
        return Err(usage("pi: --samples must be at least 1 (zero samples estimate nothing)"));
    }
    Ok(JobSpec::Pi { samples, seed })
}

fn parse_primes(p: &mut Args) -> Result<JobSpec, SubmitError> {
    let (mut a, mut b, mut output) = (None, None, None);
    while let Some(flag) = next_flag(p, "primes")? {
        match flag {
            "from" => a = Some(count(&text(p, "--from")?, "--from")?),
            "to" => b = Some(count(&text(p, "--to")?, "--to")?),
            "output" => output = Some(PathBuf::from(text(p, "--output")?)),
            other => return Err(unknown("primes", other)),
        }
    }
    let a = a.ok_or_else(|| usage("primes: --from A is required"))?;
    let b = b.ok_or_else(|| usage("primes: --to B is required"))?;
    crate::jobs::primes::Params { a, b, list: false }.validate().map_err(|e| usage(e.message))?;
    Ok(JobSpec::Primes { a, b, output })
}

fn parse_powers(p: &mut Args) -> Result<JobSpec, SubmitError> {
    let (mut nums, mut exps) = (None, None);
    while let Some(flag) = next_flag(p, "powers")? {
        match flag {
            "nums" => nums = Some(list(&text(p, "--nums")?, "--nums")?),
            "exps" => exps = Some(list(&text(p, "--exps")?, "--exps")?),
            other => return Err(unknown("powers", other)),
        }
    }
    let nums = nums.filter(|n| !n.is_empty()).ok_or_else(|| usage("powers: --nums X1,X2,... is required"))?;
    let exps = exps.filter(|e| !e.is_empty()).ok_or_else(|| usage("powers: --exps P1,P2,... is required"))?;
    if nums.len() > crate::jobs::powers::MAX_VALUES {
        return Err(usage(format!("powers: at most {} numbers", crate::jobs::powers::MAX_VALUES)));
    }
    Ok(JobSpec::Powers { nums, exps })
}

fn parse_reduce(p: &mut Args) -> Result<JobSpec, SubmitError> {
    let (mut op, mut input, mut dtype) = (None, None, None);
    while let Some(flag) = next_flag(p, "reduce")? {
        match flag {
            "op" => {
                let v = text(p, "--op")?;
                op = Some(
                    reduce::Op::parse(&v).ok_or_else(|| usage(format!("--op: {v:?} is not sum, min, max or count")))?,
                );
            }
            "dtype" => {
                let v = text(p, "--dtype")?;
                let names = values::dtype::CLI_NAMES.join(", ");
                dtype = Some(Dtype::parse(&v).ok_or_else(|| usage(format!("--dtype: {v:?} is not one of {names}")))?);
            }
            "input" => input = Some(PathBuf::from(text(p, "--input")?)),
            other => return Err(unknown("reduce", other)),
        }
    }
    let op = op.ok_or_else(|| usage("reduce: --op sum|min|max|count is required"))?;
    let input = input.ok_or_else(|| usage("reduce: --input FILE is required"))?;
    Ok(JobSpec::Reduce { op, dtype, input })
}

fn parse_farm(p: &mut Args) -> Result<JobSpec, SubmitError> {
    let mut ordered = true;
    let mut kind = None;
    loop {
        match p.next_arg()? {
            Next::Flag("ordered") => ordered = true,
            Next::Flag("unordered") => ordered = false,
            Next::Flag(other) => return Err(unknown("farm", other)),
            Next::Word(word) if kind.is_none() => kind = Some(word),
            Next::Word(word) => return Err(usage(format!("farm: unexpected argument {word:?}"))),
            Next::End => break,
        }
    }
    match kind.as_deref() {
        Some("spin") => Ok(JobSpec::Farm { ordered }),
        Some(other) => Err(usage(format!("farm: unknown task kind {other:?}; the farm runs `spin` tasks"))),
        None => Err(usage("farm: name the task kind (spin)")),
    }
}

fn parse_echo(p: &mut Args) -> Result<JobSpec, SubmitError> {
    let mut bytes = None;
    while let Some(flag) = next_flag(p, "echo")? {
        match flag {
            "bytes" => bytes = Some(count(&text(p, "--bytes")?, "--bytes")?),
            other => return Err(unknown("echo", other)),
        }
    }
    let bytes = bytes.ok_or_else(|| usage("echo: --bytes N is required"))?;
    Ok(JobSpec::Echo { bytes })
}
