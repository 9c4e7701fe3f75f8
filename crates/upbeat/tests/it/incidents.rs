//! Incidents through the management API: authorization, idempotent creation, updates, resolving
//! and reopening, bad input that changes nothing, and the feed items they become.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, eventually, send};

const CONFIG: &str = r#"
[page]
title = "Incidents"
base_url = "https://status.example.test/"

[[component]]
id = "api"
name = "API"

[[component]]
id = "email"
name = "Email delivery"
"#;

fn opening() -> Value {
    json!({
        "title": "Delays in email sending",
        "status": "investigating",
        "impact": "major",
        "message": "We're **investigating** delays.",
        "components": {"email": "partial_outage"}
    })
}

#[tokio::test]
async fn every_incident_route_checks_the_token_and_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let (status, incident) = send(&app, "POST", "/api/v1/incidents", Some(&app.write_token), Some(opening())).await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    let update = incident["updates"][0]["id"].as_i64().unwrap();
    let update_body = json!({"message": "More."});
    let routes: Vec<(&str, String, Option<Value>, bool)> = vec![
        ("GET", "/api/v1/incidents".into(), None, false),
        ("GET", format!("/api/v1/incidents/{id}"), None, false),
        ("POST", "/api/v1/incidents".into(), Some(opening()), true),
        ("PATCH", format!("/api/v1/incidents/{id}"), Some(json!({"impact": "minor"})), true),
        ("POST", format!("/api/v1/incidents/{id}/updates"), Some(update_body.clone()), true),
        ("PATCH", format!("/api/v1/incidents/{id}/updates/{update}"), Some(update_body), true),
        ("POST", format!("/api/v1/incidents/{id}/resolve"), Some(json!({"message": "Done."})), true),
        ("PUT", format!("/api/v1/incidents/{id}/postmortem"), Some(json!({"message": "What happened."})), true),
        ("DELETE", format!("/api/v1/incidents/{id}/updates/{update}"), None, true),
    ];
    for (method, path, body, writes) in routes {
        let (status, error) = send(&app, method, &path, None, body.clone()).await;
        assert_eq!((status, error["error"]["code"].as_str()), (401, Some("unauthorized")), "{method} {path}");
        let (status, error) = send(&app, method, &path, Some(&app.read_token), body.clone()).await;
        if writes {
            assert_eq!((status, error["error"]["code"].as_str()), (403, Some("forbidden")), "{method} {path}");
            let (status, body) = send(&app, method, &path, Some(&app.write_token), body).await;
            assert!(status == 200 || status == 201, "{method} {path}: {status} {body}");
        } else {
            assert_eq!(status, 200, "{method} {path}");
        }
    }
    let spec: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for path in [
        "/incidents",
        "/incidents/{id}",
        "/incidents/{id}/updates",
        "/incidents/{id}/updates/{update}",
        "/incidents/{id}/resolve",
    ] {
        assert!(spec["paths"].get(path).is_some(), "openapi.json lacks {path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_retried_post_with_one_idempotency_key_creates_one_incident() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let post = |body: Value| {
        app.client
            .post(app.url("/api/v1/incidents"))
            .bearer_auth(&app.write_token)
            .header("Idempotency-Key", "open-email-delays")
            .json(&body)
            .send()
    };
    let first: Value = post(opening()).await.unwrap().json().await.unwrap();
    let retry = post(opening()).await.unwrap();
    assert_eq!(retry.status(), 201);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"]);
    let mut other = opening();
    other["title"] = json!("Something else");
    let reused = post(other).await.unwrap();
    assert_eq!(reused.status(), 422);
    let (_, list) = send(&app, "GET", "/api/v1/incidents?limit=10", Some(&app.read_token), None).await;
    assert_eq!(list["incidents"].as_array().unwrap().len(), 1, "{list}");
    app.stop().await;
}

