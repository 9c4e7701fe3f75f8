//! API tokens an operator can see and revoke: `/api/v1/tokens` for each persona, a revoked token
//! refused on its very next request (whether the API or `upbeat token revoke` revoked it), and
//! "last used" moving at most once a minute of the app's clock however many requests arrive.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::helpers::{ManualClock, TestApp, send};

const CONFIG: &str = "[page]\ntitle = \"Tokens\"\n";

/// The token listed under `name` (the test app names its tokens after their scopes).
async fn listed(app: &TestApp, name: &str) -> Value {
    let (status, body) = send(app, "GET", "/api/v1/tokens", Some(&app.admin_token), None).await;
    assert_eq!(status, 200, "{body}");
    body["tokens"].as_array().unwrap().iter().find(|t| t["name"] == name).cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn token_routes_are_for_admins_only() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let read_id = listed(&app, "read").await["id"].as_i64().unwrap();
    let delete = format!("/api/v1/tokens/{read_id}");
    for (route, method, path) in [("GET /tokens", "GET", "/api/v1/tokens"), ("DELETE /tokens/{id}", "DELETE", &*delete)]
    {
        let (status, body) = send(&app, method, path, None, None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "anonymous {route}");
        for (persona, token) in [("read", &app.read_token), ("write", &app.write_token)] {
            let (status, body) = send(&app, method, path, Some(token), None).await;
            assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{persona} {route}");
        }
    }
    // Nothing was revoked by the refused attempts; the admin lists every token without its secret.
    let (status, body) = send(&app, "GET", "/api/v1/tokens", Some(&app.admin_token), None).await;
    assert_eq!(status, 200);
    let tokens = body["tokens"].as_array().unwrap();
    let names: Vec<&str> = tokens.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["read", "write", "admin"]);
    for (token, secret) in tokens.iter().zip([&app.read_token, &app.write_token, &app.admin_token]) {
        assert_eq!(token["prefix"].as_str(), Some(&secret[..12]), "{token}");
        assert!(!body.to_string().contains(secret.as_str()), "a token is never shown again");
        for field in ["id", "scope", "created_at", "last_used_at"] {
            assert!(token.get(field).is_some(), "{field} in {token}");
        }
    }
    let (status, _) = send(&app, "DELETE", &delete, Some(&app.admin_token), None).await;
    assert_eq!(status, 204);

    let (status, body) = send(&app, "DELETE", &delete, Some(&app.admin_token), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("token_not_found")), "{body}");
    let (status, body) = send(&app, "DELETE", "/api/v1/tokens/abc", Some(&app.admin_token), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_path")), "{body}");

    let (_, spec) = send(&app, "GET", "/api/v1/openapi.json", None, None).await;
    assert!(spec["paths"]["/tokens"]["get"].is_object() && spec["paths"]["/tokens/{id}"]["delete"].is_object());
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_its_next_request() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(CONFIG, &dir).await;
    let (status, _) = send(&app, "GET", "/api/v1/incidents", Some(&app.write_token), None).await;
    assert_eq!(status, 200);
    let write_id = listed(&app, "write").await["id"].as_i64().unwrap();
    let (status, _) = send(&app, "DELETE", &format!("/api/v1/tokens/{write_id}"), Some(&app.admin_token), None).await;
    assert_eq!(status, 204);
    let (status, body) = send(&app, "GET", "/api/v1/incidents", Some(&app.write_token), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));

    // Revoked from another process, by name, while the server runs: refused just the same.
    let (status, _) = send(&app, "GET", "/api/v1/incidents", Some(&app.read_token), None).await;
    assert_eq!(status, 200);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_upbeat"))
        .args(["token", "revoke", "read", "--db", &crate::helpers::db_url(&dir)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, _) = send(&app, "GET", "/api/v1/incidents", Some(&app.read_token), None).await;
    assert_eq!(status, 401);
    assert_eq!(listed(&app, "read").await, Value::Null);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_used_moves_at_most_once_a_minute() {
    let start: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let clock = ManualClock::at(start);
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with_clock(CONFIG, &dir, clock.clone()).await;
    assert_eq!(listed(&app, "read").await["last_used_at"], Value::Null, "never used yet");

    let burst = async |n: usize| {
        let requests: Vec<_> = (0..n)
            .map(|_| {
                let request = app.client.get(app.url("/api/v1/monitors")).bearer_auth(&app.read_token);
                tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
            })
            .collect();
        for request in requests {
            assert_eq!(request.await.unwrap(), 200);
        }
    };
    burst(50).await;
    assert_eq!(listed(&app, "read").await["last_used_at"], "2026-03-01T12:00:00Z");

    // 59 seconds on, many more requests: the stored value does not move.
    clock.set(start + chrono::Duration::seconds(59));
    burst(50).await;
    assert_eq!(listed(&app, "read").await["last_used_at"], "2026-03-01T12:00:00Z");

    // Past the minute, the next request records its time.
    clock.set(start + chrono::Duration::seconds(61));
    burst(1).await;
    assert_eq!(listed(&app, "read").await["last_used_at"], "2026-03-01T12:01:01Z");
    assert_eq!(listed(&app, "write").await["last_used_at"], Value::Null, "other tokens are untouched");
    app.stop().await;
}
