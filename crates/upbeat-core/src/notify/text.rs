//! The words every channel says, and the helpers that put them into each service's markup.
//!
//! Channels agree on the headline (`API is down`), the facts (monitor, cause, since when) and the
//! details (an incident update's text), so a message reads the same in Slack and in an email.
//! These are plain text; each channel escapes them for its own markup, and only fixed strings
//! (`&'static str`) are ever markup. That is the one rule that keeps a monitor called `<script>`
//! or an incident titled `<@everyone>` inert everywhere.

use chrono::{DateTime, SecondsFormat, Utc};

use super::{Alert, AlertEvent};
use crate::incident::Impact;

/// A message's colour: red when something broke, green when it is fixed, amber for what people
/// announce (incidents, maintenance) and warnings, blue for a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    Red,
    Amber,
    Green,
    Blue,
}

impl Tone {
    pub(crate) fn of(event: AlertEvent) -> Tone {
        match event {
            AlertEvent::OutageOpened | AlertEvent::HeartbeatLate | AlertEvent::HeartbeatFailed => Tone::Red,
            AlertEvent::OutageClosed | AlertEvent::IncidentResolved | AlertEvent::MaintenanceEnded => Tone::Green,
            AlertEvent::CertificateExpiring
            | AlertEvent::IncidentOpened
            | AlertEvent::IncidentUpdated
            | AlertEvent::MaintenanceStarted => Tone::Amber,
            AlertEvent::Test => Tone::Blue,
        }
    }

    /// An emoji, for where a service has no colours (Slack's header, Discord's notification line).
    pub(crate) fn emoji(self) -> &'static str {
        match self {
            Tone::Red => "🔴",
            Tone::Amber => "🟠",
            Tone::Green => "🟢",
            Tone::Blue => "🔵",
        }
    }

    /// `#rrggbb`, for HTML.
    pub(crate) fn hex(self) -> &'static str {
        match self {
            Tone::Red => "#d93025",
            Tone::Amber => "#e37400",
            Tone::Green => "#188038",
            Tone::Blue => "#1a73e8",
        }
    }
}

/// How urgent an alert is, in the words of incident tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub(crate) fn of(alert: &Alert) -> Severity {
        match alert.event {
            AlertEvent::OutageOpened | AlertEvent::HeartbeatLate | AlertEvent::HeartbeatFailed => Severity::Critical,
            AlertEvent::CertificateExpiring => Severity::Warning,
            AlertEvent::IncidentOpened | AlertEvent::IncidentUpdated => match alert.incident.as_ref().map(|i| i.impact)
            {
                Some(Impact::Critical | Impact::Major) => Severity::Critical,
                Some(Impact::Minor) => Severity::Warning,
                Some(Impact::None) | None => Severity::Info,
            },
            AlertEvent::OutageClosed
            | AlertEvent::IncidentResolved
            | AlertEvent::MaintenanceStarted
            | AlertEvent::MaintenanceEnded
            | AlertEvent::Test => Severity::Info,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

fn monitor_name(alert: &Alert) -> &str {
    alert.monitor.as_ref().map_or("A monitor", |m| m.name.as_str())
}

/// One line that says what happened: `API is down`, `Incident: Slow logins (Identified)`.
pub(crate) fn headline(alert: &Alert) -> String {
    let m = monitor_name(alert);
    let incident = || match &alert.incident {
        Some(i) => format!("Incident: {} ({})", i.title, i.status.label()),
        None => "Incident".to_owned(),
    };
    let window = || alert.maintenance.as_ref().map_or("", |w| w.title.as_str());
    match alert.event {
        _ if alert.reminder > 0 => format!("{m} is still down"),
        AlertEvent::OutageOpened => format!("{m} is down"),
        AlertEvent::HeartbeatLate => format!("{m} is late"),
        AlertEvent::HeartbeatFailed => format!("{m} failed"),
        AlertEvent::CertificateExpiring => format!("{m}: certificate expires soon"),
        AlertEvent::OutageClosed => format!("{m} recovered"),
        AlertEvent::IncidentOpened | AlertEvent::IncidentUpdated | AlertEvent::IncidentResolved => incident(),
        AlertEvent::MaintenanceStarted => format!("Maintenance started: {}", window()),
        AlertEvent::MaintenanceEnded => format!("Maintenance completed: {}", window()),
        AlertEvent::Test => "Test message from upbeat".to_owned(),
    }
}

/// The facts under the headline, as (label, value).
pub(crate) fn facts(alert: &Alert) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    if let Some(m) = &alert.monitor {
        facts.push(("Monitor", m.name.clone()));
    }
    if let Some(o) = &alert.outage {
        facts.push(("Cause", o.cause.clone()));
        facts.push(("Down since", when(o.started_at)));
        if let Some(d) = alert.down_for() {
            facts.push(("Down for", crate::duration::human(d)));
        }
    }
    if let Some(i) = &alert.incident {
        facts.push(("Status", i.status.label().to_owned()));
        facts.push(("Impact", impact_label(i.impact).to_owned()));
    }
    if let Some(w) = &alert.maintenance {
        facts.push(("From", when(w.scheduled_for)));
        facts.push(("Until", when(w.scheduled_until)));
        if !w.components.is_empty() {
            facts.push(("Components", w.components.join(", ")));
        }
    }
    facts
}

/// The longer text, if any: an incident update's Markdown as written, or what a test is.
pub(crate) fn details(alert: &Alert) -> Option<String> {
    match (&alert.incident, alert.event) {
        (Some(i), _) => i.update.clone().filter(|u| !u.trim().is_empty()),
        (None, AlertEvent::Test) => Some("If you can read this, upbeat can reach this channel.".to_owned()),
        (None, _) => None,
    }
}