#[tokio::test]
async fn updates_resolve_and_reopen_an_incident_and_become_feed_items() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let w = Some(app.write_token.as_str());
    let (_, incident) = send(&app, "POST", "/api/v1/incidents", w, Some(opening())).await;
    let id = incident["id"].as_i64().unwrap();
    assert_eq!(incident["url"], format!("https://status.example.test/incident/{id}"));
    assert_eq!(incident["components"], json!({"email": "partial_outage"}));

    let identified =
        json!({"status": "identified", "message": "A full queue.", "components": {"api": "degraded_performance"}});
    let (status, incident) = send(&app, "POST", &format!("/api/v1/incidents/{id}/updates"), w, Some(identified)).await;
    assert_eq!(status, 201);
    assert_eq!(incident["status"], "identified");
    assert_eq!(incident["components"], json!({"api": "degraded_performance", "email": "partial_outage"}));
    let (_, incident) =
        send(&app, "POST", &format!("/api/v1/incidents/{id}/resolve"), w, Some(json!({"message": "Fixed."}))).await;
    assert_eq!(incident["status"], "resolved");
    assert!(incident["resolved_at"].is_string());
    assert_eq!(incident["updates"].as_array().unwrap().len(), 3);

    // A resolved incident is reopened only by an update that says so.
    let (status, error) =
        send(&app, "POST", &format!("/api/v1/incidents/{id}/updates"), w, Some(json!({"message": "Again?"}))).await;
    assert_eq!((status, error["error"]["code"].as_str()), (409, Some("incident_resolved")));
    let reopen = json!({"status": "investigating", "message": "It is back."});
    let (_, incident) = send(&app, "POST", &format!("/api/v1/incidents/{id}/updates"), w, Some(reopen)).await;
    assert_eq!((incident["status"].as_str(), &incident["resolved_at"]), (Some("investigating"), &Value::Null));

    // Each update is an item: the incident's title, its link, a guid of its own, the Markdown.
    let rss = eventually("four incident items in the feed", Duration::from_secs(5), || async {
        let rss = app.text("/feed.rss").await;
        (rss.matches(&format!("<link>https://status.example.test/incident/{id}</link>")).count() == 4).then_some(rss)
    })
    .await;
    let feed = feed_rs::parser::parse(rss.as_bytes()).unwrap();
    let guids: std::collections::HashSet<_> = feed.entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(guids.len(), 4, "one guid per update");
    for update in incident["updates"].as_array().unwrap() {
        assert!(guids.contains(update["guid"].as_str().unwrap()));
    }
    assert_eq!(feed.entries[0].title.as_ref().unwrap().content, "Delays in email sending");
    assert!(rss.contains("-0000</pubDate>"), "incident items are dated -0000");
    assert!(
        rss.contains("<description>We&#39;re **investigating** delays.</description>")
            || rss.contains("<description>We're **investigating** delays.</description>"),
        "{rss}"
    );

    // Deleting an update takes it off the incident and the feed.
    let last = incident["updates"][0]["id"].as_i64().unwrap();
    let (status, incident) = send(&app, "DELETE", &format!("/api/v1/incidents/{id}/updates/{last}"), w, None).await;
    assert_eq!(status, 200);
    assert_eq!(incident["updates"].as_array().unwrap().len(), 3);
    eventually("the deleted update to leave the feed", Duration::from_secs(5), || async {
        (!app.text("/feed.rss").await.contains("It is back.")).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_json_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let with = |change: fn(&mut Value)| {
        let mut body = opening();
        change(&mut body);
        body
    };
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (with(|b| b["colour"] = json!("red")), 400, "invalid_json", Some("colour")),
        (with(|b| b["title"] = json!("   ")), 400, "invalid_value", Some("title")),
        (with(|b| b["status"] = json!("panicking")), 400, "invalid_value", Some("status")),
        (with(|b| b["impact"] = json!("apocalyptic")), 400, "invalid_value", Some("impact")),
        (
            with(|b| b["components"] = json!({"nope": "major_outage"})),
            400,
            "unknown_component",
            Some("components.nope"),
        ),
        (with(|b| b["components"] = json!({"api": "on_fire"})), 400, "invalid_value", Some("components.api")),
        (with(|b| b["message"] = json!("x".repeat(100 * 1024 + 1))), 400, "invalid_value", Some("message")),
        (with(|b| b["message"] = json!("x".repeat(600 * 1024))), 413, "body_too_large", None),
        (
            with(|b| b.as_object_mut().unwrap().remove("message").map(|_| ()).unwrap_or(())),
            400,
            "invalid_json",
            Some("message"),
        ),
    ];
    for (body, status, code, field) in cases {
        let (got, error) = send(&app, "POST", "/api/v1/incidents", Some(&app.write_token), Some(body)).await;
        assert_eq!((got, error["error"]["code"].as_str()), (status, Some(code)), "{error}");
        assert_eq!(error["error"]["field"].as_str(), field, "{error}");
    }
    for raw in [&b"{\"title\": \"\xff\xfe\", \"message\": \"x\"}"[..], b"not json", b""] {
        let response = app
            .client
            .post(app.url("/api/v1/incidents"))
            .bearer_auth(&app.write_token)
            .body(raw.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_json");
    }
    let (status, _) = send(&app, "GET", "/api/v1/incidents/12345", Some(&app.read_token), None).await;
    assert_eq!(status, 404);
    let (status, error) = send(&app, "GET", "/api/v1/incidents/abc", Some(&app.read_token), None).await;
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("invalid_path")), "{error}");
    let (status, error) = send(&app, "DELETE", "/api/v1/incidents/1/updates/x", Some(&app.write_token), None).await;
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("invalid_path")), "{error}");
    let (status, error) =
        send(&app, "GET", "/api/v1/maintenance/99999999999999999999", Some(&app.read_token), None).await;
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("invalid_path")), "{error}");
    let (_, list) = send(&app, "GET", "/api/v1/incidents", Some(&app.read_token), None).await;
    assert_eq!(list["incidents"], json!([]), "nothing was half-written");
    app.stop().await;
}

