//! Heartbeats and pushes through real HTTP: Healthchecks' ping URLs answer as Healthchecks does,
//! pings are logged with their bodies, silence past a deadline is an outage, Gatus-style pushes
//! feed push monitors, and an acknowledged ping survives `kill -9`.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::helpers::{ManualClock, TestApp, eventually, http_client, send};

const UUID: &str = "0d2a52a6-1f6c-4d6b-9c83-5f2b3a7d9e10";
const PING_KEY: &str = "pk-0123456789abcdef";
const PUSH_TOKEN: &str = "push-token-0123456789";

const CONFIG: &str = r#"
[page]
title = "Jobs"
base_url = "https://status.example.test/"

[pings]
ping_key = "pk-0123456789abcdef"

[[monitor]]
id = "backup"
name = "Nightly backup"
kind = "heartbeat"
uuid = "0d2a52a6-1f6c-4d6b-9c83-5f2b3a7d9e10"
period = "1h"
grace = "10m"

[[monitor]]
id = "reports"
name = "Reports"
kind = "heartbeat"
slug = "daily-reports"
period = "10s"
grace = "5s"
max_duration = "30s"
min_duration = "2s"

[[monitor]]
id = "e2e"
name = "End-to-end tests"
kind = "push"
token = "push-token-0123456789"
heartbeat = "1h"
"#;

