//! The parts every probe shares: the deadline, name resolution, connecting, and turning I/O
//! failures into an [`ErrorKind`] and a message.
//!
//! HTTP and TCP checks fail the same way until the first byte is exchanged, and an operator must
//! see the same kind and the same wording for "connection refused" whichever check hit it. Keeping
//! that here is what keeps the two probes from drifting apart.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;
use upbeat_core::{ErrorKind, Phases, ProbeError};

/// One budget for the whole probe. Every await that touches the network goes through
/// [`Deadline::run`], so a slow DNS answer leaves less time for the connect rather than each step
/// getting the full timeout again.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    started: Instant,
    at: Instant,
    budget: Duration,
}

impl Deadline {
    pub(crate) fn start(budget: Duration) -> Deadline {
        let started = Instant::now();
        // `Instant + Duration` panics on overflow, and a probe must never panic, whatever the
        // configured timeout; a year is "no deadline" for any practical purpose.
        let at = started.checked_add(budget).unwrap_or_else(|| started + Duration::from_secs(365 * 24 * 3600));
        Deadline { started, at, budget }
    }

    /// Time since the probe started: the latency reported whatever the outcome.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Runs `fut` until the deadline. `phase` completes "timed out after 500ms ...", so the
    /// message tells where the time ran out (e.g. "while connecting to 10.0.0.1:443").
    pub(crate) async fn run<T>(&self, phase: &str, fut: impl Future<Output = T>) -> Result<T, ProbeError> {
        tokio::time::timeout_at(self.at, fut)
            .await
            .map_err(|_| ProbeError::new(ErrorKind::Timeout, format!("timed out after {:?} {phase}", self.budget)))
    }
}

/// Adds a phase's duration rather than setting it, so that a probe which follows redirects
/// reports the time spent in each phase over all the hops.
pub(crate) fn add_phase(slot: &mut Option<Duration>, spent: Duration) {
    *slot = Some(slot.unwrap_or_default() + spent);
}

/// The host as the resolver and TLS want it: URLs write IPv6 literals in brackets.
pub(crate) fn bare_host(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// Resolves `host`, recording the DNS phase. IP literals skip the resolver entirely, and the
/// phase stays `None` so that a zero does not pretend a lookup happened.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    deadline: &Deadline,
    phases: &mut Phases,
) -> Result<Vec<SocketAddr>, ProbeError> {
    let host = bare_host(host);
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let started = Instant::now();
    let looked_up = deadline.run(&format!("while resolving {host}"), tokio::net::lookup_host((host, port))).await?;
    add_phase(&mut phases.dns, started.elapsed());
    match looked_up {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(ProbeError::new(ErrorKind::Dns, format!("{host} has no addresses")))
            } else {
                Ok(addrs)
            }
        }
        Err(err) => {
            // The standard library prefixes every resolver error with the same words; what
            // follows ("Name or service not known") is the part a person can act on.
            let text = describe_io(&err);
            let reason = text.strip_prefix("failed to lookup address information: ").unwrap_or(&text);
            Err(ProbeError::new(ErrorKind::Dns, format!("could not resolve {host}: {reason}")))
        }
    }
}

/// Connects to the first address that accepts, recording the connect phase (all attempts
/// included). When every address fails, the last failure is reported: with a dual-stack name the
/// earlier ones are usually the family that is not served at all.
pub(crate) async fn connect(
    addrs: &[SocketAddr],
    deadline: &Deadline,
    phases: &mut Phases,
) -> Result<TcpStream, ProbeError> {
    let started = Instant::now();
    let mut last_failure = None;
    for &addr in addrs {
        let attempt = deadline.run(&format!("while connecting to {addr}"), TcpStream::connect(addr)).await;
        let attempt = match attempt {
            Ok(attempt) => attempt,
            Err(timeout) => {
                add_phase(&mut phases.connect, started.elapsed());
                return Err(timeout);
            }
        };
        match attempt {
            Ok(stream) => {
                add_phase(&mut phases.connect, started.elapsed());
                return Ok(stream);
            }
            Err(err) => last_failure = Some((addr, err)),
        }
    }
    add_phase(&mut phases.connect, started.elapsed());
    Err(match last_failure {
        Some((addr, err)) => connect_error(addr, &err),
        None => ProbeError::new(ErrorKind::Dns, "the name resolved to no address"),
    })
}

fn connect_error(addr: SocketAddr, err: &io::Error) -> ProbeError {
    let kind = classify_io(err, ErrorKind::Connect);
    let message = match err.kind() {
        io::ErrorKind::ConnectionRefused => format!("connection refused by {addr}"),
        io::ErrorKind::TimedOut => format!("connecting to {addr} timed out"),
        _ => format!("could not connect to {addr}: {}", describe_io(err)),
    };
    ProbeError::new(kind, message)
}

/// The kind for an I/O error. `fallback` is what an otherwise unrecognised error means at the
/// point it happened: before the connection exists it is a connect failure, after it a reset.
pub(crate) fn classify_io(err: &io::Error, fallback: ErrorKind) -> ErrorKind {
    match err.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::Refused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        _ => fallback,
    }
}

/// An I/O error as one short line: the OS error number means nothing to the reader of a status
/// page, and messages are shown on one line.
pub(crate) fn describe_io(err: &io::Error) -> String {
    let text = one_line(&err.to_string());
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_owned(),
        _ => text,
    }
}

/// Messages end up in tables and feeds, where a stray newline from a peer's text would break the
/// layout.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
