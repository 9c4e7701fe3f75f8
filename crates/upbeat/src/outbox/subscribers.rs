//! Subscribers' news through the same outbox: a second reader of the event log fans incident
//! updates and maintenance changes out to every active subscriber who wants them, a page of ids
//! at a time, and sends each confirmation request to its one subscriber.
//!
//! A delivery carries the event and the subscriber id, nothing else: the mail is rendered when it
//! is sent, and a subscriber who left in the meantime is skipped (`cancelled`).

use anyhow::Context;
use chrono::{DateTime, Utc};
use upbeat_core::notify::Rendered;
use upbeat_core::subscriber::{CONFIRM_FOR, LinkPurpose, SubscriberKind, sign};
use upbeat_store::{Delivery, EventRow, NewDelivery};
use upbeat_web::news::{self, News};

use super::retry::Verdict;
use super::{Outbox, Recipient};

/// The event-log reader that turns events into subscriber deliveries.
pub const NEWS_READER: &str = "subscribers";
/// Subscribers read, and deliveries written, per transaction of a fan-out.
const PAGE: usize = 1_000;
const EVENTS_PER_TURN: usize = 500;

/// What an event means for subscribers.
enum Audience {
    Nobody,
    /// The one subscriber who asked to subscribe.
    One(i64),
    /// Every active subscriber whose filter takes these components.
    Everyone {
        components: Vec<String>,
    },
}

impl Outbox {
    /// Reads new events into subscriber deliveries. A fan-out writes a page of deliveries per
    /// transaction and moves the cursor past its event with the last page, so a crash in the
    /// middle redoes it, and the deliveries' keys make the redone pages no-ops.
    pub async fn fan_out(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let cursor = self.store.outbox_cursor(NEWS_READER).await?.unwrap_or_default();
        let events = self.store.events_after(cursor, EVENTS_PER_TURN).await?;
        let Some(last) = events.last().map(|e| e.seq) else { return Ok(0) };
        let mut added = 0;
        let mut singles = Vec::new();
        for event in &events {
            match self.audience(event).await? {
                Audience::Nobody => {}
                Audience::One(id) => singles.push(NewDelivery {
                    event_seq: event.seq,
                    recipient: Recipient::Subscriber(id).to_string(),
                    not_before: now,
                }),
                Audience::Everyone { components } => {
                    // What came before this event is enqueued first, with the cursor before it.
                    added += self.store.enqueue(NEWS_READER, event.seq - 1, &std::mem::take(&mut singles), now).await?;
                    added += self.to_everyone(event, &components, now).await?;
                    tracing::info!(event = event.seq, kind = %event.kind, "news fanned out to subscribers");
                }
            }
        }
        added += self.store.enqueue(NEWS_READER, last, &singles, now).await?;
        Ok(added)
    }

    /// Enqueues `event` for every active subscriber who wants `components`, a page at a time;
    /// the cursor stays before the event.
    async fn to_everyone(&self, event: &EventRow, components: &[String], now: DateTime<Utc>) -> anyhow::Result<usize> {
        let mut added = 0;
        let mut after = 0;
        loop {
            let page = self.store.subscribers(after, PAGE, true).await?;
            let Some(tail) = page.last().map(|s| s.id) else { return Ok(added) };
            after = tail;
            let deliveries: Vec<NewDelivery> = page
                .iter()
                .filter(|s| s.wants(components))
                .map(|s| NewDelivery {
                    event_seq: event.seq,
                    recipient: Recipient::Subscriber(s.id).to_string(),
                    not_before: now,
                })
                .collect();
            added += self.store.enqueue(NEWS_READER, event.seq - 1, &deliveries, now).await?;
            if page.len() < PAGE {
                return Ok(added);
            }
        }
    }

    async fn audience(&self, event: &EventRow) -> anyhow::Result<Audience> {
        if event.imported {
            return Ok(Audience::Nobody);
        }
        if event.kind == "subscription_requested" {
            return Ok(event.subscriber.map_or(Audience::Nobody, Audience::One));
        }
        Ok(match self.news_facts(event).await? {
            Some(facts) => Audience::Everyone { components: facts.news().components() },
            None => Audience::Nobody,
        })
    }

