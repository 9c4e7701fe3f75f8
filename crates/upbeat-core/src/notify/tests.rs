//! Fixtures every channel's tests share, and the conformance test every channel kind passes.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::*;
use crate::incident::{Impact, IncidentStatus};

pub(super) fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, h, m, s).unwrap()
}

pub(super) fn page() -> Page {
    Page {
        title: "Example status".into(),
        base_url: "https://status.example.com/".into(),
        language: "en".into(),
        time_zone: chrono_tz::UTC,
        feed_items: 250,
        logo: None,
    }
}

fn monitor(name: &str) -> AlertMonitor {
    AlertMonitor { id: MonitorId::parse("checkout-api").unwrap(), name: name.into() }
}

fn outage(cause: &str, ended: bool) -> Outage {
    let monitor = MonitorId::parse("checkout-api").unwrap();
    Outage {
        id: OutageId::derive(&monitor, at(12, 0, 5)),
        monitor,
        started_at: at(12, 0, 5),
        ended_at: ended.then(|| at(12, 7, 35)),
        cause: cause.into(),
        in_maintenance: false,
    }
}

/// `Checkout API is down` since 12:00:05, HTTP 503.
pub(super) fn down() -> Alert {
    Alert::outage_opened(&page(), monitor("Checkout API"), &outage("status: HTTP 503", false))
}

/// The same outage, closed at 12:07:35, 7m 30s later.
pub(super) fn recovered() -> Alert {
    Alert::outage_closed(&page(), monitor("Checkout API"), &outage("status: HTTP 503", true))
}

/// Incident 12, "Payments & refunds delayed", major, at the update that is `event`.
pub(super) fn incident(event: AlertEvent) -> Alert {
    let (update_id, status) = match event {
        AlertEvent::IncidentOpened => (1, IncidentStatus::Investigating),
        AlertEvent::IncidentUpdated => (2, IncidentStatus::Identified),
        _ => (3, IncidentStatus::Resolved),
    };
    let update = |id: i64, status| IncidentUpdate {
        id,
        incident_id: 12,
        created_at: at(13, id as u32, 0),
        status,
        body: "We are looking into **delays** <again>.".into(),
        components: Default::default(),
        guid_hash: crate::incident::update_guid_hash(12, id),
    };
    let updates: Vec<IncidentUpdate> = (1..=update_id).rev().map(|id| update(id, status)).collect();
    let incident = Incident {
        id: 12,
        title: "Payments & refunds delayed".into(),
        impact: Impact::Major,
        status,
        components: Default::default(),
        started_at: at(13, 0, 0),
        resolved_at: None,
        created_at: at(13, 0, 0),
        updated_at: at(13, 0, 0),
        updates: updates.clone(),
        postmortem: None,
    };
    let alert = Alert::incident(&page(), &incident, &updates[0]);
    assert_eq!(alert.event, event, "the fixture's update is the event asked for");
    alert
}

fn maintenance(started: bool) -> Alert {
    let window = Maintenance {
        id: 3,
        title: "Database upgrade".into(),
        scheduled_for: at(2, 0, 0),
        scheduled_until: at(4, 0, 0),
        components: vec!["api".into(), "db".into()],
        created_at: at(0, 0, 0),
        updates: Vec::new(),
    };
    if started {
        Alert::maintenance_started(&page(), &window, at(2, 0, 0))
    } else {
        Alert::maintenance_ended(&page(), &window, at(4, 0, 0))
    }
}

pub(super) fn no_env(_: &str) -> Option<String> {
    None
}

/// The one channel of a configuration whose `[[channel]]` is `id = "c"` plus `settings`.
pub(super) fn channel(settings: &str) -> Channel {
    let src = format!(
        "[page]\ntitle = \"Example status\"\n[smtp]\nhost = \"127.0.0.1\"\nfrom = \"upbeat@localhost\"\n\
         [[channel]]\nid = \"c\"\n{settings}\n"
    );
    let config = crate::Config::parse("test.toml", &src).unwrap_or_else(|e| panic!("{e}"));
    config.channels.into_iter().next().unwrap()
}

