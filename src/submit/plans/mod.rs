//! How each job is cut into pieces for the workers, and how the pieces'
//! answers are put back together.
//!
//! The cut is canonical: piece sizes depend only on the job, never on the
//! hosts, and every merge is exact (integer counts, `ExactSum`, output in
//! piece order). So the answer is the same bits with 1 host or 40, and
//! after any number of re-run pieces. This module must not touch sockets:
//! `engine` does that.

pub mod cut;
pub mod echo;
pub mod exec;
pub mod farm;
pub mod fingerprint;
pub mod life;
pub mod loopsum;
pub mod pi;
pub mod plan;
pub mod powers;
pub mod primes;
pub mod reduce;
pub mod values;

use crate::jobs;
use crate::submit::cluster::engine::Piece;
use crate::submit::error::SubmitError;
pub use plan::Output;
use plan::Plan;
use std::path::PathBuf;

/// What the user asked for, already checked.
#[derive(Clone, Debug)]
pub enum JobSpec {
    Loopsum(jobs::loopsum::Params),
    Pi {
        samples: u64,
        seed: u64,
    },
    Primes {
        a: u64,
        b: u64,
        output: Option<PathBuf>,
    },
    Powers {
        nums: Vec<f64>,
        exps: Vec<f64>,
    },
    Reduce {
        op: jobs::reduce::Op,
        /// As given by --dtype; None: text, or a .npy file's own.
        dtype: Option<values::Dtype>,
        input: PathBuf,
    },
    Echo {
        bytes: u64,
    },
    Ping,
    /// Tasks from stdin, one per line, run as cores come free.
    Farm {
        ordered: bool,
    },
}

impl JobSpec {
    pub fn name(&self) -> &'static str {
        match self {
            JobSpec::Loopsum(_) => "loopsum",
            JobSpec::Pi { .. } => "pi",
            JobSpec::Primes { .. } => "primes",
            JobSpec::Powers { .. } => "powers",
            JobSpec::Reduce { .. } => "reduce",
            JobSpec::Echo { .. } => "echo",
            JobSpec::Ping => "ping",
            JobSpec::Farm { .. } => "farm",
        }
    }

    /// The file the job writes its output to, if any.
    pub fn output(&self) -> Option<&PathBuf> {
        match self {
            JobSpec::Primes { output, .. } => output.as_ref(),
            _ => None,
        }
    }
}

/// The pieces and the gatherer for `spec`, cut for `hosts` hosts.
pub fn build(spec: &JobSpec, hosts: usize, out: Output<'_>) -> Result<(Vec<Piece>, Box<dyn Plan>), SubmitError> {
    match spec {
        JobSpec::Loopsum(p) => Ok(loopsum::plan(*p, hosts)),
        JobSpec::Pi { samples, seed } => Ok(pi::plan(*samples, *seed, hosts)),
        JobSpec::Primes { a, b, output } => primes::plan(*a, *b, output.clone(), hosts, out),
        JobSpec::Powers { nums, exps } => Ok(powers::plan(nums, exps)),
        JobSpec::Reduce { op, dtype, input } => reduce::plan(*op, *dtype, input),
        JobSpec::Echo { bytes } => Ok(echo::plan(*bytes)),
        JobSpec::Ping | JobSpec::Farm { .. } => {
            Err(SubmitError::Usage(format!("{} is not a job to split", spec.name())))
        }
    }
}
