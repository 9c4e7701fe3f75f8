//! Atlassian Statuspage's public API, v2: the same routes, field names, enums, nesting and time
//! format, so clients and aggregators that read a Statuspage page read upbeat's unchanged.
//!
//! Pure: [`crate::cache`] renders every route once per change and serves the bytes.
//!
//! What is chosen where Statuspage has something upbeat does not:
//! - **Ids** are strings. The page's is 12 hex digits of a SHA-256 of `base_url`; a component's is
//!   its configured id (a loose monitor's, its monitor id); a group's is 12 hex digits of a SHA-256
//!   of its name; an incident's and an update's are their numbers. Statuspage keeps scheduled
//!   maintenances in its incidents table, so clients (upbeat's own importer among them) key both
//!   lists by one id: upbeat's windows live in a table of their own whose numbers restart at 1, so
//!   a window's id is `m<number>` and its updates' `mu<number>`, never an incident's.
//! - **Times** are Statuspage's (Rails') `2025-01-03T11:00:00.000-05:00`: milliseconds, in the
//!   page's `time_zone` with its offset at that instant; `Z` when the zone is UTC itself.
//! - **`status`** is the worst of the components (degraded → `minor`, partial outage → `major`,
//!   major outage → `critical`) and of the unresolved incidents' impacts; with neither, a window in
//!   progress makes it `maintenance`. [`indicator`] has the descriptions.
//! - **Groups** are listed as Statuspage lists them: one flat array, each group (`"group": true`,
//!   `components`: its children's ids) right before its children, which carry its `group_id`;
//!   positions count that array from 1.
//! - **`created_at` / `updated_at`** of components and the page are derived from the data, never
//!   from the clock, so an unchanged page renders the same bytes (and the same ETag); see
//!   [`Moments`].
//!
//! Private components and their monitors never reach an [`Overview`], and every component an
//! incident or a window names is looked up in it: a private one is left out everywhere.
//!
//! The bodies are compact JSON (`serde_json::to_string`), keys in Statuspage's order.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::{OffsetName, Tz};
use serde::Serialize;
use sha2::{Digest, Sha256};
use upbeat_core::Config;
use upbeat_core::incident::{ComponentStatus, Impact, Incident, IncidentStatus};
use upbeat_core::maintenance::{Maintenance, MaintenanceStatus};

use crate::overview::{ComponentView, Overview};

/// The JSON bodies of every `/api/v2` route.
pub struct V2 {
    pub summary: String,
    pub status: String,
    pub components: String,
    pub incidents: String,
    pub unresolved: String,
    pub scheduled_maintenances: String,
    pub upcoming: String,
    pub active: String,
}

/// The routes, in the order [`V2::routes`] gives their bodies.
pub const ROUTES: [&str; 8] = [
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
];

impl V2 {
    /// Each route with its body.
    pub fn routes(self) -> impl Iterator<Item = (&'static str, String)> {
        let bodies = [
            self.summary,
            self.status,
            self.components,
            self.incidents,
            self.unresolved,
            self.scheduled_maintenances,
            self.upcoming,
            self.active,
        ];
        ROUTES.into_iter().zip(bodies)
    }
}

/// Statuspage lists the 50 newest incidents and scheduled maintenances.
const LISTED: usize = 50;

/// `incidents`: the newest incidents, open and closed, newest first (at most 50 are listed);
/// `maintenances`: the newest windows of any status (at most 50 are listed).
pub fn render(
    config: &Config,
    overview: &Overview,
    incidents: &[Incident],
    maintenances: &[Maintenance],
    now: DateTime<Utc>,
) -> V2 {
    let moments = Moments::new(overview, incidents, maintenances, now);
    let ctx = Ctx::new(config, overview, &moments, now);
    let page = PageJson {
        id: ctx.page_id.clone(),
        name: config.page.title.clone(),
        url: config.page.base_url.trim_end_matches('/').to_owned(),
        time_zone: config.page.time_zone.name().to_owned(),
        updated_at: ctx.time(moments.page_updated_at()),
    };

    let open: Vec<&Incident> = incidents.iter().filter(|i| i.is_open()).collect();
    let worst_impact = open.iter().map(|i| i.impact).max();
    let in_progress = maintenances.iter().any(|m| m.status_at(now) == MaintenanceStatus::InProgress);
    let (indicator, description) = indicator(overview.worst, worst_impact, in_progress);
    let status = StatusJson { indicator, description };

    let listed: Vec<IncidentJson> = incidents.iter().take(LISTED).map(|i| ctx.incident(i)).collect();
    let unresolved: Vec<IncidentJson> = open.iter().map(|i| ctx.incident(i)).collect();
    let windows: Vec<MaintenanceJson> = maintenances.iter().take(LISTED).map(|m| ctx.maintenance(m)).collect();
    // Upcoming and active windows, the soonest first.
    let mut current: Vec<&Maintenance> =
        maintenances.iter().filter(|m| m.status_at(now) != MaintenanceStatus::Completed).collect();
    current.sort_by_key(|m| (m.scheduled_for, m.id));
    let with_status = |wanted: MaintenanceStatus| -> Vec<MaintenanceJson> {
        current.iter().filter(|m| m.status_at(now) == wanted).map(|m| ctx.maintenance(m)).collect()
    };

    V2 {
        summary: json(&Summary {
            page: &page,
            components: &ctx.components,
            incidents: &unresolved,
            scheduled_maintenances: &current.iter().map(|m| ctx.maintenance(m)).collect::<Vec<_>>(),
            status: &status,
        }),
        status: json(&StatusBody { page: &page, status: &status }),
        components: json(&ComponentsBody { page: &page, components: &ctx.components }),
        incidents: json(&IncidentsBody { page: &page, incidents: &listed }),
        unresolved: json(&IncidentsBody { page: &page, incidents: &unresolved }),
        scheduled_maintenances: json(&MaintenancesBody { page: &page, scheduled_maintenances: &windows }),
        upcoming: json(&MaintenancesBody {
            page: &page,
            scheduled_maintenances: &with_status(MaintenanceStatus::Scheduled),
        }),
        active: json(&MaintenancesBody {
            page: &page,
            scheduled_maintenances: &with_status(MaintenanceStatus::InProgress),
        }),
    }
}

