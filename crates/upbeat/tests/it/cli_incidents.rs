//! `upbeat incident ...`: the real binary against the real app, as an operator or a CI job runs
//! it; and against a failing server, to see a retry carry the same Idempotency-Key.

use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_upbeat");

const CONFIG: &str = r#"
[page]
title = "CLI"

[[component]]
id = "api"
name = "API"

[[component]]
id = "email"
name = "Email delivery"
"#;

/// Runs `upbeat` with `stdin` piped in (or none), in an environment without upbeat's variables.
async fn upbeat(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("UPBEAT_SERVER")
        .env_remove("UPBEAT_TOKEN")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).await.unwrap();
        drop(pipe);
    }
    child.wait_with_output().await.unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The one line on stdout, as an id; fails with stderr if the command failed.
fn printed_id(out: &Output) -> i64 {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), stderr(out));
    let text = stdout(out);
    assert_eq!(text.lines().count(), 1, "{text}");
    text.trim().parse().unwrap_or_else(|_| panic!("not an id: {text:?}"))
}

struct Remote {
    server: String,
    write: String,
    read: String,
}

impl Remote {
    fn of(app: &TestApp) -> Remote {
        Remote { server: format!("http://{}", app.addr), write: app.write_token.clone(), read: app.read_token.clone() }
    }

    /// `upbeat incident <args> --server ... --token <write token>`.
    async fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run_with(&self.write, args, stdin).await
    }

    async fn run_with(&self, token: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut all = vec!["incident"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--server", &self.server, "--token", token]);
        upbeat(&all, stdin).await
    }
}

async fn incident(app: &TestApp, id: i64) -> Value {
    let (status, body) = app.api(&format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn open_update_resolve_and_list_an_incident() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let remote = Remote::of(&app);

    let out = remote
        .run(
            &[
                "open",
                "Database slow",
                "--impact",
                "major",
                "--component",
                "api",
                "--component",
                "email=degraded_performance",
                "--message",
                "We are *investigating*.",
                "--started-at",
                "2026-03-01T15:30:00+01:00",
            ],
            None,
        )
        .await;
    let id = printed_id(&out);
    let opened = incident(&app, id).await;
    assert_eq!(opened["title"], "Database slow");
    assert_eq!((opened["status"].as_str(), opened["impact"].as_str()), (Some("investigating"), Some("major")));
    assert_eq!(opened["components"], json!({"api": "partial_outage", "email": "degraded_performance"}));
    assert_eq!(opened["started_at"], "2026-03-01T14:30:00Z");
    assert_eq!(opened["updates"][0]["message"], "We are *investigating*.");

    // The message from a pipe, with --message - and with no --message at all.
    let out = remote
        .run(&["update", &id.to_string(), "--status", "identified", "--message", "-"], Some("A full disk.\n"))
        .await;
    let first_update = printed_id(&out);
    let out = remote
        .run(&["update", &id.to_string(), "--component", "api=operational"], Some("The API is back; email is slow.\n"))
        .await;
    let second_update = printed_id(&out);
    let updated = incident(&app, id).await;
    assert_eq!(updated["status"], "identified");
    assert_eq!(updated["components"]["api"], "operational");
    let updates = updated["updates"].as_array().unwrap();
    let message_of = |update: i64| updates.iter().find(|u| u["id"] == update).map(|u| u["message"].clone());
    assert_eq!(message_of(first_update), Some(json!("A full disk.")));
    assert_eq!(message_of(second_update), Some(json!("The API is back; email is slow.")));

    // Without --message and without a terminal, resolve says the usual sentence.
    let out = remote.run(&["resolve", &id.to_string()], None).await;
    let last = printed_id(&out);
    let resolved = incident(&app, id).await;
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolved_at"].is_string());
    assert_eq!(resolved["updates"][0]["id"], last);
    assert_eq!(resolved["updates"][0]["message"], "This incident has been resolved.");

    let out = remote.run(&["list", "--format", "json"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (_, api) = app.api("/api/v1/incidents").await;
    assert_eq!(listed, api, "the API's JSON, as it is");
    assert_eq!(listed["incidents"][0]["id"], id);

    let out = remote.run(&["list", "--limit", "5"], None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("ID") && lines[0].contains("STARTED (UTC)"), "{table}");
    for cell in [id.to_string().as_str(), "resolved", "major", "2026-03-01 14:30", "Database slow"] {
        assert!(lines[1].contains(cell), "{cell} in {table}");
    }
    app.stop().await;
}

#[tokio::test]
async fn one_idempotency_key_opens_one_incident() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let remote = Remote::of(&app);
    let open = ["open", "Email delayed", "--message", "-", "--idempotency-key", "email-2026-03-01"];
    let first = printed_id(&remote.run(&open, Some("Looking.")).await);
    let again = printed_id(&remote.run(&open, Some("Looking.")).await);
    assert_eq!(first, again);
    let (_, list) = app.api("/api/v1/incidents").await;
    assert_eq!(list["incidents"].as_array().unwrap().len(), 1, "{list}");

    // Without a key, each run is its own incident.
    let other = printed_id(&remote.run(&["open", "Another"], Some("Hm.")).await);
    assert_ne!(other, first);
    app.stop().await;
}

#[tokio::test]
async fn errors_exit_1_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let remote = Remote::of(&app);

    let out = remote.run_with(&remote.read, &["open", "Nope", "--message", "x"], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("(forbidden)") && stdout(&out).is_empty(), "{}", stderr(&out));

    let out = remote.run(&["open", "Nope", "--component", "billing", "--message", "x"], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error: no component has id `billing` (unknown_component, field components.billing)"),
        "{}",
        stderr(&out)
    );

    let out = remote.run(&["update", "999", "--message", "x"], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("(incident_not_found)"), "{}", stderr(&out));

    // No message: stdin is empty and not a terminal.
    let out = remote.run(&["open", "Nope"], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no message"), "{}", stderr(&out));
    let out = remote.run(&["open", "Nope", "--message", "-"], Some("  \n")).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
    let (_, list) = app.api("/api/v1/incidents").await;
    assert_eq!(list["incidents"], json!([]), "nothing was created");

    let out = upbeat(&["incident", "list", "--server", &remote.server], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no API token: pass --token TOKEN or set UPBEAT_TOKEN"), "{}", stderr(&out));

    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let server = format!("http://{closed}");
    let out = upbeat(&["incident", "list", "--server", &server, "--token", &remote.read], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&format!("error: cannot reach {server}: ")), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    app.stop().await;
}

/// A server that answers every request 503, and keeps each request's Idempotency-Key.
async fn failing_server() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let keys = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&keys);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // The head, then as much body as Content-Length says.
                let head_end = loop {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break end + 4;
                    }
                };
                let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
                let header = |name: &str| {
                    head.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_owned()))
                };
                let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                while request.len() < head_end + length {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                seen.lock().unwrap().push(header("idempotency-key"));
                let body = r#"{"error":{"code":"storage_unavailable","message":"storage is unavailable; try again"}}"#;
                let response = format!(
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), keys)
}

