//! The SQLite store: one file in WAL mode, the embedded default.
//!
//! WAL lets the page and the API read while the writer commits. `synchronous = NORMAL` keeps every
//! committed transaction through a crash or `kill -9` of the process (only a power cut can lose
//! the last commits), which is the durability upbeat promises on one machine.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite};
use upbeat_core::feed::FeedEvent;
use upbeat_core::heartbeat::{Ping, PingKind};
use upbeat_core::import::{ImportSet, ImportSummary};
use upbeat_core::incident::{
    self as incident_model, ComponentStatuses, Impact, Incident, IncidentStatus, IncidentUpdate, Postmortem,
};
use upbeat_core::maintenance::{Maintenance, MaintenanceUpdate};
use upbeat_core::subscriber::Subscriber;
use upbeat_core::uptime::{History, Span};
use upbeat_core::{MonitorId, MonitorState, Outage, OutageId, Sample, Scope, Transition};

mod import;
mod outbox;
mod subscribers;

use crate::{
    Attempt, Batch, Created, Delivery, EventRow, HourAggregate, IdempotencyKey, LastSample, LatencyPoint,
    MonitorRecord, NewDelivery, NewIncident, NewMaintenance, NewSubscriber, NewToken, NewUpdate, OutageQuery,
    OutboxStats, PINGS_KEPT, Result, Revoked, RollUp, Store, StoreError, StoredMonitor, StoredPing, Subscribed,
    TOKEN_USE_RESOLUTION, TokenRecord, TokenRef, UpdateEdit,
};

/// Every transaction writes, so it takes the write lock when it begins (waiting up to the busy
/// timeout for it): a deferred transaction that reads first could not upgrade once another writer
/// committed, and would fail at once with `SQLITE_BUSY` instead of waiting its turn.
const WRITE: &str = "BEGIN IMMEDIATE";

/// Append-only: a new schema change is a new file and a new line here.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/sqlite/0001_init.sql")),
    (2, "incidents", include_str!("../migrations/sqlite/0002_incidents.sql")),
    (3, "maintenance", include_str!("../migrations/sqlite/0003_maintenance.sql")),
    (4, "postmortems", include_str!("../migrations/sqlite/0004_postmortems.sql")),
    (5, "maintenance_update_audit", include_str!("../migrations/sqlite/0005_maintenance_update_audit.sql")),
    (6, "import", include_str!("../migrations/sqlite/0006_import.sql")),
    (7, "pings", include_str!("../migrations/sqlite/0007_pings.sql")),
    (8, "metrics", include_str!("../migrations/sqlite/0008_metrics.sql")),
    (9, "outbox", include_str!("../migrations/sqlite/0009_outbox.sql")),
    (10, "subscribers", include_str!("../migrations/sqlite/0010_subscribers.sql")),
    (11, "token_use", include_str!("../migrations/sqlite/0011_token_use.sql")),
];

/// Inserts an outage unless its id is stored: id, monitor, start, end, cause, then the monitor and
/// the start twice more. It is in maintenance when a window of its monitor's component covers its
/// start.
const INSERT_OUTAGE: &str = "INSERT INTO outages (id, monitor_id, started_at, ended_at, cause, in_maintenance)
     VALUES (?, ?, ?, ?, ?, EXISTS (
       SELECT 1 FROM maintenance_components mc
       JOIN maintenances mt ON mt.id = mc.maintenance_id
       JOIN monitors m ON m.component = mc.component
       WHERE m.id = ? AND mt.scheduled_for <= ? AND mt.scheduled_until > ?))
     ON CONFLICT (id) DO NOTHING";

/// SQLite allows 32766 bound parameters per statement; a sample row binds 11.
const SAMPLE_ROWS_PER_INSERT: usize = 2_000;
/// Eleven columns a ping: under SQLite's 32,766 bound parameters.
const PING_ROWS_PER_INSERT: usize = 2_000;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<SqliteStore> {
        let memory = url.contains(":memory:");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(if memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            // An in-memory database lives as long as its one connection.
            .idle_timeout(if memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(if memory { None } else { Some(Duration::from_secs(3600)) })
            .connect_with(options)
            .await?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version").fetch_all(&self.pool).await?;
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        // A version this binary does not have means a newer upbeat changed the schema in ways this
        // one would misread or undo: refuse before touching anything.
        if applied.iter().any(|v| !MIGRATIONS.iter().any(|m| m.0 == *v)) {
            return Err(StoreError::NewerSchema { found: applied.last().copied().unwrap_or_default(), known });
        }
        for &(version, name, sql) in MIGRATIONS.iter().filter(|m| !applied.contains(&m.0)) {
            let mut tx = self.pool.begin_with(WRITE).await?;
            // Another process opening the same file (`upbeat token create` while `serve` starts) may
            // have applied it since we looked; the write lock makes this check and the change one step.
            let done: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
            if done.is_some() {
                continue;
            }
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                .bind(version)
                .bind(name)
                .bind(Utc::now().timestamp_millis())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, name, "applied migration");
        }
        Ok(())
    }

    /// Deletes pings older than `before`, then all but the newest [`PINGS_KEPT`] of each monitor.
    async fn trim_pings(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut deleted =
            sqlx::query("DELETE FROM pings WHERE at < ?").bind(ms(before)).execute(&self.pool).await?.rows_affected();
        let crowded: Vec<String> =
            sqlx::query_scalar("SELECT monitor_id FROM pings GROUP BY monitor_id HAVING count(*) > ?")
                .bind(PINGS_KEPT as i64)
                .fetch_all(&self.pool)
                .await?;
        for monitor in crowded {
            deleted += sqlx::query(
                "DELETE FROM pings WHERE monitor_id = ?1 AND id <= (
                   SELECT id FROM pings WHERE monitor_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            )
            .bind(&monitor)
            .bind(PINGS_KEPT as i64)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(deleted)
    }
}

/// A consistent copy of the live database in `to`, made by `VACUUM INTO`: it reads one snapshot
/// (WAL lets the writers go on meanwhile) and writes a compact file. No migration runs: the copy is
/// the database as it is.
pub(crate) async fn backup(url: &str, to: &std::path::Path) -> Result<u64> {
    let options = SqliteConnectOptions::from_str(url)?.busy_timeout(Duration::from_secs(10));
    let source = options.get_filename();
    if url.contains(":memory:") || !source.is_file() {
        return Err(StoreError::NoDatabase(source.display().to_string()));
    }
    let target = to.display().to_string();
    let io = |error| StoreError::Io { path: target.clone(), error };
    // Creating the file ourselves makes "never overwrite" one atomic step; VACUUM INTO accepts an
    // empty file. Owner-only, like the database: it holds token hashes and subscribers' addresses.
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(to) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(StoreError::BackupExists(target)),
        Err(e) => return Err(io(e)),
    }
    let copied = async {
        let mut connection = sqlx::ConnectOptions::connect(&options).await?;
        sqlx::query("VACUUM INTO ?").bind(&target).execute(&mut connection).await?;
        sqlx::Connection::close(connection).await?;
        Ok::<(), StoreError>(())
    }
    .await;
    if let Err(e) = copied {
        // The file is ours and holds no complete copy: leave nothing that looks like a backup.
        let _ = std::fs::remove_file(to);
        return Err(e);
    }
    Ok(std::fs::metadata(to).map_err(io)?.len())
}

