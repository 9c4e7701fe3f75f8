//! `kind = "webhook"`: the alert as JSON, for programs.
//!
//! upbeat POSTs to `url` with `Content-Type: application/json`, `X-Upbeat-Event: <event>`, the
//! channel's own `headers`, and, when the channel has a `secret`,
//! `X-Upbeat-Signature: sha256=<hex>`: the lowercase hex HMAC-SHA256 of the exact body bytes under
//! the secret. A receiver computes the same over the bytes it received (before parsing them) and
//! compares in constant time. Any 2xx answer is success.
//!
//! The body, version 1 (fields are only ever added within a version; a change that would break a
//! reader gets a new `version`):
//!
//! ```json
//! {
//!   "version": 1,
//!   "event": "outage_opened",
//!   "at": "2026-03-01T12:00:05.000Z",
//!   "summary": "Checkout API is down",
//!   "reminder": 0,
//!   "monitor": { "id": "checkout-api", "name": "Checkout API" },
//!   "outage": {
//!     "id": "5f0c…(64 hex digits)",
//!     "started_at": "2026-03-01T12:00:05.000Z",
//!     "ended_at": null,
//!     "cause": "status: HTTP 503",
//!     "duration_seconds": null
//!   },
//!   "incident": null,
//!   "maintenance": null,
//!   "page": { "title": "Example status", "url": "https://status.example.com/" },
//!   "link": "https://status.example.com/",
//!   "dedup_key": "5f0c…"
//! }
//! ```
//!
//! - `event`: `outage_opened`, `outage_closed`, `heartbeat_late`, `heartbeat_failed`,
//!   `certificate_expiring` (these four carry `monitor` and `outage`), `incident_opened`,
//!   `incident_updated`, `incident_resolved` (`incident`), `maintenance_started`,
//!   `maintenance_ended` (`maintenance`) or `test` (none of them). Objects that do not apply are
//!   `null`.
//! - `at`: when it happened (RFC 3339, UTC, milliseconds), not when it was sent, for a delivery
//!   may be retried or late; for a reminder, when the reminder was due.
//! - `summary`: one line for people, the same words as the chat messages.
//! - `reminder`: 0, or n for the nth reminder that an outage is still open (`renotify`).
//! - `outage.ended_at` and `outage.duration_seconds` are set on `outage_closed`;
//!   `duration_seconds` also on reminders (how long so far). `cause` is `<kind>: <message>`, the
//!   first failing check's error.
//! - `incident`: `{ "id": 12, "title": …, "status": "investigating" | "identified" |
//!   "monitoring" | "resolved", "impact": "none" | "minor" | "major" | "critical",
//!   "update": "<the update's Markdown>" }`.
//! - `maintenance`: `{ "id": 3, "title": …, "scheduled_for": …, "scheduled_until": …,
//!   "components": ["api"] }`.
//! - `link`: the incident's page for incidents, the status page otherwise.
//! - `dedup_key`: the same for every event about one thing: the outage id, `incident:<id>`,
//!   `maintenance:<id>`, `test:<ms>`. A message is delivered at least once; a receiver that must
//!   not act twice keys on (`dedup_key`, `event`, `reminder`).
//!
//! `<`, `>` and `&` in strings are written as `\u003c`, `\u003e` and `\u0026`; JSON parsers read
//! them back as the characters.

use serde_json::json;

use super::text::{self, headline, rfc3339};
use super::{Alert, Request, Secret};
use crate::config::decode::{Fields, Report};

/// The webhook's body version, the `version` field.
pub const VERSION: u32 = 1;

