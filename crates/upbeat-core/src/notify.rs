//! Team notifications, the pure half: channels, the events they take, and what each service is
//! sent.
//!
//! The delivery worker (in the binary) turns an event-log row into an [`Alert`]: plain data,
//! names and times already looked up. It asks [`wants`] whether the channel takes that event and
//! the channel's [`RateLimit`] whether one more may go now, then [`render`]s the alert into a
//! [`Rendered`] message: an HTTP request or an email. Nothing here sends, reads the environment or
//! looks at the clock: secrets resolve through a function the caller passes, times come in the
//! alert, and a rate limit is told the times of earlier sends.
//!
//! Every channel kind is a module of its own with its settings, their parsing and its message; a
//! new kind is one module and one variant of [`ChannelKind`], and the compiler finds the rest.
//! The words are shared (`text.rs`), so every channel says the same thing in its own markup, and
//! whatever a person or an API writes reaches a service only through that service's escaping.
//!
//! Two kinds write HTML, email and Telegram, although pages' HTML is the web crate's alone: these
//! are messages, not pages, and rendering them must stay pure and next to the other kinds. They
//! build it with `text::Html`, which takes markup only as `&'static str` and text only escaped,
//! the same guarantee the web crate's auto-escaping templates give.

mod hmac;
mod text;

pub mod discord;
pub mod email;
pub mod ntfy;
pub mod opsgenie;
pub mod pagerduty;
pub mod slack;
pub mod teams;
pub mod telegram;
pub mod webhook;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use hmac::hmac_sha256;
pub(crate) use text::check_url;

use crate::config::Page;
use crate::incident::{Impact, Incident, IncidentStatus, IncidentUpdate};
use crate::maintenance::Maintenance;
use crate::monitor::Monitor;
use crate::outage::Outage;
use crate::sample::ErrorKind;
use crate::{MonitorId, OutageId};

names! {
    /// What an alert tells of. The names are stable: they are written in `events = [...]`, sent
    /// as the webhook's `event` and its `X-Upbeat-Event` header, and stored.
    AlertEvent {
        OutageOpened = "outage_opened",
        OutageClosed = "outage_closed",
        HeartbeatLate = "heartbeat_late",
        HeartbeatFailed = "heartbeat_failed",
        IncidentOpened = "incident_opened",
        IncidentUpdated = "incident_updated",
        IncidentResolved = "incident_resolved",
        MaintenanceStarted = "maintenance_started",
        MaintenanceEnded = "maintenance_ended",
        CertificateExpiring = "certificate_expiring",
        Test = "test",
    }
}

impl AlertEvent {
    /// The stable snake_case name (the same as `as_str`).
    pub fn name(self) -> &'static str {
        self.as_str()
    }

    /// The event an outage opens with, from its cause (`<error kind>: <message>`): a heartbeat or
    /// push that did not arrive is `heartbeat_late`, one that reported a failure or ran too long
    /// or too short is `heartbeat_failed`, a certificate about to expire is
    /// `certificate_expiring`; anything else is `outage_opened`.
    pub fn opened_by(cause: &str) -> AlertEvent {
        let kind = cause.split_once(':').map_or(cause, |(kind, _)| kind).trim();
        match ErrorKind::parse(kind) {
            Some(ErrorKind::Late) => AlertEvent::HeartbeatLate,
            Some(ErrorKind::Failed | ErrorKind::Duration) => AlertEvent::HeartbeatFailed,
            Some(ErrorKind::Certificate) => AlertEvent::CertificateExpiring,
            _ => AlertEvent::OutageOpened,
        }
    }

    /// What one incident update is: its resolution, the update that opened the incident (no
    /// update of `incident.updates` is older), or a later one.
    pub fn of_incident_update(incident: &Incident, update: &IncidentUpdate) -> AlertEvent {
        if update.status == IncidentStatus::Resolved {
            AlertEvent::IncidentResolved
        } else if incident.updates.iter().all(|u| u.id >= update.id) {
            AlertEvent::IncidentOpened
        } else {
            AlertEvent::IncidentUpdated
        }
    }

    /// It ends what an earlier event with the same dedup key began: PagerDuty resolves it,
    /// Opsgenie closes it.
    pub fn is_resolution(self) -> bool {
        matches!(self, AlertEvent::OutageClosed | AlertEvent::IncidentResolved | AlertEvent::MaintenanceEnded)
    }
}