/// A `SELECT` of the columns [`token_row`] reads, from `tokens`, followed by `$rest`.
macro_rules! select_tokens {
    ($rest:literal) => {
        concat!("SELECT id, name, scope, prefix, created_at, last_used_at FROM tokens ", $rest)
    };
}

fn token_row(row: &sqlx::sqlite::SqliteRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scope: Scope::parse(&row.try_get::<String, _>("scope")?).map_err(StoreError::Corrupt)?,
        prefix: row.try_get("prefix")?,
        created_at: time(row.try_get("created_at")?),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at")?.map(time),
    })
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn from_us(v: i64) -> Duration {
    Duration::from_micros(u64::try_from(v).unwrap_or(0))
}

fn monitor_id(text: String) -> Result<MonitorId> {
    MonitorId::parse(&text).map_err(StoreError::Corrupt)
}

fn last_sample(row: &sqlx::sqlite::SqliteRow) -> Result<LastSample> {
    let kind: Option<String> = row.try_get("error_kind")?;
    let message: Option<String> = row.try_get("error_message")?;
    Ok(LastSample {
        at: time(row.try_get("at")?),
        up: row.try_get("up")?,
        latency: from_us(row.try_get("latency_us")?),
        http_status: row.try_get::<Option<i64>, _>("http_status")?.and_then(|s| u16::try_from(s).ok()),
        error: kind.map(|k| format!("{k}: {}", message.unwrap_or_default())),
    })
}

