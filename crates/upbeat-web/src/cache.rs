//! Public responses, rendered when something changes and served from memory.
//!
//! A crowd arriving during an outage costs a pointer copy per request: handlers read the current
//! [`Snapshot`] and answer `304 Not Modified` when the client already has it. [`run_renderer`]
//! rebuilds the snapshot after changes (debounced) and on a slow tick, so durations on the page
//! stay current.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use upbeat_core::incident::Incident;
use upbeat_store::{OutageQuery, StoreError};

use crate::{AppState, render};

/// One rendered response body with its validators.
pub struct Rendered {
    body: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
    last_modified: HeaderValue,
}

impl Rendered {
    fn new(body: String, content_type: &'static str, at: DateTime<Utc>) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let etag = format!("\"{}\"", hex::encode(&digest[..12]));
        let http_date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        Rendered {
            body: Bytes::from(body),
            content_type,
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\"")),
            last_modified: HeaderValue::from_str(&http_date).unwrap_or(HeaderValue::from_static("")),
        }
    }

    fn respond(&self, request: &HeaderMap) -> Response {
        let fresh = request.get(header::IF_NONE_MATCH).is_some_and(|tag| {
            tag.to_str().is_ok_and(|t| t.split(',').any(|t| t.trim() == self.etag.to_str().unwrap_or_default()))
        });
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::LAST_MODIFIED, self.last_modified.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=10"));
        if fresh {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        (headers, self.body.clone()).into_response()
    }
}

/// Everything public, rendered at one moment.
pub struct Snapshot {
    pub page: Rendered,
    /// The pages of the newest incidents, each with the incident it was rendered from; older ones
    /// are rendered when asked for.
    pub incidents: std::collections::HashMap<i64, (Incident, Arc<Rendered>)>,
    /// The first page of `/history`.
    pub history: Rendered,
    pub history_rss: Rendered,
    pub history_atom: Rendered,
    pub rss: Rendered,
    pub atom: Rendered,
    pub json: Rendered,
}

#[derive(Default)]
pub struct PublicCache {
    current: RwLock<Option<Arc<Snapshot>>>,
}

impl PublicCache {
    pub fn get(&self) -> Option<Arc<Snapshot>> {
        self.current.read().map_or(None, |s| s.clone())
    }

    fn set(&self, snapshot: Snapshot) {
        if let Ok(mut current) = self.current.write() {
            *current = Some(Arc::new(snapshot));
        }
    }
}

/// Renders everything public from the store and the live state, and swaps it in.
/// Returns when a maintenance window next starts or ends, when the page must change by itself.
pub async fn rebuild(state: &AppState) -> Result<Option<DateTime<Utc>>, StoreError> {
    let now = (state.now)();
    let page = &state.config.page;
    let events = state.store.feed_events(page.feed_items).await?;
    let items = upbeat_core::feed::items(&page.base_url, &events, page.feed_items);
    let since = now - chrono::Duration::days(render::RECENT_DAYS);
    let outages = state
        .store
        .outages(&OutageQuery { public_only: true, since: Some(since), limit: 50, ..OutageQuery::default() })
        .await?;
    let monitors = state.runtime.monitors();
    let recent_incidents = state.store.incidents(CACHED_INCIDENTS, false).await?;
    let open: Vec<_> = recent_incidents.iter().filter(|i| i.is_open()).cloned().collect();
    let maintenances = state.store.maintenances(50, Some(now)).await?;
    let next_edge = maintenances.iter().filter_map(|m| m.next_edge(now)).min();
    let modified = items.first().map_or(now, |i| i.published);
    let html = |body: String| Rendered::new(body, "text/html; charset=utf-8", now);
    let previous = state.cache.get();
    let history_feed = &recent_incidents[..recent_incidents.len().min(HISTORY_FEED_ITEMS)];
    state.cache.set(Snapshot {
        history_rss: Rendered::new(render::history_rss(page, history_feed), "application/rss+xml; charset=utf-8", now),
        history_atom: Rendered::new(
            render::history_atom(page, history_feed, now),
            "application/atom+xml; charset=utf-8",
            now,
        ),
        page: html(render::page(&state.config, &monitors, &outages, &open, &maintenances, now)),
        // Most rebuilds follow a monitor's change: an incident that did not change keeps its page.
        incidents: recent_incidents
            .iter()
            .map(|i| {
                let kept = previous
                    .as_ref()
                    .and_then(|p| p.incidents.get(&i.id))
                    .filter(|(rendered_from, _)| rendered_from == i)
                    .map(|(_, page)| Arc::clone(page));
                let page = kept.unwrap_or_else(|| Arc::new(html(render::incident_page(&state.config, i, now))));
                (i.id, (i.clone(), page))
            })
            .collect(),
        history: html(render::history_page(
            &state.config,
            &recent_incidents[..recent_incidents.len().min(render::HISTORY_PAGE + 1)],
            1,
            now,
        )),
        rss: Rendered::new(render::rss(page, &items), "application/rss+xml; charset=utf-8", modified),
        atom: Rendered::new(render::atom(page, &items, now), "application/atom+xml; charset=utf-8", modified),
        json: Rendered::new(render::json_feed(page, &items), "application/feed+json; charset=utf-8", modified),
    });
    Ok(next_edge)
}