pub(super) fn request_of(rendered: Rendered) -> Request {
    match rendered {
        Rendered::Http(request) => request,
        Rendered::Email { subject, .. } => panic!("expected a request, rendered an email: {subject}"),
    }
}

pub(super) fn body_json(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", request.body))
}

/// One channel of every kind, as the example configuration has them.
fn every_kind() -> Vec<Channel> {
    let config = crate::Config::parse("examples/upbeat.toml", include_str!("../../../../examples/upbeat.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    for kind in ChannelKind::NAMES {
        assert!(config.channels.iter().any(|c| c.kind.name() == *kind), "the example has a {kind} channel");
    }
    assert_eq!(ChannelKind::NAMES.len(), 9, "a new kind is added to NAMES and to the example");
    config.channels
}

/// What a person reads of a rendered message: the email's text, or the request's body with its
/// JSON strings decoded and the headers a service shows (ntfy's title).
fn readable(rendered: &Rendered) -> String {
    match rendered {
        Rendered::Email { subject, text, .. } => format!("{subject}\n{text}"),
        Rendered::Http(request) => {
            let title = request.header("title").unwrap_or_default().to_owned();
            match serde_json::from_slice::<Value>(&request.body) {
                Ok(json) => format!("{title}\n{}", strings(&json).join("\n")),
                Err(_) => format!("{title}\n{}", String::from_utf8_lossy(&request.body)),
            }
        }
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

fn env(name: &str) -> Option<String> {
    Some(format!("value-of-{name}"))
}

/// Every kind renders every event, and the message names the monitor (or incident, or window)
/// and what happened to it.
#[test]
fn every_kind_renders_every_event_and_says_what_happened() {
    let cases = [
        (down(), "down"),
        (recovered(), "recovered"),
        (down().reminder(2, at(13, 0, 5)), "still down"),
        (Alert::outage_opened(&page(), monitor("Checkout API"), &outage("late: no ping since 11:00", false)), "late"),
        (Alert::outage_opened(&page(), monitor("Checkout API"), &outage("failed: exit status 2", false)), "failed"),
        (
            Alert::outage_opened(&page(), monitor("Checkout API"), &outage("certificate: expires in 3d", false)),
            "expires",
        ),
        (incident(AlertEvent::IncidentOpened), "Investigating"),
        (incident(AlertEvent::IncidentUpdated), "Identified"),
        (incident(AlertEvent::IncidentResolved), "Resolved"),
        (maintenance(true), "Maintenance started"),
        (maintenance(false), "Maintenance completed"),
        (Alert::test(&page(), at(9, 0, 0)), "Test message"),
    ];
    let events: Vec<AlertEvent> = cases.iter().map(|(a, _)| a.event).collect();
    for event in AlertEvent::ALL {
        assert!(events.contains(event), "the cases cover {event}");
    }
    for channel in every_kind() {
        for (alert, state) in &cases {
            let rendered = render(&channel, alert, &env)
                .unwrap_or_else(|e| panic!("{} renders {}: {e}", channel.kind.name(), alert.event));
            let text = readable(&rendered);
            // PagerDuty resolves by key alone: its resolutions name nothing.
            let by_key = matches!(channel.kind, ChannelKind::PagerDuty(_)) && alert.event.is_resolution();
            if !by_key {
                let subject = match (&alert.monitor, &alert.incident, &alert.maintenance) {
                    (Some(_), _, _) => "Checkout API",
                    (_, Some(_), _) => "Payments",
                    (_, _, Some(_)) => "Database upgrade",
                    _ => "upbeat",
                };
                assert!(text.contains(subject), "{} {}: {text}", channel.kind.name(), alert.event);
                assert!(text.contains(state), "{} {}: {text}", channel.kind.name(), alert.event);
            }
            if let Rendered::Http(request) = &rendered {
                assert!(request.url.starts_with("http://127.0.0.1:"), "the example sends nowhere but here");
            }
        }
    }
}

/// A monitor called `<script>…` is never markup in a service that reads markup: not in the JSON
/// bytes sent, not in the strings once the JSON is decoded, not in the email's HTML.
#[test]
fn names_are_escaped_for_every_service_that_reads_markup() {
    let evil = "<script>alert(1)</script>";
    let alerts = [
        Alert::outage_opened(&page(), monitor(evil), &outage("status: <b>500</b>", false)),
        Alert::outage_closed(&page(), monitor(evil), &outage("status: <b>500</b>", true)),
    ];
    for channel in every_kind() {
        for alert in &alerts {
            let rendered = render(&channel, alert, &env).unwrap();
            match (&channel.kind, &rendered) {
                (_, Rendered::Email { html, text, .. }) => {
                    assert!(!html.contains("<script") && !html.contains("<b>500"), "{html}");
                    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
                    assert!(text.contains(evil), "plain text is not markup: it stays as written");
                }
                (kind, Rendered::Http(request)) => {
                    // ntfy's body is plain text, shown as such; every JSON body is HTML-safe.
                    let raw = String::from_utf8_lossy(&request.body);
                    let json = request.header("content-type") == Some("application/json");
                    assert!(!json || !raw.contains("<script"), "{}: {raw}", kind.name());
                    let decoded = readable(&rendered);
                    let reads_markup = matches!(
                        kind,
                        ChannelKind::Slack(_)
                            | ChannelKind::Discord(_)
                            | ChannelKind::Teams(_)
                            | ChannelKind::Telegram(_)
                    );
                    // Discord's escape is a backslash before the character.
                    let unescaped = decoded.replace("\\<", "");
                    if reads_markup {
                        assert!(
                            !unescaped.contains("<script") && !unescaped.contains("<b>500"),
                            "{}: {decoded}",
                            kind.name()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn outage_events_follow_the_cause_and_incident_events_the_update() {
    assert_eq!(AlertEvent::opened_by("status: HTTP 500"), AlertEvent::OutageOpened);
    assert_eq!(AlertEvent::opened_by("late: no ping"), AlertEvent::HeartbeatLate);
    assert_eq!(AlertEvent::opened_by("failed: exit 1"), AlertEvent::HeartbeatFailed);
    assert_eq!(AlertEvent::opened_by("duration: ran 3h"), AlertEvent::HeartbeatFailed);
    assert_eq!(AlertEvent::opened_by("certificate: expires"), AlertEvent::CertificateExpiring);
    assert_eq!(AlertEvent::opened_by(""), AlertEvent::OutageOpened);
    assert_eq!(AlertEvent::HeartbeatLate.name(), "heartbeat_late");
    assert_eq!(AlertEvent::parse("incident_updated"), Some(AlertEvent::IncidentUpdated));
    assert!(AlertEvent::OutageClosed.is_resolution() && !AlertEvent::OutageOpened.is_resolution());
    // The fixture asserts its own event, so each of these is a check of `of_incident_update`.
    for event in [AlertEvent::IncidentOpened, AlertEvent::IncidentUpdated, AlertEvent::IncidentResolved] {
        let alert = incident(event);
        assert_eq!(alert.dedup_key, "incident:12");
        assert_eq!(alert.link, "https://status.example.com/incident/12");
    }
}

#[test]
fn alerts_carry_their_times_keys_and_durations() {
    let opened = down();
    assert_eq!((opened.at, opened.reminder, opened.down_for()), (at(12, 0, 5), 0, None));
    assert_eq!(opened.dedup_key, opened.outage.as_ref().unwrap().id.as_str());
    let closed = recovered();
    assert_eq!((closed.at, closed.down_for()), (at(12, 7, 35), Some(Duration::from_secs(450))));
    assert_eq!(closed.dedup_key, opened.dedup_key, "one outage, one key");
    let reminder = down().reminder(3, at(13, 0, 5));
    assert_eq!((reminder.reminder, reminder.at), (3, at(13, 0, 5)));
    assert_eq!(reminder.down_for(), Some(Duration::from_secs(3600)));
    assert_eq!(reminder.dedup_key, opened.dedup_key);
    assert_eq!(maintenance(true).dedup_key, "maintenance:3");
    assert_eq!(Alert::test(&page(), at(9, 0, 0)).dedup_key, format!("test:{}", at(9, 0, 0).timestamp_millis()));
}

#[test]
fn events_filter_what_a_channel_takes_but_never_a_test() {
    let mut ch = channel("kind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nevents = [\"outage_opened\"]\n");
    assert!(wants(&ch, AlertEvent::OutageOpened));
    assert!(!wants(&ch, AlertEvent::OutageClosed));
    assert!(!wants(&ch, AlertEvent::HeartbeatLate), "each event is named on its own");
    assert!(wants(&ch, AlertEvent::Test));
    ch.events = None;
    assert!(AlertEvent::ALL.iter().all(|e| wants(&ch, *e)));
}

#[test]
fn rate_limits_parse_and_say_when_the_next_may_go() {
    assert_eq!(RateLimit::parse("30/m"), Ok(RateLimit { count: 30, per: Duration::from_secs(60) }));
    assert_eq!(RateLimit::parse("1/s"), Ok(RateLimit { count: 1, per: Duration::from_secs(1) }));
    assert_eq!(RateLimit::parse("100 / h"), Ok(RateLimit { count: 100, per: Duration::from_secs(3600) }));
    assert_eq!(RateLimit::parse("5/10m"), Ok(RateLimit { count: 5, per: Duration::from_secs(600) }));
    for bad in ["30", "x/m", "-1/m", "0/m", "3/fortnight", "3/500ms", ""] {
        assert!(RateLimit::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(RateLimit::parse("5/10m").unwrap().to_string(), "5/10m");

    let limit = RateLimit { count: 2, per: Duration::from_secs(60) };
    let now = at(12, 1, 0);
    assert_eq!(limit.check(&[], now), RateDecision::SendNow);
    assert_eq!(limit.check(&[at(12, 0, 30)], now), RateDecision::SendNow);
    // Two in the last minute: the next goes when the older one is a minute old.
    assert_eq!(limit.check(&[at(12, 0, 50), at(12, 0, 30)], now), RateDecision::NotBefore(at(12, 1, 30)));
    // Exactly a minute old no longer counts; older ones are ignored.
    assert_eq!(limit.check(&[at(12, 0, 0), at(12, 0, 50), at(11, 0, 0)], now), RateDecision::SendNow);
    // Over the limit (sent before the limit was lowered): wait until only one is left.
    let many = [at(12, 0, 10), at(12, 0, 20), at(12, 0, 40), at(12, 0, 50)];
    assert_eq!(limit.check(&many, now), RateDecision::NotBefore(at(12, 1, 40)));
}

#[test]
fn secrets_resolve_through_the_function_given_and_never_show_in_debug() {
    let literal = Secret::parse("hunter2").unwrap();
    let from_env = Secret::parse("env:SLACK_URL").unwrap();
    assert_eq!(literal.resolve(&no_env), Ok("hunter2".into()));
    assert_eq!(from_env.env_name(), Some("SLACK_URL"));
    assert_eq!(from_env.resolve(&env), Ok("value-of-SLACK_URL".into()));
    assert_eq!(from_env.resolve(&no_env), Err("the environment variable `SLACK_URL` is not set".into()));
    assert_eq!(from_env.resolve(&|_| Some(" ".into())), Err("the environment variable `SLACK_URL` is empty".into()));
    assert_eq!(format!("{literal:?}"), "Secret(<redacted>)");
    assert_eq!(format!("{from_env:?}"), "Secret(env:SLACK_URL)");
    assert!(Secret::parse("env:").is_err() && Secret::parse("env:1X").is_err() && Secret::parse("").is_err());
    assert!(Secret::parse_checked("not a url", text::check_url).unwrap_err().contains("must be an absolute"));
}

#[test]
fn requests_debug_without_tokens() {
    let ch = channel("kind = \"telegram\"\nbot_token = \"123:SECRETTOKEN\"\nchat_id = 1\n");
    let request = request_of(render(&ch, &down(), &no_env).unwrap());
    let debug = format!("{request:?}");
    assert!(!debug.contains("SECRETTOKEN"), "{debug}");
    assert!(debug.contains("https://api.telegram.org/…"), "{debug}");
}
