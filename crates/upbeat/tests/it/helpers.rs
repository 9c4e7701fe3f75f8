//! Starting the app and its targets, and waiting for things without sleeping for readiness.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinHandle;
use upbeat::app::Application;
use upbeat::clock::{Clock, SystemClock};
use upbeat_core::{Config, Scope};

/// Polls `check` every 25 ms until it returns `Some`, or fails the test after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What the loopback target does with the next request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Healthy = 0,
    Error = 1,
    /// Reads the request and answers nothing for 10 s.
    Slow = 2,
    /// Nothing listens: connections are refused.
    Closed = 3,
}

/// A real HTTP server on 127.0.0.1 whose behaviour the test switches.
pub struct Target {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

fn listen(addr: SocketAddr) -> TcpListener {
    let socket = TcpSocket::new_v4().expect("socket");
    // The port is given back and taken again when the target closes and reopens.
    socket.set_reuseaddr(true).expect("reuseaddr");
    socket.bind(addr).expect("bind the target");
    socket.listen(128).expect("listen")
}

fn serve(listener: TcpListener, mode: Arc<AtomicU8>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let mode = Arc::clone(&mode);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let (status, body) = match mode.load(Ordering::SeqCst) {
                    0 => ("200 OK", "ok"),
                    1 => ("500 Internal Server Error", "broken"),
                    _ => {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        ("200 OK", "late")
                    }
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    })
}

impl Target {
    pub async fn start() -> Target {
        let listener = listen("127.0.0.1:0".parse().expect("address"));
        let addr = listener.local_addr().expect("local addr");
        let mode = Arc::new(AtomicU8::new(Mode::Healthy as u8));
        let accept = serve(listener, Arc::clone(&mode));
        Target { addr, mode, accept: Mutex::new(Some(accept)) }
    }

    pub async fn set(&self, mode: Mode) {
        let mut accept = self.accept.lock().await;
        if mode == Mode::Closed {
            if let Some(task) = accept.take() {
                task.abort();
                let _ = task.await;
            }
        } else if accept.is_none() {
            *accept = Some(serve(listen(self.addr), Arc::clone(&self.mode)));
        }
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// An HTTP client for tests. reqwest is built with `rustls-no-provider` (the CLI needs https
/// without aws-lc), so a process-wide crypto provider must exist before any client is built.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A running upbeat with its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// Tokens of each scope, created before the app started.
    pub read_token: String,
    pub write_token: String,
    pub admin_token: String,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

pub fn db_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("upbeat.db").display())
}

impl TestApp {
    /// Starts the app with this configuration on port 0, on the database in `dir`.
    pub async fn spawn(config: &str, dir: &tempfile::TempDir) -> TestApp {
        Self::spawn_with_clock(config, dir, Arc::new(SystemClock)).await
    }

    /// Starts the app with a clock the test controls.
    pub async fn spawn_with_clock(config: &str, dir: &tempfile::TempDir, clock: Arc<dyn Clock>) -> TestApp {
        let config = Config::parse("test.toml", config).unwrap_or_else(|e| panic!("test config: {e}"));
        Self::spawn_parsed(config, dir, clock, "127.0.0.1:0".parse().expect("addr")).await
    }

