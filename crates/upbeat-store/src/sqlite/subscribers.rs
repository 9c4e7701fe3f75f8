//! Subscribers on SQLite.

use chrono::{DateTime, Utc};
use sqlx::{Row, SqlitePool};
use upbeat_core::subscriber::{Subscriber, SubscriberKind};

use super::{WRITE, ms, time};
use crate::{CONFIRMATION_EVERY, NewSubscriber, Result, StoreError, Subscribed};

/// Addresses are compared without case (`Ann@Example.com` is `ann@example.com`); URLs as given.
fn address_key(kind: SubscriberKind, address: &str) -> String {
    match kind {
        SubscriberKind::Email => address.to_lowercase(),
        SubscriberKind::Webhook => address.to_owned(),
    }
}

fn subscriber(row: &sqlx::sqlite::SqliteRow) -> Result<Subscriber> {
    let kind: String = row.try_get("kind")?;
    let components: String = row.try_get("components")?;
    Ok(Subscriber {
        id: row.try_get("id")?,
        kind: SubscriberKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("subscriber kind `{kind}`")))?,
        address: row.try_get("address")?,
        components: serde_json::from_str(&components)
            .map_err(|e| StoreError::Corrupt(format!("subscriber components `{components}`: {e}")))?,
        created_at: time(row.try_get("created_at")?),
        confirmed_at: row.try_get::<Option<i64>, _>("confirmed_at")?.map(time),
        unsubscribed_at: row.try_get::<Option<i64>, _>("unsubscribed_at")?.map(time),
    })
}

pub(super) async fn subscribe(pool: &SqlitePool, new: &NewSubscriber, now: DateTime<Utc>) -> Result<Subscribed> {
    let key = address_key(new.kind, &new.address);
    let components = serde_json::to_string(&new.components).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut tx = pool.begin_with(WRITE).await?;
    let existing = sqlx::query("SELECT * FROM subscribers WHERE kind = ? AND address_key = ?")
        .bind(new.kind.as_str())
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
    let existing = existing
        .as_ref()
        .map(|row| Ok::<_, StoreError>((subscriber(row)?, row.try_get::<Option<i64>, _>("requested_at")?)))
        .transpose()?;
    let (id, ask) = match existing {
        // Already hearing everything it asked for: nothing changes, and nothing tells a stranger
        // who filled in the form that the address is subscribed.
        Some((s, _)) if s.is_active() => {
            tx.commit().await?;
            return Ok(Subscribed { subscriber: s, confirmation_requested: false });
        }
        Some((s, requested_at)) => {
            let recently = requested_at.is_some_and(|t| time(t) + CONFIRMATION_EVERY > now);
            let ask = !new.confirmed && !recently;
            sqlx::query(
                "UPDATE subscribers SET components = ?, unsubscribed_at = NULL, confirmed_at = ?,
                   requested_at = CASE WHEN ? THEN ? ELSE requested_at END WHERE id = ?",
            )
            .bind(&components)
            .bind(new.confirmed.then(|| ms(now)))
            .bind(ask)
            .bind(ms(now))
            .bind(s.id)
            .execute(&mut *tx)
            .await?;
            (s.id, ask)
        }
        None => {
            let id = sqlx::query(
                "INSERT INTO subscribers (kind, address, address_key, components, created_at, requested_at, confirmed_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(new.kind.as_str())
            .bind(&new.address)
            .bind(&key)
            .bind(&components)
            .bind(ms(now))
            .bind((!new.confirmed).then(|| ms(now)))
            .bind(new.confirmed.then(|| ms(now)))
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
            (id, !new.confirmed)
        }
    };
    if ask {
        sqlx::query(
            "INSERT INTO events (at, kind, subscriber_id, dedup_key) VALUES (?, 'subscription_requested', ?, ?)",
        )
        .bind(ms(now))
        .bind(id)
        .bind(format!("subscription:{id}:{}", ms(now)))
        .execute(&mut *tx)
        .await?;
    }
    let row = sqlx::query("SELECT * FROM subscribers WHERE id = ?").bind(id).fetch_one(&mut *tx).await?;
    let stored = subscriber(&row)?;
    tx.commit().await?;
    Ok(Subscribed { subscriber: stored, confirmation_requested: ask })
}

pub(super) async fn one(pool: &SqlitePool, id: i64) -> Result<Option<Subscriber>> {
    let row = sqlx::query("SELECT * FROM subscribers WHERE id = ?").bind(id).fetch_optional(pool).await?;
    row.as_ref().map(subscriber).transpose()
}

pub(super) async fn page(pool: &SqlitePool, after: i64, limit: usize, active_only: bool) -> Result<Vec<Subscriber>> {
    let sql = if active_only {
        "SELECT * FROM subscribers WHERE id > ? AND confirmed_at IS NOT NULL AND unsubscribed_at IS NULL ORDER BY id LIMIT ?"
    } else {
        "SELECT * FROM subscribers WHERE id > ? ORDER BY id LIMIT ?"
    };
    let rows = sqlx::query(sql).bind(after).bind(limit as i64).fetch_all(pool).await?;
    rows.iter().map(subscriber).collect()
}

/// Sets `confirmed_at` or `unsubscribed_at` unless it is set: the first time counts.
pub(super) async fn set_time(
    pool: &SqlitePool,
    id: i64,
    column: &str,
    now: DateTime<Utc>,
) -> Result<Option<Subscriber>> {
    let sql = match column {
        "confirmed_at" => "UPDATE subscribers SET confirmed_at = COALESCE(confirmed_at, ?) WHERE id = ?",
        _ => "UPDATE subscribers SET unsubscribed_at = COALESCE(unsubscribed_at, ?) WHERE id = ?",
    };
    sqlx::query(sql).bind(ms(now)).bind(id).execute(pool).await?;
    one(pool, id).await
}
