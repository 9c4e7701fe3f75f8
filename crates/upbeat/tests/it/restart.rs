//! Restarting during an outage: it continues under the same guid and recovers once.

use crate::helpers::{Mode, Target, TestApp};

fn config(target: &Target) -> String {
    format!(
        r#"
[page]
title = "Restart"
base_url = "https://status.example.test/"

[[monitor]]
id = "web"
name = "web"
kind = "http"
url = "{}"
interval = "1s"
timeout = "500ms"
recover = 2
"#,
        target.url("/")
    )
}

#[tokio::test]
async fn an_outage_survives_a_restart_and_recovers_once() {
    let target = Target::start().await;
    target.set(Mode::Error).await;
    let dir = tempfile::tempdir().unwrap();

    let app = TestApp::spawn(&config(&target), &dir).await;
    let down = app.wait_for_state("web", "down").await;
    let outage = down["open_outage"].clone();
    app.stop().await;

    let app = TestApp::spawn(&config(&target), &dir).await;
    let restored = app.monitor("web").await;
    assert_eq!(restored["state"], "down", "the state is restored before any new check: {restored}");
    assert_eq!(restored["open_outage"]["id"], outage["id"]);
    assert_eq!(restored["open_outage"]["started_at"], outage["started_at"]);
    assert!(restored["last_check_at"].is_string(), "the last check is remembered too");

    target.set(Mode::Healthy).await;
    app.wait_for_state("web", "up").await;
    // Neither duplicated nor lost: one outage, the one that was open, now closed.
    let outages = app.closed_outages("web", 1).await;
    assert_eq!(outages[0]["id"], outage["id"]);

    let guid = format!("<guid isPermaLink=\"false\">{}</guid>", outage["guid"].as_str().unwrap());
    let rss = crate::helpers::eventually("the recovery in the feed", std::time::Duration::from_secs(5), || async {
        let rss = app.text("/feed.rss").await;
        (rss.matches(&guid).count() == 2).then_some(rss)
    })
    .await;
    assert_eq!(rss.matches("<item>").count(), 2, "one went down, one recovered");
    assert_eq!(rss.matches("<title>web recovered</title>").count(), 1);
    app.stop().await;

    // A third start with the target healthy opens nothing.
    let app = TestApp::spawn(&config(&target), &dir).await;
    app.wait_for_state("web", "up").await;
    let (_, body) = app.api("/api/v1/monitors/web/outages").await;
    assert_eq!(body["outages"].as_array().unwrap().len(), 1);
    app.stop().await;
}
