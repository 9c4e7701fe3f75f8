//! Scheduled maintenance: announced ahead, moving through its window by itself, putting its
//! components under maintenance and marking the outages that start inside it.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{ManualClock, Mode, Target, TestApp, eventually, send};

fn config(target: &Target) -> String {
    format!(
        r#"
[page]
title = "Maintenance"
base_url = "https://status.example.test/"

[[component]]
id = "api"
name = "API"

[[monitor]]
id = "web"
name = "web"
kind = "http"
url = "{}"
interval = "1s"
timeout = "500ms"
component = "api"
"#,
        target.url("/")
    )
}

fn at(seconds_from_now: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(seconds_from_now)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[tokio::test]
async fn a_window_moves_through_its_edges_by_itself_and_marks_outages_inside_it() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target), &dir).await;
    app.wait_for_state("web", "up").await;
    let w = Some(app.write_token.as_str());
    let window = json!({
        "title": "Database upgrade",
        "message": "We will upgrade the **database**.",
        "scheduled_for": at(2),
        "scheduled_until": at(8),
        "components": ["api"],
    });
    let (status, created) = send(&app, "POST", "/api/v1/maintenance", w, Some(window)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "scheduled");
    let id = created["id"].as_i64().unwrap();
    let page = eventually("the announcement on the page", Duration::from_secs(5), || async {
        let page = app.text("/").await;
        page.contains("Scheduled maintenance").then_some(page)
    })
    .await;
    assert!(page.contains("Scheduled ·") && page.contains("<strong>database</strong>"), "{page}");

    // The start passes: nobody acts, the page says in progress and the component is under maintenance.
    let page = eventually("the window to start", Duration::from_secs(10), || async {
        let page = app.text("/").await;
        page.contains("In progress ·").then_some(page)
    })
    .await;
    assert!(page.contains("Under maintenance"), "{page}");
    assert!(page.contains("Scheduled maintenance in progress"), "the banner says so");

    // An outage that starts inside the window is recorded, and marked.
    target.set(Mode::Error).await;
    app.wait_for_state("web", "down").await;
    target.set(Mode::Healthy).await;
    app.wait_for_state("web", "up").await;
    let outages = app.closed_outages("web", 1).await;
    assert_eq!(outages[0]["in_maintenance"], true, "{outages:?}");

    // The end passes: the window leaves the page and the API calls it completed.
    eventually("the window to end", Duration::from_secs(12), || async {
        let page = app.text("/").await;
        (!page.contains("Scheduled maintenance") && page.contains("All systems operational")).then_some(())
    })
    .await;
    let (_, done) = send(&app, "GET", &format!("/api/v1/maintenance/{id}"), Some(&app.read_token), None).await;
    assert_eq!(done["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn maintenance_routes_check_tokens_and_input() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target), &dir).await;
    let window = || json!({"title": "Later", "message": "Soon.", "scheduled_for": at(3600), "scheduled_until": at(7200), "components": ["api"]});
    let (_, created) = send(&app, "POST", "/api/v1/maintenance", Some(&app.write_token), Some(window())).await;
    let id = created["id"].as_i64().unwrap();
    let first = created["updates"][0]["id"].as_i64().unwrap();
    let routes: Vec<(&str, String, Option<Value>, bool)> = vec![
        ("GET", "/api/v1/maintenance".into(), None, false),
        ("GET", format!("/api/v1/maintenance/{id}"), None, false),
        ("POST", "/api/v1/maintenance".into(), Some(window()), true),
        ("PATCH", format!("/api/v1/maintenance/{id}"), Some(json!({"title": "Later still"})), true),
        ("POST", format!("/api/v1/maintenance/{id}/updates"), Some(json!({"message": "Moved."})), true),
        ("PATCH", format!("/api/v1/maintenance/{id}/updates/{first}"), Some(json!({"message": "Sooner."})), true),
        ("DELETE", format!("/api/v1/maintenance/{id}/updates/{first}"), None, true),
        ("POST", format!("/api/v1/maintenance/{id}/complete"), None, true),
    ];
    for (method, path, body, writes) in routes {
        let (status, _) = send(&app, method, &path, None, body.clone()).await;
        assert_eq!(status, 401, "{method} {path}");
        let (status, _) = send(&app, method, &path, Some(&app.read_token), body.clone()).await;
        assert_eq!(status, if writes { 403 } else { 200 }, "{method} {path}");
        if writes {
            let (status, body) = send(&app, method, &path, Some(&app.write_token), body).await;
            assert!(status == 200 || status == 201, "{method} {path}: {body}");
        }
    }
    let (_, cancelled) = send(&app, "GET", &format!("/api/v1/maintenance/{id}"), Some(&app.read_token), None).await;
    assert_eq!(cancelled["status"], "completed", "completing a window that has not started cancels it");
    let messages: Vec<&str> =
        cancelled["updates"].as_array().unwrap().iter().map(|u| u["message"].as_str().unwrap()).collect();
    assert_eq!(messages, vec!["Moved."], "the edited first update was then deleted");
    let (status, error) =
        send(&app, "DELETE", &format!("/api/v1/maintenance/{id}/updates/{first}"), Some(&app.write_token), None).await;
    assert_eq!((status, error["error"]["code"].as_str()), (404, Some("update_not_found")), "deleted once");

    let mut backwards = window();
    backwards["scheduled_until"] = json!(at(60));
    let (status, error) = send(&app, "POST", "/api/v1/maintenance", Some(&app.write_token), Some(backwards)).await;
    assert_eq!((status, error["error"]["field"].as_str()), (400, Some("scheduled_until")));
    let mut unknown = window();
    unknown["components"] = json!(["nope"]);
    let (status, error) = send(&app, "POST", "/api/v1/maintenance", Some(&app.write_token), Some(unknown)).await;
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("unknown_component")));
    let (status, error) = send(&app, "GET", "/api/v1/maintenance/999", Some(&app.read_token), None).await;
    assert_eq!((status, error["error"]["code"].as_str()), (404, Some("maintenance_not_found")));
    let spec: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for path in [
        "/maintenance",
        "/maintenance/{id}",
        "/maintenance/{id}/updates",
        "/maintenance/{id}/updates/{update}",
        "/maintenance/{id}/complete",
    ] {
        assert!(spec["paths"].get(path).is_some(), "openapi.json lacks {path}");
    }
    app.stop().await;
}

