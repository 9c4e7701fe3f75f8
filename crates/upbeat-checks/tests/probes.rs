//! Probes against real servers on the loopback interface.
//!
//! Every server here is a plain `TcpListener` that writes raw bytes, so each test controls exactly
//! what the probe sees (a status, a half-written body, garbage, silence) without a mock standing
//! between the probe and the socket. Listeners are bound before the probe starts, so there is no
//! readiness to wait for.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use upbeat_checks::Prober;
use upbeat_core::ErrorKind;
use upbeat_core::monitor::{HttpSpec, MonitorKind, StatusSet, TcpSpec};
use upbeat_core::sample::ProbeOutcome;

/// Generous, so a loaded CI machine does not turn a pass into a timeout; the timeout tests use
/// their own short one.
const TIMEOUT: Duration = Duration::from_secs(10);

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

/// Reads up to the end of the request head, which is all a probe sends.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Closes the way a well-behaved server does: finish writing, then wait for the client to hang
/// up. Closing with unread input would send a reset and turn every test into a Reset test.
async fn close_gracefully(mut stream: TcpStream) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 1024];
    while let Ok(n) = stream.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}

/// Answers every connection with `respond(request head)`.
fn serve(listener: TcpListener, respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) {
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let respond = Arc::clone(&respond);
            tokio::spawn(async move {
                let head = read_head(&mut stream).await;
                let _ = stream.write_all(&respond(&head)).await;
                close_gracefully(stream).await;
            });
        }
    });
}

