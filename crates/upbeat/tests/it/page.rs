//! The public page's parts outside a browser: uptime bars from real history, badges, what
//! `public = false` hides, compression and conditional requests, the logo.

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use reqwest::header;

use crate::helpers::{ManualClock, Mode, Target, TestApp, db_url, eventually, send};

/// The `<li>` of `date` in the bar of the component named `component`: its class and tooltip text.
fn segment(html: &str, component: &str, date: &str) -> (String, String) {
    let bar_start = html
        .find(&format!("<ol class=\"bar\" aria-label=\"{component}: uptime by day"))
        .unwrap_or_else(|| panic!("no bar for {component}:\n{html}"));
    let bar = &html[bar_start..];
    let bar = &bar[..bar.find("</ol>").expect("the bar ends")];
    let at = bar.find(&format!("data-date=\"{date}\"")).unwrap_or_else(|| panic!("no day {date} in {bar}"));
    let li = &bar[at..];
    let li = &li[..li.find("</li>").expect("the day ends")];
    let class = li.split("class=\"").nth(1).and_then(|c| c.split('"').next()).expect("a class").to_owned();
    let tip = li.split("<span class=\"tip\">").nth(1).expect("a tip").replace("<br>", "\n").replace("</span>", "");
    (class, tip)
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The reference feed's history drives the bars: the day of its last outage shows it by name,
/// coloured as a short outage, and the uptime badge agrees with the API's daily figures.
#[tokio::test(flavor = "multi_thread")]
async fn imported_history_fills_the_bars_and_the_badges() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/buttondown-status.rss");
    let out = Command::new(env!("CARGO_BIN_EXE_upbeat"))
        .args(["import", "--db", &db, "--base-url", "https://status.buttondown.com/", fixture])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The configured heartbeat takes over the imported monitor of the same id and its history.
    let config = r#"
[page]
title = "Buttondown"
base_url = "https://status.buttondown.com/"

[[component]]
id = "web"
name = "Website"

[[monitor]]
id = "buttondown-com"
name = "buttondown.com"
kind = "heartbeat"
period = "1d"
grace = "1h"
component = "web"
"#;
    let clock = ManualClock::at(Utc.with_ymd_and_hms(2025, 7, 1, 6, 0, 0).unwrap());
    let app = TestApp::spawn_with_clock(config, &dir, clock).await;
    let html = app.text("/").await;

    assert_eq!(count(&html, "<li tabindex=\"0\" data-date="), 90, "one bar of 90 days");
    let (class, tip) = segment(&html, "Website", "2025-06-30");
    assert!(tip.starts_with("Mon 30 Jun 2025: 99."), "{tip}");
    assert!(tip.contains("buttondown.com down 12:09–12:12, 3m 1s"), "{tip}");
    assert_eq!(class, "l", "a 3-minute outage in a watched half day is more than 99 % up: {tip}");
    let (class, tip) = segment(&html, "Website", "2025-06-28");
    assert_eq!((class.as_str(), tip.as_str()), ("u", "Sat 28 Jun 2025: 100% uptime"));
    // After the feed ends nothing watched the monitor: no data, never counted as up.
    let (class, tip) = segment(&html, "Website", "2025-07-01");
    assert_eq!((class.as_str(), tip.as_str()), ("n", "Tue 1 Jul 2025: No data"));

    // The badge's 7-day figure is the API's daily buckets summed.
    let (status, daily) = app.api("/api/v1/monitors/buttondown-com/daily?days=7").await;
    assert_eq!(status, 200, "{daily}");
    let (up, down) = daily["days"].as_array().unwrap().iter().fold((0.0, 0.0), |(u, d), day| {
        (u + day["uptime_seconds"].as_f64().unwrap(), d + day["downtime_seconds"].as_f64().unwrap())
    });
    let percent = up * 100.0 / (up + down);
    let expected = format!("{}", (percent * 100.0).floor() / 100.0);
    let svg = app.text("/badge/buttondown-com/uptime.svg?days=7").await;
    assert!(svg.contains(&format!("aria-label=\"uptime 7d: {expected}%\"")), "{expected}: {svg}");
    let svg = app.text("/badge/buttondown-com.svg").await;
    assert!(svg.contains("aria-label=\"buttondown.com: no data\""), "{svg}");
    // The bar's legend states the uptime of the days it shows: 90 on a wide screen, the last 30
    // on a narrow one, each the badge's figure for as many days.
    for (days, class) in [(90, "wide"), (30, "narrow")] {
        let svg = app.text(&format!("/badge/buttondown-com/uptime.svg?days={days}")).await;
        let figure =
            svg.split(&format!("aria-label=\"uptime {days}d: ")).nth(1).and_then(|r| r.split('"').next()).unwrap();
        assert!(html.contains(&format!("<span class=\"{class}\">{figure} uptime</span>")), "{days} days: {figure}");
    }
    app.stop().await;
}

