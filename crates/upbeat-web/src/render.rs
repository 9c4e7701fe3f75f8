//! Rendering what the public reads: the status page and the three feeds.
//!
//! Pure functions from data to text; [`crate::cache`] decides when to call them. HTML and XML come
//! from auto-escaping templates, so a monitor named `a & <b> "c"` comes out intact.

use std::sync::OnceLock;

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::{Environment, context};
use serde::Serialize;
use upbeat_core::config::Page;
use upbeat_core::duration::human;
use upbeat_core::feed::{FeedItem, ItemSource};
use upbeat_core::incident::{ComponentStatus, Incident, IncidentStatus};
use upbeat_core::maintenance::{Maintenance, MaintenanceStatus};
use upbeat_core::{Config, Status};

use crate::MonitorView;
use crate::bars;
use crate::overview::Overview;
use crate::trends::{PICTURED, Trends};

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_formatter(markup_formatter);
        // The file extension picks the escaping: .html and .xml are escaped as markup.
        for (name, source) in [
            ("base.html", include_str!("../templates/base.html")),
            ("page.html", include_str!("../templates/page.html")),
            ("incident.html", include_str!("../templates/incident.html")),
            ("history.html", include_str!("../templates/history.html")),
            ("history_item.html", include_str!("../templates/history_item.html")),
            ("history.rss.xml", include_str!("../templates/history.rss.xml")),
            ("history.atom.xml", include_str!("../templates/history.atom.xml")),
            ("rss.xml", include_str!("../templates/rss.xml")),
            ("atom.xml", include_str!("../templates/atom.xml")),
            ("news.html", include_str!("../templates/news.html")),
            ("news.txt", include_str!("../templates/news.txt")),
            ("subscribe.html", include_str!("../templates/subscribe.html")),
            ("not_found.html", include_str!("../templates/not_found.html")),
        ] {
            if let Err(e) = env.add_template(name, source) {
                // The templates are compiled into the binary; a test renders each one.
                tracing::error!(template = name, error = %e, "template does not parse");
            }
        }
        env
    })
}

/// Escapes `&`, `<`, `>` and `"` and nothing else: minijinja's HTML escaping also turns `/` into
/// `&#x2f;` and `'` into `&#x27;`, which is valid but makes every URL and apostrophe in a feed
/// unreadable. Every attribute in upbeat's templates is double-quoted, so `'` needs no escape.
fn markup_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if matches!(state.auto_escape(), minijinja::AutoEscape::None) || value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    let mut escaped = String::new();
    for c in value.to_string().chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            c => escaped.push(c),
        }
    }
    std::fmt::Write::write_str(out, &escaped)
        .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "could not write template output"))
}

pub(crate) fn render(name: &str, ctx: minijinja::Value) -> String {
    templates().get_template(name).and_then(|t| t.render(ctx)).unwrap_or_else(|e| {
        tracing::error!(template = name, error = %e, "template failed to render");
        String::new()
    })
}

/// RFC 2822 as status pages write it: `Mon, 30 Jun 2025 12:12:51 +0000`.
pub fn rfc2822(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// `base_url` joined with a file name at its root.
pub fn feed_url(base_url: &str, file: &str) -> String {
    if base_url.ends_with('/') { format!("{base_url}{file}") } else { format!("{base_url}/{file}") }
}

#[derive(Serialize)]
struct ItemContext<'a> {
    title: &'a str,
    link: &'a str,
    guid: &'a str,
    id: &'a str,
    description: &'a str,
    /// Sanitized HTML of an incident update's Markdown.
    html: Option<String>,
    pub_date: String,
    rfc3339: String,
}

