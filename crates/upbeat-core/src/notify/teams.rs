//! `kind = "teams"`: a message for a Teams workflow ("Post to a channel when a webhook request is
//! received"), carrying one Adaptive Card: the headline in the alert's colour, the facts, the
//! details, the page's title, and a button to the link.
//!
//! Adaptive Cards render a little Markdown and no HTML, but some Teams clients turn text with
//! `<` into HTML before showing it; so `&`, `<` and `>` are written as entities, which every
//! client shows as the characters. Backslash escapes are not used: mobile clients show them.

use serde_json::{Value, json};

use super::text::{Tone, check_url, details, facts, fit, headline, link_label};
use super::{Alert, IncomingWebhook, Request};

/// Keep cards well under Teams' 28 KB message limit.
const TEXT: usize = 4000;

pub(crate) fn render(
    spec: &IncomingWebhook,
    alert: &Alert,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Request, String> {
    let url = spec.url.resolve_checked(env, check_url)?;
    let colour = match Tone::of(alert.event) {
        Tone::Red => "Attention",
        Tone::Amber => "Warning",
        Tone::Green => "Good",
        Tone::Blue => "Accent",
    };
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": fit(&headline(alert), TEXT, escape),
        "weight": "Bolder",
        "size": "Medium",
        "color": colour,
        "wrap": true,
    })];
    let facts: Vec<Value> = facts(alert)
        .into_iter()
        .map(|(label, value)| json!({ "title": label, "value": fit(&value, TEXT, escape) }))
        .collect();
    if !facts.is_empty() {
        body.push(json!({ "type": "FactSet", "facts": facts }));
    }
    if let Some(details) = details(alert) {
        body.push(json!({ "type": "TextBlock", "text": fit(&details, TEXT, escape), "wrap": true }));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": fit(&alert.page.title, 200, escape),
        "isSubtle": true,
        "size": "Small",
        "wrap": true,
    }));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if check_url(&alert.link).is_ok() {
        card["actions"] = json!([{ "type": "Action.OpenUrl", "title": link_label(alert), "url": alert.link }]);
    }
    let message = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    });
    Ok(Request::json(url, &message))
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify;
    use crate::notify::tests::{body_json, channel, down, no_env, recovered, request_of};

    const CHANNEL: &str = "kind = \"teams\"\nurl = \"https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=x\"\n";

    #[test]
    fn down_and_recovered_are_one_adaptive_card() {
        let request = request_of(notify::render(&channel(CHANNEL), &down(), &no_env).unwrap());
        assert_eq!(
            request.url,
            "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=x"
        );
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = body_json(&request);
        assert_eq!(body["type"], "message");
        let attachment = &body["attachments"][0];
        assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
        let card = &attachment["content"];
        assert_eq!((card["type"].as_str(), card["version"].as_str()), (Some("AdaptiveCard"), Some("1.4")));
        assert_eq!(
            card["body"][0],
            json!({ "type": "TextBlock", "text": "Checkout API is down", "weight": "Bolder", "size": "Medium", "color": "Attention", "wrap": true })
        );
        assert_eq!(
            card["body"][1]["facts"],
            json!([
                { "title": "Monitor", "value": "Checkout API" },
                { "title": "Cause", "value": "status: HTTP 503" },
                { "title": "Down since", "value": "2026-03-01 12:00:05 UTC" },
            ])
        );
        assert_eq!(card["body"][2]["text"], "Example status");
        assert_eq!(
            card["actions"],
            json!([{ "type": "Action.OpenUrl", "title": "Open the status page", "url": "https://status.example.com/" }])
        );

        let body = body_json(&request_of(notify::render(&channel(CHANNEL), &recovered(), &no_env).unwrap()));
        let card = &body["attachments"][0]["content"];
        assert_eq!(
            (card["body"][0]["text"].as_str(), card["body"][0]["color"].as_str()),
            (Some("Checkout API recovered"), Some("Good"))
        );
        assert_eq!(card["body"][1]["facts"][3], json!({ "title": "Down for", "value": "7m 30s" }));
    }
}
