//! Storage: one trait, one implementation per database.
//!
//! Everything upbeat keeps goes through [`Store`]. SQLite ([`sqlite::SqliteStore`]) is the
//! embedded default; PostgreSQL will be a second module implementing the same trait with its own
//! migrations, and the store tests are written to run against any implementation.
//!
//! Architecture invariant: the hot path writes in batches. [`Store::write_batch`] takes many
//! samples, state changes and transitions and commits them in one transaction; nothing on the
//! probe path writes a row at a time.

pub mod sqlite;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use upbeat_core::feed::FeedEvent;
use upbeat_core::heartbeat::Ping;
use upbeat_core::import::{ImportSet, ImportSummary};
use upbeat_core::incident::{ComponentStatuses, Impact, Incident, IncidentStatus};
use upbeat_core::maintenance::Maintenance;
use upbeat_core::subscriber::{Subscriber, SubscriberKind};
use upbeat_core::uptime::{History, Span};
use upbeat_core::{MonitorId, MonitorState, Outage, Sample, Scope, Transition};

/// What can go wrong in storage, for the caller to report; the database's own error is kept.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL `{0}` is not supported; use sqlite://PATH")]
    UnsupportedUrl(String),
    #[error(
        "the database was written by a newer upbeat (schema version {found}; this binary knows up to {known}); run that upbeat, or restore a backup made before the upgrade"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error(
        "{0} is not supported yet: only sqlite:// databases can be backed up this way (use pg_dump for PostgreSQL)"
    )]
    BackupUnsupported(String),
    #[error("there is no database at {0}")]
    NoDatabase(String),
    #[error("{0} already exists; a backup never overwrites a file")]
    BackupExists(String),
    #[error("cannot write {path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// What is being written contradicts what is stored; nothing was written.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A monitor as the configuration declares it, reconciled into the database at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorRecord {
    pub id: MonitorId,
    pub name: String,
    pub kind: String,
    pub target: String,
    pub component: Option<String>,
    pub public: bool,
    /// Time between checks; zero for imported monitors.
    pub interval: Duration,
    /// A heartbeat's ping uuid as configured; `None` keeps the stored one.
    pub ping_uuid: Option<String>,
}

impl MonitorRecord {
    /// What the store keeps of a monitor the configuration (or a ping) declares.
    pub fn of(m: &upbeat_core::monitor::Monitor, ping_uuid: Option<String>) -> MonitorRecord {
        MonitorRecord {
            id: m.id.clone(),
            name: m.name.clone(),
            kind: m.kind.name().to_owned(),
            target: m.kind.target(),
            component: m.component.clone(),
            public: m.public,
            interval: m.interval,
            ping_uuid,
        }
    }
}

/// One entry of the event log, as the outbox reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `outage_opened`, `outage_closed`, `incident_update`, `maintenance_scheduled`,
    /// `maintenance_started`, `maintenance_completed`, `subscription_requested`.
    pub kind: String,
    pub monitor: Option<MonitorId>,
    pub outage: Option<String>,
    pub incident: Option<i64>,
    pub update: Option<i64>,
    pub maintenance: Option<i64>,
    pub subscriber: Option<i64>,
    /// The event is history an import brought in, not something that happened here.
    pub imported: bool,
}

/// A message to enqueue: the event it tells of and who gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    pub event_seq: i64,
    /// `channel:<id>`, `subscriber:<id>`, ...
    pub recipient: String,
    /// Not sent before this (a re-notification is enqueued ahead of its time).
    pub not_before: DateTime<Utc>,
}

impl NewDelivery {
    /// The idempotency key: one message per event and recipient, ever.
    pub fn key(&self) -> String {
        format!("{}:{}", self.event_seq, self.recipient)
    }
}

/// A claimed or listed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub key: String,
    pub event_seq: i64,
    pub recipient: String,
    pub status: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// When it became owed: when it was enqueued, or, for one enqueued ahead of its time (a
    /// reminder), its `not_before`. How long an alert has waited, and when retrying it is given
    /// up on, count from here, so a reminder waiting its turn is not late.
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Try again at this time.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Give up: a permanent failure, or too long trying.
    Dead {
        error: String,
    },
    /// Not sent, and rightly so: the subscriber left, or the news is no longer true.
    Cancelled {
        reason: String,
    },
}