    /// What an event tells subscribers, loaded; `None` for events that are not news to them.
    async fn news_facts(&self, event: &EventRow) -> anyhow::Result<Option<Facts>> {
        Ok(match event.kind.as_str() {
            "incident_update" => {
                let (Some(incident), Some(update)) = (event.incident, event.update) else { return Ok(None) };
                let Some(incident) = self.store.incident(incident).await? else { return Ok(None) };
                let found = incident.updates.iter().position(|u| u.id == update);
                found.map(|index| Facts::Incident(incident, index))
            }
            "maintenance_scheduled" | "maintenance_started" | "maintenance_completed" => {
                let Some(id) = event.maintenance else { return Ok(None) };
                self.store.maintenance(id).await?.map(|m| Facts::Maintenance(m, event.kind.clone()))
            }
            _ => None,
        })
    }

    async fn key(&self) -> anyhow::Result<&[u8]> {
        let key = self
            .key
            .get_or_try_init(|| upbeat_web::subscribe::subscription_key(self.store.as_ref()))
            .await
            .context("cannot read the subscription key")?;
        Ok(key)
    }

    pub(super) async fn to_subscriber(
        &self,
        delivery: &Delivery,
        event: &EventRow,
        id: i64,
    ) -> anyhow::Result<Verdict> {
        let cancel = |reason: &str| Ok(Verdict::Cancelled { reason: reason.to_owned() });
        let Some(subscriber) = self.store.subscriber(id).await? else { return cancel("the subscriber was deleted") };
        if subscriber.unsubscribed_at.is_some() {
            return cancel("the subscriber unsubscribed");
        }
        let key = self.key().await?;
        let base = &self.config.page.base_url;
        if event.kind == "subscription_requested" {
            if subscriber.confirmed_at.is_some() {
                return cancel("the subscription is confirmed already");
            }
            let token = sign(key, LinkPurpose::Confirm, id, Some(event.at + CONFIRM_FOR));
            let letter = news::confirmation(&self.config, &format!("{base}subscribe/confirm/{token}"));
            let rendered = letter.email(subscriber.address);
            return Ok(self.sender.send(rendered, &delivery.key, self.clock.as_ref()).await);
        }
        if !subscriber.is_active() {
            return cancel("the subscription was never confirmed");
        }
        let Some(facts) = self.news_facts(event).await? else { return cancel("the update was deleted") };
        let news = facts.news();
        let unsubscribe = format!("{base}unsubscribe/{}", sign(key, LinkPurpose::Unsubscribe, id, None));
        match subscriber.kind {
            SubscriberKind::Email => {
                let rendered = news::letter_for(&self.config, &news, &unsubscribe).email(subscriber.address);
                Ok(self.sender.send(rendered, &delivery.key, self.clock.as_ref()).await)
            }
            SubscriberKind::Webhook => {
                let body = news::webhook_body(&self.config, &news, &unsubscribe);
                let request = upbeat_core::notify::Request {
                    method: reqwest::Method::POST,
                    url: subscriber.address,
                    headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
                    body: serde_json::to_vec(&body)?,
                };
                Ok(self.sender.send(Rendered::Http(request), &delivery.key, self.clock.as_ref()).await)
            }
        }
    }
}

/// An event's subject, loaded from the store.
enum Facts {
    /// The incident and the index of the update in its `updates`.
    Incident(upbeat_core::incident::Incident, usize),
    Maintenance(upbeat_core::maintenance::Maintenance, String),
}

impl Facts {
    fn news(&self) -> News<'_> {
        match self {
            Facts::Incident(incident, index) => News::Incident { incident, update: &incident.updates[*index] },
            Facts::Maintenance(m, kind) => match kind.as_str() {
                "maintenance_scheduled" => News::MaintenanceScheduled(m),
                "maintenance_started" => News::MaintenanceStarted(m),
                _ => News::MaintenanceCompleted(m),
            },
        }
    }
}
