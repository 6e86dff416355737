//! `--serve`: starting the web page and telling the user where it is.

use crate::submit::error::SubmitError;
use crate::submit::report::web::{serve, Hub, WebServer};
use std::net::SocketAddr;
use std::sync::Arc;

/// Starts the page's server on `addr` and says where on stderr (the tests and a person
/// read the port from that line when they asked for port 0).
pub fn web_page(addr: SocketAddr, hub: &Arc<Hub>) -> Result<WebServer, SubmitError> {
    let server = serve(addr, Arc::clone(hub))?;
    let open = if server.addr().ip().is_loopback() { " (this machine only)" } else { "" };
    eprintln!("pisubmit: serving the status page on http://{}/{open}", server.addr());
    Ok(server)
}
