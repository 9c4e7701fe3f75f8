//! What an import brings in, whatever it was read from.
//!
//! Every source format (a Better Stack feed, a Statuspage history feed, Statuspage's v2 JSON) is
//! parsed into one [`ImportSet`]; the store writes an `ImportSet` in one transaction and decides
//! what is new. Each thing carries the key that makes a second import of it a no-op: an outage its
//! id, an incident its source key, an update its guid hash, a window its source key.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::incident::{ComponentStatuses, Impact, IncidentStatus};
use crate::{MonitorId, OutageId};

/// Everything one source holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSet {
    /// What was read, for messages: `Better Stack RSS`, `Statuspage history Atom`, ...
    pub format: String,
    /// The span the source speaks for (its oldest and newest item); imported monitors count as
    /// watched during it, so uptime over it is not "no data".
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub monitors: Vec<ImportedMonitor>,
    pub outages: Vec<ImportedOutage>,
    pub incidents: Vec<ImportedIncident>,
    pub maintenances: Vec<ImportedMaintenance>,
    /// Component id → name, for components that incidents or windows name.
    pub components: Vec<(String, String)>,
    /// Items the source repeats verbatim, skipped while parsing.
    pub duplicates: usize,
    /// Items read from the source, duplicates included.
    pub items: usize,
    /// What was read but could not be kept, one line each (`line 12: ... skipped`).
    pub notes: Vec<String>,
}

/// A monitor known only from its history: kind `imported`, no probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedMonitor {
    pub id: MonitorId,
    /// The public name, as the source shows it.
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedOutage {
    /// The source's own id (the hex after `#` in a Better Stack guid), kept so guids survive.
    pub id: OutageId,
    pub monitor: MonitorId,
    pub started_at: DateTime<Utc>,
    /// `None` while the source shows it still down.
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedIncident {
    /// Unique per source and incident, e.g. `betterstack:607839` or `statuspage:p31zjtct2jer`.
    pub key: String,
    /// Keep this id (so `/incident/<id>` links keep working); `None` lets the store assign one.
    pub id: Option<i64>,
    pub title: String,
    pub impact: Impact,
    /// The status after the newest update.
    pub status: IncidentStatus,
    pub components: ComponentStatuses,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub updates: Vec<ImportedUpdate>,
    pub postmortem: Option<ImportedPostmortem>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedUpdate {
    /// 64 lowercase hex digits: the update's feed guid is `<incident link>#<guid_hash>`.
    pub guid_hash: String,
    pub status: IncidentStatus,
    /// Markdown (or text), as the source has it.
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedPostmortem {
    pub body: String,
    pub published_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedMaintenance {
    /// Unique per source and window, e.g. `statuspage:w1x2y3`.
    pub key: String,
    pub title: String,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    pub components: Vec<String>,
    /// Oldest first: (when, Markdown).
    pub updates: Vec<(DateTime<Utc>, String)>,
}

/// What an import did, or would do (`--dry-run`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub monitors: usize,
    pub outages: usize,
    pub incidents: usize,
    pub updates: usize,
    pub maintenances: usize,
    /// Things already stored (a second import) or repeated within the source.
    pub duplicates: usize,
}

impl ImportSummary {
    pub fn is_empty(&self) -> bool {
        self.monitors + self.outages + self.incidents + self.updates + self.maintenances == 0
    }
}

impl std::ops::AddAssign for ImportSummary {
    fn add_assign(&mut self, o: ImportSummary) {
        self.monitors += o.monitors;
        self.outages += o.outages;
        self.incidents += o.incidents;
        self.updates += o.updates;
        self.maintenances += o.maintenances;
        self.duplicates += o.duplicates;
    }
}

/// A 64-hex guid hash for an update whose source gives it no guid: stable for the same key.
pub fn guid_hash_of(key: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"upbeat-import\n");
    hash.update(key.as_bytes());
    hex::encode(hash.finalize())
}

/// A monitor or component id from a public name: `buttondown.com/applied-cartography` →
/// `buttondown-com-applied-cartography`. Lowercase letters and digits, runs of anything else
/// become one `-`, at most 64 characters; a name with no letter or digit becomes `monitor`.
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.chars().take(64).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() { "monitor".to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_valid_monitor_ids() {
        for (name, want) in [
            ("buttondown.com/applied-cartography", "buttondown-com-applied-cartography"),
            ("p95 response time", "p95-response-time"),
            ("  Backlog  ", "backlog"),
            ("Émail — API", "mail-api"),
            ("!!!", "monitor"),
        ] {
            assert_eq!(slug(name), want);
            assert!(MonitorId::parse(&slug(name)).is_ok());
        }
        assert_eq!(slug(&"a".repeat(100)).len(), 64);
        assert!(MonitorId::parse(&slug(&format!("{}-b", "a".repeat(63)))).is_ok());
    }

    #[test]
    fn guid_hashes_are_stable_hex() {
        assert_eq!(guid_hash_of("x"), guid_hash_of("x"));
        assert_ne!(guid_hash_of("x"), guid_hash_of("y"));
        assert_eq!(guid_hash_of("x").len(), 64);
    }
}
