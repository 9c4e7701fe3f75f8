//! Outages: a confirmed down period of one monitor, and the stable id that names it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::MonitorId;

/// 64 lowercase hex digits. Derived from the monitor and the first failing sample, so the same
/// outage gets the same id however often it is opened (a restart, a replayed write), and imported
/// outages keep the id their old feed gave them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OutageId(String);

impl OutageId {
    pub fn derive(monitor: &MonitorId, started_at: DateTime<Utc>) -> OutageId {
        let mut hash = Sha256::new();
        hash.update(b"upbeat-outage\n");
        hash.update(monitor.as_str().as_bytes());
        hash.update(b"\n");
        hash.update(started_at.timestamp_millis().to_string().as_bytes());
        OutageId(hex::encode(hash.finalize()))
    }

    /// Accepts an id as stored or imported: exactly 64 lowercase hex digits.
    pub fn parse(text: &str) -> Result<OutageId, String> {
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(OutageId(text.to_owned()))
        } else {
            Err(format!("`{text}` is not an outage id (64 lowercase hex digits)"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The feed guid: `<base_url>#<id>`, shared by the `went down` and `recovered` items.
    pub fn guid(&self, base_url: &str) -> String {
        format!("{base_url}#{}", self.0)
    }
}

impl std::fmt::Display for OutageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An outage as stored: open while `ended_at` is `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outage {
    pub id: OutageId,
    pub monitor: MonitorId,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The first failing sample's error, `kind: message`.
    pub cause: String,
    /// It started inside a maintenance window of its monitor's component: shown, not counted.
    pub in_maintenance: bool,
}

impl Outage {
    /// How long it lasted, or has lasted until `now` if it is still open.
    pub fn duration(&self, now: DateTime<Utc>) -> std::time::Duration {
        let end = self.ended_at.unwrap_or(now);
        (end - self.started_at).to_std().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn id_is_stable_hex_and_names_monitor_and_start() {
        let api = MonitorId::parse("api").unwrap();
        let web = MonitorId::parse("web").unwrap();
        let t = Utc.with_ymd_and_hms(2025, 6, 30, 12, 9, 50).unwrap();
        let id = OutageId::derive(&api, t);
        assert_eq!(id, OutageId::derive(&api, t));
        assert_eq!(OutageId::parse(id.as_str()), Ok(id.clone()));
        assert_ne!(id, OutageId::derive(&web, t));
        assert_ne!(id, OutageId::derive(&api, t + chrono::Duration::seconds(1)));
        let guid = id.guid("https://status.example.com/");
        assert!(guid.starts_with("https://status.example.com/#"));
        assert_eq!(guid.len(), "https://status.example.com/#".len() + 64);
    }

    #[test]
    fn parse_rejects_uppercase_and_short() {
        assert!(OutageId::parse(&"A".repeat(64)).is_err());
        assert!(OutageId::parse("abc").is_err());
    }
}
