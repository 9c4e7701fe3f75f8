//! Team channels beyond the webhook: email through a real SMTP server, reminders while an outage
//! stays open (`renotify`), a channel's rate limit, and `upbeat channel test`. Time is a manual
//! clock, so a minute passes when the test says so.

use std::time::Duration;

use serde_json::Value;
use upbeat_testkit::smtp::{SinkOptions, SmtpSink};

use crate::helpers::{Log, ManualClock, TestApp, eventually, receiver, send};

const WAIT: Duration = Duration::from_secs(20);

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

fn config(smtp: std::net::SocketAddr, port: u16) -> String {
    format!(
        r#"
[page]
title = "Jobs"
base_url = "https://status.example.test/"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
from = "upbeat <upbeat@example.test>"
tls = "none"
username = "upbeat"
password = "env:UPBEAT_TEST_SMTP_PASSWORD"

[[channel]]
id = "oncall"
kind = "email"
to = ["oncall@example.test", "lead@example.test"]

[[channel]]
id = "ops"
kind = "webhook"
url = "http://127.0.0.1:{port}/ok"

[[channel]]
id = "limited"
kind = "webhook"
url = "http://127.0.0.1:{port}/limited"
rate_limit = "1/m"

[[monitor]]
id = "job"
name = "Job"
kind = "heartbeat"
period = "1h"
grace = "5s"
renotify = "1m"
channels = ["oncall", "ops"]

[[monitor]]
id = "other"
name = "Other"
kind = "heartbeat"
period = "1h"
grace = "5s"
channels = ["limited"]
"#,
        smtp_port = smtp.port()
    )
}

/// The JSON bodies a receiver path got, in order.
fn bodies(log: &Log, path: &str) -> Vec<Value> {
    log.lock().unwrap().iter().filter(|r| r.path == path).map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
}

async fn wait_bodies(log: &Log, path: &str, n: usize) -> Vec<Value> {
    eventually(&format!("{n} messages at {path}"), WAIT, || async {
        let got = bodies(log, path);
        (got.len() >= n).then_some(got)
    })
    .await
}

