//! What the public may see and in what state: the components of the page, the status page API
//! and the badges, computed once per render from the live monitors, open incidents and maintenance.
//!
//! Private things (`public = false` on a monitor or a component) never get this far: everything
//! public is built from an [`Overview`]. Neither does a paused monitor that has never been checked
//! (an example's paused TLS check, a monitor added paused): it has nothing to tell the public, and
//! listing it would make an empty page look like one where everything is fine.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use upbeat_core::incident::{ComponentStatus, Incident, component_status};
use upbeat_core::maintenance::Maintenance;
use upbeat_core::{Config, Status};

use crate::MonitorView;

/// One row of the page: a configured component, or a monitor without one standing for itself.
#[derive(Clone, Debug)]
pub struct ComponentView {
    /// The component's id, or the monitor's for a monitor without a component.
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    pub status: ComponentStatus,
    /// Every monitor of it is still waiting for its first check, and nobody declared anything.
    pub waiting: bool,
    /// Its public monitors, in configuration order; the monitor itself for a loose one.
    pub monitors: Vec<MonitorView>,
    /// A monitor without a component.
    pub loose: bool,
    /// Its position on the page, from 1.
    pub position: usize,
}

/// Everything public, with its status at one moment.
#[derive(Clone, Debug)]
pub struct Overview {
    /// Public components in configuration order, then loose public monitors.
    pub components: Vec<ComponentView>,
    /// The worst status of any component.
    pub worst: ComponentStatus,
    /// Nothing has been checked yet and nobody declared anything.
    pub waiting: bool,
    /// No public monitor at all: the page has nothing it watches to speak of.
    pub unmonitored: bool,
    /// Where each component is in `components`, and each public monitor (component, monitor):
    /// badges, names and incidents look them up.
    by_component: HashMap<String, usize>,
    by_monitor: HashMap<String, (usize, usize)>,
}

/// Whether the public sees a monitor: it is public, and it has been checked or is not paused.
/// A monitor paused after checks keeps its place (and says "Paused"): its history is real.
fn shown(m: &MonitorView) -> bool {
    m.public && !(m.state == Status::Paused && m.last_check.is_none())
}

impl Overview {
    /// `incidents` may include closed ones; only open ones count. Maintenance counts while in
    /// progress.
    pub fn new(
        config: &Config,
        monitors: Vec<MonitorView>,
        incidents: &[Incident],
        maintenances: &[Maintenance],
        now: DateTime<Utc>,
    ) -> Overview {
        let declared = |component: &str| -> Vec<ComponentStatus> {
            let from_incidents =
                incidents.iter().filter(|i| i.is_open()).filter_map(|i| i.components.get(component).copied());
            let from_maintenance =
                maintenances.iter().filter(|m| m.covers(component, now)).map(|_| ComponentStatus::UnderMaintenance);
            from_incidents.chain(from_maintenance).collect()
        };
        let public: Vec<MonitorView> = monitors.into_iter().filter(shown).collect();
        let unmonitored = public.is_empty();
        let waiting = !public.is_empty() && public.iter().all(|m| m.state == Status::Unknown);
        // Each public monitor moves to its component, in configuration order.
        let mut loose = Vec::new();
        let mut members: HashMap<String, Vec<MonitorView>> = HashMap::new();
        for m in public {
            match m.component.clone() {
                Some(c) => members.entry(c).or_default().push(m),
                None => loose.push(m),
            }
        }
        let mut components = Vec::new();
        for c in config.components.iter().filter(|c| c.public) {
            let members = members.remove(&c.id).unwrap_or_default();
            let said = declared(&c.id);
            let waiting = !members.is_empty() && members.iter().all(|m| m.state == Status::Unknown) && said.is_empty();
            components.push(ComponentView {
                id: c.id.clone(),
                name: c.name.clone(),
                group: c.group.clone(),
                description: c.description.clone(),
                status: component_status(members.iter().map(|m| m.state), said),
                waiting,
                monitors: members,
                loose: false,
                position: components.len() + 1,
            });
        }
        let grouped = components.iter().any(|c| c.group.is_some());
        for m in loose {
            components.push(ComponentView {
                id: m.id.to_string(),
                name: m.name.clone(),
                group: grouped.then(|| "Other services".to_owned()),
                description: None,
                status: component_status([m.state], []),
                waiting: m.state == Status::Unknown,
                monitors: vec![m],
                loose: true,
                position: components.len() + 1,
            });
        }
        let worst = components.iter().map(|c| c.status).max().unwrap_or(ComponentStatus::Operational);
        // A loose monitor named like a component does not hide it: the first one stays.
        let mut by_component = HashMap::new();
        for (c, component) in components.iter().enumerate() {
            by_component.entry(component.id.clone()).or_insert(c);
        }
        let by_monitor = components
            .iter()
            .enumerate()
            .flat_map(|(c, component)| {
                component.monitors.iter().enumerate().map(move |(m, view)| (view.id.to_string(), (c, m)))
            })
            .collect();
        let waiting = waiting && worst == ComponentStatus::Operational;
        Overview { components, worst, waiting, unmonitored, by_component, by_monitor }
    }

