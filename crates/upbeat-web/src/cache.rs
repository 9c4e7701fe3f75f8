//! Public responses, rendered when something changes and served from memory.
//!
//! A crowd arriving during an outage costs a pointer copy per request: handlers read the current
//! [`Snapshot`] and answer `304 Not Modified` when the client already has it. [`run_renderer`]
//! rebuilds the snapshot after changes (debounced) and on a slow tick, so durations on the page
//! stay current.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use upbeat_core::MonitorId;
use upbeat_core::incident::Incident;
use upbeat_store::StoreError;

use crate::overview::Overview;
use crate::trends::{self, MonitorTrend, Trends};
use crate::{AppState, MonitorView, render, statuspage};

/// One rendered response body with its validators, and compressed copies made once.
#[derive(Clone)]
pub struct Rendered {
    body: Bytes,
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
    content_type: &'static str,
    /// The strong validator of the identity body, without quotes; compressed copies add a suffix.
    tag: String,
    last_modified: DateTime<Utc>,
}

/// Bodies smaller than this are sent as they are.
const COMPRESS_FROM: usize = 512;

impl Rendered {
    /// A body sent as it is (badges, small answers rendered per request).
    pub fn new(body: impl Into<Bytes>, content_type: &'static str, at: DateTime<Utc>) -> Self {
        let body = body.into();
        let digest = Sha256::digest(&body);
        Rendered { tag: hex::encode(&digest[..12]), body, gzip: None, brotli: None, content_type, last_modified: at }
    }

    /// A body with gzip and brotli copies, for what a crowd reads.
    pub fn compressed(body: String, content_type: &'static str, at: DateTime<Utc>) -> Self {
        let mut rendered = Rendered::new(body, content_type, at);
        if rendered.body.len() >= COMPRESS_FROM {
            rendered.gzip = gzip(&rendered.body).map(Bytes::from);
            rendered.brotli = brotli(&rendered.body).map(Bytes::from);
        }
        rendered
    }

    /// The previous rendering when the body is the same, so validators and compressed copies stay;
    /// otherwise a new one dated `at`.
    fn again(previous: Option<&Rendered>, body: String, content_type: &'static str, at: DateTime<Utc>) -> Self {
        match previous {
            Some(p) if p.body == body.as_bytes() => p.clone(),
            _ => Rendered::compressed(body, content_type, at),
        }
    }

    /// Answers a GET: `304` when the client's validators match, else the best encoding it accepts.
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let accepts = |coding: &str| {
            request.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
                v.split(',').any(|part| {
                    let mut it = part.split(';');
                    let name = it.next().unwrap_or_default().trim();
                    let refused = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                    name.eq_ignore_ascii_case(coding) && !refused
                })
            })
        };
        let (body, encoding, suffix) = match (&self.brotli, &self.gzip) {
            (Some(br), _) if accepts("br") => (br, Some("br"), "-br"),
            (_, Some(gz)) if accepts("gzip") => (gz, Some("gzip"), "-gz"),
            _ => (&self.body, None, ""),
        };
        let etag = format!("\"{}{suffix}\"", self.tag);
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, v);
        }
        if let Ok(v) = HeaderValue::from_str(&http_date(self.last_modified)) {
            headers.insert(header::LAST_MODIFIED, v);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=10"));
        if self.gzip.is_some() || self.brotli.is_some() {
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        if self.not_modified(request) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        (headers, body.clone()).into_response()
    }

    /// `If-None-Match` decides when it is sent (any encoding's tag of this body matches);
    /// otherwise `If-Modified-Since`.
    fn not_modified(&self, request: &HeaderMap) -> bool {
        if let Some(tags) = request.get(header::IF_NONE_MATCH) {
            return tags.to_str().is_ok_and(|tags| {
                tags.split(',').any(|t| {
                    let t = t.trim().trim_start_matches("W/").trim_matches('"');
                    t == "*" || t.strip_suffix("-br").or_else(|| t.strip_suffix("-gz")).unwrap_or(t) == self.tag
                })
            });
        }
        request
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(&v.replace("GMT", "+0000")).ok())
            .is_some_and(|since| self.last_modified.timestamp() <= since.timestamp())
    }
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

fn brotli(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    // On the example's page quality 5 is within 1 % of 9 (3,152 and 3,128 bytes of 47,936) in a
    // sixth of the time, and its hash table is about 1 MB where 9's is about 32 MB.
    // A window no larger than the body (at least 64 kB): the encoder's buffers follow it.
    let lgwin = (usize::BITS - body.len().leading_zeros()).clamp(16, 22) as i32;
    let params = ::brotli::enc::BrotliEncoderParams { quality: 5, lgwin, size_hint: body.len(), ..Default::default() };
    ::brotli::BrotliCompress(&mut &body[..], &mut out, &params).ok()?;
    Some(out)
}

