//! The configuration file, checked once into a runtime model.
//!
//! [`Config::parse`] takes the file's text and either returns a [`Config`] whose every value is
//! already typed (durations, URLs, time zones, status ranges) or every error in the file, each
//! naming the file, line and field. Nothing downstream re-validates.

// The channel kinds in `notify/` decode their own settings with it.
pub(crate) mod decode;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use decode::{At, Fields, Report};
pub use decode::{ConfigError, ConfigErrors};

use crate::condition::{Condition, MetricCondition};
use crate::cron::{CronExpr, Heartbeat, Schedule};
use crate::heartbeat::{HeartbeatSpec, PushSpec, parse_uuid};
use crate::metric::{MetricPull, MetricSpec};
use crate::monitor::{
    DnsSpec, HttpSpec, IcmpSpec, Monitor, MonitorId, MonitorKind, Policy, Rcode, RecordType, StatusSet, TcpSpec,
    TlsSpec,
};
use crate::notify::email::{self, Smtp};
use crate::notify::{
    AlertEvent, Channel, ChannelKind, IncomingWebhook, RateLimit, Secret, ntfy, opsgenie, pagerduty, telegram, webhook,
};

/// The checked configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub page: Page,
    pub server: Server,
    pub scheduler: Scheduler,
    pub storage: Storage,
    pub pings: Pings,
    pub components: Vec<Component>,
    pub monitors: Vec<Monitor>,
    /// `[[channel]]`: where alerts go.
    pub channels: Vec<Channel>,
    /// `[smtp]`: how email channels send; there whenever an email channel is.
    pub smtp: Option<Smtp>,
}

/// `[page]`: the public status page.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub title: String,
    /// Always ends in `/` when it names a bare origin, so guids read `https://host/#<hex>`.
    pub base_url: String,
    pub language: String,
    pub time_zone: chrono_tz::Tz,
    /// How many items the feeds hold.
    pub feed_items: usize,
    /// An image file shown in the page's header, relative to the configuration file; the binary
    /// reads it at start and serves it at `/logo`.
    pub logo: Option<String>,
}

/// The content type of a logo file, by its extension; `None` for a kind the page does not show.
pub fn logo_type(path: &str) -> Option<&'static str> {
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        _ => return None,
    })
}

/// `[server]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub listen: SocketAddr,
}

/// `[scheduler]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduler {
    /// How many checks may run at once, across all monitors.
    pub concurrency: usize,
}

/// `[storage]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Storage {
    /// Raw samples older than this are rolled up into hourly aggregates and deleted.
    pub retention: Duration,
}

/// `[pings]`: heartbeat ping URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pings {
    /// The key of `/ping/<ping_key>/<slug>` URLs; without one only `/ping/<uuid>` URLs work.
    pub ping_key: Option<String>,
}

/// `[[component]]`: what the public sees, fed by monitors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    /// `public = false` hides the component and every monitor in it from everything public: the
    /// page, the feeds, badges and `/api/v2`.
    pub public: bool,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_CONCURRENCY: usize = 1024;
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 86_400);
pub const DEFAULT_FEED_ITEMS: usize = 250;

const TOP: &[&str] = &["page", "server", "scheduler", "storage", "pings", "smtp", "component", "channel", "monitor"];
const PAGE: &[&str] = &["title", "base_url", "language", "time_zone", "feed_items", "logo"];
const COMPONENT: &[&str] = &["id", "name", "group", "description", "public"];
const MONITOR_COMMON: &[&str] = &[
    "id",
    "name",
    "kind",
    "interval",
    "timeout",
    "confirm",
    "recover",
    "component",
    "public",
    "paused",
    "channels",
    "depends_on",
    "renotify",
];
const CHANNEL_COMMON: &[&str] = &["id", "kind", "events", "rate_limit"];
const INCOMING_WEBHOOK: &[&str] = &["url"];
/// Reminders while an outage stays open come at most this often.
pub const MIN_RENOTIFY: Duration = Duration::from_secs(60);
const HTTP: &[&str] = &[
    "url",
    "method",
    "headers",
    "expected_status",
    "body_contains",
    "body_not_contains",
    "follow_redirects",
    "conditions",
];
const TCP: &[&str] = &["host", "port"];
const DNS: &[&str] = &["query", "record_type", "resolver", "expect", "expect_rcode"];
const TLS: &[&str] = &["host", "port", "server_name", "expires_within"];
const ICMP: &[&str] = &["host", "count"];
const HEARTBEAT: &[&str] = &["period", "cron", "time_zone", "grace", "uuid", "slug", "max_duration", "min_duration"];
const PUSH: &[&str] = &["key", "token", "heartbeat"];
const METRIC: &[&str] = &["condition", "window", "for", "recover_for", "url", "json_path", "headers"];
/// The points a metric's aggregation looks at unless it says otherwise.
pub const DEFAULT_METRIC_WINDOW: Duration = Duration::from_secs(300);
const KINDS: &str = "\"http\", \"tcp\", \"dns\", \"tls\", \"icmp\", \"heartbeat\", \"push\" or \"metric\"";
/// A heartbeat's grace time unless it says otherwise: Healthchecks' default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);