fn item_contexts(items: &[FeedItem]) -> Vec<ItemContext<'_>> {
    items
        .iter()
        .map(|i| ItemContext {
            title: &i.title,
            link: &i.link,
            guid: &i.guid,
            id: &i.id,
            description: &i.description,
            html: (i.source == ItemSource::Incident).then(|| crate::markdown::to_html(&i.description)),
            // Status pages date people's updates `-0000` and their checkers' events `+0000`.
            pub_date: match i.source {
                ItemSource::Monitor => rfc2822(i.published),
                ItemSource::Incident => i.published.format("%a, %d %b %Y %H:%M:%S -0000").to_string(),
            },
            rfc3339: i.published.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
        .collect()
}

pub fn rss(page: &Page, items: &[FeedItem]) -> String {
    let mut out = render(
        "rss.xml",
        context! { title => page.title.clone(), base_url => page.base_url.clone(), language => page.language.clone(), items => minijinja::Value::from(minijinja::value::Serde(item_contexts(items))) },
    );
    out.push('\n');
    out
}

pub fn atom(page: &Page, items: &[FeedItem], now: DateTime<Utc>) -> String {
    let updated = items.first().map_or(now, |i| i.published).to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut out = render(
        "atom.xml",
        context! {
            title => page.title.clone(), base_url => page.base_url.clone(), language => page.language.clone(),
            self_url => feed_url(&page.base_url, "feed.atom"), updated, items => minijinja::Value::from(minijinja::value::Serde(item_contexts(items))),
        },
    );
    out.push('\n');
    out
}

/// JSON Feed 1.1.
pub fn json_feed(page: &Page, items: &[FeedItem]) -> String {
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|i| {
            let mut item = serde_json::json!({
                "id": i.id,
                "url": i.link,
                "title": i.title,
                "content_text": i.description,
                "date_published": i.published.to_rfc3339_opts(SecondsFormat::Secs, true),
                "_upbeat": { "guid": i.guid },
            });
            if i.source == ItemSource::Incident {
                item["content_html"] = crate::markdown::to_html(&i.description).into();
            }
            item
        })
        .collect();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": format!("Incidents | {}", page.title),
        "description": format!("Incidents reported on status page for {}", page.title),
        "home_page_url": page.base_url,
        "feed_url": feed_url(&page.base_url, "feed.json"),
        "language": page.language,
        "items": items,
    });
    serde_json::to_string_pretty(&feed).unwrap_or_default()
}

fn state_text(s: Status) -> &'static str {
    match s {
        Status::Up => "Up",
        Status::Down => "Down",
        Status::Unknown => "No data yet",
        Status::Paused => "Paused",
    }
}

/// What the page's banner says for the worst component status.
fn banner_text(worst: ComponentStatus) -> &'static str {
    match worst {
        ComponentStatus::Operational => "All systems operational",
        ComponentStatus::UnderMaintenance => "Scheduled maintenance in progress",
        ComponentStatus::DegradedPerformance => "Degraded performance",
        ComponentStatus::PartialOutage => "Partial outage",
        ComponentStatus::MajorOutage => "Major outage",
    }
}

/// Milliseconds, with a decimal where whole milliseconds would read "0 ms".
fn latency(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.1} ms") } else { format!("{ms:.0} ms") }
}

/// How far back the page lists closed outages.
pub const RECENT_DAYS: i64 = 7;

/// Formats times in the page's time zone.
pub(crate) struct Local(pub(crate) chrono_tz::Tz);

impl Local {
    pub(crate) fn at(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.0).format("%Y-%m-%d %H:%M %Z").to_string()
    }
}

/// An incident's updates, newest first, as the templates show them.
fn update_contexts(incident: &Incident, local: &Local) -> Vec<minijinja::Value> {
    incident
        .updates
        .iter()
        .map(|u| {
            context! {
                status => u.status.label(),
                at => local.at(u.created_at),
                iso => u.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                html => minijinja::Value::from_safe_string(crate::markdown::to_html(&u.body)),
            }
        })
        .collect()
}

fn incident_card(incident: &Incident, local: &Local) -> minijinja::Value {
    context! {
        id => incident.id, title => incident.title.clone(), impact => incident.impact.as_str(),
        updates => update_contexts(incident, local),
    }
}

/// Incidents and windows that name a component the public may not see keep only the ones it may.
fn public_components<'a>(overview: &Overview, ids: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
    ids.into_iter().filter(|id| overview.shows(id)).collect()
}

