//! `/api/v1/incidents`: incidents and their updates, written by people through the API.
//!
//! Bodies come through [`JsonBody`](crate::params::JsonBody), so every malformed request gets the
//! same JSON error, and a retried POST is recognised by its `Idempotency-Key` and a hash of its
//! body: the retry gets what the first request created, and nothing is created twice.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use upbeat_core::Scope;
use upbeat_core::incident::{self, ComponentStatus, ComponentStatuses, Impact, Incident, IncidentStatus};
use upbeat_store::{Created, IdempotencyKey, NewIncident, NewUpdate, UpdateEdit};

use crate::auth::Bearer;
use crate::params::{ApiPath, JsonBody, Limit};
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list).post(create))
        .route("/incidents/{id}", get(show).patch(edit))
        .route("/incidents/{id}/updates", post(add_update))
        .route("/incidents/{id}/updates/{update}", patch(edit_update).delete(delete_update))
        .route("/incidents/{id}/resolve", post(resolve))
        .route("/incidents/{id}/postmortem", axum::routing::put(postmortem))
}

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Serialize)]
struct UpdateJson {
    id: i64,
    created_at: String,
    status: &'static str,
    message: String,
    components: BTreeMap<String, &'static str>,
    guid: String,
}

#[derive(Serialize)]
struct IncidentJson {
    id: i64,
    title: String,
    impact: &'static str,
    status: &'static str,
    components: BTreeMap<String, &'static str>,
    started_at: String,
    resolved_at: Option<String>,
    created_at: String,
    updated_at: String,
    url: String,
    updates: Vec<UpdateJson>,
    postmortem: Option<PostmortemJson>,
}

#[derive(Serialize)]
struct PostmortemJson {
    message: String,
    published_at: String,
}

fn statuses_json(components: &ComponentStatuses) -> BTreeMap<String, &'static str> {
    components.iter().map(|(id, s)| (id.clone(), s.as_str())).collect()
}

fn to_json(i: Incident, base_url: &str) -> IncidentJson {
    let url = incident::link(base_url, i.id);
    IncidentJson {
        id: i.id,
        impact: i.impact.as_str(),
        status: i.status.as_str(),
        components: statuses_json(&i.components),
        started_at: rfc3339(i.started_at),
        resolved_at: i.resolved_at.map(rfc3339),
        created_at: rfc3339(i.created_at),
        updated_at: rfc3339(i.updated_at),
        updates: i
            .updates
            .into_iter()
            .map(|u| UpdateJson {
                guid: format!("{url}#{}", u.guid_hash),
                id: u.id,
                created_at: rfc3339(u.created_at),
                status: u.status.as_str(),
                components: statuses_json(&u.components),
                message: u.body,
            })
            .collect(),
        url,
        title: i.title,
        postmortem: i.postmortem.map(|p| PostmortemJson { message: p.body, published_at: rfc3339(p.published_at) }),
    }
}

fn parse_name<T>(text: &str, field: &str, parse: fn(&str) -> Option<T>, names: String) -> Result<T, ApiError> {
    parse(text).ok_or_else(|| ApiError::bad_request("invalid_value", field, format!("`{text}` is not one of: {names}")))
}

/// Checks component ids against the configuration and their statuses against the list.
fn components(state: &AppState, raw: Option<BTreeMap<String, String>>) -> Result<ComponentStatuses, ApiError> {
    let mut out = ComponentStatuses::new();
    for (id, status) in raw.unwrap_or_default() {
        let field = format!("components.{id}");
        if state.config.component(&id).is_none() {
            return Err(ApiError::bad_request("unknown_component", &field, format!("no component has id `{id}`")));
        }
        out.insert(id, parse_name(&status, &field, ComponentStatus::parse, ComponentStatus::names())?);
    }
    Ok(out)
}

pub(crate) fn title(text: &str) -> Result<String, ApiError> {
    incident::check_title(text).map_err(|m| ApiError::bad_request("invalid_value", "title", m))
}

pub(crate) fn message(text: &str) -> Result<String, ApiError> {
    incident::check_body(text).map_err(|m| ApiError::bad_request("invalid_value", "message", m))
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found("incident_not_found", format!("no incident has id {id}"))
}

fn created(incident: Incident, state: &AppState) -> Response {
    (state.changed)();
    (StatusCode::CREATED, Json(to_json(incident, &state.config.page.base_url))).into_response()
}

fn ok(incident: Incident, state: &AppState) -> Response {
    (state.changed)();
    Json(to_json(incident, &state.config.page.base_url)).into_response()
}

async fn list(State(state): State<AppState>, bearer: Bearer, limit: Limit) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let limit = limit.or(50);
    let base = &state.config.page.base_url;
    let incidents: Vec<IncidentJson> =
        state.store.incidents(limit, false).await?.into_iter().map(|i| to_json(i, base)).collect();
    Ok(Json(serde_json::json!({ "incidents": incidents })).into_response())
}

