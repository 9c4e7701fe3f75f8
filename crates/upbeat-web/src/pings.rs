//! Where jobs check in: Healthchecks.io's ping URLs and Gatus' external-endpoint push.
//!
//! Ping URLs answer the way Healthchecks does, so scripts that check the answer keep working:
//! `200 OK` once the ping is stored, `404 not found` for an unknown check, `400 invalid url
//! format` for a malformed one. A ping is acknowledged only after it is committed.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde::Deserialize;
use upbeat_core::heartbeat::{MAX_PING_BODY, PingKind, parse_uuid};

use crate::{AppState, PingRefused, PingRequest, PingTarget, PushRequest};

/// A body longer than this is not read further; what is past [`MAX_PING_BODY`] is dropped anyway.
const MAX_DRAIN: usize = 10 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ping/{a}", any(ping1))
        .route("/ping/{a}/{b}", any(ping2))
        .route("/ping/{a}/{b}/{c}", any(ping3))
        .route("/api/v1/endpoints/{key}/external", post(push))
}

#[derive(Deserialize)]
struct PingQuery {
    rid: Option<String>,
    /// `1`: create the heartbeat if the slug is unknown (slug URLs only).
    create: Option<String>,
}

type Parts = (Method, HeaderMap, Query<PingQuery>);

async fn ping1(State(state): State<AppState>, Path(a): Path<String>, (m, h, q): Parts, body: Body) -> Response {
    ping(&state, &[a.as_str()], m, h, q.0, body).await
}

async fn ping2(
    State(state): State<AppState>,
    Path((a, b)): Path<(String, String)>,
    (m, h, q): Parts,
    body: Body,
) -> Response {
    ping(&state, &[a.as_str(), b.as_str()], m, h, q.0, body).await
}

async fn ping3(
    State(state): State<AppState>,
    Path((a, b, c)): Path<(String, String, String)>,
    (m, h, q): Parts,
    body: Body,
) -> Response {
    ping(&state, &[a.as_str(), b.as_str(), c.as_str()], m, h, q.0, body).await
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// What a ping URL's segments say: which check, and what kind of ping.
fn parse_segments<'a>(segments: &[&'a str]) -> Option<(PingTarget<'a>, PingKind, Option<u8>)> {
    let (target, rest) = match segments {
        [uuid, rest @ ..] if parse_uuid(uuid).is_ok() => (PingTarget::Uuid(uuid), rest),
        [ping_key, slug, rest @ ..] => (PingTarget::Slug { ping_key, slug }, rest),
        _ => return None,
    };
    let (kind, exit) = match rest {
        [] => (PingKind::Success, None),
        ["start"] => (PingKind::Start, None),
        ["fail"] => (PingKind::Fail, None),
        ["log"] => (PingKind::Log, None),
        [status] if !status.is_empty() && status.len() <= 3 && status.bytes().all(|b| b.is_ascii_digit()) => {
            let status: u16 = status.parse().ok()?;
            (PingKind::Exit, Some(u8::try_from(status).ok()?))
        }
        _ => return None,
    };
    Some((target, kind, exit))
}