/// Everything a message needs, already resolved to plain data, so rendering looks nothing up.
///
/// The delivery worker builds one from an event-log row and the configuration with the
/// constructors below; `at` is when the event happened, never when it is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub event: AlertEvent,
    pub at: DateTime<Utc>,
    pub page: PageRef,
    /// Where a person should look: the incident's page, or the status page.
    pub link: String,
    /// The same for every alert about one thing (the outage id, `incident:<id>`,
    /// `maintenance:<id>`), so PagerDuty and Opsgenie fold them into one alert and resolve it.
    pub dedup_key: String,
    /// 0 for the first notice; n for the nth reminder that an outage is still open.
    pub reminder: u32,
    pub monitor: Option<AlertMonitor>,
    pub outage: Option<AlertOutage>,
    pub incident: Option<AlertIncident>,
    pub maintenance: Option<AlertMaintenance>,
}

/// The status page an alert is from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRef {
    pub title: String,
    /// The page's base URL.
    pub url: String,
}

impl From<&Page> for PageRef {
    fn from(page: &Page) -> PageRef {
        PageRef { title: page.title.clone(), url: page.base_url.clone() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertMonitor {
    pub id: MonitorId,
    pub name: String,
}

impl From<&Monitor> for AlertMonitor {
    fn from(monitor: &Monitor) -> AlertMonitor {
        AlertMonitor { id: monitor.id.clone(), name: monitor.name.clone() }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertOutage {
    pub id: OutageId,
    pub started_at: DateTime<Utc>,
    /// Set on `outage_closed` only: an alert that an outage opened says nothing of its end, even
    /// when it is sent after it.
    pub ended_at: Option<DateTime<Utc>>,
    /// The first failing sample's error, `kind: message`.
    pub cause: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertIncident {
    pub id: i64,
    pub title: String,
    /// The status the update set.
    pub status: IncidentStatus,
    pub impact: Impact,
    /// The update's Markdown, as written.
    pub update: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertMaintenance {
    pub id: i64,
    pub title: String,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    pub components: Vec<String>,
}

impl Alert {
    fn new(event: AlertEvent, at: DateTime<Utc>, page: &Page, link: String, dedup_key: String) -> Alert {
        Alert {
            event,
            at,
            page: PageRef::from(page),
            link,
            dedup_key,
            reminder: 0,
            monitor: None,
            outage: None,
            incident: None,
            maintenance: None,
        }
    }

    /// An outage opened, at its first failing sample; the event follows its cause
    /// ([`AlertEvent::opened_by`]).
    pub fn outage_opened(page: &Page, monitor: AlertMonitor, outage: &Outage) -> Alert {
        let event = AlertEvent::opened_by(&outage.cause);
        let mut alert = Alert::new(event, outage.started_at, page, page.base_url.clone(), outage.id.to_string());
        alert.monitor = Some(monitor);
        alert.outage = Some(AlertOutage {
            id: outage.id.clone(),
            started_at: outage.started_at,
            ended_at: None,
            cause: outage.cause.clone(),
        });
        alert
    }

    /// An outage closed, at its end (its start when the outage given is still open).
    pub fn outage_closed(page: &Page, monitor: AlertMonitor, outage: &Outage) -> Alert {
        let end = outage.ended_at.unwrap_or(outage.started_at);
        let mut alert = Alert::new(AlertEvent::OutageClosed, end, page, page.base_url.clone(), outage.id.to_string());
        alert.monitor = Some(monitor);
        alert.outage = Some(AlertOutage {
            id: outage.id.clone(),
            started_at: outage.started_at,
            ended_at: Some(end),
            cause: outage.cause.clone(),
        });
        alert
    }

    /// The `n`th reminder (from 1) that the outage of an [`Alert::outage_opened`] is still open at
    /// `now`: the same event and dedup key, said again.
    pub fn reminder(mut self, n: u32, now: DateTime<Utc>) -> Alert {
        self.reminder = n;
        self.at = now;
        self
    }

    /// One incident update: opened, updated or resolved ([`AlertEvent::of_incident_update`]), at
    /// the update's time.
    pub fn incident(page: &Page, incident: &Incident, update: &IncidentUpdate) -> Alert {
        let event = AlertEvent::of_incident_update(incident, update);
        let link = crate::incident::link(&page.base_url, incident.id);
        let mut alert = Alert::new(event, update.created_at, page, link, format!("incident:{}", incident.id));
        alert.incident = Some(AlertIncident {
            id: incident.id,
            title: incident.title.clone(),
            status: update.status,
            impact: incident.impact,
            update: Some(update.body.clone()),
        });
        alert
    }

    pub fn maintenance_started(page: &Page, window: &Maintenance, at: DateTime<Utc>) -> Alert {
        Alert::maintenance(AlertEvent::MaintenanceStarted, page, window, at)
    }

    pub fn maintenance_ended(page: &Page, window: &Maintenance, at: DateTime<Utc>) -> Alert {
        Alert::maintenance(AlertEvent::MaintenanceEnded, page, window, at)
    }

    fn maintenance(event: AlertEvent, page: &Page, window: &Maintenance, at: DateTime<Utc>) -> Alert {
        let mut alert = Alert::new(event, at, page, page.base_url.clone(), format!("maintenance:{}", window.id));
        alert.maintenance = Some(AlertMaintenance {
            id: window.id,
            title: window.title.clone(),
            scheduled_for: window.scheduled_for,
            scheduled_until: window.scheduled_until,
            components: window.components.clone(),
        });
        alert
    }

    /// `upbeat channel test`: its own dedup key each time, so a service shows every test.
    pub fn test(page: &Page, at: DateTime<Utc>) -> Alert {
        Alert::new(AlertEvent::Test, at, page, page.base_url.clone(), format!("test:{}", at.timestamp_millis()))
    }

    /// How long the outage lasted (closed) or has lasted so far (a reminder).
    pub fn down_for(&self) -> Option<Duration> {
        let outage = self.outage.as_ref()?;
        let end = match outage.ended_at {
            Some(end) => end,
            None if self.reminder > 0 => self.at,
            None => return None,
        };
        (end - outage.started_at).to_std().ok()
    }
}

/// A credential as written in the configuration: the value itself, or `env:NAME` to read it from
/// the environment when a message is rendered. Its `Debug` never shows a value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Source);

#[derive(Clone, PartialEq, Eq)]
enum Source {
    Literal(String),
    Env(String),
}

impl Secret {
    /// `env:NAME` (a letter or `_`, then letters, digits and `_`) or the value itself.
    pub fn parse(text: &str) -> Result<Secret, String> {
        match text.strip_prefix("env:") {
            Some(name) => {
                let ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if ok {
                    Ok(Secret(Source::Env(name.to_owned())))
                } else {
                    Err(format!("`env:{name}` must name an environment variable, like \"env:UPBEAT_SLACK_URL\""))
                }
            }
            None if text.trim().is_empty() => Err("must not be empty".to_owned()),
            None => Ok(Secret(Source::Literal(text.to_owned()))),
        }
    }

    /// [`Secret::parse`], then `check` on a value written in the file (one from the environment
    /// is checked when it is resolved).
    pub(crate) fn parse_checked(text: &str, check: impl Fn(&str) -> Result<(), String>) -> Result<Secret, String> {
        let secret = Secret::parse(text)?;
        if let Source::Literal(value) = &secret.0 {
            // The error must not quote the value: it is a secret.
            check(value)?;
        }
        Ok(secret)
    }

    pub fn literal(value: impl Into<String>) -> Secret {
        Secret(Source::Literal(value.into()))
    }

    /// The environment variable it is read from, if any: `config check` can say it is missing.
    pub fn env_name(&self) -> Option<&str> {
        match &self.0 {
            Source::Env(name) => Some(name),
            Source::Literal(_) => None,
        }
    }

    /// The value; `env` looks a variable up (the binary passes `std::env::var`).
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        match &self.0 {
            Source::Literal(value) => Ok(value.clone()),
            Source::Env(name) => match env(name) {
                Some(value) if !value.trim().is_empty() => Ok(value),
                Some(_) => Err(format!("the environment variable `{name}` is empty")),
                None => Err(format!("the environment variable `{name}` is not set")),
            },
        }
    }

    /// [`Secret::resolve`], then `check` the value, naming the variable when it came from one.
    pub(crate) fn resolve_checked(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Result<String, String> {
        let value = self.resolve(env)?;
        match (&self.0, check(&value)) {
            (_, Ok(())) => Ok(value),
            (Source::Env(name), Err(e)) => Err(format!("the environment variable `{name}`: {e}")),
            (Source::Literal(_), Err(e)) => Err(e),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Literal(_) => f.write_str("Secret(<redacted>)"),
            Source::Env(name) => write!(f, "Secret(env:{name})"),
        }
    }
}

/// `[[channel]]`: somewhere alerts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub id: String,
    pub kind: ChannelKind,
    /// The events it takes; all of them when `None`. A test message always goes.
    pub events: Option<Vec<AlertEvent>>,
    pub rate_limit: Option<RateLimit>,
}

/// The closed list of channel kinds, each with its settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    Webhook(webhook::WebhookSpec),
    Slack(IncomingWebhook),
    Discord(IncomingWebhook),
    Teams(IncomingWebhook),
    Ntfy(ntfy::NtfySpec),
    PagerDuty(pagerduty::PagerDutySpec),
    Opsgenie(opsgenie::OpsgenieSpec),
    Telegram(telegram::TelegramSpec),
    Email(email::EmailSpec),
}

impl ChannelKind {
    /// Every kind's name, in the order errors list them.
    pub const NAMES: &'static [&'static str] =
        &["webhook", "slack", "discord", "teams", "ntfy", "pagerduty", "opsgenie", "telegram", "email"];

    pub fn name(&self) -> &'static str {
        match self {
            ChannelKind::Webhook(_) => "webhook",
            ChannelKind::Slack(_) => "slack",
            ChannelKind::Discord(_) => "discord",
            ChannelKind::Teams(_) => "teams",
            ChannelKind::Ntfy(_) => "ntfy",
            ChannelKind::PagerDuty(_) => "pagerduty",
            ChannelKind::Opsgenie(_) => "opsgenie",
            ChannelKind::Telegram(_) => "telegram",
            ChannelKind::Email(_) => "email",
        }
    }
}

/// Slack, Discord and Teams (workflow) incoming webhooks: the URL is the credential, so it is a
/// [`Secret`] and may come from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingWebhook {
    pub url: Secret,
}

/// Whether `channel` takes `event`: its `events` list, if it has one. A test always goes.
pub fn wants(channel: &Channel, event: AlertEvent) -> bool {
    event == AlertEvent::Test || channel.events.as_ref().is_none_or(|events| events.contains(&event))
}

/// An HTTP request to send as it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub method: http::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    fn post(url: String) -> Request {
        Request { method: http::Method::POST, url, headers: Vec::new(), body: Vec::new() }
    }

