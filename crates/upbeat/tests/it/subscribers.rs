//! Subscribers, end to end through a real SMTP server and a real webhook receiver on loopback:
//! the form's double opt-in, news fanned out once per subscriber with the update's Markdown
//! rendered, component filters, one-click unsubscribe, and maintenance announced as it is
//! scheduled, starts and completes.

use std::time::Duration;

use serde_json::{Value, json};
use upbeat_testkit::smtp::{ReceivedMail, SinkOptions, SmtpSink};

use crate::helpers::{ManualClock, TestApp, db_url, eventually, receiver, send};

const WAIT: Duration = Duration::from_secs(20);

fn config(smtp: std::net::SocketAddr) -> String {
    format!(
        r#"
[page]
title = "Acme"
base_url = "https://status.acme.test/"

[smtp]
host = "127.0.0.1"
port = {}
from = "Acme Status <status@acme.test>"
tls = "none"

[[component]]
id = "api"
name = "Public API"

[[component]]
id = "web"
name = "Website"
"#,
        smtp.port()
    )
}

/// The one link in a mail's text that starts with `prefix`, as a path on the test server.
fn link(mail: &ReceivedMail, prefix: &str) -> String {
    let text = mail.text_part().expect("a text part");
    let url = text
        .split_whitespace()
        .find(|w| w.starts_with(prefix))
        .unwrap_or_else(|| panic!("no link starting with {prefix} in:\n{text}"));
    url.strip_prefix("https://status.acme.test").expect("on the page").to_owned()
}

async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    let response = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.join("&"))
        .send()
        .await
        .expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

/// Waits until no delivery is pending, and returns the outbox's counts.
async fn settled(app: &TestApp) -> Value {
    eventually("the outbox to settle", WAIT, || async {
        let (status, body) = send(app, "GET", "/api/v1/deliveries?status=pending", Some(&app.read_token), None).await;
        assert_eq!(status, 200, "{body}");
        (body["pending"] == 0).then_some(body)
    })
    .await
}

