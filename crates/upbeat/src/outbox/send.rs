//! The last step of every delivery: one HTTP request or one email, and what its answer means.

use std::time::Duration;

use anyhow::Context;
use upbeat_core::Config;
use upbeat_core::notify::{Rendered, Request};

use super::mail::{Mail, Mailer};
use super::retry::{Verdict, http_verdict};
use crate::clock::Clock;

const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends rendered messages: HTTP through one client, email through `[smtp]`.
pub struct Sender {
    http: reqwest::Client,
    mailer: Option<Mailer>,
}

impl Sender {
    pub fn new(config: &Config) -> anyhow::Result<Sender> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("upbeat/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the outbox's HTTP client")?;
        let mailer = match &config.smtp {
            Some(smtp) => Some(Mailer::new(smtp, &|name| std::env::var(name).ok()).context("cannot set up [smtp]")?),
            None => None,
        };
        Ok(Sender { http, mailer })
    }

    /// Sends one message; `key` is the delivery's idempotency key, the same on every attempt, so
    /// receivers that dedupe can (`Idempotency-Key` on HTTP, the `Message-ID` of a mail).
    pub async fn send(&self, rendered: Rendered, key: &str, clock: &dyn Clock) -> Verdict {
        match rendered {
            Rendered::Http(request) => self.http(request, key, clock).await,
            Rendered::Email { to, subject, text, html, headers } => {
                let Some(mailer) = &self.mailer else {
                    return Verdict::Permanent { error: "no [smtp] is configured to send email through".to_owned() };
                };
                mailer.send(&Mail { to, subject, text, html, headers, message_id: key.replace(':', ".") }).await
            }
        }
    }

    async fn http(&self, request: Request, key: &str, clock: &dyn Clock) -> Verdict {
        let mut builder = self.http.request(request.method.clone(), &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder = builder.header("Idempotency-Key", key).body(request.body);
        match builder.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after =
                    response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let body = response.text().await.unwrap_or_default();
                http_verdict(status, retry_after.as_deref(), clock.now(), &body)
            }
            Err(e) => Verdict::Transient { error: format!("cannot reach the receiver: {e}"), retry_after: None },
        }
    }
}
