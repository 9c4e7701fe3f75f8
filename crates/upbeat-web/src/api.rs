//! `/api/v1`: the management API. Every route but `openapi.json` needs a bearer token.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use upbeat_core::uptime::{History, Report, Span};
use upbeat_core::{MonitorId, Outage, Scope};
use upbeat_store::OutageQuery;

use crate::auth::Bearer;
use crate::params::Limit;
use crate::{ApiError, AppState, MonitorView};

const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/monitors", get(list_monitors))
        .route("/monitors/{id}", get(get_monitor))
        .route("/monitors/{id}/outages", get(monitor_outages))
        .route("/monitors/{id}/uptime", get(monitor_uptime))
        .route("/monitors/{id}/daily", get(monitor_daily))
        .route("/monitors/{id}/pings", get(monitor_pings))
        .route("/metrics/{id}", post(push_metric))
        .route("/deliveries", get(list_deliveries))
        .route("/monitors/{id}/pause", post(pause))
        .route("/monitors/{id}/resume", post(resume))
        .merge(crate::incidents::router())
        .merge(crate::maintenance::router())
        .merge(crate::tokens::router())
        // Markdown bodies are at most 100 kB; leave room for JSON escaping, refuse the rest early.
        .layer(axum::extract::DefaultBodyLimit::max(512 * 1024))
}

async fn openapi() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A monitor as the API shows it: flat, with times in RFC 3339.
#[derive(Serialize)]
struct MonitorJson {
    id: String,
    name: String,
    kind: &'static str,
    target: String,
    component: Option<String>,
    public: bool,
    interval_seconds: f64,
    state: &'static str,
    last_check_at: Option<String>,
    last_latency_ms: Option<f64>,
    last_http_status: Option<u16>,
    last_error: Option<String>,
    open_outage: Option<OutageJson>,
    /// Heartbeats only: where the job pings.
    #[serde(skip_serializing_if = "Option::is_none")]
    ping_url: Option<String>,
    /// Metric monitors only: the newest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_value: Option<f64>,
    /// Heartbeats, pushes and metrics: when the verdict changes unless something arrives.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_deadline_at: Option<String>,
}

#[derive(Serialize)]
struct OutageJson {
    id: String,
    monitor_id: String,
    guid: String,
    started_at: String,
    ended_at: Option<String>,
    duration_seconds: f64,
    cause: String,
    /// Started inside a maintenance window of the monitor's component: shown, not counted.
    /// Absent from a monitor's live `open_outage`; read the outage list for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    in_maintenance: Option<bool>,
}

impl MonitorJson {
    fn new(m: MonitorView, base_url: &str, now: DateTime<Utc>) -> Self {
        let open_outage = m.open_outage.map(|o| OutageJson {
            guid: o.id.guid(base_url),
            id: o.id.to_string(),
            monitor_id: m.id.to_string(),
            started_at: rfc3339(o.started_at),
            ended_at: None,
            duration_seconds: (now - o.started_at).num_milliseconds().max(0) as f64 / 1000.0,
            cause: o.cause,
            in_maintenance: None,
        });
        MonitorJson {
            id: m.id.to_string(),
            name: m.name,
            kind: m.kind,
            target: m.target,
            component: m.component,
            public: m.public,
            interval_seconds: m.interval_seconds,
            state: m.state.as_str(),
            last_check_at: m.last_check.as_ref().map(|s| rfc3339(s.at)),
            last_latency_ms: m.last_check.as_ref().map(|s| s.latency.as_secs_f64() * 1000.0),
            last_http_status: m.last_check.as_ref().and_then(|s| s.http_status),
            last_error: m.last_check.and_then(|s| s.error),
            open_outage,
            ping_url: m.ping_uuid.map(|uuid| format!("{base_url}ping/{uuid}")),
            last_value: m.last_value,
            next_deadline_at: m.next_deadline.map(rfc3339),
        }
    }
}

impl OutageJson {
    fn new(o: Outage, base_url: &str, now: DateTime<Utc>) -> Self {
        OutageJson {
            guid: o.id.guid(base_url),
            duration_seconds: o.duration(now).as_secs_f64(),
            id: o.id.to_string(),
            monitor_id: o.monitor.to_string(),
            started_at: rfc3339(o.started_at),
            ended_at: o.ended_at.map(rfc3339),
            cause: o.cause,
            in_maintenance: Some(o.in_maintenance),
        }
    }
}

fn find(state: &AppState, id: &str) -> Result<MonitorView, ApiError> {
    state
        .runtime
        .monitor(id)
        .ok_or_else(|| ApiError::not_found("monitor_not_found", format!("no monitor has id `{id}`")))
}

async fn list_monitors(State(state): State<AppState>, bearer: Bearer) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let now = (state.now)();
    let base = &state.config.page.base_url;
    let monitors: Vec<MonitorJson> =
        state.runtime.monitors().into_iter().map(|m| MonitorJson::new(m, base, now)).collect();
    Ok(Json(serde_json::json!({ "monitors": monitors })).into_response())
}

