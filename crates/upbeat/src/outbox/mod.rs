//! Alerts for the team through one durable outbox: events become deliveries (one per event and
//! recipient, in one transaction with the reader's cursor), and workers claim, send, retry and
//! give up on them. See `ARCHITECTURE.md`.

pub mod mail;
pub mod retry;
pub mod send;
mod subscribers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;
use upbeat_core::notify::{Alert, AlertMonitor, Channel, RateDecision, render, wants};
use upbeat_core::{Config, MonitorId};
use upbeat_store::{Attempt, Delivery, EventRow, NewDelivery, OutageQuery, Store};

use crate::clock::Clock;
use crate::telemetry::Telemetry;
use retry::{Verdict, next_attempt};
use send::Sender;

/// The event-log reader that turns events into team alerts.
pub const READER: &str = "alerts";
/// How long a claimed delivery is ours: longer than any one attempt (its timeout), so a lease
/// runs out only when its worker is gone.
const LEASE: Duration = Duration::from_secs(120);
/// Deliveries claimed, and sent concurrently, per turn.
const BATCH: usize = 32;
const EVENTS_PER_TURN: usize = 500;
const TURN: Duration = Duration::from_millis(250);
const COUNT_EVERY: Duration = Duration::from_secs(2);

/// Team alerts: reads the event log into deliveries and sends them.
pub struct Outbox {
    store: Arc<dyn Store>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    telemetry: Arc<Telemetry>,
    sender: Sender,
    /// This node's name on leases: the same after a restart, so it takes back at once what it
    /// held when it stopped.
    owner: String,
    /// When each rate-limited channel last sent, for its limit.
    sent: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
    /// The key that signs subscribers' links, read once.
    key: tokio::sync::OnceCell<Vec<u8>>,
}

/// Who a delivery is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Recipient {
    /// A team channel; `reminder` is 0 for the first notice, n for the nth reminder.
    Channel {
        id: String,
        reminder: u32,
    },
    Subscriber(i64),
}

impl Recipient {
    fn parse(text: &str) -> Option<Recipient> {
        if let Some(id) = text.strip_prefix("channel:") {
            return Some(Recipient::Channel { id: id.to_owned(), reminder: 0 });
        }
        if let Some(rest) = text.strip_prefix("reminder:") {
            let (n, id) = rest.split_once(":channel:")?;
            return Some(Recipient::Channel { id: id.to_owned(), reminder: n.parse().ok()? });
        }
        text.strip_prefix("subscriber:")?.parse().ok().map(Recipient::Subscriber)
    }
}

/// Who finally receives a delivery: a channel's reminders go where the channel's first notice
/// went.
fn destination(recipient: &str) -> String {
    match Recipient::parse(recipient) {
        Some(Recipient::Channel { id, .. }) => format!("channel:{id}"),
        _ => recipient.to_owned(),
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::Channel { id, reminder: 0 } => write!(f, "channel:{id}"),
            Recipient::Channel { id, reminder } => write!(f, "reminder:{reminder}:channel:{id}"),
            Recipient::Subscriber(id) => write!(f, "subscriber:{id}"),
        }
    }
}

/// This machine's name and the server's port: stable across restarts, distinct between nodes.
fn node_name(config: &Config) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", config.server.listen.port())
}

impl Outbox {
    pub fn new(
        store: Arc<dyn Store>,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
        telemetry: Arc<Telemetry>,
    ) -> anyhow::Result<Outbox> {
        let sender = Sender::new(&config)?;
        let owner = node_name(&config);
        Ok(Outbox {
            store,
            config,
            clock,
            telemetry,
            sender,
            owner,
            sent: Mutex::new(HashMap::new()),
            key: tokio::sync::OnceCell::new(),
        })
    }

    /// Starts the log's readers at its end the first time the outbox runs on a database:
    /// history is not news. Called before the server takes requests, so nothing it is asked for
    /// can fall before the start.
    pub async fn begin(&self) -> anyhow::Result<()> {
        for reader in [READER, subscribers::NEWS_READER] {
            if self.store.outbox_cursor(reader).await?.is_none() {
                let last = self.store.last_event_seq().await?;
                self.store.enqueue(reader, last, &[], self.clock.now()).await?;
            }
        }
        Ok(())
    }

