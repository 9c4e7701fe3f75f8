//! `upbeat backup` against a running server: the copy is taken while probes and pings are being
//! written, and restoring it (stop, move the file in place, start) brings back the same incident,
//! outage and pings. Also: it never overwrites a file, and says PostgreSQL is not supported yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde_json::json;

use crate::helpers::{Mode, Target, TestApp, db_url, send};

const BIN: &str = env!("CARGO_BIN_EXE_upbeat");
const UUID: &str = "5b1c7d2e-3f4a-4b5c-8d6e-7f8091a2b3c4";

fn config(target: &Target) -> String {
    format!(
        r#"
[page]
title = "Backups"

[[monitor]]
id = "web"
name = "web"
kind = "http"
url = "{}"
interval = "1s"
timeout = "500ms"

[[monitor]]
id = "nightly"
name = "Nightly job"
kind = "heartbeat"
uuid = "{UUID}"
period = "1h"
grace = "10m"
"#,
        target.url("/")
    )
}

async fn backup(db: &str, to: &std::path::Path) -> std::process::Output {
    tokio::process::Command::new(BIN).args(["backup", "--db", db, "--to"]).arg(to).output().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_a_running_server_restores_its_incidents_outages_and_pings() {
    let target = Target::start().await;
    target.set(Mode::Error).await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target), &dir).await;
    let outage = app.wait_for_state("web", "down").await["open_outage"]["id"].clone();
    assert!(outage.is_string());
    let incident = json!({"title": "Web is down", "impact": "major", "message": "We are *looking*."});
    let (status, incident) = send(&app, "POST", "/api/v1/incidents", Some(&app.write_token), Some(incident)).await;
    assert_eq!(status, 201, "{incident}");

    // Pings keep arriving (and probes keep failing) while the copy is taken.
    let acknowledged = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let pinger = {
        let (client, url) = (app.client.clone(), app.url(&format!("/ping/{UUID}")));
        let (acknowledged, running) = (Arc::clone(&acknowledged), Arc::clone(&running));
        tokio::spawn(async move {
            while running.load(Ordering::SeqCst) {
                let answer = client.post(&url).body("ran").send().await.unwrap();
                assert_eq!(answer.status(), 200);
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    crate::helpers::eventually("pings to flow", std::time::Duration::from_secs(10), || async {
        (acknowledged.load(Ordering::SeqCst) >= 20).then_some(())
    })
    .await;
    let before = acknowledged.load(Ordering::SeqCst);
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("upbeat-backup.db");
    let out = backup(&db_url(&dir), &copy).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    running.store(false, Ordering::SeqCst);
    pinger.await.unwrap();
    let size = std::fs::metadata(&copy).unwrap().len();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("wrote {} ({size} bytes)\n", copy.display()));

    // A second backup to the same file is refused, and the first copy is left as it was.
    let again = backup(&db_url(&dir), &copy).await;
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("already exists") && stderr.contains("upbeat-backup.db"), "{stderr}");
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), size);
    app.stop().await;

    // Restore: the copy becomes the database of a server that starts on it.
    let restored_dir = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, restored_dir.path().join("upbeat.db")).unwrap();
    let restored = TestApp::spawn(&config(&target), &restored_dir).await;
    let (status, found) = restored.api(&format!("/api/v1/incidents/{}", incident["id"])).await;
    assert_eq!((status, &found["title"]), (200, &json!("Web is down")), "{found}");
    let web = restored.monitor("web").await;
    assert_eq!(web["open_outage"]["id"], outage, "the same outage, still open: {web}");
    let (status, pings) = restored.api("/api/v1/monitors/nightly/pings?limit=1").await;
    assert_eq!(status, 200, "{pings}");
    let total = pings["total"].as_u64().unwrap();
    assert!(total >= before, "every ping acknowledged before the backup began is in it: {total} < {before}");
    restored.stop().await;
}

#[tokio::test]
async fn backup_says_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("copy.db");
    let postgres = backup("postgres://127.0.0.1/upbeat", &to).await;
    assert_eq!(postgres.status.code(), Some(1));
    let stderr = String::from_utf8(postgres.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PostgreSQL is not supported yet"), "{stderr}");
    let missing = backup(&format!("sqlite://{}", dir.path().join("none.db").display()), &to).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no database at"));
    assert!(!to.exists() && !dir.path().join("none.db").exists(), "nothing was created");
}
