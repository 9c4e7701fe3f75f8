//! Better Stack status page feeds (`/feed.rss`, the reference feed's shape).
//!
//! Monitor events are `<name> went down` / `<name> recovered` items that share the guid
//! `<base_url>#<64 hex>`: the hex is the outage's id, kept as is. Incident updates link to
//! `<base_url>incident/<id>` and have the guid `<link>#<64 hex>`: the id and the hex are kept, so
//! links and feed readers keep working after the switch. Items repeated verbatim count once.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use chrono::{DateTime, Utc};
use upbeat_core::import::{ImportSet, ImportedIncident, ImportedMonitor, ImportedOutage, ImportedUpdate, slug};
use upbeat_core::incident::{ComponentStatuses, Impact, IncidentStatus};
use upbeat_core::{MonitorId, OutageId};

use crate::xml::Element;
use crate::{ImportError, Options};

const WENT_DOWN: &str = " went down";
const RECOVERED: &str = " recovered";

/// True when the feed's items look like Better Stack's: monitor events, or incident updates whose
/// guid is their `/incident/<id>` link with `#<64 hex>` appended. (upbeat's own `/history.rss`
/// links to `/incident/<id>` too, but its guid is the bare link: that is a Statuspage-style feed.)
pub fn recognises(root: &Element) -> bool {
    let Some(channel) = root.child("channel") else { return false };
    channel.children_named("item").any(|item| {
        let title = item.child_text("title").unwrap_or("").trim();
        let link = item.child_text("link").unwrap_or("").trim();
        let guid = item.child_text("guid").unwrap_or("").trim();
        let update_guid = link.contains("/incident/")
            && guid.strip_prefix(link).and_then(|h| h.strip_prefix('#')).is_some_and(|h| OutageId::parse(h).is_ok());
        title.ends_with(WENT_DOWN) || title.ends_with(RECOVERED) || update_guid
    })
}

struct OutageSeen {
    name: String,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    line: usize,
}

struct UpdateSeen {
    title: String,
    update: ImportedUpdate,
}

