//! The TCP probe: can a connection be opened to `host:port`?
//!
//! It exists for services that do not speak HTTP (databases, mail, SSH) where "accepts
//! connections" is the only thing that can be checked without credentials. Nothing is sent; the
//! connection is closed as soon as it is open.

use std::time::Duration;

use upbeat_core::monitor::TcpSpec;
use upbeat_core::sample::ProbeOutcome;
use upbeat_core::{Phases, ProbeError};

use crate::net::{self, Deadline};

pub(crate) async fn probe(spec: &TcpSpec, timeout: Duration) -> ProbeOutcome {
    let deadline = Deadline::start(timeout);
    let mut phases = Phases::default();
    let error = check(spec, &deadline, &mut phases).await.err();
    ProbeOutcome { latency: deadline.elapsed(), phases, http_status: None, error }
}

async fn check(spec: &TcpSpec, deadline: &Deadline, phases: &mut Phases) -> Result<(), ProbeError> {
    let addrs = net::resolve(&spec.host, spec.port, deadline, phases).await?;
    // Dropping the stream closes it; the check is only whether the handshake completed.
    let _stream = net::connect(&addrs, deadline, phases).await?;
    Ok(())
}