#[tokio::test]
async fn double_opt_in_news_once_per_subscriber_and_one_click_unsubscribe() {
    let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
    let (port, hooks) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(sink.addr()), &dir).await;

    // The form: a bad address is refused with a message and nothing is stored.
    let (status, page) = form(&app, "/subscribe", &[("email", "not an address")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("is not an email address"), "{page}");
    let (status, page) = form(&app, "/subscribe", &[("email", "x@acme.test"), ("component", "nope")]).await;
    assert_eq!(status, 400);
    assert!(page.contains("`nope` is not a component"), "{page}");

    // A real address gets one confirmation mail, and nothing else until it confirms.
    let (status, page) = form(&app, "/subscribe", &[("email", "Ann@Example.test")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("Check your inbox"), "{page}");
    let mails = sink.wait_for(1, WAIT).await;
    let confirm = &mails[0];
    assert_eq!(confirm.to, ["Ann@Example.test"]);
    assert_eq!(confirm.subject().as_deref(), Some("[Acme] Confirm your subscription"));
    assert!(confirm.header("List-Unsubscribe").is_none(), "nothing to unsubscribe from yet");
    // Asking again at once sends nothing more (the form cannot flood an inbox), and says the same.
    let (status, again) = form(&app, "/subscribe", &[("email", "ann@example.test")]).await;
    assert_eq!((status, again.contains("Check your inbox")), (200, true));

    // A tampered link is refused; the real one confirms.
    let path = link(confirm, "https://status.acme.test/subscribe/confirm/");
    // Flip the last hex digit to another one, so the signature differs whatever it was.
    let last = path.chars().last().expect("a signed link");
    let flipped = if last == '0' { '1' } else { '0' };
    let tampered = format!("{}{flipped}", &path[..path.len() - 1]);
    assert_ne!(tampered, path);
    let response = app.client.get(app.url(&tampered)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert!(response.text().await.unwrap().contains("not valid"));
    let page = app.text(&path).await;
    assert!(page.contains("You are subscribed"), "{page}");

    // A webhook subscriber, added by an operator, and an email subscriber to the website only.
    let (status, hook) = send(
        &app,
        "POST",
        "/api/v1/subscribers",
        Some(&app.admin_token),
        Some(json!({"webhook_url": format!("http://127.0.0.1:{port}/ok")})),
    )
    .await;
    assert_eq!((status, hook["state"].as_str()), (201, Some("active")), "{hook}");
    let (status, web_only) = send(
        &app,
        "POST",
        "/api/v1/subscribers",
        Some(&app.admin_token),
        Some(json!({"email": "web-only@example.test", "components": ["web"], "skip_confirmation": true})),
    )
    .await;
    assert_eq!(status, 201, "{web_only}");
    let (status, _) = send(&app, "GET", "/api/v1/subscribers", Some(&app.read_token), None).await;
    assert_eq!(status, 403, "addresses are for admin tokens only");

    // An incident on the API reaches Ann and the webhook, not the website-only subscriber.
    let (status, incident) = send(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&app.write_token),
        Some(json!({
            "title": "Elevated API errors",
            "message": "We are **investigating** errors on `/v1/orders`.",
            "components": {"api": "partial_outage"},
        })),
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    let mails = sink.wait_for(2, WAIT).await;
    let news = &mails[1];
    assert_eq!(news.to, ["Ann@Example.test"]);
    assert_eq!(news.subject().as_deref(), Some("[Acme] Elevated API errors: Investigating"));
    let html = news.html_part().expect("an HTML part");
    assert!(html.contains("<strong>investigating</strong>") && html.contains("<code>/v1/orders</code>"), "{html}");
    let text = news.text_part().expect("a text part");
    assert!(text.contains("We are investigating errors on /v1/orders.") && text.contains("Public API"), "{text}");
    let unsubscribe = news.header("List-Unsubscribe").expect("List-Unsubscribe");
    assert!(unsubscribe.starts_with("<https://status.acme.test/unsubscribe/") && unsubscribe.ends_with('>'));
    assert_eq!(news.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let hook_body = eventually("the webhook subscriber's copy", WAIT, || async {
        let log = hooks.lock().unwrap();
        log.first().map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
    })
    .await;
    assert_eq!(hook_body["event"], "incident_opened");
    assert_eq!(hook_body["incident"]["title"], "Elevated API errors");
    assert_eq!(hook_body["incident"]["update"]["status"], "investigating");

    // One click (what a mail client POSTs) unsubscribes Ann; the website-only subscriber hears of
    // an incident on the website.
    let unsubscribe_path = unsubscribe.trim_matches(['<', '>']).strip_prefix("https://status.acme.test").unwrap();
    let shown = app.text(unsubscribe_path).await;
    assert!(shown.contains("Unsubscribe Ann@Example.test"), "a GET only shows a button: {shown}");
    let (status, page) = form(&app, unsubscribe_path, &[("List-Unsubscribe", "One-Click")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("gets no more updates"), "{page}");
    let id = incident["id"].as_i64().unwrap();
    let (status, _) = send(
        &app,
        "POST",
        &format!("/api/v1/incidents/{id}/resolve"),
        Some(&app.write_token),
        Some(json!({"message": "Fixed.", "components": {"web": "operational", "api": "operational"}})),
    )
    .await;
    assert_eq!(status, 201);
    let mails = sink.wait_for(3, WAIT).await;
    assert_eq!(mails[2].to, ["web-only@example.test"]);
    assert_eq!(mails[2].subject().as_deref(), Some("[Acme] Elevated API errors: Resolved"));
    settled(&app).await;
    app.stop().await;

    // Exactly once each: 1 confirmation, 2 news mails, 2 webhook posts; nothing dead.
    assert_eq!(sink.count(), 3);
    let posts: Vec<Value> = hooks.lock().unwrap().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(
        posts.iter().map(|p| p["event"].as_str().unwrap()).collect::<Vec<_>>(),
        ["incident_opened", "incident_resolved"]
    );
    let store = upbeat_store::open(&db_url(&dir)).await.unwrap();
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.sent, stats.dead, stats.pending), (5, 0, 0), "{stats:?}");
    let ann = store.subscribers(0, 10, false).await.unwrap().into_iter().next().unwrap();
    assert_eq!(ann.state(), "unsubscribed");
}

#[tokio::test]
async fn maintenance_is_announced_when_scheduled_started_and_completed() {
    let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t0: chrono::DateTime<chrono::Utc> = "2026-03-01T10:00:00Z".parse().unwrap();
    let clock = ManualClock::at(t0);
    let app = TestApp::spawn_with_clock(&config(sink.addr()), &dir, clock.clone()).await;
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/subscribers",
        Some(&app.admin_token),
        Some(json!({"email": "ops@example.test", "skip_confirmation": true})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, window) = send(
        &app,
        "POST",
        "/api/v1/maintenance",
        Some(&app.write_token),
        Some(json!({
            "title": "Database upgrade",
            "message": "Writes pause for *about* a minute.",
            "scheduled_for": "2026-03-01T12:00:00Z",
            "scheduled_until": "2026-03-01T13:00:00Z",
            "components": ["api"],
        })),
    )
    .await;
    assert_eq!(status, 201, "{window}");
    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails[0].subject().as_deref(), Some("[Acme] Scheduled maintenance: Database upgrade"));
    assert!(mails[0].html_part().unwrap().contains("<em>about</em>"));

    clock.set("2026-03-01T12:00:01Z".parse().unwrap());
    let mails = sink.wait_for(2, WAIT).await;
    assert_eq!(mails[1].subject().as_deref(), Some("[Acme] Maintenance started: Database upgrade"));
    clock.set("2026-03-01T13:00:01Z".parse().unwrap());
    let mails = sink.wait_for(3, WAIT).await;
    assert_eq!(mails[2].subject().as_deref(), Some("[Acme] Maintenance completed: Database upgrade"));
    settled(&app).await;
    app.stop().await;
    assert_eq!(sink.count(), 3, "each change once");
}

#[tokio::test]
async fn a_rejected_address_is_a_dead_letter_and_a_busy_server_is_retried() {
    // The server refuses one address for good and asks to try the first message again later.
    let sink = SmtpSink::start(SinkOptions {
        reject_rcpt: vec!["nobody@".into()],
        tempfail_first: 1,
        ..SinkOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(sink.addr()), &dir).await;
    for email in ["nobody@example.test", "bob@example.test"] {
        let (status, body) = send(
            &app,
            "POST",
            "/api/v1/subscribers",
            Some(&app.admin_token),
            Some(json!({"email": email, "skip_confirmation": true})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&app.write_token),
        Some(json!({"title": "Outage", "message": "Looking into it."})),
    )
    .await;
    assert_eq!(status, 201);
    let mails = sink.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(mails[0].to, ["bob@example.test"]);
    let (_, dead) = eventually("the rejected address's dead letter", WAIT, || async {
        let (status, body) = send(&app, "GET", "/api/v1/deliveries?status=dead", Some(&app.read_token), None).await;
        (body["dead"] == 1).then_some((status, body))
    })
    .await;
    let error = dead["deliveries"][0]["last_error"].as_str().unwrap();
    assert!(error.contains("550"), "the server's answer is kept: {error}");
    assert_eq!(dead["deliveries"][0]["attempts"], 1, "a permanent failure is not retried");
    let (_, sent) = send(&app, "GET", "/api/v1/deliveries?status=sent", Some(&app.read_token), None).await;
    assert_eq!(sent["deliveries"][0]["attempts"], 2, "sent on the second try, after `451 try again later`: {sent}");
    app.stop().await;
    assert_eq!(sink.count(), 1);
}

/// Kills the server with SIGKILL in the middle of a fan-out to 1,500 subscribers; after a restart
/// every subscriber has the mail, the outbox is empty, and the only mails sent twice are the
/// few that were in flight at the kill, under the same Message-ID (so a receiver can tell).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_survives_kill_9_and_nothing_is_sent_twice_but_what_was_in_flight() {
    const SUBSCRIBERS: usize = 1_500;
    let sink = SmtpSink::start(SinkOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("upbeat.toml");
    std::fs::write(&config_path, config(sink.addr())).unwrap();
    let db = db_url(&dir);
    let token = {
        let store = upbeat_store::open(&db).await.unwrap();
        for n in 0..SUBSCRIBERS {
            let new = upbeat_store::NewSubscriber {
                kind: upbeat_core::subscriber::SubscriberKind::Email,
                address: format!("reader{n}@example.test"),
                components: vec![],
                confirmed: true,
            };
            store.subscribe(&new, chrono::Utc::now()).await.unwrap();
        }
        let token = upbeat::cli::new_token().unwrap();
        let hash = upbeat_web::auth::token_hash(&token);
        let prefix = upbeat_web::auth::token_prefix(&token);
        let new = upbeat_store::NewToken { name: "w", scope: upbeat_core::Scope::Write, hash: &hash, prefix };
        store.create_token(&new, chrono::Utc::now()).await.unwrap();
        token
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let serve = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_upbeat"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db", &db, "--config"])
            .arg(&config_path)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let client = crate::helpers::http_client();
    let up = || async {
        eventually("the server to answer", WAIT, || async {
            client.get(format!("http://127.0.0.1:{port}/health")).send().await.ok().filter(|r| r.status().is_success())
        })
        .await;
    };
    let mut child = serve();
    up().await;
    let response = client
        .post(format!("http://127.0.0.1:{port}/api/v1/incidents"))
        .bearer_auth(&token)
        .json(&json!({"title": "Database failover", "message": "Writes are failing."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    sink.wait_for(200, WAIT).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let at_kill = sink.count();
    assert!(at_kill < SUBSCRIBERS, "killed in the middle of the backlog ({at_kill} sent)");

    let _child = serve();
    up().await;
    sink.wait_for(SUBSCRIBERS, Duration::from_secs(60)).await;
    let store = upbeat_store::open(&db).await.unwrap();
    eventually("the outbox to empty", WAIT, || async {
        let stats = store.outbox_stats().await.unwrap();
        (stats.pending == 0).then_some(stats)
    })
    .await;
    // Read once the outbox is empty: a late duplicate is counted too.
    let mails = sink.messages();
    let mut by_reader: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for mail in &mails {
        by_reader.entry(mail.to[0].clone()).or_default().push(mail.header("Message-ID").unwrap());
    }
    assert_eq!(by_reader.len(), SUBSCRIBERS, "every subscriber got the mail");
    let twice: Vec<&Vec<String>> = by_reader.values().filter(|ids| ids.len() > 1).collect();
    assert!(twice.len() <= 32, "only what was in flight (one batch at most) went twice: {}", twice.len());
    assert!(twice.iter().all(|ids| ids.iter().all(|id| *id == ids[0])), "a resent mail keeps its Message-ID");
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.sent, stats.dead), (SUBSCRIBERS as u64, 0));
}