async fn show(State(state): State<AppState>, bearer: Bearer, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    bearer.require(Scope::Read)?;
    let incident = state.store.incident(id).await?.ok_or_else(|| not_found(id))?;
    Ok(Json(to_json(incident, &state.config.page.base_url)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: String,
    message: String,
    status: Option<String>,
    impact: Option<String>,
    components: Option<BTreeMap<String, String>>,
    started_at: Option<DateTime<Utc>>,
}

async fn create(
    State(state): State<AppState>,
    bearer: Bearer,
    headers: HeaderMap,
    JsonBody { value: body, raw }: JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let key = match headers.get("idempotency-key") {
        Some(value) => {
            let key = value.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 255).ok_or_else(|| {
                ApiError::bad_request("invalid_header", "Idempotency-Key", "must be 1 to 255 visible ASCII characters")
            })?;
            Some(IdempotencyKey {
                token_id: bearer.0.id,
                key: key.to_owned(),
                request_hash: hex::encode(Sha256::digest(&raw)),
            })
        }
        None => None,
    };
    let now = (state.now)();
    let new = NewIncident {
        title: title(&body.title)?,
        message: message(&body.message)?,
        status: match &body.status {
            Some(s) => parse_name(s, "status", IncidentStatus::parse, IncidentStatus::names())?,
            None => IncidentStatus::Investigating,
        },
        impact: match &body.impact {
            Some(s) => parse_name(s, "impact", Impact::parse, Impact::names())?,
            None => Impact::Minor,
        },
        components: components(&state, body.components)?,
        started_at: body.started_at.unwrap_or(now),
    };
    match state.store.create_incident(&new, key.as_ref(), now).await? {
        Created::New(incident) => Ok(created(incident, &state)),
        Created::Replayed(incident) => {
            Ok((StatusCode::CREATED, Json(to_json(incident, &state.config.page.base_url))).into_response())
        }
        Created::KeyReused => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    title: Option<String>,
    impact: Option<String>,
}

async fn edit(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<i64>,
    JsonBody { value: body, .. }: JsonBody<EditBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let new_title = body.title.as_deref().map(title).transpose()?;
    let impact = body.impact.as_deref().map(|s| parse_name(s, "impact", Impact::parse, Impact::names())).transpose()?;
    let incident = state
        .store
        .edit_incident(id, new_title.as_deref(), impact, (state.now)())
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(ok(incident, &state))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    message: String,
    status: Option<String>,
    components: Option<BTreeMap<String, String>>,
    created_at: Option<DateTime<Utc>>,
}

async fn post_update(
    state: &AppState,
    id: i64,
    body: UpdateBody,
    forced: Option<IncidentStatus>,
) -> Result<Response, ApiError> {
    let current = state.store.incident(id).await?.ok_or_else(|| not_found(id))?;
    let status = match (forced, &body.status) {
        (Some(s), _) => s,
        (None, Some(s)) => parse_name(s, "status", IncidentStatus::parse, IncidentStatus::names())?,
        (None, None) if current.is_open() => current.status,
        // Reopening is a decision: it takes an update that says which status the incident is in.
        (None, None) => {
            return Err(ApiError {
                field: Some("status".into()),
                ..ApiError::new(
                    StatusCode::CONFLICT,
                    "incident_resolved",
                    "the incident is resolved; to reopen it, post an update with a status",
                )
            });
        }
    };
    let update = NewUpdate {
        status,
        body: message(&body.message)?,
        components: components(state, body.components)?,
        created_at: body.created_at.unwrap_or((state.now)()),
    };
    let incident = state.store.add_update(id, &update, (state.now)()).await?.ok_or_else(|| not_found(id))?;
    Ok(created(incident, state))
}

async fn add_update(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<i64>,
    JsonBody { value: body, .. }: JsonBody<UpdateBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    post_update(&state, id, body, None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    message: String,
    components: Option<BTreeMap<String, String>>,
    created_at: Option<DateTime<Utc>>,
}

async fn resolve(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<i64>,
    JsonBody { value: body, .. }: JsonBody<ResolveBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let update =
        UpdateBody { message: body.message, status: None, components: body.components, created_at: body.created_at };
    post_update(&state, id, update, Some(IncidentStatus::Resolved)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditUpdateBody {
    message: Option<String>,
    status: Option<String>,
    created_at: Option<DateTime<Utc>>,
}

async fn edit_update(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath((id, update)): ApiPath<(i64, i64)>,
    JsonBody { value: body, .. }: JsonBody<EditUpdateBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let edit = UpdateEdit {
        body: body.message.as_deref().map(message).transpose()?,
        status: body
            .status
            .as_deref()
            .map(|s| parse_name(s, "status", IncidentStatus::parse, IncidentStatus::names()))
            .transpose()?,
        created_at: body.created_at,
    };
    let incident = state
        .store
        .edit_update(id, update, &edit, &bearer.0.name, (state.now)())
        .await?
        .ok_or_else(|| ApiError::not_found("update_not_found", format!("incident {id} has no update {update}")))?;
    Ok(ok(incident, &state))
}

async fn delete_update(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath((id, update)): ApiPath<(i64, i64)>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let incident = state
        .store
        .delete_update(id, update, &bearer.0.name, (state.now)())
        .await?
        .ok_or_else(|| ApiError::not_found("update_not_found", format!("incident {id} has no update {update}")))?;
    Ok(ok(incident, &state))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostmortemBody {
    message: String,
    published_at: Option<DateTime<Utc>>,
}

async fn postmortem(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<i64>,
    JsonBody { value: body, .. }: JsonBody<PostmortemBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Write)?;
    let text = message(&body.message)?;
    let now = (state.now)();
    let incident = state
        .store
        .set_postmortem(id, &text, body.published_at.unwrap_or(now), now)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(ok(incident, &state))
}
