//! Subscribers: people (by email) and programs (by webhook) who asked to hear about incidents and
//! maintenance, and the signed links that confirm and end a subscription.
//!
//! A link carries the subscriber's id, what it is for, and for a confirmation when it expires,
//! signed with the page's subscription key (HMAC-SHA256, cut to 128 bits). Nothing about it is
//! stored: a link is valid because the key signed it, so links keep working on every node and
//! after a restart. Unsubscribe links never expire: they must work from a mail read a year later.

use chrono::{DateTime, Utc};

use crate::notify::hmac_sha256;

names! {
    /// How a subscriber is reached.
    SubscriberKind { Email = "email", Webhook = "webhook" }
}

/// How long a confirmation link works.
pub const CONFIRM_FOR: chrono::Duration = chrono::Duration::hours(48);

/// A subscriber as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Subscriber {
    pub id: i64,
    pub kind: SubscriberKind,
    /// An email address or an http(s) URL.
    pub address: String,
    /// The components it wants to hear about; empty for all of them.
    pub components: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// When the double opt-in was confirmed; nothing is sent before that except the request.
    pub confirmed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
}

impl Subscriber {
    /// Confirmed and not unsubscribed.
    pub fn is_active(&self) -> bool {
        self.confirmed_at.is_some() && self.unsubscribed_at.is_none()
    }

    /// `pending`, `active` or `unsubscribed`.
    pub fn state(&self) -> &'static str {
        match (self.confirmed_at, self.unsubscribed_at) {
            (_, Some(_)) => "unsubscribed",
            (Some(_), None) => "active",
            (None, None) => "pending",
        }
    }

    /// Whether news touching `touched` components reaches it: a subscriber to every component
    /// hears everything; one with a filter hears news for its components, and news that names no
    /// component at all (that is about the whole page).
    pub fn wants(&self, touched: &[String]) -> bool {
        wants(&self.components, touched)
    }
}

/// [`Subscriber::wants`] for a subscriber's component filter alone.
pub fn wants(filter: &[String], touched: &[String]) -> bool {
    filter.is_empty() || touched.is_empty() || touched.iter().any(|c| filter.contains(c))
}

/// What a signed link does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    Confirm,
    Unsubscribe,
}

impl LinkPurpose {
    fn tag(self) -> char {
        match self {
            LinkPurpose::Confirm => 'c',
            LinkPurpose::Unsubscribe => 'u',
        }
    }
}

/// Why a link was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid: it may have been cut short when it was copied")]
    Invalid,
    #[error("this confirmation link has expired: subscribe again to get a new one")]
    Expired,
}

/// The token of a link for `subscriber`: `<c|u><id>.<expiry, unix seconds, 0 for never>.<mac>`.
pub fn sign(key: &[u8], purpose: LinkPurpose, subscriber: i64, expires: Option<DateTime<Utc>>) -> String {
    let expiry = expires.map_or(0, |t| t.timestamp().max(1));
    let body = format!("{}{subscriber}.{expiry}", purpose.tag());
    format!("{body}.{}", mac(key, &body))
}

/// The subscriber a token names, if `key` signed it for `purpose` and it has not expired.
pub fn verify(key: &[u8], purpose: LinkPurpose, token: &str, now: DateTime<Utc>) -> Result<i64, LinkError> {
    let (body, given) = token.rsplit_once('.').ok_or(LinkError::Invalid)?;
    let expected = mac(key, body);
    // Compared in constant time: the mac is the secret part.
    if given.len() != expected.len() || given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0
    {
        return Err(LinkError::Invalid);
    }
    let rest = body.strip_prefix(purpose.tag()).ok_or(LinkError::Invalid)?;
    let (id, expiry) = rest.split_once('.').ok_or(LinkError::Invalid)?;
    let id: i64 = id.parse().map_err(|_| LinkError::Invalid)?;
    let expiry: i64 = expiry.parse().map_err(|_| LinkError::Invalid)?;
    if expiry != 0 && now.timestamp() >= expiry {
        return Err(LinkError::Expired);
    }
    Ok(id)
}

fn mac(key: &[u8], body: &str) -> String {
    let full = hmac_sha256(key, format!("upbeat-subscription:{body}").as_bytes());
    hex::encode(&full[..16])
}

/// Checks a webhook subscriber's URL: absolute http or https, no credentials in it.
pub fn check_webhook_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| format!("`{text}` is not an http or https URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{text}` is not a URL like \"https://example.com/hooks/status\" (and carries no credentials)"
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = at("2026-11-29T10:00:00Z");
        let token = sign(key, LinkPurpose::Confirm, 42, Some(now + CONFIRM_FOR));
        assert_eq!(verify(key, LinkPurpose::Confirm, &token, now), Ok(42));
        assert_eq!(verify(key, LinkPurpose::Confirm, &token, now + CONFIRM_FOR - chrono::Duration::seconds(1)), Ok(42));
        assert_eq!(verify(key, LinkPurpose::Confirm, &token, now + CONFIRM_FOR), Err(LinkError::Expired));
        // Not an unsubscribe link, and not valid under another key.
        assert_eq!(verify(key, LinkPurpose::Unsubscribe, &token, now), Err(LinkError::Invalid));
        assert_eq!(verify(b"another key", LinkPurpose::Confirm, &token, now), Err(LinkError::Invalid));
    }

    #[test]
    fn a_tampered_or_cut_link_is_refused() {
        let key = b"k";
        let now = at("2026-11-29T10:00:00Z");
        let token = sign(key, LinkPurpose::Unsubscribe, 7, None);
        assert_eq!(verify(key, LinkPurpose::Unsubscribe, &token, now + chrono::Duration::days(3650)), Ok(7));
        let other = token.replacen("u7.", "u8.", 1);
        assert_eq!(verify(key, LinkPurpose::Unsubscribe, &other, now), Err(LinkError::Invalid));
        assert_eq!(verify(key, LinkPurpose::Unsubscribe, &token[..token.len() - 1], now), Err(LinkError::Invalid));
        for junk in ["", ".", "u7", "u7.0", "x.y.z", "u.0.00"] {
            assert_eq!(verify(key, LinkPurpose::Unsubscribe, junk, now), Err(LinkError::Invalid), "{junk}");
        }
    }

    #[test]
    fn component_filters() {
        let all: Vec<String> = vec![];
        let api = vec!["api".to_owned()];
        assert!(wants(&all, &api));
        assert!(wants(&api, &api));
        assert!(wants(&api, &[]), "news about the whole page reaches everyone");
        assert!(!wants(&api, &["web".to_owned()]));
        assert!(wants(&api, &["web".to_owned(), "api".to_owned()]));
    }

    #[test]
    fn webhook_urls() {
        assert!(check_webhook_url("https://example.com/hook").is_ok());
        assert!(check_webhook_url("http://127.0.0.1:9000/x?y=1").is_ok());
        for bad in ["ftp://x", "https://", "https://user:pw@example.com/", "example.com", "https://a b/"] {
            assert!(check_webhook_url(bad).is_err(), "{bad}");
        }
    }
}
