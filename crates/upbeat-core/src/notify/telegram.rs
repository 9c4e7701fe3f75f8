//! `kind = "telegram"`: a bot's `sendMessage` to one chat, in Telegram's HTML (bold headline, the
//! facts, the details, a link). Every text is HTML-escaped; the markup is fixed.

use serde_json::json;

use super::text::{Html, check_url, details, facts, headline, join_url, link_label, truncate};
use super::{Alert, Request, Secret};
use crate::config::decode::{Fields, Report};

pub const DEFAULT_URL: &str = "https://api.telegram.org";

/// Telegram takes 4096 characters; leave room for the facts around the details.
const DETAILS: usize = 3000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramSpec {
    pub url: http::Uri,
    /// `123456:ABC-DEF…`, from @BotFather. It is part of the request's URL.
    pub bot_token: Secret,
    /// A chat's number (negative for groups) or a channel's `@name`.
    pub chat_id: String,
}

pub(crate) const FIELDS: &[&str] = &["url", "bot_token", "chat_id"];

pub(crate) fn parse(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<TelegramSpec> {
    let url = t.parsed(r, "url", crate::config::parse_http_url);
    let bot_token =
        crate::config::required(r, t, "bot_token", " for kind \"telegram\"", |s| Secret::parse_checked(s, check_token));
    let absent = t.key_span("chat_id") == t.span();
    // People write a chat's number bare (`chat_id = -100123`) or a channel's name as a string.
    // Try the number on a scratch report: a string there is not an error, just the other form.
    let mut scratch = Report::new("", "");
    let chat_id = match t.integer(&mut scratch, "chat_id", i64::MIN..i64::MAX) {
        Some(n) => Some(n.to_string()),
        None => t.parsed(r, "chat_id", check_chat_id),
    };
    if chat_id.is_none() && absent {
        r.error(t.span(), &t.path("chat_id"), "is required for kind \"telegram\"");
    }
    let url = url.unwrap_or_else(|| http::Uri::from_static(DEFAULT_URL));
    Some(TelegramSpec { url, bot_token: bot_token?, chat_id: chat_id? })
}

/// The token goes into the URL's path: only the characters bot tokens are made of.
fn check_token(token: &str) -> Result<(), String> {
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-')) {
        Ok(())
    } else {
        Err("is not a bot token like \"123456:ABC-DEF1234ghIkl\"".to_owned())
    }
}

fn check_chat_id(text: &str) -> Result<String, String> {
    let number = text.strip_prefix('-').unwrap_or(text);
    let name = text.strip_prefix('@').unwrap_or("");
    let ok = (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
        || (name.len() >= 4 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    if ok { Ok(text.to_owned()) } else { Err(format!("`{text}` is not a chat id (a number) or a channel (`@name`)")) }
}

pub(crate) fn render(
    spec: &TelegramSpec,
    alert: &Alert,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Request, String> {
    let token = spec.bot_token.resolve_checked(env, check_token)?;
    let url = join_url(&spec.url.to_string(), &format!("bot{token}/sendMessage"));
    let mut html = Html::default();
    html.markup("<b>").text(&headline(alert)).markup("</b>\n");
    for (label, value) in facts(alert) {
        html.markup("<b>").text(label).markup(":</b> ").text(&value).markup("\n");
    }
    if let Some(details) = details(alert) {
        html.markup("\n").text(&truncate(details.trim_end(), DETAILS)).markup("\n");
    }
    if check_url(&alert.link).is_ok() {
        html.markup("\n").link(&alert.link, link_label(alert));
    }
    let chat_id = match spec.chat_id.parse::<i64>() {
        Ok(n) => json!(n),
        Err(_) => json!(spec.chat_id),
    };
    let body = json!({
        "chat_id": chat_id,
        "text": html.finish(),
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
        "link_preview_options": { "is_disabled": true },
    });
    Ok(Request::json(url, &body))
}

#[cfg(test)]
mod tests {
    use crate::notify;
    use crate::notify::tests::{body_json, channel, down, no_env, recovered, request_of};

    const CHANNEL: &str = "kind = \"telegram\"\nbot_token = \"123456:ABC-def_0\"\nchat_id = -1001234567890\n";

    #[test]
    fn down_and_recovered_are_html_messages_to_the_chat() {
        let request = request_of(notify::render(&channel(CHANNEL), &down(), &no_env).unwrap());
        assert_eq!(request.url, "https://api.telegram.org/bot123456:ABC-def_0/sendMessage");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = body_json(&request);
        assert_eq!(body["chat_id"], -1001234567890_i64);
        assert_eq!(body["parse_mode"], "HTML");
        assert_eq!(body["disable_web_page_preview"], true);
        assert_eq!(
            body["text"],
            "<b>Checkout API is down</b>\n<b>Monitor:</b> Checkout API\n<b>Cause:</b> status: HTTP 503\n\
             <b>Down since:</b> 2026-03-01 12:00:05 UTC\n\n<a href=\"https://status.example.com/\">Open the status page</a>"
        );
        let body = body_json(&request_of(notify::render(&channel(CHANNEL), &recovered(), &no_env).unwrap()));
        let text = body["text"].as_str().unwrap();
        assert!(
            text.starts_with("<b>Checkout API recovered</b>\n") && text.contains("<b>Down for:</b> 7m 30s\n"),
            "{text}"
        );
    }

    #[test]
    fn a_channel_name_is_a_string_and_the_token_may_come_from_the_environment() {
        let ch = channel(
            "kind = \"telegram\"\nbot_token = \"env:TG_TOKEN\"\nchat_id = \"@upbeat_alerts\"\nurl = \"http://127.0.0.1:8081\"\n",
        );
        let env = |_: &str| Some("42:xyz".to_owned());
        let request = request_of(notify::render(&ch, &down(), &env).unwrap());
        assert_eq!(request.url, "http://127.0.0.1:8081/bot42:xyz/sendMessage");
        assert_eq!(body_json(&request)["chat_id"], "@upbeat_alerts");
        let env = |_: &str| Some("42/../x".to_owned());
        let e = notify::render(&ch, &down(), &env).unwrap_err();
        assert!(e.starts_with("the environment variable `TG_TOKEN`: is not a bot token"), "{e}");
    }
}