/// The page's `status`: Statuspage's indicator and the description it shows with it.
///
/// `worst` is the worst public component's status, `open_impact` the worst impact of the unresolved
/// incidents, `in_progress` whether a maintenance window is under way. The worse of the components'
/// and the incidents' levels wins; `minor` reads "Partially Degraded Service" when degraded
/// components make it, "Minor Service Outage" when only an incident does. Nothing worse while
/// maintenance is under way is `maintenance`, "Service Under Maintenance".
pub fn indicator(
    worst: ComponentStatus,
    open_impact: Option<Impact>,
    in_progress: bool,
) -> (&'static str, &'static str) {
    let from_components = match worst {
        ComponentStatus::Operational | ComponentStatus::UnderMaintenance => 0,
        ComponentStatus::DegradedPerformance => 1,
        ComponentStatus::PartialOutage => 2,
        ComponentStatus::MajorOutage => 3,
    };
    let from_incidents = match open_impact {
        None | Some(Impact::None) => 0,
        Some(Impact::Minor) => 1,
        Some(Impact::Major) => 2,
        Some(Impact::Critical) => 3,
    };
    match from_components.max(from_incidents) {
        0 if in_progress || worst == ComponentStatus::UnderMaintenance => ("maintenance", "Service Under Maintenance"),
        0 => ("none", "All Systems Operational"),
        1 if from_components == 1 => ("minor", "Partially Degraded Service"),
        1 => ("minor", "Minor Service Outage"),
        2 => ("major", "Partial System Outage"),
        _ => ("critical", "Major Service Outage"),
    }
}

/// A time as Statuspage writes it: milliseconds, the page's zone's offset at that instant, and `Z`
/// (not `+00:00`) when the zone is UTC itself, as Rails does; `Europe/London` in winter is `+00:00`.
pub fn time(t: DateTime<Utc>, zone: Tz) -> String {
    let local = t.with_timezone(&zone);
    let utc = matches!(local.offset().abbreviation(), Some("UTC" | "UCT"));
    let format = if utc { "%Y-%m-%dT%H:%M:%S%.3fZ" } else { "%Y-%m-%dT%H:%M:%S%.3f%:z" };
    local.format(format).to_string()
}

/// 12 lowercase hex digits naming `what` of `kind`, the same on every render and every restart.
fn stable_id(kind: &str, what: &str) -> String {
    let digest = Sha256::digest(format!("upbeat-statuspage-{kind}\n{what}").as_bytes());
    hex::encode(digest)[..12].to_owned()
}

/// The page's id: from its address, so it stays when the title changes, and a trailing `/` does
/// not matter.
pub fn page_id(base_url: &str) -> String {
    stable_id("page", base_url.trim_end_matches('/'))
}

/// A component group's id: from its name (groups have no id of their own in the configuration).
pub fn group_id(name: &str) -> String {
    stable_id("group", name)
}

/// A window's id: its number behind `m`, apart from the incidents' numbers.
fn maintenance_id(id: i64) -> String {
    format!("m{id}")
}

