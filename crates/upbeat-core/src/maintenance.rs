//! Scheduled maintenance: a window announced ahead, whose status follows the clock.
//!
//! A window is `scheduled` before it starts, `in_progress` inside it and `completed` after it, so
//! it moves at its edges without anyone acting; completing it early just moves its end. While it
//! is in progress its components are `under_maintenance`, and outages of their monitors that open
//! then are marked as in maintenance: shown, not counted against uptime.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceStatus {
    Scheduled,
    InProgress,
    Completed,
}

impl MaintenanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceStatus::Scheduled => "scheduled",
            MaintenanceStatus::InProgress => "in_progress",
            MaintenanceStatus::Completed => "completed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MaintenanceStatus::Scheduled => "Scheduled",
            MaintenanceStatus::InProgress => "In progress",
            MaintenanceStatus::Completed => "Completed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MaintenanceUpdate {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// Markdown.
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Maintenance {
    pub id: i64,
    pub title: String,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    pub components: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Newest first.
    pub updates: Vec<MaintenanceUpdate>,
}

impl Maintenance {
    /// The status at `now`: the start is inside the window, the end is not.
    pub fn status_at(&self, now: DateTime<Utc>) -> MaintenanceStatus {
        if now < self.scheduled_for {
            MaintenanceStatus::Scheduled
        } else if now < self.scheduled_until {
            MaintenanceStatus::InProgress
        } else {
            MaintenanceStatus::Completed
        }
    }

    /// Whether `component` is under maintenance at `now`.
    pub fn covers(&self, component: &str, now: DateTime<Utc>) -> bool {
        self.status_at(now) == MaintenanceStatus::InProgress && self.components.iter().any(|c| c == component)
    }

    /// The next edge after `now`, when the status will change by itself.
    pub fn next_edge(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        [self.scheduled_for, self.scheduled_until].into_iter().find(|&t| t > now)
    }
}

/// Checks a window: it ends after it starts, and lasts at most 31 days.
pub fn check_window(from: DateTime<Utc>, until: DateTime<Utc>) -> Result<(), String> {
    if until <= from {
        return Err("must be after scheduled_for".into());
    }
    if until - from > chrono::Duration::days(31) {
        return Err("a window lasts at most 31 days".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn window() -> Maintenance {
        let at = |h| Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).unwrap();
        Maintenance {
            id: 1,
            title: "Database upgrade".into(),
            scheduled_for: at(2),
            scheduled_until: at(4),
            components: vec!["api".into()],
            created_at: at(0),
            updates: Vec::new(),
        }
    }

    #[test]
    fn status_changes_exactly_at_the_edges() {
        let w = window();
        let second = chrono::Duration::seconds(1);
        assert_eq!(w.status_at(w.scheduled_for - second), MaintenanceStatus::Scheduled);
        assert_eq!(w.status_at(w.scheduled_for), MaintenanceStatus::InProgress);
        assert_eq!(w.status_at(w.scheduled_until - second), MaintenanceStatus::InProgress);
        assert_eq!(w.status_at(w.scheduled_until), MaintenanceStatus::Completed);
        assert_eq!(w.status_at(w.scheduled_until + second), MaintenanceStatus::Completed);
    }

    #[test]
    fn covers_only_its_components_and_only_inside() {
        let w = window();
        let inside = w.scheduled_for + chrono::Duration::minutes(30);
        assert!(w.covers("api", inside));
        assert!(!w.covers("email", inside));
        assert!(!w.covers("api", w.scheduled_until));
        assert_eq!(w.next_edge(w.created_at), Some(w.scheduled_for));
        assert_eq!(w.next_edge(inside), Some(w.scheduled_until));
        assert_eq!(w.next_edge(w.scheduled_until), None);
    }

    #[test]
    fn windows_are_checked() {
        let w = window();
        assert!(check_window(w.scheduled_for, w.scheduled_until).is_ok());
        assert!(check_window(w.scheduled_until, w.scheduled_for).is_err());
        assert!(check_window(w.scheduled_for, w.scheduled_for + chrono::Duration::days(32)).is_err());
    }
}
