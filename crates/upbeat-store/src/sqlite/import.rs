//! Imports and the history behind uptime figures.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, Transaction};
use upbeat_core::import::{ImportSet, ImportSummary, ImportedIncident, ImportedMaintenance, ImportedOutage};
use upbeat_core::incident::IncidentStatus;
use upbeat_core::uptime::{History, Span};
use upbeat_core::{MonitorId, OutageId};

use super::{INSERT_OUTAGE, components_json, event_key, insert_update_with_guid, monitor_id, ms, time};
use crate::{MonitorRecord, NewUpdate, Result, StoreError};

/// How often `progress` hears of an import.
const PROGRESS_EVERY: usize = 1_000;

/// Active monitors, or the one with this id.
pub(super) async fn monitor_records(pool: &SqlitePool, only: Option<&MonitorId>) -> Result<Vec<MonitorRecord>> {
    let rows = sqlx::query(
        "SELECT id, name, kind, target, component, public, interval_ms, ping_uuid FROM monitors
         WHERE active = 1 AND (? IS NULL OR id = ?) ORDER BY id",
    )
    .bind(only.map(MonitorId::as_str))
    .bind(only.map(MonitorId::as_str))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MonitorRecord {
                id: monitor_id(row.try_get("id")?)?,
                name: row.try_get("name")?,
                kind: row.try_get("kind")?,
                target: row.try_get("target")?,
                component: row.try_get("component")?,
                public: row.try_get("public")?,
                interval: Duration::from_millis(row.try_get::<i64, _>("interval_ms")?.max(0) as u64),
                ping_uuid: row.try_get("ping_uuid")?,
            })
        })
        .collect()
}

/// A gap between samples longer than this is time without data.
fn longest_gap(interval: Duration) -> chrono::Duration {
    let interval = chrono::Duration::from_std(interval).unwrap_or_default();
    if interval <= chrono::Duration::zero() {
        chrono::Duration::minutes(2)
    } else {
        (interval * 2).max(interval + chrono::Duration::seconds(10))
    }
}

pub(super) async fn history(
    pool: &SqlitePool,
    monitor: &MonitorId,
    window: Span,
    now: DateTime<Utc>,
) -> Result<Option<History>> {
    let Some(row) = sqlx::query("SELECT component, interval_ms FROM monitors WHERE id = ?")
        .bind(monitor.as_str())
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let component: Option<String> = row.try_get("component")?;
    let interval = Duration::from_millis(row.try_get::<i64, _>("interval_ms")?.max(0) as u64);
    let (from, to) = (ms(window.start), ms(window.end));
    let spans = |rows: Vec<sqlx::sqlite::SqliteRow>| -> Result<Vec<Span>> {
        rows.iter().map(|r| Ok(Span::new(time(r.try_get(0)?), time(r.try_get(1)?)))).collect()
    };

    let outages = spans(
        sqlx::query(
            "SELECT started_at, COALESCE(ended_at, ?) FROM outages
             WHERE monitor_id = ? AND started_at < ? AND (ended_at IS NULL OR ended_at > ?)",
        )
        .bind(ms(now))
        .bind(monitor.as_str())
        .bind(to)
        .bind(from)
        .fetch_all(pool)
        .await?,
    )?;
    let maintenance = match &component {
        Some(component) => spans(
            sqlx::query(
                "SELECT mt.scheduled_for, mt.scheduled_until FROM maintenances mt
                 JOIN maintenance_components mc ON mc.maintenance_id = mt.id
                 WHERE mc.component = ? AND mt.scheduled_for < ? AND mt.scheduled_until > ?",
            )
            .bind(component)
            .bind(to)
            .bind(from)
            .fetch_all(pool)
            .await?,
        )?,
        None => Vec::new(),
    };
    let mut watched = spans(
        sqlx::query("SELECT start_at, end_at FROM coverage WHERE monitor_id = ? AND start_at < ? AND end_at > ?")
            .bind(monitor.as_str())
            .bind(to)
            .bind(from)
            .fetch_all(pool)
            .await?,
    )?;
    // Rolled-up hours count as watched whole.
    let hour = 3_600_000i64;
    for row in
        sqlx::query("SELECT hour FROM sample_hours WHERE monitor_id = ? AND hour < ? AND hour + ? > ? AND checks > 0")
            .bind(monitor.as_str())
            .bind(to)
            .bind(hour)
            .bind(from)
            .fetch_all(pool)
            .await?
    {
        let start: i64 = row.try_get(0)?;
        watched.push(Span::new(time(start), time(start + hour)));
    }
    // Runs of samples no further apart than the longest gap; each sample speaks for one interval.
    // SQLite finds the gaps, so only a run's edges cross over, not every sample.
    let gap = longest_gap(interval);
    let step = chrono::Duration::from_std(interval).unwrap_or_default();
    let lower = from - gap.num_milliseconds();
    let starts = sqlx::query(
        "SELECT prev, at FROM (
           SELECT at, LAG(at) OVER (ORDER BY at) AS prev FROM samples WHERE monitor_id = ? AND at >= ? AND at < ?
         ) WHERE prev IS NULL OR at - prev > ? ORDER BY at",
    )
    .bind(monitor.as_str())
    .bind(lower)
    .bind(to)
    .bind(gap.num_milliseconds())
    .fetch_all(pool)
    .await?;
    let last: Option<i64> = sqlx::query("SELECT MAX(at) FROM samples WHERE monitor_id = ? AND at >= ? AND at < ?")
        .bind(monitor.as_str())
        .bind(lower)
        .bind(to)
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    let mut run_start: Option<i64> = None;
    for row in &starts {
        let (prev, at): (Option<i64>, i64) = (row.try_get(0)?, row.try_get(1)?);
        if let (Some(start), Some(end)) = (run_start, prev) {
            watched.push(Span::new(time(start), (time(end) + step).min(now)));
        }
        run_start = Some(at);
    }
    if let (Some(start), Some(end)) = (run_start, last) {
        watched.push(Span::new(time(start), (time(end) + step).min(now)));
    }
    Ok(Some(History { outages, maintenance, watched }))
}

