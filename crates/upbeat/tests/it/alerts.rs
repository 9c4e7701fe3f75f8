//! Team alerts through the outbox, to real HTTP receivers on loopback: signed webhooks delivered
//! once per event, a receiver that fails and then asks to wait is retried until it takes it, and
//! one that answers 404 is given up on at once.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{Mode, Received, Target, TestApp, db_url, eventually, receiver};

fn config(target: &Target, port: u16) -> String {
    format!(
        r#"
[page]
title = "Alerts"
base_url = "https://status.example.test/"

[[channel]]
id = "ops"
kind = "webhook"
url = "http://127.0.0.1:{port}/ok"
secret = "s3cret-for-tests"

[[channel]]
id = "flaky"
kind = "webhook"
url = "http://127.0.0.1:{port}/flaky"
events = ["outage_opened"]

[[channel]]
id = "gone"
kind = "webhook"
url = "http://127.0.0.1:{port}/gone"
events = ["outage_opened"]

[[monitor]]
id = "web"
name = "Web"
kind = "http"
url = "{}"
interval = "1s"
timeout = "500ms"
confirm = 1
"#,
        target.url("/")
    )
}

#[tokio::test]
async fn outages_reach_every_channel_once_with_retries_and_dead_letters() {
    let target = Target::start().await;
    target.set(Mode::Healthy).await;
    let (port, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target, port), &dir).await;
    app.wait_for_state("web", "up").await;

    target.set(Mode::Error).await;
    let down = app.wait_for_state("web", "down").await;
    let outage_id = down["open_outage"]["id"].as_str().unwrap().to_owned();
    // The flaky receiver gets it on the third try: 500, then 429 (wait 1 s), then 200.
    let flaky = eventually("the flaky receiver to take the alert", Duration::from_secs(30), || async {
        let log = log.lock().unwrap();
        let flaky: Vec<Received> = log.iter().filter(|r| r.path == "/flaky").cloned().collect();
        (flaky.iter().any(|r| r.status == 200)).then_some(flaky)
    })
    .await;
    assert_eq!(flaky.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 429, 200]);
    let keys: Vec<&String> = flaky.iter().filter_map(|r| r.headers.get("idempotency-key")).collect();
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "one delivery, retried under one key: {keys:?}");

    target.set(Mode::Healthy).await;
    app.wait_for_state("web", "up").await;
    let ok = eventually("both events at the ops channel", Duration::from_secs(15), || async {
        let log = log.lock().unwrap();
        let ok: Vec<Received> = log.iter().filter(|r| r.path == "/ok").cloned().collect();
        (ok.len() >= 2).then_some(ok)
    })
    .await;
    let events: Vec<Value> = ok.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(events[0]["event"], "outage_opened");
    assert_eq!(events[1]["event"], "outage_closed");
    assert!(events.iter().all(|e| e["outage"]["id"] == outage_id.as_str() && e["monitor"]["id"] == "web"));
    for r in &ok {
        let signature = upbeat_core::notify::hmac_sha256(b"s3cret-for-tests", &r.body);
        assert_eq!(r.headers["x-upbeat-signature"], format!("sha256={}", hex::encode(signature)));
        assert_eq!(r.headers["x-upbeat-event"], serde_json::from_slice::<Value>(&r.body).unwrap()["event"]);
    }
    let gone: Vec<u16> = log.lock().unwrap().iter().filter(|r| r.path == "/gone").map(|r| r.status).collect();
    assert_eq!(gone, [404], "a 404 is not retried");
    eventually("the dead letter on /metrics", Duration::from_secs(5), || async {
        let metrics = app.text("/metrics").await;
        (metrics.contains("upbeat_outbox_dead 1\n") && metrics.contains("upbeat_outbox_pending 0\n")).then_some(())
    })
    .await;
    let (status, dead) = app.api("/api/v1/deliveries?status=dead").await;
    assert_eq!((status, dead["dead"].as_u64()), (200, Some(1)), "{dead}");
    assert_eq!(dead["deliveries"][0]["recipient"], "channel:gone");
    assert_eq!(dead["deliveries"][0]["last_error"], "HTTP 404");
    let (status, _) = app.api("/api/v1/deliveries?status=lost").await;
    assert_eq!(status, 400);
    app.stop().await;

    // Nothing was sent twice, and the store says what happened to each delivery.
    let statuses: Vec<u16> = log.lock().unwrap().iter().filter(|r| r.path == "/ok").map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200], "exactly once per event");
    let store = upbeat_store::open(&db_url(&dir)).await.unwrap();
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.sent, stats.dead, stats.pending), (3, 1, 0));
    let dead = store.deliveries("dead", 10).await.unwrap();
    assert_eq!((dead[0].recipient.as_str(), dead[0].last_error.as_deref()), ("channel:gone", Some("HTTP 404")));
}