/// Someone who asked to hear about incidents and maintenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubscriber {
    pub kind: SubscriberKind,
    pub address: String,
    pub components: Vec<String>,
    /// Added by an operator, who vouches for it: no confirmation mail.
    pub confirmed: bool,
}

/// What [`Store::subscribe`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribed {
    pub subscriber: Subscriber,
    /// A confirmation was asked for: a `subscription_requested` event is in the log.
    pub confirmation_requested: bool,
}

/// Asking for another confirmation mail sooner than this after the last sends nothing.
pub const CONFIRMATION_EVERY: chrono::Duration = chrono::Duration::minutes(10);

/// The outbox's size, for `/metrics` and `/health`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxStats {
    pub pending: u64,
    pub oldest_pending: Option<DateTime<Utc>>,
    pub dead: u64,
    pub sent: u64,
    /// Not sent, rightly: the subscriber left before its turn.
    pub cancelled: u64,
}

/// A monitor's persisted state and its latest sample, as loaded at start.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMonitor {
    pub id: MonitorId,
    pub state: MonitorState,
    pub last_sample: Option<LastSample>,
    /// A heartbeat's ping uuid, configured or generated once.
    pub ping_uuid: Option<String>,
    /// A metric monitor's recent values, oldest first (filled by the caller, who knows the window).
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// A ping from the log, with its row id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPing {
    pub id: i64,
    pub ping: Ping,
}

/// Enough of the latest sample to answer "when was it last checked, and how fast".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastSample {
    pub at: DateTime<Utc>,
    pub up: bool,
    pub latency: Duration,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// One group commit: everything the engine produced since the last one.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub samples: Vec<Sample>,
    /// The newest state of each monitor whose state changed.
    pub states: Vec<(MonitorId, MonitorState)>,
    pub transitions: Vec<(MonitorId, Transition)>,
    /// Heartbeat pings and pushes, for the ping log.
    pub pings: Vec<Ping>,
    /// Values of metric monitors.
    pub points: Vec<(MonitorId, DateTime<Utc>, f64)>,
    /// Heartbeats created by a ping (`?create=1`), written before anything that refers to them.
    pub created: Vec<MonitorRecord>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
            && self.states.is_empty()
            && self.transitions.is_empty()
            && self.pings.is_empty()
            && self.points.is_empty()
            && self.created.is_empty()
    }

    pub fn len(&self) -> usize {
        self.samples.len()
            + self.states.len()
            + self.transitions.len()
            + self.pings.len()
            + self.points.len()
            + self.created.len()
    }
}

/// Which outages to list.
#[derive(Clone, Debug, Default)]
pub struct OutageQuery {
    pub monitor: Option<MonitorId>,
    /// Only outages of public monitors.
    pub public_only: bool,
    /// Only outages still open, or ended at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub limit: usize,
}

/// A token to store. The store never sees the token itself: only its hash, which is what a request
/// is looked up by, and its first characters, which are what an operator recognises it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewToken<'a> {
    pub name: &'a str,
    pub scope: Scope,
    pub hash: &'a str,
    /// The token's first characters (`upb_` and 8 hex digits), shown by `token list`.
    pub prefix: &'a str,
}

/// A stored API token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    /// `None` for tokens made before prefixes were stored.
    pub prefix: Option<String>,
    pub created_at: DateTime<Utc>,
    /// To within [`TOKEN_USE_RESOLUTION`]; `None` when never used.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Which token to revoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRef<'a> {
    Id(i64),
    /// A token's name or its prefix, as `token list` shows them.
    NameOrPrefix(&'a str),
}

/// What [`Store::revoke_token`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// This token was revoked.
    Token(TokenRecord),
    /// No token matched; nothing was revoked.
    Unknown,
    /// Several tokens matched (oldest first); nothing was revoked.
    Ambiguous(Vec<TokenRecord>),
}

/// A token's last use is recorded at most once per this much time, so using a token is not a
/// database write per request.
pub const TOKEN_USE_RESOLUTION: chrono::Duration = chrono::Duration::minutes(1);

/// What a roll-up pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollUp {
    pub hours: u64,
    pub samples_deleted: u64,
    /// Pings older than the retention, or beyond the newest [`PINGS_KEPT`] of their monitor.
    pub pings_deleted: u64,
}

/// The ping log keeps at most this many pings per monitor (the count of all pings is kept apart).
pub const PINGS_KEPT: u64 = 10_000;