async fn http_server(respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> SocketAddr {
    let (listener, addr) = bind().await;
    serve(listener, respond);
    addr
}

fn response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

/// The path on the request line of a request head.
fn path(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or_default()
}

fn spec(url: &str) -> HttpSpec {
    HttpSpec {
        url: url.parse().expect("test URL"),
        method: Method::GET,
        headers: Vec::new(),
        expected_status: StatusSet::default(),
        body_contains: Vec::new(),
        body_not_contains: Vec::new(),
        follow_redirects: true,
        conditions: Vec::new(),
    }
}

async fn probe_http(spec: HttpSpec, timeout: Duration) -> ProbeOutcome {
    Prober::new().probe(&MonitorKind::Http(spec), timeout).await
}

async fn probe_tcp(host: &str, port: u16) -> ProbeOutcome {
    let spec = TcpSpec { host: host.to_owned(), port };
    Prober::new().probe(&MonitorKind::Tcp(spec), TIMEOUT).await
}

fn error_kind(outcome: &ProbeOutcome) -> Option<ErrorKind> {
    outcome.error.as_ref().map(|e| e.kind)
}

fn message(outcome: &ProbeOutcome) -> &str {
    outcome.error.as_ref().map_or("", |e| e.message.as_str())
}

/// A port nothing listens on: bound by us a moment ago, then released.
async fn closed_port() -> SocketAddr {
    let (listener, addr) = bind().await;
    drop(listener);
    addr
}

#[tokio::test]
async fn ok_response_is_up_with_phases() {
    let addr = http_server(|_| response("200 OK", &[], "hello")).await;
    let outcome = probe_http(spec(&format!("http://{addr}/")), TIMEOUT).await;
    assert!(outcome.is_up(), "{outcome:?}");
    assert_eq!(outcome.http_status, Some(200));
    // An IP literal is never looked up, and the phase must not pretend it was.
    assert_eq!(outcome.phases.dns, None);
    assert!(outcome.phases.connect.is_some());
    assert_eq!(outcome.phases.tls, None);
    assert!(outcome.phases.first_byte.is_some());
    assert!(outcome.latency >= outcome.phases.first_byte.unwrap_or_default());
}

#[tokio::test]
async fn a_host_name_records_the_dns_phase() {
    let addr = http_server(|_| response("200 OK", &[], "")).await;
    let url = format!("http://localhost:{}/", addr.port());
    let outcome = probe_http(spec(&url), TIMEOUT).await;
    assert!(outcome.is_up(), "{outcome:?}");
    assert!(outcome.phases.dns.is_some());
    assert!(outcome.phases.connect.is_some());
}

#[tokio::test]
async fn the_request_carries_method_host_agent_and_configured_headers() {
    let (heads, mut received) = mpsc::unbounded_channel();
    let addr = http_server(move |head| {
        let _ = heads.send(head.to_owned());
        response("200 OK", &[], "")
    })
    .await;
    let mut spec = spec(&format!("http://{addr}/health?full=1"));
    spec.method = Method::HEAD;
    spec.headers = vec![
        (HeaderName::from_static("x-probe"), HeaderValue::from_static("a")),
        (HeaderName::from_static("x-probe"), HeaderValue::from_static("b")),
    ];
    let outcome = probe_http(spec, TIMEOUT).await;
    assert!(outcome.is_up(), "{outcome:?}");

    let head = received.recv().await.expect("request head").to_lowercase();
    assert!(head.starts_with("head /health?full=1 http/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("\r\nhost: {addr}\r\n")), "{head}");
    let agent = format!("\r\nuser-agent: upbeat/{}\r\n", env!("CARGO_PKG_VERSION"));
    assert!(head.contains(&agent), "{head}");
    assert!(head.contains("\r\nx-probe: a\r\n"), "{head}");
    assert!(head.contains("\r\nx-probe: b\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
}

#[tokio::test]
async fn an_unexpected_status_is_a_status_error() {
    let addr = http_server(|_| response("500 Internal Server Error", &[], "oops")).await;
    let outcome = probe_http(spec(&format!("http://{addr}/")), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Status));
    assert_eq!(message(&outcome), "HTTP 500, expected 200-399");
    assert_eq!(outcome.http_status, Some(500));
}

#[tokio::test]
async fn expected_status_can_accept_a_500() {
    let addr = http_server(|_| response("500 Internal Server Error", &[], "")).await;
    let mut spec = spec(&format!("http://{addr}/"));
    spec.expected_status = StatusSet(vec![(500, 500)]);
    let outcome = probe_http(spec, TIMEOUT).await;
    assert!(outcome.is_up(), "{outcome:?}");
    assert_eq!(outcome.http_status, Some(500));
}

#[tokio::test]
async fn body_contains_passes_when_the_text_is_there() {
    let addr = http_server(|_| response("200 OK", &[], "status: ok\n")).await;
    let mut spec = spec(&format!("http://{addr}/"));
    spec.body_contains = vec!["ok".to_owned()];
    spec.body_not_contains = vec!["error".to_owned()];
    let outcome = probe_http(spec, TIMEOUT).await;
    assert!(outcome.is_up(), "{outcome:?}");
}

#[tokio::test]
async fn body_contains_fails_when_the_text_is_missing() {
    let addr = http_server(|_| response("200 OK", &[], "status: degraded")).await;
    let mut spec = spec(&format!("http://{addr}/"));
    spec.body_contains = vec!["ok".to_owned()];
    let outcome = probe_http(spec, TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Body));
    assert_eq!(message(&outcome), "body does not contain \"ok\"");
    assert_eq!(outcome.http_status, Some(200));
}

#[tokio::test]
async fn body_not_contains_fails_when_the_text_is_there() {
    let addr = http_server(|_| response("200 OK", &[], "database error")).await;
    let mut spec = spec(&format!("http://{addr}/"));
    spec.body_not_contains = vec!["error".to_owned()];
    let outcome = probe_http(spec, TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Body));
    assert_eq!(message(&outcome), "body contains \"error\"");
}

#[tokio::test]
async fn only_the_first_mebibyte_of_the_body_is_searched() {
    let body = format!("{}ok", "a".repeat(2 * 1024 * 1024));
    let addr = http_server(move |_| response("200 OK", &[], &body)).await;
    let mut spec = spec(&format!("http://{addr}/"));
    spec.body_contains = vec!["ok".to_owned()];
    let outcome = probe_http(spec, TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Body));
    assert_eq!(message(&outcome), "body does not contain \"ok\" (in its first 1 MiB)");
}

#[tokio::test]
async fn a_silent_server_times_out_waiting_for_headers() {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            // Read everything, answer nothing, until the probe gives up and hangs up.
            tokio::spawn(async move {
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink).await;
            });
        }
    });
    let timeout = Duration::from_millis(300);
    let outcome = probe_http(spec(&format!("http://{addr}/")), timeout).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Timeout), "{outcome:?}");
    assert_eq!(message(&outcome), "timed out after 300ms while waiting for the response headers");
    assert!(outcome.latency >= timeout);
    assert!(outcome.phases.connect.is_some());
    assert_eq!(outcome.http_status, None);
}