    /// The component (or loose monitor) with this id, if it is public.
    pub fn component(&self, id: &str) -> Option<&ComponentView> {
        self.by_component.get(id).and_then(|&c| self.components.get(c))
    }

    /// Whether the public may see a component id an incident or a window names.
    pub fn shows(&self, id: &str) -> bool {
        self.component(id).is_some()
    }

    /// The public monitor with this id.
    pub fn monitor(&self, id: &str) -> Option<&MonitorView> {
        let &(c, m) = self.by_monitor.get(id)?;
        self.components.get(c)?.monitors.get(m)
    }

    /// Components by group, groups in the order their first component comes; `None` for components
    /// without a group.
    pub fn groups(&self) -> Vec<(Option<&str>, Vec<&ComponentView>)> {
        let mut groups: Vec<(Option<&str>, Vec<&ComponentView>)> = Vec::new();
        for c in &self.components {
            match groups.iter_mut().find(|(g, _)| *g == c.group.as_deref()) {
                Some((_, list)) => list.push(c),
                None => groups.push((c.group.as_deref(), vec![c])),
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upbeat_store::LastSample;

    fn config() -> Config {
        let src = "[page]\ntitle = \"T\"\n\
            [[monitor]]\nid = \"never\"\nname = \"Never checked\"\nkind = \"tcp\"\nhost = \"h\"\nport = 1\npaused = true\n\
            [[monitor]]\nid = \"before\"\nname = \"Checked before\"\nkind = \"tcp\"\nhost = \"h\"\nport = 1\npaused = true\n";
        Config::parse("test.toml", src).unwrap()
    }

    fn paused(config: &Config, id: &str, checked: bool) -> MonitorView {
        let m = config.monitors.iter().find(|m| m.id.as_str() == id).unwrap();
        let last_check = checked.then(|| LastSample {
            at: Utc::now(),
            up: true,
            latency: std::time::Duration::from_millis(3),
            http_status: None,
            error: None,
        });
        MonitorView { state: Status::Paused, last_check, ..MonitorView::of(m) }
    }

    #[test]
    fn a_paused_monitor_never_checked_is_not_public_one_checked_before_is() {
        let config = config();
        let monitors = vec![paused(&config, "never", false), paused(&config, "before", true)];
        let overview = Overview::new(&config, monitors, &[], &[], Utc::now());
        assert!(overview.monitor("never").is_none() && !overview.shows("never"));
        assert_eq!(overview.monitor("before").map(|m| m.name.as_str()), Some("Checked before"));
        assert_eq!(overview.components.len(), 1);
        assert!(!overview.unmonitored);
    }

    #[test]
    fn only_paused_monitors_never_checked_leave_the_page_unmonitored() {
        let config = config();
        let monitors = vec![paused(&config, "never", false)];
        let overview = Overview::new(&config, monitors, &[], &[], Utc::now());
        assert!(overview.unmonitored);
        assert!(overview.components.is_empty());
        assert_eq!(overview.worst, ComponentStatus::Operational);
    }
}