#[tokio::test]
async fn a_failing_open_is_retried_three_times_with_the_same_key() {
    let (server, keys) = failing_server().await;
    let open = ["incident", "open", "Retry", "--message", "x", "--server", &server, "--token", "upb_x"];
    let out = upbeat(&open, None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("error: storage is unavailable; try again (storage_unavailable)"),
        "{}",
        stderr(&out)
    );
    let first: Vec<Option<String>> = keys.lock().unwrap().drain(..).collect();
    assert_eq!(first.len(), 4, "one request and three retries: {first:?}");
    assert!(first[0].as_deref().is_some_and(|k| !k.is_empty()), "{first:?}");
    assert!(first.iter().all(|k| k == &first[0]), "the same key each time: {first:?}");

    // Another run is another request: a new key.
    let out = upbeat(&open, None).await;
    assert_eq!(out.status.code(), Some(1));
    let second: Vec<Option<String>> = keys.lock().unwrap().drain(..).collect();
    assert_eq!(second.len(), 4);
    assert_ne!(second[0], first[0]);

    // An update carries no key, so a 503 is not retried: it may have been stored.
    let out =
        upbeat(&["incident", "update", "1", "--message", "x", "--server", &server, "--token", "upb_x"], None).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(keys.lock().unwrap().drain(..).collect::<Vec<_>>(), vec![None]);
}

#[tokio::test]
async fn schedule_list_and_complete_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let server = format!("http://{}", app.addr);
    let remote = ["--server", server.as_str(), "--token", app.write_token.as_str()];
    let from = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let until = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let mut args = vec!["maintenance", "schedule", "Database upgrade", "--from", &from, "--until", &until];
    args.extend(["--component", "api", "--message", "-"]);
    args.extend(remote);
    let id = printed_id(&upbeat(&args, Some("We will upgrade the database.\n")).await);

    let (status, window) =
        crate::helpers::send(&app, "GET", &format!("/api/v1/maintenance/{id}"), Some(&app.read_token), None).await;
    assert_eq!(status, 200);
    assert_eq!((window["status"].as_str(), &window["components"]), (Some("scheduled"), &serde_json::json!(["api"])));
    assert_eq!(window["updates"][0]["message"], "We will upgrade the database.");

    let mut list = vec!["maintenance", "list"];
    list.extend(remote);
    let listed: Value = serde_json::from_str(&stdout(&upbeat(&list, None).await)).unwrap();
    assert_eq!(listed["maintenance"][0]["id"], id);

    let mut complete = vec!["maintenance", "complete"];
    let id_text = id.to_string();
    complete.push(&id_text);
    complete.extend(remote);
    let out = upbeat(&complete, None).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("{id} completed"));

    let mut backwards = vec!["maintenance", "schedule", "Oops", "--from", &until, "--until", &from, "--message", "x"];
    backwards.extend(remote);
    let out = upbeat(&backwards, None).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("scheduled_until"), "{}", stderr(&out));
    app.stop().await;
}
