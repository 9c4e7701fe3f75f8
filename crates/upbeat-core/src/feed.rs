//! Feed items, derived from the event log. Rendering to RSS, Atom and JSON lives in the web layer;
//! what an item says, and which items there are, is decided here.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::OutageId;

/// An event that appears in the feeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedEvent {
    OutageOpened {
        monitor_name: String,
        outage: OutageId,
        at: DateTime<Utc>,
    },
    OutageClosed {
        monitor_name: String,
        outage: OutageId,
        at: DateTime<Utc>,
    },
    /// An update posted to an incident; its description is the update's Markdown.
    IncidentUpdate {
        incident_id: i64,
        title: String,
        guid_hash: String,
        body: String,
        at: DateTime<Utc>,
    },
}

/// Where an item comes from: monitors speak for themselves, incidents are written by people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemSource {
    Monitor,
    Incident,
}

/// One item, in the shape every feed format shares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeedItem {
    pub title: String,
    pub link: String,
    pub published: DateTime<Utc>,
    /// Shared by the items of one outage (RSS guid).
    pub guid: String,
    /// Unique per item (Atom id, JSON Feed id).
    pub id: String,
    /// Plain text for monitor events; the update's Markdown for incidents.
    pub description: String,
    pub source: ItemSource,
}

impl FeedEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            FeedEvent::OutageOpened { at, .. }
            | FeedEvent::OutageClosed { at, .. }
            | FeedEvent::IncidentUpdate { at, .. } => *at,
        }
    }

    pub fn to_item(&self, base_url: &str) -> FeedItem {
        let (name, outage, verb, suffix) = match self {
            FeedEvent::OutageOpened { monitor_name, outage, .. } => (monitor_name, outage, "went down", "down"),
            FeedEvent::OutageClosed { monitor_name, outage, .. } => (monitor_name, outage, "recovered", "up"),
            FeedEvent::IncidentUpdate { incident_id, title, guid_hash, body, at } => {
                let link = crate::incident::link(base_url, *incident_id);
                let guid = format!("{link}#{guid_hash}");
                return FeedItem {
                    id: guid.clone(),
                    guid,
                    link,
                    published: *at,
                    title: title.clone(),
                    description: body.clone(),
                    source: ItemSource::Incident,
                };
            }
        };
        let title = format!("{name} {verb}");
        let guid = outage.guid(base_url);
        FeedItem {
            id: format!("{guid}-{suffix}"),
            link: base_url.to_owned(),
            published: self.at(),
            description: title.clone(),
            title,
            guid,
            source: ItemSource::Monitor,
        }
    }
}

/// The newest `limit` items, newest first. Events of equal time keep a closing after its opening.
pub fn items(base_url: &str, events: &[FeedEvent], limit: usize) -> Vec<FeedItem> {
    let mut ordered: Vec<(usize, &FeedEvent)> = events.iter().enumerate().collect();
    ordered.sort_by(|(ia, a), (ib, b)| b.at().cmp(&a.at()).then(ib.cmp(ia)));
    ordered.into_iter().take(limit).map(|(_, e)| e.to_item(base_url)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MonitorId;
    use chrono::TimeZone;

    #[test]
    fn an_outage_gives_two_items_sharing_the_guid_newest_first() {
        let m = MonitorId::parse("web").unwrap();
        let start = Utc.with_ymd_and_hms(2025, 6, 30, 12, 9, 50).unwrap();
        let end = Utc.with_ymd_and_hms(2025, 6, 30, 12, 12, 51).unwrap();
        let id = OutageId::derive(&m, start);
        let events = vec![
            FeedEvent::OutageOpened { monitor_name: "buttondown.com".into(), outage: id.clone(), at: start },
            FeedEvent::OutageClosed { monitor_name: "buttondown.com".into(), outage: id.clone(), at: end },
        ];
        let items = items("https://status.buttondown.com/", &events, 250);
        assert_eq!(items[0].title, "buttondown.com recovered");
        assert_eq!(items[1].title, "buttondown.com went down");
        assert_eq!(items[0].guid, items[1].guid);
        assert_ne!(items[0].id, items[1].id);
        assert_eq!(items[0].link, "https://status.buttondown.com/");
        assert_eq!(items[0].description, items[0].title);
    }

    #[test]
    fn the_limit_keeps_the_newest() {
        let m = MonitorId::parse("web").unwrap();
        let events: Vec<_> = (0..10)
            .map(|i| {
                let at = Utc.timestamp_opt(1_700_000_000 + i * 60, 0).unwrap();
                FeedEvent::OutageOpened { monitor_name: "w".into(), outage: OutageId::derive(&m, at), at }
            })
            .collect();
        let items = items("https://x/", &events, 3);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].published, events[9].at());
    }
}
