//! Alerts for the team through one durable outbox: events become deliveries (one per event and
//! recipient, in one transaction with the reader's cursor), and workers claim, send, retry and
//! give up on them. See `ARCHITECTURE.md`.

pub mod retry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;
use upbeat_core::notify::{Alert, AlertMonitor, Channel, ChannelKind, RateDecision, Rendered, render, wants};
use upbeat_core::{Config, MonitorId, Status};
use upbeat_store::{Attempt, Delivery, EventRow, NewDelivery, OutageQuery, Store};
use upbeat_web::Runtime;

use crate::clock::Clock;
use crate::telemetry::Telemetry;
use retry::{Verdict, http_verdict, next_attempt};

/// The event-log reader that turns events into team alerts.
pub const READER: &str = "alerts";
/// How long a claimed delivery is ours: longer than any one attempt (its timeout), so a lease
/// runs out only when its worker is gone.
const LEASE: Duration = Duration::from_secs(120);
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Deliveries claimed, and sent concurrently, per turn.
const BATCH: usize = 32;
const EVENTS_PER_TURN: usize = 500;
const TURN: Duration = Duration::from_millis(250);
const COUNT_EVERY: Duration = Duration::from_secs(2);

/// Team alerts: reads the event log into deliveries and sends them.
pub struct Outbox {
    store: Arc<dyn Store>,
    config: Arc<Config>,
    runtime: Arc<dyn Runtime>,
    clock: Arc<dyn Clock>,
    telemetry: Arc<Telemetry>,
    http: reqwest::Client,
    /// This process's name on leases.
    owner: String,
    /// When each rate-limited channel last sent, for its limit.
    sent: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

impl Outbox {
    pub fn new(
        store: Arc<dyn Store>,
        config: Arc<Config>,
        runtime: Arc<dyn Runtime>,
        clock: Arc<dyn Clock>,
        telemetry: Arc<Telemetry>,
    ) -> anyhow::Result<Outbox> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("upbeat/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the alerts' HTTP client")?;
        let mut nonce = [0u8; 6];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let owner = format!("{}-{}", std::process::id(), hex::encode(nonce));
        Ok(Outbox { store, config, runtime, clock, telemetry, http, owner, sent: Mutex::new(HashMap::new()) })
    }