async fn ping(
    state: &AppState,
    segments: &[&str],
    method: Method,
    headers: HeaderMap,
    query: PingQuery,
    body: Body,
) -> Response {
    if ![Method::GET, Method::HEAD, Method::POST].contains(&method) {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let Some((target, kind, exit_status)) = parse_segments(segments) else {
        return text(StatusCode::BAD_REQUEST, "invalid url format");
    };
    let rid = match query.rid.as_deref().map(parse_uuid) {
        None => None,
        Some(Ok(rid)) => Some(rid),
        Some(Err(_)) => return text(StatusCode::BAD_REQUEST, "invalid url format"),
    };
    let (body, truncated) = read_body(body).await;
    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let remote = header(header::HeaderName::from_static("x-forwarded-for"))
        .and_then(|v| v.split(',').next().map(|ip| ip.trim().to_owned()));
    let request = PingRequest {
        kind,
        exit_status,
        rid,
        method: method.as_str().to_owned(),
        remote,
        user_agent: header(header::USER_AGENT),
        body,
        truncated,
    };
    let create = match (query.create.as_deref(), target) {
        (None | Some("0"), _) => false,
        (Some("1"), PingTarget::Slug { .. }) => true,
        _ => return text(StatusCode::BAD_REQUEST, "invalid url format"),
    };
    match state.runtime.ping(target, request, create).await {
        Ok(true) => text(StatusCode::CREATED, "created"),
        Ok(false) => text(StatusCode::OK, "OK"),
        Err(PingRefused::NotFound | PingRefused::WrongKind | PingRefused::Unauthorized) => {
            text(StatusCode::NOT_FOUND, "not found")
        }
        Err(PingRefused::Conflict) => text(StatusCode::CONFLICT, "ambiguous slug"),
        Err(PingRefused::Unavailable) => text(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    }
}

/// The first [`MAX_PING_BODY`] bytes of the body, and whether there was more.
async fn read_body(mut body: Body) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while seen <= MAX_DRAIN {
        let Some(Ok(frame)) = body.frame().await else { break };
        let Ok(chunk) = frame.into_data() else { continue };
        seen += chunk.len();
        let room = MAX_PING_BODY.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    let truncated = seen > kept.len();
    (kept, truncated)
}

#[derive(Deserialize)]
struct PushQuery {
    success: Option<String>,
    error: Option<String>,
    duration: Option<String>,
}

/// Gatus' `POST /api/v1/endpoints/{key}/external?success=true&error=...&duration=...`.
async fn push(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    query: Result<Query<PushQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let error = |status: StatusCode, code: &str, message: String| {
        (status, Json(serde_json::json!({"error": {"code": code, "message": message}}))).into_response()
    };
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the endpoint's token as `Authorization: Bearer <token>`".into(),
        );
    };
    let Ok(Query(query)) = query else {
        return error(StatusCode::BAD_REQUEST, "invalid_query", "the query string is malformed".into());
    };
    let success = match query.success.as_deref() {
        Some("true") => true,
        Some("false") => false,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_success",
                format!(
                    "`success` must be true or false, not {}",
                    other.map_or("missing".into(), |o| format!("`{o}`"))
                ),
            );
        }
    };
    let duration = match query.duration.as_deref().map(go_duration) {
        None => std::time::Duration::ZERO,
        Some(Ok(d)) => d,
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, "invalid_duration", format!("`duration`: {e}")),
    };
    let push = PushRequest { success, error: query.error, duration };
    match state.runtime.push(&key, token, push).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(PingRefused::NotFound | PingRefused::WrongKind | PingRefused::Conflict) => {
            error(StatusCode::NOT_FOUND, "not_found", format!("no push endpoint `{key}`"))
        }
        Err(PingRefused::Unauthorized) => {
            error(StatusCode::UNAUTHORIZED, "unauthorized", "the token is not this endpoint's".into())
        }
        Err(PingRefused::Unavailable) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the push could not be stored; retry".into())
        }
    }
}

/// A duration as Go writes it (`1.5s`, `250ms`, `2m3.5s`), which is what Gatus clients send.
fn go_duration(text: &str) -> Result<std::time::Duration, String> {
    let invalid = || format!("`{text}` is not a duration like \"1.5s\" or \"250ms\"");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut seconds = 0f64;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        seconds += number * scale;
    }
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "0d2a52a6-1f6c-4d6b-9c83-5f2b3a7d9e10";

    #[test]
    fn go_durations_parse_as_gatus_sends_them() {
        assert_eq!(go_duration("1.5s"), Ok(std::time::Duration::from_millis(1500)));
        assert_eq!(go_duration("250ms"), Ok(std::time::Duration::from_millis(250)));
        assert_eq!(go_duration("2m3.5s"), Ok(std::time::Duration::from_millis(123_500)));
        assert_eq!(go_duration("1h"), Ok(std::time::Duration::from_secs(3600)));
        for bad in ["", "fast", "10", "1.5", "-1s", "1x"] {
            assert!(go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn segments_name_the_check_and_the_kind_of_ping() {
        let uuid = PingTarget::Uuid(UUID);
        assert_eq!(parse_segments(&[UUID]), Some((uuid, PingKind::Success, None)));
        assert_eq!(parse_segments(&[UUID, "start"]), Some((uuid, PingKind::Start, None)));
        assert_eq!(parse_segments(&[UUID, "fail"]), Some((uuid, PingKind::Fail, None)));
        assert_eq!(parse_segments(&[UUID, "log"]), Some((uuid, PingKind::Log, None)));
        assert_eq!(parse_segments(&[UUID, "0"]), Some((uuid, PingKind::Exit, Some(0))));
        assert_eq!(parse_segments(&[UUID, "255"]), Some((uuid, PingKind::Exit, Some(255))));
        let slug = PingTarget::Slug { ping_key: "key", slug: "backup" };
        assert_eq!(parse_segments(&["key", "backup"]), Some((slug, PingKind::Success, None)));
        assert_eq!(parse_segments(&["key", "backup", "7"]), Some((slug, PingKind::Exit, Some(7))));
        for bad in
            [&[UUID, "256"][..], &[UUID, "-1"], &[UUID, "1000"], &[UUID, "stop"], &["key"], &["key", "backup", "x"]]
        {
            assert_eq!(parse_segments(bad), None, "{bad:?}");
        }
    }
}
