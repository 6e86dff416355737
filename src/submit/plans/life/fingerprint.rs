//! What a life checkpoint and job log record of the command (the
//! fingerprint `--resume` checks): the board's size and edges and where
//! its cells came from. Left out, because the board at a generation does
//! not depend on them: the hosts, --generations (a checkpoint can be run
//! on further), the exchange and checkpoint intervals, and the outputs.

use super::{LifeOpts, Start};
use crate::life::Edges;
use crate::submit::error::SubmitError;
use crate::submit::plans::fingerprint::file_digest;

pub fn of_life(opts: &LifeOpts, width: u32, height: u32, edges: Edges) -> Result<Vec<(String, String)>, SubmitError> {
    let pair = |name: &str, value: String| (name.to_string(), value);
    let mut params = vec![pair("width", width.to_string()), pair("height", height.to_string())];
    params.push(pair("edges", edges.name().to_string()));
    match &opts.start {
        Start::File(path) => {
            params.push(pair("input", path.display().to_string()));
            params.push(pair("input-data", file_digest(path, "--input")?));
        }
        Start::Random { density, seed } => {
            params.push(pair("random", format!("{density:?}")));
            params.push(pair("seed", seed.to_string()));
        }
    }
    Ok(params)
}
