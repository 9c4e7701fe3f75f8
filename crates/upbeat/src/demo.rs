//! `upbeat serve --demo-sinks`: receivers on this machine for what a configuration sends to this
//! machine, so the example can show alerts and mail being delivered without a Slack workspace or
//! a mail server, and stays healthy for as long as it runs.
//!
//! For every `[[channel]]` whose message would go to a loopback address other than upbeat's own,
//! an HTTP receiver answers `200 {"ok":true}` and logs what it got; when `[smtp]` is on a
//! loopback address without TLS, a real SMTP server (the tests' sink) takes the mail and logs
//! its recipients, subject and text, so a subscriber's confirmation link can be followed from
//! the console. Nothing is bound on any other address: the flag never answers for a real
//! service.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::Context;
use axum::body::Bytes;
use axum::http::{Method, Uri};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use upbeat_core::Config;
use upbeat_core::notify::email::SmtpTls;
use upbeat_core::notify::{Alert, Rendered};
use upbeat_testkit::smtp::{SinkOptions, SmtpSink};

/// What a receiver logs of a body: enough to read an alert, not a whole page of JSON.
const LOGGED_BODY: usize = 300;

/// The running receivers; they stop when this is dropped.
pub struct DemoSinks {
    /// Every address something listens on for the demo, HTTP receivers and the SMTP server.
    pub addrs: Vec<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DemoSinks {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The loopback addresses `config`'s channels send to, other than `own` (upbeat's own listener,
/// which answers for itself).
pub fn http_targets(config: &Config, own: SocketAddr) -> Vec<SocketAddr> {
    let alert = Alert::test(&config.page, chrono::DateTime::UNIX_EPOCH);
    let mut targets = BTreeSet::new();
    for channel in &config.channels {
        let env = |name: &str| std::env::var(name).ok();
        let Ok(Rendered::Http(request)) = upbeat_core::notify::render(channel, &alert, &env) else { continue };
        let Ok(uri) = request.url.parse::<Uri>() else { continue };
        let Some(host) = uri.host() else { continue };
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
        if let Some(ip) = loopback(host)
            && uri.scheme_str() == Some("http")
        {
            let addr = SocketAddr::new(ip, port);
            if addr != own && !(addr.port() == own.port() && own.ip().is_unspecified()) {
                targets.insert(addr);
            }
        }
    }
    targets.into_iter().collect()
}

/// The loopback address `host` names, if it names one.
fn loopback(host: &str) -> Option<IpAddr> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.parse::<IpAddr>().ok().filter(IpAddr::is_loopback)
}

impl DemoSinks {
    /// Binds a receiver for every loopback address the configuration sends to.
    pub async fn start(config: &Config, own: SocketAddr) -> anyhow::Result<DemoSinks> {
        let mut sinks = DemoSinks { addrs: Vec::new(), tasks: Vec::new() };
        for addr in http_targets(config, own) {
            let listener =
                TcpListener::bind(addr).await.with_context(|| format!("--demo-sinks cannot listen on {addr}"))?;
            let router = axum::Router::new().fallback(receive);
            sinks.tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            }));
            tracing::info!(%addr, "demo sink: answering the channels that send to http://{addr}/");
            sinks.addrs.push(addr);
        }
        if let Some(smtp) = &config.smtp
            && smtp.tls == SmtpTls::None
            && let Some(ip) = loopback(&smtp.host)
        {
            let addr = SocketAddr::new(ip, smtp.port);
            let sink = SmtpSink::bind(addr, SinkOptions::default())
                .await
                .with_context(|| format!("--demo-sinks cannot listen for mail on {addr}"))?;
            sinks.tasks.push(tokio::spawn(async move {
                loop {
                    for mail in sink.take_next().await {
                        let subject = mail.subject().unwrap_or_default();
                        let text = mail.text_part().unwrap_or_default();
                        tracing::info!(to = %mail.to.join(", "), %subject, "demo sink: mail received\n{}", text.trim_end());
                    }
                }
            }));
            tracing::info!(%addr, "demo sink: taking the mail [smtp] sends to {addr}");
            sinks.addrs.push(addr);
        }
        Ok(sinks)
    }
}

/// Any request: logged, and answered as the services expect a success (2xx, and Telegram's and
/// Slack's bodies both accept `{"ok":true}`).
async fn receive(method: Method, uri: Uri, body: Bytes) -> ([(&'static str, &'static str); 1], &'static str) {
    let text = String::from_utf8_lossy(&body);
    let mut shown: String = text.chars().take(LOGGED_BODY).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    // The first path segment says which service it imitates; the rest may hold a credential.
    let service = uri.path().split('/').find(|s| !s.is_empty()).unwrap_or("");
    tracing::info!(%method, service, bytes = body.len(), "demo sink: alert received: {shown}");
    ([("content-type", "application/json")], "{\"ok\":true}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_targets_other_than_upbeat_itself() {
        let config = Config::parse(
            "t.toml",
            r#"
[page]
title = "t"
[[channel]]
id = "a"
kind = "webhook"
url = "http://127.0.0.1:9001/hook"
[[channel]]
id = "b"
kind = "slack"
url = "http://localhost:9001/other"
[[channel]]
id = "c"
kind = "discord"
url = "http://127.0.0.1:8080/mine"
[[channel]]
id = "d"
kind = "webhook"
url = "https://hooks.example.com/x"
[[channel]]
id = "e"
kind = "ntfy"
url = "http://[::1]:9002"
topic = "t"
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let own: SocketAddr = "127.0.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}"));
        let targets: Vec<String> = http_targets(&config, own).iter().map(ToString::to_string).collect();
        assert_eq!(targets, ["127.0.0.1:9001", "[::1]:9002"]);
    }
}