/// How many incidents the history feeds carry.
const HISTORY_FEED_ITEMS: usize = 50;

/// How many of the newest incidents have their page rendered ahead.
const CACHED_INCIDENTS: usize = 200;

/// How long to wait after a change for more changes before rendering.
const DEBOUNCE: Duration = Duration::from_millis(100);
/// Re-render at least this often, so "down for 5m" keeps counting.
const REFRESH: Duration = Duration::from_secs(30);

/// Rebuilds after each change notice (debounced) and every [`REFRESH`], until `changes` closes.
pub async fn run_renderer(state: AppState, mut changes: watch::Receiver<u64>) {
    let mut next_edge: Option<DateTime<Utc>> = None;
    loop {
        // Wake for a maintenance window's edge too, so its status moves without anyone acting.
        let wait = next_edge
            .and_then(|edge| (edge - (state.now)()).to_std().ok())
            .map_or(REFRESH, |until_edge| until_edge.min(REFRESH) + Duration::from_millis(10));
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                tokio::time::sleep(DEBOUNCE).await;
                changes.mark_unchanged();
            }
            () = tokio::time::sleep(wait) => {}
        }
        match rebuild(&state).await {
            Ok(edge) => next_edge = edge,
            Err(e) => tracing::warn!(error = %e, "could not re-render the public pages; serving the previous ones"),
        }
    }
}

fn serve(state: &AppState, headers: &HeaderMap, pick: impl Fn(&Snapshot) -> &Rendered) -> Response {
    match state.cache.get() {
        Some(snapshot) => pick(&snapshot).respond(headers),
        None => (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response(),
    }
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, &headers, |s| &s.page)
}

pub async fn rss(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, &headers, |s| &s.rss)
}

pub async fn atom(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, &headers, |s| &s.atom)
}

pub async fn json_feed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, &headers, |s| &s.json)
}

pub async fn incident(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else { return not_found() };
    if let Some(snapshot) = state.cache.get()
        && let Some((_, page)) = snapshot.incidents.get(&id)
    {
        return page.respond(&headers);
    }
    // An old incident: rendered on request; a crowd reads the new ones, which are cached.
    match state.store.incident(id).await {
        Ok(Some(incident)) => {
            let now = (state.now)();
            Rendered::new(render::incident_page(&state.config, &incident, now), "text/html; charset=utf-8", now)
                .respond(&headers)
        }
        Ok(None) => not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read an incident");
            (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response()
        }
    }
}

#[derive(serde::Deserialize)]
pub struct HistoryParams {
    page: Option<usize>,
}

pub async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<axum::extract::Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let page = match params {
        Ok(axum::extract::Query(p)) => p.page.unwrap_or(1),
        Err(_) => return (StatusCode::BAD_REQUEST, "page must be a positive number\n").into_response(),
    };
    if page == 0 || page > 10_000 {
        return (StatusCode::BAD_REQUEST, "page must be a positive number\n").into_response();
    }
    if page == 1 {
        return serve(&state, &headers, |s| &s.history);
    }
    let wanted = page * render::HISTORY_PAGE + 1;
    match state.store.incidents(wanted, false).await {
        Ok(all) => {
            let now = (state.now)();
            let from = ((page - 1) * render::HISTORY_PAGE).min(all.len());
            Rendered::new(render::history_page(&state.config, &all[from..], page, now), "text/html; charset=utf-8", now)
                .respond(&headers)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the incident history");
            (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response()
        }
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

pub async fn history_rss(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, &headers, |s| &s.history_rss)
}

pub async fn history_atom(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, &headers, |s| &s.history_atom)
}