/// The edges with an injected clock: one second before, exactly at, and after each edge.
#[tokio::test]
async fn the_window_status_follows_an_injected_clock_to_the_second() {
    use chrono::TimeZone;
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap();
    let clock = ManualClock::at(t0);
    let dir = tempfile::tempdir().unwrap();
    let config = "[page]\ntitle = \"Clock\"\n[[component]]\nid = \"api\"\nname = \"API\"\n";
    let app = TestApp::spawn_with_clock(config, &dir, clock.clone()).await;
    let w = Some(app.write_token.as_str());
    let iso = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let start = t0 + chrono::Duration::hours(1);
    let end = t0 + chrono::Duration::hours(2);
    let body = json!({"title": "Upgrade", "message": "Soon.", "scheduled_for": iso(start), "scheduled_until": iso(end), "components": ["api"]});
    let (_, created) = send(&app, "POST", "/api/v1/maintenance", w, Some(body)).await;
    let id = created["id"].as_i64().unwrap();
    let second = chrono::Duration::seconds(1);
    for (now, status, page_says) in [
        (start - second, "scheduled", "Scheduled ·"),
        (start, "in_progress", "In progress ·"),
        (end - second, "in_progress", "In progress ·"),
        (end, "completed", ""),
    ] {
        clock.set(now);
        let (_, m) = send(&app, "GET", &format!("/api/v1/maintenance/{id}"), Some(&app.read_token), None).await;
        assert_eq!(m["status"], status, "at {now}");
        // Any write re-renders the page at once; the page reads the same clock.
        send(
            &app,
            "POST",
            &format!("/api/v1/maintenance/{id}/updates"),
            w,
            Some(json!({"message": format!("At {now}.")})),
        )
        .await;
        // A completed window leaves the page, its updates with it.
        let page = eventually(&format!("the page at {now}"), Duration::from_secs(5), || async {
            let page = app.text("/").await;
            let fresh = if page_says.is_empty() {
                !page.contains("Scheduled maintenance")
            } else {
                page.contains(&format!("At {now}."))
            };
            fresh.then_some(page)
        })
        .await;
        if page_says.is_empty() {
            assert!(!page.contains("Scheduled maintenance"), "at {now}: {page}");
        } else {
            assert!(page.contains(page_says), "at {now}: {page}");
            assert_eq!(page.contains("Under maintenance"), status == "in_progress", "at {now}");
        }
    }
    app.stop().await;
}
