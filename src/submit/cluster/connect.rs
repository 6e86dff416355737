//! The one way a command reaches the workers: which hosts, with which
//! key, how patiently; `connect` returns an engine with at least one
//! worker ready.

use crate::protocol::auth::load_key;
use crate::submit::cluster::engine::{Engine, Options, PieceTimeout, Watch};
use crate::submit::cluster::hosts::{HostSpec, HostsFile};
use crate::submit::error::SubmitError;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Everything needed to reach the workers and keep a job going on them.
#[derive(Clone, Debug)]
pub struct Reach {
    pub hosts: Vec<HostSpec>,
    /// Set when the hosts came from `@FILE`: it is re-read while jobs run,
    /// so hosts added there join and hosts removed drain.
    pub hosts_file: Option<PathBuf>,
    /// The cluster key's file, when the workers require one.
    pub key_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub heartbeat_timeout: Duration,
    pub retries: usize,
    pub piece_timeout: Option<PieceTimeout>,
    /// When the whole job must have finished.
    pub deadline: Option<Instant>,
}

impl Reach {
    /// The cluster key, read from `key_file`, if any.
    pub fn key(&self) -> Result<Option<Arc<Vec<u8>>>, SubmitError> {
        match &self.key_file {
            Some(path) => Ok(Some(Arc::new(load_key(path).map_err(SubmitError::Usage)?))),
            None => Ok(None),
        }
    }

    /// The engine's options.
    pub fn options(&self) -> Result<Options, SubmitError> {
        Ok(Options {
            connect_timeout: self.connect_timeout,
            heartbeat_timeout: self.heartbeat_timeout,
            retries: self.retries,
            piece_timeout: self.piece_timeout,
            deadline: self.deadline,
            key: self.key()?,
        })
    }
}

/// Connects to every host and returns once one is ready (or fails when
/// none is by `connect_timeout`); `watch` hears how each run goes.
pub fn connect(reach: &Reach, watch: Box<dyn Watch>) -> Result<Engine, SubmitError> {
    let hosts_file = match &reach.hosts_file {
        Some(path) => Some(HostsFile::open(path)?.0),
        None => None,
    };
    let mut engine = Engine::connect(reach.hosts.clone(), hosts_file, reach.options()?)?;
    engine.set_watch(watch);
    Ok(engine)
}
