//! `kind = "opsgenie"`: Opsgenie's Alert API. What breaks creates an alert whose alias is the
//! dedup key (Opsgenie folds alerts with one alias into one), an incident update adds a note to
//! it, and what ends it closes it by alias.

use serde_json::json;

use super::text::{Severity, headline, join_url, percent_encode, plain_body, truncate};
use super::{Alert, AlertEvent, Request, Secret};
use crate::config::decode::{Fields, Report};

/// The US instance; EU accounts set `url = "https://api.eu.opsgenie.com/v2/alerts"`.
pub const DEFAULT_URL: &str = "https://api.opsgenie.com/v2/alerts";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpsgenieSpec {
    pub url: http::Uri,
    /// An API integration's key, sent as `Authorization: GenieKey <key>`.
    pub api_key: Secret,
}

pub(crate) const FIELDS: &[&str] = &["url", "api_key"];

pub(crate) fn parse(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<OpsgenieSpec> {
    let url = t.parsed(r, "url", crate::config::parse_http_url);
    let api_key = crate::config::required(r, t, "api_key", " for kind \"opsgenie\"", Secret::parse);
    let url = url.unwrap_or_else(|| http::Uri::from_static(DEFAULT_URL));
    Some(OpsgenieSpec { url, api_key: api_key? })
}

// Opsgenie's limits.
const MESSAGE: usize = 130;
const ALIAS: usize = 512;
const DESCRIPTION: usize = 15_000;
const NOTE: usize = 25_000;

pub(crate) fn render(
    spec: &OpsgenieSpec,
    alert: &Alert,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Request, String> {
    let key = spec.api_key.resolve(env)?;
    let base = spec.url.to_string();
    let alias = truncate(&alert.dedup_key, ALIAS);
    let on_alias = |action: &str| join_url(&base, &format!("{}/{action}?identifierType=alias", percent_encode(&alias)));
    let mut request = if alert.event.is_resolution() {
        let note = truncate(&headline(alert), NOTE);
        Request::json(on_alias("close"), &json!({ "source": "upbeat", "note": note }))
    } else if alert.event == AlertEvent::IncidentUpdated {
        let note = truncate(&format!("{}\n\n{}", headline(alert), plain_body(alert)), NOTE);
        Request::json(on_alias("notes"), &json!({ "source": "upbeat", "note": note }))
    } else {
        let priority = match Severity::of(alert) {
            Severity::Critical => "P1",
            Severity::Warning => "P3",
            Severity::Info => "P5",
        };
        let mut body = json!({
            "message": truncate(&headline(alert), MESSAGE),
            "alias": alias,
            "description": truncate(&plain_body(alert), DESCRIPTION),
            "priority": priority,
            "source": "upbeat",
            "tags": [alert.event.as_str()],
            "details": { "event": alert.event.as_str(), "link": alert.link, "page": alert.page.title },
        });
        if let Some(m) = &alert.monitor {
            body["entity"] = json!(m.id.as_str());
        }
        Request::json(base, &body)
    };
    request.headers.push(("Authorization".into(), format!("GenieKey {key}")));
    Ok(request)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::notify::tests::{body_json, channel, down, incident, no_env, recovered, request_of};
    use crate::notify::{self, AlertEvent};

    const CHANNEL: &str = "kind = \"opsgenie\"\napi_key = \"genie-key\"\n";

    #[test]
    fn down_creates_an_alert_and_recovered_closes_it_by_alias() {
        let alert = down();
        let request = request_of(notify::render(&channel(CHANNEL), &alert, &no_env).unwrap());
        assert_eq!(request.url, "https://api.opsgenie.com/v2/alerts");
        assert_eq!(request.header("authorization"), Some("GenieKey genie-key"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = body_json(&request);
        assert_eq!(body["message"], "Checkout API is down");
        assert_eq!(body["alias"], alert.dedup_key.as_str());
        assert_eq!(body["priority"], "P1");
        assert_eq!(body["source"], "upbeat");
        assert_eq!(body["entity"], "checkout-api");
        assert_eq!(body["tags"], json!(["outage_opened"]));
        assert!(body["description"].as_str().unwrap().starts_with("Monitor: Checkout API\nCause: status: HTTP 503\n"));

        let request = request_of(notify::render(&channel(CHANNEL), &recovered(), &no_env).unwrap());
        assert_eq!(
            request.url,
            format!("https://api.opsgenie.com/v2/alerts/{}/close?identifierType=alias", alert.dedup_key)
        );
        assert_eq!(request.header("authorization"), Some("GenieKey genie-key"));
        assert_eq!(body_json(&request), json!({ "source": "upbeat", "note": "Checkout API recovered" }));
    }

    #[test]
    fn incident_updates_are_notes_on_the_incident_alias() {
        let request =
            request_of(notify::render(&channel(CHANNEL), &incident(AlertEvent::IncidentUpdated), &no_env).unwrap());
        assert_eq!(request.url, "https://api.opsgenie.com/v2/alerts/incident%3A12/notes?identifierType=alias");
        let note = body_json(&request)["note"].as_str().unwrap().to_owned();
        assert!(
            note.starts_with("Incident: Payments & refunds delayed (Identified)\n\nStatus: Identified\n"),
            "{note}"
        );
    }
}
