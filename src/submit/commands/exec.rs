//! `pisubmit exec NAME`: a job program run over pieces on the workers.
//! The programs' output is the command's stdout (unless --output), so the
//! report goes to stderr then.

use crate::submit::cli::Global;
use crate::submit::cluster::connect::connect;
use crate::submit::cluster::engine::PieceList;
use crate::submit::error::SubmitError;
use crate::submit::plans::exec::{ExecOpts, ExecOutput, Mode, StdinLines};
use crate::submit::report::json::Json;
use crate::submit::report::progress::Bars;
use crate::submit::report::summary::{deliver, report_json, report_text, Answer};

/// Runs `pisubmit exec`. The programs' output is the command's stdout
/// (unless --output), so the report goes to stderr then.
pub fn run(global: &Global, opts: &ExecOpts) -> Result<String, SubmitError> {
    let started = std::time::Instant::now();
    let json = global.json;
    if json && opts.output.is_none() {
        return Err(SubmitError::Usage(
            "exec: --json needs --output FILE (stdout carries the programs' output)".into(),
        ));
    }
    if let Some(dir) = opts.output.as_ref().and_then(|p| p.parent()).filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(SubmitError::Usage(format!("--output: no directory {}", dir.display())));
        }
    }
    if let Mode::Lines { file, .. } = &opts.mode {
        std::fs::metadata(file).map_err(|e| SubmitError::Usage(format!("--lines {}: {e}", file.display())))?;
    }
    let mut engine = connect(&global.reach(started), Box::new(Bars::new(global.quiet)))?;
    let run_started = std::time::Instant::now();
    let pieces = match opts.mode {
        Mode::Farm => None,
        _ => Some(opts.pieces(engine.total_threads())?),
    };
    let count = pieces.as_ref().map(Vec::len);
    let mut gather = ExecOutput::new(opts.ordered, opts.output.as_ref(), count)
        .map_err(|e| SubmitError::Usage(format!("--output: {e}")))?;
    match pieces {
        None => engine.run(&mut StdinLines::new(opts.clone()), &mut gather)?,
        Some(pieces) => engine.run(&mut PieceList::new(pieces), &mut gather)?,
    }
    let (pieces, bytes) = (gather.pieces, gather.bytes);
    gather.finish()?;
    let wall = run_started.elapsed();
    let answer = Answer {
        result: Json::Int(pieces as i128),
        extra: vec![("output_bytes", Json::Int(i128::from(bytes)))],
        text: format!("{pieces} pieces of {}, {bytes} bytes of output", opts.name),
    };
    let name = format!("exec {}", opts.name);
    let reports = engine.reports();
    if json {
        return Ok(report_json(&name, answer, wall, &reports));
    }
    let report = report_text(&name, answer, wall, &reports);
    Ok(match &opts.output {
        Some(path) => format!("{report}  output in {}\n", path.display()),
        None => deliver(report, true),
    })
}