async fn ping(app: &TestApp, id: &str) {
    let uuid = app.monitor(id).await["ping_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let response = app.client.get(app.url(&format!("/ping/{uuid}"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn email_alerts_reminders_while_down_and_a_rate_limited_channel() {
    let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
    let (port, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t("2026-03-01T12:00:00Z"));
    let config = config(sink.addr(), port).replace("env:UPBEAT_TEST_SMTP_PASSWORD", "smtp-pw-for-tests");
    let app = TestApp::spawn_with_clock(&config, &dir, clock.clone()).await;
    ping(&app, "job").await;
    ping(&app, "other").await;
    app.wait_for_state("job", "up").await;
    app.wait_for_state("other", "up").await;

    // Late at 13:00:05: one email to both addresses, one webhook.
    clock.set(t("2026-03-01T13:00:05Z"));
    app.wait_for_state("job", "down").await;
    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, ["oncall@example.test", "lead@example.test"]);
    assert_eq!(mails[0].subject().as_deref(), Some("[Jobs] Job is late"));
    assert_eq!(mails[0].auth, Some(("upbeat".into(), "smtp-pw-for-tests".into())));
    let first = wait_bodies(&log, "/ok", 1).await;
    assert_eq!((first[0]["event"].as_str(), first[0]["reminder"].as_u64()), (Some("heartbeat_late"), Some(0)));

    // Still down a minute later: reminder 1, then reminder 2 a minute after that.
    clock.set(t("2026-03-01T13:01:06Z"));
    let got = wait_bodies(&log, "/ok", 2).await;
    assert_eq!(got[1]["reminder"], 1);
    let mails = sink.wait_for(2, WAIT).await;
    assert_eq!(mails[1].subject().as_deref(), Some("[Jobs] Job is still down"));
    // Each reminder sent enqueues the next, a minute on.
    eventually("the second reminders to be queued", WAIT, || async {
        let (_, body) = send(&app, "GET", "/api/v1/deliveries?status=pending", Some(&app.read_token), None).await;
        let queued: Vec<&str> = body["deliveries"].as_array()?.iter().filter_map(|d| d["recipient"].as_str()).collect();
        (queued.contains(&"reminder:2:channel:oncall") && queued.contains(&"reminder:2:channel:ops")).then_some(())
    })
    .await;
    clock.set(t("2026-03-01T13:02:07Z"));
    let got = wait_bodies(&log, "/ok", 3).await;
    assert_eq!(got[2]["reminder"], 2);
    sink.wait_for(3, WAIT).await;
    eventually("the third reminders to be queued", WAIT, || async {
        let (_, body) = send(&app, "GET", "/api/v1/deliveries?status=pending", Some(&app.read_token), None).await;
        let queued: Vec<&str> = body["deliveries"].as_array()?.iter().filter_map(|d| d["recipient"].as_str()).collect();
        (queued.contains(&"reminder:3:channel:oncall") && queued.contains(&"reminder:3:channel:ops")).then_some(())
    })
    .await;

    // Recovered: the closing message, and the next reminder is not sent.
    ping(&app, "job").await;
    app.wait_for_state("job", "up").await;
    let got = wait_bodies(&log, "/ok", 4).await;
    assert_eq!(got[3]["event"], "outage_closed");
    clock.set(t("2026-03-01T13:03:30Z"));
    let cancelled = eventually("the third reminder to be cancelled", WAIT, || async {
        let (_, body) = send(&app, "GET", "/api/v1/deliveries?status=cancelled", Some(&app.read_token), None).await;
        (body["cancelled"] == 2).then_some(body)
    })
    .await;
    // One for the webhook and one for email: the outage is over.
    assert!(cancelled["deliveries"].as_array().unwrap().iter().all(|d| d["last_error"] == "the outage is over"));
    assert_eq!(bodies(&log, "/ok").len(), 4);
    assert_eq!(sink.count(), 4);

    // The rate-limited channel (1/m) told of "other" going late at 13:00:05; its recovery now
    // goes at once, but a failure right after it waits for the minute to pass.
    let limited = wait_bodies(&log, "/limited", 1).await;
    assert_eq!(limited[0]["event"], "heartbeat_late");
    ping(&app, "other").await;
    wait_bodies(&log, "/limited", 2).await;
    let uuid = app.monitor("other").await["ping_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(app.client.get(app.url(&format!("/ping/{uuid}/fail"))).send().await.unwrap().status(), 200);
    eventually("the failure held back by the rate limit", WAIT, || async {
        let (_, body) = send(&app, "GET", "/api/v1/deliveries?status=pending", Some(&app.read_token), None).await;
        let held = body["deliveries"]
            .as_array()?
            .iter()
            .any(|d| d["recipient"] == "channel:limited" && d["last_error"] == "rate limit of channel `limited`");
        held.then_some(())
    })
    .await;
    assert_eq!(bodies(&log, "/limited").len(), 2, "not before a minute has passed");
    clock.set(t("2026-03-01T13:04:31Z"));
    let limited = wait_bodies(&log, "/limited", 3).await;
    assert_eq!(
        limited.iter().map(|b| b["event"].as_str().unwrap()).collect::<Vec<_>>(),
        ["heartbeat_late", "outage_closed", "heartbeat_failed"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_test_sends_one_message_and_says_what_the_receiver_answered() {
    let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
    let (port, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upbeat.toml");
    let config = config(sink.addr(), port).replace("/limited\"", "/gone\"");
    std::fs::write(&path, config).unwrap();
    let run = |id: &'static str| {
        let path = path.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_upbeat"))
                .args(["channel", "test", "--config"])
                .arg(&path)
                .arg(id)
                .env("UPBEAT_TEST_SMTP_PASSWORD", "pw")
                .output()
                .await
                .unwrap()
        }
    };
    let out = run("ops").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ops: delivered\n");
    assert_eq!(bodies(&log, "/ok")[0]["event"], "test");

    let out = run("oncall").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mail = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(mail.subject().as_deref(), Some("[Jobs] Test message from upbeat"));
    assert_eq!(mail.auth, Some(("upbeat".into(), "pw".into())), "the password came from env:");

    let out = run("limited").await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("limited: not delivered: HTTP 404"), "{stderr}");

    let out = run("nope").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no channel has id `nope`; the configuration has: oncall, ops, limited")
    );
}

/// `depends_on`: the database goes down, then the API that depends on it. One alert for the
/// database going down and one for it recovering; the API's outage is recorded, and neither its
/// opening nor its closing is alerted.
#[tokio::test]
async fn a_child_of_a_down_monitor_is_recorded_not_alerted() {
    let (port, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t("2026-03-01T12:00:00Z"));
    let config = format!(
        r#"
[page]
title = "Deps"
base_url = "https://status.example.test/"

[[channel]]
id = "ops"
kind = "webhook"
url = "http://127.0.0.1:{port}/ok"

[[monitor]]
id = "db"
name = "Database"
kind = "heartbeat"
period = "1h"
grace = "5s"

[[monitor]]
id = "api"
name = "API"
kind = "heartbeat"
period = "1h"
grace = "10s"
depends_on = "db"
"#
    );
    let app = TestApp::spawn_with_clock(&config, &dir, clock.clone()).await;
    ping(&app, "db").await;
    ping(&app, "api").await;
    app.wait_for_state("api", "up").await;
    clock.set(t("2026-03-01T13:00:05Z"));
    app.wait_for_state("db", "down").await;
    clock.set(t("2026-03-01T13:00:10Z"));
    app.wait_for_state("api", "down").await;
    // The database recovers first: the API's recovery, after it, is not news either.
    ping(&app, "db").await;
    app.closed_outages("db", 1).await;
    ping(&app, "api").await;
    app.closed_outages("api", 1).await;
    let got = wait_bodies(&log, "/ok", 2).await;
    let (status, pending) = send(&app, "GET", "/api/v1/deliveries?status=pending", Some(&app.read_token), None).await;
    assert_eq!((status, pending["pending"].as_u64()), (200, Some(0)));
    app.stop().await;
    let seen: Vec<(String, String)> = bodies(&log, "/ok")
        .iter()
        .map(|b| (b["monitor"]["id"].as_str().unwrap().to_owned(), b["event"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(seen, [("db".into(), "heartbeat_late".into()), ("db".into(), "outage_closed".into())], "{got:?}");
}
