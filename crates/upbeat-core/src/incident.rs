//! Incidents: written by people, published as pages and feed items.
//!
//! An incident has a numeric id (its URL is `/incident/{id}`), a title, an impact, a status, the
//! components it affects with the status of each, and updates: the Markdown texts people post as
//! it unfolds. Each update is one feed item whose guid is `<incident link>#<64 hex>`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

names! {
    /// How bad an incident is, in increasing order.
    Impact { None = "none", Minor = "minor", Major = "major", Critical = "critical" }
}

names! {
    /// Where an incident stands; `Resolved` ends it.
    IncidentStatus { Investigating = "investigating", Identified = "identified", Monitoring = "monitoring", Resolved = "resolved" }
}

names! {
    /// A component's status, in increasing order of severity, so the worst is the maximum.
    ComponentStatus {
        Operational = "operational",
        UnderMaintenance = "under_maintenance",
        DegradedPerformance = "degraded_performance",
        PartialOutage = "partial_outage",
        MajorOutage = "major_outage",
    }
}

impl ComponentStatus {
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }
}

impl IncidentStatus {
    pub fn label(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "Investigating",
            IncidentStatus::Identified => "Identified",
            IncidentStatus::Monitoring => "Monitoring",
            IncidentStatus::Resolved => "Resolved",
        }
    }
}

/// Component id → its status as an incident or update states it.
pub type ComponentStatuses = BTreeMap<String, ComponentStatus>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentUpdate {
    pub id: i64,
    pub incident_id: i64,
    pub created_at: DateTime<Utc>,
    pub status: IncidentStatus,
    /// Markdown, as written.
    pub body: String,
    pub components: ComponentStatuses,
    /// The 64 hex digits after `#` in the update's feed guid.
    pub guid_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub impact: Impact,
    pub status: IncidentStatus,
    pub components: ComponentStatuses,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Newest first.
    pub updates: Vec<IncidentUpdate>,
    pub postmortem: Option<Postmortem>,
}

/// What happened and what changes, written after the incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Postmortem {
    /// Markdown.
    pub body: String,
    pub published_at: DateTime<Utc>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.status != IncidentStatus::Resolved
    }
}

/// `<base_url>incident/<id>`, the incident's page and every update's feed link.
pub fn link(base_url: &str, id: i64) -> String {
    if base_url.ends_with('/') { format!("{base_url}incident/{id}") } else { format!("{base_url}/incident/{id}") }
}

/// A new update's guid hash: derived from the incident and the update id, so it never changes.
pub fn update_guid_hash(incident_id: i64, update_id: i64) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("upbeat-incident-update\n{incident_id}\n{update_id}").as_bytes());
    hex::encode(hash.finalize())
}

/// Longest title accepted, in characters.
pub const MAX_TITLE: usize = 200;
/// Largest Markdown body accepted, in bytes.
pub const MAX_BODY: usize = 100 * 1024;

/// Checks a title: not blank, at most [`MAX_TITLE`] characters, no control characters.
pub fn check_title(title: &str) -> Result<String, String> {
    let title = title.trim();
    if title.is_empty() {
        return Err("must not be empty".into());
    }
    if title.chars().count() > MAX_TITLE {
        return Err(format!("must be at most {MAX_TITLE} characters"));
    }
    if title.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(title.to_owned())
}

/// Checks an update's Markdown: not blank, at most [`MAX_BODY`] bytes.
pub fn check_body(body: &str) -> Result<String, String> {
    if body.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if body.len() > MAX_BODY {
        return Err(format!("must be at most {} kB", MAX_BODY / 1024));
    }
    Ok(body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_severity_orders_component_statuses() {
        for s in ComponentStatus::ALL {
            assert_eq!(ComponentStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(IncidentStatus::parse("monitoring"), Some(IncidentStatus::Monitoring));
        assert_eq!(Impact::parse("catastrophic"), None);
        assert!(ComponentStatus::MajorOutage > ComponentStatus::PartialOutage);
        assert!(ComponentStatus::DegradedPerformance > ComponentStatus::UnderMaintenance);
        assert!(ComponentStatus::UnderMaintenance > ComponentStatus::Operational);
        assert_eq!(Impact::names(), "none, minor, major, critical");
    }

    #[test]
    fn links_and_guids_are_stable() {
        assert_eq!(link("https://status.buttondown.com/", 607839), "https://status.buttondown.com/incident/607839");
        assert_eq!(update_guid_hash(1, 2), update_guid_hash(1, 2));
        assert_ne!(update_guid_hash(1, 2), update_guid_hash(2, 1));
        assert_eq!(update_guid_hash(1, 2).len(), 64);
    }

    #[test]
    fn titles_and_bodies_are_checked() {
        assert_eq!(check_title("  Delays  "), Ok("Delays".into()));
        assert!(check_title(" ").is_err());
        assert!(check_title(&"x".repeat(201)).is_err());
        assert!(check_title("a\u{0}b").is_err());
        assert!(check_body("").is_err());
        assert!(check_body(&"x".repeat(MAX_BODY + 1)).is_err());
        assert!(check_body(&"x".repeat(MAX_BODY)).is_ok());
    }
}

/// A component's status from its monitors (all down is a major outage, some down a partial one)
/// and from what people said about it (open incidents, maintenance): the worst of them.
pub fn component_status(
    monitors: impl IntoIterator<Item = crate::Status>,
    declared: impl IntoIterator<Item = ComponentStatus>,
) -> ComponentStatus {
    let (mut down, mut counted) = (0usize, 0usize);
    for status in monitors {
        match status {
            crate::Status::Down => {
                down += 1;
                counted += 1;
            }
            crate::Status::Up => counted += 1,
            crate::Status::Unknown | crate::Status::Paused => {}
        }
    }
    let from_monitors = match down {
        0 => ComponentStatus::Operational,
        d if d == counted => ComponentStatus::MajorOutage,
        _ => ComponentStatus::PartialOutage,
    };
    declared.into_iter().fold(from_monitors, Ord::max)
}

#[cfg(test)]
mod status_tests {
    use super::*;
    use crate::Status;

    #[test]
    fn the_worst_of_monitors_incidents_and_maintenance_wins() {
        use ComponentStatus::*;
        assert_eq!(component_status([Status::Up, Status::Up], []), Operational);
        assert_eq!(component_status([Status::Up, Status::Down], []), PartialOutage);
        assert_eq!(component_status([Status::Down, Status::Paused], []), MajorOutage);
        assert_eq!(component_status([Status::Unknown], []), Operational);
        assert_eq!(component_status([Status::Up], [DegradedPerformance]), DegradedPerformance);
        assert_eq!(component_status([Status::Down], [DegradedPerformance, UnderMaintenance]), MajorOutage);
        assert_eq!(component_status([], [UnderMaintenance, Operational]), UnderMaintenance);
    }
}