pub(crate) fn link_label(alert: &Alert) -> &'static str {
    if alert.incident.is_some() { "View the incident" } else { "Open the status page" }
}

/// Everything but the headline as plain text: the facts, the details and the link.
pub(crate) fn plain_body(alert: &Alert) -> String {
    let mut out = String::new();
    for (label, value) in facts(alert) {
        out.push_str(&format!("{label}: {value}\n"));
    }
    if let Some(details) = details(alert) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(details.trim_end());
        out.push('\n');
    }
    out.push_str(&format!("\n{}: {}\n", link_label(alert), alert.link));
    out
}

fn impact_label(impact: Impact) -> &'static str {
    match impact {
        Impact::None => "None",
        Impact::Minor => "Minor",
        Impact::Major => "Major",
        Impact::Critical => "Critical",
    }
}

/// A time for people: `2026-03-01 12:00:05 UTC`.
pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A time for programs, always the same shape: `2026-03-01T12:00:05.000Z`.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// At most `max` characters, the last one `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max => format!("{}…", &text[..cut]),
        _ => text.to_owned(),
    }
}

/// `text` escaped with `escape`, cut so that the escaped text has at most `max` characters
/// (services count what they receive, escapes included).
pub(crate) fn fit(text: &str, max: usize, escape: impl Fn(&str) -> String) -> String {
    let mut limit = max;
    loop {
        let escaped = escape(&truncate(text, limit));
        let count = escaped.chars().count();
        if count <= max || limit <= 1 {
            return escaped;
        }
        // Shrink in proportion to the overshoot, by at least one character.
        limit = (limit * max / count).min(limit - 1).max(1);
    }
}

/// One line for a header or a subject: control characters (line breaks above all) become
/// spaces, so nothing can add a header of its own.
pub(crate) fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

/// The five characters that matter in HTML text and attributes.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// HTML made of fixed markup and escaped text. Text gets in only through [`Html::text`] and
/// [`Html::link`], which escape it; markup only as `&'static str`. Email and Telegram use it.
#[derive(Default)]
pub(crate) struct Html(String);

impl Html {
    pub(crate) fn markup(&mut self, fixed: &'static str) -> &mut Html {
        self.0.push_str(fixed);
        self
    }

    pub(crate) fn text(&mut self, text: &str) -> &mut Html {
        self.0.push_str(&escape_html(text));
        self
    }

    /// A link, when `href` is an http(s) URL; otherwise just the label.
    pub(crate) fn link(&mut self, href: &str, label: &str) -> &mut Html {
        if check_url(href).is_ok() {
            self.markup("<a href=\"").text(href).markup("\">").text(label).markup("</a>")
        } else {
            self.text(label)
        }
    }

    pub(crate) fn finish(&mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

/// JSON whose bytes never hold `<`, `>` or `&` (written as `\u003c`, `\u003e`, `\u0026`, which
/// every JSON parser reads back): a body shown raw somewhere (a log viewer, a request bin) cannot
/// turn into markup. Those three bytes only ever appear inside JSON strings, never in its syntax.
pub(crate) fn json_body(value: &serde_json::Value) -> Vec<u8> {
    let json = value.to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

/// `base` and a path below it, with exactly one `/` between them.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// Percent-encodes everything but RFC 3986's unreserved characters: safe in any path segment.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An absolute http:// or https:// URL.
pub(crate) fn check_url(text: &str) -> Result<(), String> {
    let ok = text
        .parse::<http::Uri>()
        .is_ok_and(|uri| matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some());
    if ok { Ok(()) } else { Err("must be an absolute http:// or https:// URL".to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_and_fit_count_characters_and_escapes() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 5), "héll…");
        assert_eq!(truncate("", 3), "");
        let escaped = fit(&"<".repeat(100), 20, escape_html);
        assert!(escaped.chars().count() <= 20, "{escaped}");
        assert!(escaped.starts_with("&lt;&lt;") && !escaped.contains('<'), "{escaped}");
    }

    #[test]
    fn html_escapes_text_and_refuses_links_that_are_not_http() {
        let html = Html::default()
            .markup("<p>")
            .text("<script>\"x\" & 'y'</script>")
            .link("https://example.com/?a=1&b=2", "go <now>")
            .link("javascript:alert(1)", "nope")
            .markup("</p>")
            .finish();
        assert_eq!(
            html,
            "<p>&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;\
             <a href=\"https://example.com/?a=1&amp;b=2\">go &lt;now&gt;</a>nope</p>"
        );
    }

    #[test]
    fn json_bodies_never_carry_markup_characters_but_read_back_the_same() {
        let value = serde_json::json!({"name": "<b>&</b>", "n": 1});
        let body = json_body(&value);
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'), "{text}");
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap(), value);
    }

    #[test]
    fn urls_join_and_segments_encode() {
        assert_eq!(join_url("https://ntfy.sh/", "/alerts"), "https://ntfy.sh/alerts");
        assert_eq!(join_url("https://ntfy.sh", "alerts"), "https://ntfy.sh/alerts");
        assert_eq!(percent_encode("incident:12/a b"), "incident%3A12%2Fa%20b");
        assert_eq!(one_line("a\r\nX-Evil: 1\tb "), "a  X-Evil: 1 b");
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        assert!(check_url("ftp://h/").is_err() && check_url("/relative").is_err());
    }
}
