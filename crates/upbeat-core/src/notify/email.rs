//! `kind = "email"`: a message to `to` through `[smtp]`, as plain text and simple HTML (inline
//! styles, no images, nothing fetched from elsewhere). The subject is `[<page title>] <headline>`.
//!
//! The HTML is fixed markup around escaped text (`text::Html`); an incident update's Markdown is shown
//! as written, with its line breaks, rather than rendered: rendering and sanitizing Markdown is
//! the web layer's.

use std::fmt;

use super::text::{Html, Tone, details, facts, headline, link_label, one_line, plain_body};
use super::{Alert, Secret};
use crate::config::decode::{Fields, Report};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailSpec {
    /// Checked addresses, `local@domain`.
    pub to: Vec<String>,
}

pub(crate) const FIELDS: &[&str] = &["to"];

pub(crate) fn parse(r: &mut Report<'_>, t: &mut Fields<'_, '_>) -> Option<EmailSpec> {
    let span = t.key_span("to");
    let field = t.path("to");
    let absent = span == t.span();
    let to = t.strings(r, "to");
    match to {
        None if absent => {
            r.error(span, &field, "is required for kind \"email\": an address or a list of them");
            None
        }
        None => None,
        Some(to) if to.is_empty() => {
            r.error(span, &field, "names no address");
            None
        }
        Some(to) => {
            let mut ok = Vec::new();
            for address in &to {
                match check_address(address) {
                    Ok(a) => ok.push(a),
                    Err(e) => r.error(span.clone(), &field, e),
                }
            }
            (ok.len() == to.len()).then_some(EmailSpec { to: ok })
        }
    }
}

/// `[smtp]`: the server email channels send through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    /// 587 unless set; 465 with `tls = "tls"`.
    pub port: u16,
    pub from: Mailbox,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

names! {
    /// How the SMTP connection is protected: not at all, upgraded with STARTTLS (refusing a
    /// server that does not offer it), or TLS from the first byte.
    SmtpTls { None = "none", StartTls = "starttls", Tls = "tls" }
}

pub const DEFAULT_SMTP_PORT: u16 = 587;
pub const DEFAULT_SMTPS_PORT: u16 = 465;

pub(crate) const SMTP_FIELDS: &[&str] = &["host", "port", "from", "tls", "username", "password"];

pub(crate) fn parse_smtp(r: &mut Report<'_>, mut t: Fields<'_, '_>) -> Option<Smtp> {
    let host = t.required_string(r, "host");
    let tls = t
        .parsed(r, "tls", |s| SmtpTls::parse(s).ok_or_else(|| format!("`{s}` is not one of: {}", SmtpTls::names())))
        .unwrap_or(SmtpTls::StartTls);
    let default_port = if tls == SmtpTls::Tls { DEFAULT_SMTPS_PORT } else { DEFAULT_SMTP_PORT };
    let port = t.integer(r, "port", 1..65_536).map_or(default_port, |p| p as u16);
    let from = crate::config::required(
        r,
        &mut t,
        "from",
        ": the sender, like \"upbeat <upbeat@example.com>\"",
        Mailbox::parse,
    );
    let username = t.string(r, "username");
    let password_span = t.key_span("password");
    let password = t.parsed(r, "password", Secret::parse);
    match (&username, &password) {
        (Some(_), None) if password_span == t.span() => {
            r.error(t.key_span("username"), &t.path("password"), "is required with `username`");
        }
        (None, Some(_)) => r.error(password_span, &t.path("username"), "is required with `password`"),
        _ => {}
    }
    t.finish(r, SMTP_FIELDS);
    Some(Smtp { host: host?, port, from: from?, tls, username, password })
}

/// A sender: an address and, optionally, a display name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    /// `addr@example.com` or `Display Name <addr@example.com>`.
    pub fn parse(text: &str) -> Result<Mailbox, String> {
        let text = text.trim();
        let Some(open) = text.find('<') else {
            return Ok(Mailbox { name: None, address: check_address(text)? });
        };
        let address = text[open + 1..]
            .strip_suffix('>')
            .ok_or_else(|| format!("`{text}` is not an address like \"upbeat <upbeat@example.com>\""))?;
        let name = text[..open].trim().trim_matches('"').trim();
        if name.chars().any(|c| c.is_control() || matches!(c, '<' | '>' | '"' | '\\')) {
            return Err(format!("the name in `{text}` must not contain control characters, quotes, `<` or `>`"));
        }
        Ok(Mailbox { name: (!name.is_empty()).then(|| name.to_owned()), address: check_address(address)? })
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "\"{name}\" <{}>", self.address),
            None => f.write_str(&self.address),
        }
    }
}

/// `local@domain` in ASCII: a dot-atom local part (letters, digits and ``!#$%&'*+-/=?^_`{|}~``,
/// dots between them) and a host name. Quoted local parts and address literals are refused:
/// nobody's alert address needs them, and they are where header injection hides.
pub fn check_address(text: &str) -> Result<String, String> {
    let bad = || format!("`{text}` is not an email address like \"ops@example.com\"");
    let (local, domain) = text.rsplit_once('@').ok_or_else(bad)?;
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b);
    let local_ok = (1..=64).contains(&local.len()) && local.split('.').all(|p| !p.is_empty() && p.bytes().all(atext));
    let domain_ok = (1..=253).contains(&domain.len())
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if local_ok && domain_ok { Ok(text.to_owned()) } else { Err(bad()) }
}