fn maintenance_card(
    config: &Config,
    overview: &Overview,
    m: &Maintenance,
    local: &Local,
    now: DateTime<Utc>,
) -> minijinja::Value {
    let components: Vec<String> = public_components(overview, &m.components)
        .into_iter()
        .map(|id| config.component(id).map_or_else(|| id.clone(), |c| c.name.clone()))
        .collect();
    let updates: Vec<minijinja::Value> = m
        .updates
        .iter()
        .map(|u| {
            context! {
                at => local.at(u.created_at), iso => u.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                html => minijinja::Value::from_safe_string(crate::markdown::to_html(&u.body)),
            }
        })
        .collect();
    context! {
        title => m.title.clone(), status => m.status_at(now).label(), from => local.at(m.scheduled_for),
        until => local.at(m.scheduled_until), components => components.join(", "), updates,
    }
}

/// The status page: the banner, what is going on, every public component with its 90-day bar and
/// response times, then the recent past.
pub fn page(
    config: &Config,
    overview: &Overview,
    trends: &Trends,
    incidents: &[Incident],
    maintenances: &[Maintenance],
    now: DateTime<Utc>,
) -> String {
    let local = Local(config.page.time_zone);
    let name_of = |id: &upbeat_core::MonitorId| overview.monitor(id.as_str()).map(|m| m.name.clone());
    let monitor_ctx = |m: &MonitorView| {
        context! {
            name => m.name.clone(),
            state => m.state.as_str(),
            state_text => state_text(m.state),
            latency => m.last_check.as_ref().filter(|s| s.up).map(|s| latency(s.latency)),
        }
    };
    let groups: Vec<minijinja::Value> = overview
        .groups()
        .into_iter()
        .map(|(name, components)| {
            let worst = components.iter().map(|c| c.status).max().unwrap_or(ComponentStatus::Operational);
            let components: Vec<minijinja::Value> = components
                .into_iter()
                .map(|c| {
                    let (class, text) = match (c.loose, c.monitors.first()) {
                        // A monitor standing for itself says what it is: up, down, paused.
                        (true, Some(m)) => (m.state.as_str(), state_text(m.state)),
                        _ if c.waiting => ("unknown", "No data yet"),
                        _ => (c.status.as_str(), c.status.label()),
                    };
                    // Past the first components the page lists only statuses, so it stays readable.
                    let pictured = c.position <= PICTURED;
                    let bar = pictured.then(|| bars::component_bar(c, trends, incidents, maintenances, &local, now));
                    let charts: Vec<minijinja::Value> = c
                        .monitors
                        .iter()
                        .filter(|m| pictured && m.kind == "http")
                        .filter_map(|m| trends.monitors.get(&m.id).map(|t| (m, t)))
                        .flat_map(|(m, t)| bars::charts(&m.name, t, now))
                        .collect();
                    let (days, uptime, uptime_narrow) =
                        bar.map_or((Vec::new(), None, None), |b| (b.days, b.uptime, b.uptime_narrow));
                    context! {
                        id => c.id.clone(), name => c.name.clone(), description => c.description.clone(), class, text,
                        days, uptime, uptime_narrow, charts,
                        monitors => if c.loose { Vec::new() } else { c.monitors.iter().map(monitor_ctx).collect::<Vec<_>>() },
                    }
                })
                .collect();
            context! { name, class => worst.as_str(), text => worst.label(), components }
        })
        .collect();

    let nothing_declared = overview.worst == ComponentStatus::Operational && !incidents.iter().any(Incident::is_open);
    let overall = if overview.unmonitored && nothing_declared {
        // Without a monitor "All systems operational" would be a claim nothing backs.
        context! { class => "unknown", text => NOTHING_MONITORED }
    } else if overview.waiting {
        context! { class => "unknown", text => "Waiting for the first checks" }
    } else {
        let worst = overview.worst;
        context! { class => if worst == ComponentStatus::Operational { "operational" } else { worst.as_str() }, text => banner_text(worst) }
    };
    let since = now - chrono::Duration::days(RECENT_DAYS);
    let outages = trends.outages.iter().filter(|o| o.ended_at.is_none_or(|end| end >= since));
    let ongoing: Vec<minijinja::Value> = outages
        .clone()
        .filter(|o| o.ended_at.is_none())
        .filter_map(|o| Some(context! { monitor => name_of(&o.monitor)?, started => local.at(o.started_at), duration => human(o.duration(now)), maintenance => o.in_maintenance }))
        .collect();
    let recent: Vec<minijinja::Value> = outages
        .filter_map(|o| {
            let ended = o.ended_at?;
            Some(context! {
                monitor => name_of(&o.monitor)?, started => local.at(o.started_at), ended => local.at(ended),
                duration => human(o.duration(now)), maintenance => o.in_maintenance,
            })
        })
        .take(RECENT_OUTAGES)
        .collect();
    let open: Vec<minijinja::Value> =
        incidents.iter().filter(|i| i.is_open()).map(|i| incident_card(i, &local)).collect();
    let past: Vec<minijinja::Value> = incidents
        .iter()
        .filter(|i| !i.is_open() && i.resolved_at.is_some_and(|t| t >= since))
        .map(|i| {
            context! {
                id => i.id, title => i.title.clone(), status => i.status.label(), started => local.at(i.started_at),
                duration => i.resolved_at.map(|t| human((t - i.started_at).to_std().unwrap_or_default())),
            }
        })
        .collect();
    let active: Vec<minijinja::Value> = maintenances
        .iter()
        .filter(|m| m.status_at(now) == MaintenanceStatus::InProgress)
        .map(|m| maintenance_card(config, overview, m, &local, now))
        .collect();
    let upcoming: Vec<minijinja::Value> = maintenances
        .iter()
        .rev()
        .filter(|m| m.status_at(now) == MaintenanceStatus::Scheduled)
        .map(|m| maintenance_card(config, overview, m, &local, now))
        .collect();
    render(
        "page.html",
        context! {
            title => config.page.title.clone(), language => config.page.language.clone(), time_zone => config.page.time_zone.name(),
            root => "", home => true, generated => local.at(now), overall, incidents => open, active, upcoming,
            groups, ongoing, recent, past, recent_days => RECENT_DAYS, logo => config.page.logo.is_some(),
            unpictured => overview.components.len().saturating_sub(PICTURED), pictured => PICTURED,
        },
    )
}