    fn json(url: String, value: &serde_json::Value) -> Request {
        let mut request = Request::post(url);
        request.headers.push(("Content-Type".into(), "application/json".into()));
        request.body = text::json_body(value);
        request
    }

    /// The first header called `name`, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Shows neither header values nor the URL's path and query: tokens live there (Telegram's bot
/// token, a Slack webhook's key), and requests end up in logs.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = self.url.parse::<http::Uri>().ok().and_then(|u| {
            let scheme = u.scheme_str()?.to_owned();
            Some(format!("{scheme}://{}/…", u.authority()?))
        });
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &origin.unwrap_or_else(|| "…".into()))
            .field("headers", &self.headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// A message ready to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rendered {
    Http(Request),
    /// The worker sends it through `[smtp]` as a multipart (text and HTML) message.
    Email {
        to: Vec<String>,
        subject: String,
        text: String,
        html: String,
        /// Extra headers, like a subscriber's `List-Unsubscribe`.
        headers: Vec<(String, String)>,
    },
}

/// The message `channel` gets for `alert`. `secrets` looks environment variables up for `env:`
/// secrets. An error is the configuration's (a variable not set, a value that is not a URL): it
/// will not go away by retrying.
pub fn render(channel: &Channel, alert: &Alert, secrets: &dyn Fn(&str) -> Option<String>) -> Result<Rendered, String> {
    let request = match &channel.kind {
        ChannelKind::Webhook(spec) => webhook::render(spec, alert, secrets)?,
        ChannelKind::Slack(spec) => slack::render(spec, alert, secrets)?,
        ChannelKind::Discord(spec) => discord::render(spec, alert, secrets)?,
        ChannelKind::Teams(spec) => teams::render(spec, alert, secrets)?,
        ChannelKind::Ntfy(spec) => ntfy::render(spec, alert, secrets)?,
        ChannelKind::PagerDuty(spec) => pagerduty::render(spec, alert, secrets)?,
        ChannelKind::Opsgenie(spec) => opsgenie::render(spec, alert, secrets)?,
        ChannelKind::Telegram(spec) => telegram::render(spec, alert, secrets)?,
        ChannelKind::Email(spec) => return Ok(email::render(spec, alert)),
    };
    Ok(Rendered::Http(request))
}

