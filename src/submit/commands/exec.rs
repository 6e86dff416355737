//! `pisubmit exec NAME`: a job program run over pieces on the workers.
//! The programs' output is the command's stdout (unless --output), so the
//! report goes to stderr then. With --joblog, each piece is logged once
//! its output is out, and --resume goes on from the log.

use crate::submit::cli::Global;
use crate::submit::cluster::connect::connect;
use crate::submit::cluster::engine::{PieceList, PieceSource};
use crate::submit::commands::serve::{with_page, JobPage};
use crate::submit::error::SubmitError;
use crate::submit::plans::exec::{of_exec, ExecOpts, ExecOutput, Mode, StdinLines};
use crate::submit::plans::fingerprint::Params;
use crate::submit::plans::Output;
use crate::submit::report::joblog::{self, Header, Session};
use crate::submit::report::json::Json;
use crate::submit::report::output::file_to_resume;
use crate::submit::report::progress::Bars;
use crate::submit::report::summary::{deliver, report_json, report_text, Answer};

/// Runs `pisubmit exec`. The programs' output is the command's stdout
/// (unless --output), so the report goes to stderr then.
pub fn run(global: &Global, opts: &ExecOpts) -> Result<String, SubmitError> {
    with_page(global, || format!("exec {}", opts.name), |page| run_exec(global, opts, page))
}

fn run_exec(global: &Global, opts: &ExecOpts, page: Option<&JobPage>) -> Result<String, SubmitError> {
    let started = std::time::Instant::now();
    let json = global.json;
    check(global, opts)?;
    // The log's fingerprint reads a --lines file: a bad one, or a log of
    // another command, stops the job before any worker is bothered.
    let mut fingerprint = global.joblog.as_ref().map(|_| of_exec(opts)).transpose()?;
    let lines = match opts.mode {
        Mode::Lines { .. } => Some(opts.pieces_in(0)?),
        _ => None,
    };
    // A range cut by the cluster's threads is logged once they are known.
    let cut_before = match opts.mode {
        Mode::Range { pieces, .. } => pieces,
        Mode::Lines { .. } => lines.as_ref().map(|l| l.len() as u64),
        Mode::Farm => Some(0),
    };
    let mut session = match cut_before {
        Some(cut) => open_joblog(global, fingerprint.take(), cut)?,
        None => None,
    };
    let mut engine = connect(&global.reach(started), JobPage::watch(page, Box::new(Bars::new(global.quiet))))?;
    let threads = engine.total_threads();
    if let (None, Some(parts)) = (cut_before, opts.range_parts(threads)) {
        session = open_joblog(global, fingerprint.take(), parts)?;
    }
    let run_started = std::time::Instant::now();
    let pieces = match (lines, opts.range_parts(threads)) {
        (Some(lines), _) => Some(lines),
        // A resumed log's cut, so that the pieces are the logged ones.
        (None, Some(parts)) => Some(opts.pieces_in(session.as_ref().map_or(parts, Session::cut))?),
        (None, None) => None,
    };
    let count = pieces.as_ref().map(Vec::len);
    let resumed = match (session.as_mut(), &opts.output) {
        (Some(s), Some(path)) => Some(joblog::verify_output(s, &file_to_resume(path))?),
        (Some(s), None) if !s.done.is_empty() => {
            eprintln!(
                "pisubmit: --resume: the {} pieces logged as done are not printed again (their output went to \
                 the logged run's stdout)",
                s.done.len()
            );
            None
        }
        _ => None,
    };
    let how = match &session {
        None => Output::Plain,
        Some(_) => Output::Logged(resumed.as_ref()),
    };
    let mut gather = ExecOutput::new(opts.ordered, opts.output.as_ref(), count, how)
        .map_err(|e| SubmitError::Usage(format!("--output: {e}")))?;
    let mut source: Box<dyn PieceSource> = match pieces {
        None => Box::new(StdinLines::new(opts.clone())),
        Some(pieces) => Box::new(PieceList::new(pieces)),
    };
    joblog::run(&mut engine, session.as_mut(), source.as_mut(), &mut JobPage::gather(page, &mut gather, false))?;
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
    if let Some(page) = page {
        page.reports(&reports);
    }
    if json {
        return Ok(report_json(&name, answer, wall, &reports));
    }
    let report = report_text(&name, answer, wall, &reports);
    Ok(match &opts.output {
        Some(path) => format!("{report}  output in {}\n", path.display()),
        None => deliver(report, true),
    })
}

/// The mistakes found before connecting.
fn check(global: &Global, opts: &ExecOpts) -> Result<(), SubmitError> {
    if global.json && opts.output.is_none() && !crate::submit::report::stdio::redirected() {
        return Err(SubmitError::Usage(
            "exec: --json needs --output FILE (stdout carries the programs' output)".into(),
        ));
    }
    if let Some(dir) = opts.output.as_ref().and_then(|p| p.parent()).filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(SubmitError::Usage(format!("--output: no directory {}", dir.display())));
        }
    }
    if let (Some(_), Some(path)) = (&global.joblog, &opts.output) {
        // A device or a pipe cannot be cut back to where a resumed run goes on.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Err(SubmitError::Usage(format!(
                "--output {}: not a regular file, so --joblog could not resume it",
                path.display()
            )));
        }
    }
    if let Mode::Lines { file, .. } = &opts.mode {
        std::fs::metadata(file).map_err(|e| SubmitError::Usage(format!("--lines {}: {e}", file.display())))?;
    }
    Ok(())
}

/// The job log of --joblog, new or resumed, for the pieces cut `cut` ways
/// (a range's piece count; a resumed log keeps its own).
fn open_joblog(global: &Global, fingerprint: Option<Params>, cut: u64) -> Result<Option<Session>, SubmitError> {
    let (Some(opts), Some(fingerprint)) = (&global.joblog, fingerprint) else { return Ok(None) };
    let header = Header::new("exec", fingerprint, cut);
    Ok(Some(joblog::open(&opts.path, opts.resume, header)?))
}