/// How many closed outages the page lists.
const RECENT_OUTAGES: usize = 20;

/// The banner of a page with no public monitor and nothing declared.
pub const NOTHING_MONITORED: &str = "No services are monitored yet";

/// The incident page's banner class: green once resolved; while open, the colour of the incident's
/// impact (as its card on the page has), whatever the update said of components.
fn incident_banner(incident: &Incident) -> String {
    match incident.status {
        IncidentStatus::Resolved => "operational".to_owned(),
        _ => format!("impact-{}", incident.impact.as_str()),
    }
}

/// `/incident/{id}`: the whole timeline of one incident.
pub fn incident_page(config: &Config, overview: &Overview, incident: &Incident, now: DateTime<Utc>) -> String {
    let local = Local(config.page.time_zone);
    let components: Vec<minijinja::Value> = incident
        .components
        .iter()
        .filter(|(id, _)| overview.shows(id))
        .map(|(id, status)| {
            let name = config.component(id).map_or_else(|| id.clone(), |c| c.name.clone());
            context! { name, class => status.as_str(), text => status.label() }
        })
        .collect();
    let banner = incident_banner(incident);
    let ctx = context! {
        title => incident.title.clone(), status => incident.status.label(), impact_label => incident.impact.as_str(),
        banner, started => local.at(incident.started_at),
        resolved => incident.resolved_at.map(|t| local.at(t)),
        duration => incident.resolved_at.map(|t| human((t - incident.started_at).to_std().unwrap_or_default())),
        components, updates => update_contexts(incident, &local),
        postmortem => incident.postmortem.as_ref().map(|p| context! {
            at => local.at(p.published_at), iso => p.published_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            html => minijinja::Value::from_safe_string(crate::markdown::to_html(&p.body)),
        }),
    };
    render(
        "incident.html",
        context! {
            title => config.page.title.clone(), language => config.page.language.clone(), time_zone => config.page.time_zone.name(),
            root => "../", logo => config.page.logo.is_some(), generated => local.at(now), incident => ctx,
        },
    )
}

/// The way back to the page's root from `path` (`/a/b` → `../`), so links work behind a proxy
/// that serves upbeat under a prefix of `base_url`, as every page's links do.
pub fn root_of(path: &str) -> String {
    "../".repeat(path.trim_start_matches('/').matches('/').count())
}