/// The times upbeat has no column for, derived from the data so an unchanged page renders the
/// same bytes:
/// - a component's `updated_at` is its latest known change: an open outage of its monitors
///   starting, an incident naming it being opened, updated about it or resolved, a window covering
///   it starting or ending (edges not yet passed do not count). With none, its `created_at`.
/// - every `created_at` of a component or group is the page's *epoch*: the oldest moment the data
///   knows (incidents' starts and creations, windows' creations, open outages' starts).
/// - the page's `updated_at` is the newest of the components' changes, of every incident's
///   `updated_at` and postmortem, and of every window's creation, updates and passed edges.
///
/// Only a page with no incident, no window and no outage at all has no such moment: then both are
/// `now`, the one time the clock shows through.
struct Moments {
    epoch: DateTime<Utc>,
    /// Component id → its latest change.
    changed: BTreeMap<String, DateTime<Utc>>,
    /// The newest change of an incident or a window.
    news: Option<DateTime<Utc>>,
}

impl Moments {
    fn new(overview: &Overview, incidents: &[Incident], maintenances: &[Maintenance], now: DateTime<Utc>) -> Moments {
        let mut changed: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        let mut note = |id: &str, at: DateTime<Utc>| {
            if overview.shows(id) {
                let entry = changed.entry(id.to_owned()).or_insert(at);
                *entry = (*entry).max(at);
            }
        };
        for c in &overview.components {
            for m in &c.monitors {
                if let Some(outage) = &m.open_outage {
                    note(&c.id, outage.started_at);
                }
            }
        }
        for i in incidents {
            for id in i.components.keys() {
                note(id, i.created_at);
                if let Some(resolved) = i.resolved_at {
                    note(id, resolved);
                }
            }
            for u in &i.updates {
                for id in u.components.keys() {
                    note(id, u.created_at);
                }
            }
        }
        for m in maintenances {
            for edge in passed_edges(m, now) {
                for id in &m.components {
                    note(id, edge);
                }
            }
        }

        let outages = overview.components.iter().flat_map(|c| &c.monitors).filter_map(|m| m.open_outage.as_ref());
        let oldest = incidents
            .iter()
            .flat_map(|i| [i.started_at, i.created_at])
            .chain(maintenances.iter().map(|m| m.created_at))
            .chain(outages.map(|o| o.started_at))
            .min();
        let news = incidents
            .iter()
            .flat_map(|i| std::iter::once(i.updated_at).chain(i.postmortem.as_ref().map(|p| p.published_at)))
            .chain(maintenances.iter().map(|m| maintenance_updated_at(m, now)))
            .max();
        Moments { epoch: oldest.unwrap_or(now), changed, news }
    }

    fn component_updated_at(&self, id: &str) -> DateTime<Utc> {
        self.changed.get(id).copied().unwrap_or(self.epoch)
    }

    fn page_updated_at(&self) -> DateTime<Utc> {
        self.changed.values().copied().chain(self.news).max().unwrap_or(self.epoch)
    }
}

/// A window's start and end, those that `now` has passed.
fn passed_edges(m: &Maintenance, now: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> {
    [m.scheduled_for, m.scheduled_until].into_iter().filter(move |t| *t <= now)
}

/// A window's last change: its creation, its newest update or the last edge it passed.
fn maintenance_updated_at(m: &Maintenance, now: DateTime<Utc>) -> DateTime<Utc> {
    std::iter::once(m.created_at)
        .chain(m.updates.iter().map(|u| u.created_at))
        .chain(passed_edges(m, now))
        .max()
        .unwrap_or(m.created_at)
}

/// What every object needs: the page's id and zone and the components as listed.
struct Ctx<'a> {
    zone: Tz,
    page_id: String,
    base_url: &'a str,
    now: DateTime<Utc>,
    /// Groups and components, flat, in page order.
    components: Vec<ComponentJson>,
}

