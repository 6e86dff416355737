//! What pisubmit prints: JSON, the text report of a run, the status grid,
//! the speed-up chart, the progress bar, and the writers that put results
//! in order.

pub mod chart;
pub mod grid;
pub mod host_facts;
pub mod joblog;
pub mod json;
pub mod npy;
pub mod output;
pub mod prime_text;
pub mod progress;
pub mod stdio;
pub mod summary;
pub mod web;