fn private_config(healthy: &Target, failing: &Target, logo: &std::path::Path) -> String {
    format!(
        r#"
[page]
title = "Shop"
logo = "{}"

[[component]]
id = "web"
name = "Website"

[[component]]
id = "vault"
name = "Vault internals"
public = false

[[monitor]]
id = "homepage"
name = "Homepage"
kind = "http"
url = "{}"
interval = "1s"
timeout = "500ms"
component = "web"

[[monitor]]
id = "vault-db"
name = "Vault DB"
kind = "http"
url = "{}"
interval = "1s"
timeout = "500ms"
confirm = 1
component = "vault"

[[monitor]]
id = "hidden-job"
name = "Hidden job"
kind = "heartbeat"
period = "1h"
public = false
"#,
        logo.display(),
        healthy.url("/"),
        failing.url("/")
    )
}

/// A private component's monitor is down, and the public sees nothing of it: not on the page, in
/// the feeds, in `/api/v2` or as a badge (404, like a monitor that does not exist).
#[tokio::test(flavor = "multi_thread")]
async fn private_things_appear_nowhere_public_and_badges_draw_the_public_ones() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    std::fs::write(&logo, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>").unwrap();
    let (healthy, failing) = (Target::start().await, Target::start().await);
    failing.set(Mode::Error).await;
    let app = TestApp::spawn(&private_config(&healthy, &failing, &logo), &dir).await;
    app.wait_for_state("vault-db", "down").await;
    app.wait_for_state("homepage", "up").await;
    // A private outage is not the public's: the banner turns operational with the homepage up.
    let page = eventually("the banner to say all is operational", Duration::from_secs(10), || async {
        let page = app.text("/").await;
        page.contains("All systems operational").then_some(page)
    })
    .await;
    for path in [
        "/",
        "/feed.rss",
        "/feed.atom",
        "/feed.json",
        "/history",
        "/api/v2/summary.json",
        "/api/v2/components.json",
        "/subscribe",
    ] {
        let body = app.text(path).await;
        for secret in ["Vault", "vault", "Hidden job", "hidden-job"] {
            assert!(!body.contains(secret), "{path} shows {secret}: {body}");
        }
    }
    for path in [
        "/badge/vault-db.svg",
        "/badge/vault-db/uptime.svg",
        "/badge/vault-db/response.svg",
        "/badge/hidden-job.svg",
        "/badge/nope.svg",
        "/badge/homepage",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }

    let badge = app.client.get(app.url("/badge/homepage.svg")).send().await.unwrap();
    assert_eq!(badge.status(), 200);
    assert_eq!(badge.headers()[header::CONTENT_TYPE], "image/svg+xml; charset=utf-8");
    assert!(badge.headers().contains_key(header::ETAG));
    let svg = badge.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("aria-label=\"Homepage: up\""), "{svg}");
    let svg = app.text("/badge/homepage.svg?label=Our%20shop").await;
    assert!(svg.contains("aria-label=\"Our shop: up\""), "{svg}");
    let svg = eventually("a response time for the badge", Duration::from_secs(90), || async {
        let svg = app.text("/badge/homepage/response.svg").await;
        (!svg.contains("no data")).then_some(svg)
    })
    .await;
    assert!(svg.contains("aria-label=\"response time: ") && svg.contains("ms\""), "{svg}");
    let svg = app.text("/badge/homepage/uptime.svg").await;
    assert!(svg.contains("aria-label=\"uptime 30d: 100%\""), "{svg}");
    for query in ["days=0", "days=91", "days=week"] {
        let response = app.client.get(app.url(&format!("/badge/homepage/uptime.svg?{query}"))).send().await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
    }

    // The logo is served from memory and shown in the header.
    let response = app.client.get(app.url("/logo")).send().await.unwrap();
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/svg+xml");
    assert_eq!(response.bytes().await.unwrap(), std::fs::read(&logo).unwrap());
    assert!(page.contains("<img class=\"logo\" src=\"logo\""), "{page}");
    app.stop().await;
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        "br" => brotli::Decompressor::new(body, 4096).read_to_end(&mut out).unwrap(),
        "gzip" => flate2::read::GzDecoder::new(body).read_to_end(&mut out).unwrap(),
        other => panic!("unexpected encoding {other}"),
    };
    out
}

