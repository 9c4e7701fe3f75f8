//! The management API's contract: authorization on every route, JSON errors with stable codes.

use crate::helpers::{Target, TestApp};

fn config(target: &Target) -> String {
    format!(
        "[page]\ntitle = \"API\"\n[[monitor]]\nid = \"web\"\nname = \"web\"\nkind = \"http\"\nurl = \"{}\"\ninterval = \"1s\"\n",
        target.url("/")
    )
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("errors are JSON");
    (status, body["error"]["code"].as_str().expect("error.code").to_owned())
}

#[tokio::test]
async fn every_route_requires_a_token_of_the_right_scope() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target), &dir).await;
    let c = &app.client;

    let reads = ["/api/v1/monitors", "/api/v1/monitors/web", "/api/v1/monitors/web/outages"];
    let writes = ["/api/v1/monitors/web/pause", "/api/v1/monitors/web/resume"];
    for path in reads {
        let anonymous = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
        assert_eq!(error_code(anonymous).await, (401, "unauthorized".into()), "{path}");
        let forged = c.get(app.url(path)).bearer_auth("upb_forged").send().await.unwrap();
        assert_eq!(error_code(forged).await, (401, "unauthorized".into()), "{path}");
        let read = c.get(app.url(path)).bearer_auth(&app.read_token).send().await.unwrap();
        assert_eq!(read.status(), 200, "{path}");
    }
    for path in writes {
        let anonymous = c.post(app.url(path)).send().await.unwrap();
        assert_eq!(error_code(anonymous).await, (401, "unauthorized".into()), "{path}");
        let read = c.post(app.url(path)).bearer_auth(&app.read_token).send().await.unwrap();
        assert_eq!(error_code(read).await, (403, "forbidden".into()), "{path}");
        let write = c.post(app.url(path)).bearer_auth(&app.write_token).send().await.unwrap();
        assert_eq!(write.status(), 200, "{path}");
    }
    let openapi = c.get(app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(openapi.status(), 200, "the API description needs no token");
    let spec: serde_json::Value = openapi.json().await.unwrap();
    for path in reads.iter().chain(&writes) {
        let templated = path.trim_start_matches("/api/v1").replace("/web", "/{id}");
        assert!(spec["paths"].get(&templated).is_some(), "openapi.json lacks {templated}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_get_json_errors_never_500() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target), &dir).await;
    let get = |path: &str| app.client.get(app.url(path)).bearer_auth(&app.read_token).send();

    assert_eq!(error_code(get("/api/v1/monitors/nope").await.unwrap()).await, (404, "monitor_not_found".into()));
    assert_eq!(
        error_code(get("/api/v1/monitors/nope/outages").await.unwrap()).await,
        (404, "monitor_not_found".into())
    );
    assert_eq!(error_code(get("/api/v1/no-such-route").await.unwrap()).await, (404, "route_not_found".into()));
    let bad_limit = get("/api/v1/monitors/web/outages?limit=lots").await.unwrap();
    assert_eq!(error_code(bad_limit).await, (400, "invalid_query".into()));
    let zero = get("/api/v1/monitors/web/outages?limit=0").await.unwrap();
    let body: serde_json::Value = zero.json().await.unwrap();
    assert_eq!(body["error"]["field"], "limit");
    let unknown =
        app.client.post(app.url("/api/v1/monitors/nope/pause")).bearer_auth(&app.write_token).send().await.unwrap();
    assert_eq!(error_code(unknown).await, (404, "monitor_not_found".into()));
    app.stop().await;
}

#[tokio::test]
async fn pausing_stops_deciding_and_survives_a_restart() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target), &dir).await;
    app.wait_for_state("web", "up").await;
    let paused =
        app.client.post(app.url("/api/v1/monitors/web/pause")).bearer_auth(&app.write_token).send().await.unwrap();
    let body: serde_json::Value = paused.json().await.unwrap();
    assert_eq!(body["state"], "paused");
    crate::helpers::eventually("the page to show the pause", std::time::Duration::from_secs(5), || async {
        app.text("/").await.contains("Paused").then_some(())
    })
    .await;
    app.stop().await;

    // The pause was acknowledged, so it is durable.
    let app = TestApp::spawn(&config(&target), &dir).await;
    assert_eq!(app.monitor("web").await["state"], "paused");
    app.client.post(app.url("/api/v1/monitors/web/resume")).bearer_auth(&app.write_token).send().await.unwrap();
    app.wait_for_state("web", "up").await;
    app.stop().await;
}
