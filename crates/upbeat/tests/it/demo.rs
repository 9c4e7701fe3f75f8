//! The example, run as the README says (`serve --demo-sinks`), stays healthy: an hour of its
//! life on a stepped clock delivers every alert, reminder and mail it makes, turns `/health` to
//! 503 never, and logs no error.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use upbeat::clock::Clock;
use upbeat::demo::DemoSinks;

use crate::helpers::{Example, ManualClock, TestApp, send};

/// The log of this test's thread, as the binary would print it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn outbox(app: &TestApp, status: &str) -> serde_json::Value {
    let (code, body) = app.api(&format!("/api/v1/deliveries?status={status}&limit=1000")).await;
    assert_eq!(code, 200, "{body}");
    body
}

// A runtime of the test's own, whose every thread logs into the captured log: it sees all the
// app logs and nothing of the tests running beside this one.
#[test]
fn the_example_with_its_demo_sinks_runs_an_hour_healthy_and_without_an_error() {
    let log = Captured::default();
    let writer = log.clone();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    );
    let on_start = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        // Each thread keeps the dispatcher for as long as it lives.
        .on_thread_start(move || std::mem::forget(tracing::dispatcher::set_default(&on_start)))
        .build()
        .expect("a runtime");
    let _guard = tracing::dispatcher::set_default(&dispatch);
    runtime.block_on(an_hour_of_the_example());
    drop(runtime);

    let text = log.text();
    assert!(text.contains("demo sink: mail received"), "{text}");
    assert!(text.contains("demo sink: alert received"), "{text}");
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "no error is logged:\n{}", errors.join("\n"));
}

async fn an_hour_of_the_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = Example::write_into(dir.path());
    let config = example.config();
    let sinks = DemoSinks::start(&config, example.listen).await.expect("the demo sinks start");
    assert_eq!(sinks.addrs.len(), 2, "one HTTP receiver for the channels and one SMTP server");
    let start = Utc::now();
    let clock = ManualClock::at(start);
    let app = TestApp::spawn_parsed(config, &dir, clock.clone(), example.listen).await;

    // Someone subscribes: the confirmation goes through the demo's mail server.
    let response = app
        .client
        .post(app.url("/subscribe"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=visitor%40example.com")
        .send()
        .await
        .expect("subscribe");
    assert_eq!(response.status(), 200);
    // The port-9 monitor goes down, and its two channels hear of it.
    app.wait_for_state("demo-backend", "down").await;
    // An incident: the team's mail and Teams channels hear of it.
    let (code, body) = send(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&app.write_token),
        Some(serde_json::json!({"title": "Slow pages", "message": "We are looking.", "impact": "minor"})),
    )
    .await;
    assert_eq!(code, 201, "{body}");

    // An hour in ten-minute steps: reminders every 30 minutes, heartbeats and the push monitor
    // late, and the outbox's 15-minute limit passed several times over.
    for step in 0..=6 {
        clock.set(start + chrono::Duration::minutes(10 * step));
        // The outbox recounts every 2 s and the scheduler turns every second, so only a verdict
        // that holds for 3 s is the verdict of the stepped time rather than of the step before.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut holding_since = None;
        loop {
            let now = clock.now();
            let pending = outbox(&app, "pending").await;
            // What waits is a reminder not due yet, never a message that failed or is overdue.
            let waiting_right = pending["deliveries"].as_array().expect("deliveries").iter().all(|d| {
                let due = d["next_attempt_at"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
                d["attempts"] == 0 && due.is_some_and(|due| due > now)
            });
            let health = app.client.get(app.url("/health")).send().await.expect("/health");
            let healthy = health.status() == 200;
            let said = health.text().await.unwrap_or_default();
            if waiting_right && healthy {
                let since = *holding_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= Duration::from_secs(3) {
                    break;
                }
            } else {
                holding_since = None;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} min in: /health answered {said}; waiting deliveries: {pending}",
                10 * step
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    let sent = outbox(&app, "sent").await;
    let recipients: Vec<&str> =
        sent["deliveries"].as_array().expect("deliveries").iter().filter_map(|d| d["recipient"].as_str()).collect();
    for expected in [
        "subscriber:1",
        "channel:ops-webhook",
        "channel:oncall-mail",
        "channel:ops-teams",
        "reminder:1:channel:ops-webhook",
    ] {
        assert!(recipients.contains(&expected), "{expected} was delivered: {recipients:?}");
    }
    // Every channel kind heard of something: the lateness of the heartbeats and the push
    // monitor reached the pager, the outage the chat.
    for channel in
        ["channel:ops-slack", "channel:ops-discord", "channel:phone", "channel:pager", "channel:genie", "channel:chat"]
    {
        assert!(recipients.contains(&channel), "{channel} was delivered: {recipients:?}");
    }
    assert_eq!(outbox(&app, "dead").await["dead"], 0);
    let health = app.client.get(app.url("/health")).send().await.expect("health");
    assert_eq!(health.status(), 200);
    app.stop().await;
    drop(sinks);
}