impl<'a> Ctx<'a> {
    fn new(config: &'a Config, overview: &'a Overview, moments: &Moments, now: DateTime<Utc>) -> Ctx<'a> {
        let zone = config.page.time_zone;
        let page_id = page_id(&config.page.base_url);
        let epoch = time(moments.epoch, zone);
        let component = |c: &ComponentView, group: Option<&str>| ComponentJson {
            id: c.id.clone(),
            name: c.name.clone(),
            status: c.status.as_str(),
            created_at: epoch.clone(),
            updated_at: time(moments.component_updated_at(&c.id), zone),
            position: 0,
            description: c.description.clone(),
            showcase: true,
            start_date: None,
            group_id: group.map(str::to_owned),
            page_id: page_id.clone(),
            group: false,
            only_show_if_degraded: false,
            components: None,
        };
        let mut components = Vec::new();
        for (group, members) in overview.groups() {
            let Some(name) = group else {
                components.extend(members.iter().map(|c| component(c, None)));
                continue;
            };
            let id = group_id(name);
            let updated = members.iter().map(|c| moments.component_updated_at(&c.id)).max().unwrap_or(moments.epoch);
            components.push(ComponentJson {
                id: id.clone(),
                name: name.to_owned(),
                status: members.iter().map(|c| c.status).max().unwrap_or(ComponentStatus::Operational).as_str(),
                created_at: epoch.clone(),
                updated_at: time(updated, zone),
                position: 0,
                description: None,
                showcase: false,
                start_date: None,
                group_id: None,
                page_id: page_id.clone(),
                group: true,
                only_show_if_degraded: false,
                components: Some(members.iter().map(|c| c.id.clone()).collect()),
            });
            components.extend(members.iter().map(|c| component(c, Some(&id))));
        }
        for (n, c) in components.iter_mut().enumerate() {
            c.position = n + 1;
        }
        Ctx { zone, page_id, base_url: &config.page.base_url, now, components }
    }

    fn time(&self, t: DateTime<Utc>) -> String {
        time(t, self.zone)
    }

    /// The public component with this id as listed, never a group.
    fn component(&self, id: &str) -> Option<&ComponentJson> {
        self.components.iter().find(|c| !c.group && c.id == id)
    }

    /// The public components `named` picks, in page order, with the status `status_of` gives.
    fn components_of(
        &self,
        named: impl Fn(&str) -> bool,
        status_of: impl Fn(&ComponentJson) -> &'static str,
    ) -> Vec<ComponentJson> {
        self.components
            .iter()
            .filter(|c| !c.group && named(&c.id))
            .map(|c| ComponentJson { status: status_of(c), ..c.clone() })
            .collect()
    }

    /// An update as written: shown, created and last changed at `at`; naming no component.
    fn update(&self, id: String, status: &'static str, body: &str, of: &str, at: DateTime<Utc>) -> UpdateJson {
        let at = self.time(at);
        UpdateJson {
            id,
            status,
            body: body.to_owned(),
            incident_id: of.to_owned(),
            created_at: at.clone(),
            updated_at: at.clone(),
            display_at: at,
            affected_components: None,
            deliver_notifications: true,
            custom_tweet: None,
            tweet_id: None,
        }
    }

    fn incident(&self, i: &Incident) -> IncidentJson {
        let id = i.id.to_string();
        // Walk the updates oldest first, so each change knows the status it replaced.
        let mut known: BTreeMap<&str, ComponentStatus> = BTreeMap::new();
        let mut updates: Vec<(DateTime<Utc>, UpdateJson)> = i
            .updates
            .iter()
            .rev()
            .map(|u| {
                let affected: Vec<AffectedJson> = u
                    .components
                    .iter()
                    .filter_map(|(component, new)| {
                        let old = known.insert(component, *new).unwrap_or(ComponentStatus::Operational);
                        let listed = self.component(component)?;
                        Some(AffectedJson {
                            code: listed.id.clone(),
                            name: listed.name.clone(),
                            old_status: old.as_str(),
                            new_status: new.as_str(),
                        })
                    })
                    .collect();
                let update = self.update(u.id.to_string(), u.status.as_str(), &u.body, &id, u.created_at);
                (u.created_at, UpdateJson { affected_components: (!affected.is_empty()).then_some(affected), ..update })
            })
            .collect();
        // A published postmortem is an update of its own, as Statuspage shows it.
        if let Some(p) = &i.postmortem {
            let update = self.update(format!("postmortem-{}", i.id), "postmortem", &p.body, &id, p.published_at);
            updates.push((p.published_at, update));
        }
        // Newest first, the postmortem by its time like any update; of two at one time, the later.
        updates.sort_by_key(|(at, _)| *at);
        let incident_updates: Vec<UpdateJson> = updates.into_iter().rev().map(|(_, u)| u).collect();

        let status = match (i.status, &i.postmortem) {
            (IncidentStatus::Resolved, Some(_)) => "postmortem",
            (status, _) => status.as_str(),
        };
        let updated_at = std::iter::once(i.updated_at).chain(i.postmortem.as_ref().map(|p| p.published_at)).max();
        let listed = Listed {
            id,
            name: i.title.clone(),
            status,
            created_at: self.time(i.created_at),
            updated_at: self.time(updated_at.unwrap_or(i.updated_at)),
            monitoring_at: i
                .updates
                .iter()
                .rev()
                .find(|u| u.status == IncidentStatus::Monitoring)
                .map(|u| self.time(u.created_at)),
            resolved_at: i.resolved_at.filter(|_| !i.is_open()).map(|t| self.time(t)),
            impact: i.impact.as_str(),
            shortlink: upbeat_core::incident::link(self.base_url, i.id),
            started_at: self.time(i.started_at),
            page_id: self.page_id.clone(),
            incident_updates,
            // Each with the status the incident gives it: what it was during the incident.
            components: self.components_of(
                |c| i.components.contains_key(c),
                |c| i.components.get(&c.id).map_or(c.status, |s| s.as_str()),
            ),
        };
        IncidentJson {
            listed,
            postmortem_body: i.postmortem.as_ref().map(|p| p.body.clone()),
            postmortem_published_at: i.postmortem.as_ref().map(|p| self.time(p.published_at)),
        }
    }

    fn maintenance(&self, m: &Maintenance) -> MaintenanceJson {
        let id = maintenance_id(m.id);
        let status = m.status_at(self.now);
        let updates = m
            .updates
            .iter()
            .map(|u| self.update(format!("mu{}", u.id), m.status_at(u.created_at).as_str(), &u.body, &id, u.created_at))
            .collect();
        let listed = Listed {
            id,
            name: m.title.clone(),
            status: status.as_str(),
            created_at: self.time(m.created_at),
            updated_at: self.time(maintenance_updated_at(m, self.now)),
            monitoring_at: None,
            resolved_at: (status == MaintenanceStatus::Completed).then(|| self.time(m.scheduled_until)),
            impact: "maintenance",
            shortlink: self.base_url.to_owned(),
            started_at: self.time(m.scheduled_for),
            page_id: self.page_id.clone(),
            incident_updates: updates,
            // Their live status: under maintenance while the window is in progress.
            components: self.components_of(|c| m.components.iter().any(|id| id == c), |c| c.status),
        };
        MaintenanceJson {
            listed,
            scheduled_for: self.time(m.scheduled_for),
            scheduled_until: self.time(m.scheduled_until),
            scheduled_remind_prior: false,
            scheduled_reminded_at: None,
            scheduled_auto_in_progress: true,
            scheduled_auto_completed: true,
        }
    }
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not serialize a Statuspage API body");
        "{}".to_owned()
    })
}

