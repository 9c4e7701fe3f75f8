//! `kind = "slack"`: an incoming webhook's message: `text` for notifications and a few blocks
//! (a header, the facts as fields, the details, a link).
//!
//! Slack reads `&`, `<` and `>` as markup in text (`<url|label>`, `<!channel>`), so every text
//! has those three written as entities, as Slack asks; emphasis characters cannot be escaped in
//! Slack's markup and are left alone.

use serde_json::{Value, json};

use super::text::{Tone, details, facts, fit, headline, link_label, one_line};
use super::{Alert, IncomingWebhook, Request};

// Slack's limits: a header's text, a field's, a section's.
const HEADER: usize = 150;
const FIELD: usize = 2000;
const SECTION: usize = 3000;

pub(crate) fn render(
    spec: &IncomingWebhook,
    alert: &Alert,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Request, String> {
    let url = spec.url.resolve_checked(env, super::text::check_url)?;
    let headline = headline(alert);
    let mut blocks = vec![json!({
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": fit(&format!("{} {headline}", Tone::of(alert.event).emoji()), HEADER, escape),
            "emoji": true,
        },
    })];
    // A section holds at most ten fields.
    let fields: Vec<Value> = facts(alert)
        .into_iter()
        .take(10)
        .map(|(label, value)| json!({ "type": "mrkdwn", "text": format!("*{label}*\n{}", fit(&value, FIELD - 40, escape)) }))
        .collect();
    if !fields.is_empty() {
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    if let Some(details) = details(alert) {
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": fit(&details, SECTION, escape) } }));
    }
    let link = format!(
        "<{}|{}> · {}",
        escape(&alert.link).replace('|', "%7C"),
        link_label(alert),
        fit(&one_line(&alert.page.title), 200, escape)
    );
    blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": link }] }));
    Ok(Request::json(url, &json!({ "text": fit(&headline, SECTION, escape), "blocks": blocks })))
}

/// Slack's three control characters as entities.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::{body_json, channel, down, incident, no_env, recovered, request_of};
    use crate::notify::{self, AlertEvent};

    const CHANNEL: &str = "kind = \"slack\"\nurl = \"https://hooks.slack.com/services/T000/B000/XXXX\"\n";

    #[test]
    fn down_and_recovered_are_a_header_fields_and_a_link() {
        let request = request_of(notify::render(&channel(CHANNEL), &down(), &no_env).unwrap());
        assert_eq!(request.url, "https://hooks.slack.com/services/T000/B000/XXXX");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = body_json(&request);
        assert_eq!(body["text"], "Checkout API is down");
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(
            blocks[0],
            json!({ "type": "header", "text": { "type": "plain_text", "text": "🔴 Checkout API is down", "emoji": true } })
        );
        assert_eq!(
            blocks[1]["fields"],
            json!([
                { "type": "mrkdwn", "text": "*Monitor*\nCheckout API" },
                { "type": "mrkdwn", "text": "*Cause*\nstatus: HTTP 503" },
                { "type": "mrkdwn", "text": "*Down since*\n2026-03-01 12:00:05 UTC" },
            ])
        );
        assert_eq!(
            blocks[2],
            json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": "<https://status.example.com/|Open the status page> · Example status" }] })
        );
        assert_eq!(blocks.len(), 3);

        let body = body_json(&request_of(notify::render(&channel(CHANNEL), &recovered(), &no_env).unwrap()));
        assert_eq!(body["text"], "Checkout API recovered");
        assert_eq!(body["blocks"][0]["text"]["text"], "🟢 Checkout API recovered");
        assert_eq!(body["blocks"][1]["fields"][3], json!({ "type": "mrkdwn", "text": "*Down for*\n7m 30s" }));
    }

    #[test]
    fn an_incident_update_is_a_section_of_its_own_and_links_to_the_incident() {
        let body = body_json(&request_of(
            notify::render(&channel(CHANNEL), &incident(AlertEvent::IncidentOpened), &no_env).unwrap(),
        ));
        assert_eq!(body["text"], "Incident: Payments &amp; refunds delayed (Investigating)");
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks[2]["text"]["text"], "We are looking into **delays** &lt;again&gt;.");
        assert_eq!(
            blocks[3]["elements"][0]["text"],
            "<https://status.example.com/incident/12|View the incident> · Example status"
        );
    }

    #[test]
    fn the_url_may_come_from_the_environment_and_must_be_a_url() {
        let ch = channel("kind = \"slack\"\nurl = \"env:SLACK_URL\"\n");
        let env = |_: &str| Some("https://hooks.slack.com/services/T1/B1/Y".to_owned());
        assert_eq!(
            request_of(notify::render(&ch, &down(), &env).unwrap()).url,
            "https://hooks.slack.com/services/T1/B1/Y"
        );
        let env = |_: &str| Some("not a url".to_owned());
        let e = notify::render(&ch, &down(), &env).unwrap_err();
        assert_eq!(e, "the environment variable `SLACK_URL`: must be an absolute http:// or https:// URL");
    }
}
