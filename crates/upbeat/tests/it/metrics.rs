//! Metric monitors through real HTTP: values pushed with a write token, a condition that must hold
//! for a while before an outage opens and be false for a while before it closes, bad values
//! refused with nothing stored, and the window kept across a restart.

use serde_json::{Value, json};

use crate::helpers::{ManualClock, TestApp, send};

const CONFIG: &str = r#"
[page]
title = "Metrics"
base_url = "https://status.example.test/"

[[monitor]]
id = "backlog"
name = "Backlog"
kind = "metric"
condition = "value > 1000"
window = "10m"
for = "2m"
recover_for = "1m"

[[monitor]]
id = "p95"
name = "p95 response time"
kind = "metric"
condition = "p95(value) > 250"
window = "5m"

[[monitor]]
id = "cron"
name = "Cron"
kind = "heartbeat"
period = "1h"
"#;

fn t(text: &str) -> chrono::DateTime<chrono::Utc> {
    text.parse().unwrap()
}

async fn push(app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    send(app, "POST", &format!("/api/v1/metrics/{id}"), Some(&app.write_token), Some(body)).await
}

#[tokio::test]
async fn a_condition_that_holds_for_its_time_opens_an_outage_and_clearing_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t("2026-03-01T12:00:00Z"));
    let app = TestApp::spawn_with_clock(CONFIG, &dir, clock.clone()).await;

    let (status, answer) = push(&app, "backlog", json!({"value": 1500})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["monitor"]["last_value"], 1500.0);
    assert_eq!(answer["monitor"]["state"], "up", "held, but not yet for 2 minutes");

    // Two minutes later, with no new value, the deadline watcher opens the outage.
    clock.set(t("2026-03-01T12:02:00Z"));
    let down = app.wait_for_state("backlog", "down").await;
    assert_eq!(
        down["open_outage"]["cause"],
        "condition: value is 1500: `value > 1000` holds since 2026-03-01 12:00:00 UTC"
    );
    assert_eq!(down["open_outage"]["started_at"], "2026-03-01T12:02:00.000Z");

    // Back under the threshold: up only after a minute of it. (Sent as `curl -d` would: a form type.)
    clock.set(t("2026-03-01T12:03:00Z"));
    let response = app
        .client
        .post(app.url("/api/v1/metrics/backlog"))
        .bearer_auth(&app.write_token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"value": 10}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["monitor"]["state"], "down", "not clear for a minute yet");
    clock.set(t("2026-03-01T12:04:00Z"));
    app.wait_for_state("backlog", "up").await;
    let outages = app.closed_outages("backlog", 1).await;
    assert_eq!(outages[0]["ended_at"], "2026-03-01T12:04:00.000Z");

    // A batch with its own times: p95 of the window.
    let points: Vec<Value> =
        (0..20).map(|i| json!({"value": 100 + i * 10, "at": format!("2026-03-01T12:03:{:02}Z", i)})).collect();
    let (status, answer) = push(&app, "p95", json!({"points": points})).await;
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(20)), "{answer}");
    assert_eq!(answer["monitor"]["state"], "down", "p95 of 100..290 is 280 > 250, no `for`");
    assert!(answer["monitor"]["last_error"].as_str().unwrap().starts_with("condition: p95(value) is 280"), "{answer}");
    app.stop().await;

    // A restart keeps the window: the newest value and the verdict are still there.
    let app = TestApp::spawn_with_clock(CONFIG, &dir, clock).await;
    let backlog = app.monitor("backlog").await;
    assert_eq!((backlog["state"].as_str(), backlog["last_value"].as_f64()), (Some("up"), Some(10.0)));
    app.stop().await;
}

#[tokio::test]
async fn bad_values_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let refused = [
        (json!({"value": "12"}), 400, "invalid_value", "value"),
        (json!({"value": null}), 400, "invalid_value", "value"),
        (json!({"value": "NaN"}), 400, "invalid_value", "value"),
        (json!({"value": 1, "at": "yesterday"}), 400, "invalid_time", "at"),
        (json!({"value": 1, "at": "2999-01-01T00:00:00Z"}), 400, "invalid_time", "at"),
        (json!({"points": []}), 400, "invalid_points", "points"),
        (json!({"points": [{"value": 1}, {"value": "x"}]}), 400, "invalid_value", "points[1].value"),
        (json!({"nothing": 1}), 400, "invalid_points", "value"),
    ];
    for (body, status, code, field) in refused {
        let (got, answer) = push(&app, "backlog", body.clone()).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}");
    }
    let response = app
        .client
        .post(app.url("/api/v1/metrics/backlog"))
        .bearer_auth(&app.write_token)
        .header("content-type", "application/json")
        .body("{\"value\": NaN}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "NaN is not JSON");
    let (status, answer) = push(&app, "nope", json!({"value": 1})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("monitor_not_found")));
    let (status, answer) = push(&app, "cron", json!({"value": 1})).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("not_a_metric")));
    let (status, _) =
        send(&app, "POST", "/api/v1/metrics/backlog", Some(&app.read_token), Some(json!({"value": 1}))).await;
    assert_eq!(status, 403, "pushing values needs a write token");
    let backlog = app.monitor("backlog").await;
    assert!(backlog["last_value"].is_null() && backlog["state"] == "unknown", "nothing was taken: {backlog}");
    app.stop().await;
}

/// A stats endpoint on loopback answering `{"queue": {"depth": N}}`, or a 500 when N is negative.
async fn stats_server(depth: std::sync::Arc<std::sync::atomic::AtomicI64>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let depth = depth.load(std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let (status, body) = if depth < 0 {
                    ("500 Internal Server Error", String::new())
                } else {
                    ("200 OK", format!("{{\"queue\": {{\"depth\": {depth}}}}}"))
                };
                let answer =
                    format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_pulled_metric_is_fetched_on_its_interval() {
    use std::sync::atomic::Ordering;
    let depth = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(500));
    let port = stats_server(depth.clone()).await;
    let config = format!(
        "[page]\ntitle = \"m\"\n\n[[monitor]]\nid = \"queue\"\nname = \"Queue\"\nkind = \"metric\"\ncondition = \"value > 100\"\nurl = \"http://127.0.0.1:{port}/stats\"\njson_path = \"queue.depth\"\ninterval = \"1s\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config, &dir).await;
    let down = app.wait_for_state("queue", "down").await;
    assert_eq!(down["last_value"], 500.0);
    assert!(
        down["open_outage"]["cause"].as_str().unwrap().starts_with("condition: value is 500: `value > 100`"),
        "{down}"
    );
    depth.store(5, Ordering::SeqCst);
    app.wait_for_state("queue", "up").await;

    // A broken stats endpoint is no data: the verdict stays, the error shows.
    depth.store(-1, Ordering::SeqCst);
    let broken = crate::helpers::eventually("the fetch error to show", std::time::Duration::from_secs(10), || async {
        let m = app.monitor("queue").await;
        m["last_error"].as_str().is_some_and(|e| e.contains("HTTP 500")).then_some(m)
    })
    .await;
    assert_eq!(broken["state"], "up", "{broken}");
    app.stop().await;
}