#[tokio::test]
async fn the_page_the_incident_page_and_history_show_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let w = Some(app.write_token.as_str());
    let (_, incident) = send(&app, "POST", "/api/v1/incidents", w, Some(opening())).await;
    let id = incident["id"].as_i64().unwrap();
    let update = json!({"status": "identified", "message": "A **full** queue; see https://example.com/queue."});
    send(&app, "POST", &format!("/api/v1/incidents/{id}/updates"), w, Some(update)).await;

    let page = eventually("the incident on the page", Duration::from_secs(5), || async {
        let page = app.text("/").await;
        page.contains("Active incidents").then_some(page)
    })
    .await;
    assert!(page.contains(&format!("href=\"incident/{id}\"")), "links to the incident page");
    assert!(page.contains("<strong>full</strong>"), "updates are rendered Markdown");
    assert!(page.contains("rel=\"nofollow noopener\""), "links are marked");
    assert!(page.contains("Partial outage"), "the component takes the incident's status: {page}");
    assert!(
        page.find("A <strong>full</strong>").unwrap() < page.find("We're <strong>investigating</strong>").unwrap(),
        "newest first"
    );

    let detail = app.text(&format!("/incident/{id}")).await;
    assert!(detail.contains("<h1>Delays in email sending</h1>"));
    assert!(detail.contains("Email delivery") && detail.contains("Partial outage"), "affected components");
    assert!(detail.contains("Identified") && detail.contains("Investigating"), "the whole timeline");
    let missing = app.client.get(app.url("/incident/999999")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let junk = app.client.get(app.url("/incident/abc")).send().await.unwrap();
    assert_eq!(junk.status(), 404);

    send(&app, "POST", &format!("/api/v1/incidents/{id}/resolve"), w, Some(json!({"message": "Fixed."}))).await;
    let history = eventually("the resolved incident in the history", Duration::from_secs(5), || async {
        let history = app.text("/history").await;
        history.contains("Resolved").then_some(history)
    })
    .await;
    assert!(history.contains("Delays in email sending"));
    let month = chrono::Utc::now().format("%B %Y").to_string();
    assert!(history.contains(&month), "grouped by month: {history}");
    let page = app.text("/").await;
    assert!(!page.contains("Active incidents"), "resolved incidents leave the page");

    // A postmortem, on the incident's page and first in its history-feed entry.
    let postmortem = json!({"message": "## What happened\n\nThe queue filled up."});
    let (status, incident) =
        send(&app, "PUT", &format!("/api/v1/incidents/{id}/postmortem"), w, Some(postmortem)).await;
    assert_eq!(status, 200, "{incident}");
    assert_eq!(incident["postmortem"]["message"], "## What happened\n\nThe queue filled up.");
    let detail = eventually("the postmortem on the incident page", Duration::from_secs(5), || async {
        let detail = app.text(&format!("/incident/{id}")).await;
        detail.contains("<h2>What happened</h2>").then_some(detail)
    })
    .await;
    assert!(detail.contains("Postmortem"));
    let history = feed_rs::parser::parse(app.text("/history.rss").await.as_bytes()).unwrap();
    assert_eq!(history.entries.len(), 1);
    let body = history.entries[0].summary.as_ref().map(|t| t.content.clone()).unwrap_or_default();
    assert!(
        body.contains("<strong>Postmortem</strong>") && body.contains("<strong>Resolved</strong> - Fixed."),
        "{body}"
    );
    let atom = feed_rs::parser::parse(app.text("/history.atom").await.as_bytes()).unwrap();
    assert_eq!(atom.entries[0].title.as_ref().unwrap().content, "Delays in email sending");
    app.stop().await;
}