    /// Runs until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        // What this node was sending when it stopped (or was killed) is due again now, not when
        // its leases run out.
        match self.store.release(&self.owner).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deliveries = n, "taking back deliveries this node held when it stopped"),
            Err(e) => tracing::warn!(error = %e, "could not take back this node's deliveries"),
        }
        let mut last_count = tokio::time::Instant::now() - COUNT_EVERY;
        loop {
            if *stop.borrow() {
                return;
            }
            if let Err(e) = self.dispatch().await {
                tracing::warn!(error = %e, "could not read events into the outbox");
            }
            if let Err(e) = self.fan_out().await {
                tracing::warn!(error = %e, "could not read events into subscriber deliveries");
            }
            let busy = match self.deliver_due().await {
                Ok(n) => n == BATCH,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim deliveries");
                    false
                }
            };
            // Counting reads the whole table: every few seconds is enough for a gauge and a
            // 15-minute health threshold. Maintenance edges are noticed as often.
            if last_count.elapsed() >= COUNT_EVERY {
                last_count = tokio::time::Instant::now();
                if let Err(e) = self.maintenance_edges().await {
                    tracing::warn!(error = %e, "could not log maintenance windows starting or ending");
                }
                if let Err(e) = self.count().await {
                    tracing::warn!(error = %e, "could not count the outbox");
                }
            }
            if busy {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(TURN) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Counts the backlog for `/metrics` and `/health`.
    async fn count(&self) -> anyhow::Result<()> {
        let stats = self.store.outbox_stats().await?;
        let oldest =
            stats.oldest_pending.map_or(Duration::ZERO, |at| (self.clock.now() - at).to_std().unwrap_or_default());
        self.telemetry.outbox(stats.pending, stats.dead, oldest);
        Ok(())
    }

    /// Reads new events into deliveries, one per event and interested channel, in one
    /// transaction with the reader's cursor (which [`Outbox::begin`] set).
    pub async fn dispatch(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let cursor = self.store.outbox_cursor(READER).await?.unwrap_or_default();
        let events = self.store.events_after(cursor, EVENTS_PER_TURN).await?;
        let Some(last) = events.last().map(|e| e.seq) else { return Ok(0) };
        let mut deliveries = Vec::new();
        for event in &events {
            let renotify = match (event.kind.as_str(), &event.monitor) {
                ("outage_opened", Some(id)) => self.config.monitor(id.as_str()).and_then(|m| m.renotify),
                _ => None,
            };
            for channel in self.recipients(event).await? {
                deliveries.push(NewDelivery {
                    event_seq: event.seq,
                    recipient: Recipient::Channel { id: channel.clone(), reminder: 0 }.to_string(),
                    not_before: now,
                });
                // The first reminder waits its turn; each one sent enqueues the next while the
                // outage stays open.
                if let Some(every) = renotify {
                    deliveries.push(NewDelivery {
                        event_seq: event.seq,
                        recipient: Recipient::Channel { id: channel, reminder: 1 }.to_string(),
                        not_before: event.at + chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX),
                    });
                }
            }
        }
        Ok(self.store.enqueue(READER, last, &deliveries, now).await?)
    }

    /// Logs maintenance windows that started or completed lately (once each: the log's dedup
    /// key), so subscribers and channels hear of it. An edge more than an hour old is history.
    async fn maintenance_edges(&self) -> anyhow::Result<()> {
        let now = self.clock.now();
        let fresh = chrono::Duration::hours(1);
        // Windows that end after an hour ago: in progress, ended within the hour, or ahead.
        for window in self.store.maintenances(200, Some(now - fresh)).await? {
            if window.scheduled_until <= now {
                self.store.maintenance_edge(window.id, "maintenance_completed", window.scheduled_until).await?;
            } else if window.scheduled_for <= now && now - window.scheduled_for < fresh {
                self.store.maintenance_edge(window.id, "maintenance_started", window.scheduled_for).await?;
            }
        }
        Ok(())
    }

    /// The channels an event goes to: the monitor's (every channel unless it names some) that
    /// want its kind, unless it is suppressed: imported history, an outage that began in
    /// maintenance, or one that began while a monitor it depends on (`depends_on`) was down.
    async fn recipients(&self, event: &EventRow) -> anyhow::Result<Vec<String>> {
        if event.imported {
            return Ok(Vec::new());
        }
        let Some(alert) = self.alert_for(event).await? else { return Ok(Vec::new()) };
        let monitor = event.monitor.as_ref().and_then(|id| self.config.monitor(id.as_str()));
        if let (Some(m), Some(outage)) = (monitor, &event.outage)
            && let Some(parent) = self.down_parent(m, outage).await?
        {
            tracing::info!(monitor_id = %m.id, %parent, "not alerting: a monitor it depends on was down when it went down");
            return Ok(Vec::new());
        }
        let candidates = match monitor {
            Some(m) => self.config.channels_for(m),
            None => self.config.channels.iter().collect(),
        };
        Ok(candidates.into_iter().filter(|c| wants(c, alert.event)).map(|c| c.id.clone()).collect())
    }

    /// The monitor `m` depends on (directly or not) that was already down when `m`'s outage
    /// began. Judged by the stored outages, not the live state, so the outage's opening and its
    /// closing are both alerted or both not.
    async fn down_parent(&self, m: &upbeat_core::monitor::Monitor, outage: &str) -> anyhow::Result<Option<MonitorId>> {
        let parents = self.config.dependencies(&m.id);
        if parents.is_empty() {
            return Ok(None);
        }
        let Some(outage) = self.store.outage(outage).await? else { return Ok(None) };
        for parent in parents {
            let query = OutageQuery {
                monitor: Some((*parent).clone()),
                since: Some(outage.started_at),
                limit: 100,
                ..OutageQuery::default()
            };
            if self.store.outages(&query).await?.iter().any(|o| o.started_at <= outage.started_at) {
                return Ok(Some((*parent).clone()));
            }
        }
        Ok(None)
    }

    /// The alert an event tells of; `None` for events that alert nobody (an outage in
    /// maintenance, a deleted update).
    async fn alert_for(&self, event: &EventRow) -> anyhow::Result<Option<Alert>> {
        let page = &self.config.page;
        match event.kind.as_str() {
            "outage_opened" | "outage_closed" => {
                let (Some(id), Some(outage_id)) = (&event.monitor, &event.outage) else { return Ok(None) };
                let Some(outage) = self.store.outage(outage_id).await? else { return Ok(None) };
                if outage.in_maintenance {
                    return Ok(None);
                }
                let monitor = match self.config.monitor(id.as_str()) {
                    Some(m) => AlertMonitor::from(m),
                    None => AlertMonitor { id: id.clone(), name: id.to_string() },
                };
                Ok(Some(if event.kind == "outage_opened" {
                    Alert::outage_opened(page, monitor, &outage)
                } else {
                    Alert::outage_closed(page, monitor, &outage)
                }))
            }
            "incident_update" => {
                let (Some(incident), Some(update)) = (event.incident, event.update) else { return Ok(None) };
                let Some(incident) = self.store.incident(incident).await? else { return Ok(None) };
                let Some(update) = incident.updates.iter().find(|u| u.id == update) else { return Ok(None) };
                Ok(Some(Alert::incident(page, &incident, update)))
            }
            "maintenance_started" | "maintenance_completed" => {
                let Some(id) = event.maintenance else { return Ok(None) };
                let Some(window) = self.store.maintenance(id).await? else { return Ok(None) };
                Ok(Some(if event.kind == "maintenance_started" {
                    Alert::maintenance_started(page, &window, event.at)
                } else {
                    Alert::maintenance_ended(page, &window, event.at)
                }))
            }
            _ => Ok(None),
        }
    }

    /// Claims what is due and sends it; how many were claimed. Each destination (a channel with
    /// its reminders, a subscriber) gets its messages one after another in the order of their
    /// events, so a receiver never hears "recovered" before "down" (PagerDuty would drop a resolve
    /// for an alert it has not seen, then keep the trigger open forever); destinations are served
    /// concurrently.
    pub async fn deliver_due(self: &Arc<Self>) -> anyhow::Result<usize> {
        let claimed = self.store.claim(&self.owner, self.clock.now(), LEASE, BATCH).await?;
        let n = claimed.len();
        let mut queues: HashMap<String, Vec<Delivery>> = HashMap::new();
        for delivery in claimed {
            queues.entry(destination(&delivery.recipient)).or_default().push(delivery);
        }
        let mut sending = JoinSet::new();
        for (_, mut queue) in queues {
            queue.sort_by_key(|d| (d.event_seq, d.id));
            let outbox = Arc::clone(self);
            sending.spawn(async move {
                for delivery in queue {
                    outbox.deliver(delivery).await;
                }
            });
        }
        while sending.join_next().await.is_some() {}
        Ok(n)
    }

    async fn deliver(&self, delivery: Delivery) {
        let verdict = match self.attempt(&delivery).await {
            Ok(verdict) => verdict,
            Err(e) => Verdict::Permanent { error: format!("{e:#}") },
        };
        let now = self.clock.now();
        let attempt = match verdict {
            Verdict::Delivered => Attempt::Sent,
            Verdict::Cancelled { reason } => Attempt::Cancelled { reason },
            Verdict::Permanent { error } => Attempt::Dead { error },
            Verdict::Transient { error, retry_after } => {
                match next_attempt(delivery.created_at, delivery.attempts + 1, retry_after, jitter(), now) {
                    Some(at) => Attempt::Retry { at, error },
                    None => Attempt::Dead { error: format!("gave up after a day of retries: {error}") },
                }
            }
        };
        match &attempt {
            Attempt::Sent => tracing::info!(key = %delivery.key, to = %delivery.recipient, "message delivered"),
            Attempt::Retry { at, error } => {
                tracing::warn!(key = %delivery.key, to = %delivery.recipient, %error, retry_at = %at, "message not delivered; will retry")
            }
            Attempt::Dead { error } => {
                tracing::error!(key = %delivery.key, to = %delivery.recipient, %error, "message given up on")
            }
            Attempt::Cancelled { reason } => {
                tracing::info!(key = %delivery.key, to = %delivery.recipient, %reason, "message not sent")
            }
        }
        if let Err(e) = self.store.finish(delivery.id, &self.owner, &attempt, now).await {
            // The lease runs out and another turn retries it: sent again at worst, never lost.
            tracing::error!(key = %delivery.key, error = %e, "could not record a delivery attempt");
        }
    }

    /// One attempt: find who it is for and the event, render, respect the rate limit, send.
    async fn attempt(&self, delivery: &Delivery) -> anyhow::Result<Verdict> {
        let event = self.store.events_after(delivery.event_seq - 1, 1).await?.into_iter().next();
        let Some(event) = event.filter(|e| e.seq == delivery.event_seq) else { anyhow::bail!("the event is gone") };
        match Recipient::parse(&delivery.recipient) {
            Some(Recipient::Channel { id, reminder }) => self.to_channel(delivery, &event, &id, reminder).await,
            Some(Recipient::Subscriber(id)) => self.to_subscriber(delivery, &event, id).await,
            None => anyhow::bail!("unknown recipient `{}`", delivery.recipient),
        }
    }

    async fn to_channel(
        &self,
        delivery: &Delivery,
        event: &EventRow,
        channel_id: &str,
        reminder: u32,
    ) -> anyhow::Result<Verdict> {
        let Some(channel) = self.config.channels.iter().find(|c| c.id == channel_id) else {
            anyhow::bail!("the channel `{channel_id}` is no longer configured");
        };
        let Some(mut alert) = self.alert_for(event).await? else { anyhow::bail!("the event no longer alerts") };
        if reminder > 0 {
            let outage = match &event.outage {
                Some(id) => self.store.outage(id).await?,
                None => None,
            };
            if outage.is_none_or(|o| o.ended_at.is_some()) {
                return Ok(Verdict::Cancelled { reason: "the outage is over".to_owned() });
            }
            alert = alert.reminder(reminder, self.clock.now());
        }
        if let Some(wait) = self.rate_limited(channel) {
            return Ok(Verdict::Transient {
                error: format!("rate limit of channel `{}`", channel.id),
                retry_after: Some(wait),
            });
        }
        let rendered = render(channel, &alert, &|name| std::env::var(name).ok()).map_err(anyhow::Error::msg)?;
        let verdict = self.sender.send(rendered, &delivery.key, self.clock.as_ref()).await;
        if reminder > 0 && matches!(verdict, Verdict::Delivered) {
            self.next_reminder(delivery, event, channel_id, reminder).await;
        }
        Ok(verdict)
    }

    /// Enqueues the reminder after `reminder`, `renotify` from now.
    async fn next_reminder(&self, delivery: &Delivery, event: &EventRow, channel: &str, reminder: u32) {
        let every = event.monitor.as_ref().and_then(|id| self.config.monitor(id.as_str())).and_then(|m| m.renotify);
        let Some(every) = every else { return };
        let now = self.clock.now();
        let next = NewDelivery {
            event_seq: delivery.event_seq,
            recipient: Recipient::Channel { id: channel.to_owned(), reminder: reminder + 1 }.to_string(),
            not_before: now + chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX),
        };
        // The cursor only moves forward: 0 leaves it where it is.
        if let Err(e) = self.store.enqueue(READER, 0, &[next], now).await {
            tracing::warn!(key = %delivery.key, error = %e, "could not enqueue the next reminder");
        }
    }

    /// How long to wait when `channel`'s rate limit is reached; records a send otherwise.
    fn rate_limited(&self, channel: &Channel) -> Option<Duration> {
        let limit = channel.rate_limit?;
        let now = self.clock.now();
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let times = sent.entry(channel.id.clone()).or_default();
        match limit.check(times, now) {
            RateDecision::SendNow => {
                let per = chrono::Duration::from_std(limit.per).unwrap_or(chrono::Duration::MAX);
                times.retain(|t| *t + per > now);
                times.push(now);
                None
            }
            RateDecision::NotBefore(at) => Some((at - now).to_std().unwrap_or_default()),
        }
    }
}

/// A number in [0, 1) for retry jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    let _ = getrandom::fill(&mut bytes);
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}