pub fn parse(root: &Element, options: &Options) -> Result<ImportSet, ImportError> {
    let channel = root.child("channel").ok_or_else(|| ImportError::at(root.line, "rss", "<channel> is missing"))?;
    let base = match &options.base_url {
        Some(base) => base.clone(),
        None => channel.required("link")?.trim().to_owned(),
    };
    let incident_prefix = upbeat_core::incident::link(&base, 0).trim_end_matches('0').to_owned();

    let mut set = ImportSet { format: "Better Stack RSS".into(), ..ImportSet::default() };
    let mut outages: BTreeMap<String, OutageSeen> = BTreeMap::new();
    // Incident id → guid hash → the update and the title its item carried.
    let mut incidents: BTreeMap<i64, BTreeMap<String, UpdateSeen>> = BTreeMap::new();
    let mut window: Option<(DateTime<Utc>, DateTime<Utc>)> = None;

    for item in channel.children_named("item") {
        set.items += 1;
        let fail = |message: String| ImportError::at(item.line, "item", message);
        let title = item.required("title")?.trim();
        let at = item.date("pubDate")?;
        let guid = item.required("guid")?.trim();
        let link = item.child_text("link").unwrap_or("").trim();
        window = Some(window.map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))));

        if let Some(rest) = link.strip_prefix(&incident_prefix) {
            let id: i64 = rest
                .parse()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| fail(format!("`{link}` is not an incident link `{incident_prefix}<number>`")))?;
            let hash = guid
                .strip_prefix(link)
                .and_then(|h| h.strip_prefix('#'))
                .filter(|h| OutageId::parse(h).is_ok())
                .ok_or_else(|| fail(format!("the guid `{guid}` is not `{link}#<64 hex digits>`")))?;
            let update = ImportedUpdate {
                guid_hash: hash.to_owned(),
                status: IncidentStatus::Investigating,
                body: item.child_text("description").unwrap_or("").to_owned(),
                at,
            };
            match incidents.entry(id).or_default().entry(hash.to_owned()) {
                Entry::Vacant(slot) => {
                    slot.insert(UpdateSeen { title: title.to_owned(), update });
                }
                Entry::Occupied(seen) if seen.get().update == update && seen.get().title == title => {
                    set.duplicates += 1;
                }
                Entry::Occupied(_) => {
                    return Err(fail(format!("the guid `{guid}` appears twice with different contents")));
                }
            }
            continue;
        }

        let (name, down) = if let Some(name) = title.strip_suffix(WENT_DOWN) {
            (name, true)
        } else if let Some(name) = title.strip_suffix(RECOVERED) {
            (name, false)
        } else {
            return Err(fail(format!(
                "`{title}` is neither a monitor event (`<name> went down`, `<name> recovered`) nor an update linking to `{incident_prefix}<id>`"
            )));
        };
        let hash = guid
            .strip_prefix(base.as_str())
            .and_then(|h| h.strip_prefix('#'))
            .ok_or_else(|| fail(format!("the guid `{guid}` is not `{base}#<id>`; is --base-url right?")))?;
        OutageId::parse(hash).map_err(fail)?;
        let seen = outages.entry(hash.to_owned()).or_insert_with(|| OutageSeen {
            name: name.to_owned(),
            started_at: None,
            ended_at: None,
            line: item.line,
        });
        if seen.name != name {
            return Err(fail(format!(
                "the guid `{guid}` belongs to `{}` (line {}), not `{name}`",
                seen.name, seen.line
            )));
        }
        let slot = if down { &mut seen.started_at } else { &mut seen.ended_at };
        match slot {
            None => *slot = Some(at),
            Some(prev) if *prev == at => set.duplicates += 1,
            Some(prev) => {
                return Err(fail(format!("`{title}` appears twice for one outage, at {prev} and at {at}")));
            }
        }
    }
    set.window = window;

    let mut ids: BTreeMap<String, MonitorId> = BTreeMap::new();
    for (hash, seen) in outages {
        let Some(started_at) = seen.started_at else {
            set.notes.push(format!(
                "line {}: `{} recovered` has no `went down` in the source (it went down before the feed begins); skipped",
                seen.line, seen.name
            ));
            continue;
        };
        if seen.ended_at.is_some_and(|end| end < started_at) {
            return Err(ImportError::at(seen.line, "item", format!("`{}` recovered before it went down", seen.name)));
        }
        let id = ids.entry(seen.name.clone()).or_insert_with(|| unique_id(&seen.name, &set.monitors)).clone();
        if set.monitors.iter().all(|m| m.id != id) {
            set.monitors.push(ImportedMonitor { id: id.clone(), name: seen.name.clone() });
        }
        set.outages.push(ImportedOutage {
            id: OutageId::parse(&hash).map_err(ImportError::new)?,
            monitor: id,
            started_at,
            ended_at: seen.ended_at,
        });
    }

    for (id, updates) in incidents {
        let mut updates: Vec<UpdateSeen> = updates.into_values().collect();
        updates.sort_by(|a, b| a.update.at.cmp(&b.update.at).then_with(|| a.update.guid_hash.cmp(&b.update.guid_hash)));
        // A feed is history: the newest update is where the incident ended.
        let title = updates.last().map(|u| u.title.clone()).unwrap_or_default();
        if let Some(last) = updates.last_mut() {
            last.update.status = IncidentStatus::Resolved;
        }
        let started_at = updates.first().map(|u| u.update.at).unwrap_or_default();
        let resolved_at = updates.last().map(|u| u.update.at);
        set.incidents.push(ImportedIncident {
            key: format!("betterstack:{id}"),
            id: Some(id),
            title,
            impact: Impact::Minor,
            status: IncidentStatus::Resolved,
            components: ComponentStatuses::new(),
            started_at,
            resolved_at,
            updates: updates.into_iter().map(|u| u.update).collect(),
            postmortem: None,
        });
    }
    Ok(set)
}

