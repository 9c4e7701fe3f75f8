//! `/badge/{monitor}.svg`, `/badge/{monitor}/uptime.svg?days=30` and
//! `/badge/{monitor}/response.svg`: drawn per request from the current snapshot (a few hundred
//! bytes of text, no database). A monitor the public may not see is `404`, like one that does not
//! exist.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use upbeat_core::Status;
use upbeat_core::incident::ComponentStatus;

use crate::AppState;
use crate::badge::{self, Colour};
use crate::cache::{Rendered, Snapshot, not_found};
use crate::trends::{self, MonitorTrend};

#[derive(serde::Deserialize)]
pub struct BadgeParams {
    /// Replaces the left-hand text.
    label: Option<String>,
    /// `uptime.svg`: how many days, 1 to 90.
    days: Option<String>,
}

type Params = Result<Query<BadgeParams>, axum::extract::rejection::QueryRejection>;

const SVG: &str = "image/svg+xml; charset=utf-8";
const MAX_LABEL: usize = 100;

/// What a badge is drawn from.
struct Drawn<'a> {
    snapshot: &'a Snapshot,
    view: &'a crate::MonitorView,
    params: &'a BadgeParams,
    /// Uptime and response badges: the monitor's days and response times.
    trend: Option<Arc<MonitorTrend>>,
}

/// Draws a badge for a public monitor, or answers why not.
async fn draw(
    state: &AppState,
    headers: &HeaderMap,
    monitor: &str,
    params: Params,
    needs_trend: bool,
    what: impl FnOnce(Drawn<'_>) -> Result<(String, String, Colour), &'static str>,
) -> Response {
    let Ok(Query(params)) = params else { return bad_request("label and days must be plain text") };
    let Some(snapshot) = state.cache.get() else { return not_found() };
    let Some(view) = snapshot.overview.monitor(monitor) else { return not_found() };
    let trend = match needs_trend {
        true => match state.cache.trend(&snapshot, state, view).await {
            Ok(trend) => Some(trend),
            Err(e) => {
                tracing::warn!(error = %e, monitor, "could not read a badge's history");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response();
            }
        },
        false => None,
    };
    match what(Drawn { snapshot: &snapshot, view, params: &params, trend }) {
        Ok((label, message, colour)) => {
            let label = params.label.as_deref().map_or(label, |l| l.chars().take(MAX_LABEL).collect());
            Rendered::new(badge::svg(&label, &message, colour), SVG, snapshot.generated).respond(headers)
        }
        Err(why) => bad_request(why),
    }
}

fn bad_request(why: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response()
}

/// The monitor's state now: up, down, paused, no data, or maintenance while its component is in
/// maintenance and it is not down.
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    params: Params,
) -> Response {
    let Some(monitor) = file.strip_suffix(".svg") else { return not_found() };
    draw(&state, &headers, monitor, params, false, |Drawn { snapshot, view, .. }| {
        let in_maintenance = view
            .component
            .as_deref()
            .and_then(|c| snapshot.overview.component(c))
            .is_some_and(|c| c.status == ComponentStatus::UnderMaintenance);
        let (message, colour) = match view.state {
            Status::Down => ("down", Colour::Red),
            _ if in_maintenance => ("maintenance", Colour::Blue),
            Status::Up => ("up", Colour::BrightGreen),
            Status::Paused => ("paused", Colour::Grey),
            Status::Unknown => ("no data", Colour::Grey),
        };
        Ok((view.name.clone(), message.to_owned(), colour))
    })
    .await
}

/// Uptime over the last `days` calendar days of the page's time zone (today so far included).
pub async fn uptime(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(monitor): Path<String>,
    params: Params,
) -> Response {
    draw(&state, &headers, &monitor, params, true, |Drawn { params, trend, .. }| {
        let days = match params.days.as_deref().map(str::parse::<u32>) {
            None => 30,
            Some(Ok(days)) if (1..=trends::DAYS).contains(&days) => days,
            Some(_) => return Err("days must be a whole number from 1 to 90"),
        };
        let percent = trend.and_then(|t| t.uptime_percent(days as usize));
        Ok((format!("uptime {days}d"), badge::uptime_message(percent), badge::uptime_colour(percent)))
    })
    .await
}

/// The average response time of good checks over the last 24 hours.
pub async fn response(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(monitor): Path<String>,
    params: Params,
) -> Response {
    draw(&state, &headers, &monitor, params, true, |Drawn { trend, .. }| {
        let ms = trend.and_then(|t| t.average_latency()).map(|d| d.as_secs_f64() * 1000.0);
        Ok(("response time".to_owned(), badge::response_message(ms), badge::response_colour(ms)))
    })
    .await
}
