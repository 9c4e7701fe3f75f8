//! The outbox on SQLite: deliveries derived from the event log, claimed with leases.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::{monitor_id, ms, time};
use crate::{Attempt, Delivery, EventRow, NewDelivery, OutboxStats, Result};

/// Four columns a row: well under SQLite's 32,766 bound parameters.
const ROWS_PER_INSERT: usize = 2_000;

pub(super) async fn events_after(pool: &SqlitePool, seq: i64, limit: usize) -> Result<Vec<EventRow>> {
    let rows = sqlx::query(
        "SELECT e.seq, e.at, e.kind, e.monitor_id, e.outage_id, e.incident_id, e.update_id, e.maintenance_id,
                e.subscriber_id,
                COALESCE(m.origin = 'import', 0) OR i.source_key IS NOT NULL OR mt.source_key IS NOT NULL AS imported
         FROM events e LEFT JOIN monitors m ON m.id = e.monitor_id
           LEFT JOIN incidents i ON i.id = e.incident_id LEFT JOIN maintenances mt ON mt.id = e.maintenance_id
         WHERE e.seq > ? ORDER BY e.seq LIMIT ?",
    )
    .bind(seq)
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(EventRow {
                seq: row.try_get("seq")?,
                at: time(row.try_get("at")?),
                kind: row.try_get("kind")?,
                monitor: row.try_get::<Option<String>, _>("monitor_id")?.map(monitor_id).transpose()?,
                outage: row.try_get("outage_id")?,
                incident: row.try_get("incident_id")?,
                update: row.try_get("update_id")?,
                maintenance: row.try_get("maintenance_id")?,
                subscriber: row.try_get("subscriber_id")?,
                imported: row.try_get("imported")?,
            })
        })
        .collect()
}

pub(super) async fn cursor(pool: &SqlitePool, name: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT seq FROM outbox_cursors WHERE name = ?").bind(name).fetch_optional(pool).await?)
}

pub(super) async fn enqueue(
    pool: &SqlitePool,
    name: &str,
    seq: i64,
    deliveries: &[NewDelivery],
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut tx = pool.begin_with(super::WRITE).await?;
    let mut added = 0;
    for chunk in deliveries.chunks(ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO deliveries (key, event_seq, recipient, next_attempt_at, created_at) ",
        );
        insert.push_values(chunk, |mut row, d| {
            row.push_bind(d.key())
                .push_bind(d.event_seq)
                .push_bind(d.recipient.clone())
                .push_bind(ms(d.not_before))
                .push_bind(ms(now.max(d.not_before)));
        });
        insert.push(" ON CONFLICT (key) DO NOTHING");
        added += insert.build().execute(&mut *tx).await?.rows_affected() as usize;
    }
    sqlx::query("INSERT INTO outbox_cursors (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = MAX(seq, excluded.seq)")
        .bind(name)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(added)
}

const COLUMNS: &str =
    "id, key, event_seq, recipient, status, attempts, next_attempt_at, last_error, created_at, sent_at";

fn delivery(row: &sqlx::sqlite::SqliteRow) -> Result<Delivery> {
    Ok(Delivery {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        event_seq: row.try_get("event_seq")?,
        recipient: row.try_get("recipient")?,
        status: row.try_get("status")?,
        attempts: row.try_get::<i64, _>("attempts")?.clamp(0, i64::from(u32::MAX)) as u32,
        next_attempt_at: time(row.try_get("next_attempt_at")?),
        last_error: row.try_get("last_error")?,
        created_at: time(row.try_get("created_at")?),
        sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(time),
    })
}

pub(super) async fn claim(
    pool: &SqlitePool,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Delivery>> {
    // One statement: SQLite takes the write lock for it, so two claimers never get the same row.
    let sql = format!(
        "UPDATE deliveries SET lease_owner = ?, lease_until = ?
         WHERE id IN (SELECT id FROM deliveries
                      WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
                      ORDER BY next_attempt_at, id LIMIT ?)
         RETURNING {COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(ms(now) + lease.as_millis() as i64)
        .bind(ms(now))
        .bind(ms(now))
        .bind(limit as i64)
        .fetch_all(pool)
        .await?;
    let mut claimed = rows.iter().map(delivery).collect::<Result<Vec<_>>>()?;
    claimed.sort_by_key(|d| (d.next_attempt_at, d.id));
    Ok(claimed)
}

pub(super) async fn finish(
    pool: &SqlitePool,
    id: i64,
    owner: &str,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<bool> {
    let (status, next, error, sent) = match attempt {
        Attempt::Sent => ("sent", None, None, Some(ms(now))),
        Attempt::Retry { at, error } => ("pending", Some(ms(*at)), Some(error.as_str()), None),
        Attempt::Dead { error } => ("dead", None, Some(error.as_str()), None),
        Attempt::Cancelled { reason } => ("cancelled", None, Some(reason.as_str()), None),
    };
    let done = sqlx::query(
        "UPDATE deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = COALESCE(?, next_attempt_at),
           last_error = COALESCE(?, last_error), sent_at = ?, lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND status = 'pending'",
    )
    .bind(status)
    .bind(next)
    .bind(error)
    .bind(sent)
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

const STATS: &str = "SELECT COALESCE(SUM(status = 'pending'), 0) AS pending, COALESCE(SUM(status = 'dead'), 0) AS dead,
        COALESCE(SUM(status = 'sent'), 0) AS sent, COALESCE(SUM(status = 'cancelled'), 0) AS cancelled, MIN(CASE WHEN status = 'pending' THEN created_at END) AS oldest
     FROM deliveries";

pub(super) async fn stats(pool: &SqlitePool) -> Result<OutboxStats> {
    stats_row(&sqlx::query(STATS).fetch_one(pool).await?)
}

pub(super) async fn release(pool: &SqlitePool, owner: &str) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND status = 'pending'",
    )
    .bind(owner)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

fn stats_row(row: &sqlx::sqlite::SqliteRow) -> Result<OutboxStats> {
    Ok(OutboxStats {
        pending: row.try_get::<i64, _>("pending")?.max(0) as u64,
        dead: row.try_get::<i64, _>("dead")?.max(0) as u64,
        sent: row.try_get::<i64, _>("sent")?.max(0) as u64,
        cancelled: row.try_get::<i64, _>("cancelled")?.max(0) as u64,
        oldest_pending: row.try_get::<Option<i64>, _>("oldest")?.map(time),
    })
}

pub(super) async fn list(pool: &SqlitePool, status: &str, limit: usize) -> Result<Vec<Delivery>> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE status = ? ORDER BY id DESC LIMIT ?");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(status).bind(limit as i64).fetch_all(pool).await?;
    rows.iter().map(delivery).collect()
}
