//! `kind = "discord"`: a webhook message with `content` (what notifications show) and one embed
//! (title, link, colour, the facts as fields, the details, the time).
//!
//! Discord reads Markdown and mentions in text: every text has its Markdown characters escaped
//! with a backslash (which Discord reads back as the character), and `allowed_mentions` is empty,
//! so not even an escaped `@everyone` can ping anyone.

use serde_json::{Value, json};

use super::text::{Tone, check_url, details, facts, fit, headline, rfc3339};
use super::{Alert, IncomingWebhook, Request};

// Discord's limits: content, an embed's title, description, a field's value, fields, footer.
const CONTENT: usize = 2000;
const TITLE: usize = 256;
const DESCRIPTION: usize = 4096;
const FIELD: usize = 1024;
const FIELDS: usize = 25;
const FOOTER: usize = 2048;

pub(crate) fn render(
    spec: &IncomingWebhook,
    alert: &Alert,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Request, String> {
    let url = spec.url.resolve_checked(env, check_url)?;
    let tone = Tone::of(alert.event);
    let headline = headline(alert);
    let fields: Vec<Value> = facts(alert)
        .into_iter()
        .take(FIELDS)
        .map(|(label, value)| json!({ "name": label, "value": fit(&value, FIELD, escape), "inline": true }))
        .collect();
    let mut embed = json!({
        "title": fit(&headline, TITLE, escape),
        "color": colour(tone),
        "timestamp": rfc3339(alert.at),
        "fields": fields,
        // Footers are not Markdown: the title goes as it is.
        "footer": { "text": super::text::truncate(&alert.page.title, FOOTER) },
    });
    if check_url(&alert.link).is_ok() {
        embed["url"] = json!(alert.link);
    }
    if let Some(details) = details(alert) {
        embed["description"] = json!(fit(&details, DESCRIPTION, escape));
    }
    let body = json!({
        "content": fit(&format!("{} {headline}", tone.emoji()), CONTENT, escape),
        "allowed_mentions": { "parse": [] },
        "embeds": [embed],
    });
    Ok(Request::json(url, &body))
}

/// The embed's colour as Discord wants it, `0xRRGGBB` as a number.
fn colour(tone: Tone) -> u32 {
    u32::from_str_radix(tone.hex().trim_start_matches('#'), 16).unwrap_or(0)
}

/// A backslash before every character Discord's Markdown gives a meaning to (emphasis, code,
/// spoilers, quotes, headings, masked links, mentions), the backslash included, and before a
/// `-` or `+` that would start a list.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut line_start = true;
    for c in text.chars() {
        let special = matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '<' | '>' | '[' | ']' | '#' | '@');
        if special || (line_start && matches!(c, '-' | '+')) {
            out.push('\\');
        }
        out.push(c);
        line_start = c == '\n' || (line_start && c == ' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify;
    use crate::notify::tests::{body_json, channel, down, no_env, recovered, request_of};

    const CHANNEL: &str = "kind = \"discord\"\nurl = \"https://discord.com/api/webhooks/1/abc\"\n";

    #[test]
    fn down_is_red_and_recovered_green_with_the_facts_as_fields() {
        let request = request_of(notify::render(&channel(CHANNEL), &down(), &no_env).unwrap());
        assert_eq!(request.url, "https://discord.com/api/webhooks/1/abc");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = body_json(&request);
        assert_eq!(body["content"], "🔴 Checkout API is down");
        assert_eq!(body["allowed_mentions"], json!({ "parse": [] }));
        let embed = &body["embeds"][0];
        assert_eq!(embed["title"], "Checkout API is down");
        assert_eq!(embed["url"], "https://status.example.com/");
        assert_eq!(embed["color"], 0xd93025);
        assert_eq!(embed["timestamp"], "2026-03-01T12:00:05.000Z");
        assert_eq!(embed["footer"]["text"], "Example status");
        assert_eq!(
            embed["fields"],
            json!([
                { "name": "Monitor", "value": "Checkout API", "inline": true },
                { "name": "Cause", "value": "status: HTTP 503", "inline": true },
                { "name": "Down since", "value": "2026-03-01 12:00:05 UTC", "inline": true },
            ])
        );
        assert_eq!(embed.get("description"), None);

        let body = body_json(&request_of(notify::render(&channel(CHANNEL), &recovered(), &no_env).unwrap()));
        assert_eq!(body["content"], "🟢 Checkout API recovered");
        assert_eq!(body["embeds"][0]["color"], 0x188038);
        assert_eq!(body["embeds"][0]["fields"][3]["value"], "7m 30s");
    }

    #[test]
    fn markdown_and_mentions_are_escaped() {
        assert_eq!(
            escape("@everyone <@123> **x** [a](b) \\"),
            "\\@everyone \\<\\@123\\> \\*\\*x\\*\\* \\[a\\](b) \\\\"
        );
        assert_eq!(escape("- a-b\n  + c"), "\\- a-b\n  \\+ c");
    }
}