pub(crate) fn render(spec: &EmailSpec, alert: &Alert) -> super::Rendered {
    let headline = headline(alert);
    let subject = one_line(&format!("[{}] {headline}", alert.page.title));
    let text = format!("{headline}\n\n{}\n-- \n{} · {}\n", plain_body(alert), alert.page.title, alert.page.url);
    let html = html(alert, &subject);
    super::Rendered::Email { to: spec.to.clone(), subject, text, html, headers: Vec::new() }
}

fn html(alert: &Alert, subject: &str) -> String {
    let mut h = Html::default();
    h.markup("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
        .text(subject)
        .markup("</title></head>\n")
        .markup("<body style=\"font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#202124;line-height:1.5\">\n")
        .markup("<h2 style=\"font-size:18px;margin:0 0 12px;color:")
        .markup(Tone::of(alert.event).hex())
        .markup("\">")
        .text(&headline(alert))
        .markup("</h2>\n");
    let facts = facts(alert);
    if !facts.is_empty() {
        h.markup("<table style=\"border-collapse:collapse;margin:0 0 12px\">\n");
        for (label, value) in facts {
            h.markup("<tr><th style=\"text-align:left;font-weight:normal;color:#5f6368;padding:2px 16px 2px 0\">")
                .text(label)
                .markup("</th><td style=\"padding:2px 0\">")
                .text(&value)
                .markup("</td></tr>\n");
        }
        h.markup("</table>\n");
    }
    if let Some(details) = details(alert) {
        h.markup("<div style=\"white-space:pre-wrap;margin:0 0 12px\">").text(details.trim_end()).markup("</div>\n");
    }
    h.markup("<p>").link(&alert.link, link_label(alert)).markup("</p>\n");
    h.markup("<p style=\"color:#5f6368;font-size:12px\">").text(&alert.page.title).markup("</p>\n</body></html>\n");
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::tests::{channel, down, incident, no_env, recovered};
    use crate::notify::{self, AlertEvent, Rendered};

    fn email(alert: &Alert) -> (Vec<String>, String, String, String) {
        let ch = channel("kind = \"email\"\nto = [\"ops@example.com\", \"oncall+upbeat@example.org\"]\n");
        match notify::render(&ch, alert, &no_env).unwrap() {
            Rendered::Email { to, subject, text, html, .. } => (to, subject, text, html),
            Rendered::Http(r) => panic!("an email channel rendered {r:?}"),
        }
    }

    #[test]
    fn down_and_recovered_have_the_page_in_the_subject_and_text_and_html_bodies() {
        let (to, subject, text, html) = email(&down());
        assert_eq!(to, ["ops@example.com", "oncall+upbeat@example.org"]);
        assert_eq!(subject, "[Example status] Checkout API is down");
        assert_eq!(
            text,
            "Checkout API is down\n\nMonitor: Checkout API\nCause: status: HTTP 503\nDown since: 2026-03-01 12:00:05 UTC\n\n\
             Open the status page: https://status.example.com/\n\n-- \nExample status · https://status.example.com/\n"
        );
        assert!(
            html.contains("<h2 style=\"font-size:18px;margin:0 0 12px;color:#d93025\">Checkout API is down</h2>"),
            "{html}"
        );
        assert!(html.contains(">Cause</th><td style=\"padding:2px 0\">status: HTTP 503</td>"), "{html}");
        assert!(html.contains("<a href=\"https://status.example.com/\">Open the status page</a>"), "{html}");
        assert!(!html.contains("src=") && !html.contains("<link") && !html.contains("url("), "nothing is fetched");

        let (_, subject, text, html) = email(&recovered());
        assert_eq!(subject, "[Example status] Checkout API recovered");
        assert!(text.contains("Down for: 7m 30s\n"), "{text}");
        assert!(html.contains("color:#188038\">Checkout API recovered</h2>"), "{html}");
    }

    #[test]
    fn incidents_name_their_title_and_status_and_keep_the_update_text() {
        let (_, subject, text, html) = email(&incident(AlertEvent::IncidentOpened));
        assert_eq!(subject, "[Example status] Incident: Payments & refunds delayed (Investigating)");
        assert!(text.contains("\nWe are looking into **delays** <again>.\n"), "{text}");
        assert!(html.contains(
            "<div style=\"white-space:pre-wrap;margin:0 0 12px\">We are looking into **delays** &lt;again&gt;.</div>"
        ));
        assert!(html.contains("<a href=\"https://status.example.com/incident/12\">View the incident</a>"));
    }

    #[test]
    fn addresses_and_senders() {
        assert_eq!(check_address("ops@example.com"), Ok("ops@example.com".into()));
        assert!(check_address("upbeat@localhost").is_ok());
        for bad in [
            "",
            "ops",
            "@example.com",
            "ops@",
            "a b@example.com",
            "ops@-x.com",
            "o..ps@example.com",
            "ops@ex_ample.com",
            "\"q\"@x.com",
            "ops@example.com\r\nBcc: x@y.z",
            "opé@example.com",
        ] {
            assert!(check_address(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Mailbox::parse("upbeat <upbeat@example.com>"),
            Ok(Mailbox { name: Some("upbeat".into()), address: "upbeat@example.com".into() })
        );
        assert_eq!(Mailbox::parse("upbeat@example.com").map(|m| m.name), Ok(None));
        assert_eq!(
            Mailbox::parse("\"Status page\" <s@example.com>").unwrap().to_string(),
            "\"Status page\" <s@example.com>"
        );
        assert!(Mailbox::parse("upbeat <upbeat@example.com").is_err());
        assert!(Mailbox::parse("up\nbeat <upbeat@example.com>").is_err());
    }
}