#[tokio::test]
async fn a_stalled_body_times_out_while_reading_it() {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                read_head(&mut stream).await;
                let head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
                let _ = stream.write_all(head).await;
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink).await;
            });
        }
    });
    let mut spec = spec(&format!("http://{addr}/"));
    spec.body_contains = vec!["ok".to_owned()];
    let outcome = probe_http(spec, Duration::from_millis(300)).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Timeout), "{outcome:?}");
    assert_eq!(message(&outcome), "timed out after 300ms while reading the body");
    assert_eq!(outcome.http_status, Some(200));
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let addr = closed_port().await;
    let outcome = probe_http(spec(&format!("http://{addr}/")), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Refused), "{outcome:?}");
    assert_eq!(message(&outcome), format!("connection refused by {addr}"));
    assert_eq!(outcome.http_status, None);
}

#[tokio::test]
async fn a_server_that_hangs_up_without_answering_is_a_reset() {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let outcome = probe_http(spec(&format!("http://{addr}/")), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Reset), "{outcome:?}");
}

/// `/start` redirects with an absolute URL to `/middle/`, which redirects with a relative one to
/// `/final`.
async fn redirecting_server() -> SocketAddr {
    let (listener, addr) = bind().await;
    serve(listener, move |head| match path(head) {
        "/start" => response("302 Found", &[("Location", &format!("http://{addr}/middle/"))], ""),
        "/middle/" => response("301 Moved Permanently", &[("Location", "../final")], ""),
        "/final" => response("200 OK", &[], "arrived"),
        _ => response("404 Not Found", &[], ""),
    });
    addr
}

#[tokio::test]
async fn redirects_are_followed_to_the_final_status() {
    let addr = redirecting_server().await;
    let mut spec = spec(&format!("http://{addr}/start"));
    spec.body_contains = vec!["arrived".to_owned()];
    let outcome = probe_http(spec, TIMEOUT).await;
    assert!(outcome.is_up(), "{outcome:?}");
    assert_eq!(outcome.http_status, Some(200));
}

#[tokio::test]
async fn redirects_are_not_followed_when_disabled() {
    let addr = redirecting_server().await;
    let mut spec = spec(&format!("http://{addr}/start"));
    spec.follow_redirects = false;
    let outcome = probe_http(spec, TIMEOUT).await;
    // 302 is within the default 200-399.
    assert!(outcome.is_up(), "{outcome:?}");
    assert_eq!(outcome.http_status, Some(302));
}

#[tokio::test]
async fn a_redirect_loop_stops_after_ten_hops() {
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    let addr = http_server(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        response("302 Found", &[("Location", "/again")], "")
    })
    .await;
    let outcome = probe_http(spec(&format!("http://{addr}/")), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Protocol), "{outcome:?}");
    assert_eq!(message(&outcome), "more than 10 redirects");
    assert_eq!(outcome.http_status, Some(302));
    assert_eq!(requests.load(Ordering::SeqCst), 11);
}

#[tokio::test]
async fn credentials_are_not_sent_to_another_origin() {
    let (heads, mut received) = mpsc::unbounded_channel();
    let other = http_server(move |head| {
        let _ = heads.send(head.to_lowercase());
        response("200 OK", &[], "")
    })
    .await;
    let first = http_server(move |_| response("302 Found", &[("Location", &format!("http://{other}/"))], "")).await;
    let mut spec = spec(&format!("http://{first}/"));
    spec.headers = vec![
        (http::header::AUTHORIZATION, HeaderValue::from_static("Bearer secret")),
        (HeaderName::from_static("x-probe"), HeaderValue::from_static("yes")),
    ];
    let outcome = probe_http(spec, TIMEOUT).await;
    assert!(outcome.is_up(), "{outcome:?}");
    let head = received.recv().await.expect("request head");
    assert!(!head.contains("authorization"), "{head}");
    assert!(head.contains("x-probe: yes"), "{head}");
}