async fn get_monitor(
    State(state): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let monitor = find(&state, &id)?;
    Ok(Json(MonitorJson::new(monitor, &state.config.page.base_url, (state.now)())).into_response())
}

async fn monitor_outages(
    State(state): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    limit: Limit,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let limit = limit.or(100);
    let monitor = find(&state, &id)?;
    let query = OutageQuery { monitor: Some(MonitorId::clone(&monitor.id)), limit, ..OutageQuery::default() };
    let now = (state.now)();
    let base = &state.config.page.base_url;
    let outages: Vec<OutageJson> =
        state.store.outages(&query).await?.into_iter().map(|o| OutageJson::new(o, base, now)).collect();
    Ok(Json(serde_json::json!({ "outages": outages })).into_response())
}

async fn monitor_pings(
    State(state): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    limit: Limit,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let monitor = find(&state, &id)?;
    let (total, pings) = state.store.pings(&monitor.id, limit.or(100)).await?;
    let pings: Vec<serde_json::Value> = pings
        .into_iter()
        .map(|stored| {
            let p = stored.ping;
            serde_json::json!({
                "n": stored.id,
                "at": rfc3339(p.at),
                "kind": p.kind.as_str(),
                "exit_status": p.exit_status,
                "rid": p.rid,
                "method": p.method,
                "remote_addr": p.remote,
                "user_agent": p.user_agent,
                "duration_seconds": p.duration.map(|d| d.as_secs_f64()),
                "body": String::from_utf8_lossy(&p.body),
                "body_truncated": p.truncated,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "total": total, "pings": pings })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryQuery {
    status: Option<String>,
    limit: Option<usize>,
}

/// `GET /api/v1/deliveries?status=dead|pending|sent|cancelled&limit=N`: the outbox, newest first, with the
/// outbox's counts.
async fn list_deliveries(
    State(state): State<AppState>,
    bearer: Bearer,
    query: Result<Query<DeliveryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid_query", "status", e.body_text()))?;
    let status = query.status.as_deref().unwrap_or("dead");
    if !["pending", "sent", "dead", "cancelled"].contains(&status) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "status",
            "status must be pending, sent, dead or cancelled",
        ));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "limit", "limit must be between 1 and 1000"));
    }
    let stats = state.store.outbox_stats().await?;
    let deliveries: Vec<serde_json::Value> = state
        .store
        .deliveries(status, limit)
        .await?
        .into_iter()
        .map(|d| {
            serde_json::json!({
                "id": d.id,
                "key": d.key,
                "event_seq": d.event_seq,
                "recipient": d.recipient,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": rfc3339(d.next_attempt_at),
                "last_error": d.last_error,
                "created_at": rfc3339(d.created_at),
                "sent_at": d.sent_at.map(rfc3339),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "pending": stats.pending,
        "sent": stats.sent,
        "dead": stats.dead,
        "cancelled": stats.cancelled,
        "oldest_pending_at": stats.oldest_pending.map(rfc3339),
        "deliveries": deliveries,
    }))
    .into_response())
}

/// The most points one request may carry.
const MAX_POINTS: usize = 10_000;

/// `POST /api/v1/metrics/{id}`: `{"value": 12}`, `{"value": 12, "at": T}` or
/// `{"points": [{"value": 12, "at": T}, ...]}`; answered once stored.
async fn push_metric(
    State(state): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    body: Result<crate::params::JsonBody<serde_json::Value>, ApiError>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    // Any content type: `curl -d` sends a form type, scripts often none.
    let body = body?.value;
    let now = (state.now)();
    let points = match (body.get("points"), body.get("value")) {
        (Some(points), None) => {
            let list = points.as_array().filter(|l| (1..=MAX_POINTS).contains(&l.len())).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_points",
                    "points",
                    format!("`points` must be a list of 1 to {MAX_POINTS} points"),
                )
            })?;
            list.iter()
                .enumerate()
                .map(|(i, p)| metric_point(p, &format!("points[{i}]"), now))
                .collect::<Result<Vec<_>, _>>()?
        }
        (None, Some(_)) => vec![metric_point(&body, "", now)?],
        _ => {
            return Err(ApiError::bad_request(
                "invalid_points",
                "value",
                "send {\"value\": <number>} or {\"points\": [{\"value\": <number>, \"at\": <RFC 3339>}]}",
            ));
        }
    };
    let accepted = points.len();
    let monitor = match state.runtime.metric(&id, points).await {
        Ok(monitor) => monitor,
        Err(crate::PingRefused::WrongKind) => {
            return Err(ApiError::bad_request(
                "not_a_metric",
                "id",
                format!("monitor `{id}` is not of kind \"metric\""),
            ));
        }
        Err(crate::PingRefused::Unavailable) => {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the values could not be stored; retry",
            ));
        }
        Err(_) => return Err(ApiError::not_found("monitor_not_found", format!("no monitor `{id}`"))),
    };
    let base = &state.config.page.base_url;
    Ok(Json(serde_json::json!({"accepted": accepted, "monitor": MonitorJson::new(monitor, base, now)})).into_response())
}

