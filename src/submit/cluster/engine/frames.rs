//! The frames a worker sends while the engine runs: its welcome, a piece's partials,
//! result or error, read in place from the link's receive buffer.

use super::api::{Gatherer, PieceRecord};
use super::gather_error::GatherError;
use super::packed;
use super::run_state::RunState;
use super::Engine;
use crate::net::Io;
use crate::protocol::{ErrorCode, ErrorMessage, FrameRef, FrameType};
use crate::submit::cluster::link::{closed, Event, State};
use crate::submit::error::SubmitError;
use std::time::Instant;

impl Engine {
    /// A readiness event on link `i`: what `Link::on_event` does, but each
    /// frame is handled where it arrived, in the link's receive buffer, so
    /// that a steady stream of frames is neither copied nor allocated (a
    /// partial is copied once, into the store its piece keeps).
    pub(super) fn on_link_event(
        &mut self,
        i: usize,
        mut run: Option<&mut RunState>,
        gather: &mut dyn Gatherer,
    ) -> Result<(), SubmitError> {
        let now = Instant::now();
        if let Err(event) = self.links[i].start_event(now) {
            return self.on_link_lost(i, event, run);
        }
        loop {
            let io = match self.links[i].receive() {
                Ok(io) => io,
                Err(event) => return self.on_link_lost(i, event, run),
            };
            let Some(mut taken) = self.links[i].take_input() else { return Ok(()) };
            loop {
                // An error return drops the taken input with the run.
                match taken.input.next_frame() {
                    Ok(Some(frame)) => {
                        self.links[i].heard(now);
                        self.on_frame(i, frame, run.as_deref_mut(), gather)?;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let event = self.links[i].bad_frame(&e);
                        self.links[i].restore_input(taken);
                        return self.on_link_lost(i, event, run);
                    }
                }
            }
            self.links[i].restore_input(taken);
            match io {
                Io::Progress(_) => continue,
                Io::WouldBlock => return Ok(()),
                Io::Closed => return self.on_link_lost(i, closed(), run),
            }
        }
    }

    /// Link `i` failed (`Event::Lost`) or is not a worker of ours
    /// (`Event::NotAWorker`).
    fn on_link_lost(&mut self, i: usize, event: Event, run: Option<&mut RunState>) -> Result<(), SubmitError> {
        let now = Instant::now();
        match (event, run) {
            (Event::NotAWorker(reason), _) => {
                self.links[i].refuse(self.poll.registry(), reason, now);
            }
            (Event::Lost(reason), Some(run)) => self.lose(i, reason, run)?,
            (Event::Lost(reason), None) => {
                self.links[i].fail(self.poll.registry(), reason, now);
            }
            (Event::Frame(_), _) => {}
        }
        Ok(())
    }

    /// A frame from link `i`, read in place.
    fn on_frame(
        &mut self,
        i: usize,
        frame: FrameRef<'_>,
        run: Option<&mut RunState>,
        gather: &mut dyn Gatherer,
    ) -> Result<(), SubmitError> {
        let now = Instant::now();
        if let State::Connecting(_) = self.links[i].state {
            if let Err(why) = self.links[i].on_welcome(frame, now) {
                log::warn!("worker {} {why}", self.links[i].spec);
                self.links[i].refuse(self.poll.registry(), why.to_string(), now);
            }
            return Ok(());
        }
        let Some(run) = run else { return Ok(()) };
        let job_id = frame.header.job_id;
        match frame.header.frame_type {
            FrameType::Partial => {
                let round_trip = self.links[i].handshake_rtt;
                if let Some(f) = self.links[i].flights.get_mut(&job_id) {
                    f.partials.push(frame.payload);
                    if run.pieces[f.piece].piece.kind.returns_input() {
                        self.windows[i].returned(frame.payload.len() as u64, now, round_trip);
                    }
                }
            }
            FrameType::Result => self.on_result(i, job_id, frame.payload, run, gather, now)?,
            FrameType::Error => self.on_error(i, job_id, frame.payload, run, now)?,
            _ => {}
        }
        Ok(())
    }