/// What happens when `https://` points at a plain HTTP port: the server answers the TLS hello
/// with an HTTP error.
#[tokio::test]
async fn https_to_a_plain_server_is_a_tls_error() {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut hello = [0u8; 1024];
                let _ = stream.read(&mut hello).await;
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
                close_gracefully(stream).await;
            });
        }
    });
    let outcome = probe_http(spec(&format!("https://{addr}/")), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Tls), "{outcome:?}");
    assert!(message(&outcome).starts_with("TLS handshake failed: "));
    assert!(outcome.phases.tls.is_some());
    assert_eq!(outcome.http_status, None);
}

#[tokio::test]
async fn a_non_http_answer_is_a_protocol_error() {
    let addr = http_server(|_| b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()).await;
    let outcome = probe_http(spec(&format!("http://{addr}/")), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Protocol), "{outcome:?}");
    assert_eq!(outcome.http_status, None);
}

#[tokio::test]
async fn an_unresolvable_name_is_a_dns_error() {
    // `.invalid` never resolves (RFC 6761), and the resolver on the machines this runs on
    // answers that at once, without the network.
    let outcome = probe_http(spec("http://nonexistent.invalid/"), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Dns), "{outcome:?}");
    assert!(message(&outcome).starts_with("could not resolve nonexistent.invalid"), "{outcome:?}");
    assert!(outcome.phases.dns.is_some());
    assert_eq!(outcome.phases.connect, None);
}

#[tokio::test]
async fn tcp_probe_is_up_when_the_port_accepts() {
    let (listener, addr) = bind().await;
    let outcome = probe_tcp("127.0.0.1", addr.port()).await;
    drop(listener);
    assert!(outcome.is_up(), "{outcome:?}");
    assert_eq!(outcome.phases.dns, None);
    assert!(outcome.phases.connect.is_some());
    assert_eq!(outcome.phases.first_byte, None);
    assert_eq!(outcome.http_status, None);
}

#[tokio::test]
async fn tcp_probe_resolves_names() {
    let (listener, addr) = bind().await;
    let outcome = probe_tcp("localhost", addr.port()).await;
    drop(listener);
    assert!(outcome.is_up(), "{outcome:?}");
    assert!(outcome.phases.dns.is_some());
}

#[tokio::test]
async fn tcp_probe_to_a_closed_port_is_refused() {
    let addr = closed_port().await;
    let outcome = probe_tcp("127.0.0.1", addr.port()).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Refused), "{outcome:?}");
    assert_eq!(outcome.http_status, None);
}

/// An HTTPS server on loopback with a fresh self-signed certificate for `localhost`; returns its
/// address and the certificate, for a prober that chooses to trust it.
async fn https_server() -> (SocketAddr, rustls::pki_types::CertificateDer<'static>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let mut buf = [0u8; 2048];
                let _ = tls.read(&mut buf).await;
                let _ = tls.write_all(&response("200 OK", &[("Connection", "close")], "secure")).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, cert.der().clone())
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let (addr, _) = https_server().await;
    let outcome = probe_http(spec(&format!("https://localhost:{}/", addr.port())), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Tls), "{outcome:?}");
    assert!(message(&outcome).contains("certificate"), "{}", message(&outcome));
    assert!(outcome.phases.connect.is_some(), "the connection was made before TLS failed");
}

#[tokio::test]
async fn a_trusted_certificate_is_up_with_the_tls_phase() {
    let (addr, cert) = https_server().await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut https = spec(&format!("https://localhost:{}/", addr.port()));
    https.body_contains = vec!["secure".to_owned()];
    let outcome = Prober::with_tls_config(Arc::new(tls)).probe(&MonitorKind::Http(https), TIMEOUT).await;
    assert_eq!(outcome.error, None, "{outcome:?}");
    assert_eq!(outcome.http_status, Some(200));
    assert!(outcome.phases.tls.is_some() && outcome.phases.first_byte.is_some(), "{:?}", outcome.phases);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_tls_error() {
    let (addr, cert) = https_server().await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // The certificate names `localhost`; 127.0.0.1 is not it.
    let outcome = Prober::with_tls_config(Arc::new(tls))
        .probe(&MonitorKind::Http(spec(&format!("https://127.0.0.1:{}/", addr.port()))), TIMEOUT)
        .await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Tls), "{outcome:?}");
}

fn conditions(texts: &[&str]) -> Vec<upbeat_core::condition::Condition> {
    texts.iter().map(|t| upbeat_core::condition::Condition::parse(t).expect("a valid condition")).collect()
}