/// A certificate that expires sooner than this makes a TLS monitor down, unless it says otherwise.
pub const DEFAULT_EXPIRES_WITHIN: Duration = Duration::from_secs(7 * 86_400);

impl Config {
    /// Reads a configuration from its text; `file` names it in errors.
    pub fn parse(file: &str, source: &str) -> Result<Config, ConfigErrors> {
        let mut r = Report::new(file, source);
        let doc = match toml::de::DeTable::parse(source) {
            Ok(doc) => doc,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                r.error(span, "(syntax)", e.message().trim().to_owned());
                return Err(r.finish());
            }
        };
        let mut top = Fields::new(doc.get_ref(), doc.span(), "");
        let page = match top.table(&mut r, "page") {
            Some(page) => parse_page(&mut r, page),
            None => {
                r.error(0..0, "page", "is required: add a [page] table with at least `title`");
                None
            }
        };
        let server_table = top.table(&mut r, "server");
        let server = parse_server(&mut r, server_table);
        let scheduler_table = top.table(&mut r, "scheduler");
        let scheduler = parse_scheduler(&mut r, scheduler_table);
        let storage_table = top.table(&mut r, "storage");
        let storage = parse_storage(&mut r, storage_table);
        let pings_table = top.table(&mut r, "pings");
        let pings = parse_pings(&mut r, pings_table);
        let components: Vec<Component> =
            top.tables(&mut r, "component").into_iter().filter_map(|t| parse_component(&mut r, t)).collect();
        let mut component_ids = HashSet::new();
        for (i, c) in components.iter().enumerate() {
            if !component_ids.insert(c.id.clone()) {
                r.error(0..0, &format!("component[{i}].id"), format!("duplicate component id `{}`", c.id));
            }
        }
        let smtp_table = top.table(&mut r, "smtp");
        let has_smtp = smtp_table.is_some();
        let smtp = smtp_table.and_then(|t| email::parse_smtp(&mut r, t));
        let mut channels = Vec::new();
        let mut channel_ids = HashSet::new();
        for t in top.tables(&mut r, "channel") {
            let span = t.span();
            let path = t.path("id");
            // A channel with an error still has its id: monitors naming it are not wrong too.
            let (id, channel) = parse_channel(&mut r, t, has_smtp);
            if let Some(id) = id
                && !channel_ids.insert(id.clone())
            {
                r.error(span, &path, format!("duplicate channel id `{id}`"));
            }
            channels.extend(channel);
        }
        let mut monitors = Vec::new();
        let mut monitor_ids = BTreeMap::new();
        for t in top.tables(&mut r, "monitor") {
            let span = t.span();
            let path = t.path("id");
            if let Some((m, depends_on)) = parse_monitor(&mut r, t, &component_ids, &channel_ids) {
                if monitor_ids.insert(m.id.clone(), ()).is_some() {
                    r.error(span, &path, format!("duplicate monitor id `{}`", m.id));
                }
                monitors.push((m, depends_on));
            }
        }
        check_dependencies(&mut r, &monitors);
        // A private component hides its monitors wherever `public` is read.
        let private: HashSet<&str> = components.iter().filter(|c| !c.public).map(|c| c.id.as_str()).collect();
        let monitors = monitors
            .into_iter()
            .map(|(mut m, _)| {
                m.public &= m.component.as_deref().is_none_or(|c| !private.contains(c));
                m
            })
            .collect();
        top.finish(&mut r, TOP);
        match page {
            Some(page) if !r.has_errors() => {
                Ok(Config { page, server, scheduler, storage, pings, components, monitors, channels, smtp })
            }
            _ => Err(r.finish()),
        }
    }

    pub fn monitor(&self, id: &str) -> Option<&Monitor> {
        self.monitors.iter().find(|m| m.id.as_str() == id)
    }

    pub fn component(&self, id: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// Where a monitor's alerts go: the channels it lists, or every channel. (Each still takes
    /// only the events it wants: [`crate::notify::wants`].)
    pub fn channels_for(&self, monitor: &Monitor) -> Vec<&Channel> {
        match &monitor.channels {
            Some(ids) => self.channels.iter().filter(|c| ids.contains(&c.id)).collect(),
            None => self.channels.iter().collect(),
        }
    }

    /// The monitors `id` depends on, nearest first: while any of them is down, its outages are
    /// recorded but not alerted. Finite: a cycle is a configuration error.
    pub fn dependencies(&self, id: &MonitorId) -> Vec<&MonitorId> {
        let mut chain: Vec<&MonitorId> = Vec::new();
        let mut at = self.monitor(id.as_str()).and_then(|m| m.depends_on.as_ref());
        while let Some(parent) = at {
            if parent == id || chain.contains(&parent) {
                break;
            }
            chain.push(parent);
            at = self.monitor(parent.as_str()).and_then(|m| m.depends_on.as_ref());
        }
        chain
    }
}

