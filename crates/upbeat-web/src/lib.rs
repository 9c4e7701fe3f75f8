//! upbeat's HTTP surface.
//!
//! Public routes (`/`, the feeds, `/health`, `/metrics`) are served from memory: [`cache`] renders
//! them when something changes and every handler hands out the same bytes. The management API under
//! `/api/v1` reads the live state through [`Runtime`] and history through the [`Store`].
//!
//! Architecture invariant: this crate is the only one that knows HTML, and HTML only comes out of
//! auto-escaping templates.

pub mod api;
pub mod auth;
pub mod badge;
pub mod badges;
pub mod bars;
pub mod cache;
pub mod error;
pub mod incidents;
pub mod maintenance;
pub mod markdown;
pub mod news;
pub mod overview;
pub mod params;
pub mod pings;
pub mod render;
pub mod statuspage;
pub mod subscribe;
pub mod tokens;
pub mod trends;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use upbeat_core::state::OpenOutage;
use upbeat_core::{Config, MonitorId, Status};
use upbeat_store::{LastSample, Store};

pub use cache::PublicCache;
pub use error::ApiError;

/// What the web layer needs from the running engine, without depending on it.
#[async_trait::async_trait]
pub trait Runtime: Send + Sync + 'static {
    /// Every configured monitor as it is right now, in configuration order.
    fn monitors(&self) -> Vec<MonitorView>;
    /// One monitor by id.
    fn monitor(&self, id: &str) -> Option<MonitorView>;
    /// Pauses or resumes a monitor and answers once that is stored; `None` for an unknown id.
    async fn set_paused(&self, id: &str, paused: bool) -> Option<MonitorView>;
    /// Takes a heartbeat ping and answers once it is stored; with `create`, an unknown slug (with
    /// the right ping key) becomes a new heartbeat. True when it did.
    async fn ping(&self, target: PingTarget<'_>, ping: PingRequest, create: bool) -> Result<bool, PingRefused>;
    /// Takes values of the metric monitor `id` and answers once they are stored.
    async fn metric(&self, id: &str, points: Vec<(DateTime<Utc>, f64)>) -> Result<MonitorView, PingRefused>;
    /// Takes a Gatus-style push for the push monitor `key`, if `token` is its token.
    async fn push(&self, key: &str, token: &str, push: PushRequest) -> Result<(), PingRefused>;
    /// Whether the scheduler is alive and keeping up.
    fn health(&self) -> Health;
    /// Appends the Prometheus text exposition of upbeat's metrics.
    fn metrics(&self, out: &mut String);
}

/// A monitor's live state, as the API and the page show it.
#[derive(Clone, Debug)]
pub struct MonitorView {
    pub id: MonitorId,
    pub name: String,
    pub kind: &'static str,
    pub target: String,
    pub component: Option<String>,
    pub public: bool,
    pub interval_seconds: f64,
    pub state: Status,
    pub last_check: Option<LastSample>,
    pub open_outage: Option<OpenOutage>,
    /// A heartbeat's ping uuid: its URL is `<base_url>ping/<uuid>`.
    pub ping_uuid: Option<String>,
    /// A metric monitor's newest value.
    pub last_value: Option<f64>,
    /// Heartbeats, pushes and metrics: when silence or a running timer next changes the verdict.
    pub next_deadline: Option<DateTime<Utc>>,
}

impl MonitorView {
    /// A configured monitor before anything is known of it: no check yet, no outage.
    pub fn of(m: &upbeat_core::monitor::Monitor) -> MonitorView {
        MonitorView {
            id: m.id.clone(),
            name: m.name.clone(),
            kind: m.kind.name(),
            target: m.kind.target(),
            component: m.component.clone(),
            public: m.public,
            interval_seconds: m.interval.as_secs_f64(),
            state: Status::Unknown,
            last_check: None,
            open_outage: None,
            ping_uuid: None,
            last_value: None,
            next_deadline: None,
        }
    }
}

/// Which heartbeat a ping URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingTarget<'a> {
    Uuid(&'a str),
    Slug { ping_key: &'a str, slug: &'a str },
}

/// A ping as the HTTP layer received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingRequest {
    pub kind: upbeat_core::heartbeat::PingKind,
    pub exit_status: Option<u8>,
    pub rid: Option<String>,
    pub method: String,
    pub remote: Option<String>,
    pub user_agent: Option<String>,
    /// At most `MAX_PING_BODY` bytes.
    pub body: Vec<u8>,
    pub truncated: bool,
}

/// A push: Gatus' `success`, `error` and `duration` parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRequest {
    pub success: bool,
    pub error: Option<String>,
    pub duration: std::time::Duration,
}

/// Why a ping or push was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingRefused {
    NotFound,
    /// The monitor exists but is not of the kind this route feeds.
    WrongKind,
    /// A ping would create a heartbeat whose id another monitor has.
    Conflict,
    Unauthorized,
    /// The store could not take it (the writer stopped): nothing was acknowledged.
    Unavailable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    Unhealthy(String),
}

/// Everything a handler may use.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub runtime: Arc<dyn Runtime>,
    pub cache: Arc<PublicCache>,
    pub now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    /// Tells the renderer that something public changed.
    pub changed: Arc<dyn Fn() + Send + Sync>,
    /// `[page] logo`, read at start.
    pub logo: Option<cache::Rendered>,
    /// Keeps recording tokens' last use to one attempt a minute per token.
    pub token_uses: Arc<auth::TokenUses>,
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    // `/history` takes `?page=N` and has a handler of its own.
    for path in cache::FILES.into_iter().filter(|path| *path != "/history").chain(statuspage::ROUTES) {
        router = router.route(path, get(cache::file));
    }
    router
        .route("/incident/{id}", get(cache::incident))
        .route("/history", get(cache::history))
        .route("/badge/{file}", get(badges::status))
        .route("/badge/{monitor}/uptime.svg", get(badges::uptime))
        .route("/badge/{monitor}/response.svg", get(badges::response))
        .route("/logo", get(logo))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(pings::router())
        .merge(subscribe::router())
        .nest("/api/v1", api::router().merge(subscribe::api_router()))
        .fallback(not_found)
        .with_state(state)
}

async fn logo(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    match &state.logo {
        Some(logo) => logo.respond(&headers),
        None => cache::not_found(),
    }
}

async fn health(State(state): State<AppState>) -> Response {
    match state.runtime.health() {
        Health::Ok => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Health::Unhealthy(reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"status": "unhealthy", "reason": reason})))
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    state.runtime.metrics(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

async fn not_found(State(state): State<AppState>, uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::not_found("route_not_found", format!("no route for {}", uri.path())).into_response()
    } else {
        cache::page_not_found(&state, uri.path(), "Nothing is published at this address.")
    }
}