/// One `{"value": n, "at": T}`: a finite number, at a time no later than a minute from now.
fn metric_point(point: &serde_json::Value, path: &str, now: DateTime<Utc>) -> Result<(DateTime<Utc>, f64), ApiError> {
    let field = |name: &str| if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
    let value = point.get("value").and_then(serde_json::Value::as_f64).filter(|v| v.is_finite()).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_value",
            &field("value"),
            "`value` must be a number (not a string, NaN or infinity)",
        )
    })?;
    let at = match point.get("at") {
        None | Some(serde_json::Value::Null) => now,
        Some(at) => at
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ApiError::bad_request("invalid_time", &field("at"), "`at` must be an RFC 3339 time"))?,
    };
    if at > now + chrono::Duration::minutes(1) {
        return Err(ApiError::bad_request("invalid_time", &field("at"), "`at` is in the future"));
    }
    Ok((at, value))
}

async fn pause(State(state): State<AppState>, bearer: Bearer, Path(id): Path<String>) -> Result<Response, ApiError> {
    set_paused(state, bearer, id, true).await
}

async fn resume(State(state): State<AppState>, bearer: Bearer, Path(id): Path<String>) -> Result<Response, ApiError> {
    set_paused(state, bearer, id, false).await
}

async fn set_paused(state: AppState, bearer: Bearer, id: String, paused: bool) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    find(&state, &id)?;
    let monitor = state.runtime.set_paused(&id, paused).await.ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "upbeat is shutting down; try again",
        )
    })?;
    Ok(Json(MonitorJson::new(monitor, &state.config.page.base_url, (state.now)())).into_response())
}

/// `?from=&to=`: RFC 3339 times; `to` defaults to now and `from` to 30 days before `to`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowParams {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DailyParams {
    days: Option<u32>,
}

/// Most days `/daily` answers for.
const MAX_DAYS: u32 = 366;

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(t)| t)
        .map_err(|e| ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))
}

fn parse_time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ApiError::bad_request("invalid_query", field, format!("`{t}` is not an RFC 3339 time")))
    })
    .transpose()
}

/// The monitor's record, whether configured or imported.
async fn record(state: &AppState, id: &str) -> Result<upbeat_store::MonitorRecord, ApiError> {
    let not_found = || ApiError::not_found("monitor_not_found", format!("no monitor has id `{id}`"));
    let id = MonitorId::parse(id).map_err(|_| not_found())?;
    state.store.monitor_record(&id).await?.ok_or_else(not_found)
}

async fn history(state: &AppState, id: &MonitorId, window: Span) -> Result<History, ApiError> {
    state
        .store
        .history(id, window, (state.now)())
        .await?
        .ok_or_else(|| ApiError::not_found("monitor_not_found", format!("no monitor has id `{id}`")))
}

async fn monitor_uptime(
    State(state): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    params: Result<Query<WindowParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let params = query(params)?;
    let now = (state.now)();
    let to = parse_time("to", params.to.as_deref())?.unwrap_or(now);
    let from = parse_time("from", params.from.as_deref())?.unwrap_or(to - chrono::Duration::days(30));
    if from >= to {
        return Err(ApiError::bad_request("invalid_query", "from", "`from` must be before `to`"));
    }
    let monitor = record(&state, &id).await?;
    let window = Span::new(from, to);
    let uptime = history(&state, &monitor.id, window).await?.uptime(window);
    Ok(Json(Report::new(monitor.id.as_str(), &monitor.name, &monitor.kind, &uptime)).into_response())
}

async fn monitor_daily(
    State(state): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    params: Result<Query<DailyParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let days = query(params)?.days.unwrap_or(90);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::bad_request("invalid_query", "days", format!("days must be between 1 and {MAX_DAYS}")));
    }
    let monitor = record(&state, &id).await?;
    let now = (state.now)();
    let first = now.date_naive() - chrono::Duration::days(i64::from(days) - 1);
    let window = Span::new(first.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc(), now);
    let buckets: Vec<serde_json::Value> = history(&state, &monitor.id, window)
        .await?
        .daily(days, now)
        .into_iter()
        .map(|(date, u)| {
            let mut day = serde_json::to_value(Report::new(monitor.id.as_str(), &monitor.name, &monitor.kind, &u))
                .unwrap_or_default();
            if let Some(object) = day.as_object_mut() {
                for key in ["id", "name", "kind"] {
                    object.remove(key);
                }
                object.insert("date".into(), date.to_string().into());
            }
            day
        })
        .collect();
    Ok(Json(serde_json::json!({ "id": monitor.id.as_str(), "name": monitor.name, "days": buckets })).into_response())
}