#[derive(Serialize)]
struct PageJson {
    id: String,
    name: String,
    url: String,
    time_zone: String,
    updated_at: String,
}

#[derive(Serialize)]
struct StatusJson {
    indicator: &'static str,
    description: &'static str,
}

#[derive(Clone, Serialize)]
struct ComponentJson {
    id: String,
    name: String,
    status: &'static str,
    created_at: String,
    updated_at: String,
    position: usize,
    description: Option<String>,
    showcase: bool,
    start_date: Option<String>,
    group_id: Option<String>,
    page_id: String,
    group: bool,
    only_show_if_degraded: bool,
    /// A group's children; only groups have the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<String>>,
}

#[derive(Serialize)]
struct AffectedJson {
    code: String,
    name: String,
    old_status: &'static str,
    new_status: &'static str,
}

#[derive(Serialize)]
struct UpdateJson {
    id: String,
    status: &'static str,
    body: String,
    incident_id: String,
    created_at: String,
    updated_at: String,
    display_at: String,
    affected_components: Option<Vec<AffectedJson>>,
    deliver_notifications: bool,
    custom_tweet: Option<String>,
    tweet_id: Option<String>,
}

/// What incidents and scheduled maintenances have alike, in Statuspage's order.
#[derive(Serialize)]
struct Listed {
    id: String,
    name: String,
    status: &'static str,
    created_at: String,
    updated_at: String,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    impact: &'static str,
    shortlink: String,
    started_at: String,
    page_id: String,
    incident_updates: Vec<UpdateJson>,
    components: Vec<ComponentJson>,
}

#[derive(Serialize)]
struct IncidentJson {
    #[serde(flatten)]
    listed: Listed,
    postmortem_body: Option<String>,
    postmortem_published_at: Option<String>,
}

#[derive(Serialize)]
struct MaintenanceJson {
    #[serde(flatten)]
    listed: Listed,
    scheduled_for: String,
    scheduled_until: String,
    scheduled_remind_prior: bool,
    scheduled_reminded_at: Option<String>,
    scheduled_auto_in_progress: bool,
    scheduled_auto_completed: bool,
}

#[derive(Serialize)]
struct Summary<'a> {
    page: &'a PageJson,
    components: &'a [ComponentJson],
    incidents: &'a [IncidentJson],
    scheduled_maintenances: &'a [MaintenanceJson],
    status: &'a StatusJson,
}

#[derive(Serialize)]
struct StatusBody<'a> {
    page: &'a PageJson,
    status: &'a StatusJson,
}

#[derive(Serialize)]
struct ComponentsBody<'a> {
    page: &'a PageJson,
    components: &'a [ComponentJson],
}

#[derive(Serialize)]
struct IncidentsBody<'a> {
    page: &'a PageJson,
    incidents: &'a [IncidentJson],
}