    /// Starts the app with a parsed configuration on `listen`.
    pub async fn spawn_parsed(
        config: Config,
        dir: &tempfile::TempDir,
        clock: Arc<dyn Clock>,
        listen: SocketAddr,
    ) -> TestApp {
        let db_url = db_url(dir);
        let store = upbeat_store::open(&db_url).await.expect("open the store");
        let mut tokens = Vec::new();
        for scope in [Scope::Read, Scope::Write, Scope::Admin] {
            let token = upbeat::cli::new_token().expect("token");
            let hash = upbeat_web::auth::token_hash(&token);
            let prefix = upbeat_web::auth::token_prefix(&token);
            let new = upbeat_store::NewToken { name: scope.as_str(), scope, hash: &hash, prefix };
            store.create_token(&new, SystemClock.now()).await.expect("create token");
            tokens.push(token);
        }
        drop(store);
        let app = Application::build(config, &db_url, listen, clock).await.expect("the app starts");
        let addr = app.addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            client: http_client(),
            admin_token: tokens.pop().expect("admin token"),
            write_token: tokens.pop().expect("write token"),
            read_token: tokens.pop().expect("read token"),
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// GET with the read token; the JSON body and the status.
    pub async fn api(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.client.get(self.url(path)).bearer_auth(&self.read_token).send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    pub async fn text(&self, path: &str) -> String {
        self.client.get(self.url(path)).send().await.expect("request").text().await.expect("body")
    }

    pub async fn monitor(&self, id: &str) -> serde_json::Value {
        let (status, body) = self.api(&format!("/api/v1/monitors/{id}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits until the monitor's state is `state` and returns the monitor.
    pub async fn wait_for_state(&self, id: &str, state: &str) -> serde_json::Value {
        eventually(&format!("monitor {id} to be {state}"), Duration::from_secs(15), || async {
            let m = self.monitor(id).await;
            (m["state"] == state).then_some(m)
        })
        .await
    }

    /// Waits until the store lists `n` outages of the monitor, all closed, newest first.
    pub async fn closed_outages(&self, id: &str, n: usize) -> Vec<serde_json::Value> {
        eventually(&format!("{n} closed outages of {id}"), Duration::from_secs(5), || async {
            let (status, body) = self.api(&format!("/api/v1/monitors/{id}/outages")).await;
            assert_eq!(status, 200, "{body}");
            let outages = body["outages"].as_array()?.clone();
            (outages.len() == n && outages.iter().all(|o| o["ended_at"].is_string())).then_some(outages)
        })
        .await
    }

    /// Stops the app as SIGTERM would, and waits until it has written everything.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("the app task").expect("the app stops cleanly");
        }
    }
}

/// Sends a request with an optional token and JSON body; the status and the JSON answer
/// (`null` when the answer is not JSON).
pub async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = app.client.request(method.parse().expect("a method"), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// A clock that moves only when the test says so.
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn at(t: chrono::DateTime<chrono::Utc>) -> Arc<ManualClock> {
        Arc::new(ManualClock(std::sync::atomic::AtomicI64::new(t.timestamp_millis())))
    }

    pub fn set(&self, t: chrono::DateTime<chrono::Utc>) {
        self.0.store(t.timestamp_millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

/// One request a receiver got: its path, headers (lowercase names) and body, and what it answered.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    pub status: u16,
}

pub type Log = Arc<std::sync::Mutex<Vec<Received>>>;

/// A receiver: `/ok` takes everything; `/flaky` answers 500, then 429 with `Retry-After: 1`, then
/// 200, for each delivery key; `/gone` answers 404.
pub async fn receiver() -> (u16, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log: Log = Arc::default();
    let shared = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let log = Arc::clone(&shared);
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                let (head_end, length) = loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => data.extend_from_slice(&buf[..n]),
                    }
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                            .unwrap_or(0usize);
                        break (end + 4, length);
                    }
                };
                while data.len() < head_end + length {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => data.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&data[..head_end - 4]).into_owned();
                let mut lines = head.lines();
                let path = lines.next().unwrap_or("").split(' ').nth(1).unwrap_or("").to_owned();
                let headers: BTreeMap<String, String> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
                    .collect();
                let body = data[head_end..head_end + length].to_vec();
                let (status, extra) = {
                    let mut log = log.lock().unwrap();
                    let key = headers.get("idempotency-key").cloned().unwrap_or_default();
                    let before =
                        log.iter().filter(|r| r.path == path && r.headers.get("idempotency-key") == Some(&key)).count();
                    let answer = match (path.as_str(), before) {
                        ("/gone", _) => (404, ""),
                        ("/flaky", 0) => (500, ""),
                        ("/flaky", 1) => (429, "Retry-After: 1\r\n"),
                        _ => (200, ""),
                    };
                    log.push(Received { path: path.clone(), headers, body, status: answer.0 });
                    answer
                };
                let reply = format!("HTTP/1.1 {status} X\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (port, log)
}

/// A port nobody listened on a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// The example configuration as a test runs it: written into a directory of its own with its
/// logo, and with its ports (upbeat's 8080, the demo sinks' 9025 and 2525) moved to free ones,
/// so tests that run it do not meet each other, or a demo someone left running.
pub struct Example {
    pub path: std::path::PathBuf,
    pub text: String,
    pub listen: SocketAddr,
    /// Where the example's channels send (the demo sinks' HTTP receiver).
    pub channels: SocketAddr,
}

impl Example {
    pub fn write_into(dir: &std::path::Path) -> Example {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut text = std::fs::read_to_string(root.join("upbeat.toml")).expect("the example");
        let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let channels: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        for (from, to) in [
            ("127.0.0.1:8080".to_owned(), listen.to_string()),
            ("127.0.0.1:9025".to_owned(), channels.to_string()),
            ("port = 8080".to_owned(), format!("port = {}", listen.port())),
            ("port = 2525".to_owned(), format!("port = {}", free_port())),
        ] {
            assert!(text.contains(&from), "the example has {from}");
            text = text.replace(&from, &to);
        }
        std::fs::copy(root.join("logo.svg"), dir.join("logo.svg")).expect("copy the logo");
        let path = dir.join("upbeat.toml");
        std::fs::write(&path, &text).expect("write the example");
        Example { path, text, listen, channels }
    }

    pub fn config(&self) -> Config {
        Config::parse(&self.path.display().to_string(), &self.text).unwrap_or_else(|e| panic!("the example: {e}"))
    }
}
