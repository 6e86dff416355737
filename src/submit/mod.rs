//! pisubmit, the head node's client: command line, host list, the cluster
//! connection engine, job planning and gathering, and the report.

pub mod bench;
pub mod chart;
pub mod cli;
pub mod discover;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod exec;
pub mod farm;
pub mod grid;
pub mod hosts;
pub mod jobs_cmd;
pub mod json;
pub mod life;
pub mod link;
pub mod output;
pub mod plan;
pub mod run;
pub mod session;
pub mod status_cmd;
pub mod survey;
pub mod tools_cli;

pub use error::SubmitError;