/// Every public response is compressed for who asks, carries validators and answers `304` to a
/// client that has it, whichever encoding it got.
#[tokio::test]
async fn public_responses_are_compressed_and_answer_304() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[page]\ntitle = \"Shop\"\n[[component]]\nid = \"web\"\nname = \"Website\"\n";
    let app = TestApp::spawn(config, &dir).await;
    for path in ["/", "/feed.rss", "/history", "/api/v2/summary.json", "/api/v2/components.json"] {
        let get = |encoding: &'static str, extra: Option<(header::HeaderName, String)>| {
            let mut request = app.client.get(app.url(path)).header(header::ACCEPT_ENCODING, encoding);
            if let Some((name, value)) = extra {
                request = request.header(name, value);
            }
            request.send()
        };
        let plain = get("identity", None).await.unwrap();
        assert_eq!(plain.status(), 200, "{path}");
        let tag = plain.headers()[header::ETAG].to_str().unwrap().to_owned();
        let modified = plain.headers()[header::LAST_MODIFIED].to_str().unwrap().to_owned();
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none(), "{path}");
        let plain = plain.bytes().await.unwrap();
        if plain.len() < 512 {
            // Too small to be worth compressing: sent as it is.
            let response = get("br, gzip", None).await.unwrap();
            assert!(response.headers().get(header::CONTENT_ENCODING).is_none(), "{path}");
            assert_ne!(path, "/", "the page is never this small");
            continue;
        }
        for (accept, encoding) in [("br", "br"), ("gzip, deflate", "gzip"), ("gzip;q=0, br", "br")] {
            let response = get(accept, None).await.unwrap();
            assert_eq!(response.headers()[header::CONTENT_ENCODING], encoding, "{path} {accept}");
            assert_eq!(response.headers()[header::VARY], "Accept-Encoding", "{path}");
            let encoded_tag = response.headers()[header::ETAG].to_str().unwrap().to_owned();
            assert_ne!(encoded_tag, tag, "{path}: each encoding has its own tag");
            let body = response.bytes().await.unwrap();
            assert!(body.len() < plain.len(), "{path} {encoding}: {} >= {}", body.len(), plain.len());
            // The page may have been rendered anew between the two requests (its clock moved).
            let decoded = decode(encoding, &body);
            if decoded != plain {
                let now = get("identity", None).await.unwrap().bytes().await.unwrap();
                assert_eq!(decoded, now, "{path} {encoding}");
            }
            let again = get(accept, Some((header::IF_NONE_MATCH, encoded_tag))).await.unwrap();
            assert_eq!(again.status(), 304, "{path} {encoding}");
            assert!(again.bytes().await.unwrap().is_empty());
        }
        let gzip_refused = get("gzip;q=0", None).await.unwrap();
        assert!(gzip_refused.headers().get(header::CONTENT_ENCODING).is_none(), "{path}");
        assert_eq!(get("br", Some((header::IF_NONE_MATCH, tag.clone()))).await.unwrap().status(), 304, "{path}");
        assert_eq!(get("br", Some((header::IF_MODIFIED_SINCE, modified))).await.unwrap().status(), 304, "{path}");
        let stale = get("br", Some((header::IF_NONE_MATCH, "\"0123\"".into()))).await.unwrap();
        assert_eq!(stale.status(), 200, "{path}");
    }
    app.stop().await;
}