/// The slug of the name, made unique among the monitors so far.
fn unique_id(name: &str, monitors: &[ImportedMonitor]) -> MonitorId {
    let base = slug(name);
    let mut candidate = base.clone();
    let mut n = 2;
    while monitors.iter().any(|m| m.id.as_str() == candidate) {
        let suffix = format!("-{n}");
        candidate = format!("{}{suffix}", &base[..base.len().min(64 - suffix.len())]);
        n += 1;
    }
    MonitorId::parse(&candidate).unwrap_or_else(|_| MonitorId::parse("monitor").expect("a valid id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(items: &str) -> String {
        format!(
            "<rss version=\"2.0\"><channel><title>T</title><link>https://s.example/</link>\n{items}</channel></rss>"
        )
    }

    fn item(title: &str, link: &str, date: &str, guid: &str) -> String {
        format!(
            "<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate><guid>{guid}</guid><description>{title}</description></item>\n"
        )
    }

    fn hex(c: char) -> String {
        c.to_string().repeat(64)
    }

    fn parse_text(text: &str, base: Option<&str>) -> Result<ImportSet, ImportError> {
        parse(&crate::xml::parse(text)?, &Options { base_url: base.map(str::to_owned) })
    }

    #[test]
    fn pairs_become_outages_and_a_lone_recovery_is_noted() {
        let text = feed(
            &[
                item(
                    "api recovered",
                    "https://s.example/",
                    "Mon, 30 Jun 2025 12:10:00 +0000",
                    &format!("https://s.example/#{}", hex('a')),
                ),
                item(
                    "api went down",
                    "https://s.example/",
                    "Mon, 30 Jun 2025 12:00:00 +0000",
                    &format!("https://s.example/#{}", hex('a')),
                ),
                item(
                    "api went down",
                    "https://s.example/",
                    "Mon, 30 Jun 2025 13:00:00 GMT",
                    &format!("https://s.example/#{}", hex('b')),
                ),
                item(
                    "db recovered",
                    "https://s.example/",
                    "Mon, 30 Jun 2025 11:00:00 +0000",
                    &format!("https://s.example/#{}", hex('c')),
                ),
            ]
            .concat(),
        );
        let set = parse_text(&text, None).unwrap();
        assert_eq!(set.format, "Better Stack RSS");
        assert_eq!(set.monitors.len(), 1, "db is known only from a recovery that was skipped");
        assert_eq!(set.outages.len(), 2);
        let open = set.outages.iter().find(|o| o.id.as_str() == hex('b')).unwrap();
        assert_eq!(open.ended_at, None, "still down when the feed was taken");
        assert_eq!(set.notes.len(), 1);
        assert!(set.notes[0].contains("`db recovered` has no `went down`"), "{}", set.notes[0]);
    }

    #[test]
    fn guids_must_match_the_base_url_and_repeat_only_verbatim() {
        let down = item(
            "api went down",
            "https://s.example/",
            "Mon, 30 Jun 2025 12:00:00 +0000",
            &format!("https://s.example/#{}", hex('a')),
        );
        let e = parse_text(&feed(&down), Some("https://status.other.example/")).unwrap_err();
        assert!(e.to_string().contains("is --base-url right?"), "{e}");
        assert_eq!(e.line, Some(2));

        let later = item(
            "api went down",
            "https://s.example/",
            "Mon, 30 Jun 2025 12:05:00 +0000",
            &format!("https://s.example/#{}", hex('a')),
        );
        let e = parse_text(&feed(&format!("{down}{later}")), None).unwrap_err();
        assert!(e.to_string().contains("appears twice for one outage"), "{e}");

        let update = |body: &str| {
            format!(
                "<item><title>Slow</title><link>https://s.example/incident/7</link><pubDate>Mon, 30 Jun 2025 12:00:00 -0000</pubDate><guid>https://s.example/incident/7#{}</guid><description>{body}</description></item>\n",
                hex('d')
            )
        };
        let set = parse_text(&feed(&format!("{}{}", update("a"), update("a"))), None).unwrap();
        assert_eq!((set.incidents.len(), set.duplicates), (1, 1));
        assert_eq!(set.incidents[0].id, Some(7));
        assert_eq!(set.incidents[0].status, IncidentStatus::Resolved);
        let e = parse_text(&feed(&format!("{}{}", update("a"), update("b"))), None).unwrap_err();
        assert!(e.to_string().contains("twice with different contents"), "{e}");
    }

    #[test]
    fn items_that_are_neither_events_nor_updates_are_errors() {
        let e = parse_text(
            &feed(&item("Scheduled maintenance", "https://s.example/", "Mon, 30 Jun 2025 12:00:00 +0000", "x")),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("neither a monitor event"), "{e}");
        let e = parse_text(&feed("<item><title>api went down</title></item>"), None).unwrap_err();
        assert!(e.to_string().contains("<pubDate> is missing"), "{e}");
    }
}
