//! `/feed.rss` as served, for a fixed set of outages written through the real store.

use chrono::{TimeZone, Utc};
use upbeat_core::sample::ProbeOutcome;
use upbeat_core::{ErrorKind, MonitorId, MonitorState, Phases, Policy, ProbeError, Sample};
use upbeat_store::{Batch, MonitorRecord};

use crate::helpers::TestApp;

const CONFIG: &str = r#"
[page]
title = "Buttondown"
base_url = "https://status.buttondown.com/"

[[monitor]]
id = "web"
name = "buttondown.com"
kind = "tcp"
host = "127.0.0.1"
port = 9
paused = true

[[monitor]]
id = "p95"
name = "p95 response time"
kind = "tcp"
host = "127.0.0.1"
port = 9
paused = true
"#;

/// Feeds `(seconds, up)` checks through the state machine into one batch, as the engine does.
fn history(monitor: &str, checks: &[(i64, bool)]) -> Batch {
    let id = MonitorId::parse(monitor).unwrap();
    let start = Utc.with_ymd_and_hms(2025, 6, 29, 12, 0, 0).unwrap();
    let mut state = MonitorState::default();
    let mut batch = Batch::default();
    for &(at, up) in checks {
        let sample = Sample {
            monitor: id.clone(),
            at: start + chrono::Duration::seconds(at),
            outcome: ProbeOutcome {
                latency: std::time::Duration::from_millis(20),
                phases: Phases::default(),
                http_status: None,
                error: (!up).then(|| ProbeError::new(ErrorKind::Timeout, "timed out")),
            },
        };
        if let Some(t) = state.observe(&id, Policy::default(), &sample) {
            batch.transitions.push((id.clone(), t));
        }
        batch.samples.push(sample);
    }
    batch.states.push((id, state));
    batch
}

#[tokio::test]
async fn feed_rss_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = upbeat_store::open(&crate::helpers::db_url(&dir)).await.unwrap();
    let record = |id: &str, name: &str| MonitorRecord {
        id: MonitorId::parse(id).unwrap(),
        name: name.into(),
        kind: "tcp".into(),
        target: "127.0.0.1:9".into(),
        component: None,
        public: true,
        interval: std::time::Duration::from_secs(60),
        ping_uuid: None,
    };
    store
        .sync_monitors(&[record("web", "buttondown.com"), record("p95", "p95 response time")], Utc::now())
        .await
        .unwrap();
    // web: down from 12:09:50 for three minutes; p95: two outages, the second still open.
    let web = history("web", &[(0, true), (590, false), (600, false), (781, true)]);
    let p95 = history("p95", &[(0, true), (300, false), (310, false), (2000, true), (5000, false), (5010, false)]);
    store.write_batch(&web).await.unwrap();
    store.write_batch(&p95).await.unwrap();
    drop(store);

    let app = TestApp::spawn(CONFIG, &dir).await;
    insta::assert_snapshot!(app.text("/feed.rss").await);
    app.stop().await;
}
