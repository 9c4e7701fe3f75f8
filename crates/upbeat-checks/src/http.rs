//! The HTTP(S) probe.
//!
//! It is written on hyper's connection-level API rather than on a client library because a
//! monitor needs what a client hides: where the time went (DNS, connect, TLS, first byte) and
//! *why* a request failed, in terms an operator can act on. Each probe, and each redirect hop,
//! uses a fresh connection so that the phases measure what a new visitor would experience.

use std::error::Error as _;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use upbeat_core::condition::{Condition, Observed, evaluate_all};
use upbeat_core::monitor::HttpSpec;
use upbeat_core::sample::ProbeOutcome;
use upbeat_core::{ErrorKind, Phases, ProbeError};

use crate::net::{self, Deadline, add_phase, describe_io, one_line};

/// Browsers give up around 20; 10 is plenty for a health URL and stops loops early.
const MAX_REDIRECTS: usize = 10;
/// Body checks look for a marker in a health page; reading more than this would let a large
/// download eat the probe's memory and time for nothing.
const BODY_CAP: usize = 1024 * 1024;

const USER_AGENT: &str = concat!("upbeat/", env!("CARGO_PKG_VERSION"));

pub(crate) async fn probe(spec: &HttpSpec, tls: &Arc<ClientConfig>, timeout: Duration) -> ProbeOutcome {
    let deadline = Deadline::start(timeout);
    let mut phases = Phases::default();
    let (http_status, error) = match check(spec, tls, &deadline, &mut phases, false).await {
        Ok((status, _)) => (Some(status), None),
        Err(failure) => (failure.status, Some(failure.error)),
    };
    ProbeOutcome { latency: deadline.elapsed(), phases, http_status, error }
}

/// Fetches a URL the way a probe would (same deadline, redirects and errors) and returns the
/// body, at most [`BODY_CAP`] bytes: what a pulled metric reads its value from.
pub(crate) async fn fetch(spec: &HttpSpec, tls: &Arc<ClientConfig>, timeout: Duration) -> Result<Vec<u8>, ProbeError> {
    let deadline = Deadline::start(timeout);
    let mut phases = Phases::default();
    match check(spec, tls, &deadline, &mut phases, true).await {
        Ok((_, body)) => Ok(body.unwrap_or_default()),
        Err(failure) => Err(failure.error),
    }
}

/// A failed check, with the status of the final response when one arrived: "HTTP 500" and
/// "body does not contain" both still have a status worth showing.
struct Failure {
    status: Option<u16>,
    error: ProbeError,
}

impl From<ProbeError> for Failure {
    fn from(error: ProbeError) -> Failure {
        Failure { status: None, error }
    }
}