/// An hourly aggregate of samples that were rolled up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HourAggregate {
    pub monitor: MonitorId,
    pub hour: DateTime<Utc>,
    pub checks: u64,
    pub failures: u64,
    pub latency_sum: Duration,
    pub latency_min: Option<Duration>,
    pub latency_max: Option<Duration>,
    pub latency_p50: Option<Duration>,
    pub latency_p95: Option<Duration>,
    pub latency_p99: Option<Duration>,
}

/// The average latency of good checks in one bucket of time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyPoint {
    pub start: DateTime<Utc>,
    pub average: Duration,
    pub checks: u64,
}

/// A new incident and its first update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIncident {
    pub title: String,
    pub impact: Impact,
    pub status: IncidentStatus,
    pub components: ComponentStatuses,
    /// The first update's Markdown.
    pub message: String,
    /// When it started; the first update is stamped with it too (for backfilling).
    pub started_at: DateTime<Utc>,
}

/// An update posted to an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUpdate {
    pub status: IncidentStatus,
    pub body: String,
    /// Components whose status this update changes; the others keep theirs.
    pub components: ComponentStatuses,
    pub created_at: DateTime<Utc>,
}

/// A change to an existing update; `None` keeps the field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateEdit {
    pub status: Option<IncidentStatus>,
    pub body: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// A request's idempotency key, scoped to the token that sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub token_id: i64,
    pub key: String,
    /// A hash of the request, so a key reused for another request is refused.
    pub request_hash: String,
}

/// What [`Store::create_incident`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    New(Incident),
    /// The key was seen before with the same request: this is what it created then.
    Replayed(Incident),
    /// The key was seen before with another request.
    KeyReused,
}

