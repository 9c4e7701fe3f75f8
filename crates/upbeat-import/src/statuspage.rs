//! What Statuspage's history feeds and its v2 JSON share: the statuses of incidents, maintenance
//! and their updates, by their JSON names (`in_progress`) and the labels the feeds print
//! (`In progress`).

use upbeat_core::incident::IncidentStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Investigating,
    Identified,
    Monitoring,
    /// Only in feeds: an update that keeps the status it follows.
    Update,
    Resolved,
    Postmortem,
    Scheduled,
    InProgress,
    Verifying,
    Completed,
}

impl Status {
    /// Each status, its JSON name (none for `Update`) and its label.
    const ALL: [(Status, Option<&'static str>, &'static str); 10] = [
        (Status::Investigating, Some("investigating"), "Investigating"),
        (Status::Identified, Some("identified"), "Identified"),
        (Status::Monitoring, Some("monitoring"), "Monitoring"),
        (Status::Update, None, "Update"),
        (Status::Resolved, Some("resolved"), "Resolved"),
        (Status::Postmortem, Some("postmortem"), "Postmortem"),
        (Status::Scheduled, Some("scheduled"), "Scheduled"),
        (Status::InProgress, Some("in_progress"), "In progress"),
        (Status::Verifying, Some("verifying"), "Verifying"),
        (Status::Completed, Some("completed"), "Completed"),
    ];

    /// A JSON `status` field, exactly; the error lists the names.
    pub fn from_name(text: &str) -> Result<Status, String> {
        Status::ALL.iter().find(|(_, name, _)| *name == Some(text)).map(|(s, _, _)| *s).ok_or_else(|| {
            let names: Vec<&str> = Status::ALL.iter().filter_map(|(_, name, _)| *name).collect();
            format!("`{text}` is not one of {}", names.join(", "))
        })
    }

    /// A feed's `<strong>` label, in any case and spacing; the error lists the labels.
    pub fn from_label(text: &str) -> Result<Status, String> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Status::ALL.iter().find(|(_, _, label)| label.eq_ignore_ascii_case(&text)).map(|(s, _, _)| *s).ok_or_else(
            || {
                let labels: Vec<&str> = Status::ALL.iter().map(|(_, _, label)| *label).collect();
                format!("expected one of {}", labels.join(", "))
            },
        )
    }

    pub fn name(self) -> &'static str {
        Status::ALL.iter().find(|(s, _, _)| *s == self).and_then(|(_, name, _)| *name).unwrap_or("update")
    }

    pub fn label(self) -> &'static str {
        Status::ALL.iter().find(|(s, _, _)| *s == self).map_or("", |(_, _, label)| label)
    }

    pub fn is_maintenance(self) -> bool {
        matches!(self, Status::Scheduled | Status::InProgress | Status::Verifying | Status::Completed)
    }

    pub fn is_incident(self) -> bool {
        !self.is_maintenance() && self != Status::Update
    }

    /// The incident status this sets: a postmortem is written once the incident is resolved;
    /// `None` for `Update` (which keeps the status) and maintenance's statuses.
    pub fn incident(self) -> Option<IncidentStatus> {
        match self {
            Status::Investigating => Some(IncidentStatus::Investigating),
            Status::Identified => Some(IncidentStatus::Identified),
            Status::Monitoring => Some(IncidentStatus::Monitoring),
            Status::Resolved | Status::Postmortem => Some(IncidentStatus::Resolved),
            _ => None,
        }
    }
}