fn failure(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Failure {
    Failure { status: Some(status.as_u16()), error: ProbeError::new(kind, message) }
}

/// One exchange with redirects followed, judged by the spec; the final status, and the body when
/// `want_body` or a body check asked for it.
async fn check(
    spec: &HttpSpec,
    tls: &Arc<ClientConfig>,
    deadline: &Deadline,
    phases: &mut Phases,
    want_body: bool,
) -> Result<(u16, Option<Vec<u8>>), Failure> {
    let origin = Target::parse(&spec.url)?;
    let mut target = origin.clone();
    let mut method = spec.method.clone();
    let mut redirects = 0;
    loop {
        let request = build_request(&target, &method, spec, target.same_origin(&origin))?;
        // The connection task lives as long as `_connection`: through the body read, and no
        // longer, so an abandoned hop never leaves a socket behind.
        let (response, _connection, not_after) = exchange(&target, request, tls, deadline, phases).await?;
        let status = response.status();

        // A 3xx without a Location is a final answer like any other status.
        let redirect = match response.headers().get(header::LOCATION) {
            Some(location) if spec.follow_redirects && status.is_redirection() => Some(location),
            _ => None,
        };
        if let Some(location) = redirect {
            if redirects == MAX_REDIRECTS {
                return Err(failure(status, ErrorKind::Protocol, format!("more than {MAX_REDIRECTS} redirects")));
            }
            let next = resolve_location(&target.uri, location).ok_or_else(|| {
                failure(
                    status,
                    ErrorKind::Protocol,
                    format!("HTTP {} redirects to an invalid location", status.as_u16()),
                )
            })?;
            target = Target::parse(&next).map_err(|error| Failure { status: Some(status.as_u16()), error })?;
            method = redirect_method(status, method);
            redirects += 1;
            tracing::trace!(to = %target.uri, "following redirect");
            continue;
        }

        let code = status.as_u16();
        if !spec.expected_status.contains(code) {
            return Err(failure(status, ErrorKind::Status, format!("HTTP {code}, expected {}", spec.expected_status)));
        }
        let body_checks = !spec.body_contains.is_empty() || !spec.body_not_contains.is_empty();
        let needs_body = want_body || body_checks || spec.conditions.iter().any(Condition::needs_body);
        let body = if needs_body {
            let (body, truncated) =
                read_body(response, deadline).await.map_err(|error| Failure { status: Some(code), error })?;
            check_body(spec, &body, truncated).map_err(|message| failure(status, ErrorKind::Body, message))?;
            Some(body)
        } else {
            None
        };
        if !spec.conditions.is_empty() {
            let observed = Observed {
                status: Some(code),
                response_time: deadline.elapsed(),
                body: body.as_deref(),
                certificate_expiration: not_after.map(|t| (t - Utc::now()).to_std().unwrap_or_default()),
                connected: true,
            };
            evaluate_all(&spec.conditions, &observed)
                .map_err(|message| failure(status, ErrorKind::Condition, one_line(&message)))?;
        }
        return Ok((code, body));
    }
}

/// Where one hop goes, taken apart once so each step does not re-derive it from the URL.
#[derive(Clone)]
struct Target {
    uri: Uri,
    https: bool,
    /// As written in the URL: IPv6 literals keep their brackets.
    host: String,
    port: u16,
    /// The Host header: the URL's authority without any user info.
    authority: String,
    /// What goes on the request line (origin-form).
    path: Uri,
}

impl Target {
    fn parse(uri: &Uri) -> Result<Target, ProbeError> {
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(other) => {
                return Err(ProbeError::new(ErrorKind::Protocol, format!("unsupported URL scheme {other:?}")));
            }
            None => {
                return Err(ProbeError::new(ErrorKind::Protocol, format!("{uri} is not an absolute URL")));
            }
        };
        let (host, authority) = match (uri.host(), uri.authority()) {
            (Some(host), Some(authority)) if !host.is_empty() => {
                let authority = authority.as_str();
                let authority = authority.rsplit_once('@').map_or(authority, |(_, host_port)| host_port);
                (host.to_owned(), authority.to_owned())
            }
            _ => {
                return Err(ProbeError::new(ErrorKind::Protocol, format!("{uri} has no host")));
            }
        };
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let path = if path_and_query.starts_with('/') {
            Uri::try_from(path_and_query)
        } else {
            Uri::try_from(format!("/{path_and_query}"))
        }
        .map_err(|_| ProbeError::new(ErrorKind::Protocol, format!("{uri} has an invalid path")))?;
        Ok(Target { uri: uri.clone(), https, host, port, authority, path })
    }

    fn same_origin(&self, other: &Target) -> bool {
        self.https == other.https && self.port == other.port && self.host.eq_ignore_ascii_case(&other.host)
    }
}

/// Headers that carry credentials: sent to the configured origin only, never to wherever a
/// redirect points, as browsers and HTTP clients do.
const CREDENTIAL_HEADERS: [HeaderName; 3] = [header::AUTHORIZATION, header::COOKIE, header::PROXY_AUTHORIZATION];

fn build_request(
    target: &Target,
    method: &Method,
    spec: &HttpSpec,
    same_origin: bool,
) -> Result<Request<Empty<Bytes>>, ProbeError> {
    let host = HeaderValue::from_str(&target.authority).map_err(|_| {
        ProbeError::new(ErrorKind::Protocol, format!("{} is not a valid Host header", target.authority))
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, host);
    headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    // The configured headers replace the defaults above (a monitor may need its own Host or
    // User-Agent), but repeated configured names must all be sent.
    let mut configured: Vec<&HeaderName> = Vec::new();
    for (name, value) in &spec.headers {
        if !same_origin && CREDENTIAL_HEADERS.contains(name) {
            continue;
        }
        if configured.contains(&name) {
            headers.append(name.clone(), value.clone());
        } else {
            configured.push(name);
            headers.insert(name.clone(), value.clone());
        }
    }
    // One request per connection, always: phases must measure a fresh connection, and the
    // server should not keep a socket waiting for a second request that never comes.
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));

    let mut request = Request::new(Empty::new());
    *request.method_mut() = method.clone();
    *request.uri_mut() = target.path.clone();
    *request.headers_mut() = headers;
    Ok(request)
}

