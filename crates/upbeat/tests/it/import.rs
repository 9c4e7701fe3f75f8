//! `upbeat import` and `upbeat report`: the reference feed goes in and comes out unchanged, the
//! figures computed from it are the reference's, and bad sources import nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{TestApp, db_url};

const BIN: &str = env!("CARGO_BIN_EXE_upbeat");
const BASE: &str = "https://status.buttondown.com/";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn upbeat(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("RUST_LOG", "warn").output().unwrap()
}

fn import(db: &str, sources: &[&str]) -> Output {
    let mut args = vec!["import", "--db", db, "--base-url", BASE];
    args.extend(sources);
    upbeat(&args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// (title, link, guid, pubDate instant, description) of every item, duplicates counted once.
type ItemSet = BTreeSet<(String, String, String, i64, String)>;

fn items(xml: &[u8]) -> ItemSet {
    let feed = feed_rs::parser::parse(xml).unwrap();
    feed.entries
        .iter()
        .map(|e| {
            (
                e.title.as_ref().map(|t| t.content.clone()).unwrap_or_default(),
                e.links.first().map(|l| l.href.clone()).unwrap_or_default(),
                e.id.clone(),
                e.published.unwrap().timestamp(),
                e.summary.as_ref().map(|s| s.content.clone()).unwrap_or_default(),
            )
        })
        .collect()
}

fn facts() -> Value {
    serde_json::from_slice(&std::fs::read(fixture("buttondown-status.facts.json")).unwrap()).unwrap()
}

async fn serve_imported(dir: &tempfile::TempDir) -> TestApp {
    let config = format!("[page]\ntitle = \"Buttondown\"\nbase_url = \"{BASE}\"\n");
    TestApp::spawn(&config, dir).await
}

#[tokio::test]
async fn the_reference_feed_goes_in_and_comes_out_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let source = fixture("buttondown-status.rss");
    let out = import(&db, &[source.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("5 monitors, 97 outages, 13 incidents, 28 updates, 0 maintenance windows; 7 duplicates skipped"),
        "{}",
        stdout(&out)
    );

    let app = serve_imported(&dir).await;
    let served = app.text("/feed.rss").await;
    let want = items(&std::fs::read(&source).unwrap());
    let got = items(served.as_bytes());
    assert_eq!(want.len(), 222);
    assert_eq!(got.difference(&want).collect::<Vec<_>>(), Vec::<&_>::new(), "items upbeat made up");
    assert_eq!(want.difference(&got).collect::<Vec<_>>(), Vec::<&_>::new(), "items upbeat lost");
    assert_eq!(served.matches("<item>").count(), 222, "each item once");

    // The incident page the old links point at exists, with the update's text.
    let page = app.text("/incident/607839").await;
    assert!(page.contains("Incoming traffic being blocked"), "{page}");
    assert!(page.contains("incorrectly identifying incoming traffic"), "{page}");
    app.stop().await;

    // Importing it again changes nothing.
    let again = import(&db, &[source.to_str().unwrap()]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("0 monitors, 0 outages, 0 incidents, 0 updates, 0 maintenance windows; 132 duplicates"),
        "{}",
        stdout(&again)
    );
    let app = serve_imported(&dir).await;
    assert_eq!(items(app.text("/feed.rss").await.as_bytes()), want);
    app.stop().await;
}

#[tokio::test]
async fn the_report_over_the_reference_window_matches_its_facts() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    assert!(import(&db, &[fixture("buttondown-status.rss").to_str().unwrap()]).status.success());
    let facts = facts();
    let (from, to) = (facts["first_item"].as_str().unwrap(), facts["last_item"].as_str().unwrap());
    let out = upbeat(&["report", "--db", &db, "--from", from, "--to", to, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let monitors = facts["monitors"].as_object().unwrap();
    assert_eq!(rows.len(), monitors.len());
    let mut total = 0;
    for row in &rows {
        let name = row["name"].as_str().unwrap();
        let want = &monitors[name];
        assert_eq!(row["outages"], want["outages"], "{name}");
        assert_eq!(row["downtime_seconds"].as_f64(), want["downtime_seconds"].as_f64(), "{name}");
        assert_eq!(row["longest_outage_seconds"].as_f64(), want["longest_outage_seconds"].as_f64(), "{name}");
        assert_eq!(row["no_data_seconds"].as_f64(), Some(0.0), "{name}: the feed speaks for its whole window");
        let (down, up) = (row["downtime_seconds"].as_f64().unwrap(), row["uptime_seconds"].as_f64().unwrap());
        let percent = row["uptime_percent"].as_f64().unwrap();
        assert!((percent - up * 100.0 / (up + down)).abs() < 1e-9, "{name}");
        let mttr = row["mttr_seconds"].as_f64().unwrap();
        assert!((mttr - down / want["outages"].as_f64().unwrap()).abs() < 1e-3, "{name}");
        for field in
            ["id", "name", "outages", "downtime_seconds", "longest_outage_seconds", "uptime_percent", "mttr_seconds"]
        {
            assert!(row.get(field).is_some(), "{field} missing from {row}");
        }
        total += row["outages"].as_u64().unwrap();
    }
    assert_eq!(Some(total), facts["outages_total"].as_u64());

    // The incidents, each with its unique updates.
    let store = upbeat_store::open(&db).await.unwrap();
    let incidents = store.incidents(100, false).await.unwrap();
    assert_eq!(incidents.len() as u64, facts["incidents_total"].as_u64().unwrap());
    let mut updates = 0;
    for (id, want) in facts["incidents"].as_object().unwrap() {
        let got = incidents.iter().find(|i| i.id.to_string() == *id).unwrap_or_else(|| panic!("incident {id}"));
        assert_eq!(got.title, want["title"].as_str().unwrap());
        assert_eq!(got.updates.len() as u64, want["unique_updates"].as_u64().unwrap(), "incident {id}");
        updates += got.updates.len() as u64;
    }
    assert_eq!(Some(updates), facts["unique_incident_updates"].as_u64());

    // CSV and the table carry the same monitors.
    let csv = stdout(&upbeat(&["report", "--db", &db, "--from", from, "--to", to, "--format", "csv"]));
    assert_eq!(csv.lines().count(), 1 + monitors.len(), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("backlog,Backlog,") && l.contains(",9,30310,8418,")), "{csv}");
    let table = stdout(&upbeat(&["report", "--db", &db, "--from", from, "--to", to]));
    assert!(table.contains("External event backlog") && table.contains("UPTIME %"), "{table}");
    let header: Vec<&str> = table.lines().nth(1).expect("a header").split("  ").filter(|c| !c.is_empty()).collect();
    assert_eq!(
        header.iter().map(|c| c.trim()).collect::<Vec<_>>(),
        ["MONITOR", "UPTIME %", "OUTAGES", "DOWNTIME", "LONGEST", "MTTR", "MTBF", "NO DATA", "MAINTENANCE"],
        "the table has the columns the README promises"
    );
}

#[tokio::test]
async fn the_api_serves_uptime_and_daily_buckets_of_imported_monitors() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    assert!(import(&db, &[fixture("buttondown-status.rss").to_str().unwrap()]).status.success());
    let app = serve_imported(&dir).await;
    let facts = facts();
    let (from, to) = (facts["first_item"].as_str().unwrap(), facts["last_item"].as_str().unwrap());

    let (status, u) = app.api(&format!("/api/v1/monitors/external-event-backlog/uptime?from={from}&to={to}")).await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["name"], "External event backlog");
    assert_eq!(u["outages"], 44);
    assert_eq!(u["downtime_seconds"], 77424.0);
    assert_eq!(u["longest_outage_seconds"], 13204.0);

    // Long after the feed ends there is no data: never counted as up.
    let (status, d) = app.api("/api/v1/monitors/backlog/daily?days=3").await;
    assert_eq!(status, 200, "{d}");
    let days = d["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!(days[2]["date"], chrono::Utc::now().date_naive().to_string());
    assert!(days.iter().all(|day| day["uptime_percent"].is_null() && day["uptime_seconds"] == 0.0), "{d}");

    for (path, status, code) in [
        ("/api/v1/monitors/nope/uptime", 404, "monitor_not_found"),
        ("/api/v1/monitors/backlog/uptime?from=yesterday", 400, "invalid_query"),
        (&format!("/api/v1/monitors/backlog/uptime?from={to}&to={from}"), 400, "invalid_query"),
        ("/api/v1/monitors/backlog/uptime?colour=red", 400, "invalid_query"),
        ("/api/v1/monitors/backlog/daily?days=0", 400, "invalid_query"),
        ("/api/v1/monitors/backlog/daily?days=367", 400, "invalid_query"),
    ] {
        let (got, body) = app.api(path).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{path}: {body}");
    }
    let anonymous = app.client.get(app.url("/api/v1/monitors/backlog/uptime")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_newer_export_adds_only_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let full = std::fs::read_to_string(fixture("buttondown-status.rss")).unwrap();
    // An older export: the same feed without its 40 newest items.
    let start = full.find("<item>").unwrap();
    let cut = full.match_indices("<item>").nth(40).unwrap().0;
    let older = format!("{}{}", &full[..start], &full[cut..]);
    let older_path = dir.path().join("older.rss");
    std::fs::write(&older_path, older).unwrap();

    let first = import(&db, &[older_path.to_str().unwrap()]);
    assert!(first.status.success(), "{}", stderr(&first));
    let second = import(&db, &[fixture("buttondown-status.rss").to_str().unwrap()]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!stdout(&second).contains(" 0 outages"), "the newer export adds outages: {}", stdout(&second));
    let third = import(&db, &[fixture("buttondown-status.rss").to_str().unwrap()]);
    assert!(stdout(&third).contains("0 monitors, 0 outages, 0 incidents, 0 updates"), "{}", stdout(&third));

    let app = serve_imported(&dir).await;
    assert_eq!(items(app.text("/feed.rss").await.as_bytes()), items(full.as_bytes()));
    app.stop().await;
}

/// Asserts the import failed with `expect` in its message, and that nothing was written.
async fn refused(db: &str, source: &Path, expect: &str) {
    let out = import(db, &[source.to_str().unwrap()]);
    assert!(!out.status.success(), "{} was imported", source.display());
    let err = stderr(&out);
    assert!(err.contains(expect), "{}: expected `{expect}` in: {err}", source.display());
    assert!(err.lines().count() <= 3, "one clear error, not a dump: {err}");
    let store = upbeat_store::open(db).await.unwrap();
    assert_eq!(store.monitor_records().await.unwrap(), vec![], "{}", source.display());
    assert_eq!(store.incidents(10, false).await.unwrap().len(), 0, "{}", source.display());
}

#[tokio::test]
async fn bad_sources_are_clear_errors_and_import_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let full = std::fs::read_to_string(fixture("buttondown-status.rss")).unwrap();
    let write = |name: &str, body: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };

    // A malformed item near the end: the items before it are not imported either.
    let last_date = full.rfind("<pubDate>").unwrap();
    let line = full[..last_date].lines().count();
    let broken = format!("{}<pubDate>the day before yesterday{}", &full[..last_date], &full[last_date + 40..]);
    refused(&db, &write("broken.rss", broken.as_bytes()), &format!("line {line}")).await;
    refused(&db, &write("broken.rss", broken.as_bytes()), "is not an RFC 2822 or RFC 3339 date").await;

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("page.html", b"<!DOCTYPE html>\n<html><body>Status</body></html>".to_vec(), "HTML page, not a feed"),
        ("notes.txt", b"all systems operational\n".to_vec(), "neither XML"),
        ("empty.rss", b"  \n".to_vec(), "empty"),
        ("truncated.rss", full.as_bytes()[..full.len() / 2].to_vec(), "truncated"),
        (
            "bomb.rss",
            b"<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>\n<rss><channel><item><title>&c; went down</title></item></channel></rss>".to_vec(),
            "DOCTYPE",
        ),
        ("latin1.rss", b"<rss>\xe9</rss>".to_vec(), "not UTF-8"),
        ("foreign.xml", b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(), "not a feed"),
    ];
    for (name, body, expect) in cases {
        refused(&db, &write(name, &body), expect).await;
    }

    // Far too large: refused before it is parsed, so memory stays bounded.
    let huge = dir.path().join("huge.rss");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    refused(&db, &huge, "at most 64 MiB").await;

    // Several sources are parsed before anything is written: a bad one stops all.
    let out = import(
        &db,
        &[fixture("buttondown-status.rss").to_str().unwrap(), dir.path().join("page.html").to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert_eq!(upbeat_store::open(&db).await.unwrap().monitor_records().await.unwrap(), vec![]);

    // A dry run says what it would do and writes nothing.
    let dry = upbeat(&["import", "--db", &db, "--dry-run", fixture("buttondown-status.rss").to_str().unwrap()]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("97 outages") && stdout(&dry).contains("dry run"), "{}", stdout(&dry));
    assert_eq!(upbeat_store::open(&db).await.unwrap().monitor_records().await.unwrap(), vec![]);
}

/// A loopback server answering every request with what `answer` makes of the request's path.
async fn responder(answer: fn(&str, u16) -> Option<Vec<u8>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                match answer(&path, port) {
                    Some(response) => {
                        let _ = stream.write_all(&response).await;
                    }
                    // Hang: hold the connection open without answering.
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    port
}

fn ok(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

// Multi-threaded: the CLI runs as a blocking child process while the responder answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_are_fetched_and_timeouts_and_redirect_loops_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let port = responder(|path, port| match path {
        "/feed.rss" => Some(ok(&std::fs::read(fixture("buttondown-status.rss")).unwrap())),
        "/moved" => Some(format!("HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:{port}/feed.rss\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()),
        "/loop" => Some(format!("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{port}/loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes()),
        "/gone" => Some(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()),
        _ => None,
    })
    .await;
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    for (path, expect) in
        [("/hang", "did not answer within 1s"), ("/loop", "redirects more than 10 times"), ("/gone", "answered 404")]
    {
        let out = upbeat(&["import", "--db", &db, "--timeout", "1s", &url(path)]);
        assert!(!out.status.success(), "{path}");
        assert!(stderr(&out).contains(expect), "{path}: {}", stderr(&out));
    }
    assert_eq!(upbeat_store::open(&db).await.unwrap().monitor_records().await.unwrap(), vec![]);

    let out = import(&db, &[&url("/moved")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("97 outages"), "{}", stdout(&out));
}

#[tokio::test]
async fn a_configured_monitor_with_an_imported_id_goes_on_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    assert!(import(&db, &[fixture("buttondown-status.rss").to_str().unwrap()]).status.success());
    let target = crate::helpers::Target::start().await;
    let config = format!(
        "[page]\ntitle = \"Buttondown\"\nbase_url = \"{BASE}\"\n\n[[monitor]]\nid = \"backlog\"\nname = \"Backlog\"\nkind = \"http\"\nurl = \"{}\"\ninterval = \"1s\"\ntimeout = \"500ms\"\n",
        target.url("/")
    );
    let app = TestApp::spawn(&config, &dir).await;
    app.wait_for_state("backlog", "up").await;
    let (status, outages) = app.api("/api/v1/monitors/backlog/outages?limit=100").await;
    assert_eq!(status, 200, "{outages}");
    assert_eq!(outages["outages"].as_array().unwrap().len(), 9, "the imported outages are the monitor's");
    let facts = facts();
    let (from, to) = (facts["first_item"].as_str().unwrap(), facts["last_item"].as_str().unwrap());
    let (_, u) = app.api(&format!("/api/v1/monitors/backlog/uptime?from={from}&to={to}")).await;
    assert_eq!((u["kind"].as_str(), u["downtime_seconds"].as_f64()), (Some("http"), Some(30310.0)));
    // The other imported monitors are still there, and so is every item of the old feed.
    let (_, other) = app.api("/api/v1/monitors/p95-response-time/uptime").await;
    assert_eq!(other["kind"], "imported");
    assert_eq!(
        items(app.text("/feed.rss").await.as_bytes()),
        items(&std::fs::read(fixture("buttondown-status.rss")).unwrap())
    );
    app.stop().await;
}

/// (title, status, resolved_at, postmortem, [(status, message, at)]) of every incident, oldest first.
fn timelines(incidents: &Value) -> Vec<Value> {
    let mut all: Vec<Value> = incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let updates: Vec<Value> = i["updates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| serde_json::json!([u["status"], u["message"], u["created_at"]]))
                .collect();
            serde_json::json!([i["title"], i["status"], i["resolved_at"], i["postmortem"]["message"], updates])
        })
        .collect();
    all.sort_by_key(|t| t[4].as_array().unwrap().last().map(|u| u[2].to_string()));
    all
}

#[tokio::test]
async fn upbeats_own_history_feeds_move_to_another_upbeat() {
    use crate::helpers::{ManualClock, send};
    let config = format!(
        "[page]\ntitle = \"Quillmark\"\nbase_url = \"{BASE}\"\n\n[[component]]\nid = \"api\"\nname = \"API\"\n"
    );
    let t = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let old = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(t("2025-12-31T23:40:00Z"));
    let app = TestApp::spawn_with_clock(&config, &old, clock.clone()).await;
    let w = Some(app.write_token.as_str());
    // An incident across New Year, with a postmortem; then one in March, left open.
    let opening = serde_json::json!({"title": "Duplicate reminders", "status": "investigating", "impact": "minor",
        "message": "Some reminders arrive twice.", "components": {"api": "degraded_performance"}});
    let (status, first) = send(&app, "POST", "/api/v1/incidents", w, Some(opening)).await;
    assert_eq!(status, 201, "{first}");
    let first = first["id"].as_i64().unwrap();
    clock.set(t("2026-01-01T00:05:00Z"));
    let identified =
        serde_json::json!({"status": "identified", "message": "Reminders queued before midnight are sent twice."});
    send(&app, "POST", &format!("/api/v1/incidents/{first}/updates"), w, Some(identified)).await;
    clock.set(t("2026-01-01T00:45:00Z"));
    send(
        &app,
        "POST",
        &format!("/api/v1/incidents/{first}/resolve"),
        w,
        Some(serde_json::json!({"message": "On time again."})),
    )
    .await;
    clock.set(t("2026-01-02T10:00:00Z"));
    let postmortem = serde_json::json!({"message": "The clock jumped at New Year."});
    send(&app, "PUT", &format!("/api/v1/incidents/{first}/postmortem"), w, Some(postmortem)).await;
    clock.set(t("2026-03-08T09:30:00Z"));
    let opening = serde_json::json!({"title": "Slow previews", "status": "investigating", "impact": "minor",
        "message": "Previews take seconds to load."});
    let (_, second) = send(&app, "POST", "/api/v1/incidents", w, Some(opening)).await;
    let second = second["id"].as_i64().unwrap();
    clock.set(t("2026-03-08T09:50:00Z"));
    let update = serde_json::json!({"status": "monitoring", "message": "A cache was cold; it is warm now."});
    send(&app, "POST", &format!("/api/v1/incidents/{second}/updates"), w, Some(update)).await;

    let (_, before) = send(&app, "GET", "/api/v1/incidents", Some(&app.read_token), None).await;
    let want = timelines(&before);
    assert_eq!(want.len(), 2, "{before}");
    let updates = want.iter().flat_map(|t| t[4].as_array().unwrap().clone()).collect::<Vec<_>>();
    assert_eq!(updates.len(), 5, "{before}");
    assert!(updates.iter().all(|u| u[1].is_string() && u[2].is_string()), "{before}");
    assert!(want[0][3].is_string(), "the postmortem: {before}");
    let rss = eventually_text(&app, "/history.rss", "A cache was cold").await;
    let atom = eventually_text(&app, "/history.atom", "A cache was cold").await;
    app.stop().await;

    for (name, feed) in [("history.rss", rss), ("history.atom", atom)] {
        let new = tempfile::tempdir().unwrap();
        let path = new.path().join(name);
        std::fs::write(&path, feed).unwrap();
        let out = import(&db_url(&new), &[path.to_str().unwrap()]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(stdout(&out).contains("0 monitors, 0 outages, 2 incidents, 5 updates"), "{name}: {}", stdout(&out));
        let again = import(&db_url(&new), &[path.to_str().unwrap()]);
        assert!(stdout(&again).contains("0 incidents, 0 updates"), "{name}: {}", stdout(&again));

        let app = TestApp::spawn(&config, &new).await;
        let (_, after) = send(&app, "GET", "/api/v1/incidents", Some(&app.read_token), None).await;
        // Titles, statuses, messages and times survive; impact and components are not in the feed.
        assert_eq!(timelines(&after), want, "{name}");
        app.stop().await;
    }
}

async fn eventually_text(app: &TestApp, path: &str, expect: &str) -> String {
    crate::helpers::eventually(path, Duration::from_secs(5), || async {
        let text = app.text(path).await;
        text.contains(expect).then_some(text)
    })
    .await
}

#[tokio::test]
async fn statuspage_exports_import_in_one_go_and_name_their_components() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../upbeat-import/tests/samples");
    let sources: Vec<String> =
        ["statuspage-incidents.json", "statuspage-scheduled-maintenances.json", "statuspage-history.rss"]
            .iter()
            .map(|name| samples.join(name).to_string_lossy().into_owned())
            .collect();
    let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
    let dry = upbeat(&[&["import", "--dry-run", "--db", &db][..], &refs].concat());
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(stdout(&dry).contains("(dry run: nothing written)"), "{}", stdout(&dry));
    let out = upbeat(&[&["import", "--db", &db][..], &refs].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("component ids (declare them as [[component]] to show them): "), "{text}");
    assert!(text.contains("api (API)"), "{text}");

    let again = upbeat(&[&["import", "--db", &db][..], &refs].concat());
    let summaries: Vec<String> =
        stdout(&again).lines().filter(|l| l.contains("duplicates skipped")).map(String::from).collect();
    assert_eq!(summaries.len(), 3, "{}", stdout(&again));
    for line in summaries {
        assert!(line.contains("0 monitors, 0 outages, 0 incidents, 0 updates, 0 maintenance windows"), "{line}");
    }

    let app =
        TestApp::spawn("[page]\ntitle = \"Quillmark\"\n\n[[component]]\nid = \"api\"\nname = \"API\"\n", &dir).await;
    let (_, incidents) = send_get(&app, "/api/v1/incidents").await;
    let (_, maintenance) = send_get(&app, "/api/v1/maintenance").await;
    assert!(!incidents["incidents"].as_array().unwrap().is_empty(), "{incidents}");
    assert!(maintenance.to_string().contains("scheduled_for"), "{maintenance}");
    app.stop().await;
}

async fn send_get(app: &TestApp, path: &str) -> (u16, Value) {
    crate::helpers::send(app, "GET", path, Some(&app.read_token), None).await
}