/// Everything public, rendered at one moment.
pub struct Snapshot {
    /// Every public route that has one answer, by path: the page, `/history`, the feeds, `/api/v2`.
    pub files: HashMap<&'static str, Rendered>,
    /// The pages of the newest incidents, each with the incident it was rendered from; older ones
    /// are rendered when asked for.
    pub incidents: HashMap<i64, (Incident, Arc<Rendered>)>,
    /// What is public and its status, for the badges.
    pub overview: Overview,
    pub trends: Arc<Trends>,
    pub generated: DateTime<Utc>,
}

#[derive(Default)]
pub struct PublicCache {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Trends of monitors the page does not picture, read when their badge is asked for and kept
    /// for [`trends::MAX_AGE`]: a crowd on one badge costs one read a minute.
    unpictured: Mutex<HashMap<MonitorId, Kept>>,
}

/// A trend and when it was read.
type Kept = (DateTime<Utc>, Arc<MonitorTrend>);

/// The most unpictured monitors whose trends are kept at once.
const UNPICTURED_KEPT: usize = 10_000;

impl PublicCache {
    /// A public monitor's trend: the snapshot's, or one read now (or less than a minute ago).
    pub async fn trend(
        &self,
        snapshot: &Snapshot,
        state: &AppState,
        view: &MonitorView,
    ) -> Result<Arc<MonitorTrend>, StoreError> {
        if let Some(trend) = snapshot.trends.monitors.get(&view.id) {
            return Ok(Arc::clone(trend));
        }
        let now = (state.now)();
        let kept = self.unpictured.lock().ok().and_then(|map| {
            map.get(&view.id).filter(|(at, _)| now - *at < trends::MAX_AGE).map(|(_, t)| Arc::clone(t))
        });
        if let Some(trend) = kept {
            return Ok(trend);
        }
        let trend = Arc::new(MonitorTrend::load(&*state.store, view, state.config.page.time_zone, now).await?);
        if let Ok(mut map) = self.unpictured.lock() {
            if map.len() >= UNPICTURED_KEPT {
                map.retain(|_, (at, _)| now - *at < trends::MAX_AGE);
                if map.len() >= UNPICTURED_KEPT {
                    map.clear();
                }
            }
            map.insert(view.id.clone(), (now, Arc::clone(&trend)));
        }
        Ok(trend)
    }

    pub fn get(&self) -> Option<Arc<Snapshot>> {
        self.current.read().map_or(None, |s| s.clone())
    }

    fn set(&self, snapshot: Snapshot) {
        if let Ok(mut current) = self.current.write() {
            *current = Some(Arc::new(snapshot));
        }
    }
}

/// The public routes with one answer each, beside `/api/v2` ([`statuspage::ROUTES`]).
pub const FILES: [&str; 7] =
    ["/", "/history", "/feed.rss", "/feed.atom", "/feed.json", "/history.rss", "/history.atom"];

const JSON: &str = "application/json; charset=utf-8";
const RSS: &str = "application/rss+xml; charset=utf-8";
const ATOM: &str = "application/atom+xml; charset=utf-8";

