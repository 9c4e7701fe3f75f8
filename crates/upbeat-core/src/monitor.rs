//! A monitor as the rest of the program sees it once the configuration is checked.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A monitor's id as written in the configuration: lowercase letters, digits, `-` and `_`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MonitorId(String);

impl MonitorId {
    /// Accepts `[a-z0-9][a-z0-9_-]{0,63}`, the shape that is safe in URLs, metrics labels and SQL.
    pub fn parse(text: &str) -> Result<MonitorId, String> {
        let ok_first = text.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let ok_rest = text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if text.len() <= 64 && ok_first && ok_rest {
            Ok(MonitorId(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not a valid id: use 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MonitorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many consecutive failures open an outage and how many successes close it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub confirm: u32,
    pub recover: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { confirm: 2, recover: 1 }
    }
}

/// The closed list of monitor kinds. A new kind is one variant here, one probe module in
/// `upbeat-checks`, and one arm in each `match` the compiler then asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonitorKind {
    Http(HttpSpec),
    Tcp(TcpSpec),
    Dns(DnsSpec),
    Tls(TlsSpec),
    Icmp(IcmpSpec),
    Heartbeat(crate::heartbeat::HeartbeatSpec),
    Push(crate::heartbeat::PushSpec),
    Metric(crate::metric::MetricSpec),
}

impl MonitorKind {
    pub fn name(&self) -> &'static str {
        match self {
            MonitorKind::Http(_) => "http",
            MonitorKind::Tcp(_) => "tcp",
            MonitorKind::Dns(_) => "dns",
            MonitorKind::Tls(_) => "tls",
            MonitorKind::Icmp(_) => "icmp",
            MonitorKind::Heartbeat(_) => "heartbeat",
            MonitorKind::Push(_) => "push",
            MonitorKind::Metric(_) => "metric",
        }
    }

    /// Has deadlines of its own: silence past one fails a heartbeat or push, and a metric's
    /// condition that holds for `for` fails it without a new point. The deadline watcher times them.
    pub fn has_deadlines(&self) -> bool {
        match self {
            MonitorKind::Heartbeat(_) | MonitorKind::Metric(_) => true,
            MonitorKind::Push(spec) => spec.heartbeat.is_some(),
            MonitorKind::Http(_)
            | MonitorKind::Tcp(_)
            | MonitorKind::Dns(_)
            | MonitorKind::Tls(_)
            | MonitorKind::Icmp(_) => false,
        }
    }

    /// Told rather than asked: nothing probes it; pings and pushes feed it, and silence past a
    /// deadline fails it.
    pub fn is_passive(&self) -> bool {
        match self {
            MonitorKind::Http(_)
            | MonitorKind::Tcp(_)
            | MonitorKind::Dns(_)
            | MonitorKind::Tls(_)
            | MonitorKind::Icmp(_) => false,
            MonitorKind::Heartbeat(_) | MonitorKind::Push(_) => true,
            // Pulled metrics are fetched on their interval; pushed ones are told.
            MonitorKind::Metric(spec) => spec.pull.is_none(),
        }
    }

    /// What the monitor watches, for people: a URL, `host:port`, a name and its record type.
    pub fn target(&self) -> String {
        match self {
            MonitorKind::Http(spec) => spec.url.to_string(),
            MonitorKind::Tcp(spec) => format!("{}:{}", spec.host, spec.port),
            MonitorKind::Dns(spec) => format!("{} {}", spec.query, spec.record_type),
            MonitorKind::Tls(spec) => format!("{}:{}", spec.host, spec.port),
            MonitorKind::Icmp(spec) => spec.host.clone(),
            MonitorKind::Heartbeat(spec) => spec.schedule_text.clone(),
            MonitorKind::Push(spec) => format!("/api/v1/endpoints/{}/external", spec.key),
            MonitorKind::Metric(spec) => match &spec.pull {
                Some(pull) => format!("{} {} ({})", pull.url, pull.json_path, spec.condition),
                None => spec.condition.to_string(),
            },
        }
    }
}

/// A DNS lookup of one name and record type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsSpec {
    /// The name to look up, e.g. `example.com`.
    pub query: String,
    pub record_type: RecordType,
    /// The server to ask (`ip:port`); `None` means the system's resolver (`/etc/resolv.conf`).
    pub resolver: Option<std::net::SocketAddr>,
    /// Values the answer must contain (each of them, in any order): addresses for A and AAAA,
    /// names for CNAME, NS and PTR, `preference exchange` for MX, the text for TXT.
    pub expect: Vec<String>,
    /// The response code the answer must carry; `NOERROR` with at least one record when unset.
    pub expect_rcode: Option<Rcode>,
}

