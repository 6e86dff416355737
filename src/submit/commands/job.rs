//! A built-in job (`loopsum`, `pi`, `primes`, ...): plan it, connect, run
//! its pieces, gather the answer and report it.

use crate::submit::cli::Global;
use crate::submit::cluster::connect::connect;
use crate::submit::cluster::engine::{Piece, PieceList};
use crate::submit::commands::serve::{with_page, JobPage};
use crate::submit::error::SubmitError;
use crate::submit::plans::farm::{FarmOutput, StdinTasks};
use crate::submit::plans::plan::Plan;
use crate::submit::plans::{self, fingerprint, JobSpec, Output};
use crate::submit::report::joblog::{self, Header, Session};
use crate::submit::report::json::Json;
use crate::submit::report::npy;
use crate::submit::report::output::file_to_resume;
use crate::submit::report::progress::Bars;
use crate::submit::report::summary::{deliver, report_json, report_ping, report_text, Answer};
use std::time::Instant;

/// Runs the job and returns its report (the farm's goes to stderr); with --serve, the
/// page shows it as it runs.
pub fn run(global: &Global, job: &JobSpec) -> Result<String, SubmitError> {
    let command = || match job {
        JobSpec::Primes { a, b, .. } => format!("primes {a}..={b}"),
        job => job.name().to_string(),
    };
    with_page(global, command, |page| run_job(global, job, page))
}

fn run_job(global: &Global, job: &JobSpec, page: Option<&JobPage>) -> Result<String, SubmitError> {
    let started = Instant::now();
    // The log first: a full disk, or a log of another command, stops the
    // job before any worker is bothered.
    let mut session = open_joblog(global, job)?;
    let cut = session.as_ref().map_or(global.hosts.len(), |s| s.cut() as usize);
    let resumed = match (session.as_mut(), job.output()) {
        (Some(s), Some(path)) => Some(joblog::verify_output_after(s, &file_to_resume(path), npy::prefix_len(path))?),
        _ => None,
    };
    let output = match &session {
        None => Output::Plain,
        Some(_) => Output::Logged(resumed.as_ref()),
    };
    // Plan next: a bad --input is reported before any worker is bothered.
    let planned = match job {
        JobSpec::Ping | JobSpec::Farm { .. } => None,
        job => Some(plans::build(job, cut, output)?),
    };
    let mut engine = connect(&global.reach(started), JobPage::watch(page, Box::new(Bars::new(global.quiet))))?;
    let name = job.name();
    let run_started = Instant::now();
    let answer = match (job, planned) {
        (JobSpec::Ping, _) => {
            let rtts = engine.ping(5)?;
            return Ok(report_ping(&engine.reports(), &rtts, global.json));
        }
        (JobSpec::Farm { ordered }, _) => {
            let mut tasks = StdinTasks::new();
            let mut output = FarmOutput::new(*ordered, global.json);
            if let Some(s) = session.as_ref() {
                output = output.logged();
                if !s.done.is_empty() && !global.json {
                    eprintln!("pisubmit: --resume: the {} tasks logged as done are not printed again", s.done.len());
                }
            }
            joblog::run(&mut engine, session.as_mut(), &mut tasks, &mut JobPage::gather(page, &mut output, false))?;
            if !tasks.invalid.is_empty() {
                return Err(SubmitError::Job(format!(
                    "{} tasks ran; {} stdin lines were not tasks (first: {})",
                    output.count,
                    tasks.invalid.len(),
                    tasks.invalid[0]
                )));
            }
            Answer {
                result: Json::Int(output.count as i128),
                extra: vec![("results", output.json_results())],
                text: format!("{} tasks done", output.count),
            }
        }
        (_, Some((pieces, mut plan))) => {
            let primes = matches!(job, JobSpec::Primes { .. });
            let mut gather = JobPage::gather(page, plan.as_mut(), primes);
            joblog::run(&mut engine, session.as_mut(), &mut PieceList::new(pieces), &mut gather)?;
            plan.finish()?
        }
        (_, None) => return Err(SubmitError::Usage("nothing to run".into())),
    };
    let wall = run_started.elapsed();
    let logged = session.as_ref().map_or(0, |s| s.done.len());
    let mut answer = answer;
    if logged > 0 {
        answer.text.push_str(&format!("; {logged} pieces were done in the logged run"));
        answer.extra.push(("logged_pieces", Json::Int(logged as i128)));
    }
    let reports = engine.reports();
    if let Some(page) = page {
        page.reports(&reports);
    }
    if global.json {
        return Ok(report_json(name, answer, wall, &reports));
    }
    // The farm's stdout is its results, one per line: the summary goes aside.
    Ok(deliver(report_text(name, answer, wall, &reports), name == "farm"))
}

/// Runs pieces and a plan a library caller made (the Python package's
/// reduce of an array in memory) as `run` runs a planned job, and returns
/// its report. No job log: memory is gone when the caller is, so there is
/// nothing to resume from.
pub fn run_planned(
    global: &Global,
    name: &str,
    pieces: Vec<Piece>,
    mut plan: Box<dyn Plan>,
) -> Result<String, SubmitError> {
    if global.joblog.is_some() {
        return Err(SubmitError::Usage(format!("{name}: --joblog needs input from a file, not from memory")));
    }
    let started = Instant::now();
    let mut engine = connect(&global.reach(started), Box::new(Bars::new(global.quiet)))?;
    let run_started = Instant::now();
    joblog::run(&mut engine, None, &mut PieceList::new(pieces), plan.as_mut())?;
    let answer = plan.finish()?;
    let wall = run_started.elapsed();
    let reports = engine.reports();
    if global.json {
        return Ok(report_json(name, answer, wall, &reports));
    }
    Ok(report_text(name, answer, wall, &reports))
}

/// The job log of --joblog, new or resumed; ping runs no pieces to log.
fn open_joblog(global: &Global, job: &JobSpec) -> Result<Option<Session>, SubmitError> {
    let Some(opts) = &global.joblog else { return Ok(None) };
    if let JobSpec::Ping = job {
        return Err(SubmitError::Usage("ping runs no pieces: --joblog is for jobs".into()));
    }
    let header = Header::new(job.name(), fingerprint::of_job(job)?, global.hosts.len() as u64);
    Ok(Some(joblog::open(&opts.path, opts.resume, header)?))
}