/// Past the first 100 components the page shows statuses only; the badges of the monitors there
/// are still drawn, from their history read when asked for.
#[tokio::test]
async fn monitors_past_the_pictured_components_still_have_badges() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::from("[page]\ntitle = \"Many\"\n");
    for i in 0..101 {
        config.push_str(&format!(
            "[[monitor]]\nid = \"job-{i:03}\"\nname = \"Job {i}\"\nkind = \"heartbeat\"\nperiod = \"1d\"\n"
        ));
    }
    let app = TestApp::spawn(&config, &dir).await;
    let page = app.text("/").await;
    assert_eq!(count(&page, "<ol class=\"bar\""), 100);
    assert!(page.contains("the other 1 show their status only") && page.contains("Job 100"), "{page}");
    for path in ["/badge/job-100/uptime.svg?days=7", "/badge/job-000/uptime.svg?days=7"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let svg = response.text().await.unwrap();
        assert!(svg.contains("aria-label=\"uptime 7d: no data\""), "{path}: {svg}");
    }
    app.stop().await;
}

/// A paused monitor that was never checked has nothing to tell: it is not on the page, in
/// `/api/v2` or a badge, and a page with no other monitor says nothing is monitored rather than
/// "All systems operational". Resumed and checked, it is public; paused again, it stays, paused.
#[tokio::test(flavor = "multi_thread")]
async fn paused_monitors_never_checked_are_not_public_and_an_empty_page_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let healthy = Target::start().await;
    let config = format!(
        "[page]\ntitle = \"Quiet\"\n[[monitor]]\nid = \"later\"\nname = \"Later service\"\nkind = \"http\"\nurl = \"{}\"\ninterval = \"1s\"\ntimeout = \"500ms\"\npaused = true\n",
        healthy.url("/")
    );
    let app = TestApp::spawn(&config, &dir).await;
    let page = app.text("/").await;
    assert!(page.contains(">No services are monitored yet</p>"), "{page}");
    assert!(!page.contains("All systems operational") && !page.contains("Later service"), "{page}");
    let (_, components) = app.api("/api/v2/components.json").await;
    assert_eq!(components["components"], serde_json::json!([]), "{components}");
    // Statuspage's own vocabulary: a page without components is "none", as Statuspage answers.
    let (_, status) = app.api("/api/v2/status.json").await;
    assert_eq!(status["status"], serde_json::json!({"indicator": "none", "description": "All Systems Operational"}));
    let badge = app.client.get(app.url("/badge/later.svg")).send().await.unwrap();
    assert_eq!(badge.status(), 404);

    let w = Some(app.write_token.as_str());
    let (code, body) = send(&app, "POST", "/api/v1/monitors/later/resume", w, None).await;
    assert_eq!(code, 200, "{body}");
    app.wait_for_state("later", "up").await;
    eventually("the resumed monitor on the page", Duration::from_secs(10), || async {
        let page = app.text("/").await;
        (page.contains("Later service") && page.contains("All systems operational")).then_some(())
    })
    .await;
    let (code, body) = send(&app, "POST", "/api/v1/monitors/later/pause", w, None).await;
    assert_eq!(code, 200, "{body}");
    eventually("the paused monitor still on the page", Duration::from_secs(10), || async {
        let page = app.text("/").await;
        (page.contains("Later service") && page.contains(">Paused</span>")).then_some(())
    })
    .await;
    assert_eq!(app.client.get(app.url("/badge/later.svg")).send().await.unwrap().status(), 200);
    app.stop().await;
}