fn t(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A ping: the status and the text of the answer.
async fn ping(app: &TestApp, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let request = app.client.request(method.parse().unwrap(), app.url(path)).body(body.to_vec());
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn pings(app: &TestApp, id: &str, limit: usize) -> Value {
    let (status, body) = app.api(&format!("/api/v1/monitors/{id}/pings?limit={limit}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn every_ping_route_answers_as_healthchecks_does() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t("2026-03-01T12:00:00Z"));
    let app = TestApp::spawn_with_clock(CONFIG, &dir, clock.clone()).await;
    let backup = app.monitor("backup").await;
    assert_eq!(backup["kind"], "heartbeat");
    assert_eq!(backup["ping_url"], format!("https://status.example.test/ping/{UUID}"));
    // A heartbeat without a configured uuid gets one, kept across restarts.
    let generated = app.monitor("reports").await["ping_url"].as_str().unwrap().to_owned();
    assert!(generated.starts_with("https://status.example.test/ping/") && generated.len() == 33 + 36, "{generated}");

    let ok = (200, "OK".to_owned());
    let upper = UUID.to_uppercase();
    let routes: Vec<(&str, String, &str)> = vec![
        ("GET", format!("/ping/{UUID}"), "success"),
        ("HEAD", format!("/ping/{UUID}"), "success"),
        ("POST", format!("/ping/{UUID}"), "success"),
        ("GET", format!("/ping/{upper}"), "success"),
        ("POST", format!("/ping/{UUID}/start"), "start"),
        ("POST", format!("/ping/{UUID}/log"), "log"),
        ("POST", format!("/ping/{UUID}/0"), "exit"),
        ("GET", format!("/ping/{PING_KEY}/daily-reports"), "success"),
        ("GET", format!("/ping/{PING_KEY}/daily-reports/start"), "start"),
        ("POST", format!("/ping/{PING_KEY}/daily-reports/log"), "log"),
        ("POST", format!("/ping/{PING_KEY}/daily-reports/0"), "exit"),
    ];
    for (method, path, _) in &routes {
        let answer = ping(&app, method, path, b"").await;
        if *method == "HEAD" {
            assert_eq!(answer.0, 200, "{method} {path}");
        } else {
            assert_eq!(answer, ok, "{method} {path}");
        }
    }
    let logged = pings(&app, "backup", 100).await;
    let kinds: Vec<&str> = logged["pings"].as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
    let want: Vec<&str> =
        routes.iter().filter(|r| r.1.contains(UUID) || r.1.contains(&upper)).map(|r| r.2).rev().collect();
    assert_eq!(kinds, want, "newest first, one per ping");
    assert_eq!(logged["total"], 7);
    assert_eq!(app.monitor("backup").await["state"], "up");

    // Failures: /fail and a non-zero exit status take it down, with the reason.
    assert_eq!(ping(&app, "POST", &format!("/ping/{UUID}/fail"), b"disk full").await, ok);
    let down = app.wait_for_state("backup", "down").await;
    assert!(down["open_outage"]["cause"].as_str().unwrap().contains("reported a failure"), "{down}");
    assert_eq!(ping(&app, "GET", &format!("/ping/{UUID}"), b"").await, ok);
    app.wait_for_state("backup", "up").await;
    assert_eq!(ping(&app, "GET", &format!("/ping/{UUID}/3"), b"").await, ok);
    let down = app.wait_for_state("backup", "down").await;
    assert!(down["last_error"].as_str().unwrap().contains("exited with status 3"), "{down}");
    assert_eq!(ping(&app, "GET", &format!("/ping/{UUID}/0"), b"").await, ok);
    app.wait_for_state("backup", "up").await;

    // What Healthchecks refuses, refused alike.
    let not_found = (404, "not found".to_owned());
    let invalid = (400, "invalid url format".to_owned());
    assert_eq!(ping(&app, "GET", "/ping/11111111-2222-4333-8444-555555555555", b"").await, not_found);
    assert_eq!(ping(&app, "GET", "/ping/11111111-2222-4333-8444-555555555555/fail", b"").await, not_found);
    assert_eq!(ping(&app, "GET", &format!("/ping/{PING_KEY}/no-such-slug"), b"").await, not_found);
    assert_eq!(ping(&app, "GET", "/ping/wrong-key-0123456789/daily-reports", b"").await, not_found);
    assert_eq!(ping(&app, "GET", &format!("/ping/{UUID}/256"), b"").await, invalid);
    assert_eq!(ping(&app, "GET", &format!("/ping/{UUID}/1000"), b"").await, invalid);
    assert_eq!(ping(&app, "GET", &format!("/ping/{UUID}/stop"), b"").await, invalid);
    assert_eq!(ping(&app, "GET", &format!("/ping/{UUID}?rid=not-a-uuid"), b"").await, invalid);
    assert_eq!(ping(&app, "DELETE", &format!("/ping/{UUID}"), b"").await.0, 405);
    assert_eq!(pings(&app, "backup", 1).await["total"], 11, "refused pings are not logged");

    // Bodies are kept, up to 100 kB, and cut beyond.
    assert_eq!(ping(&app, "POST", &format!("/ping/{UUID}/log"), "héllo\nworld".as_bytes()).await, ok);
    let big = vec![b'x'; 150_000];
    assert_eq!(ping(&app, "POST", &format!("/ping/{UUID}/log"), &big).await, ok);
    let logged = pings(&app, "backup", 2).await;
    let [newest, older] = [&logged["pings"][0], &logged["pings"][1]];
    assert_eq!(newest["body"].as_str().unwrap().len(), 100_000);
    assert_eq!(newest["body_truncated"], true);
    assert_eq!(older["body"], "héllo\nworld");
    assert_eq!(older["body_truncated"], false);
    assert_eq!(older["method"], "POST");
    assert_eq!(logged["pings"].as_array().unwrap().len(), 2, "limit");
    assert_eq!(logged["total"], 13);
    let (status, _) = app.api("/api/v1/monitors/backup/pings?limit=0").await;
    assert_eq!(status, 400);
    let anonymous = app.client.get(app.url("/api/v1/monitors/backup/pings")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // `?create=1` on a slug URL creates a private heartbeat with Healthchecks' defaults, once.
    let create = format!("/ping/{PING_KEY}/new-job?create=1");
    assert_eq!(ping(&app, "POST", &create, b"first run").await, (201, "created".to_owned()));
    assert_eq!(ping(&app, "POST", &create, b"").await, ok);
    let created = app.monitor("new-job").await;
    assert_eq!((created["kind"].as_str(), created["public"].as_bool()), (Some("heartbeat"), Some(false)));
    assert_eq!((created["state"].as_str(), created["target"].as_str()), (Some("up"), Some("every 1d (grace 1h)")));
    let created_url = created["ping_url"].as_str().unwrap().to_owned();
    let created_path = created_url.trim_start_matches("https://status.example.test");
    assert_eq!(ping(&app, "GET", created_path, b"").await, ok, "its uuid URL works too");
    assert_eq!(pings(&app, "new-job", 10).await["total"], 3);
    assert_eq!(ping(&app, "GET", &format!("/ping/{UUID}?create=1"), b"").await, invalid, "only slugs are created");
    assert_eq!(ping(&app, "GET", "/ping/wrong-key-0123456789/other?create=1", b"").await, not_found);
    assert_eq!(
        ping(&app, "GET", &format!("/ping/{PING_KEY}/e2e?create=1"), b"").await,
        (409, "ambiguous slug".to_owned())
    );
    assert_eq!(ping(&app, "GET", &format!("/ping/{PING_KEY}/Not%20A%20Slug?create=1"), b"").await, not_found);
    app.stop().await;

    let app = TestApp::spawn_with_clock(CONFIG, &dir, clock).await;
    assert_eq!(app.monitor("reports").await["ping_url"], generated, "the generated uuid is kept");
    assert_eq!(pings(&app, "backup", 1).await["total"], 13);
    assert_eq!(app.monitor("new-job").await["ping_url"], created_url.as_str(), "a created heartbeat stays");
    assert_eq!(ping(&app, "GET", &format!("/ping/{PING_KEY}/new-job"), b"").await, ok);
    assert_eq!(pings(&app, "new-job", 1).await["total"], 4);
    app.stop().await;
}

#[tokio::test]
async fn silence_past_the_deadline_is_an_outage_and_the_next_ping_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t("2026-03-01T12:00:00Z"));
    let app = TestApp::spawn_with_clock(CONFIG, &dir, clock.clone()).await;
    let path = format!("/ping/{PING_KEY}/daily-reports");
    assert_eq!(ping(&app, "GET", &path, b"").await.0, 200);
    let up = app.wait_for_state("reports", "up").await;
    assert_eq!(up["next_deadline_at"], "2026-03-01T12:00:15.000Z", "{up}");

    // Period 10 s, grace 5 s: due at 12:00:15.
    clock.set(t("2026-03-01T12:00:15Z"));
    let down = app.wait_for_state("reports", "down").await;
    let cause = down["open_outage"]["cause"].as_str().unwrap();
    assert!(
        cause.starts_with("late: no ping since 2026-03-01 12:00:00 UTC; expected by 2026-03-01 12:00:15 UTC"),
        "{cause}"
    );
    assert_eq!(down["open_outage"]["started_at"], "2026-03-01T12:00:15.000Z");

    clock.set(t("2026-03-01T12:01:00Z"));
    assert_eq!(ping(&app, "GET", &path, b"").await.0, 200);
    app.wait_for_state("reports", "up").await;
    let outages = app.closed_outages("reports", 1).await;
    assert_eq!(outages[0]["ended_at"], "2026-03-01T12:01:00.000Z");
    let rss = eventually("the outage in the feed", Duration::from_secs(5), || async {
        let rss = app.text("/feed.rss").await;
        rss.contains("<title>Reports recovered</title>").then_some(rss)
    })
    .await;
    assert!(rss.contains("<title>Reports went down</title>"));

    // A run that starts and never ends: down once its max_duration (30 s) has passed.
    assert_eq!(ping(&app, "GET", &format!("{path}/start"), b"").await.0, 200);
    clock.set(t("2026-03-01T12:01:30Z"));
    let down = app.wait_for_state("reports", "down").await;
    assert!(
        down["last_error"].as_str().unwrap().contains("a run started at 2026-03-01 12:01:00 UTC has not finished"),
        "{down}"
    );

    // A run that ends too fast (min_duration 2 s) fails, with how long it took.
    clock.set(t("2026-03-01T12:02:00Z"));
    assert_eq!(ping(&app, "GET", &format!("{path}/start"), b"").await.0, 200);
    clock.set(t("2026-03-01T12:02:01Z"));
    assert_eq!(ping(&app, "GET", &path, b"").await.0, 200);
    let last = pings(&app, "reports", 1).await;
    assert_eq!(last["pings"][0]["duration_seconds"], 1.0);
    let m = app.monitor("reports").await;
    assert!(m["last_error"].as_str().unwrap().contains("finished too fast"), "{m}");
    // Started with a run id, ended with it: 3 s is within bounds, so it is up.
    let rid = "5f1e1c4a-8a4b-4c9e-9d0e-2a3b4c5d6e7f";
    assert_eq!(ping(&app, "GET", &format!("{path}/start?rid={rid}"), b"").await.0, 200);
    clock.set(t("2026-03-01T12:02:04Z"));
    assert_eq!(ping(&app, "GET", &format!("{path}?rid={rid}"), b"").await.0, 200);
    app.wait_for_state("reports", "up").await;
    assert_eq!(pings(&app, "reports", 1).await["pings"][0]["rid"], rid);

    // Paused: silence is nobody's business; resumed: a whole period from the resume.
    let w = Some(app.write_token.as_str());
    assert_eq!(send(&app, "POST", "/api/v1/monitors/reports/pause", w, None).await.0, 200);
    clock.set(t("2026-03-01T12:30:00Z"));
    assert_eq!(ping(&app, "GET", &path, b"").await.0, 200, "a paused heartbeat still takes pings");
    clock.set(t("2026-03-01T13:00:00Z"));
    assert_eq!(app.monitor("reports").await["state"], "paused");
    assert_eq!(send(&app, "POST", "/api/v1/monitors/reports/resume", w, None).await.0, 200);
    clock.set(t("2026-03-01T13:00:15Z"));
    let down = app.wait_for_state("reports", "down").await;
    let why = down["last_error"].as_str().unwrap();
    assert!(why.contains("no ping since 2026-03-01 12:30:00 UTC; expected by 2026-03-01 13:00:15 UTC"), "{down}");
    app.stop().await;
}

#[tokio::test]
async fn gatus_pushes_feed_push_monitors() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let push = |query: &str, token: Option<&str>| {
        let mut request = app.client.post(app.url(&format!("/api/v1/endpoints/e2e/external?{query}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(push("success=true&duration=1.5s", Some(PUSH_TOKEN)).await.0, 200);
    let up = app.wait_for_state("e2e", "up").await;
    assert_eq!(up["last_latency_ms"], 1500.0);
    assert_eq!(push("success=false&error=checkout%20failed", Some(PUSH_TOKEN)).await.0, 200);
    let down = app.wait_for_state("e2e", "down").await;
    assert_eq!(down["open_outage"]["cause"], "failed: checkout failed");
    assert_eq!(push("success=true", Some(PUSH_TOKEN)).await.0, 200);
    app.wait_for_state("e2e", "up").await;

    let (status, body) = push("success=true", Some("wrong-token-0123456789")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = push("success=true", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = push("success=maybe", Some(PUSH_TOKEN)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_success")));
    let (status, body) = push("success=true&duration=fast", Some(PUSH_TOKEN)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_duration")));
    let response = app
        .client
        .post(app.url("/api/v1/endpoints/nope/external?success=true"))
        .bearer_auth(PUSH_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(pings(&app, "e2e", 10).await["total"], 3, "refused pushes are not logged");
    app.stop().await;
}

/// Kills the server with SIGKILL while pings are being answered; after a restart every ping it
/// answered 200 is in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_ping_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("upbeat.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_upbeat"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db", &db, "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = http_client();
    let health = format!("http://127.0.0.1:{port}/health");
    eventually("the server to answer", Duration::from_secs(15), || async {
        client.get(&health).send().await.ok().filter(|r| r.status().is_success())
    })
    .await;

    // Eight pingers, each with its own run ids, until the server dies under them.
    let acknowledged = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let mut pingers = Vec::new();
    for worker in 0..8u32 {
        let (client, acknowledged) = (client.clone(), Arc::clone(&acknowledged));
        pingers.push(tokio::spawn(async move {
            for n in 0..100_000u32 {
                let rid = format!("{worker:08x}-0000-4000-8000-{n:012x}");
                let url = format!("http://127.0.0.1:{port}/ping/{UUID}/log?rid={rid}");
                let Ok(response) = client.post(&url).body("x").send().await else { return };
                if response.status() != 200 || response.text().await.ok().as_deref() != Some("OK") {
                    return;
                }
                acknowledged.lock().unwrap().insert(rid);
            }
        }));
    }
    eventually("a few hundred pings answered", Duration::from_secs(30), || async {
        (acknowledged.lock().unwrap().len() >= 300).then_some(())
    })
    .await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    for pinger in pingers {
        pinger.await.unwrap();
    }

    let store = upbeat_store::open(&db).await.unwrap();
    let id = upbeat_core::MonitorId::parse("backup").unwrap();
    let (total, stored) = store.pings(&id, 1_000_000).await.unwrap();
    let stored: BTreeSet<String> = stored.into_iter().filter_map(|p| p.ping.rid).collect();
    let acknowledged = acknowledged.lock().unwrap().clone();
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged pings were lost: {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(5)]
    );
    assert_eq!(total as usize, stored.len(), "the count matches the log");
}
