//! The core loop end to end: a target that goes down in every way, outages opened and closed,
//! and the same story told by the API, the three feeds and the page.

use std::time::Duration;

use feed_rs::model::Feed;

use crate::helpers::{Mode, Target, TestApp, eventually};

const NAME: &str = "a & <b> \"c\"";

fn config(target: &Target) -> String {
    format!(
        r#"
[page]
title = "Loopback & Co"
base_url = "https://status.example.test/"

[[component]]
id = "api"
name = "API"

[[monitor]]
id = "web"
name = 'a & <b> "c"'
kind = "http"
url = "{url}"
interval = "1s"
timeout = "500ms"
component = "api"

[[monitor]]
id = "port"
name = "raw port"
kind = "tcp"
host = "127.0.0.1"
port = {port}
interval = "1s"
timeout = "500ms"

[[monitor]]
id = "hidden"
name = "internal thing"
kind = "tcp"
host = "127.0.0.1"
port = {port}
interval = "1s"
public = false
"#,
        url = target.url("/health"),
        port = target.addr.port()
    )
}

fn parse(text: &str) -> Feed {
    feed_rs::parser::parse(text.as_bytes()).unwrap_or_else(|e| panic!("feed does not parse: {e}\n{text}"))
}

fn titles(feed: &Feed) -> Vec<String> {
    feed.entries.iter().map(|e| e.title.as_ref().map(|t| t.content.clone()).unwrap_or_default()).collect()
}

/// Waits until the RSS feed has `n` items and returns it parsed with the raw text.
async fn rss_with(app: &TestApp, n: usize) -> (Feed, String) {
    eventually(&format!("{n} items in /feed.rss"), Duration::from_secs(10), || async {
        let text = app.text("/feed.rss").await;
        let feed = parse(&text);
        (feed.entries.len() == n).then_some((feed, text))
    })
    .await
}

/// Drives the target into `mode` and waits for `web` to go down with `cause`, then back up.
async fn outage(app: &TestApp, target: &Target, mode: Mode, cause: &str) -> serde_json::Value {
    target.set(mode).await;
    let down = app.wait_for_state("web", "down").await;
    let outage = down["open_outage"].clone();
    assert!(outage["cause"].as_str().unwrap_or_default().starts_with(cause), "{mode:?}: {outage}");
    assert_eq!(outage["guid"], format!("https://status.example.test/#{}", outage["id"].as_str().unwrap()));
    target.set(Mode::Healthy).await;
    app.wait_for_state("web", "up").await;
    outage
}