    /// A piece's Result: its partials, then the result, go to `gather`.
    fn on_result(
        &mut self,
        i: usize,
        job_id: u32,
        payload: &[u8],
        run: &mut RunState,
        gather: &mut dyn Gatherer,
        now: Instant,
    ) -> Result<(), SubmitError> {
        let Some(flight) = self.links[i].end_flight(job_id, now) else { return Ok(()) };
        let index = flight.piece;
        let slot = &mut run.pieces[index];
        slot.running_on.retain(|&l| l != i);
        if slot.done {
            self.links[i].recycle_partials(flight.partials);
            return Ok(()); // a late duplicate of a re-run piece
        }
        let unpacked = match flight.packed {
            true => match packed::unpack(&flight.partials, self.links[i].max_frame()) {
                Ok(stdout) => Some(stdout),
                // Like a failed program: the piece runs again elsewhere.
                Err(why) => {
                    let host = self.links[i].spec.to_string();
                    let label = &run.pieces[index].piece.label;
                    run.progress.notice(format!("pisubmit: worker {host}: {label}: {why}"));
                    self.links[i].recycle_partials(flight.partials);
                    self.links[i].failures += 1;
                    return run.piece_failed(index, i, &host, &why, self.opts.retries);
                }
            },
            false => None,
        };
        let slot = &mut run.pieces[index];
        // The message is only built if the gatherer refuses the piece.
        let (host, label) = (&self.links[i].address, &slot.piece.label);
        // A result that cannot be kept (a full disk) is not the worker's fault.
        let fail = |e: GatherError| match e {
            GatherError::CannotKeep(_) => SubmitError::Job(format!("{label}: {e}")),
            GatherError::BadAnswer(_) => SubmitError::Job(format!("worker {host}: {label}: {e}")),
        };
        match &unpacked {
            Some(stdout) => gather.partial(index, stdout).map_err(fail)?,
            None => {
                for p in flight.partials.iter() {
                    gather.partial(index, p).map_err(fail)?;
                }
            }
        }
        gather.result(index, payload).map_err(fail)?;
        let record = PieceRecord {
            label,
            host,
            started: flight.sent_at,
            runtime: now - flight.sent,
            bytes_in: flight.bytes_in,
            bytes_out: (flight.partials.len() + payload.len()) as u64,
            failed_on: &slot.failed_on,
            gave_up: None,
        };
        gather.finished(index, &record).map_err(fail)?;
        self.links[i].recycle_partials(flight.partials);
        self.links[i].pieces_done += 1;
        run.finish(index, now - flight.sent);
        Ok(())
    }

    /// A worker's Error frame: for the connection (job 0), or for a piece.
    fn on_error(
        &mut self,
        i: usize,
        job_id: u32,
        payload: &[u8],
        run: &mut RunState,
        now: Instant,
    ) -> Result<(), SubmitError> {
        let msg =
            ErrorMessage::decode(payload).unwrap_or_else(|e| ErrorMessage::new(ErrorCode::BadFrame, e.to_string()));
        if job_id == 0 {
            return self.lose(i, format!("reported: {}", msg.message), run);
        }
        let Some(flight) = self.links[i].end_flight(job_id, now) else { return Ok(()) };
        let index = flight.piece;
        run.pieces[index].running_on.retain(|&l| l != i);
        let host = self.links[i].spec.to_string();
        match msg.code {
            // The worker is going away, not the piece's fault: re-run it.
            // Not the piece's fault: send no more to that worker (it
            // is draining) and run the piece elsewhere, or there
            // once the worker is back.
            ErrorCode::ShuttingDown => {
                self.links[i].draining = true;
                let label = &run.pieces[index].piece.label;
                run.progress.notice(format!(
                    "pisubmit: worker {host} is shutting down (a restart or an upgrade?): {label} handed back, \
                     runs elsewhere"
                ));
                run.requeue(index, i);
            }
            ErrorCode::Cancelled | ErrorCode::UnknownJob => {}
            // A job program that failed may have met a bad host (a
            // missing tool, a full disk): run it elsewhere, up to
            // --retries workers.
            ErrorCode::JobFailed if run.pieces[index].piece.kind.may_fail_by_host() => {
                let why = msg.message;
                run.progress.notice(format!("pisubmit: worker {host}: {}: {why}", run.pieces[index].piece.label));
                self.links[i].failures += 1;
                run.piece_failed(index, i, &host, &why, self.opts.retries)?;
            }
            // Bad data or parameters fail the same way everywhere.
            _ => {
                run.gave_up = Some((index, host.clone(), msg.message.clone()));
                let label = &run.pieces[index].piece.label;
                return Err(SubmitError::Job(format!("worker {host}: {label}: {}", msg.message)));
            }
        }
        Ok(())
    }
}