/// The styled 404 page, with the same header as every page; `path` is the one asked for.
pub fn not_found_page(config: &Config, path: &str, message: &str, now: DateTime<Utc>) -> String {
    let local = Local(config.page.time_zone);
    render(
        "not_found.html",
        context! {
            title => config.page.title.clone(), language => config.page.language.clone(), time_zone => config.page.time_zone.name(),
            root => root_of(path), logo => config.page.logo.is_some(), generated => local.at(now), message,
        },
    )
}

/// One incident as Atlassian Statuspage's history feeds carry it: every update, newest first, in
/// one HTML body (`<small>` date, `<strong>` status, the text), the postmortem first when there is one.
fn history_body(incident: &Incident) -> String {
    let line = |at: DateTime<Utc>, status: &str, body: &str| {
        context! {
            month => at.format("%b").to_string(), day => at.format("%-d").to_string(),
            time => at.format("%H:%M").to_string(), status => status.to_owned(),
            text => crate::markdown::to_text(body),
        }
    };
    let mut updates: Vec<minijinja::Value> = Vec::new();
    if let Some(p) = &incident.postmortem {
        updates.push(line(p.published_at, "Postmortem", &p.body));
    }
    updates.extend(incident.updates.iter().map(|u| line(u.created_at, u.status.label(), &u.body)));
    render("history_item.html", context! { updates })
}

fn history_items(page: &Page, incidents: &[Incident]) -> Vec<minijinja::Value> {
    incidents
        .iter()
        .map(|i| {
            context! {
                title => i.title.clone(), link => upbeat_core::incident::link(&page.base_url, i.id),
                body => history_body(i), pub_date => rfc2822(i.started_at),
                published => i.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                updated => i.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            }
        })
        .collect()
}

/// `/history.rss`: one item per incident, in Statuspage's history-feed shape.
pub fn history_rss(page: &Page, incidents: &[Incident]) -> String {
    let mut out = render(
        "history.rss.xml",
        context! {
            title => page.title.clone(), base_url => page.base_url.clone(), language => page.language.clone(),
            items => history_items(page, incidents),
        },
    );
    out.push('\n');
    out
}

/// `/history.atom`: the same in Atom.
pub fn history_atom(page: &Page, incidents: &[Incident], now: DateTime<Utc>) -> String {
    let updated = incidents.iter().map(|i| i.updated_at).max().unwrap_or(now);
    let mut out = render(
        "history.atom.xml",
        context! {
            title => page.title.clone(), base_url => page.base_url.clone(), language => page.language.clone(),
            updated => updated.to_rfc3339_opts(SecondsFormat::Secs, true), items => history_items(page, incidents),
        },
    );
    out.push('\n');
    out
}

/// How many incidents a page of `/history` lists.
pub const HISTORY_PAGE: usize = 25;