/// A string field that must be there, parsed with `parse`; its absence is reported as
/// `is required<why>`.
pub(crate) fn required<T>(
    r: &mut Report<'_>,
    t: &mut Fields<'_, '_>,
    key: &str,
    why: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let absent = t.key_span(key) == t.span();
    let value = t.parsed(r, key, parse);
    if value.is_none() && absent {
        r.error(t.span(), &t.path(key), format!("is required{why}"));
    }
    value
}

fn parse_page(r: &mut Report<'_>, mut t: Fields<'_, '_>) -> Option<Page> {
    let title = t.required_string(r, "title");
    let base_url = t.parsed(r, "base_url", normalize_base_url).unwrap_or_else(|| format!("http://{DEFAULT_LISTEN}/"));
    let language = t.string(r, "language").unwrap_or_else(|| "en".into());
    let time_zone = t
        .parsed(r, "time_zone", |s| {
            s.parse::<chrono_tz::Tz>()
                .map_err(|_| format!("`{s}` is not an IANA time zone such as \"Europe/Paris\" or \"UTC\""))
        })
        .unwrap_or(chrono_tz::UTC);
    let feed_items = t.integer(r, "feed_items", 1..100_001).map_or(DEFAULT_FEED_ITEMS, |n| n as usize);
    let logo = t.string_at(r, "logo");
    if let Some(logo) = &logo
        && logo_type(&logo.value).is_none()
    {
        r.error(logo.span.clone(), &logo.field, "must name a .svg, .png, .jpg, .webp, .gif or .ico file");
    }
    t.finish(r, PAGE);
    // Relative to the configuration file, wherever the server is started from.
    let logo = logo.map(|l| match std::path::Path::new(r.file).parent() {
        Some(dir) if !std::path::Path::new(&l.value).is_absolute() => dir.join(&l.value).to_string_lossy().into_owned(),
        _ => l.value,
    });
    Some(Page { title: title?, base_url, language, time_zone, feed_items, logo })
}