#[derive(Serialize)]
struct MaintenancesBody<'a> {
    page: &'a PageJson,
    scheduled_maintenances: &'a [MaintenanceJson],
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::Value;
    use upbeat_core::incident::{IncidentUpdate, Postmortem, update_guid_hash};
    use upbeat_core::maintenance::MaintenanceUpdate;
    use upbeat_core::state::OpenOutage;
    use upbeat_core::{OutageId, Status};

    use super::*;
    use crate::MonitorView;

    fn at(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, d, h, mi, 0).unwrap()
    }

    #[test]
    fn times_have_milliseconds_and_the_zones_offset() {
        let t = Utc.with_ymd_and_hms(2025, 1, 3, 16, 0, 0).unwrap() + chrono::Duration::milliseconds(7);
        let new_york: Tz = "America/New_York".parse().unwrap();
        assert_eq!(time(t, new_york), "2025-01-03T11:00:00.007-05:00");
        let summer = Utc.with_ymd_and_hms(2025, 7, 3, 16, 0, 0).unwrap();
        assert_eq!(time(summer, new_york), "2025-07-03T12:00:00.000-04:00");
        assert_eq!(time(t, "Asia/Kolkata".parse().unwrap()), "2025-01-03T21:30:00.007+05:30");
        // UTC itself is `Z`, as Statuspage writes it; a zone merely at +00:00 keeps its offset.
        assert_eq!(time(t, chrono_tz::UTC), "2025-01-03T16:00:00.007Z");
        assert_eq!(time(t, "Etc/UTC".parse().unwrap()), "2025-01-03T16:00:00.007Z");
        assert_eq!(time(t, "Europe/London".parse().unwrap()), "2025-01-03T16:00:00.007+00:00");
        for zone in ["America/New_York", "UTC", "Europe/London", "Pacific/Chatham"] {
            let text = time(t, zone.parse().unwrap());
            assert_eq!(DateTime::parse_from_rfc3339(&text).unwrap(), t, "{zone}: {text}");
        }
    }

    #[test]
    fn the_indicator_is_the_worst_of_components_and_open_incidents() {
        use ComponentStatus::*;
        let cases = [
            (Operational, None, false, "none", "All Systems Operational"),
            (Operational, Some(Impact::None), false, "none", "All Systems Operational"),
            (DegradedPerformance, None, false, "minor", "Partially Degraded Service"),
            (Operational, Some(Impact::Minor), false, "minor", "Minor Service Outage"),
            (DegradedPerformance, Some(Impact::Minor), false, "minor", "Partially Degraded Service"),
            (PartialOutage, None, false, "major", "Partial System Outage"),
            (Operational, Some(Impact::Major), false, "major", "Partial System Outage"),
            (MajorOutage, Some(Impact::Minor), false, "critical", "Major Service Outage"),
            (DegradedPerformance, Some(Impact::Critical), false, "critical", "Major Service Outage"),
            (UnderMaintenance, None, true, "maintenance", "Service Under Maintenance"),
            (Operational, None, true, "maintenance", "Service Under Maintenance"),
            (UnderMaintenance, Some(Impact::None), false, "maintenance", "Service Under Maintenance"),
            (DegradedPerformance, None, true, "minor", "Partially Degraded Service"),
            (Operational, Some(Impact::Major), true, "major", "Partial System Outage"),
        ];
        for (worst, impact, in_progress, want, description) in cases {
            assert_eq!(
                indicator(worst, impact, in_progress),
                (want, description),
                "{worst:?} {impact:?} {in_progress}"
            );
        }
    }

    #[test]
    fn ids_are_stable_short_and_lowercase() {
        let id = page_id("https://status.example.com/");
        assert_eq!(id, page_id("https://status.example.com"));
        assert_ne!(id, page_id("https://status.example.org/"));
        assert_eq!(id.len(), 12);
        assert!(id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
        assert_eq!(group_id("Core"), group_id("Core"));
        assert_ne!(group_id("Core"), group_id("Edge"));
    }

    const CONFIG: &str = r#"
[page]
title = "Example"
base_url = "https://status.example.com/"
time_zone = "America/New_York"

[[component]]
id = "api"
name = "API"
group = "Core"
description = "The REST API"

[[component]]
id = "web"
name = "Web app"
group = "Core"

[[component]]
id = "vault"
name = "Secret Vault"
public = false

[[component]]
id = "email"
name = "Email"

[[monitor]]
id = "vault-probe"
name = "Vault probe"
kind = "tcp"
host = "127.0.0.1"
port = 1
component = "vault"

[[monitor]]
id = "api-check"
name = "API check"
kind = "tcp"
host = "127.0.0.1"
port = 1
component = "api"
"#;

    fn view(m: &upbeat_core::monitor::Monitor, state: Status, outage: Option<DateTime<Utc>>) -> MonitorView {
        MonitorView {
            id: m.id.clone(),
            name: m.name.clone(),
            kind: "tcp",
            target: "127.0.0.1:1".into(),
            component: m.component.clone(),
            public: m.public,
            interval_seconds: 60.0,
            state,
            last_check: None,
            open_outage: outage.map(|t| OpenOutage {
                id: OutageId::derive(&m.id, t),
                started_at: t,
                cause: "refused".into(),
            }),
            ping_uuid: None,
            last_value: None,
            next_deadline: None,
        }
    }

    fn update(
        incident: i64,
        id: i64,
        status: IncidentStatus,
        t: DateTime<Utc>,
        components: &[(&str, ComponentStatus)],
    ) -> IncidentUpdate {
        IncidentUpdate {
            id,
            incident_id: incident,
            created_at: t,
            status,
            body: format!("Update **{id}**."),
            components: components.iter().map(|(c, s)| (c.to_string(), *s)).collect(),
            guid_hash: update_guid_hash(incident, id),
        }
    }

    /// An open incident naming `api` and the private `vault`, a resolved one with a postmortem, a
    /// window in progress on `email` and `vault`, one upcoming.
    fn fixture() -> (Config, Vec<MonitorView>, Vec<Incident>, Vec<Maintenance>, DateTime<Utc>) {
        use ComponentStatus::*;
        let config = Config::parse("test.toml", CONFIG).unwrap();
        let now = at(3, 16, 0);
        let monitors = vec![
            view(&config.monitors[0], Status::Down, Some(at(3, 14, 0))),
            view(&config.monitors[1], Status::Up, None),
        ];
        let open = Incident {
            id: 7,
            title: "Slow API".into(),
            impact: Impact::Minor,
            status: IncidentStatus::Monitoring,
            components: [("api".to_string(), Operational), ("vault".to_string(), MajorOutage)].into(),
            started_at: at(3, 14, 0),
            resolved_at: None,
            created_at: at(3, 14, 1),
            updated_at: at(3, 15, 0),
            updates: vec![
                update(7, 12, IncidentStatus::Monitoring, at(3, 15, 0), &[("api", Operational)]),
                update(7, 11, IncidentStatus::Identified, at(3, 14, 30), &[("vault", MajorOutage)]),
                update(7, 10, IncidentStatus::Investigating, at(3, 14, 0), &[("api", DegradedPerformance)]),
            ],
            postmortem: None,
        };
        let closed = Incident {
            id: 1,
            title: "Email delays".into(),
            impact: Impact::Major,
            status: IncidentStatus::Resolved,
            components: [("email".to_string(), PartialOutage)].into(),
            started_at: at(1, 9, 0),
            resolved_at: Some(at(1, 10, 0)),
            created_at: at(1, 9, 0),
            updated_at: at(1, 10, 0),
            updates: vec![
                update(1, 2, IncidentStatus::Resolved, at(1, 10, 0), &[("email", Operational)]),
                update(1, 1, IncidentStatus::Investigating, at(1, 9, 0), &[("email", PartialOutage)]),
            ],
            postmortem: Some(Postmortem { body: "What happened.".into(), published_at: at(2, 9, 0) }),
        };
        let window = |id: i64, from: DateTime<Utc>, until: DateTime<Utc>, components: &[&str]| Maintenance {
            id,
            title: format!("Window {id}"),
            scheduled_for: from,
            scheduled_until: until,
            components: components.iter().map(|c| c.to_string()).collect(),
            created_at: at(1, 8, 0),
            updates: vec![MaintenanceUpdate { id: id * 10, created_at: at(1, 8, 0), body: "Planned.".into() }],
        };
        let maintenances = vec![
            window(2, at(4, 2, 0), at(4, 4, 0), &["api"]),
            window(1, at(3, 15, 30), at(3, 17, 0), &["email", "vault"]),
        ];
        (config, monitors, vec![open, closed], maintenances, now)
    }

    fn rendered() -> V2 {
        let (config, monitors, incidents, maintenances, now) = fixture();
        let overview = Overview::new(&config, monitors.clone(), &incidents, &maintenances, now);
        render(&config, &overview, &incidents, &maintenances, now)
    }

    fn bodies(v2: &V2) -> [(&'static str, &str); 8] {
        [
            ("summary", &v2.summary),
            ("status", &v2.status),
            ("components", &v2.components),
            ("incidents", &v2.incidents),
            ("unresolved", &v2.unresolved),
            ("scheduled_maintenances", &v2.scheduled_maintenances),
            ("upcoming", &v2.upcoming),
            ("active", &v2.active),
        ]
    }

    #[test]
    fn a_private_component_an_incident_names_never_appears() {
        let v2 = rendered();
        for (route, body) in bodies(&v2) {
            let _: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{route}: {e}"));
            for secret in ["vault", "Vault", "Secret", "probe"] {
                assert!(!body.contains(secret), "{route} shows `{secret}`: {body}");
            }
        }
        let incidents: Value = serde_json::from_str(&v2.incidents).unwrap();
        let open = &incidents["incidents"][0];
        assert_eq!(open["components"].as_array().unwrap().len(), 1, "{open}");
        // The update that named only the private component names nothing.
        assert_eq!(open["incident_updates"][1]["affected_components"], Value::Null);
    }

    #[test]
    fn components_groups_incidents_and_windows_have_statuspages_shape() {
        let v2 = rendered();
        let summary: Value = serde_json::from_str(&v2.summary).unwrap();
        let keys: Vec<&str> = summary.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 5, "{keys:?}");
        let page = &summary["page"];
        assert_eq!(page["id"], page_id("https://status.example.com/"));
        assert_eq!(page["url"], "https://status.example.com");
        assert_eq!(page["time_zone"], "America/New_York");
        // The newest change: the window on `email` starting at 15:30 UTC.
        assert_eq!(page["updated_at"], "2025-01-03T10:30:00.000-05:00");
        assert_eq!(summary["status"]["indicator"], "minor");
        assert_eq!(summary["status"]["description"], "Minor Service Outage");

        let components = summary["components"].as_array().unwrap();
        let ids: Vec<&str> = components.iter().map(|c| c["id"].as_str().unwrap()).collect();
        let core = group_id("Core");
        assert_eq!(ids, [core.as_str(), "api", "web", "email"]);
        let positions: Vec<i64> = components.iter().map(|c| c["position"].as_i64().unwrap()).collect();
        assert_eq!(positions, [1, 2, 3, 4]);
        assert_eq!(components[0]["group"], true);
        assert_eq!(components[0]["components"], serde_json::json!(["api", "web"]));
        assert_eq!(components[1]["group_id"], core.as_str());
        assert_eq!(components[1]["description"], "The REST API");
        assert_eq!(components[3]["group_id"], Value::Null);
        assert_eq!(components[3]["status"], "under_maintenance");
        assert!(components[1].get("components").is_none());

        let incidents: Value = serde_json::from_str(&v2.incidents).unwrap();
        let list = incidents["incidents"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        let open = &list[0];
        assert_eq!(open["id"], "7");
        assert_eq!(open["status"], "monitoring");
        assert_eq!(open["monitoring_at"], "2025-01-03T10:00:00.000-05:00");
        assert_eq!(open["resolved_at"], Value::Null);
        assert_eq!(open["shortlink"], "https://status.example.com/incident/7");
        let updates = open["incident_updates"].as_array().unwrap();
        let update_ids: Vec<&str> = updates.iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(update_ids, ["12", "11", "10"], "newest first");
        assert_eq!(updates[0]["incident_id"], "7");
        assert_eq!(updates[0]["body"], "Update **12**.");
        assert_eq!(
            updates[0]["affected_components"],
            serde_json::json!([{"code": "api", "name": "API", "old_status": "degraded_performance", "new_status": "operational"}])
        );
        assert_eq!(updates[2]["affected_components"][0]["old_status"], "operational");
        assert_eq!(open["components"][0]["status"], "operational", "as the incident has it");

        let closed = &list[1];
        assert_eq!(closed["status"], "postmortem");
        assert_eq!(closed["resolved_at"], "2025-01-01T05:00:00.000-05:00");
        assert_eq!(closed["incident_updates"][0]["status"], "postmortem");
        assert_eq!(closed["incident_updates"].as_array().unwrap().len(), 3);
        assert_eq!(closed["postmortem_body"], "What happened.");

        let unresolved: Value = serde_json::from_str(&v2.unresolved).unwrap();
        assert_eq!(unresolved["incidents"].as_array().unwrap().len(), 1);
        assert_eq!(summary["incidents"], unresolved["incidents"]);

        let active: Value = serde_json::from_str(&v2.active).unwrap();
        let window = &active["scheduled_maintenances"][0];
        assert_eq!(window["id"], "m1");
        assert_eq!(window["status"], "in_progress");
        assert_eq!(window["impact"], "maintenance");
        assert_eq!(window["incident_updates"][0]["status"], "scheduled");
        assert_eq!(window["incident_updates"][0]["id"], "mu10");
        assert_eq!(window["incident_updates"][0]["incident_id"], "m1");
        assert_eq!(window["components"].as_array().unwrap().len(), 1, "email only: {window}");
        let upcoming: Value = serde_json::from_str(&v2.upcoming).unwrap();
        assert_eq!(upcoming["scheduled_maintenances"][0]["id"], "m2");
        assert_eq!(upcoming["scheduled_maintenances"][0]["status"], "scheduled");
        assert_eq!(summary["scheduled_maintenances"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn an_unchanged_page_renders_the_same_bytes_later() {
        let (config, monitors, incidents, maintenances, now) = fixture();
        let later = now + chrono::Duration::seconds(30);
        let one = Overview::new(&config, monitors.clone(), &incidents, &maintenances, now);
        let two = Overview::new(&config, monitors.clone(), &incidents, &maintenances, later);
        let first = render(&config, &one, &incidents, &maintenances, now);
        let second = render(&config, &two, &incidents, &maintenances, later);
        for ((route, a), (_, b)) in bodies(&first).into_iter().zip(bodies(&second)) {
            assert_eq!(a, b, "{route}");
        }
    }
}