/// A new maintenance window and its announcement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMaintenance {
    pub title: String,
    pub scheduled_for: DateTime<Utc>,
    pub scheduled_until: DateTime<Utc>,
    pub components: Vec<String>,
    pub message: String,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Makes the database hold exactly the configured monitors as active, keeping history.
    async fn sync_monitors(&self, monitors: &[MonitorRecord], now: DateTime<Utc>) -> Result<()>;

    /// Every configured or ping-created monitor's persisted state (default when never written) and
    /// latest sample.
    async fn load_monitors(&self) -> Result<Vec<StoredMonitor>>;

    /// The heartbeats that pings created (`origin = 'ping'`) and the configuration does not declare.
    async fn pinged_monitors(&self) -> Result<Vec<MonitorRecord>>;

    /// Every monitor with a history to report on: the configured ones and the imported ones.
    async fn monitor_records(&self) -> Result<Vec<MonitorRecord>>;

    /// One active monitor, configured or imported.
    async fn monitor_record(&self, id: &MonitorId) -> Result<Option<MonitorRecord>>;

    /// What is known of one monitor during `window`: its outages (an open one ends at `now`), its
    /// component's maintenance, and when it was watched. `None` when there is no such monitor.
    async fn history(&self, monitor: &MonitorId, window: Span, now: DateTime<Utc>) -> Result<Option<History>>;

    /// Writes what an import read, in one transaction, skipping what is already stored; with
    /// `dry_run`, rolls it back and only says what it would do. `progress` is told how many
    /// things have been written so far.
    async fn import(
        &self,
        set: &ImportSet,
        dry_run: bool,
        progress: &(dyn Fn(usize) + Send + Sync),
        now: DateTime<Utc>,
    ) -> Result<ImportSummary>;

    /// Commits a batch in one transaction. Replaying a batch opens or closes nothing twice.
    async fn write_batch(&self, batch: &Batch) -> Result<()>;

    /// Gives a heartbeat the uuid generated for it, unless it has one; true when it was set.
    async fn set_ping_uuid(&self, monitor: &MonitorId, uuid: &str) -> Result<bool>;

    /// All pings the monitor ever received (a count), and the newest `limit` of them.
    async fn pings(&self, monitor: &MonitorId, limit: usize) -> Result<(u64, Vec<StoredPing>)>;

    /// A metric monitor's values after `since`, oldest first.
    async fn metric_points(&self, monitor: &MonitorId, since: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, f64)>>;

    /// The newest event's sequence number; 0 for an empty log.
    async fn last_event_seq(&self) -> Result<i64>;

    /// Up to `limit` events after `seq`, oldest first.
    async fn events_after(&self, seq: i64, limit: usize) -> Result<Vec<EventRow>>;

    /// How far the outbox reader `name` has read the event log; `None` before its first run.
    async fn outbox_cursor(&self, name: &str) -> Result<Option<i64>>;

    /// In one transaction: enqueues the deliveries (skipping keys already enqueued) and moves the
    /// reader `name` to `seq`. A crash between reading and this call loses nothing and, replayed,
    /// enqueues nothing twice. Returns how many were new. Each is `created_at` the later of `now`
    /// and its `not_before`.
    async fn enqueue(&self, name: &str, seq: i64, deliveries: &[NewDelivery], now: DateTime<Utc>) -> Result<usize>;

    /// Claims up to `limit` deliveries that are due and not leased, for `owner` until `now + lease`.
    async fn claim(&self, owner: &str, now: DateTime<Utc>, lease: Duration, limit: usize) -> Result<Vec<Delivery>>;

    /// Records how an attempt ended, if `owner` still holds the lease; false when it does not.
    async fn finish(&self, id: i64, owner: &str, attempt: &Attempt, now: DateTime<Utc>) -> Result<bool>;

    async fn outbox_stats(&self) -> Result<OutboxStats>;

    /// Deliveries with this status (`pending`, `sent`, `dead`), newest first.
    async fn deliveries(&self, status: &str, limit: usize) -> Result<Vec<Delivery>>;
    /// Gives up the leases `owner` holds (a worker stopping, or one starting again under the same
    /// name after a crash): what it had claimed is due again at once.
    async fn release(&self, owner: &str) -> Result<u64>;

    /// Adds a subscriber, or asks again for one that is pending or left; an active subscriber is
    /// left as it is. A confirmation is requested (as an event) unless one was within
    /// [`CONFIRMATION_EVERY`].
    async fn subscribe(&self, new: &NewSubscriber, now: DateTime<Utc>) -> Result<Subscribed>;
    async fn subscriber(&self, id: i64) -> Result<Option<Subscriber>>;
    /// Subscribers by id after `after`, oldest first; only active ones with `active_only`.
    async fn subscribers(&self, after: i64, limit: usize, active_only: bool) -> Result<Vec<Subscriber>>;
    /// Confirms a subscription (again: a no-op); `None` for an unknown id.
    async fn confirm_subscriber(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Subscriber>>;
    /// Ends a subscription (again: a no-op); `None` for an unknown id.
    async fn unsubscribe(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Subscriber>>;
    /// Forgets a subscriber; false for an unknown id.
    async fn delete_subscriber(&self, id: i64) -> Result<bool>;
    /// The value of a shared setting, made by `make` and stored the first time it is asked for
    /// (by whichever node asks first).
    async fn setting(&self, name: &str, make: &(dyn Fn() -> String + Send + Sync)) -> Result<String>;
    /// Logs that a maintenance window started or completed (`maintenance_started`,
    /// `maintenance_completed`), once per window; false when it was logged before.
    async fn maintenance_edge(&self, id: i64, kind: &str, at: DateTime<Utc>) -> Result<bool>;

    async fn outages(&self, query: &OutageQuery) -> Result<Vec<Outage>>;
    /// One outage by id.
    async fn outage(&self, id: &str) -> Result<Option<Outage>>;

    /// The newest `limit` feed events of public monitors, newest first.
    async fn feed_events(&self, limit: usize) -> Result<Vec<FeedEvent>>;

    /// The newest `limit` samples of one monitor, newest first.
    async fn recent_samples(&self, monitor: &MonitorId, limit: usize) -> Result<Vec<LastSample>>;

    /// Stores a new token and returns its id. Hashes are unique (a constraint, not a check), so two
    /// tokens never authenticate as each other; names need not be.
    async fn create_token(&self, new: &NewToken<'_>, now: DateTime<Utc>) -> Result<i64>;

    /// The token with this hash. Read from the database on every call, never cached, so a token
    /// revoked on any node (or by `upbeat token revoke` in another process) fails from the next
    /// request on.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>>;

    /// Every token, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenRecord>>;

    /// Revokes exactly one token, or none: the tokens matching `which` are found and, when there is
    /// exactly one, deleted, in one transaction, so a concurrent revoke or a new token of the same
    /// name cannot make it revoke two or the wrong one. A revoked token's row is gone (its hash no
    /// longer authenticates anything); ids are never reused.
    async fn revoke_token(&self, which: TokenRef<'_>) -> Result<Revoked>;

    /// Records that token `id` was used at `now`, unless a use later than `now -`
    /// [`TOKEN_USE_RESOLUTION`] is already recorded; true when this call wrote. The condition is in
    /// the `UPDATE` itself, so however many requests, processes or nodes race, the value moves at
    /// most once per [`TOKEN_USE_RESOLUTION`] and never backwards. Even a no-op `UPDATE` takes
    /// SQLite's write lock, so callers keep their own guard and do not call this per request.
    async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<bool>;

    /// Rolls samples taken before `before` into hourly aggregates and deletes them, with the
    /// metric points of the same hours; trims the ping log to `before` and to [`PINGS_KEPT`] per
    /// monitor.
    async fn roll_up(&self, before: DateTime<Utc>) -> Result<RollUp>;

    async fn hour_aggregates(&self, monitor: &MonitorId) -> Result<Vec<HourAggregate>>;

    /// The latency of a monitor's good checks since `since`, averaged per `bucket` (buckets counted
    /// from `since`), oldest first; buckets without a good check are left out. Rolled-up hours count
    /// with their checks, in the bucket their hour starts in.
    async fn latency_series(
        &self,
        monitor: &MonitorId,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<LatencyPoint>>;

    /// Creates an incident with its first update, in one transaction with its idempotency key.
    async fn create_incident(
        &self,
        new: &NewIncident,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Created>;

    async fn incident(&self, id: i64) -> Result<Option<Incident>>;

    /// The newest `limit` incidents by start, each with its updates; only unresolved ones if asked.
    async fn incidents(&self, limit: usize, open_only: bool) -> Result<Vec<Incident>>;

    /// Posts an update; it sets the incident's status (resolving or reopening it) and merges its
    /// component statuses. `None` when there is no such incident.
    async fn add_update(&self, incident: i64, update: &NewUpdate, now: DateTime<Utc>) -> Result<Option<Incident>>;

    /// Changes an incident's title or impact.
    async fn edit_incident(
        &self,
        incident: i64,
        title: Option<&str>,
        impact: Option<Impact>,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>>;

    /// Edits an update, keeping what it was in the audit. `None` when there is no such update.
    async fn edit_update(
        &self,
        incident: i64,
        update: i64,
        edit: &UpdateEdit,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>>;

    /// Deletes an update from the incident, its page and the feeds, keeping it in the audit.
    async fn delete_update(
        &self,
        incident: i64,
        update: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>>;

    /// Sets or replaces the incident's postmortem.
    async fn set_postmortem(
        &self,
        incident: i64,
        body: &str,
        published_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>>;

    async fn create_maintenance(&self, new: &NewMaintenance, now: DateTime<Utc>) -> Result<Maintenance>;

    async fn maintenance(&self, id: i64) -> Result<Option<Maintenance>>;

    /// Windows by start, newest first; with `ending_after`, only those not over by then.
    async fn maintenances(&self, limit: usize, ending_after: Option<DateTime<Utc>>) -> Result<Vec<Maintenance>>;

    async fn add_maintenance_update(&self, id: i64, body: &str, at: DateTime<Utc>) -> Result<Option<Maintenance>>;

    /// Replaces an update's text (`Some`) or removes it (`None`), keeping what it was in the audit.
    /// `None` when the window has no such update.
    async fn change_maintenance_update(
        &self,
        id: i64,
        update: i64,
        body: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Maintenance>>;

    /// Changes a window's title or edges (completing it early is moving its end to now).
    async fn edit_maintenance(
        &self,
        id: i64,
        title: Option<&str>,
        scheduled_for: Option<DateTime<Utc>>,
        scheduled_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Maintenance>>;
}

/// Writes a consistent copy of the live database `url` names to the new file `to` and returns its
/// size in bytes. The database is neither migrated nor changed, so a backup taken before an upgrade
/// is the database as the old version left it; its writers may go on meanwhile. An existing `to`
/// is never overwritten.
pub async fn backup(url: &str, to: &std::path::Path) -> Result<u64> {
    if url.starts_with("sqlite:") {
        sqlite::backup(url, to).await
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Err(StoreError::BackupUnsupported("backing up PostgreSQL".to_owned()))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// Opens the store a URL names: `sqlite://PATH` (created if missing) or `sqlite::memory:`.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