/// Every public page has the same header, whose title leads home from where the page is; unknown
/// incidents and paths get a styled 404 page, and unknown API paths keep their JSON error.
#[tokio::test(flavor = "multi_thread")]
async fn every_public_page_has_the_header_and_unknown_pages_are_a_styled_404() {
    let dir = tempfile::tempdir().unwrap();
    // The form shows only with mail configured; nothing is sent here.
    let config = "[page]\ntitle = \"Headed\"\n[smtp]\nhost = \"127.0.0.1\"\nport = 9\nfrom = \"s@headed.test\"\ntls = \"none\"\n\
        [[component]]\nid = \"api\"\nname = \"API\"\n";
    let app = TestApp::spawn(config, &dir).await;
    let w = Some(app.write_token.as_str());
    let opening = serde_json::json!({"title": "Slow", "status": "investigating", "impact": "minor", "message": "Slow.", "components": {"api": "degraded_performance"}});
    let (code, incident) = send(&app, "POST", "/api/v1/incidents", w, Some(opening)).await;
    assert_eq!(code, 201, "{incident}");
    let id = incident["id"].as_i64().unwrap();
    let incident_path = format!("/incident/{id}");
    eventually("the incident page", Duration::from_secs(10), || async {
        let response = app.client.get(app.url(&incident_path)).send().await.unwrap();
        (response.status() == 200).then_some(())
    })
    .await;
    for (path, status, home) in [
        ("/", 200, "<h1 class=\"site\"><a href=\"./\">Headed</a></h1>"),
        ("/history", 200, "<p class=\"site\"><a href=\"./\">Headed</a></p>"),
        (incident_path.as_str(), 200, "<p class=\"site\"><a href=\"../\">Headed</a></p>"),
        ("/subscribe", 200, "<p class=\"site\"><a href=\"./\">Headed</a></p>"),
        ("/subscribe/confirm/not-a-token", 404, "<p class=\"site\"><a href=\"../../\">Headed</a></p>"),
        ("/unsubscribe/not-a-token", 404, "<p class=\"site\"><a href=\"../\">Headed</a></p>"),
        ("/incident/999999", 404, "<p class=\"site\"><a href=\"../\">Headed</a></p>"),
        ("/incident/not-a-number", 404, "<p class=\"site\"><a href=\"../\">Headed</a></p>"),
        ("/no/such/page", 404, "<p class=\"site\"><a href=\"../../\">Headed</a></p>"),
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{path}");
        let html = response.text().await.unwrap();
        assert_eq!(count(&html, "<header class=\"top\">"), 1, "{path}: {html}");
        assert!(html.contains(home), "{path}: {html}");
        assert!(html.contains("<a class=\"subscribe\""), "{path}: {html}");
        if status == 404 && !path.contains("subscribe") {
            assert!(html.contains("<h1>Page not found</h1>"), "{path}: {html}");
        }
    }
    // The incident is open: its banner has its impact's colour, not a resolved incident's green.
    assert!(app.text(&incident_path).await.contains("<p class=\"banner impact-minor\""));
    let (code, body) = app.api("/api/v1/nope").await;
    assert_eq!((code, body["error"]["code"].as_str()), (404, Some("route_not_found")));
    let response = app.client.get(app.url("/api/v2/nope.json")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "route_not_found");
    app.stop().await;
}
