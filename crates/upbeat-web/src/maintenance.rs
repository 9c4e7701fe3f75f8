//! `/api/v1/maintenance`: scheduled maintenance windows, announced ahead.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use upbeat_core::Scope;
use upbeat_core::maintenance::{Maintenance, check_window};
use upbeat_store::NewMaintenance;

use crate::auth::Bearer;
use crate::incidents::{message, rfc3339, title};
use crate::params::{ApiPath, JsonBody, Limit};
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/maintenance", get(list).post(create))
        .route("/maintenance/{id}", get(show).patch(edit))
        .route("/maintenance/{id}/updates", post(add_update))
        .route("/maintenance/{id}/updates/{update}", axum::routing::patch(edit_update).delete(delete_update))
        .route("/maintenance/{id}/complete", post(complete))
}

#[derive(Serialize)]
struct UpdateJson {
    id: i64,
    created_at: String,
    message: String,
}

#[derive(Serialize)]
struct MaintenanceJson {
    id: i64,
    title: String,
    status: &'static str,
    scheduled_for: String,
    scheduled_until: String,
    components: Vec<String>,
    created_at: String,
    updates: Vec<UpdateJson>,
}

fn to_json(m: Maintenance, now: DateTime<Utc>) -> MaintenanceJson {
    MaintenanceJson {
        id: m.id,
        status: m.status_at(now).as_str(),
        scheduled_for: rfc3339(m.scheduled_for),
        scheduled_until: rfc3339(m.scheduled_until),
        created_at: rfc3339(m.created_at),
        updates: m
            .updates
            .into_iter()
            .map(|u| UpdateJson { id: u.id, created_at: rfc3339(u.created_at), message: u.body })
            .collect(),
        components: m.components,
        title: m.title,
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found("maintenance_not_found", format!("no maintenance has id {id}"))
}

fn window(from: DateTime<Utc>, until: DateTime<Utc>) -> Result<(), ApiError> {
    check_window(from, until).map_err(|m| ApiError::bad_request("invalid_value", "scheduled_until", m))
}

fn respond(state: &AppState, status: StatusCode, m: Maintenance) -> Response {
    (state.changed)();
    (status, Json(to_json(m, (state.now)()))).into_response()
}

async fn list(State(state): State<AppState>, bearer: Bearer, limit: Limit) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let limit = limit.or(50);
    let now = (state.now)();
    let windows: Vec<MaintenanceJson> =
        state.store.maintenances(limit, None).await?.into_iter().map(|m| to_json(m, now)).collect();
    Ok(Json(serde_json::json!({ "maintenance": windows })).into_response())
}

async fn show(State(state): State<AppState>, bearer: Bearer, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let m = state.store.maintenance(id).await?.ok_or_else(|| not_found(id))?;
    Ok(Json(to_json(m, (state.now)())).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: String,
    message: String,
    scheduled_for: DateTime<Utc>,
    scheduled_until: DateTime<Utc>,
    #[serde(default)]
    components: Vec<String>,
}

async fn create(
    State(state): State<AppState>,
    bearer: Bearer,
    JsonBody { value: body, .. }: JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    window(body.scheduled_for, body.scheduled_until)?;
    for (i, id) in body.components.iter().enumerate() {
        if state.config.component(id).is_none() {
            return Err(ApiError::bad_request(
                "unknown_component",
                &format!("components[{i}]"),
                format!("no component has id `{id}`"),
            ));
        }
    }
    let new = NewMaintenance {
        title: title(&body.title)?,
        message: message(&body.message)?,
        scheduled_for: body.scheduled_for,
        scheduled_until: body.scheduled_until,
        components: body.components,
    };
    let m = state.store.create_maintenance(&new, (state.now)()).await?;
    Ok(respond(&state, StatusCode::CREATED, m))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    title: Option<String>,
    scheduled_for: Option<DateTime<Utc>>,
    scheduled_until: Option<DateTime<Utc>>,
}

async fn edit(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<i64>,
    JsonBody { value: body, .. }: JsonBody<EditBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let current = state.store.maintenance(id).await?.ok_or_else(|| not_found(id))?;
    window(
        body.scheduled_for.unwrap_or(current.scheduled_for),
        body.scheduled_until.unwrap_or(current.scheduled_until),
    )?;
    let new_title = body.title.as_deref().map(title).transpose()?;
    let m = state
        .store
        .edit_maintenance(id, new_title.as_deref(), body.scheduled_for, body.scheduled_until, (state.now)())
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(respond(&state, StatusCode::OK, m))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    message: String,
}

async fn add_update(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<i64>,
    JsonBody { value: body, .. }: JsonBody<UpdateBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let text = message(&body.message)?;
    let m = state.store.add_maintenance_update(id, &text, (state.now)()).await?.ok_or_else(|| not_found(id))?;
    Ok(respond(&state, StatusCode::CREATED, m))
}

/// Ends the window now; one that has not started yet is cancelled (it starts and ends now).
async fn complete(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let now = (state.now)();
    let current = state.store.maintenance(id).await?.ok_or_else(|| not_found(id))?;
    if current.scheduled_until <= now {
        return Ok(Json(to_json(current, now)).into_response());
    }
    let from = current.scheduled_for.min(now);
    let m = state.store.edit_maintenance(id, None, Some(from), Some(now), now).await?.ok_or_else(|| not_found(id))?;
    Ok(respond(&state, StatusCode::OK, m))
}

async fn edit_update(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath((id, update)): ApiPath<(i64, i64)>,
    JsonBody { value: body, .. }: JsonBody<UpdateBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let text = message(&body.message)?;
    change_update(&state, &bearer, id, update, Some(&text)).await
}

async fn delete_update(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath((id, update)): ApiPath<(i64, i64)>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    change_update(&state, &bearer, id, update, None).await
}

async fn change_update(
    state: &AppState,
    bearer: &Bearer,
    id: i64,
    update: i64,
    body: Option<&str>,
) -> Result<Response, ApiError> {
    let m =
        state.store.change_maintenance_update(id, update, body, &bearer.0.name, (state.now)()).await?.ok_or_else(
            || ApiError::not_found("update_not_found", format!("maintenance {id} has no update {update}")),
        )?;
    Ok(respond(state, StatusCode::OK, m))
}
