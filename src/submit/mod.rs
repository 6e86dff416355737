//! pisubmit, the head node's client: command line, host list, the cluster
//! connection engine, job planning and gathering, and the report.

pub mod cli;
pub mod engine;
pub mod error;
pub mod farm;
pub mod hosts;
pub mod json;
pub mod link;
pub mod output;
pub mod plan;
pub mod run;

pub use error::SubmitError;
