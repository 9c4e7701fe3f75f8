//! What one check reports: a [`Sample`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a check failed. The names are stable: they are stored, served by the API and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The name did not resolve, or a DNS check's answer was not the expected one.
    Dns,
    /// The target actively refused the connection.
    Refused,
    /// The connection could not be made for another reason (unreachable network or host).
    Connect,
    /// The check did not finish within the monitor's timeout.
    Timeout,
    /// The TLS handshake failed: bad certificate, wrong name, expired.
    Tls,
    /// The connection was reset or closed before the response was complete.
    Reset,
    /// The peer did not speak HTTP as expected.
    Protocol,
    /// The HTTP status was not among the expected ones.
    Status,
    /// The body did not contain, or did contain, a configured text.
    Body,
    /// A heartbeat or push did not arrive by its deadline, or a run did not finish in time.
    Late,
    /// The job or pusher reported a failure (`/fail`, a non-zero exit status, `success=false`).
    Failed,
    /// A run took longer than its `max_duration` or less than its `min_duration`.
    Duration,
    /// A condition on the response or on a metric did not hold.
    Condition,
    /// The certificate is valid but expires within the monitor's threshold: renew it.
    Certificate,
    /// The probe itself was not allowed to run, e.g. to open ICMP sockets: the fix is on the
    /// monitoring host, not the target.
    Permission,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::Dns,
        ErrorKind::Refused,
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Tls,
        ErrorKind::Reset,
        ErrorKind::Protocol,
        ErrorKind::Status,
        ErrorKind::Body,
        ErrorKind::Late,
        ErrorKind::Failed,
        ErrorKind::Duration,
        ErrorKind::Condition,
        ErrorKind::Certificate,
        ErrorKind::Permission,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Dns => "dns",
            ErrorKind::Refused => "refused",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::Reset => "reset",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Status => "status",
            ErrorKind::Body => "body",
            ErrorKind::Late => "late",
            ErrorKind::Failed => "failed",
            ErrorKind::Duration => "duration",
            ErrorKind::Condition => "condition",
            ErrorKind::Certificate => "certificate",
            ErrorKind::Permission => "permission",
        }
    }

    pub fn parse(text: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A failed check's kind and the message that explains it to a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ProbeError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProbeError { kind, message: message.into() }
    }
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

/// The first line of a text, at most 300 characters: what fits in an error message.
pub fn one_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("");
    match line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// Where the time of an HTTP check went, for the phases that happened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    pub dns: Option<Duration>,
    pub connect: Option<Duration>,
    pub tls: Option<Duration>,
    /// From sending the request to the first byte of the response head.
    pub first_byte: Option<Duration>,
}

/// The outcome of one probe, before it is tied to a monitor and a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeOutcome {
    pub latency: Duration,
    pub phases: Phases,
    pub http_status: Option<u16>,
    /// `None` when the check succeeded.
    pub error: Option<ProbeError>,
}

impl ProbeOutcome {
    pub fn is_up(&self) -> bool {
        self.error.is_none()
    }
}

/// One check's outcome for one monitor at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub monitor: crate::MonitorId,
    pub at: DateTime<Utc>,
    pub outcome: ProbeOutcome,
}

impl Sample {
    pub fn is_up(&self) -> bool {
        self.outcome.is_up()
    }
}
