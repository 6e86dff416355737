//! A job's gatherer, watched for the page: every call goes to the job's own gatherer
//! unchanged; each finished piece also counts for its worker (pieces, and the attempts
//! that failed on others), and for primes each piece's count and largest prime join the
//! running total (the open day's "largest prime so far"). Without a page it only passes
//! calls on.

use super::hub::{Hub, JobHostView};
use crate::jobs::primes::Summary;
use crate::submit::cluster::engine::{GatherError, Gatherer, Landed, PieceRecord, Replayed};
use std::sync::Arc;

pub struct PageGather<'a> {
    inner: &'a mut dyn Gatherer,
    hub: Option<Arc<Hub>>,
    /// Some for primes: the count and largest so far.
    primes: Option<Summary>,
    hosts: Vec<JobHostView>,
}

impl<'a> PageGather<'a> {
    /// `primes`: the results are primes summaries, to be totalled on the page.
    pub fn new(inner: &'a mut dyn Gatherer, hub: Option<Arc<Hub>>, primes: bool) -> PageGather<'a> {
        let primes = (primes && hub.is_some()).then(Summary::default);
        PageGather { inner, hub, primes, hosts: Vec::new() }
    }

    fn add_primes(&mut self, payload: &[u8]) {
        let (Some(hub), Some(so_far)) = (&self.hub, self.primes.as_mut()) else { return };
        // The job's gatherer has checked it already (it returned Ok).
        if let Ok(piece) = Summary::decode(payload) {
            so_far.merge(piece);
            let (count, max) = (so_far.count, so_far.max);
            hub.update_job(|job| job.primes = Some((count, max)));
        }
    }

    fn host(&mut self, address: &str) -> &mut JobHostView {
        let at = match self.hosts.iter().position(|h| h.address == address) {
            Some(at) => at,
            None => {
                self.hosts.push(JobHostView {
                    address: address.to_string(),
                    state: "ready".into(),
                    ..Default::default()
                });
                self.hosts.len() - 1
            }
        };
        &mut self.hosts[at]
    }
}

impl Gatherer for PageGather<'_> {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.inner.partial(piece, payload)
    }
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.inner.result(piece, payload)?;
        self.add_primes(payload);
        Ok(())
    }
    fn lookahead(&self) -> Option<usize> {
        self.inner.lookahead()
    }
    fn finished(&mut self, piece: usize, record: &PieceRecord<'_>) -> Result<(), GatherError> {
        self.inner.finished(piece, record)?;
        let Some(hub) = self.hub.clone() else { return Ok(()) };
        for (host, _) in record.failed_on {
            self.host(host).failures += 1;
        }
        if record.gave_up.is_none() {
            self.host(record.host).pieces += 1;
        }
        let hosts = self.hosts.clone();
        hub.update_job(|job| job.hosts = hosts);
        Ok(())
    }
    fn replay(&mut self, piece: usize, logged: &Replayed<'_>) -> Result<(), GatherError> {
        self.inner.replay(piece, logged)?;
        self.add_primes(logged.result);
        Ok(())
    }
    fn landed(&mut self, into: &mut Vec<Landed>) {
        self.inner.landed(into);
    }
    fn writes_output(&self) -> bool {
        self.inner.writes_output()
    }
    fn caught_up(&mut self) -> Result<(), GatherError> {
        self.inner.caught_up()
    }
}