/// Accepts an absolute http(s) URL; a bare origin gets its trailing `/`.
fn normalize_base_url(text: &str) -> Result<String, String> {
    let uri: http::Uri = text.parse().map_err(|_| format!("`{text}` is not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => {}
        _ => return Err(format!("`{text}` must be an absolute http:// or https:// URL")),
    }
    if uri.path() == "/" && !text.ends_with('/') && uri.query().is_none() {
        Ok(format!("{text}/"))
    } else {
        Ok(text.to_owned())
    }
}

fn parse_server(r: &mut Report<'_>, t: Option<Fields<'_, '_>>) -> Server {
    let default = || DEFAULT_LISTEN.parse().expect("the default listen address parses");
    let Some(mut t) = t else { return Server { listen: default() } };
    let listen = t
        .parsed(r, "listen", |s| {
            s.parse::<SocketAddr>().map_err(|_| format!("`{s}` is not an address like \"127.0.0.1:8080\""))
        })
        .unwrap_or_else(default);
    t.finish(r, &["listen"]);
    Server { listen }
}

fn parse_scheduler(r: &mut Report<'_>, t: Option<Fields<'_, '_>>) -> Scheduler {
    let Some(mut t) = t else { return Scheduler { concurrency: DEFAULT_CONCURRENCY } };
    let concurrency = t.integer(r, "concurrency", 1..100_001).map_or(DEFAULT_CONCURRENCY, |n| n as usize);
    t.finish(r, &["concurrency"]);
    Scheduler { concurrency }
}

fn parse_storage(r: &mut Report<'_>, t: Option<Fields<'_, '_>>) -> Storage {
    let Some(mut t) = t else { return Storage { retention: DEFAULT_RETENTION } };
    let retention = t.duration(r, "retention", Duration::from_secs(3600)).unwrap_or(DEFAULT_RETENTION);
    t.finish(r, &["retention"]);
    Storage { retention }
}

fn parse_pings(r: &mut Report<'_>, t: Option<Fields<'_, '_>>) -> Pings {
    let Some(mut t) = t else { return Pings::default() };
    let ping_key = t.parsed(r, "ping_key", |s| {
        if (16..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            Ok(s.to_owned())
        } else {
            Err("must be 16 to 64 letters, digits, `-` or `_` (it is a secret in URLs)".to_owned())
        }
    });
    t.finish(r, &["ping_key"]);
    Pings { ping_key }
}

fn parse_component(r: &mut Report<'_>, mut t: Fields<'_, '_>) -> Option<Component> {
    let id = t.parsed(r, "id", |s| MonitorId::parse(s).map(|id| id.as_str().to_owned()));
    if id.is_none() && t.key_span("id") == t.span() {
        r.error(t.span(), &t.path("id"), "is required");
    }
    let name = t.required_string(r, "name");
    let group = t.string(r, "group");
    let description = t.string(r, "description");
    let public = t.bool(r, "public").unwrap_or(true);
    t.finish(r, COMPONENT);
    Some(Component { id: id?, name: name?, group, description, public })
}

/// A monitor, and where its `depends_on` was written, for the checks that need every monitor.
fn parse_monitor(
    r: &mut Report<'_>,
    mut t: Fields<'_, '_>,
    components: &HashSet<String>,
    channels: &HashSet<String>,
) -> Option<(Monitor, Option<At<MonitorId>>)> {
    let id = t.parsed(r, "id", MonitorId::parse);
    if id.is_none() && t.key_span("id") == t.span() {
        r.error(t.span(), &t.path("id"), "is required");
    }
    let name = t.required_string(r, "name");
    let kind_name = t.string_at(r, "kind");
    let interval = t.duration(r, "interval", Duration::from_secs(1)).unwrap_or(Duration::from_secs(60));
    let timeout_span = t.key_span("timeout");
    let timeout = t.duration(r, "timeout", Duration::from_millis(10));
    // Nobody retries a heartbeat: a missed or failed one is the outage.
    // A metric's `for` and `recover_for` already debounce it.
    let passive = kind_name.as_ref().is_some_and(|k| matches!(k.value.as_str(), "heartbeat" | "push" | "metric"));
    let confirm = t.integer(r, "confirm", 1..1001).map_or(if passive { 1 } else { 2 }, |n| n as u32);
    let recover = t.integer(r, "recover", 1..1001).map_or(1, |n| n as u32);
    let component = t.string_at(r, "component");
    let public = t.bool(r, "public").unwrap_or(true);
    let paused = t.bool(r, "paused").unwrap_or(false);
    let monitor_channels = t.strings_at(r, "channels").map(|items| {
        let mut ids = Vec::new();
        for item in items {
            if !channels.contains(&item.value) {
                r.error(item.span, &item.field, format!("no [[channel]] has id `{}`", item.value));
            } else if !ids.contains(&item.value) {
                ids.push(item.value);
            }
        }
        ids
    });
    let depends_on = t.string_at(r, "depends_on").and_then(|at| match MonitorId::parse(&at.value) {
        Ok(id) => Some(At { value: id, span: at.span, field: at.field }),
        Err(e) => {
            r.error(at.span, &at.field, e);
            None
        }
    });
    let renotify = t.duration(r, "renotify", MIN_RENOTIFY);

    let timeout = match timeout {
        Some(timeout) if timeout > interval => {
            r.error(timeout_span, &t.path("timeout"), "must not be longer than the interval");
            timeout
        }
        Some(timeout) => timeout,
        None => interval.min(Duration::from_secs(10)),
    };
    if let Some(c) = &component
        && !components.contains(&c.value)
    {
        r.error(c.span.clone(), &c.field, format!("no [[component]] has id `{}`", c.value));
    }

    let kind = match kind_name.as_ref().map(|k| k.value.as_str()) {
        Some("http") => {
            let kind = parse_http(r, &mut t).map(MonitorKind::Http);
            t.finish(r, &[MONITOR_COMMON, HTTP].concat());
            kind
        }
        Some("tcp") => {
            let kind = parse_tcp(r, &mut t).map(MonitorKind::Tcp);
            t.finish(r, &[MONITOR_COMMON, TCP].concat());
            kind
        }
        Some("dns") => {
            let kind = parse_dns(r, &mut t).map(MonitorKind::Dns);
            t.finish(r, &[MONITOR_COMMON, DNS].concat());
            kind
        }
        Some("tls") => {
            let kind = parse_tls(r, &mut t).map(MonitorKind::Tls);
            t.finish(r, &[MONITOR_COMMON, TLS].concat());
            kind
        }
        Some("icmp") => {
            let kind = parse_icmp(r, &mut t).map(MonitorKind::Icmp);
            t.finish(r, &[MONITOR_COMMON, ICMP].concat());
            kind
        }
        Some("heartbeat") => {
            let kind = id.as_ref().and_then(|id| parse_heartbeat(r, &mut t, id)).map(MonitorKind::Heartbeat);
            t.finish(r, &[MONITOR_COMMON, HEARTBEAT].concat());
            kind
        }
        Some("metric") => {
            let kind = parse_metric(r, &mut t).map(MonitorKind::Metric);
            t.finish(r, &[MONITOR_COMMON, METRIC].concat());
            kind
        }
        Some("push") => {
            let kind = id.as_ref().and_then(|id| parse_push(r, &mut t, id)).map(MonitorKind::Push);
            t.finish(r, &[MONITOR_COMMON, PUSH].concat());
            kind
        }
        Some(other) => {
            let k = kind_name.as_ref().expect("matched Some");
            r.error(k.span.clone(), &k.field, format!("unknown kind `{other}`; expected {KINDS}"));
            None
        }
        None => {
            r.error(t.span(), &t.path("kind"), format!("is required: {KINDS}"));
            None
        }
    };
    let kind = kind?;
    // A told monitor speaks once per expected ping: that is its interval for uptime's "no data".
    let interval = match &kind {
        MonitorKind::Heartbeat(spec) => crate::heartbeat::longest_gap(&spec.schedule),
        MonitorKind::Push(PushSpec { heartbeat: Some(heartbeat), .. }) => crate::heartbeat::longest_gap(heartbeat),
        _ => interval,
    };
    let monitor = Monitor {
        id: id?,
        name: name?,
        kind,
        interval,
        timeout,
        policy: Policy { confirm, recover },
        component: component.map(|c| c.value),
        public,
        paused,
        channels: monitor_channels,
        depends_on: depends_on.as_ref().map(|d| d.value.clone()),
        renotify,
    };
    Some((monitor, depends_on))
}

/// Every `depends_on` names another declared monitor, and following them never comes back: a
/// cycle would silence all of its monitors' alerts for good.
fn check_dependencies(r: &mut Report<'_>, monitors: &[(Monitor, Option<At<MonitorId>>)]) {
    let index: BTreeMap<&MonitorId, usize> = monitors.iter().enumerate().map(|(i, (m, _))| (&m.id, i)).collect();
    let mut next = vec![None; monitors.len()];
    for (i, (m, depends_on)) in monitors.iter().enumerate() {
        let Some(d) = depends_on else { continue };
        if d.value == m.id {
            r.error(d.span.clone(), &d.field, "a monitor cannot depend on itself");
        } else if let Some(&parent) = index.get(&d.value) {
            next[i] = Some(parent);
        } else {
            r.error(d.span.clone(), &d.field, format!("no [[monitor]] has id `{}`", d.value));
        }
    }
    // Each monitor has at most one parent: walk from each, marking the path, and a walk that
    // meets its own path has found a cycle. Every monitor is walked through once.
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; monitors.len()];
    for start in 0..monitors.len() {
        let mut path: Vec<usize> = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            match state[i] {
                DONE => break,
                ON_PATH => {
                    let mut cycle = path[path.iter().position(|&p| p == i).unwrap_or(0)..].to_vec();
                    // Reported once, at the member written first, and read round from there.
                    let first = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap_or(0);
                    cycle.rotate_left(first);
                    let names: Vec<String> =
                        cycle.iter().chain(&cycle[..1]).map(|&p| format!("`{}`", monitors[p].0.id)).collect();
                    if let Some(d) = &monitors[cycle[0]].1 {
                        r.error(d.span.clone(), &d.field, format!("depends_on makes a cycle: {}", names.join(" → ")));
                    }
                    break;
                }
                _ => {
                    state[i] = ON_PATH;
                    path.push(i);
                    at = next[i];
                }
            }
        }
        for i in path {
            state[i] = DONE;
        }
    }
}