/// `rate_limit = "30/m"`: at most `count` messages in any `per`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub per: Duration,
}

/// Whether one more message may go now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    SendNow,
    /// The limit is reached; the next may go at this time.
    NotBefore(DateTime<Utc>),
}

impl RateLimit {
    /// `<count>/<unit>` (`30/m`, `1/s`, `100/h`) or `<count>/<duration>` (`5/10m`).
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let shape = || format!("`{text}` is not a rate; write it like \"30/m\", \"1/s\" or \"100/h\"");
        let (count, per) = text.split_once('/').ok_or_else(shape)?;
        let count: u32 = count.trim().parse().map_err(|_| shape())?;
        if count == 0 {
            return Err(format!("`{text}` allows nothing; remove the channel or its events instead"));
        }
        let per = per.trim();
        let per = if per.starts_with(|c: char| c.is_ascii_digit()) {
            crate::duration::parse(per)?
        } else {
            crate::duration::parse(&format!("1{per}")).map_err(|_| shape())?
        };
        if per < Duration::from_secs(1) {
            return Err(format!("`{text}`: the period must be at least 1s"));
        }
        Ok(RateLimit { count, per })
    }

    /// Given when earlier messages went (any order, older ones are ignored), whether one more may
    /// go at `now`, or else when. A message sent at `t` counts until `t + per`, exclusive.
    pub fn check(&self, sent: &[DateTime<Utc>], now: DateTime<Utc>) -> RateDecision {
        let per = chrono::Duration::from_std(self.per).unwrap_or(chrono::Duration::MAX);
        let mut recent: Vec<DateTime<Utc>> = sent.iter().copied().filter(|&t| t + per > now).collect();
        let limit = self.count as usize;
        if recent.len() < limit {
            return RateDecision::SendNow;
        }
        recent.sort_unstable();
        // One more may go once all but `count - 1` of them have left the window.
        RateDecision::NotBefore(recent[recent.len() - limit] + per)
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, crate::duration::human(self.per).replace(' ', ""))
    }
}

#[cfg(test)]
mod tests;
