//! What every job kind's head half shares: the `Plan` it hands the engine,
//! how a piece is made, and how its results are read.

use crate::jobs::JobKind;
use crate::submit::cluster::engine::{Cores, GatherError, Gatherer, Piece};
use crate::submit::error::SubmitError;
use crate::submit::report::joblog::OutputResume;
use crate::submit::report::json::Json;
use crate::submit::report::summary::Answer;

/// A gatherer that can also say what the whole job's answer is.
pub trait Plan: Gatherer {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError>;
}

pub fn piece(kind: JobKind, params: Vec<u8>, label: String) -> Piece {
    Piece { kind, params, input: None, cores: Cores::All, label }
}

/// An f64 that holds an integer prints as one in JSON.
pub fn number(v: f64) -> Json {
    if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        Json::Int(v as i128)
    } else {
        Json::Float(v)
    }
}

pub fn bad_result(e: impl std::fmt::Display) -> GatherError {
    GatherError::BadAnswer(format!("unreadable result: {e}"))
}

/// How a job's output file is written.
pub enum Output<'a> {
    /// As before: no job log.
    Plain,
    /// For a job log: where each piece lands is reported; `Some` goes on
    /// from a resumed log.
    Logged(Option<&'a OutputResume>),
}
