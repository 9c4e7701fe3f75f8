//! `kind = "pagerduty"`: PagerDuty's Events API v2. What breaks triggers an alert keyed by the
//! dedup key (the outage id, `incident:<id>`, ...); what ends it resolves the same key, so one
//! outage is one PagerDuty alert however often it is re-notified.

use serde_json::json;

use super::text::{Severity, headline, link_label, rfc3339, truncate};
use super::{Alert, Request, Secret};
use crate::config::decode::{Fields, Report};

pub const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagerDutySpec {
    pub url: http::Uri,
    /// The integration key of an Events API v2 integration.
    pub routing_key: Secret,
}

pub(crate) const FIELDS: &[&str] = &["url", "routing_key"];

pub(crate) fn parse(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<PagerDutySpec> {
    let url = t.parsed(r, "url", crate::config::parse_http_url);
    let routing_key = crate::config::required(r, t, "routing_key", " for kind \"pagerduty\"", Secret::parse);
    let url = url.unwrap_or_else(|| http::Uri::from_static(DEFAULT_URL));
    Some(PagerDutySpec { url, routing_key: routing_key? })
}

pub(crate) fn render(
    spec: &PagerDutySpec,
    alert: &Alert,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Request, String> {
    let routing_key = spec.routing_key.resolve(env)?;
    let body = if alert.event.is_resolution() {
        json!({ "routing_key": routing_key, "event_action": "resolve", "dedup_key": alert.dedup_key })
    } else {
        let source = alert.monitor.as_ref().map_or_else(|| alert.page.title.clone(), |m| m.id.to_string());
        json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": alert.dedup_key,
            "payload": {
                "summary": truncate(&headline(alert), 1024),
                "source": source,
                "severity": Severity::of(alert).as_str(),
                "timestamp": rfc3339(alert.at),
                "class": alert.event.as_str(),
                "custom_details": super::webhook::payload(alert),
            },
            "links": [{ "href": alert.link, "text": link_label(alert) }],
            "client": "upbeat",
            "client_url": alert.page.url,
        })
    };
    Ok(Request::json(spec.url.to_string(), &body))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::notify::tests::{body_json, channel, down, incident, recovered, request_of};
    use crate::notify::{self, AlertEvent};

    const CHANNEL: &str = "kind = \"pagerduty\"\nrouting_key = \"env:PD_KEY\"\n";

    fn env(name: &str) -> Option<String> {
        (name == "PD_KEY").then(|| "R0UT1NGKEY".to_owned())
    }

    #[test]
    fn down_triggers_and_recovered_resolves_the_outage_id() {
        let alert = down();
        let request = request_of(notify::render(&channel(CHANNEL), &alert, &env).unwrap());
        assert_eq!(request.url, "https://events.pagerduty.com/v2/enqueue");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = body_json(&request);
        assert_eq!(body["routing_key"], "R0UT1NGKEY");
        assert_eq!(body["event_action"], "trigger");
        assert_eq!(body["dedup_key"], alert.outage.as_ref().unwrap().id.as_str());
        let payload = &body["payload"];
        assert_eq!(payload["summary"], "Checkout API is down");
        assert_eq!(payload["source"], "checkout-api");
        assert_eq!(payload["severity"], "critical");
        assert_eq!(payload["timestamp"], "2026-03-01T12:00:05.000Z");
        assert_eq!(payload["class"], "outage_opened");
        assert_eq!(payload["custom_details"]["outage"]["cause"], "status: HTTP 503");
        assert_eq!(body["links"], json!([{ "href": "https://status.example.com/", "text": "Open the status page" }]));

        let request = request_of(notify::render(&channel(CHANNEL), &recovered(), &env).unwrap());
        assert_eq!(
            body_json(&request),
            json!({ "routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": alert.dedup_key })
        );
    }

    #[test]
    fn incidents_trigger_by_impact_and_resolve_by_their_key() {
        let body = body_json(&request_of(
            notify::render(&channel(CHANNEL), &incident(AlertEvent::IncidentOpened), &env).unwrap(),
        ));
        assert_eq!((body["event_action"].as_str(), body["dedup_key"].as_str()), (Some("trigger"), Some("incident:12")));
        assert_eq!(body["payload"]["severity"], "critical", "a major incident");
        assert_eq!(body["payload"]["source"], "Example status");
        assert_eq!(body["links"][0]["href"], "https://status.example.com/incident/12");
        let body = body_json(&request_of(
            notify::render(&channel(CHANNEL), &incident(AlertEvent::IncidentResolved), &env).unwrap(),
        ));
        assert_eq!((body["event_action"].as_str(), body["dedup_key"].as_str()), (Some("resolve"), Some("incident:12")));
    }
}
