//! `--serve`: the web page, for `status` and for long jobs (primes, exec, farm, life).
//!
//! For a job, `JobPage` starts the server and a survey thread over the job's hosts, shows
//! the job in the hub, hands the engine a `Watch` that feeds the page beside the bar, and
//! at the end shows the answer (or the failure) and the per-worker pieces.

use crate::submit::cli::Global;
use crate::submit::cluster::engine::{Gatherer, HostReport, Watch};
use crate::submit::cluster::survey::survey;
use crate::submit::error::SubmitError;
use crate::submit::report::web::{serve, Hub, JobHostView, JobView, PageGather, WebServer, WebWatch};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often a job's page surveys its hosts.
const JOB_SURVEY_EVERY: Duration = Duration::from_secs(2);

/// Starts the page's server on `addr` and says where on stderr (the tests and a person
/// read the port from that line when they asked for port 0).
pub fn web_page(addr: SocketAddr, hub: &Arc<Hub>) -> Result<WebServer, SubmitError> {
    let server = serve(addr, Arc::clone(hub))?;
    let open = if server.addr().ip().is_loopback() { " (this machine only)" } else { "" };
    eprintln!("pisubmit: serving the status page on http://{}/{open}", server.addr());
    Ok(server)
}

/// Runs `job`, with the page for `command` when --serve was given (the parser allows it
/// only on long jobs), and shows on it how the job ended.
pub fn with_page(
    global: &Global,
    command: impl FnOnce() -> String,
    job: impl FnOnce(Option<&JobPage>) -> Result<String, SubmitError>,
) -> Result<String, SubmitError> {
    let page = if global.serve.is_some() { JobPage::start(global, &command())? } else { None };
    let outcome = job(page.as_ref());
    if let Some(page) = page {
        page.finish(&outcome);
    }
    outcome
}

/// A job's page while it runs.
pub struct JobPage {
    pub hub: Arc<Hub>,
    server: WebServer,
    stop: Arc<AtomicBool>,
    surveyor: Option<JoinHandle<()>>,
}

impl JobPage {
    /// The page for `command` when --serve was given.
    pub fn start(global: &Global, command: &str) -> Result<Option<JobPage>, SubmitError> {
        let Some(addr) = global.serve else { return Ok(None) };
        let key = global.reach(Instant::now()).key()?;
        let hub = Hub::new();
        let started_unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        hub.set_job(Some(JobView { command: command.to_string(), started_unix_ms, ..JobView::default() }));
        let server = web_page(addr, &hub)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (hosts, wait) = (global.hosts.clone(), global.connect_timeout.min(Duration::from_secs(2)));
        let (feed, stopping) = (Arc::clone(&hub), Arc::clone(&stop));
        // Its own thread and connections: the job's engine never waits for a survey.
        let surveyor = std::thread::Builder::new()
            .name("web-survey".into())
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match survey(&hosts, key.clone(), wait) {
                        Ok(found) => feed.set_hosts(found),
                        Err(e) => log::warn!("web page: survey failed: {e}"),
                    }
                    while !stopping.load(Ordering::Relaxed) && started.elapsed() < JOB_SURVEY_EVERY {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })
            .map_err(|e| SubmitError::Connect(format!("--serve: cannot start the survey thread: {e}")))?;
        Ok(Some(JobPage { hub, server, stop, surveyor: Some(surveyor) }))
    }

    /// The engine's watch: the bar, and the page (if any) beside it.
    pub fn watch(page: Option<&JobPage>, bar: Box<dyn Watch>) -> Box<dyn Watch> {
        match page {
            Some(page) => Box::new(WebWatch::new(bar, Arc::clone(&page.hub))),
            None => bar,
        }
    }

    /// The job's gatherer, watched for the page when there is one (`primes`: total the
    /// primes summaries).
    pub fn gather<'a>(page: Option<&JobPage>, inner: &'a mut dyn Gatherer, primes: bool) -> PageGather<'a> {
        PageGather::new(inner, page.map(|p| Arc::clone(&p.hub)), primes)
    }

    /// What each worker did (engine.reports()).
    pub fn reports(&self, reports: &[HostReport]) {
        let hosts: Vec<JobHostView> = reports
            .iter()
            .map(|r| JobHostView {
                address: r.address.clone(),
                pieces: r.pieces as u64,
                failures: r.failures as u64,
                state: r.state.to_string(),
            })
            .collect();
        self.hub.update_job(|job| job.hosts = hosts);
    }

    /// Shows how the job ended, then gives the open pages a moment to receive it before
    /// the process (and the server) goes.
    pub fn finish(mut self, outcome: &Result<String, SubmitError>) {
        let finished = match outcome {
            Ok(text) => text.trim().to_string(),
            Err(e) => format!("failed: {e}"),
        };
        self.hub.update_job(|job| job.finished = Some(finished));
        if self.server.streams_open() > 0 {
            std::thread::sleep(Duration::from_millis(600));
        }
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.surveyor.take() {
            let _ = t.join();
        }
    }
}
