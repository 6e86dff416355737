//! primes' gatherer, watched: every call goes to the plan unchanged, and each piece's
//! count and largest prime also reach the page (the open day's "largest prime so far").

use crate::jobs::primes::Summary;
use crate::submit::cluster::engine::{GatherError, Gatherer, Landed, PieceRecord, Replayed};
use crate::submit::error::SubmitError;
use crate::submit::plans::plan::Plan;
use crate::submit::report::summary::Answer;
use crate::submit::report::web::Hub;
use std::sync::Arc;

pub struct PrimesTee {
    plan: Box<dyn Plan>,
    hub: Arc<Hub>,
    so_far: Summary,
}

impl PrimesTee {
    pub fn new(plan: Box<dyn Plan>, hub: Arc<Hub>) -> PrimesTee {
        PrimesTee { plan, hub, so_far: Summary::default() }
    }

    /// A piece's summary: the plan has checked it already (it returned Ok).
    fn add(&mut self, payload: &[u8]) {
        if let Ok(piece) = Summary::decode(payload) {
            self.so_far.merge(piece);
            let (count, max) = (self.so_far.count, self.so_far.max);
            self.hub.update_job(|job| job.primes = Some((count, max)));
        }
    }
}

impl Gatherer for PrimesTee {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.plan.partial(piece, payload)
    }
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.plan.result(piece, payload)?;
        self.add(payload);
        Ok(())
    }
    fn lookahead(&self) -> Option<usize> {
        self.plan.lookahead()
    }
    fn finished(&mut self, piece: usize, record: &PieceRecord<'_>) -> Result<(), GatherError> {
        self.plan.finished(piece, record)
    }
    fn replay(&mut self, piece: usize, logged: &Replayed<'_>) -> Result<(), GatherError> {
        self.plan.replay(piece, logged)?;
        self.add(logged.result);
        Ok(())
    }
    fn landed(&mut self, into: &mut Vec<Landed>) {
        self.plan.landed(into);
    }
    fn writes_output(&self) -> bool {
        self.plan.writes_output()
    }
    fn caught_up(&mut self) -> Result<(), GatherError> {
        self.plan.caught_up()
    }
}

impl Plan for PrimesTee {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        self.plan.finish()
    }
}
