//! The configuration file, checked once into a runtime model.
//!
//! [`Config::parse`] takes the file's text and either returns a [`Config`] whose every value is
//! already typed (durations, URLs, time zones, status ranges) or every error in the file, each
//! naming the file, line and field. Nothing downstream re-validates.

// The channel kinds in `notify/` decode their own settings with it.
pub(crate) mod decode;

use std::collections::{BTreeMap, HashMap, HashSet};
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
/// Every channel kind's own fields, for a channel whose kind is missing or unknown.
const CHANNEL_KIND_FIELDS: &[&[&str]] = &[
    webhook::FIELDS,
    INCOMING_WEBHOOK,
    ntfy::FIELDS,
    pagerduty::FIELDS,
    opsgenie::FIELDS,
    telegram::FIELDS,
    email::FIELDS,
];
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
/// Every monitor kind's own fields, for a monitor whose kind is missing or unknown.
const MONITOR_KIND_FIELDS: &[&[&str]] = &[HTTP, TCP, DNS, TLS, ICMP, HEARTBEAT, PUSH, METRIC];
/// How often a monitor is checked unless it says otherwise.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
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
        // Every id is checked for repeats, and every reference resolved, whatever else is wrong
        // with the table it is in: one mistake in a table must not hide or invent others.
        let mut components = Vec::new();
        let mut component_ids = Ids::new("component id");
        for t in top.tables(&mut r, "component") {
            let (id, component) = parse_component(&mut r, t);
            if let Some(id) = &id {
                component_ids.add(&mut r, id, &id.value, false);
            }
            components.extend(component);
        }
        let smtp_table = top.table(&mut r, "smtp");
        let has_smtp = smtp_table.is_some();
        let smtp = smtp_table.and_then(|t| email::parse_smtp(&mut r, t));
        let mut channels = Vec::new();
        let mut channel_ids = Ids::new("channel id");
        for t in top.tables(&mut r, "channel") {
            let (id, channel) = parse_channel(&mut r, t, has_smtp);
            if let Some(id) = &id {
                channel_ids.add(&mut r, id, &id.value, false);
            }
            channels.extend(channel);
        }
        let mut parsed = Vec::new();
        let mut monitor_ids = Ids::new("monitor id");
        let mut slugs = Ids::noted("heartbeat slug", " (a heartbeat's slug is its id unless `slug` is set)");
        let mut uuids = Ids::new("heartbeat uuid");
        let mut keys = Ids::noted("push key", " (a push monitor's key is its id unless `key` is set)");
        for t in top.tables(&mut r, "monitor") {
            let monitor = parse_monitor(&mut r, t, &component_ids, &channel_ids);
            let repeated = monitor.id.as_ref().is_some_and(|id| !monitor_ids.add(&mut r, id, id.value.as_str(), false));
            let PingNames { slug, uuid, key } = &monitor.names;
            for (names, name) in [(&mut slugs, slug), (&mut uuids, uuid), (&mut keys, key)] {
                // A name the id stands in for repeats with the id, which has had its error.
                if let Some(name) = name
                    && !(name.from_id && repeated)
                {
                    names.add(&mut r, &name.at, &name.at.value, name.from_id);
                }
            }
            parsed.push(monitor);
        }
        check_dependencies(&mut r, &parsed);
        // A private component hides its monitors wherever `public` is read.
        let private: HashSet<&str> = components.iter().filter(|c| !c.public).map(|c| c.id.as_str()).collect();
        let monitors = parsed
            .into_iter()
            .filter_map(|p| p.monitor)
            .map(|mut m| {
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

/// The ids of one kind of table seen so far, each with the line it was first written on, so a
/// repeat is reported where it is written and names the line of the first.
struct Ids {
    what: &'static str,
    /// Said after the message when either of the two was not written but stood in for by the id.
    from_id_note: &'static str,
    /// Each id's line, and whether the id stood in for it there.
    first: HashMap<String, (usize, bool)>,
}

impl Ids {
    fn new(what: &'static str) -> Ids {
        Ids::noted(what, "")
    }

    fn noted(what: &'static str, from_id_note: &'static str) -> Ids {
        Ids { what, from_id_note, first: HashMap::new() }
    }

    /// Records `id`, written at `at`, or reports it when an earlier table has it; true when new.
    fn add<T>(&mut self, r: &mut Report<'_>, at: &At<T>, id: &str, from_id: bool) -> bool {
        match self.first.get(id) {
            Some(&(line, first_from_id)) => {
                let note = if from_id || first_from_id { self.from_id_note } else { "" };
                let message = format!("duplicate {} `{id}`, first on line {line}{note}", self.what);
                r.error(at.span.clone(), &at.field, message);
                false
            }
            None => {
                self.first.insert(id.to_owned(), (r.line_of(at.span.start), from_id));
                true
            }
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.first.contains_key(id)
    }
}

/// A table's `id`, with where it was written; its absence is reported as `is required`.
fn parse_id<T>(
    r: &mut Report<'_>,
    t: &mut Fields<'_, '_>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<At<T>> {
    let absent = t.key_span("id") == t.span();
    let id = t.parsed_at(r, "id", parse);
    if id.is_none() && absent {
        r.error(t.span(), &t.path("id"), "is required");
    }
    id
}

/// A name a told monitor is found by besides its id: a heartbeat's slug or uuid, a push monitor's
/// key. The engine hands a ping to the one monitor with that name, so no two may share one.
struct PingName {
    at: At<String>,
    /// Not written: the monitor's id stands in for it, and `at` is where the id is.
    from_id: bool,
}

impl PingName {
    /// The name as written, or else the id when the field is absent (not when it is wrong).
    fn of(written: Option<&At<String>>, absent: bool, id: Option<&At<MonitorId>>) -> Option<PingName> {
        match (written, id) {
            (Some(at), _) => Some(PingName { at: at.clone(), from_id: false }),
            (None, Some(id)) if absent => Some(PingName {
                at: At { value: id.value.as_str().to_owned(), span: id.span.clone(), field: id.field.clone() },
                from_id: true,
            }),
            _ => None,
        }
    }
}

/// The ping names of one `[[monitor]]` table.
#[derive(Default)]
struct PingNames {
    slug: Option<PingName>,
    uuid: Option<PingName>,
    key: Option<PingName>,
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

/// The component's id, when it has a valid one, and the component, when all of it is valid.
fn parse_component(r: &mut Report<'_>, mut t: Fields<'_, '_>) -> (Option<At<String>>, Option<Component>) {
    let id = parse_id(r, &mut t, |s| MonitorId::parse(s).map(|id| id.as_str().to_owned()));
    let name = t.required_string(r, "name");
    let group = t.string(r, "group");
    let description = t.string(r, "description");
    let public = t.bool(r, "public").unwrap_or(true);
    t.finish(r, COMPONENT);
    let component = match (&id, name) {
        (Some(id), Some(name)) => Some(Component { id: id.value.clone(), name, group, description, public }),
        _ => None,
    };
    (id, component)
}

/// What one `[[monitor]]` table gave: its id, `depends_on` and ping names whenever they are
/// valid, so the checks across monitors (repeated ids and names, dependencies) see every monitor
/// however wrong the rest of it is, and the monitor when all of it is valid.
struct ParsedMonitor {
    id: Option<At<MonitorId>>,
    depends_on: Option<At<MonitorId>>,
    names: PingNames,
    monitor: Option<Monitor>,
}

fn parse_monitor(r: &mut Report<'_>, mut t: Fields<'_, '_>, components: &Ids, channels: &Ids) -> ParsedMonitor {
    let id = parse_id(r, &mut t, MonitorId::parse);
    let name = t.required_string(r, "name");
    let kind_name = t.string_at(r, "kind");
    // An interval written wrong is reported once, and nothing is measured against a default the
    // operator did not choose.
    let interval_absent = t.key_span("interval") == t.span();
    let interval = t.duration(r, "interval", Duration::from_secs(1)).or(interval_absent.then_some(DEFAULT_INTERVAL));
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

    let timeout = match (timeout, interval) {
        (Some(timeout), Some(interval)) if timeout > interval => {
            r.error(timeout_span, &t.path("timeout"), "must not be longer than the interval");
            timeout
        }
        (Some(timeout), _) => timeout,
        (None, interval) => interval.unwrap_or(DEFAULT_INTERVAL).min(Duration::from_secs(10)),
    };
    let interval = interval.unwrap_or(DEFAULT_INTERVAL);
    if let Some(c) = &component
        && !components.contains(&c.value)
    {
        r.error(c.span.clone(), &c.field, format!("no [[component]] has id `{}`", c.value));
    }

    // Each kind takes its own fields even when the id is wrong: the id's error is its own, and the
    // kind's fields are still checked, so a typo among them is found and a valid one is not called
    // unknown.
    let mut names = PingNames::default();
    let (kind, fields) = match kind_name.as_ref().map(|k| k.value.as_str()) {
        Some("http") => (parse_http(r, &mut t).map(MonitorKind::Http), Some(HTTP)),
        Some("tcp") => (parse_tcp(r, &mut t).map(MonitorKind::Tcp), Some(TCP)),
        Some("dns") => (parse_dns(r, &mut t).map(MonitorKind::Dns), Some(DNS)),
        Some("tls") => (parse_tls(r, &mut t).map(MonitorKind::Tls), Some(TLS)),
        Some("icmp") => (parse_icmp(r, &mut t).map(MonitorKind::Icmp), Some(ICMP)),
        Some("heartbeat") => {
            (parse_heartbeat(r, &mut t, id.as_ref(), &mut names).map(MonitorKind::Heartbeat), Some(HEARTBEAT))
        }
        Some("metric") => (parse_metric(r, &mut t).map(MonitorKind::Metric), Some(METRIC)),
        Some("push") => (parse_push(r, &mut t, id.as_ref(), &mut names).map(MonitorKind::Push), Some(PUSH)),
        Some(other) => {
            if let Some(k) = &kind_name {
                r.error(k.span.clone(), &k.field, format!("unknown kind `{other}`; expected {KINDS}"));
            }
            (None, None)
        }
        None => {
            // A `kind` that is not a string has had its error; only a missing one is reported here.
            if t.key_span("kind") == t.span() {
                r.error(t.span(), &t.path("kind"), format!("is required: {KINDS}"));
            }
            (None, None)
        }
    };
    match fields {
        Some(fields) => t.finish(r, &[MONITOR_COMMON, fields].concat()),
        // Without a kind, a field is unknown only when no kind takes it.
        None => t.finish_any_kind(r, &every_field(MONITOR_COMMON, MONITOR_KIND_FIELDS)),
    }
    let monitor = match (&id, name, kind) {
        (Some(id), Some(name), Some(kind)) => {
            // A told monitor speaks once per expected ping: that is its interval for uptime's "no data".
            let interval = match &kind {
                MonitorKind::Heartbeat(spec) => crate::heartbeat::longest_gap(&spec.schedule),
                MonitorKind::Push(PushSpec { heartbeat: Some(heartbeat), .. }) => {
                    crate::heartbeat::longest_gap(heartbeat)
                }
                _ => interval,
            };
            Some(Monitor {
                id: id.value.clone(),
                name,
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
            })
        }
        _ => None,
    };
    ParsedMonitor { id, depends_on, names, monitor }
}

/// `common` and every kind's fields, each once, in the order the kinds are listed.
fn every_field(common: &[&'static str], kinds: &[&[&'static str]]) -> Vec<&'static str> {
    let mut all = common.to_vec();
    for field in kinds.iter().flat_map(|k| k.iter()) {
        if !all.contains(field) {
            all.push(field);
        }
    }
    all
}

/// Every `depends_on` names another declared monitor, and following them never comes back: a
/// cycle would silence all of its monitors' alerts for good.
///
/// Every monitor with a valid id counts, even one with other errors: naming it is not wrong too.
/// A repeated id stands for its first monitor.
fn check_dependencies(r: &mut Report<'_>, monitors: &[ParsedMonitor]) {
    let mut index: BTreeMap<&MonitorId, usize> = BTreeMap::new();
    for (i, m) in monitors.iter().enumerate() {
        if let Some(id) = &m.id {
            index.entry(&id.value).or_insert(i);
        }
    }
    let mut next = vec![None; monitors.len()];
    for (i, m) in monitors.iter().enumerate() {
        let Some(d) = &m.depends_on else { continue };
        if m.id.as_ref().is_some_and(|id| id.value == d.value) {
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
                    // Only monitors with an id are pointed at, so every member of a cycle has one.
                    let names: Vec<String> = cycle
                        .iter()
                        .chain(&cycle[..1])
                        .map(|&p| format!("`{}`", monitors[p].id.as_ref().map_or("?", |id| id.value.as_str())))
                        .collect();
                    if let Some(d) = &monitors[cycle[0]].depends_on {
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
fn parse_channel(r: &mut Report<'_>, mut t: Fields<'_, '_>, has_smtp: bool) -> (Option<At<String>>, Option<Channel>) {
    let id = parse_id(r, &mut t, |s| MonitorId::parse(s).map(|id| id.as_str().to_owned()));
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
        Some("webhook") => (webhook::parse(r, &mut t).map(ChannelKind::Webhook), Some(webhook::FIELDS)),
        Some("slack") => (parse_incoming_webhook(r, &mut t, "slack").map(ChannelKind::Slack), Some(INCOMING_WEBHOOK)),
        Some("discord") => {
            (parse_incoming_webhook(r, &mut t, "discord").map(ChannelKind::Discord), Some(INCOMING_WEBHOOK))
        }
        Some("teams") => (parse_incoming_webhook(r, &mut t, "teams").map(ChannelKind::Teams), Some(INCOMING_WEBHOOK)),
        Some("ntfy") => (ntfy::parse(r, &mut t).map(ChannelKind::Ntfy), Some(ntfy::FIELDS)),
        Some("pagerduty") => (pagerduty::parse(r, &mut t).map(ChannelKind::PagerDuty), Some(pagerduty::FIELDS)),
        Some("opsgenie") => (opsgenie::parse(r, &mut t).map(ChannelKind::Opsgenie), Some(opsgenie::FIELDS)),
        Some("telegram") => (telegram::parse(r, &mut t).map(ChannelKind::Telegram), Some(telegram::FIELDS)),
        Some("email") => {
            if !has_smtp && let Some(k) = &kind_name {
                let id = id.as_ref().map_or("?", |id| id.value.as_str());
                r.error(
                    k.span.clone(),
                    &k.field,
                    format!("channel `{id}` sends email, but there is no [smtp] table to send it through"),
                );
            }
            (email::parse(r, &mut t).map(ChannelKind::Email), Some(email::FIELDS))
        }
        Some(other) => {
            if let Some(k) = &kind_name {
                let kinds = ChannelKind::NAMES.join(", ");
                r.error(k.span.clone(), &k.field, format!("unknown kind `{other}`; expected one of: {kinds}"));
            }
            (None, None)
        }
        None => {
            // A `kind` that is not a string has had its error; only a missing one is reported here.
            if t.key_span("kind") == t.span() {
                r.error(t.span(), &t.path("kind"), format!("is required: one of {}", ChannelKind::NAMES.join(", ")));
            }
            (None, None)
        }
    };
    match fields {
        Some(fields) => t.finish(r, &[CHANNEL_COMMON, fields].concat()),
        // Without a kind, a field is unknown only when no kind takes it.
        None => t.finish_any_kind(r, &every_field(CHANNEL_COMMON, CHANNEL_KIND_FIELDS)),
    }
    let channel = match (&id, kind) {
        (Some(id), Some(kind)) => Some(Channel { id: id.value.clone(), kind, events, rate_limit }),
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

/// `id` is the monitor's, when valid: the slug defaults to it. The slug and uuid go to `names`
/// whether or not the rest is valid.
fn parse_heartbeat(
    r: &mut Report<'_>,
    t: &mut Fields<'_, '_>,
    id: Option<&At<MonitorId>>,
    names: &mut PingNames,
) -> Option<HeartbeatSpec> {
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
    let uuid = t.parsed_at(r, "uuid", parse_uuid);
    let slug_absent = t.key_span("slug") == t.span();
    let slug = t.parsed_at(r, "slug", |s| MonitorId::parse(s).map(|id| id.as_str().to_owned()));
    names.uuid = uuid.as_ref().map(|at| PingName { at: at.clone(), from_id: false });
    names.slug = PingName::of(slug.as_ref(), slug_absent, id);
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
    let slug = match slug {
        Some(slug) => slug.value,
        None => id?.value.as_str().to_owned(),
    };
    Some(HeartbeatSpec {
        uuid: uuid.map(|u| u.value),
        slug,
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
    let json_path_absent = t.key_span("json_path") == t.span();
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
        // A `url` or `json_path` written wrong has had its error; only a missing one is reported.
        (Some(_), None) if json_path_absent => {
            r.error(
                url_span,
                &t.path("json_path"),
                "is required with `url`: where the number is in the JSON, like \"queue.depth\"",
            );
            None
        }
        (None, Some(path)) if url_span == t.span() => {
            r.error(path.span, &path.field, "needs a `url` to fetch the JSON from");
            None
        }
        _ => None,
    };
    Some(MetricSpec { condition: condition?, window, hold_for, recover_for, pull })
}

/// `id` is the monitor's, when valid: the key defaults to it. The key goes to `names` whether or
/// not the rest is valid.
fn parse_push(
    r: &mut Report<'_>,
    t: &mut Fields<'_, '_>,
    id: Option<&At<MonitorId>>,
    names: &mut PingNames,
) -> Option<PushSpec> {
    let key_absent = t.key_span("key") == t.span();
    let key = t.parsed_at(r, "key", |s| MonitorId::parse(s).map(|id| id.as_str().to_owned()));
    names.key = PingName::of(key.as_ref(), key_absent, id);
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
    let key = match key {
        Some(key) => key.value,
        None => id?.value.as_str().to_owned(),
    };
    Some(PushSpec { key, token: token?, heartbeat })
}

#[cfg(test)]
mod tests;