/// Counts what an import writes and tells `progress` now and then.
struct Tally<'a> {
    summary: ImportSummary,
    done: usize,
    progress: &'a (dyn Fn(usize) + Send + Sync),
}

impl Tally<'_> {
    fn step(&mut self) {
        self.done += 1;
        if self.done.is_multiple_of(PROGRESS_EVERY) {
            (self.progress)(self.done);
        }
    }
}

pub(super) async fn import(
    pool: &SqlitePool,
    set: &ImportSet,
    dry_run: bool,
    progress: &(dyn Fn(usize) + Send + Sync),
    now: DateTime<Utc>,
) -> Result<ImportSummary> {
    let mut tx = pool.begin_with(super::WRITE).await?;
    let mut tally =
        Tally { summary: ImportSummary { duplicates: set.duplicates, ..Default::default() }, done: 0, progress };
    for m in &set.monitors {
        let done = sqlx::query(
            "INSERT INTO monitors (id, name, kind, target, component, public, interval_ms, active, origin, created_at, updated_at)
             VALUES (?, ?, 'imported', '', NULL, 1, 0, 1, 'import', ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(m.id.as_str())
        .bind(&m.name)
        .bind(ms(now))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tally.summary.monitors += done.rows_affected() as usize;
        if let Some((start, end)) = set.window {
            sqlx::query("INSERT OR IGNORE INTO coverage (monitor_id, start_at, end_at) VALUES (?, ?, ?)")
                .bind(m.id.as_str())
                .bind(ms(start))
                .bind(ms(end))
                .execute(&mut *tx)
                .await?;
        }
        tally.step();
    }
    for outage in &set.outages {
        import_outage(&mut tx, outage, &mut tally).await?;
    }
    for incident in &set.incidents {
        import_incident(&mut tx, incident, &mut tally, now).await?;
    }
    for window in &set.maintenances {
        import_maintenance(&mut tx, window, &mut tally, now).await?;
    }
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    (progress)(tally.done);
    Ok(tally.summary)
}

async fn import_outage(tx: &mut Transaction<'_, Sqlite>, o: &ImportedOutage, tally: &mut Tally<'_>) -> Result<()> {
    tally.step();
    // The common case, a new outage, is one insert for the outage and one for its events.
    let inserted = sqlx::query(INSERT_OUTAGE)
        .bind(o.id.as_str())
        .bind(o.monitor.as_str())
        .bind(ms(o.started_at))
        .bind(o.ended_at.map(ms))
        .bind("imported")
        .bind(o.monitor.as_str())
        .bind(ms(o.started_at))
        .bind(ms(o.started_at))
        .execute(&mut **tx)
        .await?
        .rows_affected()
        == 1;
    if inserted {
        let mut events = vec![("outage_opened", o.started_at)];
        events.extend(o.ended_at.map(|end| ("outage_closed", end)));
        insert_events(tx, &o.monitor, &o.id, &events).await?;
        tally.summary.outages += 1;
        return Ok(());
    }
    let row = sqlx::query("SELECT monitor_id, ended_at FROM outages WHERE id = ?")
        .bind(o.id.as_str())
        .fetch_one(&mut **tx)
        .await?;
    let monitor: String = row.try_get("monitor_id")?;
    if monitor != o.monitor.as_str() {
        return Err(StoreError::Conflict(format!(
            "outage {} is stored for monitor `{monitor}`, not `{}`",
            o.id, o.monitor
        )));
    }
    let ended: Option<i64> = row.try_get("ended_at")?;
    match (ended, o.ended_at) {
        (None, Some(end)) => {
            sqlx::query("UPDATE outages SET ended_at = ? WHERE id = ?")
                .bind(ms(end))
                .bind(o.id.as_str())
                .execute(&mut **tx)
                .await?;
            insert_events(tx, &o.monitor, &o.id, &[("outage_closed", end)]).await?;
            tally.summary.outages += 1;
        }
        _ => tally.summary.duplicates += 1,
    }
    Ok(())
}

/// An outage's events in one statement; replaying one is a no-op, as for the engine's.
async fn insert_events(
    tx: &mut Transaction<'_, Sqlite>,
    monitor: &MonitorId,
    outage: &OutageId,
    events: &[(&str, DateTime<Utc>)],
) -> Result<()> {
    let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO events (at, kind, monitor_id, outage_id, dedup_key) ");
    insert.push_values(events, |mut row, (kind, at)| {
        row.push_bind(ms(*at))
            .push_bind(kind.to_string())
            .push_bind(monitor.as_str().to_owned())
            .push_bind(outage.as_str().to_owned())
            .push_bind(event_key(kind, outage));
    });
    insert.push(" ON CONFLICT (dedup_key) DO NOTHING");
    insert.build().execute(&mut **tx).await?;
    Ok(())
}

/// The id a query for one key finds, if any.
async fn id_of(tx: &mut Transaction<'_, Sqlite>, sql: &'static str, key: &str) -> Result<Option<i64>> {
    let row = sqlx::query(sql).bind(key).fetch_optional(&mut **tx).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

async fn import_incident(
    tx: &mut Transaction<'_, Sqlite>,
    i: &ImportedIncident,
    tally: &mut Tally<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    tally.step();
    let stored = id_of(tx, "SELECT id FROM incidents WHERE source_key = ?", &i.key).await?;
    let id = match stored {
        Some(id) => id,
        None => {
            if let Some(id) = i.id {
                let taken =
                    sqlx::query("SELECT 1 FROM incidents WHERE id = ?").bind(id).fetch_optional(&mut **tx).await?;
                if taken.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "incident {id} already exists here and was not imported from this source ({}); nothing was imported",
                        i.key
                    )));
                }
            }
            tally.summary.incidents += 1;
            sqlx::query(
                "INSERT INTO incidents (id, title, impact, status, components, started_at, resolved_at, created_at, updated_at, source_key)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(i.id)
            .bind(&i.title)
            .bind(i.impact.as_str())
            .bind(i.status.as_str())
            .bind(components_json(&i.components)?)
            .bind(ms(i.started_at))
            .bind(i.resolved_at.map(ms))
            .bind(ms(now))
            .bind(ms(now))
            .bind(&i.key)
            .execute(&mut **tx)
            .await?
            .last_insert_rowid()
        }
    };
    let mut added = 0;
    for u in &i.updates {
        tally.step();
        let update =
            NewUpdate { status: u.status, body: u.body.clone(), components: Default::default(), created_at: u.at };
        match insert_update_with_guid(tx, id, &update, &u.guid_hash).await? {
            Some(_) => added += 1,
            None => tally.summary.duplicates += 1,
        }
    }
    tally.summary.updates += added;
    if added > 0 && stored.is_some() {
        // A newer export of a known incident: what it says now is where the incident stands.
        sqlx::query(
            "UPDATE incidents SET title = ?, status = ?, components = ?, resolved_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(&i.title)
        .bind(i.status.as_str())
        .bind(components_json(&i.components)?)
        .bind(if i.status == IncidentStatus::Resolved { i.resolved_at.map(ms) } else { None })
        .bind(ms(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    if let Some(pm) = &i.postmortem {
        sqlx::query(
            "UPDATE incidents SET postmortem_body = ?, postmortem_published_at = ?, updated_at = ?
             WHERE id = ? AND postmortem_body IS NULL",
        )
        .bind(&pm.body)
        .bind(ms(pm.published_at))
        .bind(ms(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn import_maintenance(
    tx: &mut Transaction<'_, Sqlite>,
    m: &ImportedMaintenance,
    tally: &mut Tally<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    tally.step();
    let stored = id_of(tx, "SELECT id FROM maintenances WHERE source_key = ?", &m.key).await?;
    let id = match stored {
        Some(id) => id,
        None => {
            tally.summary.maintenances += 1;
            let id = sqlx::query(
                "INSERT INTO maintenances (title, scheduled_for, scheduled_until, created_at, updated_at, source_key)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&m.title)
            .bind(ms(m.scheduled_for))
            .bind(ms(m.scheduled_until))
            .bind(ms(now))
            .bind(ms(now))
            .bind(&m.key)
            .execute(&mut **tx)
            .await?
            .last_insert_rowid();
            for component in &m.components {
                sqlx::query("INSERT OR IGNORE INTO maintenance_components (maintenance_id, component) VALUES (?, ?)")
                    .bind(id)
                    .bind(component)
                    .execute(&mut **tx)
                    .await?;
            }
            id
        }
    };
    for (at, body) in &m.updates {
        tally.step();
        let done = sqlx::query(
            "INSERT INTO maintenance_updates (maintenance_id, created_at, body)
             SELECT ?, ?, ? WHERE NOT EXISTS (
               SELECT 1 FROM maintenance_updates WHERE maintenance_id = ? AND created_at = ? AND body = ?)",
        )
        .bind(id)
        .bind(ms(*at))
        .bind(body)
        .bind(id)
        .bind(ms(*at))
        .bind(body)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 1 {
            tally.summary.updates += 1;
        } else {
            tally.summary.duplicates += 1;
        }
    }
    Ok(())
}