    /// Runs until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        if self.config.channels.iter().any(|c| matches!(c.kind, ChannelKind::Email(_))) {
            tracing::warn!(
                "email channels are configured, but sending email is not built yet: those alerts are dead-lettered"
            );
        }
        let mut last_count = tokio::time::Instant::now() - COUNT_EVERY;
        loop {
            if *stop.borrow() {
                return;
            }
            if let Err(e) = self.dispatch().await {
                tracing::warn!(error = %e, "could not read events into the outbox");
            }
            let busy = match self.deliver_due().await {
                Ok(n) => n == BATCH,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim deliveries");
                    false
                }
            };
            // Counting reads the whole table: every few seconds is enough for a gauge and a
            // 15-minute health threshold.
            if last_count.elapsed() >= COUNT_EVERY {
                last_count = tokio::time::Instant::now();
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
    /// transaction with the reader's cursor. The first run starts at the end of the log: history
    /// is not news.
    pub async fn dispatch(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let cursor = match self.store.outbox_cursor(READER).await? {
            Some(cursor) => cursor,
            None => {
                let last = self.store.last_event_seq().await?;
                self.store.enqueue(READER, last, &[], now).await?;
                return Ok(0);
            }
        };
        let events = self.store.events_after(cursor, EVENTS_PER_TURN).await?;
        let Some(last) = events.last().map(|e| e.seq) else { return Ok(0) };
        let mut deliveries = Vec::new();
        for event in &events {
            for channel in self.recipients(event).await? {
                deliveries.push(NewDelivery {
                    event_seq: event.seq,
                    recipient: format!("channel:{channel}"),
                    not_before: now,
                });
            }
        }
        Ok(self.store.enqueue(READER, last, &deliveries, now).await?)
    }

    /// The channels an event goes to: the monitor's (every channel unless it names some) that
    /// want its kind, unless it is suppressed: imported history, an outage that began in
    /// maintenance, or a monitor whose parent (`depends_on`) is down.
    async fn recipients(&self, event: &EventRow) -> anyhow::Result<Vec<String>> {
        if event.imported {
            return Ok(Vec::new());
        }
        let Some(alert) = self.alert_for(event).await? else { return Ok(Vec::new()) };
        let monitor = event.monitor.as_ref().and_then(|id| self.config.monitor(id.as_str()));
        if let Some(m) = monitor
            && let Some(parent) = self
                .config
                .dependencies(&m.id)
                .into_iter()
                .find(|p| self.runtime.monitor(p.as_str()).is_some_and(|v| v.state == Status::Down))
        {
            tracing::info!(monitor_id = %m.id, %parent, "not alerting: a monitor it depends on is down");
            return Ok(Vec::new());
        }
        let candidates = match monitor {
            Some(m) => self.config.channels_for(m),
            None => self.config.channels.iter().collect(),
        };
        Ok(candidates.into_iter().filter(|c| wants(c, alert.event)).map(|c| c.id.clone()).collect())
    }

    /// The alert an event tells of; `None` for events that alert nobody (an outage in
    /// maintenance, a deleted update).
    async fn alert_for(&self, event: &EventRow) -> anyhow::Result<Option<Alert>> {
        let page = &self.config.page;
        match event.kind.as_str() {
            "outage_opened" | "outage_closed" => {
                let (Some(id), Some(outage_id)) = (&event.monitor, &event.outage) else { return Ok(None) };
                let Some(outage) = self.outage(id, outage_id).await? else { return Ok(None) };
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
            _ => Ok(None),
        }
    }

    async fn outage(&self, monitor: &MonitorId, id: &str) -> anyhow::Result<Option<upbeat_core::Outage>> {
        let query = OutageQuery { monitor: Some(monitor.clone()), limit: 1000, ..OutageQuery::default() };
        Ok(self.store.outages(&query).await?.into_iter().find(|o| o.id.as_str() == id))
    }

    /// Claims what is due and sends it, concurrently; how many were claimed.
    pub async fn deliver_due(self: &Arc<Self>) -> anyhow::Result<usize> {
        let claimed = self.store.claim(&self.owner, self.clock.now(), LEASE, BATCH).await?;
        let n = claimed.len();
        let mut sending = JoinSet::new();
        for delivery in claimed {
            let outbox = Arc::clone(self);
            sending.spawn(async move { outbox.deliver(delivery).await });
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
            Verdict::Permanent { error } => Attempt::Dead { error },
            Verdict::Transient { error, retry_after } => {
                match next_attempt(delivery.created_at, delivery.attempts + 1, retry_after, jitter(), now) {
                    Some(at) => Attempt::Retry { at, error },
                    None => Attempt::Dead { error: format!("gave up after a day of retries: {error}") },
                }
            }
        };
        match &attempt {
            Attempt::Sent => tracing::info!(key = %delivery.key, to = %delivery.recipient, "alert delivered"),
            Attempt::Retry { at, error } => {
                tracing::warn!(key = %delivery.key, to = %delivery.recipient, %error, retry_at = %at, "alert not delivered; will retry")
            }
            Attempt::Dead { error } => {
                tracing::error!(key = %delivery.key, to = %delivery.recipient, %error, "alert given up on")
            }
        }
        if let Err(e) = self.store.finish(delivery.id, &self.owner, &attempt, now).await {
            // The lease runs out and another turn retries it: sent again at worst, never lost.
            tracing::error!(key = %delivery.key, error = %e, "could not record a delivery attempt");
        }
    }

    /// One attempt: find the channel and the event, render, respect the rate limit, send.
    async fn attempt(&self, delivery: &Delivery) -> anyhow::Result<Verdict> {
        let channel_id = delivery.recipient.strip_prefix("channel:").context("unknown recipient")?;
        let Some(channel) = self.config.channels.iter().find(|c| c.id == channel_id) else {
            anyhow::bail!("the channel `{channel_id}` is no longer configured");
        };
        let event = self.store.events_after(delivery.event_seq - 1, 1).await?.into_iter().next();
        let Some(event) = event.filter(|e| e.seq == delivery.event_seq) else { anyhow::bail!("the event is gone") };
        let Some(alert) = self.alert_for(&event).await? else { anyhow::bail!("the event no longer alerts") };
        if let Some(wait) = self.rate_limited(channel) {
            return Ok(Verdict::Transient {
                error: format!("rate limit of channel `{}`", channel.id),
                retry_after: Some(wait),
            });
        }
        let rendered = render(channel, &alert, &|name| std::env::var(name).ok()).map_err(anyhow::Error::msg)?;
        let request = match rendered {
            Rendered::Http(request) => request,
            Rendered::Email { .. } => anyhow::bail!("sending email is not built yet"),
        };
        let mut builder = self.http.request(request.method.clone(), &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        // Receivers that dedupe can: the same delivery always carries the same key.
        builder = builder.header("Idempotency-Key", &delivery.key).body(request.body);
        Ok(match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after =
                    response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let body = response.text().await.unwrap_or_default();
                http_verdict(status, retry_after.as_deref(), self.clock.now(), &body)
            }
            Err(e) => Verdict::Transient { error: format!("cannot reach the receiver: {e}"), retry_after: None },
        })
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