#[tokio::test]
async fn outages_of_every_kind_reach_the_api_the_feeds_and_the_page() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target), &dir).await;

    app.wait_for_state("web", "up").await;
    app.wait_for_state("port", "up").await;

    // First outage: HTTP 500. While it is ongoing the feed has its `went down` item only.
    target.set(Mode::Error).await;
    let down = app.wait_for_state("web", "down").await;
    assert_eq!(down["last_http_status"], 500);
    let (feed, _) = rss_with(&app, 1).await;
    assert_eq!(titles(&feed), vec![format!("{NAME} went down")]);
    let page = app.text("/").await;
    assert!(page.contains("a &amp; &lt;b&gt; &quot;c&quot;"), "the page escapes the name");
    assert!(page.contains("is down"), "the page lists the ongoing outage");
    target.set(Mode::Healthy).await;
    let up = app.wait_for_state("web", "up").await;
    assert_eq!(up["open_outage"], serde_json::Value::Null);

    let slow = outage(&app, &target, Mode::Slow, "timeout").await;
    let closed = outage(&app, &target, Mode::Closed, "refused").await;
    app.wait_for_state("port", "up").await;

    // The API: three outages of `web`, newest first, all closed, each with its cause.
    let outages = app.closed_outages("web", 3).await;
    assert_eq!(outages[0]["id"], closed["id"]);
    assert_eq!(outages[1]["id"], slow["id"]);
    assert!(outages[2]["cause"].as_str().unwrap().starts_with("status: HTTP 500"));

    // The closed target also took the TCP monitor down once.
    let port = app.closed_outages("port", 1).await;
    assert!(port[0]["cause"].as_str().unwrap().starts_with("refused"));

    // RSS: 3 pairs for `web`, 1 pair for `port`, none for the private monitor; newest first;
    // each pair shares its outage's guid.
    let (rss, raw) = rss_with(&app, 8).await;
    assert!(raw.contains("<title>Incidents | Loopback &amp; Co</title>"));
    assert!(raw.contains("<description>Incidents reported on status page for Loopback &amp; Co</description>"));
    assert!(!raw.contains("internal thing"));
    let web_items: Vec<_> = rss.entries.iter().filter(|e| e.id.contains(outages[0]["id"].as_str().unwrap())).collect();
    assert_eq!(web_items.len(), 2);
    assert_eq!(web_items[0].title.as_ref().unwrap().content, format!("{NAME} recovered"));
    assert_eq!(web_items[1].title.as_ref().unwrap().content, format!("{NAME} went down"));
    let started = chrono::DateTime::parse_from_rfc3339(outages[0]["started_at"].as_str().unwrap()).unwrap();
    assert_eq!(web_items[1].published.unwrap().timestamp(), started.timestamp(), "pubDate is the outage start");
    let published: Vec<_> = rss.entries.iter().map(|e| e.published.unwrap()).collect();
    assert!(published.windows(2).all(|w| w[0] >= w[1]), "newest first: {published:?}");
    for e in &rss.entries {
        assert_eq!(e.links[0].href, "https://status.example.test/");
        assert!(
            e.id.starts_with("https://status.example.test/#")
                && e.id.len() == "https://status.example.test/#".len() + 64,
            "{}",
            e.id
        );
    }

    // Atom and JSON Feed: the same items in the same order, each with an id of its own.
    for path in ["/feed.atom", "/feed.json"] {
        let other = parse(&app.text(path).await);
        assert_eq!(titles(&other), titles(&rss), "{path}");
        let ids: std::collections::HashSet<_> = other.entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids.len(), other.entries.len(), "{path} ids are unique");
        let dates: Vec<_> = other.entries.iter().map(|e| e.published.unwrap()).collect();
        assert_eq!(dates, published, "{path}");
    }

    // The page: everything up again, with the recent outages and their durations.
    let page = eventually("the page to show all systems operational", Duration::from_secs(5), || async {
        let page = app.text("/").await;
        page.contains("All systems operational").then_some(page)
    })
    .await;
    assert_eq!(page.matches("was down for").count(), 4, "three outages of web and one of port");
    assert!(!page.contains("internal thing"), "private monitors stay off the page");

    // Health and metrics tell the same story.
    let (status, health) = app.api("/health").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let metrics = app.text("/metrics").await;
    for needle in [
        "upbeat_checks_total{result=\"down\",error=\"status\"}",
        "upbeat_checks_total{result=\"down\",error=\"timeout\"}",
        "upbeat_checks_total{result=\"down\",error=\"refused\"}",
        "upbeat_check_duration_seconds_bucket",
        "upbeat_scheduler_lateness_seconds_count",
        "upbeat_write_batch_size_count",
        "upbeat_sample_queue_depth",
    ] {
        assert!(metrics.contains(needle), "/metrics lacks {needle}");
    }
    let failures = |kind: &str| -> u64 {
        let prefix = format!("upbeat_checks_total{{result=\"down\",error=\"{kind}\"}} ");
        metrics.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap().parse().unwrap()
    };
    assert!(failures("status") >= 2 && failures("timeout") >= 2 && failures("refused") >= 2);

    app.stop().await;
}

#[tokio::test]
async fn public_responses_carry_validators_and_answer_304() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target), &dir).await;
    app.wait_for_state("web", "up").await;
    for path in ["/", "/feed.rss", "/feed.atom", "/feed.json"] {
        let first = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(first.status(), 200);
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(first.headers().contains_key("last-modified"));
        let again = app.client.get(app.url(path)).header("If-None-Match", &etag).send().await.unwrap();
        // The page is re-rendered when a monitor changes state; then a new ETag and 200 are right.
        // The feeds have no new item, so they must answer 304.
        if path != "/" || again.headers()["etag"] == etag.as_str() {
            assert_eq!(again.status(), 304, "{path}");
            assert!(again.bytes().await.unwrap().is_empty());
        }
    }
    let content_types: Vec<String> = futures_content_types(&app).await;
    assert_eq!(
        content_types,
        vec![
            "text/html; charset=utf-8",
            "application/rss+xml; charset=utf-8",
            "application/atom+xml; charset=utf-8",
            "application/feed+json; charset=utf-8"
        ]
    );
    app.stop().await;
}

async fn futures_content_types(app: &TestApp) -> Vec<String> {
    let mut out = Vec::new();
    for path in ["/", "/feed.rss", "/feed.atom", "/feed.json"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        out.push(r.headers()["content-type"].to_str().unwrap().to_owned());
    }
    out
}
