//! `kind = "ntfy"`: a plain-text message published to `<url>/<topic>`, with the headline as
//! `Title`, the event as `Tags` (an emoji first), a `Priority` and the link as `Click`.
//!
//! ntfy shows the body as plain text, so nothing is escaped there; headers are one line, and a
//! title that is not ASCII is sent as an RFC 2047 encoded word, which ntfy decodes.

use super::text::{self, Severity, Tone, check_url, headline, join_url, one_line, plain_body};
use super::{Alert, Request, Secret};
use crate::config::decode::{Fields, Report};

pub const DEFAULT_URL: &str = "https://ntfy.sh";

/// ntfy keeps longer messages as attachments; stay below its 4096 bytes.
const BODY: usize = 4000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NtfySpec {
    /// The server, `https://ntfy.sh` unless set.
    pub url: http::Uri,
    pub topic: String,
    /// An access token, sent as `Authorization: Bearer`.
    pub token: Option<Secret>,
    /// 1 (min) to 5 (max); when unset, 4 for what broke and 3 for the rest.
    pub priority: Option<u8>,
}

pub(crate) const FIELDS: &[&str] = &["url", "topic", "token", "priority"];

pub(crate) fn parse(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<NtfySpec> {
    let url = t.parsed(r, "url", crate::config::parse_http_url);
    let topic = crate::config::required(r, t, "topic", " for kind \"ntfy\"", |s| {
        if (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            Ok(s.to_owned())
        } else {
            Err(format!("`{s}` is not a topic: use 1 to 64 letters, digits, `-` or `_`"))
        }
    });
    let token = t.parsed(r, "token", Secret::parse);
    let priority = t.integer(r, "priority", 1..6).map(|p| p as u8);
    let url = url.unwrap_or_else(|| http::Uri::from_static(DEFAULT_URL));
    Some(NtfySpec { url, topic: topic?, token, priority })
}

pub(crate) fn render(spec: &NtfySpec, alert: &Alert, env: &dyn Fn(&str) -> Option<String>) -> Result<Request, String> {
    let mut request = Request::post(join_url(&spec.url.to_string(), &spec.topic));
    let tag = match Tone::of(alert.event) {
        Tone::Red => "rotating_light",
        Tone::Amber => "warning",
        Tone::Green => "white_check_mark",
        Tone::Blue => "information_source",
    };
    let priority = spec.priority.unwrap_or(if Severity::of(alert) == Severity::Critical { 4 } else { 3 });
    request.headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
    request.headers.push(("Title".into(), header_text(&headline(alert))));
    request.headers.push(("Tags".into(), format!("{tag},{}", alert.event.as_str())));
    request.headers.push(("Priority".into(), priority.to_string()));
    if check_url(&alert.link).is_ok() {
        request.headers.push(("Click".into(), alert.link.clone()));
    }
    if let Some(token) = &spec.token {
        let token = token.resolve_checked(env, |t| {
            if t.bytes().all(|b| b.is_ascii_graphic()) { Ok(()) } else { Err("is not a token".to_owned()) }
        })?;
        request.headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    request.body = truncate_bytes(&plain_body(alert), BODY).into_bytes();
    Ok(request)
}

/// One line; ASCII as it is, anything else as one RFC 2047 `Q` encoded word.
fn header_text(text: &str) -> String {
    let line = one_line(&text::truncate(text, 250));
    if line.is_ascii() {
        return line;
    }
    let mut out = String::from("=?UTF-8?Q?");
    for b in line.bytes() {
        match b {
            b' ' => out.push('_'),
            b if b.is_ascii_alphanumeric() || b"!*+-/.,:;()".contains(&b) => out.push(b as char),
            b => out.push_str(&format!("={b:02X}")),
        }
    }
    out.push_str("?=");
    out
}

/// At most `max` bytes, cut at a character boundary.
fn truncate_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max - "…".len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify;
    use crate::notify::tests::{channel, down, no_env, recovered, request_of};

    #[test]
    fn down_and_recovered_are_plain_text_with_title_tags_priority_and_click() {
        let ch = channel("kind = \"ntfy\"\ntopic = \"upbeat-alerts\"\ntoken = \"tk_abc\"\n");
        let request = request_of(notify::render(&ch, &down(), &no_env).unwrap());
        assert_eq!(request.method, http::Method::POST);
        assert_eq!(request.url, "https://ntfy.sh/upbeat-alerts");
        assert_eq!(request.header("title"), Some("Checkout API is down"));
        assert_eq!(request.header("tags"), Some("rotating_light,outage_opened"));
        assert_eq!(request.header("priority"), Some("4"));
        assert_eq!(request.header("click"), Some("https://status.example.com/"));
        assert_eq!(request.header("authorization"), Some("Bearer tk_abc"));
        assert_eq!(request.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(
            String::from_utf8(request.body).unwrap(),
            "Monitor: Checkout API\nCause: status: HTTP 503\nDown since: 2026-03-01 12:00:05 UTC\n\n\
             Open the status page: https://status.example.com/\n"
        );

        let ch = channel("kind = \"ntfy\"\nurl = \"http://127.0.0.1:8090/\"\ntopic = \"t\"\npriority = 5\n");
        let request = request_of(notify::render(&ch, &recovered(), &no_env).unwrap());
        assert_eq!(request.url, "http://127.0.0.1:8090/t");
        assert_eq!(request.header("title"), Some("Checkout API recovered"));
        assert_eq!(request.header("tags"), Some("white_check_mark,outage_closed"));
        assert_eq!(request.header("priority"), Some("5"), "the channel's priority wins");
        assert_eq!(request.header("authorization"), None);
        assert!(String::from_utf8(request.body).unwrap().contains("Down for: 7m 30s\n"));
    }

    #[test]
    fn titles_are_one_line_and_encoded_when_not_ascii() {
        assert_eq!(header_text("a\r\nb"), "a  b");
        assert_eq!(header_text("Café is down"), "=?UTF-8?Q?Caf=C3=A9_is_down?=");
        assert_eq!(truncate_bytes("ééé", 5), "é…");
        assert_eq!(truncate_bytes("abcdef", 5), "ab…");
    }
}