/// Renders everything public from the store and the live state, and swaps it in.
/// Returns when a maintenance window next starts or ends, when the page must change by itself.
pub async fn rebuild(state: &AppState) -> Result<Option<DateTime<Utc>>, StoreError> {
    let now = (state.now)();
    let config = &state.config;
    let page = &config.page;
    let events = state.store.feed_events(page.feed_items).await?;
    let items = upbeat_core::feed::items(&page.base_url, &events, page.feed_items);
    let monitors = state.runtime.monitors();
    let recent_incidents = state.store.incidents(CACHED_INCIDENTS, false).await?;
    // Windows that ended in the bars' days too: their tooltips, and `/api/v2` lists completed ones.
    let bars_since = now - chrono::Duration::days(i64::from(trends::DAYS) + 1);
    let maintenances = state.store.maintenances(MAINTENANCES, Some(bars_since)).await?;
    let next_edge = maintenances.iter().filter_map(|m| m.next_edge(now)).min();
    let overview = Overview::new(config, monitors, &recent_incidents, &maintenances, now);
    let previous = state.cache.get();
    let trends = Trends::refresh(
        previous.as_ref().map(|p| &p.trends),
        &*state.store,
        &overview,
        &recent_incidents,
        &maintenances,
        page.time_zone,
        now,
    )
    .await?;
    let modified = items.first().map_or(now, |i| i.published);
    let history_feed = &recent_incidents[..recent_incidents.len().min(HISTORY_FEED_ITEMS)];
    // (path, content type, body, Last-Modified)
    let bodies: Vec<(&'static str, &'static str, String, DateTime<Utc>)> = vec![
        ("/", HTML, render::page(config, &overview, &trends, &recent_incidents, &maintenances, now), now),
        (
            "/history",
            HTML,
            render::history_page(
                config,
                &recent_incidents[..recent_incidents.len().min(render::HISTORY_PAGE + 1)],
                1,
                now,
            ),
            now,
        ),
        ("/feed.rss", RSS, render::rss(page, &items), modified),
        ("/feed.atom", ATOM, render::atom(page, &items, now), modified),
        ("/feed.json", "application/feed+json; charset=utf-8", render::json_feed(page, &items), modified),
        ("/history.rss", RSS, render::history_rss(page, history_feed), now),
        ("/history.atom", ATOM, render::history_atom(page, history_feed, now), now),
    ];
    let v2 = statuspage::render(config, &overview, &recent_incidents, &maintenances, now);
    let files = bodies
        .into_iter()
        .chain(v2.routes().map(|(path, body)| (path, JSON, body, now)))
        .map(|(path, content_type, body, at)| {
            let before = previous.as_ref().and_then(|p| p.files.get(path));
            (path, Rendered::again(before, body, content_type, at))
        })
        .collect();
    // Most rebuilds follow a monitor's change: an incident that did not change keeps its page.
    let incidents = recent_incidents
        .iter()
        .map(|i| {
            let kept = previous
                .as_ref()
                .and_then(|p| p.incidents.get(&i.id))
                .filter(|(rendered_from, _)| rendered_from == i)
                .map(|(_, page)| Arc::clone(page));
            let page = kept.unwrap_or_else(|| {
                Arc::new(Rendered::compressed(render::incident_page(config, &overview, i, now), HTML, now))
            });
            (i.id, (i.clone(), page))
        })
        .collect();
    state.cache.set(Snapshot { files, incidents, overview, trends, generated: now });
    Ok(next_edge)
}

const HTML: &str = "text/html; charset=utf-8";

/// How many maintenance windows the page and `/api/v2` know of.
const MAINTENANCES: usize = 100;

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
        let started = std::time::Instant::now();
        match rebuild(&state).await {
            Ok(edge) => {
                next_edge = edge;
                tracing::debug!(elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "rendered the public pages");
            }
            Err(e) => tracing::warn!(error = %e, "could not re-render the public pages; serving the previous ones"),
        }
    }
}

fn serve(state: &AppState, headers: &HeaderMap, path: &str) -> Response {
    match state.cache.get() {
        Some(snapshot) => match snapshot.files.get(path) {
            Some(file) => file.respond(headers),
            None => not_found(),
        },
        None => (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response(),
    }
}

/// Every route in [`FILES`] and [`statuspage::ROUTES`]: the same bytes for everyone until something changes.
pub async fn file(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    serve(&state, &headers, uri.path())
}

pub async fn incident(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let missing = || page_not_found(&state, &format!("/incident/{id}"), "There is no incident with this number.");
    let Ok(id) = id.parse::<i64>() else { return missing() };
    let Some(snapshot) = state.cache.get() else { return missing() };
    if let Some((_, page)) = snapshot.incidents.get(&id) {
        return page.respond(&headers);
    }
    // An old incident: rendered on request; a crowd reads the new ones, which are cached.
    match state.store.incident(id).await {
        Ok(Some(incident)) => {
            let now = (state.now)();
            Rendered::new(render::incident_page(&state.config, &snapshot.overview, &incident, now), HTML, now)
                .respond(&headers)
        }
        Ok(None) => missing(),
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
        return serve(&state, &headers, "/history");
    }
    let wanted = page * render::HISTORY_PAGE + 1;
    match state.store.incidents(wanted, false).await {
        Ok(all) => {
            let now = (state.now)();
            let from = ((page - 1) * render::HISTORY_PAGE).min(all.len());
            Rendered::new(render::history_page(&state.config, &all[from..], page, now), HTML, now).respond(&headers)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the incident history");
            (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response()
        }
    }
}

pub(crate) fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// The styled 404 page for a person who followed a wrong link: the header leads back home. It is
/// rendered per request (a template, no query), because its links depend on the path asked for.
pub(crate) fn page_not_found(state: &AppState, path: &str, message: &str) -> Response {
    let html = render::not_found_page(&state.config, path, message, (state.now)());
    (StatusCode::NOT_FOUND, axum::response::Html(html)).into_response()
}