/// Headers upbeat sets itself, which a channel may not override.
const RESERVED: &[&str] = &["content-type", "content-length", "host", "x-upbeat-event", "x-upbeat-signature"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSpec {
    pub url: http::Uri,
    /// The HMAC key of `X-Upbeat-Signature`.
    pub secret: Option<Secret>,
    /// Sent with every request, in order; values may be `env:NAME` (an `Authorization`, say).
    pub headers: Vec<(String, Secret)>,
}

pub(crate) const FIELDS: &[&str] = &["url", "secret", "headers"];

pub(crate) fn parse(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<WebhookSpec> {
    let url = crate::config::required(r, t, "url", " for kind \"webhook\"", crate::config::parse_http_url);
    let secret = t.parsed(r, "secret", Secret::parse);
    let mut headers = Vec::new();
    for (name, value) in t.string_table(r, "headers").unwrap_or_default() {
        if http::HeaderName::from_bytes(name.value.as_bytes()).is_err() {
            r.error(name.span, &name.field, "is not a valid header name");
        } else if RESERVED.contains(&name.value.to_ascii_lowercase().as_str()) {
            r.error(name.span, &name.field, "is set by upbeat itself");
        } else {
            match Secret::parse_checked(&value.value, check_header_value) {
                Ok(secret) => headers.push((name.value, secret)),
                Err(e) => r.error(value.span, &value.field, e),
            }
        }
    }
    Some(WebhookSpec { url: url?, secret, headers })
}

fn check_header_value(value: &str) -> Result<(), String> {
    http::HeaderValue::from_str(value).map(|_| ()).map_err(|_| "is not a valid header value".to_owned())
}

/// The body, as a JSON value (see the module's documentation). PagerDuty's `custom_details`
/// carry it too.
pub fn payload(alert: &Alert) -> serde_json::Value {
    json!({
        "version": VERSION,
        "event": alert.event.as_str(),
        "at": rfc3339(alert.at),
        "summary": headline(alert),
        "reminder": alert.reminder,
        "monitor": alert.monitor.as_ref().map(|m| json!({ "id": m.id.as_str(), "name": m.name })),
        "outage": alert.outage.as_ref().map(|o| json!({
            "id": o.id.as_str(),
            "started_at": rfc3339(o.started_at),
            "ended_at": o.ended_at.map(rfc3339),
            "cause": o.cause,
            "duration_seconds": alert.down_for().map(|d| d.as_secs()),
        })),
        "incident": alert.incident.as_ref().map(|i| json!({
            "id": i.id,
            "title": i.title,
            "status": i.status.as_str(),
            "impact": i.impact.as_str(),
            "update": i.update,
        })),
        "maintenance": alert.maintenance.as_ref().map(|w| json!({
            "id": w.id,
            "title": w.title,
            "scheduled_for": rfc3339(w.scheduled_for),
            "scheduled_until": rfc3339(w.scheduled_until),
            "components": w.components,
        })),
        "page": { "title": alert.page.title, "url": alert.page.url },
        "link": alert.link,
        "dedup_key": alert.dedup_key,
    })
}

/// The `X-Upbeat-Signature` value of `body` under `secret`: `sha256=<lowercase hex>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(super::hmac_sha256(secret, body)))
}

pub(crate) fn render(
    spec: &WebhookSpec,
    alert: &Alert,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Request, String> {
    let mut request = Request::json(spec.url.to_string(), &payload(alert));
    request.headers.push(("X-Upbeat-Event".into(), alert.event.as_str().into()));
    if let Some(secret) = &spec.secret {
        let key = secret.resolve(env)?;
        request.headers.push(("X-Upbeat-Signature".into(), signature(key.as_bytes(), &request.body)));
    }
    for (name, value) in &spec.headers {
        let value = value.resolve_checked(env, check_header_value).map_err(|e| format!("header `{name}`: {e}"))?;
        request.headers.push((name.clone(), text::one_line(&value)));
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify;
    use crate::notify::tests::{body_json, channel, down, no_env, recovered, request_of};

    const CHANNEL: &str = r#"
        kind = "webhook"
        url = "http://127.0.0.1:9000/hooks/upbeat"
        secret = "s3cret"
        headers = { "X-Team" = "ops", "Authorization" = "env:HOOK_AUTH" }
    "#;

    #[test]
    fn down_and_recovered_are_versioned_json_signed_over_the_exact_bytes() {
        let ch = channel(CHANNEL);
        let env = |name: &str| (name == "HOOK_AUTH").then(|| "Bearer abc".to_owned());
        let request = request_of(notify::render(&ch, &down(), &env).unwrap());
        assert_eq!(request.method, http::Method::POST);
        assert_eq!(request.url, "http://127.0.0.1:9000/hooks/upbeat");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("x-upbeat-event"), Some("outage_opened"));
        assert_eq!(request.header("x-team"), Some("ops"));
        assert_eq!(request.header("authorization"), Some("Bearer abc"));
        let expected = format!("sha256={}", hex::encode(notify::hmac_sha256(b"s3cret", &request.body)));
        assert_eq!(request.header("x-upbeat-signature"), Some(expected.as_str()));

        let body = body_json(&request);
        assert_eq!(body["version"], 1);
        assert_eq!(body["event"], "outage_opened");
        assert_eq!(body["at"], "2026-03-01T12:00:05.000Z");
        assert_eq!(body["summary"], "Checkout API is down");
        assert_eq!(body["reminder"], 0);
        assert_eq!(body["monitor"], json!({ "id": "checkout-api", "name": "Checkout API" }));
        assert_eq!(body["outage"]["started_at"], "2026-03-01T12:00:05.000Z");
        assert_eq!(body["outage"]["ended_at"], serde_json::Value::Null);
        assert_eq!(body["outage"]["cause"], "status: HTTP 503");
        assert_eq!(body["outage"]["duration_seconds"], serde_json::Value::Null);
        assert_eq!(body["incident"], serde_json::Value::Null);
        assert_eq!(body["maintenance"], serde_json::Value::Null);
        assert_eq!(body["page"], json!({ "title": "Example status", "url": "https://status.example.com/" }));
        assert_eq!(body["link"], "https://status.example.com/");
        assert_eq!(body["dedup_key"], body["outage"]["id"]);
        assert_eq!(body["outage"]["id"].as_str().map(str::len), Some(64));

        let request = request_of(notify::render(&ch, &recovered(), &env).unwrap());
        assert_eq!(request.header("x-upbeat-event"), Some("outage_closed"));
        let body = body_json(&request);
        assert_eq!(body["event"], "outage_closed");
        assert_eq!(body["summary"], "Checkout API recovered");
        assert_eq!(body["at"], "2026-03-01T12:07:35.000Z");
        assert_eq!(body["outage"]["ended_at"], "2026-03-01T12:07:35.000Z");
        assert_eq!(body["outage"]["duration_seconds"], 450);
    }

    #[test]
    fn without_a_secret_there_is_no_signature_and_a_missing_variable_is_an_error() {
        let ch = channel("kind = \"webhook\"\nurl = \"http://127.0.0.1:9000/\"\n");
        let request = request_of(notify::render(&ch, &down(), &no_env).unwrap());
        assert_eq!(request.header("x-upbeat-signature"), None);
        let ch = channel("kind = \"webhook\"\nurl = \"http://127.0.0.1:9000/\"\nsecret = \"env:HOOK_SECRET\"\n");
        let e = notify::render(&ch, &down(), &no_env).unwrap_err();
        assert_eq!(e, "the environment variable `HOOK_SECRET` is not set");
    }

    #[test]
    fn the_signature_is_what_a_receiver_recomputes() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