/// Aborts the task driving a hyper connection when the probe is done with it. Without this, a
/// server that never answers would keep the task, and the socket, alive after the probe has
/// already reported a timeout.
struct Connection(JoinHandle<()>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn exchange(
    target: &Target,
    request: Request<Empty<Bytes>>,
    tls: &Arc<ClientConfig>,
    deadline: &Deadline,
    phases: &mut Phases,
) -> Result<(Response<Incoming>, Connection, Option<DateTime<Utc>>), ProbeError> {
    let addrs = net::resolve(&target.host, target.port, deadline, phases).await?;
    let tcp = net::connect(&addrs, deadline, phases).await?;
    if target.https {
        let tls_stream = tls_handshake(tcp, target, tls, deadline, phases).await?;
        // For `[CERTIFICATE_EXPIRATION]`: when the certificate this connection saw expires.
        let not_after = crate::tls::peer_validity(tls_stream.get_ref().1).ok().map(|v| v.not_after);
        let (response, connection) = send(tls_stream, request, deadline, phases).await?;
        Ok((response, connection, not_after))
    } else {
        let (response, connection) = send(tcp, request, deadline, phases).await?;
        Ok((response, connection, None))
    }
}

async fn tls_handshake(
    tcp: tokio::net::TcpStream,
    target: &Target,
    tls: &Arc<ClientConfig>,
    deadline: &Deadline,
    phases: &mut Phases,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, ProbeError> {
    let host = net::bare_host(&target.host);
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| ProbeError::new(ErrorKind::Tls, format!("{host} is not a valid TLS server name")))?;
    let started = Instant::now();
    let handshake =
        deadline.run("during the TLS handshake", TlsConnector::from(Arc::clone(tls)).connect(name, tcp)).await;
    add_phase(&mut phases.tls, started.elapsed());
    // Whatever went wrong during the handshake (a certificate, a protocol mismatch, a peer that
    // is not TLS at all, or one that hung up on our hello) the fix is on the TLS side.
    handshake?.map_err(|err| ProbeError::new(ErrorKind::Tls, format!("TLS handshake failed: {}", describe_io(&err))))
}

async fn send<S>(
    io: S,
    request: Request<Empty<Bytes>>,
    deadline: &Deadline,
    phases: &mut Phases,
) -> Result<(Response<Incoming>, Connection), ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = deadline
        .run("while starting the HTTP exchange", http1::handshake(TokioIo::new(io)))
        .await?
        .map_err(|err| classify_hyper(&err))?;
    let connection = Connection(tokio::spawn(async move {
        // Any failure here also reaches the request or the body, which report it; this is only
        // for whoever is tracing connections.
        if let Err(err) = connection.await {
            tracing::trace!(error = %err, "probe connection ended with an error");
        }
    }));
    // Measured from handing the request over, so first_byte includes writing it: for an empty
    // body that is one small write, and it is what the server's slowness shows up in.
    let sent = Instant::now();
    let response = deadline
        .run("while waiting for the response headers", sender.send_request(request))
        .await?
        .map_err(|err| classify_hyper(&err))?;
    add_phase(&mut phases.first_byte, sent.elapsed());
    Ok((response, connection))
}

/// Reads at most [`BODY_CAP`] bytes; the flag says whether there was more.
async fn read_body(response: Response<Incoming>, deadline: &Deadline) -> Result<(Vec<u8>, bool), ProbeError> {
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|err| classify_hyper(&err))?;
            if let Ok(data) = frame.into_data() {
                let room = BODY_CAP - bytes.len();
                if data.len() >= room {
                    bytes.extend_from_slice(&data[..room]);
                    return Ok(data.len() > room || !body.is_end_stream());
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(false)
    };
    let truncated = deadline.run("while reading the body", read).await??;
    Ok((bytes, truncated))
}

fn check_body(spec: &HttpSpec, body: &[u8], truncated: bool) -> Result<(), String> {
    // Lossy: a marker is text, and one invalid byte elsewhere must not hide it.
    let text = String::from_utf8_lossy(body);
    let scope = if truncated { " (in its first 1 MiB)" } else { "" };
    if let Some(missing) = spec.body_contains.iter().find(|needle| !text.contains(needle.as_str())) {
        return Err(one_line(&format!("body does not contain {missing:?}{scope}")));
    }
    if let Some(present) = spec.body_not_contains.iter().find(|needle| text.contains(needle.as_str())) {
        return Err(one_line(&format!("body contains {present:?}")));
    }
    Ok(())
}

