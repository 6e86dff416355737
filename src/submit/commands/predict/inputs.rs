//! What a forecast rests on, kept for its report: the sample, the
//! cluster, and whether each figure was measured or given.

use super::measure::Sample;
use super::model::Cluster;

/// Where a figure came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Measured,
    Given,
}

pub struct Inputs {
    pub sample: Sample,
    /// A predicted core's speed over the sampled one's.
    pub core_speed: f64,
    pub cluster: Cluster,
    pub link_source: Source,
    pub rtt_source: Source,
    pub max_hosts: usize,
}