/// The channel's id, when it has a valid one, and the channel, when all of it is valid.
fn parse_channel(r: &mut Report<'_>, mut t: Fields<'_, '_>, has_smtp: bool) -> (Option<String>, Option<Channel>) {
    let id = t.parsed(r, "id", |s| MonitorId::parse(s).map(|id| id.as_str().to_owned()));
    if id.is_none() && t.key_span("id") == t.span() {
        r.error(t.span(), &t.path("id"), "is required");
    }
    let kind_name = t.string_at(r, "kind");
    let events = t.strings_at(r, "events").and_then(|items| {
        if items.is_empty() {
            r.error(t.key_span("events"), &t.path("events"), "names no event; leave it out to take them all");
            return None;
        }
        let mut events = Vec::new();
        for item in items {
            match AlertEvent::parse(&item.value) {
                Some(event) if !events.contains(&event) => events.push(event),
                Some(_) => {}
                None => r.error(
                    item.span,
                    &item.field,
                    format!("unknown event `{}`; expected one of: {}", item.value, AlertEvent::names()),
                ),
            }
        }
        Some(events)
    });
    let rate_limit = t.parsed(r, "rate_limit", RateLimit::parse);
    let (kind, fields) = match kind_name.as_ref().map(|k| k.value.as_str()) {
        Some("webhook") => (webhook::parse(r, &mut t).map(ChannelKind::Webhook), webhook::FIELDS),
        Some("slack") => (parse_incoming_webhook(r, &mut t, "slack").map(ChannelKind::Slack), INCOMING_WEBHOOK),
        Some("discord") => (parse_incoming_webhook(r, &mut t, "discord").map(ChannelKind::Discord), INCOMING_WEBHOOK),
        Some("teams") => (parse_incoming_webhook(r, &mut t, "teams").map(ChannelKind::Teams), INCOMING_WEBHOOK),
        Some("ntfy") => (ntfy::parse(r, &mut t).map(ChannelKind::Ntfy), ntfy::FIELDS),
        Some("pagerduty") => (pagerduty::parse(r, &mut t).map(ChannelKind::PagerDuty), pagerduty::FIELDS),
        Some("opsgenie") => (opsgenie::parse(r, &mut t).map(ChannelKind::Opsgenie), opsgenie::FIELDS),
        Some("telegram") => (telegram::parse(r, &mut t).map(ChannelKind::Telegram), telegram::FIELDS),
        Some("email") => {
            if !has_smtp && let Some(k) = &kind_name {
                let id = id.as_deref().unwrap_or("?");
                r.error(
                    k.span.clone(),
                    &k.field,
                    format!("channel `{id}` sends email, but there is no [smtp] table to send it through"),
                );
            }
            (email::parse(r, &mut t).map(ChannelKind::Email), email::FIELDS)
        }
        Some(other) => {
            let k = kind_name.as_ref().expect("matched Some");
            let kinds = ChannelKind::NAMES.join(", ");
            r.error(k.span.clone(), &k.field, format!("unknown kind `{other}`; expected one of: {kinds}"));
            return (id, None);
        }
        None => {
            r.error(t.span(), &t.path("kind"), format!("is required: one of {}", ChannelKind::NAMES.join(", ")));
            return (id, None);
        }
    };
    t.finish(r, &[CHANNEL_COMMON, fields].concat());
    let channel = match (&id, kind) {
        (Some(id), Some(kind)) => Some(Channel { id: id.clone(), kind, events, rate_limit }),
        _ => None,
    };
    (id, channel)
}

