//! `pisubmit bench --predict`: "how long will N of my Pis take for this
//! job, and is one more worth it?" Measures what the model needs with
//! pisubmit itself (a sample of the job on one core, a stream of zeros for
//! the head link, the status round trip, the cores of the first host), takes what
//! the user says instead where given, and prints the model's forecast for
//! every host count up to the cluster's (or `--hosts-count`).
//!
//! `model` is the formula, `sample` cuts the job down, `measure` runs it,
//! `seen` finds the cluster, `inputs` holds what the forecast rests on,
//! `render` prints the table and the JSON. Life, job programs and farms,
//! which bench cannot cut down as a `JobSpec`, have a file each (`life`
//! with `life_model`, `exec`, `farm`).

mod exec;
mod farm;
mod inputs;
mod life;
mod life_model;
mod measure;
pub mod model;
mod render;
mod sample;
mod seen;

use crate::submit::cli::predict::PredictOpts;
use crate::submit::cli::Global;
use crate::submit::error::SubmitError;
use crate::submit::plans::JobSpec;
use inputs::Inputs;
use model::{predict, JobCost, Prediction};
use seen::{see, Scratch};

pub fn run(global: &Global, job: &JobSpec, told: &PredictOpts) -> Result<String, SubmitError> {
    if let JobSpec::Farm { .. } = job {
        return farm::run(global, told);
    }
    let scratch = Scratch::new()?;
    let seen = see(global, told, &scratch)?;
    let first = seen.first();
    eprintln!("pisubmit: bench --predict: timing a sample of the job on one core of {}", first.spec);
    let sample = measure::sample_job(global, &first.spec, first.threads, job, (seen.rtt, seen.link), &scratch.0)?;
    let (cluster, rtt_source, max_hosts) = seen.cluster(told, first.threads);
    let cores_per_host = cluster.cores_per_host;
    let core_speed = told.core_speed.unwrap_or(1.0);
    // A host measured here counts as the cores' worth its threads gave the
    // sample; cores or speeds given by hand describe another cluster.
    let measured_host = told.cores_per_host.is_none() && told.core_speed.is_none();
    let scaling = if measured_host { sample.cores_worth / cores_per_host as f64 } else { 1.0 };
    if measured_host && scaling < 0.95 {
        eprintln!(
            "pisubmit: bench --predict: {} threads of {} ran the sample {:.2} times faster than one: counted as {:.2} cores",
            cores_per_host, first.spec, sample.cores_worth, sample.cores_worth
        );
    }
    let cost = JobCost { core_seconds: sample.cost.core_seconds / core_speed / scaling, ..sample.cost };
    let pieces = measure::piece_counts(job, max_hosts, &scratch.0)?;
    let predictions: Vec<Prediction> =
        pieces.iter().enumerate().map(|(i, &p)| predict(&cost, &cluster, i + 1, p)).collect();
    let inputs = Inputs { sample, core_speed, cluster, link_source: seen.link_source, rtt_source, max_hosts };
    Ok(if global.json {
        render::json(job, &inputs, &cost, &predictions).render() + "\n"
    } else {
        render::text(job, &inputs, &cost, &predictions)
    })
}

pub use exec::run as run_exec;
pub use life::run as run_life;
