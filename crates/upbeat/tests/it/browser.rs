//! The status page in a real browser: Debian's Chromium, driven by playwright-core from
//! `tests/browser/status-page.mjs`, against the real app in a state with something on every part
//! of the page (an ongoing outage, an open incident, maintenance in progress, a healthy HTTP
//! monitor). `scripts/install-test-deps` installs both; without them this test fails and says so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::helpers::{Mode, Target, TestApp, eventually, send};

const INCIDENT: &str = "Checkout payments failing";
const NODE_TIMEOUT: Duration = Duration::from_secs(120);

fn config(failing: &Target, healthy: &Target) -> String {
    format!(
        r#"
[page]
title = "Browser shop"
base_url = "https://status.example.test/"
time_zone = "Europe/Paris"

# The subscribe form shows only with mail configured; nobody subscribes, so nothing is sent.
[smtp]
host = "127.0.0.1"
port = 9
from = "status@example.test"
tls = "none"

[[component]]
id = "web"
name = "Website"
group = "Frontend"

[[component]]
id = "checkout"
name = "Checkout"
group = "Backend"

[[component]]
id = "db"
name = "Database"
group = "Backend"

[[monitor]]
id = "checkout-api"
name = "Checkout API"
kind = "http"
url = "{}"
interval = "1s"
timeout = "500ms"
confirm = 1
component = "checkout"

[[monitor]]
id = "homepage"
name = "Homepage"
kind = "http"
url = "{}"
interval = "1s"
timeout = "500ms"
confirm = 1
component = "web"
"#,
        failing.url("/checkout"),
        healthy.url("/"),
    )
}

fn at(seconds_from_now: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(seconds_from_now)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Where the browser pieces are: the repository root, Chromium and playwright-core. Fails the
/// test, rather than skipping it, when they are not installed.
fn browser_pieces() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    // status-page.mjs reads the same variable.
    let chromium =
        std::env::var_os("UPBEAT_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let playwright = root.join("tests/browser/node_modules/playwright-core");
    for (what, path) in [("Chromium", &chromium), ("playwright-core", &playwright)] {
        assert!(
            path.exists(),
            "{what} is not installed ({} is missing): run scripts/install-test-deps from the repository root",
            path.display()
        );
    }
    let script = root.join("tests/browser/status-page.mjs");
    (root, script)
}

/// Reads a child's pipe to the end in the background.
fn drain<R: tokio::io::AsyncRead + Unpin + Send + 'static>(pipe: Option<R>) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut text = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut text).await;
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_works_in_a_real_browser() {
    let (root, script) = browser_pieces();
    let failing = Target::start().await;
    failing.set(Mode::Error).await;
    let healthy = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&failing, &healthy);
    // The bars' days are the page's (Europe/Paris) days, not UTC's: they differ for an hour or two
    // before midnight UTC.
    let zone = upbeat_core::Config::parse("browser.toml", &config).expect("the test config").page.time_zone;
    let app = TestApp::spawn(&config, &dir).await;
    let w = Some(app.write_token.as_str());

    // An incident on checkout with three updates, newest on top.
    let opening = json!({
        "title": INCIDENT,
        "status": "investigating",
        "impact": "major",
        "message": "Some card payments **fail** at checkout. We are investigating.",
        "components": {"checkout": "partial_outage"},
    });
    let (status, incident) = send(&app, "POST", "/api/v1/incidents", w, Some(opening)).await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    for (state, message) in [
        ("identified", "The payment provider's API rejects our requests; we are rotating the credentials."),
        ("monitoring", "New credentials are deployed. We are watching the error rate."),
    ] {
        let update = json!({"status": state, "message": message});
        let (status, body) = send(&app, "POST", &format!("/api/v1/incidents/{id}/updates"), w, Some(update)).await;
        assert_eq!(status, 201, "{body}");
    }

    // Maintenance on the database, in progress now.
    let window = json!({
        "title": "Database upgrade",
        "message": "We are upgrading the **database** to a new major version.",
        "scheduled_for": at(-600),
        "scheduled_until": at(7200),
        "components": ["db"],
    });
    let (status, created) = send(&app, "POST", "/api/v1/maintenance", w, Some(window)).await;
    assert_eq!(status, 201, "{created}");

    app.wait_for_state("checkout-api", "down").await;
    app.wait_for_state("homepage", "up").await;

    // The banner tells the worst component status (render.rs `banner_text`). Checkout's only
    // monitor is down, and all of a component's counted monitors down is a major outage
    // (incident.rs `component_status`), worse than the incident's partial_outage on it and the
    // database's under_maintenance: the worst of all is MajorOutage, "Major outage".
    let banner = "Major outage";
    eventually("the page to show the outage and the incident", Duration::from_secs(15), || async {
        let page = app.text("/").await;
        (page.contains(banner) && page.contains("Checkout API") && page.contains(INCIDENT)).then_some(())
    })
    .await;

    let expect = json!({
        "banner": banner,
        "outage_monitor": "Checkout API",
        "today": Utc::now().with_timezone(&zone).date_naive().to_string(),
        "http_monitor": true,
    });
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts");
    let _ = std::fs::remove_dir_all(&artifacts);
    let mut child = tokio::process::Command::new("node")
        .arg(&script)
        .arg(app.url("/"))
        .arg(&artifacts)
        .arg(expect.to_string())
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run node ({e}): install Node.js 20 or newer, then scripts/install-test-deps")
        });
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let exit = match tokio::time::timeout(NODE_TIMEOUT, child.wait()).await {
        Ok(exit) => Some(exit.expect("wait for node")),
        Err(_) => {
            let _ = child.kill().await;
            None
        }
    };
    let (stdout, stderr) = (stdout.await.unwrap(), stderr.await.unwrap());
    println!("{stdout}");
    if !stderr.is_empty() {
        eprintln!("{stderr}");
    }
    let exit =
        exit.unwrap_or_else(|| panic!("status-page.mjs did not finish within {NODE_TIMEOUT:?}:\n{stdout}\n{stderr}"));
    let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with("not ok")).collect();
    assert!(
        exit.success(),
        "the status page failed in the browser ({exit}); screenshots in {}:\n{}\n{stderr}",
        artifacts.display(),
        failures.join("\n")
    );
    app.stop().await;
}