/// Slack, Discord and Teams: the webhook URL, which is the credential.
fn parse_incoming_webhook(r: &mut Report<'_>, t: &mut Fields<'_, '_>, kind: &str) -> Option<IncomingWebhook> {
    let why = format!(" for kind \"{kind}\": the webhook URL, or \"env:NAME\" to read it from the environment");
    let url = required(r, t, "url", &why, |s| Secret::parse_checked(s, crate::notify::check_url))?;
    Some(IncomingWebhook { url })
}

fn parse_http(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<HttpSpec> {
    let url = t.parsed(r, "url", parse_http_url);
    if url.is_none() && t.key_span("url") == t.span() {
        r.error(t.span(), &t.path("url"), "is required for kind \"http\"");
    }
    let method = t
        .parsed(r, "method", |s| {
            http::Method::from_bytes(s.to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("`{s}` is not an HTTP method"))
        })
        .unwrap_or(http::Method::GET);
    let headers = parse_headers(r, t);
    let expected_status = t.scalar_list(r, "expected_status", StatusSet::parse_item).map(StatusSet);
    let body_contains = t.strings(r, "body_contains").unwrap_or_default();
    let body_not_contains = t.strings(r, "body_not_contains").unwrap_or_default();
    let follow_redirects = t.bool(r, "follow_redirects").unwrap_or(true);
    let mut conditions = Vec::new();
    for text in t.strings_at(r, "conditions").unwrap_or_default() {
        match Condition::parse(&text.value) {
            Ok(condition) => conditions.push(condition),
            Err(e) => {
                let at = text.span.start + e.column;
                r.error(at..at + 1, &text.field, format!("{} (column {} of the condition)", e.message, e.column));
            }
        }
    }
    // With conditions, `[STATUS]` says which statuses are fine; without, 2xx and 3xx are.
    let expected_status = expected_status
        .unwrap_or_else(|| if conditions.is_empty() { StatusSet::default() } else { StatusSet(vec![(100, 599)]) });
    Some(HttpSpec {
        url: url?,
        method,
        headers,
        expected_status,
        body_contains,
        body_not_contains,
        follow_redirects,
        conditions,
    })
}

pub(crate) fn parse_http_url(s: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = s.parse().map_err(|_| format!("`{s}` is not a URL"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(uri),
        _ => Err(format!("`{s}` must be an absolute http:// or https:// URL")),
    }
}

fn parse_headers(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Vec<(http::HeaderName, http::HeaderValue)> {
    let mut headers = Vec::new();
    for (name, value) in t.string_table(r, "headers").unwrap_or_default() {
        let n = http::HeaderName::from_bytes(name.value.as_bytes());
        let v = http::HeaderValue::from_str(&value.value);
        match (n, v) {
            (Ok(n), Ok(v)) => headers.push((n, v)),
            (Err(_), _) => r.error(name.span, &name.field, "is not a valid header name"),
            (_, Err(_)) => r.error(value.span, &value.field, "is not a valid header value"),
        }
    }
    headers
}

fn parse_tcp(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<TcpSpec> {
    let host = t.required_string(r, "host");
    let port = t.integer(r, "port", 1..65_536);
    if port.is_none() && t.key_span("port") == t.span() {
        r.error(t.span(), &t.path("port"), "is required for kind \"tcp\"");
    }
    Some(TcpSpec { host: host?, port: port? as u16 })
}

fn parse_dns(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<DnsSpec> {
    let query = t.parsed(r, "query", |s| {
        let name = s.trim_end_matches('.');
        let ok = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if ok { Ok(name.to_owned()) } else { Err(format!("`{s}` is not a domain name")) }
    });
    if query.is_none() && t.key_span("query") == t.span() {
        r.error(t.span(), &t.path("query"), "is required for kind \"dns\": the name to look up");
    }
    let record_type = t
        .parsed(r, "record_type", |s| {
            RecordType::parse(&s.to_ascii_uppercase())
                .ok_or_else(|| format!("`{s}` is not a record type; expected one of {}", RecordType::names()))
        })
        .unwrap_or(RecordType::A);
    let resolver = t.parsed(r, "resolver", |s| {
        s.parse::<std::net::SocketAddr>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| std::net::SocketAddr::new(ip, 53)))
            .map_err(|_| format!("`{s}` is not an address like \"1.1.1.1\" or \"127.0.0.1:5353\""))
    });
    let expect = t.strings(r, "expect").unwrap_or_default();
    let expect_rcode = t.parsed(r, "expect_rcode", |s| {
        Rcode::parse(&s.to_ascii_uppercase())
            .ok_or_else(|| format!("`{s}` is not a response code; expected one of {}", Rcode::names()))
    });
    Some(DnsSpec { query: query?, record_type, resolver, expect, expect_rcode })
}

fn parse_tls(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<TlsSpec> {
    let host = t.required_string(r, "host");
    let port = t.integer(r, "port", 1..65_536).map_or(443, |p| p as u16);
    let server_name = t.string(r, "server_name");
    let expires_within = t.duration(r, "expires_within", Duration::ZERO).unwrap_or(DEFAULT_EXPIRES_WITHIN);
    Some(TlsSpec { host: host?, port, server_name, expires_within })
}

fn parse_icmp(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<IcmpSpec> {
    let host = t.required_string(r, "host");
    let count = t.integer(r, "count", 1..11).map_or(1, |n| n as u8);
    Some(IcmpSpec { host: host?, count })
}

fn parse_heartbeat(r: &mut Report<'_>, t: &mut Fields<'_, '_>, id: &MonitorId) -> Option<HeartbeatSpec> {
    let period_span = t.key_span("period");
    let period = t.duration(r, "period", Duration::from_secs(1));
    let cron_span = t.key_span("cron");
    let cron = t.string_at(r, "cron");
    let time_zone = t
        .parsed(r, "time_zone", |s| {
            s.parse::<chrono_tz::Tz>()
                .map_err(|_| format!("`{s}` is not an IANA time zone such as \"Europe/Paris\" or \"UTC\""))
        })
        .unwrap_or(chrono_tz::UTC);
    let grace = t.duration(r, "grace", Duration::from_secs(1)).unwrap_or(DEFAULT_GRACE);
    let uuid = t.parsed(r, "uuid", parse_uuid);
    let slug = t.parsed(r, "slug", |s| MonitorId::parse(s).map(|id| id.as_str().to_owned()));
    let max_duration = t.duration(r, "max_duration", Duration::from_secs(1));
    let min_duration = t.duration(r, "min_duration", Duration::ZERO);
    let (schedule, text) = match (period, cron) {
        (Some(period), None) => (Schedule::Period(period), format!("every {}", crate::duration::human(period))),
        (None, Some(cron)) => match CronExpr::parse(&cron.value) {
            Ok(expr) => (Schedule::Cron { expr, tz: time_zone }, format!("{} {}", cron.value.trim(), time_zone.name())),
            Err(e) => {
                // Point at the column inside the string: one past the opening quote.
                let at = cron_span.start + e.column;
                r.error(at..at + 1, &cron.field, format!("{} (column {} of the expression)", e.message, e.column));
                return None;
            }
        },
        (Some(_), Some(_)) => {
            r.error(cron_span, &t.path("cron"), "set either `period` or `cron`, not both");
            return None;
        }
        (None, None) => {
            if period_span == t.span() && cron_span == t.span() {
                r.error(
                    t.span(),
                    &t.path("period"),
                    "is required for kind \"heartbeat\": a `period` like \"1d\" or a `cron` expression",
                );
            }
            return None;
        }
    };
    if let (Some(min), Some(max)) = (min_duration, max_duration)
        && min >= max
    {
        r.error(t.key_span("min_duration"), &t.path("min_duration"), "must be shorter than `max_duration`");
    }
    let schedule_text = format!("{text} (grace {})", crate::duration::human(grace));
    Some(HeartbeatSpec {
        uuid,
        slug: slug.unwrap_or_else(|| id.as_str().to_owned()),
        schedule: Heartbeat { schedule, grace },
        schedule_text,
        max_duration,
        min_duration,
    })
}

fn parse_metric(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<MetricSpec> {
    let condition_span = t.key_span("condition");
    let condition = t.string_at(r, "condition");
    let condition = match condition {
        Some(c) => match MetricCondition::parse(&c.value) {
            Ok(condition) => Some(condition),
            Err(e) => {
                let at = condition_span.start + e.column;
                r.error(at..at + 1, &c.field, format!("{} (column {} of the condition)", e.message, e.column));
                None
            }
        },
        None => {
            if condition_span == t.span() {
                r.error(
                    t.span(),
                    &t.path("condition"),
                    "is required for kind \"metric\": a condition like \"avg(value) > 1000\"",
                );
            }
            None
        }
    };
    let window = t.duration(r, "window", Duration::from_secs(1)).unwrap_or(DEFAULT_METRIC_WINDOW);
    let hold_for = t.duration(r, "for", Duration::ZERO).unwrap_or(Duration::ZERO);
    let recover_for = t.duration(r, "recover_for", Duration::ZERO).unwrap_or(Duration::ZERO);
    let url_span = t.key_span("url");
    let url = t.parsed(r, "url", parse_http_url);
    let json_path = t.string_at(r, "json_path");
    let headers = parse_headers(r, t);
    let pull = match (url, json_path) {
        (Some(url), Some(path)) => match crate::metric::parse_json_path(&path.value) {
            Ok(()) => Some(MetricPull { url, headers, json_path: path.value }),
            Err(e) => {
                r.error(path.span, &path.field, e);
                None
            }
        },
        (Some(_), None) => {
            r.error(
                url_span,
                &t.path("json_path"),
                "is required with `url`: where the number is in the JSON, like \"queue.depth\"",
            );
            None
        }
        (None, Some(path)) => {
            r.error(path.span, &path.field, "needs a `url` to fetch the JSON from");
            None
        }
        (None, None) => None,
    };
    Some(MetricSpec { condition: condition?, window, hold_for, recover_for, pull })
}

fn parse_push(r: &mut Report<'_>, t: &mut Fields<'_, '_>, id: &MonitorId) -> Option<PushSpec> {
    let key = t.parsed(r, "key", |s| MonitorId::parse(s).map(|id| id.as_str().to_owned()));
    let token = t.parsed(r, "token", |s| {
        if s.len() >= 16 && s.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(s.to_owned())
        } else {
            Err("must be at least 16 printable characters without spaces".to_owned())
        }
    });
    if token.is_none() && t.key_span("token") == t.span() {
        r.error(t.span(), &t.path("token"), "is required for kind \"push\": the bearer token pushers send");
    }
    let heartbeat = t
        .duration(r, "heartbeat", Duration::from_secs(1))
        .map(|every| Heartbeat { schedule: Schedule::Period(every), grace: Duration::ZERO });
    Some(PushSpec { key: key.unwrap_or_else(|| id.as_str().to_owned()), token: token?, heartbeat })
}

#[cfg(test)]
mod tests;