/// `/history?page=N`: incidents by month, newest first. `incidents` holds at most one more than a
/// page, which says whether there is an older page.
pub fn history_page(config: &Config, incidents: &[Incident], page: usize, now: DateTime<Utc>) -> String {
    let local = Local(config.page.time_zone);
    let mut months: Vec<(String, Vec<minijinja::Value>)> = Vec::new();
    for i in incidents.iter().take(HISTORY_PAGE) {
        let month = i.started_at.with_timezone(&config.page.time_zone).format("%B %Y").to_string();
        let item = context! {
            id => i.id, title => i.title.clone(), status => i.status.label(), started => local.at(i.started_at),
            duration => i.resolved_at.map(|t| human((t - i.started_at).to_std().unwrap_or_default())),
        };
        match months.last_mut() {
            Some((name, list)) if *name == month => list.push(item),
            _ => months.push((month, vec![item])),
        }
    }
    let months: Vec<minijinja::Value> =
        months.into_iter().map(|(name, incidents)| context! { name, incidents }).collect();
    render(
        "history.html",
        context! {
            title => config.page.title.clone(), language => config.page.language.clone(), time_zone => config.page.time_zone.name(),
            root => "", logo => config.page.logo.is_some(), generated => local.at(now), months,
            newer => (page > 1).then(|| page - 1), older => (incidents.len() > HISTORY_PAGE).then_some(page + 1),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use upbeat_core::MonitorId;
    use upbeat_core::OutageId;
    use upbeat_core::feed::{FeedEvent, items};

    fn page_config(title: &str) -> Config {
        let src = format!("[page]\ntitle = {title:?}\nbase_url = \"https://status.example.com/\"\n");
        Config::parse("test.toml", &src).unwrap()
    }

    fn fixed_items() -> Vec<FeedItem> {
        let m = MonitorId::parse("web").unwrap();
        let at = |h, mi, s| Utc.with_ymd_and_hms(2025, 6, 30, h, mi, s).unwrap();
        let first = OutageId::derive(&m, at(12, 9, 50));
        let second = OutageId::derive(&m, at(14, 0, 0));
        let events = vec![
            FeedEvent::OutageOpened { monitor_name: "buttondown.com".into(), outage: first.clone(), at: at(12, 9, 50) },
            FeedEvent::OutageClosed { monitor_name: "buttondown.com".into(), outage: first, at: at(12, 12, 51) },
            FeedEvent::OutageOpened { monitor_name: "a & <b> \"c\"".into(), outage: second, at: at(14, 0, 0) },
        ];
        items("https://status.example.com/", &events, 250)
    }

    #[test]
    fn rss_snapshot() {
        insta::assert_snapshot!(rss(&page_config("Example").page, &fixed_items()));
    }

    #[test]
    fn atom_and_json_snapshots() {
        let page = page_config("Example").page;
        let now = Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap();
        insta::assert_snapshot!("atom", atom(&page, &fixed_items(), now));
        insta::assert_snapshot!("json_feed", json_feed(&page, &fixed_items()));
    }

    #[test]
    fn rfc2822_matches_status_pages() {
        assert_eq!(rfc2822(Utc.with_ymd_and_hms(2025, 6, 30, 12, 12, 51).unwrap()), "Mon, 30 Jun 2025 12:12:51 +0000");
    }

    #[test]
    fn page_escapes_names_and_shows_state() {
        let config = page_config("A & <B>");
        let monitor = MonitorView {
            id: MonitorId::parse("x").unwrap(),
            name: "a & <b> \"c\"".into(),
            kind: "http",
            target: "http://127.0.0.1/".into(),
            component: None,
            public: true,
            interval_seconds: 1.0,
            state: Status::Down,
            last_check: None,
            open_outage: None,
            ping_uuid: None,
            last_value: None,
            next_deadline: None,
        };
        let now = Utc::now();
        let overview = Overview::new(&config, vec![monitor], &[], &[], now);
        let html = page(&config, &overview, &Trends::default(), &[], &[], now);
        assert!(html.contains("<h1 class=\"site\"><a href=\"./\">A &amp; &lt;B&gt;</a></h1>"), "{html}");
        assert!(html.contains("a &amp; &lt;b&gt; &quot;c&quot;"), "{html}");
        assert!(html.contains("Major outage"));
        assert!(!html.contains("<b>"));
    }

    /// Every configured monitor, up.
    fn up(config: &Config) -> Vec<MonitorView> {
        config.monitors.iter().map(|m| MonitorView { state: Status::Up, ..MonitorView::of(m) }).collect()
    }

    /// The budget: a page of 4 groups of 5 HTTP monitors, each with a full 90-day history
    /// and a week of response times, stays under 100 kB before compression.
    #[test]
    fn a_full_page_of_twenty_http_monitors_stays_under_100_kb() {
        use upbeat_core::uptime::{History, Span};
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
        let mut src = String::from("[page]\ntitle = \"Shop\"\n");
        for c in 0..4 {
            src.push_str(&format!("[[component]]\nid = \"c{c}\"\nname = \"Component {c}\"\ngroup = \"Group {c}\"\n"));
        }
        let mut trends = Trends::default();
        for i in 0..20 {
            let id = MonitorId::parse(&format!("m{i}")).unwrap();
            src.push_str(&format!(
                "[[monitor]]\nid = \"m{i}\"\nname = \"Service number {i}\"\nkind = \"http\"\nurl = \"http://127.0.0.1/\"\ncomponent = \"c{}\"\n",
                i % 4
            ));
            let watched = vec![Span::new(now - chrono::Duration::days(100), now)];
            let outage = Span::new(now - chrono::Duration::hours(30), now - chrono::Duration::hours(29));
            let history = History { outages: vec![outage], maintenance: vec![], watched };
            let series = |n: i64, minutes: i64| -> Vec<upbeat_store::LatencyPoint> {
                (0..n)
                    .map(|b| upbeat_store::LatencyPoint {
                        start: now - chrono::Duration::minutes(minutes * (n - b)),
                        average: std::time::Duration::from_micros(80_000 + (b * 7919 % 120_000) as u64),
                        checks: 15,
                    })
                    .collect()
            };
            let trend = crate::trends::MonitorTrend {
                days: history.daily(90, now),
                day: series(96, 15),
                week: series(84, 120),
            };
            trends.monitors.insert(id, std::sync::Arc::new(trend));
        }
        let config = Config::parse("test.toml", &src).unwrap();
        let overview = Overview::new(&config, up(&config), &[], &[], now);
        let html = page(&config, &overview, &trends, &[], &[], now);
        assert_eq!(html.matches("data-date=").count(), 4 * 90);
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 40);
        assert!(html.len() < 100_000, "the page is {} bytes", html.len());
    }

    #[test]
    fn only_the_first_hundred_components_get_bars() {
        let mut src = String::from("[page]\ntitle = \"Many\"\n");
        for i in 0..150 {
            src.push_str(&format!(
                "[[monitor]]\nid = \"m{i}\"\nname = \"M{i}\"\nkind = \"tcp\"\nhost = \"h\"\nport = 1\n"
            ));
        }
        let config = Config::parse("test.toml", &src).unwrap();
        let now = Utc::now();
        let overview = Overview::new(&config, up(&config), &[], &[], now);
        let html = page(&config, &overview, &Trends::default(), &[], &[], now);
        assert_eq!(html.matches("<ol class=\"bar\"").count(), PICTURED);
        assert!(html.contains("the other 50 show their status only"), "{html}");
        assert!(html.contains("<strong>M149</strong>"));
    }

    fn fixed_incident() -> Incident {
        use upbeat_core::incident::{ComponentStatus, Impact, IncidentStatus, IncidentUpdate, Postmortem};
        let at = |h, mi| Utc.with_ymd_and_hms(2025, 6, 23, h, mi, 0).unwrap();
        let update = |id, status, body: &str, t| IncidentUpdate {
            id,
            incident_id: 607839,
            created_at: t,
            status,
            body: body.into(),
            components: Default::default(),
            guid_hash: upbeat_core::incident::update_guid_hash(607839, id),
        };
        Incident {
            id: 607839,
            title: "Incoming traffic being blocked".into(),
            impact: Impact::Major,
            status: IncidentStatus::Resolved,
            components: [("api".to_string(), ComponentStatus::MajorOutage)].into(),
            started_at: at(18, 25),
            resolved_at: Some(at(18, 45)),
            created_at: at(18, 25),
            updated_at: at(18, 45),
            updates: vec![
                update(2, IncidentStatus::Resolved, "This issue is now **resolved**.", at(18, 45)),
                update(
                    1,
                    IncidentStatus::Investigating,
                    "We're investigating reports of errors; see <https://example.com/>.",
                    at(18, 25),
                ),
            ],
            postmortem: Some(Postmortem {
                body: "## What happened\n\nA provider blocked traffic.".into(),
                published_at: at(20, 0),
            }),
        }
    }

    fn incident_config() -> Config {
        let src = "[page]\ntitle = \"Buttondown\"\nbase_url = \"https://status.buttondown.com/\"\n[[component]]\nid = \"api\"\nname = \"API\"\n";
        Config::parse("test.toml", src).unwrap()
    }

    #[test]
    fn incident_page_snapshot() {
        let now = Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap();
        let config = incident_config();
        let overview = Overview::new(&config, Vec::new(), &[], &[], now);
        let html = incident_page(&config, &overview, &fixed_incident(), now);
        let main = &html[html.find("<main>").unwrap()..];
        insta::assert_snapshot!(main);
    }

    /// The banner follows the incident's own status: resolved is green, open is its impact's colour,
    /// whatever the latest update says of the components (a `monitoring` update often says
    /// `operational` while the incident is not over).
    #[test]
    fn an_incident_banner_is_green_only_once_resolved() {
        use upbeat_core::incident::Impact;
        let now = Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap();
        let config = incident_config();
        let overview = Overview::new(&config, Vec::new(), &[], &[], now);
        let banner = |status: IncidentStatus, impact: Impact| {
            let mut incident = fixed_incident();
            incident.status = status;
            incident.impact = impact;
            incident.components = [("api".to_string(), ComponentStatus::Operational)].into();
            let html = incident_page(&config, &overview, &incident, now);
            let at = html.find("<p class=\"banner ").expect("a banner");
            html[at..].split('"').nth(1).unwrap().to_owned()
        };
        for status in [IncidentStatus::Investigating, IncidentStatus::Identified, IncidentStatus::Monitoring] {
            assert_eq!(banner(status, Impact::Major), "banner impact-major", "{status:?}");
        }
        assert_eq!(banner(IncidentStatus::Monitoring, Impact::Minor), "banner impact-minor");
        assert_eq!(banner(IncidentStatus::Monitoring, Impact::Critical), "banner impact-critical");
        assert_eq!(banner(IncidentStatus::Identified, Impact::None), "banner impact-none");
        assert_eq!(banner(IncidentStatus::Resolved, Impact::Critical), "banner operational");
    }

    /// Only paused monitors that were never checked: the page lists nothing and says so, rather
    /// than "All systems operational"; an open incident still speaks for itself.
    #[test]
    fn a_page_without_public_monitors_says_nothing_is_monitored() {
        let src = "[page]\ntitle = \"Empty\"\n[[monitor]]\nid = \"cert\"\nname = \"Cert\"\nkind = \"tcp\"\nhost = \"h\"\nport = 1\npaused = true\n";
        let config = Config::parse("test.toml", src).unwrap();
        let now = Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap();
        let monitors: Vec<MonitorView> =
            config.monitors.iter().map(|m| MonitorView { state: Status::Paused, ..MonitorView::of(m) }).collect();
        let overview = Overview::new(&config, monitors, &[], &[], now);
        let html = page(&config, &overview, &Trends::default(), &[], &[], now);
        assert!(
            html.contains("<p class=\"banner unknown\" role=\"status\">No services are monitored yet</p>"),
            "{html}"
        );
        assert!(!html.contains("All systems operational") && !html.contains("Cert"), "{html}");
        let mut open = fixed_incident();
        open.status = IncidentStatus::Investigating;
        open.resolved_at = None;
        let html = page(&config, &overview, &Trends::default(), &[open], &[], now);
        assert!(!html.contains(NOTHING_MONITORED) && html.contains("Incoming traffic being blocked"), "{html}");
    }

    #[test]
    fn the_not_found_page_has_the_header_and_finds_its_way_home() {
        assert_eq!(root_of("/"), "");
        assert_eq!(root_of("/nope"), "");
        assert_eq!(root_of("/incident/12"), "../");
        assert_eq!(root_of("/a/b/"), "../../");
        let html = not_found_page(&incident_config(), "/incident/12", "No incident 12.", Utc::now());
        assert!(html.contains("<header class=\"top\">"), "{html}");
        assert!(html.contains("<p class=\"site\"><a href=\"../\">Buttondown</a></p>"), "{html}");
        assert!(html.contains("<h1>Page not found</h1>") && html.contains("No incident 12."), "{html}");
    }

    #[test]
    fn incident_feed_items_and_history_feed_snapshots() {
        let config = incident_config();
        let events: Vec<FeedEvent> = fixed_incident()
            .updates
            .iter()
            .map(|u| FeedEvent::IncidentUpdate {
                incident_id: u.incident_id,
                title: "Incoming traffic being blocked".into(),
                guid_hash: u.guid_hash.clone(),
                body: u.body.clone(),
                at: u.created_at,
            })
            .collect();
        insta::assert_snapshot!("incident_rss", rss(&config.page, &items(&config.page.base_url, &events, 250)));
        insta::assert_snapshot!("history_rss", history_rss(&config.page, &[fixed_incident()]));
    }
}