/// hyper reports what went wrong in its own terms; this maps them onto the kinds an operator
/// sees. An I/O cause wins because it is the most precise; then hyper's own categories.
fn classify_hyper(err: &hyper::Error) -> ProbeError {
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(io_err) = cause.downcast_ref::<io::Error>() {
            let is_tls = io_err.get_ref().is_some_and(|inner| inner.is::<rustls::Error>());
            let kind = if is_tls { ErrorKind::Tls } else { net::classify_io(io_err, ErrorKind::Reset) };
            let message = match kind {
                ErrorKind::Reset => "connection reset before the response was complete".to_owned(),
                _ => describe_io(io_err),
            };
            return ProbeError::new(kind, message);
        }
        source = cause.source();
    }
    if err.is_parse() {
        ProbeError::new(ErrorKind::Protocol, format!("not a valid HTTP response: {err}"))
    } else if err.is_incomplete_message() || err.is_closed() || err.is_canceled() {
        ProbeError::new(ErrorKind::Reset, "connection closed before the response was complete")
    } else {
        ProbeError::new(ErrorKind::Protocol, one_line(&err.to_string()))
    }
}

/// Resolves a Location header against the URL that returned it (RFC 3986, section 5.2): servers
/// commonly send relative references, and fragments never reach the server.
fn resolve_location(base: &Uri, location: &HeaderValue) -> Option<Uri> {
    let location = location.to_str().ok()?.trim();
    let location = location.split('#').next().unwrap_or_default();
    if location.is_empty() {
        return Some(base.clone());
    }
    if let Ok(uri) = Uri::try_from(location)
        && uri.scheme().is_some()
    {
        return Some(uri);
    }
    let scheme = base.scheme_str()?;
    if location.starts_with("//") {
        return Uri::try_from(format!("{scheme}:{location}")).ok();
    }
    let (path, query) = match location.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (location, None),
    };
    let path = if path.starts_with('/') {
        remove_dot_segments(path)
    } else if path.is_empty() {
        base.path().to_owned()
    } else {
        let base_path = base.path();
        let directory = base_path.rfind('/').map_or("/", |at| &base_path[..=at]);
        remove_dot_segments(&format!("{directory}{path}"))
    };
    let path_and_query = match query {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    Uri::builder().scheme(scheme).authority(base.authority()?.as_str()).path_and_query(path_and_query).build().ok()
}

fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            other => {
                kept.push(other);
                continue;
            }
        }
        // "/a/b/.." names the directory "/a/", so the trailing slash must survive.
        if last {
            kept.push("");
        }
    }
    format!("/{}", kept.join("/"))
}

/// Follows what browsers do, since that is what the monitored site is built for: 303 always
/// becomes GET, and so do 301 and 302 after a POST.
fn redirect_method(status: StatusCode, method: Method) -> Method {
    let to_get = match status {
        StatusCode::SEE_OTHER => method != Method::HEAD,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => method == Method::POST,
        _ => false,
    };
    if to_get { Method::GET } else { method }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(base: &str, location: &str) -> Option<String> {
        let base = Uri::try_from(base).expect("base URL");
        resolve_location(&base, &HeaderValue::from_str(location).expect("header")).map(|uri| uri.to_string())
    }

    #[test]
    fn locations_resolve_like_a_browser() {
        let base = "http://a.example:8080/b/c/d?q";
        let cases = [
            ("https://other.example/x", "https://other.example/x"),
            ("//other.example/x", "http://other.example/x"),
            ("/x/y", "http://a.example:8080/x/y"),
            ("g", "http://a.example:8080/b/c/g"),
            ("./g/", "http://a.example:8080/b/c/g/"),
            ("../g?x=1", "http://a.example:8080/b/g?x=1"),
            ("../..", "http://a.example:8080/"),
            ("?y", "http://a.example:8080/b/c/d?y"),
            ("/x#frag", "http://a.example:8080/x"),
            ("", "http://a.example:8080/b/c/d?q"),
        ];
        for (location, expected) in cases {
            assert_eq!(resolve(base, location).as_deref(), Some(expected), "{location}");
        }
    }

    #[test]
    fn post_becomes_get_where_browsers_do() {
        assert_eq!(redirect_method(StatusCode::FOUND, Method::POST), Method::GET);
        assert_eq!(redirect_method(StatusCode::TEMPORARY_REDIRECT, Method::POST), Method::POST);
        assert_eq!(redirect_method(StatusCode::SEE_OTHER, Method::HEAD), Method::HEAD);
        assert_eq!(redirect_method(StatusCode::SEE_OTHER, Method::PUT), Method::GET);
    }
}