#[tokio::test]
async fn xss_payloads_never_reach_a_reader_unescaped() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let w = Some(app.write_token.as_str());
    let mut ids = Vec::new();
    for payload in upbeat_web::markdown::XSS_PAYLOADS {
        let body = json!({"title": payload, "message": payload, "components": {"api": "major_outage"}});
        let (status, incident) = send(&app, "POST", "/api/v1/incidents", w, Some(body)).await;
        if status == 400 {
            // A title with control characters is refused, which is safe too.
            assert_eq!(incident["error"]["field"], "title", "{payload:?}: {incident}");
            continue;
        }
        assert_eq!(status, 201, "{payload:?}: {incident}");
        ids.push(incident["id"].as_i64().unwrap());
    }
    assert!(ids.len() >= 30);
    eventually("every incident on the page", Duration::from_secs(10), || async {
        (app.text("/").await.matches("class=\"incident ").count() == ids.len()).then_some(())
    })
    .await;
    let mut pages = vec![("/".to_owned(), app.text("/").await)];
    for id in &ids {
        let path = format!("/incident/{id}");
        pages.push((path.clone(), app.text(&path).await));
    }
    for (path, html) in &pages {
        // The head is upbeat's own (style, meta, feed links); the body holds what people wrote, and
        // upbeat's own body markup has no script, handler or style, so anything active came from a payload.
        let body = &html[html.find("<main>").expect("a body")..];
        assert_eq!(upbeat_web::markdown::looks_active(body), None, "{path}");
        if path == "/" {
            assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the payloads are shown as text");
        }
    }
    for path in ["/feed.atom", "/feed.json", "/feed.rss"] {
        let text = app.text(path).await;
        let feed = feed_rs::parser::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{path}: {e}"));
        for entry in &feed.entries {
            if let Some(content) = entry.content.as_ref().and_then(|c| c.body.as_ref()) {
                assert_eq!(upbeat_web::markdown::looks_active(content), None, "{path}: {content}");
            }
        }
    }
    app.stop().await;
}
