//! A built-in job (`loopsum`, `pi`, `primes`, ...): plan it, connect, run
//! its pieces, gather the answer and report it.

use crate::submit::cli::Global;
use crate::submit::cluster::connect::connect;
use crate::submit::cluster::engine::PieceList;
use crate::submit::error::SubmitError;
use crate::submit::plans::farm::{FarmOutput, StdinTasks};
use crate::submit::plans::{self, JobSpec};
use crate::submit::report::json::Json;
use crate::submit::report::progress::Bars;
use crate::submit::report::summary::{deliver, report_json, report_ping, report_text, Answer};
use std::time::Instant;

/// Runs the job and returns its report (the farm's goes to stderr).
pub fn run(global: &Global, job: &JobSpec) -> Result<String, SubmitError> {
    let started = Instant::now();
    // Plan first: a bad --input is reported before any worker is bothered.
    let planned = match job {
        JobSpec::Ping | JobSpec::Farm { .. } => None,
        job => Some(plans::build(job, global.hosts.len())?),
    };
    let mut engine = connect(&global.reach(started), Box::new(Bars::new(global.quiet)))?;
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
            engine.run(&mut tasks, &mut output)?;
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
            engine.run(&mut PieceList::new(pieces), plan.as_mut())?;
            plan.finish()?
        }
        (_, None) => return Err(SubmitError::Usage("nothing to run".into())),
    };
    let wall = run_started.elapsed();
    let reports = engine.reports();
    if global.json {
        return Ok(report_json(name, answer, wall, &reports));
    }
    // The farm's stdout is its results, one per line: the summary goes aside.
    Ok(deliver(report_text(name, answer, wall, &reports), name == "farm"))
}