#[tokio::test]
async fn conditions_judge_status_time_and_the_json_body() {
    let body = r#"{"status": "UP", "queue": {"depth": 1500}, "workers": [1, 2, 3]}"#;
    let addr = http_server(move |_| response("503 Service Unavailable", &[], body)).await;
    let url = format!("http://{addr}/health");

    let mut healthy = spec(&url);
    healthy.expected_status = StatusSet(vec![(100, 599)]);
    healthy.conditions =
        conditions(&["[STATUS] == 503", "[RESPONSE_TIME] < 5000", "[BODY].status == UP", "len([BODY].workers) == 3"]);
    let outcome = probe_http(healthy, TIMEOUT).await;
    assert!(outcome.is_up(), "{:?}", outcome.error);
    assert_eq!(outcome.http_status, Some(503));

    let mut backlog = spec(&url);
    backlog.expected_status = StatusSet(vec![(100, 599)]);
    backlog.conditions = conditions(&["[STATUS] == 503", "[BODY].queue.depth < 1000", "[BODY] == pat(*DOWN*)"]);
    let outcome = probe_http(backlog, TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Condition));
    let why = message(&outcome);
    assert!(why.contains("[BODY].queue.depth is 1500, expected < 1000"), "{why}");
    assert!(why.contains("pat(*DOWN*)"), "every failed condition is named: {why}");
    assert_eq!(outcome.http_status, Some(503));

    // The status list still applies first: a 503 outside it is a status error.
    let mut strict = spec(&url);
    strict.conditions = conditions(&["[BODY].status == UP"]);
    assert_eq!(error_kind(&probe_http(strict, TIMEOUT).await), Some(ErrorKind::Status));
}

#[tokio::test]
async fn a_pulled_metric_reads_the_number_at_its_path() {
    use upbeat_core::metric::MetricPull;
    let addr = http_server(|head| match path(head) {
        "/stats" => response("200 OK", &[], r#"{"queue": {"depth": 42.5}, "name": "q"}"#),
        "/text" => response("200 OK", &[], "not json"),
        _ => response("500 Internal Server Error", &[], ""),
    })
    .await;
    let pull = |path: &str, json_path: &str| MetricPull {
        url: format!("http://{addr}{path}").parse().expect("url"),
        headers: Vec::new(),
        json_path: json_path.to_owned(),
    };
    let prober = Prober::new();
    assert_eq!(prober.fetch_value(&pull("/stats", "queue.depth"), TIMEOUT).await, Ok(42.5));
    let e = prober.fetch_value(&pull("/stats", "name"), TIMEOUT).await.unwrap_err();
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Body, "name is \"q\", not a number"));
    let e = prober.fetch_value(&pull("/text", "a"), TIMEOUT).await.unwrap_err();
    assert!(e.message.starts_with("the response is not JSON"), "{e}");
    let e = prober.fetch_value(&pull("/missing", "a"), TIMEOUT).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Status);
}

#[tokio::test]
async fn certificate_expiration_is_a_condition_on_the_connection_the_probe_made() {
    let (addr, cert) = https_server().await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let prober = Prober::with_roots(roots);
    let url = format!("https://localhost:{}/", addr.port());
    // rcgen's certificates are valid for centuries.
    let mut far = spec(&url);
    far.conditions = conditions(&["[CERTIFICATE_EXPIRATION] > 30d"]);
    let outcome = prober.probe(&MonitorKind::Http(far), TIMEOUT).await;
    assert_eq!(outcome.error, None, "{outcome:?}");
    let mut soon = spec(&url);
    soon.conditions = conditions(&["[CERTIFICATE_EXPIRATION] < 30d"]);
    let outcome = prober.probe(&MonitorKind::Http(soon), TIMEOUT).await;
    assert_eq!(error_kind(&outcome), Some(ErrorKind::Condition));
    assert!(message(&outcome).starts_with("[CERTIFICATE_EXPIRATION] is "), "{}", message(&outcome));
    // Plain HTTP has no certificate: the condition says so rather than passing.
    let plain = http_server(|_| response("200 OK", &[], "ok")).await;
    let mut none = spec(&format!("http://{plain}/"));
    none.conditions = conditions(&["[CERTIFICATE_EXPIRATION] > 30d"]);
    assert_eq!(error_kind(&probe_http(none, TIMEOUT).await), Some(ErrorKind::Condition));
}