names! {
    /// The record types a DNS monitor can ask for.
    RecordType {
        A = "A",
        Aaaa = "AAAA",
        Cname = "CNAME",
        Mx = "MX",
        Ns = "NS",
        Txt = "TXT",
        Ptr = "PTR",
        Srv = "SRV",
        Soa = "SOA",
        Caa = "CAA",
    }
}

names! {
    /// DNS response codes (RFC 1035 and 6895) a monitor can expect.
    Rcode {
        NoError = "NOERROR",
        FormErr = "FORMERR",
        ServFail = "SERVFAIL",
        NxDomain = "NXDOMAIN",
        NotImp = "NOTIMP",
        Refused = "REFUSED",
    }
}

/// A TLS handshake with `host:port`: the chain must be valid for the name and must not expire
/// within `expires_within`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSpec {
    pub host: String,
    pub port: u16,
    /// The name to ask for (SNI) and to verify; the host when unset.
    pub server_name: Option<String>,
    pub expires_within: Duration,
}

/// ICMP echo ("ping") of a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcmpSpec {
    pub host: String,
    /// Echo requests per check; up when any reply arrives.
    pub count: u8,
}

/// An HTTP(S) check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSpec {
    pub url: http::Uri,
    pub method: http::Method,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub expected_status: StatusSet,
    pub body_contains: Vec<String>,
    pub body_not_contains: Vec<String>,
    pub follow_redirects: bool,
    /// Gatus-style conditions on the response; all must hold.
    pub conditions: Vec<crate::condition::Condition>,
}

/// A TCP connect check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSpec {
    pub host: String,
    pub port: u16,
}

/// A set of accepted HTTP status codes, as inclusive ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet(pub Vec<(u16, u16)>);

impl StatusSet {
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }

    /// Parses `200`, or `200-299`.
    pub fn parse_item(text: &str) -> Result<(u16, u16), String> {
        let parse_code = |t: &str| match t.trim().parse::<u16>() {
            Ok(code) if (100..=599).contains(&code) => Ok(code),
            _ => Err(format!("`{text}` is not a status code or a range like \"200-299\"")),
        };
        match text.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (parse_code(lo)?, parse_code(hi)?);
                if lo > hi {
                    return Err(format!("`{text}` is an empty range"));
                }
                Ok((lo, hi))
            }
            None => parse_code(text).map(|c| (c, c)),
        }
    }
}

impl Default for StatusSet {
    fn default() -> Self {
        StatusSet(vec![(200, 399)])
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.0.iter().map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") }).collect();
        f.write_str(&parts.join(", "))
    }
}

/// A checked monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitor {
    pub id: MonitorId,
    /// The public name, as it appears in feed items: `<name> went down`.
    pub name: String,
    pub kind: MonitorKind,
    pub interval: Duration,
    pub timeout: Duration,
    pub policy: Policy,
    pub component: Option<String>,
    pub public: bool,
    pub paused: bool,
    /// The `[[channel]]` ids its alerts go to; every channel when `None`, none when empty.
    pub channels: Option<Vec<String>>,
    /// While this monitor is down, this one's outages are recorded but not alerted.
    pub depends_on: Option<MonitorId>,
    /// Say it again this often while an outage stays open.
    pub renotify: Option<Duration>,
}
