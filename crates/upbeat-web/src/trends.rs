//! The slow-moving part of the public view: 90 days of daily uptime and a week of response times
//! per public monitor, for the page's bars and charts and for the badges.
//!
//! Reading them costs a query or two per monitor, so [`Trends::refresh`] keeps the previous ones
//! while nothing they show has changed (no outage opened or closed, no incident or window changed,
//! the same day) and they are less than [`MAX_AGE`] old. A crowd never causes a query: the renderer
//! refreshes, handlers read what it made.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use upbeat_core::incident::Incident;
use upbeat_core::maintenance::Maintenance;
use upbeat_core::uptime::{Span, Uptime};
use upbeat_core::{MonitorId, Outage};
use upbeat_store::{LatencyPoint, OutageQuery, Store, StoreError};

use crate::MonitorView;
use crate::overview::Overview;

/// How many days the bars show.
pub const DAYS: u32 = 90;
/// The width of a response-time bucket over the last day (96 of them) and over the week (84).
pub const DAY_BUCKET: Duration = Duration::from_secs(15 * 60);
pub const WEEK_BUCKET: Duration = Duration::from_secs(2 * 3600);
/// How far back response times go.
pub const LATENCY_DAYS: i64 = 7;
/// Recomputed at least this often, so today's bar and the charts move.
pub const MAX_AGE: chrono::Duration = chrono::Duration::seconds(60);

/// One public monitor's history, as the page shows it.
#[derive(Clone, Debug, Default)]
pub struct MonitorTrend {
    /// Oldest first, one per calendar day of the page's time zone, the last one today.
    pub days: Vec<(NaiveDate, Uptime)>,
    /// Probed monitors: the average latency per [`DAY_BUCKET`] over the last 24 hours, and per
    /// [`WEEK_BUCKET`] over the last [`LATENCY_DAYS`].
    pub day: Vec<LatencyPoint>,
    pub week: Vec<LatencyPoint>,
}

impl MonitorTrend {
    /// Reads one monitor's days and response times.
    pub async fn load(
        store: &dyn Store,
        m: &MonitorView,
        zone: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Result<MonitorTrend, StoreError> {
        let first_day = now.with_timezone(&zone).date_naive() - chrono::Duration::days(i64::from(DAYS) - 1);
        let window = Span::new(upbeat_core::uptime::day_start(first_day, &zone), now);
        let days = match store.history(&m.id, window, now).await? {
            Some(history) => history.daily_in(DAYS, now, &zone),
            None => Vec::new(),
        };
        // Probes time their checks; told monitors (heartbeat, push, metric) have no latency.
        let (day, week) = if matches!(m.kind, "http" | "tcp" | "dns" | "tls" | "icmp") {
            (
                store.latency_series(&m.id, now - chrono::Duration::days(1), DAY_BUCKET).await?,
                store.latency_series(&m.id, now - chrono::Duration::days(LATENCY_DAYS), WEEK_BUCKET).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(MonitorTrend { days, day, week })
    }

    /// Up and down over the last `days` days (today included); `None` with nothing observed.
    pub fn uptime_percent(&self, days: usize) -> Option<f64> {
        let from = self.days.len().saturating_sub(days);
        let (up, down) = self.days[from..]
            .iter()
            .fold((0i64, 0i64), |(up, down), (_, u)| (up + u.up.num_milliseconds(), down + u.down.num_milliseconds()));
        (up + down > 0).then(|| up as f64 * 100.0 / (up + down) as f64)
    }

    /// The average latency of good checks over the last 24 hours, weighted by checks.
    pub fn average_latency(&self) -> Option<Duration> {
        let (sum, checks) = self
            .day
            .iter()
            .fold((0u128, 0u64), |(sum, n), p| (sum + p.average.as_micros() * u128::from(p.checks), n + p.checks));
        (checks > 0).then(|| Duration::from_micros((sum / u128::from(checks)) as u64))
    }
}

/// Everything slow the public sees, computed at one moment.
#[derive(Clone, Debug, Default)]
pub struct Trends {
    pub computed_at: Option<DateTime<Utc>>,
    fingerprint: u64,
    /// The monitors of the components the page pictures (see [`PICTURED`]); badges of the others
    /// read [`PublicCache::trend`](crate::cache::PublicCache::trend).
    pub monitors: HashMap<MonitorId, Arc<MonitorTrend>>,
    /// Outages of public monitors that touch the bars' days, newest first.
    pub outages: Vec<Outage>,
}

impl Trends {
    /// The previous trends if nothing they show changed and they are fresh, else new ones.
    pub async fn refresh(
        previous: Option<&Arc<Trends>>,
        store: &dyn Store,
        overview: &Overview,
        incidents: &[Incident],
        maintenances: &[Maintenance],
        zone: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Result<Arc<Trends>, StoreError> {
        let first_day = now.with_timezone(&zone).date_naive() - chrono::Duration::days(i64::from(DAYS) - 1);
        let since = upbeat_core::uptime::day_start(first_day, &zone);
        let outages = store
            .outages(&OutageQuery { public_only: true, since: Some(since), limit: 10_000, ..OutageQuery::default() })
            .await?;
        let fingerprint = fingerprint(overview, &outages, incidents, maintenances, first_day);
        if let Some(previous) = previous
            && previous.fingerprint == fingerprint
            && previous.computed_at.is_some_and(|at| now - at < MAX_AGE)
        {
            return Ok(Arc::clone(previous));
        }
        let mut monitors = HashMap::new();
        for m in pictured(overview) {
            monitors.insert(m.id.clone(), Arc::new(MonitorTrend::load(store, m, zone, now).await?));
        }
        Ok(Arc::new(Trends { computed_at: Some(now), fingerprint, monitors, outages }))
    }
}

/// How many components (in page order) get an uptime bar and charts: about 11 kB of page each,
/// and two queries per monitor whenever the trends are recomputed.
pub const PICTURED: usize = 100;

/// The monitors of the pictured components.
fn pictured(overview: &Overview) -> impl Iterator<Item = &MonitorView> {
    overview.components.iter().filter(|c| c.position <= PICTURED).flat_map(|c| &c.monitors)
}

/// What, when it changes, changes the trends at once rather than at the next [`MAX_AGE`].
fn fingerprint(
    overview: &Overview,
    outages: &[Outage],
    incidents: &[Incident],
    maintenances: &[Maintenance],
    first_day: NaiveDate,
) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    first_day.hash(&mut h);
    for m in pictured(overview) {
        m.id.as_str().hash(&mut h);
    }
    for o in outages {
        (o.id.as_str(), o.ended_at).hash(&mut h);
    }
    for i in incidents {
        (i.id, i.updated_at).hash(&mut h);
    }
    for m in maintenances {
        (m.id, m.scheduled_for, m.scheduled_until, m.updates.len()).hash(&mut h);
    }
    h.finish()
}
