//! A small client of upbeat's management API, for `upbeat incident ...`.
//!
//! It exists so people and scripts can post incidents from a terminal or a CI job without writing
//! curl and JSON by hand, and so that doing it safely is the default: every request carries the
//! token, errors come back as the API's `{code, message, field}`, and creating an incident always
//! sends an `Idempotency-Key` and retries with the same key, so a retry after a lost answer never
//! creates the incident twice. It holds no logic of its own; the server checks everything.
//!
//! The command line (`cli.rs`) parses arguments and prints; this module only speaks HTTP.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

/// How many times a request is sent again after a failure that allows it.
const RETRIES: u32 = 3;
/// The pause before the first retry; it doubles before each of the next.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// What went wrong talking to the server.
#[derive(Debug)]
pub enum ClientError {
    /// The server answered with an API error.
    Api { status: u16, code: String, message: String, field: Option<String> },
    /// No answer: refused, unresolvable, reset, timed out.
    Unreachable { server: String, reason: String },
    /// An answer that is not the API's: a proxy's error page, a redirect, JSON of another shape.
    Unexpected { server: String, detail: String },
    /// The client could not be set up: a bad server URL, no randomness.
    Setup(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Api { code, message, field: Some(field), .. } => {
                write!(f, "{message} ({code}, field {field})")
            }
            ClientError::Api { code, message, field: None, .. } => write!(f, "{message} ({code})"),
            ClientError::Unreachable { server, reason } => write!(f, "cannot reach {server}: {reason}"),
            ClientError::Unexpected { server, detail } => write!(f, "unexpected answer from {server}: {detail}"),
            ClientError::Setup(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ClientError {}

/// An incident as the API returns it; fields this client does not use are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub impact: String,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub components: BTreeMap<String, String>,
    #[serde(default)]
    pub updates: Vec<Update>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub id: i64,
    pub status: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

impl Incident {
    /// The update posted last. Updates are listed by their (settable) time, so this is the one
    /// with the highest id, not necessarily the first.
    pub fn latest_update(&self) -> Option<&Update> {
        self.updates.iter().max_by_key(|u| u.id)
    }
}

/// `POST /api/v1/incidents`. Unset fields take the server's defaults.
#[derive(Debug, Clone, Serialize)]
pub struct NewIncident {
    pub title: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/incidents/{id}/updates`.
#[derive(Debug, Clone, Serialize)]
pub struct NewUpdate {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct ResolveBody<'a> {
    message: &'a str,
}

/// `GET /api/v1/incidents`: the body exactly as the server sent it, and what it says.
#[derive(Debug, Clone)]
pub struct Listing {
    pub json: String,
    pub incidents: Vec<Incident>,
}

#[derive(Deserialize)]
struct ListBody {
    incidents: Vec<Incident>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Deserialize)]
struct ErrorInner {
    code: String,
    message: String,
    #[serde(default)]
    field: Option<String>,
}

/// Which failures a request may be sent again after.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Reads, and POSTs carrying an `Idempotency-Key`: any transport failure and any 5xx.
    Always,
    /// Other writes: only when the connection was never made, so nothing reached the server.
    NotSent,
}

/// A new `Idempotency-Key`: 128 random bits, one per command run.
pub fn new_idempotency_key() -> Result<String, ClientError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ClientError::Setup(format!("no randomness available: {e}")))?;
    Ok(format!("upbeat-cli-{}", hex::encode(bytes)))
}

/// The deepest cause of a transport error: "Connection refused (os error 111)", not reqwest's
/// "error sending request for url (...)".
fn reason(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if error.is_timeout() { format!("timed out ({cause})") } else { cause.to_string() }
}

pub struct Client {
    server: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the server at `server` (`http://` or `https://`, optionally with a path prefix).
    pub fn new(server: &str, token: &str) -> Result<Client, ClientError> {
        let server = server.trim().trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&server) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            _ => {
                return Err(ClientError::Setup(format!(
                    "the server must be an http:// or https:// URL, not `{server}`"
                )));
            }
        }
        // reqwest is built without a crypto provider so only ring is linked (no aws-lc); install
        // it once per process. Err means one is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("upbeat/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            // A redirect would turn a POST into a GET or send the token elsewhere: report it instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Setup(format!("cannot set up the HTTP client: {}", reason(&e))))?;
        Ok(Client { server, token: token.to_owned(), http })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// Creates an incident. Retries (up to 3 times) on transport errors and 5xx answers with the
    /// same `idempotency_key` and the same body bytes, so the server creates it at most once.
    pub async fn open_incident(&self, new: &NewIncident, idempotency_key: &str) -> Result<Incident, ClientError> {
        let body = self.encode(new)?;
        let bytes =
            self.send(Method::POST, "/api/v1/incidents", Some(body), Some(idempotency_key), Retry::Always).await?;
        self.decode(&bytes)
    }

    /// Posts an update; the answer is the whole incident (see [`Incident::latest_update`]).
    pub async fn post_update(&self, id: i64, update: &NewUpdate) -> Result<Incident, ClientError> {
        let body = self.encode(update)?;
        let path = format!("/api/v1/incidents/{id}/updates");
        let bytes = self.send(Method::POST, &path, Some(body), None, Retry::NotSent).await?;
        self.decode(&bytes)
    }

    /// Resolves an incident with a last message.
    pub async fn resolve(&self, id: i64, message: &str) -> Result<Incident, ClientError> {
        let body = self.encode(&ResolveBody { message })?;
        let path = format!("/api/v1/incidents/{id}/resolve");
        let bytes = self.send(Method::POST, &path, Some(body), None, Retry::NotSent).await?;
        self.decode(&bytes)
    }

    /// Lists incidents, newest first; `None` takes the server's default limit.
    pub async fn list_incidents(&self, limit: Option<u16>) -> Result<Listing, ClientError> {
        let path = match limit {
            Some(n) => format!("/api/v1/incidents?limit={n}"),
            None => "/api/v1/incidents".to_owned(),
        };
        let bytes = self.send(Method::GET, &path, None, None, Retry::Always).await?;
        let ListBody { incidents } = self.decode(&bytes)?;
        let json = String::from_utf8(bytes).map_err(|e| self.unexpected(format!("the body is not UTF-8: {e}")))?;
        Ok(Listing { json, incidents })
    }

    /// Schedules a maintenance window; the answer is the window as JSON.
    pub async fn schedule_maintenance(&self, new: &serde_json::Value) -> Result<serde_json::Value, ClientError> {
        let body = self.encode(new)?;
        let bytes = self.send(Method::POST, "/api/v1/maintenance", Some(body), None, Retry::NotSent).await?;
        self.decode(&bytes)
    }

    /// Ends a window now (cancels one not started).
    pub async fn complete_maintenance(&self, id: i64) -> Result<serde_json::Value, ClientError> {
        let path = format!("/api/v1/maintenance/{id}/complete");
        let bytes = self.send(Method::POST, &path, None, None, Retry::NotSent).await?;
        self.decode(&bytes)
    }

    /// Lists windows, newest first, as the API's JSON.
    pub async fn list_maintenance(&self) -> Result<serde_json::Value, ClientError> {
        let bytes = self.send(Method::GET, "/api/v1/maintenance", None, None, Retry::Always).await?;
        self.decode(&bytes)
    }

    fn unexpected(&self, detail: String) -> ClientError {
        ClientError::Unexpected { server: self.server.clone(), detail }
    }

    fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, ClientError> {
        serde_json::to_vec(value).map_err(|e| ClientError::Setup(format!("cannot encode the request: {e}")))
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, ClientError> {
        serde_json::from_slice(bytes).map_err(|e| self.unexpected(format!("not the API's JSON: {e}")))
    }

    /// Sends a request, retrying as `retry` allows; a 2xx answer's body, or the error.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
        retry: Retry,
    ) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}{path}", self.server);
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt > RETRIES;
            let mut request =
                self.http.request(method.clone(), &url).bearer_auth(&self.token).header(ACCEPT, "application/json");
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if let Some(body) = &body {
                request = request.header(CONTENT_TYPE, "application/json").body(body.clone());
            }
            let answer = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
                    response.bytes().await.map(|bytes| (status, location, bytes.to_vec()))
                }
                Err(e) => Err(e),
            };
            match answer {
                Err(e) => {
                    let may_retry = retry == Retry::Always || e.is_connect();
                    if last || !may_retry {
                        return Err(ClientError::Unreachable { server: self.server.clone(), reason: reason(&e) });
                    }
                }
                Ok((status, _, bytes)) if status.is_success() => return Ok(bytes),
                Ok((status, _, _)) if status.is_server_error() && retry == Retry::Always && !last => {}
                Ok((status, location, bytes)) => return Err(self.error(status, location, &bytes)),
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }

    /// The API's error from a non-2xx answer, or a description of what came instead.
    fn error(&self, status: StatusCode, location: Option<String>, bytes: &[u8]) -> ClientError {
        if let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(bytes) {
            return ClientError::Api {
                status: status.as_u16(),
                code: error.code,
                message: error.message,
                field: error.field,
            };
        }
        let detail = match location {
            Some(to) if status.is_redirection() => {
                let to: String = to.chars().filter(|c| !c.is_control()).collect();
                format!("HTTP {status}, redirected to {to}; is --server right?")
            }
            _ => format!("HTTP {status} without an API error"),
        };
        self.unexpected(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_the_api_states_them() {
        let client = Client::new("http://127.0.0.1:1/", "t").expect("client");
        assert_eq!(client.server(), "http://127.0.0.1:1");
        let body = br#"{"error": {"code": "invalid_value", "message": "must not be empty", "field": "message"}}"#;
        let error = client.error(StatusCode::BAD_REQUEST, None, body);
        assert_eq!(error.to_string(), "must not be empty (invalid_value, field message)");
        let body = br#"{"error": {"code": "forbidden", "message": "no"}}"#;
        assert_eq!(client.error(StatusCode::FORBIDDEN, None, body).to_string(), "no (forbidden)");
        let html = client.error(StatusCode::BAD_GATEWAY, None, b"<html>");
        assert_eq!(
            html.to_string(),
            "unexpected answer from http://127.0.0.1:1: HTTP 502 Bad Gateway without an API error"
        );
    }

    #[test]
    fn only_http_urls_are_servers() {
        for bad in ["127.0.0.1:8080", "ftp://x", "", "http://"] {
            assert!(matches!(Client::new(bad, "t"), Err(ClientError::Setup(_))), "{bad}");
        }
        assert!(Client::new("https://status.example.test/prefix", "t").is_ok());
    }

    #[test]
    fn idempotency_keys_differ_per_run_and_fit_the_header() {
        let (a, b) = (new_idempotency_key().expect("key"), new_idempotency_key().expect("key"));
        assert_ne!(a, b);
        assert!(a.len() <= 255 && a.is_ascii());
    }

    #[test]
    fn the_latest_update_is_the_highest_id() {
        let json = r#"{"id": 1, "title": "t", "status": "identified", "impact": "minor",
            "started_at": "2026-01-01T00:00:00Z", "updates": [
            {"id": 3, "status": "identified", "message": "b", "created_at": "2025-12-31T00:00:00Z"},
            {"id": 7, "status": "identified", "message": "c", "created_at": "2025-12-30T00:00:00Z"},
            {"id": 2, "status": "investigating", "message": "a", "created_at": "2026-01-01T00:00:00Z"}]}"#;
        let incident: Incident = serde_json::from_str(json).expect("incident");
        assert_eq!(incident.latest_update().map(|u| u.id), Some(7));
    }
}