fn outage(row: &sqlx::sqlite::SqliteRow) -> Result<Outage> {
    Ok(Outage {
        id: OutageId::parse(&row.try_get::<String, _>("id")?).map_err(StoreError::Corrupt)?,
        monitor: monitor_id(row.try_get("monitor_id")?)?,
        started_at: time(row.try_get("started_at")?),
        ended_at: row.try_get::<Option<i64>, _>("ended_at")?.map(time),
        cause: row.try_get("cause")?,
        in_maintenance: row.try_get("in_maintenance")?,
    })
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[async_trait]
impl Store for SqliteStore {
    async fn sync_monitors(&self, monitors: &[MonitorRecord], now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin_with(WRITE).await?;
        // Imported monitors stay; a configured monitor with an imported one's id takes it over.
        sqlx::query("UPDATE monitors SET active = 0 WHERE origin = 'config'").execute(&mut *tx).await?;
        for m in monitors {
            sqlx::query(
                "INSERT INTO monitors (id, name, kind, target, component, public, interval_ms, ping_uuid, active, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                   target = excluded.target, component = excluded.component, public = excluded.public,
                   interval_ms = excluded.interval_ms, ping_uuid = COALESCE(excluded.ping_uuid, monitors.ping_uuid),
                   origin = 'config', active = 1, updated_at = excluded.updated_at",
            )
            .bind(m.id.as_str())
            .bind(&m.name)
            .bind(&m.kind)
            .bind(&m.target)
            .bind(m.component.as_deref())
            .bind(m.public)
            .bind(m.interval.as_millis() as i64)
            .bind(m.ping_uuid.as_deref())
            .bind(ms(now))
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(format!(
                    "monitor `{}`: its uuid is another monitor's already; give each heartbeat its own",
                    m.id
                )),
                _ => StoreError::from(e),
            })?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load_monitors(&self) -> Result<Vec<StoredMonitor>> {
        let rows = sqlx::query(
            "SELECT id, state, ping_uuid FROM monitors WHERE active = 1 AND origin IN ('config', 'ping') ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = monitor_id(row.try_get("id")?)?;
            let state = match row.try_get::<Option<String>, _>("state")? {
                Some(json) => serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("state of monitor `{id}`: {e}")))?,
                None => MonitorState::default(),
            };
            let last_sample = self.recent_samples(&id, 1).await?.into_iter().next();
            let ping_uuid = row.try_get("ping_uuid")?;
            out.push(StoredMonitor { id, state, last_sample, ping_uuid, points: Vec::new() });
        }
        Ok(out)
    }

    async fn pinged_monitors(&self) -> Result<Vec<MonitorRecord>> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM monitors WHERE active = 1 AND origin = 'ping' ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(import::monitor_records(&self.pool, Some(&monitor_id(id)?)).await?);
        }
        Ok(out)
    }

    async fn monitor_records(&self) -> Result<Vec<MonitorRecord>> {
        import::monitor_records(&self.pool, None).await
    }

    async fn monitor_record(&self, id: &MonitorId) -> Result<Option<MonitorRecord>> {
        Ok(import::monitor_records(&self.pool, Some(id)).await?.pop())
    }

    async fn history(&self, monitor: &MonitorId, window: Span, now: DateTime<Utc>) -> Result<Option<History>> {
        import::history(&self.pool, monitor, window, now).await
    }

    async fn import(
        &self,
        set: &ImportSet,
        dry_run: bool,
        progress: &(dyn Fn(usize) + Send + Sync),
        now: DateTime<Utc>,
    ) -> Result<ImportSummary> {
        import::import(&self.pool, set, dry_run, progress, now).await
    }

    async fn write_batch(&self, batch: &Batch) -> Result<()> {
        let mut tx = self.pool.begin_with(WRITE).await?;
        for chunk in batch.samples.chunks(SAMPLE_ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO samples (monitor_id, at, up, latency_us, dns_us, connect_us, tls_us, first_byte_us, http_status, error_kind, error_message) ",
            );
            insert.push_values(chunk, |mut row, s: &Sample| {
                let o = &s.outcome;
                row.push_bind(s.monitor.as_str().to_owned())
                    .push_bind(ms(s.at))
                    .push_bind(o.is_up())
                    .push_bind(us(o.latency))
                    .push_bind(o.phases.dns.map(us))
                    .push_bind(o.phases.connect.map(us))
                    .push_bind(o.phases.tls.map(us))
                    .push_bind(o.phases.first_byte.map(us))
                    .push_bind(o.http_status.map(i64::from))
                    .push_bind(o.error.as_ref().map(|e| e.kind.as_str()))
                    .push_bind(o.error.as_ref().map(|e| e.message.clone()));
            });
            insert.build().execute(&mut *tx).await?;
        }
        for m in &batch.created {
            sqlx::query(
                "INSERT INTO monitors (id, name, kind, target, component, public, interval_ms, ping_uuid, origin, active, created_at, updated_at)
                 VALUES (?, ?, ?, ?, NULL, ?, ?, ?, 'ping', 1, ?, ?) ON CONFLICT (id) DO NOTHING",
            )
            .bind(m.id.as_str())
            .bind(&m.name)
            .bind(&m.kind)
            .bind(&m.target)
            .bind(m.public)
            .bind(m.interval.as_millis() as i64)
            .bind(m.ping_uuid.as_deref())
            .bind(batch_now(batch))
            .bind(batch_now(batch))
            .execute(&mut *tx)
            .await?;
        }
        if !batch.pings.is_empty() {
            write_pings(&mut tx, &batch.pings).await?;
        }
        for chunk in batch.points.chunks(SAMPLE_ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO metric_points (monitor_id, at, value) ");
            insert.push_values(chunk, |mut row, (monitor, at, value)| {
                row.push_bind(monitor.as_str().to_owned()).push_bind(ms(*at)).push_bind(*value);
            });
            insert.build().execute(&mut *tx).await?;
        }
        // One statement per thousand states: a batch of pings to many heartbeats changes many.
        for chunk in batch.states.chunks(1_000) {
            let mut rows = Vec::with_capacity(chunk.len());
            for (id, state) in chunk {
                let json = serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                rows.push((id.as_str().to_owned(), json));
            }
            let mut update = QueryBuilder::<Sqlite>::new("UPDATE monitors SET state = v.column2 FROM (");
            update.push_values(rows, |mut row, (id, json)| {
                row.push_bind(id).push_bind(json);
            });
            update.push(") AS v WHERE monitors.id = v.column1");
            update.build().execute(&mut *tx).await?;
        }
        for (monitor, transition) in &batch.transitions {
            match transition {
                Transition::Opened { outage } => {
                    // In maintenance when it started inside a window of its monitor's component.
                    sqlx::query(INSERT_OUTAGE)
                        .bind(outage.id.as_str())
                        .bind(monitor.as_str())
                        .bind(ms(outage.started_at))
                        .bind(None::<i64>)
                        .bind(&outage.cause)
                        .bind(monitor.as_str())
                        .bind(ms(outage.started_at))
                        .bind(ms(outage.started_at))
                        .execute(&mut *tx)
                        .await?;
                    insert_event(&mut tx, "outage_opened", monitor, &outage.id, outage.started_at).await?;
                }
                Transition::Closed { outage, ended_at } => {
                    sqlx::query("UPDATE outages SET ended_at = ? WHERE id = ? AND ended_at IS NULL")
                        .bind(ms(*ended_at))
                        .bind(outage.id.as_str())
                        .execute(&mut *tx)
                        .await?;
                    insert_event(&mut tx, "outage_closed", monitor, &outage.id, *ended_at).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_ping_uuid(&self, monitor: &MonitorId, uuid: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE monitors SET ping_uuid = ? WHERE id = ? AND ping_uuid IS NULL")
            .bind(uuid)
            .bind(monitor.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn pings(&self, monitor: &MonitorId, limit: usize) -> Result<(u64, Vec<StoredPing>)> {
        let total: Option<i64> = sqlx::query_scalar("SELECT pings_total FROM monitors WHERE id = ?")
            .bind(monitor.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT id, at, kind, exit_status, rid, method, remote, user_agent, body, truncated, duration_ms
             FROM pings WHERE monitor_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(monitor.as_str())
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut pings = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row.try_get("kind")?;
            pings.push(StoredPing {
                id: row.try_get("id")?,
                ping: Ping {
                    monitor: monitor.clone(),
                    at: time(row.try_get("at")?),
                    kind: PingKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("ping kind `{kind}`")))?,
                    exit_status: row.try_get::<Option<i64>, _>("exit_status")?.map(|s| s.clamp(0, 255) as u8),
                    rid: row.try_get("rid")?,
                    method: row.try_get("method")?,
                    remote: row.try_get("remote")?,
                    user_agent: row.try_get("user_agent")?,
                    body: row.try_get("body")?,
                    truncated: row.try_get("truncated")?,
                    duration: row
                        .try_get::<Option<i64>, _>("duration_ms")?
                        .map(|d| Duration::from_millis(d.max(0) as u64)),
                },
            });
        }
        Ok((total.unwrap_or(0).max(0) as u64, pings))
    }

    async fn metric_points(&self, monitor: &MonitorId, since: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, f64)>> {
        let rows = sqlx::query("SELECT at, value FROM metric_points WHERE monitor_id = ? AND at > ? ORDER BY at")
            .bind(monitor.as_str())
            .bind(ms(since))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok((time(row.try_get("at")?), row.try_get("value")?))).collect()
    }

    async fn last_event_seq(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events").fetch_one(&self.pool).await?)
    }

    async fn events_after(&self, seq: i64, limit: usize) -> Result<Vec<EventRow>> {
        outbox::events_after(&self.pool, seq, limit).await
    }

    async fn outbox_cursor(&self, name: &str) -> Result<Option<i64>> {
        outbox::cursor(&self.pool, name).await
    }

    async fn enqueue(&self, name: &str, seq: i64, deliveries: &[NewDelivery], now: DateTime<Utc>) -> Result<usize> {
        outbox::enqueue(&self.pool, name, seq, deliveries, now).await
    }

    async fn claim(&self, owner: &str, now: DateTime<Utc>, lease: Duration, limit: usize) -> Result<Vec<Delivery>> {
        outbox::claim(&self.pool, owner, now, lease, limit).await
    }

    async fn finish(&self, id: i64, owner: &str, attempt: &Attempt, now: DateTime<Utc>) -> Result<bool> {
        outbox::finish(&self.pool, id, owner, attempt, now).await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats> {
        outbox::stats(&self.pool).await
    }

    async fn deliveries(&self, status: &str, limit: usize) -> Result<Vec<Delivery>> {
        outbox::list(&self.pool, status, limit).await
    }

    async fn release(&self, owner: &str) -> Result<u64> {
        outbox::release(&self.pool, owner).await
    }

    async fn subscribe(&self, new: &NewSubscriber, now: DateTime<Utc>) -> Result<Subscribed> {
        subscribers::subscribe(&self.pool, new, now).await
    }

    async fn subscriber(&self, id: i64) -> Result<Option<Subscriber>> {
        subscribers::one(&self.pool, id).await
    }

    async fn subscribers(&self, after: i64, limit: usize, active_only: bool) -> Result<Vec<Subscriber>> {
        subscribers::page(&self.pool, after, limit, active_only).await
    }

    async fn confirm_subscriber(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Subscriber>> {
        subscribers::set_time(&self.pool, id, "confirmed_at", now).await
    }

    async fn unsubscribe(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Subscriber>> {
        subscribers::set_time(&self.pool, id, "unsubscribed_at", now).await
    }

    async fn delete_subscriber(&self, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM subscribers WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn setting(&self, name: &str, make: &(dyn Fn() -> String + Send + Sync)) -> Result<String> {
        sqlx::query("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(make())
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = ?").bind(name).fetch_one(&self.pool).await?)
    }

    async fn maintenance_edge(&self, id: i64, kind: &str, at: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO events (at, kind, maintenance_id, dedup_key) VALUES (?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(ms(at))
        .bind(kind)
        .bind(id)
        .bind(format!("maintenance:{id}:{kind}"))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn outage(&self, id: &str) -> Result<Option<Outage>> {
        let row =
            sqlx::query("SELECT id, monitor_id, started_at, ended_at, cause, in_maintenance FROM outages WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(outage).transpose()
    }

    async fn outages(&self, query: &OutageQuery) -> Result<Vec<Outage>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT o.id, o.monitor_id, o.started_at, o.ended_at, o.cause, o.in_maintenance FROM outages o JOIN monitors m ON m.id = o.monitor_id WHERE 1 = 1",
        );
        if let Some(monitor) = &query.monitor {
            q.push(" AND o.monitor_id = ").push_bind(monitor.as_str().to_owned());
        }
        if query.public_only {
            q.push(" AND m.public = 1 AND m.active = 1");
        }
        if let Some(since) = query.since {
            q.push(" AND (o.ended_at IS NULL OR o.ended_at >= ").push_bind(ms(since)).push(")");
        }
        q.push(" ORDER BY o.started_at DESC, o.id LIMIT ").push_bind(query.limit as i64);
        q.build().fetch_all(&self.pool).await?.iter().map(outage).collect()
    }

    async fn feed_events(&self, limit: usize) -> Result<Vec<FeedEvent>> {
        let rows = sqlx::query(
            "SELECT e.kind, e.at, e.outage_id, m.name FROM events e JOIN monitors m ON m.id = e.monitor_id
             WHERE m.public = 1 AND e.kind IN ('outage_opened', 'outage_closed')
             ORDER BY e.at DESC, e.seq DESC LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows
            .iter()
            .map(|row| {
                let outage = OutageId::parse(&row.try_get::<String, _>("outage_id")?).map_err(StoreError::Corrupt)?;
                let monitor_name: String = row.try_get("name")?;
                let at = time(row.try_get("at")?);
                match row.try_get::<String, _>("kind")?.as_str() {
                    "outage_opened" => Ok(FeedEvent::OutageOpened { monitor_name, outage, at }),
                    _ => Ok(FeedEvent::OutageClosed { monitor_name, outage, at }),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        // Incident updates are dated by their own (settable) time, not by when they were posted.
        let updates = sqlx::query(
            "SELECT i.id AS incident_id, i.title, u.guid_hash, u.body, u.created_at FROM events e
             JOIN incident_updates u ON u.id = e.update_id JOIN incidents i ON i.id = u.incident_id
             WHERE e.kind = 'incident_update' AND u.deleted_at IS NULL
             ORDER BY u.created_at DESC, u.id DESC LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        for row in &updates {
            events.push(FeedEvent::IncidentUpdate {
                incident_id: row.try_get("incident_id")?,
                title: row.try_get("title")?,
                guid_hash: row.try_get("guid_hash")?,
                body: row.try_get("body")?,
                at: time(row.try_get("created_at")?),
            });
        }
        Ok(events)
    }

    async fn recent_samples(&self, monitor: &MonitorId, limit: usize) -> Result<Vec<LastSample>> {
        let rows = sqlx::query(
            "SELECT at, up, latency_us, http_status, error_kind, error_message FROM samples
             WHERE monitor_id = ? ORDER BY at DESC LIMIT ?",
        )
        .bind(monitor.as_str())
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(last_sample).collect()
    }

    async fn create_token(&self, new: &NewToken<'_>, now: DateTime<Utc>) -> Result<i64> {
        let id = sqlx::query("INSERT INTO tokens (name, scope, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(new.name)
            .bind(new.scope.as_str())
            .bind(new.hash)
            .bind(new.prefix)
            .bind(ms(now))
            .execute(&self.pool)
            .await?
            .last_insert_rowid();
        Ok(id)
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(select_tokens!("WHERE hash = ?")).bind(hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(token_row).transpose()
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(select_tokens!("ORDER BY id")).fetch_all(&self.pool).await?;
        rows.iter().map(token_row).collect()
    }

    async fn revoke_token(&self, which: TokenRef<'_>) -> Result<Revoked> {
        let mut tx = self.pool.begin_with(WRITE).await?;
        let rows = match which {
            TokenRef::Id(id) => sqlx::query(select_tokens!("WHERE id = ?")).bind(id).fetch_all(&mut *tx).await?,
            TokenRef::NameOrPrefix(label) => {
                sqlx::query(select_tokens!("WHERE name = ?1 OR prefix = ?1 ORDER BY id"))
                    .bind(label)
                    .fetch_all(&mut *tx)
                    .await?
            }
        };
        let mut matched: Vec<TokenRecord> = rows.iter().map(token_row).collect::<Result<_>>()?;
        if matched.len() != 1 {
            // Nothing to undo: the transaction only read.
            return Ok(if matched.is_empty() { Revoked::Unknown } else { Revoked::Ambiguous(matched) });
        }
        let token = matched.remove(0);
        sqlx::query("DELETE FROM tokens WHERE id = ?").bind(token.id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Revoked::Token(token))
    }

    async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let written = sqlx::query(
            "UPDATE tokens SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?3)",
        )
        .bind(ms(now))
        .bind(id)
        .bind(ms(now - TOKEN_USE_RESOLUTION))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(written == 1)
    }

    async fn roll_up(&self, before: DateTime<Utc>) -> Result<RollUp> {
        // Whole hours only, so an hour is rolled up once and never merged with a later pass.
        let cutoff = ms(before) - ms(before).rem_euclid(3_600_000);
        let mut done = RollUp::default();
        loop {
            let first: Option<i64> = sqlx::query_scalar("SELECT MIN(at) FROM samples WHERE at < ?")
                .bind(cutoff)
                .fetch_one(&self.pool)
                .await?;
            let Some(first) = first else { break };
            let hour = first - first.rem_euclid(3_600_000);
            let mut tx = self.pool.begin_with(WRITE).await?;
            let rows = sqlx::query("SELECT monitor_id, up, latency_us FROM samples WHERE at >= ? AND at < ?")
                .bind(hour)
                .bind(hour + 3_600_000)
                .fetch_all(&mut *tx)
                .await?;
            let mut per_monitor: BTreeMap<String, (u64, u64, Vec<i64>)> = BTreeMap::new();
            for row in &rows {
                let entry = per_monitor.entry(row.try_get("monitor_id")?).or_default();
                entry.0 += 1;
                if row.try_get::<bool, _>("up")? {
                    entry.2.push(row.try_get("latency_us")?);
                } else {
                    entry.1 += 1;
                }
            }
            for (monitor, (checks, failures, mut latencies)) in per_monitor {
                latencies.sort_unstable();
                sqlx::query(
                    "INSERT INTO sample_hours (monitor_id, hour, checks, failures, latency_sum_us, latency_min_us,
                       latency_max_us, latency_p50_us, latency_p95_us, latency_p99_us)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                     ON CONFLICT (monitor_id, hour) DO NOTHING",
                )
                .bind(monitor)
                .bind(hour)
                .bind(checks as i64)
                .bind(failures as i64)
                .bind(latencies.iter().sum::<i64>())
                .bind(latencies.first().copied())
                .bind(latencies.last().copied())
                .bind(percentile(&latencies, 50.0))
                .bind(percentile(&latencies, 95.0))
                .bind(percentile(&latencies, 99.0))
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM metric_points WHERE at >= ? AND at < ?")
                .bind(hour)
                .bind(hour + 3_600_000)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query("DELETE FROM samples WHERE at >= ? AND at < ?")
                .bind(hour)
                .bind(hour + 3_600_000)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            done.hours += 1;
            done.samples_deleted += deleted;
        }
        done.pings_deleted = self.trim_pings(before).await?;
        Ok(done)
    }

    async fn hour_aggregates(&self, monitor: &MonitorId) -> Result<Vec<HourAggregate>> {
        let rows = sqlx::query("SELECT * FROM sample_hours WHERE monitor_id = ? ORDER BY hour")
            .bind(monitor.as_str())
            .fetch_all(&self.pool)
            .await?;
        let opt = |row: &sqlx::sqlite::SqliteRow, col: &str| -> Result<Option<Duration>> {
            Ok(row.try_get::<Option<i64>, _>(col)?.map(from_us))
        };
        rows.iter()
            .map(|row| {
                Ok(HourAggregate {
                    monitor: monitor.clone(),
                    hour: time(row.try_get("hour")?),
                    checks: row.try_get::<i64, _>("checks")? as u64,
                    failures: row.try_get::<i64, _>("failures")? as u64,
                    latency_sum: from_us(row.try_get("latency_sum_us")?),
                    latency_min: opt(row, "latency_min_us")?,
                    latency_max: opt(row, "latency_max_us")?,
                    latency_p50: opt(row, "latency_p50_us")?,
                    latency_p95: opt(row, "latency_p95_us")?,
                    latency_p99: opt(row, "latency_p99_us")?,
                })
            })
            .collect()
    }
    async fn latency_series(
        &self,
        monitor: &MonitorId,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<LatencyPoint>> {
        let width = (bucket.as_millis() as i64).max(1);
        let from = ms(since);
        // (bucket index, sum of latencies in µs, good checks) from raw samples and rolled-up hours.
        let rows = sqlx::query(
            "SELECT (at - ?1) / ?2 AS b, SUM(latency_us), COUNT(*) FROM samples
               WHERE monitor_id = ?3 AND at >= ?1 AND up = 1 GROUP BY b
             UNION ALL
             SELECT (hour - ?1) / ?2 AS b, SUM(latency_sum_us), SUM(checks - failures) FROM sample_hours
               WHERE monitor_id = ?3 AND hour >= ?1 AND checks > failures GROUP BY b",
        )
        .bind(from)
        .bind(width)
        .bind(monitor.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut buckets: std::collections::BTreeMap<i64, (i64, i64)> = std::collections::BTreeMap::new();
        for row in &rows {
            let entry = buckets.entry(row.try_get(0)?).or_default();
            entry.0 += row.try_get::<i64, _>(1)?;
            entry.1 += row.try_get::<i64, _>(2)?;
        }
        Ok(buckets
            .into_iter()
            .filter(|(_, (_, checks))| *checks > 0)
            .map(|(b, (sum, checks))| LatencyPoint {
                start: time(from + b * width),
                average: from_us(sum / checks),
                checks: checks as u64,
            })
            .collect())
    }

    async fn create_incident(
        &self,
        new: &NewIncident,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<Created> {
        let mut tx = self.pool.begin_with(WRITE).await?;
        if let Some(key) = key {
            let seen =
                sqlx::query("SELECT request_hash, incident_id FROM idempotency_keys WHERE token_id = ? AND key = ?")
                    .bind(key.token_id)
                    .bind(&key.key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(row) = seen {
                let (hash, id): (String, i64) = (row.try_get("request_hash")?, row.try_get("incident_id")?);
                drop(tx);
                if hash != key.request_hash {
                    return Ok(Created::KeyReused);
                }
                let incident = self
                    .incident(id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt(format!("incident {id} of an idempotency key")))?;
                return Ok(Created::Replayed(incident));
            }
        }
        let resolved_at = (new.status == IncidentStatus::Resolved).then_some(ms(new.started_at));
        let id = sqlx::query(
            "INSERT INTO incidents (title, impact, status, components, started_at, resolved_at, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&new.title)
        .bind(new.impact.as_str())
        .bind(new.status.as_str())
        .bind(components_json(&new.components)?)
        .bind(ms(new.started_at))
        .bind(resolved_at)
        .bind(ms(now))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        let update = NewUpdate {
            status: new.status,
            body: new.message.clone(),
            components: new.components.clone(),
            created_at: new.started_at,
        };
        insert_update(&mut tx, id, &update).await?;
        if let Some(key) = key {
            sqlx::query("INSERT INTO idempotency_keys (token_id, key, request_hash, incident_id, created_at) VALUES (?, ?, ?, ?, ?)")
                .bind(key.token_id)
                .bind(&key.key)
                .bind(&key.request_hash)
                .bind(id)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let incident =
            self.incident(id).await?.ok_or_else(|| StoreError::Corrupt(format!("incident {id} vanished")))?;
        Ok(Created::New(incident))
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>> {
        let row = sqlx::query("SELECT * FROM incidents WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        match row {
            Some(row) => {
                let mut incident = incident_row(&row)?;
                incident.updates = self.updates_of(&[id]).await?.remove(&id).unwrap_or_default();
                Ok(Some(incident))
            }
            None => Ok(None),
        }
    }

    async fn incidents(&self, limit: usize, open_only: bool) -> Result<Vec<Incident>> {
        let sql = if open_only {
            "SELECT * FROM incidents WHERE status != 'resolved' ORDER BY started_at DESC, id DESC LIMIT ?"
        } else {
            "SELECT * FROM incidents ORDER BY started_at DESC, id DESC LIMIT ?"
        };
        let rows = sqlx::query(sql).bind(limit as i64).fetch_all(&self.pool).await?;
        let mut incidents = rows.iter().map(incident_row).collect::<Result<Vec<_>>>()?;
        let ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
        let mut updates = self.updates_of(&ids).await?;
        for incident in &mut incidents {
            incident.updates = updates.remove(&incident.id).unwrap_or_default();
        }
        Ok(incidents)
    }

    async fn add_update(&self, incident: i64, update: &NewUpdate, now: DateTime<Utc>) -> Result<Option<Incident>> {
        let mut tx = self.pool.begin_with(WRITE).await?;
        let Some(row) = sqlx::query("SELECT components, resolved_at FROM incidents WHERE id = ?")
            .bind(incident)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let mut components: ComponentStatuses = parse_components(&row.try_get::<String, _>("components")?)?;
        components.extend(update.components.clone());
        let resolved_at: Option<i64> = if update.status == IncidentStatus::Resolved {
            Some(row.try_get::<Option<i64>, _>("resolved_at")?.unwrap_or(ms(update.created_at)))
        } else {
            None
        };
        sqlx::query("UPDATE incidents SET status = ?, components = ?, resolved_at = ?, updated_at = ? WHERE id = ?")
            .bind(update.status.as_str())
            .bind(components_json(&components)?)
            .bind(resolved_at)
            .bind(ms(now))
            .bind(incident)
            .execute(&mut *tx)
            .await?;
        insert_update(&mut tx, incident, update).await?;
        tx.commit().await?;
        self.incident(incident).await
    }

    async fn edit_incident(
        &self,
        incident: i64,
        title: Option<&str>,
        impact: Option<Impact>,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>> {
        let done = sqlx::query(
            "UPDATE incidents SET title = COALESCE(?, title), impact = COALESCE(?, impact), updated_at = ? WHERE id = ?",
        )
        .bind(title)
        .bind(impact.map(Impact::as_str))
        .bind(ms(now))
        .bind(incident)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 { Ok(None) } else { self.incident(incident).await }
    }

    async fn edit_update(
        &self,
        incident: i64,
        update: i64,
        edit: &UpdateEdit,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>> {
        let mut tx = self.pool.begin_with(WRITE).await?;
        if !audit(&mut tx, incident, update, "edit", actor, now).await? {
            return Ok(None);
        }
        sqlx::query(
            "UPDATE incident_updates SET status = COALESCE(?, status), body = COALESCE(?, body),
               created_at = COALESCE(?, created_at) WHERE id = ?",
        )
        .bind(edit.status.map(IncidentStatus::as_str))
        .bind(edit.body.as_deref())
        .bind(edit.created_at.map(ms))
        .bind(update)
        .execute(&mut *tx)
        .await?;
        touch_incident(&mut tx, incident, now).await?;
        tx.commit().await?;
        self.incident(incident).await
    }

    async fn delete_update(
        &self,
        incident: i64,
        update: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>> {
        let mut tx = self.pool.begin_with(WRITE).await?;
        if !audit(&mut tx, incident, update, "delete", actor, now).await? {
            return Ok(None);
        }
        sqlx::query("UPDATE incident_updates SET deleted_at = ? WHERE id = ?")
            .bind(ms(now))
            .bind(update)
            .execute(&mut *tx)
            .await?;
        touch_incident(&mut tx, incident, now).await?;
        tx.commit().await?;
        self.incident(incident).await
    }
    async fn set_postmortem(
        &self,
        incident: i64,
        body: &str,
        published_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>> {
        let done = sqlx::query(
            "UPDATE incidents SET postmortem_body = ?, postmortem_published_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(body)
        .bind(ms(published_at))
        .bind(ms(now))
        .bind(incident)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 { Ok(None) } else { self.incident(incident).await }
    }

    async fn create_maintenance(&self, new: &NewMaintenance, now: DateTime<Utc>) -> Result<Maintenance> {
        let mut tx = self.pool.begin_with(WRITE).await?;
        let id = sqlx::query(
            "INSERT INTO maintenances (title, scheduled_for, scheduled_until, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&new.title)
        .bind(ms(new.scheduled_for))
        .bind(ms(new.scheduled_until))
        .bind(ms(now))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        for component in &new.components {
            sqlx::query("INSERT OR IGNORE INTO maintenance_components (maintenance_id, component) VALUES (?, ?)")
                .bind(id)
                .bind(component)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("INSERT INTO maintenance_updates (maintenance_id, created_at, body) VALUES (?, ?, ?)")
            .bind(id)
            .bind(ms(now))
            .bind(&new.message)
            .execute(&mut *tx)
            .await?;
        // Announced to subscribers as it is scheduled.
        sqlx::query(
            "INSERT INTO events (at, kind, maintenance_id, dedup_key) VALUES (?, 'maintenance_scheduled', ?, ?)",
        )
        .bind(ms(now))
        .bind(id)
        .bind(format!("maintenance:{id}:maintenance_scheduled"))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.maintenance(id).await?.ok_or_else(|| StoreError::Corrupt(format!("maintenance {id} vanished")))
    }

    async fn maintenance(&self, id: i64) -> Result<Option<Maintenance>> {
        let row = sqlx::query("SELECT * FROM maintenances WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        match row {
            Some(row) => Ok(Some(self.maintenance_row(&row).await?)),
            None => Ok(None),
        }
    }

    async fn maintenances(&self, limit: usize, ending_after: Option<DateTime<Utc>>) -> Result<Vec<Maintenance>> {
        let rows = sqlx::query(
            "SELECT * FROM maintenances WHERE scheduled_until > ? ORDER BY scheduled_for DESC, id DESC LIMIT ?",
        )
        .bind(ending_after.map_or(i64::MIN, ms))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.maintenance_row(row).await?);
        }
        Ok(out)
    }

    async fn add_maintenance_update(&self, id: i64, body: &str, at: DateTime<Utc>) -> Result<Option<Maintenance>> {
        if self.maintenance(id).await?.is_none() {
            return Ok(None);
        }
        sqlx::query("INSERT INTO maintenance_updates (maintenance_id, created_at, body) VALUES (?, ?, ?)")
            .bind(id)
            .bind(ms(at))
            .bind(body)
            .execute(&self.pool)
            .await?;
        self.maintenance(id).await
    }

    async fn change_maintenance_update(
        &self,
        id: i64,
        update: i64,
        body: Option<&str>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Maintenance>> {
        let mut tx = self.pool.begin_with(WRITE).await?;
        let audited = sqlx::query(
            "INSERT INTO maintenance_update_audit (update_id, action, old_body, actor, at)
             SELECT id, ?, body, ?, ? FROM maintenance_updates WHERE id = ? AND maintenance_id = ? AND deleted_at IS NULL",
        )
        .bind(if body.is_some() { "edit" } else { "delete" })
        .bind(actor)
        .bind(ms(now))
        .bind(update)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if audited.rows_affected() == 0 {
            return Ok(None);
        }
        match body {
            Some(body) => sqlx::query("UPDATE maintenance_updates SET body = ? WHERE id = ?").bind(body),
            None => sqlx::query("UPDATE maintenance_updates SET deleted_at = ? WHERE id = ?").bind(ms(now)),
        }
        .bind(update)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.maintenance(id).await
    }

    async fn edit_maintenance(
        &self,
        id: i64,
        title: Option<&str>,
        scheduled_for: Option<DateTime<Utc>>,
        scheduled_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Maintenance>> {
        let done = sqlx::query(
            "UPDATE maintenances SET title = COALESCE(?, title), scheduled_for = COALESCE(?, scheduled_for),
               scheduled_until = COALESCE(?, scheduled_until), updated_at = ? WHERE id = ?",
        )
        .bind(title)
        .bind(scheduled_for.map(ms))
        .bind(scheduled_until.map(ms))
        .bind(ms(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 { Ok(None) } else { self.maintenance(id).await }
    }
}

impl SqliteStore {
    async fn maintenance_row(&self, row: &sqlx::sqlite::SqliteRow) -> Result<Maintenance> {
        let id: i64 = row.try_get("id")?;
        let components: Vec<String> = sqlx::query_scalar(
            "SELECT component FROM maintenance_components WHERE maintenance_id = ? ORDER BY component",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let updates = sqlx::query(
            "SELECT id, created_at, body FROM maintenance_updates WHERE maintenance_id = ? AND deleted_at IS NULL
             ORDER BY created_at DESC, id DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|u| {
            Ok(MaintenanceUpdate {
                id: u.try_get("id")?,
                created_at: time(u.try_get("created_at")?),
                body: u.try_get("body")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(Maintenance {
            id,
            title: row.try_get("title")?,
            scheduled_for: time(row.try_get("scheduled_for")?),
            scheduled_until: time(row.try_get("scheduled_until")?),
            components,
            created_at: time(row.try_get("created_at")?),
            updates,
        })
    }
}

impl SqliteStore {
    /// The live (not deleted) updates of these incidents, newest first.
    async fn updates_of(&self, ids: &[i64]) -> Result<BTreeMap<i64, Vec<IncidentUpdate>>> {
        let mut out: BTreeMap<i64, Vec<IncidentUpdate>> = BTreeMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut q =
            QueryBuilder::<Sqlite>::new("SELECT * FROM incident_updates WHERE deleted_at IS NULL AND incident_id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        q.push(") ORDER BY created_at DESC, id DESC");
        for row in q.build().fetch_all(&self.pool).await? {
            let update = IncidentUpdate {
                id: row.try_get("id")?,
                incident_id: row.try_get("incident_id")?,
                created_at: time(row.try_get("created_at")?),
                status: parse_status(&row.try_get::<String, _>("status")?)?,
                body: row.try_get("body")?,
                components: parse_components(&row.try_get::<String, _>("components")?)?,
                guid_hash: row.try_get("guid_hash")?,
            };
            out.entry(update.incident_id).or_default().push(update);
        }
        Ok(out)
    }
}

fn components_json(components: &ComponentStatuses) -> Result<String> {
    serde_json::to_string(components).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse_components(json: &str) -> Result<ComponentStatuses> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("component statuses: {e}")))
}

fn parse_status(text: &str) -> Result<IncidentStatus> {
    IncidentStatus::parse(text).ok_or_else(|| StoreError::Corrupt(format!("incident status `{text}`")))
}

fn incident_row(row: &sqlx::sqlite::SqliteRow) -> Result<Incident> {
    let impact: String = row.try_get("impact")?;
    Ok(Incident {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        impact: Impact::parse(&impact).ok_or_else(|| StoreError::Corrupt(format!("impact `{impact}`")))?,
        status: parse_status(&row.try_get::<String, _>("status")?)?,
        components: parse_components(&row.try_get::<String, _>("components")?)?,
        started_at: time(row.try_get("started_at")?),
        resolved_at: row.try_get::<Option<i64>, _>("resolved_at")?.map(time),
        created_at: time(row.try_get("created_at")?),
        updated_at: time(row.try_get("updated_at")?),
        updates: Vec::new(),
        postmortem: match (
            row.try_get::<Option<String>, _>("postmortem_body")?,
            row.try_get::<Option<i64>, _>("postmortem_published_at")?,
        ) {
            (Some(body), Some(at)) => Some(Postmortem { body, published_at: time(at) }),
            _ => None,
        },
    })
}

/// Marks the incident changed, so its page is rendered again.
async fn touch_incident(tx: &mut sqlx::Transaction<'_, Sqlite>, incident: i64, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE incidents SET updated_at = ? WHERE id = ?")
        .bind(ms(now))
        .bind(incident)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts an update, its guid and its event.
async fn insert_update(tx: &mut sqlx::Transaction<'_, Sqlite>, incident: i64, update: &NewUpdate) -> Result<i64> {
    // The guid derives from the row id, which exists only after the insert: insert with a
    // placeholder that is unique too, then set the real one.
    let placeholder = format!("pending-{incident}-{}", ms(update.created_at));
    let id = insert_update_with_guid(tx, incident, update, &placeholder).await?.ok_or_else(|| {
        StoreError::Corrupt(format!("a pending update of incident {incident} at {} exists", update.created_at))
    })?;
    sqlx::query("UPDATE incident_updates SET guid_hash = ? WHERE id = ?")
        .bind(incident_model::update_guid_hash(incident, id))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Inserts an update with a given guid hash, and its event; `None` when that guid is stored.
async fn insert_update_with_guid(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    incident: i64,
    update: &NewUpdate,
    guid_hash: &str,
) -> Result<Option<i64>> {
    let done = sqlx::query(
        "INSERT INTO incident_updates (incident_id, created_at, status, body, components, guid_hash) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (guid_hash) DO NOTHING",
    )
    .bind(incident)
    .bind(ms(update.created_at))
    .bind(update.status.as_str())
    .bind(&update.body)
    .bind(components_json(&update.components)?)
    .bind(guid_hash)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let id = done.last_insert_rowid();
    sqlx::query(
        "INSERT INTO events (at, kind, incident_id, update_id, dedup_key) VALUES (?, 'incident_update', ?, ?, ?)",
    )
    .bind(ms(update.created_at))
    .bind(incident)
    .bind(id)
    .bind(format!("incident_update:{id}"))
    .execute(&mut **tx)
    .await?;
    Ok(Some(id))
}

/// Records what an update was before an edit or a deletion; false when there is no such update.
async fn audit(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    incident: i64,
    update: i64,
    action: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO incident_update_audit (update_id, action, old_status, old_body, old_created_at, actor, at)
         SELECT id, ?, status, body, created_at, ?, ? FROM incident_updates
         WHERE id = ? AND incident_id = ? AND deleted_at IS NULL",
    )
    .bind(action)
    .bind(actor)
    .bind(ms(now))
    .bind(update)
    .bind(incident)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When a batch happened, for rows that want a creation time: its first ping's.
fn batch_now(batch: &Batch) -> i64 {
    batch.pings.first().map_or(0, |p| ms(p.at))
}

/// Appends pings to the log (many rows per statement) and counts them on their monitors.
async fn write_pings(tx: &mut sqlx::Transaction<'_, Sqlite>, pings: &[Ping]) -> Result<()> {
    for chunk in pings.chunks(PING_ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO pings (monitor_id, at, kind, exit_status, rid, method, remote, user_agent, body, truncated, duration_ms) ",
        );
        insert.push_values(chunk, |mut row, p: &Ping| {
            row.push_bind(p.monitor.as_str().to_owned())
                .push_bind(ms(p.at))
                .push_bind(p.kind.as_str())
                .push_bind(p.exit_status.map(i64::from))
                .push_bind(p.rid.clone())
                .push_bind(p.method.clone())
                .push_bind(p.remote.clone())
                .push_bind(p.user_agent.clone())
                .push_bind(p.body.clone())
                .push_bind(p.truncated)
                .push_bind(p.duration.map(|d| d.as_millis() as i64));
        });
        insert.build().execute(&mut **tx).await?;
    }
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for p in pings {
        *counts.entry(p.monitor.as_str()).or_default() += 1;
    }
    let counts: Vec<(&str, i64)> = counts.into_iter().collect();
    for chunk in counts.chunks(1_000) {
        let mut update =
            QueryBuilder::<Sqlite>::new("UPDATE monitors SET pings_total = pings_total + v.column2 FROM (");
        update.push_values(chunk, |mut row, (monitor, n)| {
            row.push_bind(monitor.to_string()).push_bind(*n);
        });
        update.push(") AS v WHERE monitors.id = v.column1");
        update.build().execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    kind: &str,
    monitor: &MonitorId,
    outage: &OutageId,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (at, kind, monitor_id, outage_id, dedup_key) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(ms(at))
    .bind(kind)
    .bind(monitor.as_str())
    .bind(outage.as_str())
    .bind(event_key(kind, outage))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An outage event's dedup key: replaying the transition inserts nothing.
fn event_key(kind: &str, outage: &OutageId) -> String {
    format!("{kind}:{outage}")
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 95.0), Some(95));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
