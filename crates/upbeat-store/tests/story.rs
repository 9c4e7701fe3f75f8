//! One story, told to every store implementation: what a monitor's life leaves in the database.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use upbeat_core::feed::FeedEvent;
use upbeat_core::sample::ProbeOutcome;
use upbeat_core::{ErrorKind, MonitorId, MonitorState, Phases, Policy, ProbeError, Sample, Scope};
use upbeat_store::{Batch, MonitorRecord, NewToken, OutageQuery, Revoked, Store, StoreError, TokenRef};

fn t(s: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap() + chrono::Duration::seconds(s)
}

fn id(s: &str) -> MonitorId {
    MonitorId::parse(s).unwrap()
}

fn record(monitor: &str, public: bool) -> MonitorRecord {
    MonitorRecord {
        id: id(monitor),
        name: format!("{monitor}.example.com"),
        kind: "http".into(),
        target: "http://127.0.0.1/".into(),
        component: None,
        public,
        interval: std::time::Duration::from_secs(60),
        ping_uuid: None,
    }
}

fn sample(monitor: &str, at: i64, up: bool) -> Sample {
    Sample {
        monitor: id(monitor),
        at: t(at),
        outcome: ProbeOutcome {
            latency: Duration::from_millis(10 + at as u64),
            phases: Phases { connect: Some(Duration::from_millis(1)), ..Phases::default() },
            http_status: Some(if up { 200 } else { 503 }),
            error: (!up).then(|| ProbeError::new(ErrorKind::Status, "HTTP 503, expected 200-399")),
        },
    }
}

/// Runs the samples through the state machine the way the engine does, into one batch.
fn batch_for(monitor: &str, state: &mut MonitorState, results: &[(i64, bool)]) -> Batch {
    let mut batch = Batch::default();
    for &(at, up) in results {
        let s = sample(monitor, at, up);
        let before = state.clone();
        if let Some(tr) = state.observe(&id(monitor), Policy::default(), &s) {
            batch.transitions.push((id(monitor), tr));
        }
        if *state != before {
            batch.states.retain(|(m, _)| m.as_str() != monitor);
            batch.states.push((id(monitor), state.clone()));
        }
        batch.samples.push(s);
    }
    batch
}

async fn story(open: impl AsyncFn() -> Arc<dyn Store>) {
    let store = open().await;
    store.sync_monitors(&[record("web", true), record("secret", false)], t(0)).await.unwrap();

    let mut web = MonitorState::default();
    let opening = batch_for("web", &mut web, &[(0, true), (10, false), (20, false), (30, false)]);
    store.write_batch(&opening).await.unwrap();
    // A replayed batch (a retry after an unclear failure) must not open the outage twice.
    store.write_batch(&opening).await.unwrap();
    let mut secret = MonitorState::default();
    store.write_batch(&batch_for("secret", &mut secret, &[(5, false), (15, false)])).await.unwrap();

    let open_outages = store.outages(&OutageQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(open_outages.len(), 2);
    let public = store.outages(&OutageQuery { public_only: true, limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].started_at, t(10), "starts at the first failing sample");
    assert_eq!(public[0].ended_at, None);
    assert_eq!(public[0].cause, "status: HTTP 503, expected 200-399");

    // A restart: a new handle on the same database finds the open outage in the state.
    drop(store);
    let store = open().await;
    let loaded = store.load_monitors().await.unwrap();
    let restored = loaded.iter().find(|m| m.id.as_str() == "web").unwrap();
    assert_eq!(restored.state, web);
    let last = restored.last_sample.as_ref().unwrap();
    assert_eq!((last.at, last.up, last.http_status), (t(30), false, Some(503)));

    let mut resumed = restored.state.clone();
    store.write_batch(&batch_for("web", &mut resumed, &[(40, false), (50, true), (60, true)])).await.unwrap();
    let web_outages =
        store.outages(&OutageQuery { monitor: Some(id("web")), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(web_outages.len(), 1, "the restart neither duplicated nor lost the outage");
    assert_eq!(web_outages[0].ended_at, Some(t(50)), "ends at the first good sample");

    let events = store.feed_events(250).await.unwrap();
    assert_eq!(events.len(), 2, "only the public monitor's outage is in the feed: {events:?}");
    assert!(matches!(&events[0], FeedEvent::OutageClosed { at, .. } if *at == t(50)));
    assert!(
        matches!(&events[1], FeedEvent::OutageOpened { monitor_name, at, .. } if *at == t(10) && monitor_name == "web.example.com")
    );

    // Removing a monitor from the configuration keeps its history but stops loading it.
    store.sync_monitors(&[record("web", true)], t(70)).await.unwrap();
    let ids: Vec<String> = store.load_monitors().await.unwrap().iter().map(|m| m.id.to_string()).collect();
    assert_eq!(ids, vec!["web"]);

    let new = NewToken { name: "ci", scope: Scope::Write, hash: "abc123", prefix: "upb_abc1" };
    let token = store.create_token(&new, t(0)).await.unwrap();
    let found = store.token_by_hash("abc123").await.unwrap().unwrap();
    assert_eq!((found.id, found.name.as_str(), found.scope), (token, "ci", Scope::Write));
    assert_eq!(store.token_by_hash("nope").await.unwrap(), None);
}

/// Tokens: listed without their secret, used (recorded once a minute at most), revoked one at a time.
async fn tokens(store: Arc<dyn Store>) {
    let ci = NewToken { name: "ci", scope: Scope::Write, hash: "h-ci", prefix: "upb_00000001" };
    let ci = store.create_token(&ci, t(0)).await.unwrap();
    let twin = NewToken { name: "deploy", scope: Scope::Read, hash: "h-deploy-1", prefix: "upb_00000002" };
    let first_deploy = store.create_token(&twin, t(10)).await.unwrap();
    let second = NewToken { hash: "h-deploy-2", prefix: "upb_00000003", ..twin };
    store.create_token(&second, t(20)).await.unwrap();
    let same_hash = NewToken { name: "copy", ..second };
    assert!(store.create_token(&same_hash, t(30)).await.is_err(), "two tokens never share a hash");

    let listed = store.tokens().await.unwrap();
    let names: Vec<(&str, Option<&str>)> = listed.iter().map(|t| (t.name.as_str(), t.prefix.as_deref())).collect();
    assert_eq!(
        names,
        [("ci", Some("upb_00000001")), ("deploy", Some("upb_00000002")), ("deploy", Some("upb_00000003"))]
    );
    assert_eq!((listed[0].created_at, listed[0].last_used_at), (t(0), None));

    // Used many times within a minute: one write; the value moves again only after a minute.
    assert!(store.touch_token(ci, t(100)).await.unwrap());
    for s in [100, 101, 130, 160] {
        assert!(!store.touch_token(ci, t(s)).await.unwrap(), "a use at {s} s is within the minute");
    }
    assert!(!store.touch_token(ci, t(50)).await.unwrap(), "a clock behind never moves it back");
    assert_eq!(store.token_by_hash("h-ci").await.unwrap().unwrap().last_used_at, Some(t(100)));
    assert!(store.touch_token(ci, t(161)).await.unwrap());
    assert_eq!(store.token_by_hash("h-ci").await.unwrap().unwrap().last_used_at, Some(t(161)));
    // Racing callers (many requests, several nodes): exactly one of them writes.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.touch_token(ci, t(300)).await.unwrap() })
        })
        .collect();
    let mut wrote = 0;
    for racer in racers {
        wrote += usize::from(racer.await.unwrap());
    }
    assert_eq!(wrote, 1);

    // A name two tokens share revokes nothing and says which ones it could be.
    match store.revoke_token(TokenRef::NameOrPrefix("deploy")).await.unwrap() {
        Revoked::Ambiguous(matched) => assert_eq!(matched.len(), 2),
        other => panic!("expected ambiguity, got {other:?}"),
    }
    assert_eq!(store.tokens().await.unwrap().len(), 3);
    assert_eq!(store.revoke_token(TokenRef::NameOrPrefix("nobody")).await.unwrap(), Revoked::Unknown);
    // The prefix picks one of them; the other stays and still authenticates.
    let Revoked::Token(gone) = store.revoke_token(TokenRef::NameOrPrefix("upb_00000003")).await.unwrap() else {
        panic!("the prefix names one token")
    };
    assert_eq!(gone.prefix.as_deref(), Some("upb_00000003"));
    assert_eq!(store.token_by_hash("h-deploy-2").await.unwrap(), None, "revoked: it authenticates no more");
    assert_eq!(store.token_by_hash("h-deploy-1").await.unwrap().unwrap().id, first_deploy);
    // Now the name is unambiguous; by id, a second revoke finds nothing.
    assert!(
        matches!(store.revoke_token(TokenRef::NameOrPrefix("deploy")).await.unwrap(), Revoked::Token(t) if t.id == first_deploy)
    );
    assert!(matches!(store.revoke_token(TokenRef::Id(ci)).await.unwrap(), Revoked::Token(_)));
    assert_eq!(store.revoke_token(TokenRef::Id(ci)).await.unwrap(), Revoked::Unknown);
    assert!(store.tokens().await.unwrap().is_empty());
    assert!(!store.touch_token(ci, t(1000)).await.unwrap(), "a revoked token is not brought back by a use");
}

async fn roll_up(store: Arc<dyn Store>) {
    store.sync_monitors(&[record("web", true)], t(0)).await.unwrap();
    let mut batch = Batch::default();
    // Two hours of samples, one every 60 s; every tenth one failing.
    for i in 0..120 {
        batch.samples.push(sample("web", i * 60, i % 10 != 0));
    }
    store.write_batch(&batch).await.unwrap();
    // The hourly latency of good checks: 10 ms + 60 ms × i for the good samples i of the hour.
    let expected: Vec<(u64, Duration)> = (0..2)
        .map(|h| {
            let good: Vec<u64> = (h * 60..h * 60 + 60).filter(|i| i % 10 != 0).collect();
            let sum: u64 = good.iter().map(|i| 10 + 60 * i).sum();
            (good.len() as u64, Duration::from_millis(sum) / good.len() as u32)
        })
        .collect();
    let web = id("web");
    let series = |bucket| store.latency_series(&web, t(0), bucket);
    let hourly = series(Duration::from_secs(3600)).await.unwrap();
    assert_eq!(hourly.iter().map(|p| (p.checks, p.average)).collect::<Vec<_>>(), expected);
    assert_eq!(hourly[1].start, t(3600));
    assert_eq!(series(Duration::from_secs(600)).await.unwrap().len(), 12, "ten-minute buckets");
    // Roll up everything before 10:45: only the whole hour 10:00–11:00 is not yet over, so nothing
    // after 10:00 is touched; rolling up before 12:00 takes both hours.
    assert_eq!(store.roll_up(t(45 * 60)).await.unwrap().samples_deleted, 0);
    let done = store.roll_up(t(120 * 60)).await.unwrap();
    assert_eq!(done.hours, 2);
    assert_eq!(done.samples_deleted, 120);
    assert!(store.recent_samples(&id("web"), 10).await.unwrap().is_empty());
    let hours = store.hour_aggregates(&id("web")).await.unwrap();
    assert_eq!(hours.len(), 2);
    assert_eq!((hours[0].checks, hours[0].failures), (60, 6));
    assert_eq!(hours[0].hour, t(0));
    // Good samples in the first hour have latencies 10 ms + i s for i in 1..60 not divisible by 10.
    assert_eq!(hours[0].latency_min, Some(Duration::from_millis(10 + 60)));
    assert_eq!(hours[0].latency_max, Some(Duration::from_millis(10 + 59 * 60)));
    assert!(hours[0].latency_p50 < hours[0].latency_p95 && hours[0].latency_p95 <= hours[0].latency_p99);
    assert_eq!(store.roll_up(t(120 * 60)).await.unwrap(), Default::default(), "nothing left to roll up");
    // Rolled-up hours give the same hourly series; finer buckets hold each hour where it starts.
    assert_eq!(series(Duration::from_secs(3600)).await.unwrap(), hourly);
    let fine = series(Duration::from_secs(600)).await.unwrap();
    assert_eq!(fine.iter().map(|p| p.start).collect::<Vec<_>>(), vec![t(0), t(3600)]);
}

/// The ping log is trimmed to the retention and to the newest `PINGS_KEPT` per monitor; the count
/// of every ping ever received stays.
async fn ping_log(store: Arc<dyn Store>) {
    use upbeat_core::heartbeat::{Ping, PingKind};
    store.sync_monitors(&[record("job", true), record("quiet", true)], t(0)).await.unwrap();
    let ping = |monitor: &str, at: i64| Ping {
        monitor: id(monitor),
        at: t(at),
        kind: PingKind::Success,
        exit_status: None,
        rid: None,
        method: "GET".into(),
        remote: None,
        user_agent: None,
        body: format!("run {at}").into_bytes(),
        truncated: false,
        duration: None,
    };
    let n = upbeat_store::PINGS_KEPT as i64 + 5;
    let batch =
        Batch { pings: (0..n).map(|i| ping("job", 3600 + i)).chain([ping("quiet", 10)]).collect(), ..Batch::default() };
    store.write_batch(&batch).await.unwrap();
    let done = store.roll_up(t(60)).await.unwrap();
    assert_eq!(done.pings_deleted, 6, "the quiet monitor's old ping, and the job's five oldest");
    let (total, kept) = store.pings(&id("job"), usize::MAX >> 1).await.unwrap();
    assert_eq!((total, kept.len() as u64), (n as u64, upbeat_store::PINGS_KEPT));
    assert_eq!(kept.last().unwrap().ping.body, format!("run {}", 3600 + 5).into_bytes(), "the oldest kept");
    assert_eq!(store.pings(&id("quiet"), 10).await.unwrap(), (1, Vec::new()));
}

#[tokio::test]
async fn sqlite_ping_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    ping_log(upbeat_store::open(&url).await.unwrap()).await;
}

/// The outbox: deliveries derived from the event log once per key, claimed under leases so no
/// two workers send the same one, retried, given up on, counted.
async fn outbox(store: Arc<dyn Store>) {
    use upbeat_store::{Attempt, NewDelivery};
    store.sync_monitors(&[record("web", true)], t(0)).await.unwrap();
    let mut state = MonitorState::default();
    store.write_batch(&batch_for("web", &mut state, &[(0, false), (60, false), (120, true)])).await.unwrap();
    assert_eq!(store.outbox_cursor("alerts").await.unwrap(), None);
    let events = store.events_after(0, 100).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["outage_opened", "outage_closed"]);
    assert_eq!(store.last_event_seq().await.unwrap(), events[1].seq);
    assert!(events.iter().all(|e| !e.imported && e.monitor == Some(id("web")) && e.outage.is_some()));
    let outage = store.outage(events[0].outage.as_deref().unwrap()).await.unwrap().unwrap();
    assert_eq!((outage.monitor, outage.started_at, outage.ended_at), (id("web"), t(0), Some(t(120))));
    assert_eq!(store.outage("nope").await.unwrap(), None);

    let new = |seq: i64, to: &str| NewDelivery { event_seq: seq, recipient: to.into(), not_before: t(120) };
    let wanted =
        vec![new(events[0].seq, "channel:ops"), new(events[0].seq, "channel:pager"), new(events[1].seq, "channel:ops")];
    assert_eq!(store.enqueue("alerts", events[1].seq, &wanted, t(120)).await.unwrap(), 3);
    assert_eq!(store.outbox_cursor("alerts").await.unwrap(), Some(events[1].seq));
    assert_eq!(store.enqueue("alerts", events[1].seq, &wanted, t(121)).await.unwrap(), 0, "replayed: nothing twice");
    assert_eq!(store.enqueue("alerts", 0, &[], t(121)).await.unwrap(), 0);
    assert_eq!(store.outbox_cursor("alerts").await.unwrap(), Some(events[1].seq), "a cursor never goes back");

    // Two workers: each delivery goes to one of them.
    let lease = Duration::from_secs(60);
    let a = store.claim("a", t(120), lease, 2).await.unwrap();
    let b = store.claim("b", t(120), lease, 10).await.unwrap();
    assert_eq!((a.len(), b.len()), (2, 1));
    assert!(a.iter().all(|d| b.iter().all(|e| e.id != d.id)));
    assert!(store.claim("c", t(150), lease, 10).await.unwrap().is_empty(), "all leased");
    assert!(!store.finish(a[0].id, "b", &Attempt::Sent, t(121)).await.unwrap(), "only the lease holder finishes");
    assert!(store.finish(a[0].id, "a", &Attempt::Sent, t(121)).await.unwrap());
    assert!(!store.finish(a[0].id, "a", &Attempt::Sent, t(122)).await.unwrap(), "sent once");
    let retry = Attempt::Retry { at: t(300), error: "HTTP 503".into() };
    assert!(store.finish(a[1].id, "a", &retry, t(122)).await.unwrap());
    // Worker b died: its lease runs out and another worker takes the delivery over.
    let taken_over = store.claim("c", t(181), lease, 10).await.unwrap();
    assert_eq!(taken_over.iter().map(|d| d.id).collect::<Vec<_>>(), [b[0].id]);
    assert!(!store.finish(b[0].id, "b", &Attempt::Sent, t(182)).await.unwrap(), "too late for b");
    assert!(store.finish(b[0].id, "c", &Attempt::Dead { error: "HTTP 404".into() }, t(182)).await.unwrap());
    // The retry is due at its time, with its attempt counted.
    assert!(store.claim("a", t(299), lease, 10).await.unwrap().is_empty());
    let again = store.claim("a", t(300), lease, 10).await.unwrap();
    assert_eq!((again.len(), again[0].attempts, again[0].last_error.as_deref()), (1, 1, Some("HTTP 503")));

    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.sent, stats.dead, stats.oldest_pending), (1, 1, 1, Some(t(120))));
    let dead = store.deliveries("dead", 10).await.unwrap();
    assert_eq!((dead.len(), dead[0].last_error.as_deref(), dead[0].attempts), (1, Some("HTTP 404"), 1));

    // A worker that starts again under its name takes back its leases at once; what it then
    // decides not to send is cancelled, not dead.
    assert_eq!(store.release("a").await.unwrap(), 1);
    let back = store.claim("a", t(301), lease, 10).await.unwrap();
    assert_eq!(back.iter().map(|d| d.id).collect::<Vec<_>>(), [again[0].id]);
    let cancel = Attempt::Cancelled { reason: "the subscriber unsubscribed".into() };
    assert!(store.finish(back[0].id, "a", &cancel, t(302)).await.unwrap());
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.cancelled, stats.oldest_pending), (0, 1, None));

    // A reminder enqueued ahead of its time is owed from that time: it is not waiting before.
    let reminder =
        NewDelivery { event_seq: events[0].seq, recipient: "reminder:1:channel:ops".into(), not_before: t(2100) };
    assert_eq!(store.enqueue("alerts", events[1].seq, &[reminder], t(400)).await.unwrap(), 1);
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.pending, stats.oldest_pending), (1, Some(t(2100))));
    assert!(store.claim("a", t(2099), lease, 10).await.unwrap().is_empty(), "not before its time");
    let due = store.claim("a", t(2100), lease, 10).await.unwrap();
    assert_eq!((due.len(), due[0].created_at), (1, t(2100)));
    assert!(store.finish(due[0].id, "a", &Attempt::Sent, t(2101)).await.unwrap());
}

/// Subscribers: a confirmation is asked for once per ten minutes at most, an operator's
/// subscriber needs none, addresses are one subscriber whatever their case, and the fan-out
/// pages through active subscribers only.
async fn subscribers(store: Arc<dyn Store>) {
    use upbeat_core::subscriber::SubscriberKind;
    use upbeat_store::NewSubscriber;
    let ann = |address: &str, confirmed: bool| NewSubscriber {
        kind: SubscriberKind::Email,
        address: address.into(),
        components: vec!["api".into()],
        confirmed,
    };
    let first = store.subscribe(&ann("Ann@example.com", false), t(0)).await.unwrap();
    assert!(first.confirmation_requested);
    assert_eq!(first.subscriber.state(), "pending");
    let again = store.subscribe(&ann("ann@EXAMPLE.com", false), t(60)).await.unwrap();
    assert_eq!((again.subscriber.id, again.confirmation_requested), (first.subscriber.id, false), "too soon");
    let later = store.subscribe(&ann("ann@example.com", false), t(660)).await.unwrap();
    assert!(later.confirmation_requested, "ten minutes on, one more");
    let requests = store.events_after(0, 10).await.unwrap();
    assert_eq!(requests.iter().filter(|e| e.kind == "subscription_requested").count(), 2);
    assert!(requests.iter().all(|e| e.subscriber == Some(first.subscriber.id)));

    let bob = store.subscribe(&ann("bob@example.com", true), t(700)).await.unwrap();
    assert_eq!((bob.subscriber.state(), bob.confirmation_requested), ("active", false));
    assert_eq!(
        store.subscribers(0, 10, true).await.unwrap().iter().map(|s| s.id).collect::<Vec<_>>(),
        [bob.subscriber.id]
    );
    let confirmed = store.confirm_subscriber(first.subscriber.id, t(800)).await.unwrap().unwrap();
    assert_eq!((confirmed.state(), confirmed.confirmed_at), ("active", Some(t(800))));
    assert_eq!(store.subscribers(0, 1, true).await.unwrap().len(), 1, "a page");
    assert_eq!(store.subscribers(first.subscriber.id, 10, true).await.unwrap()[0].id, bob.subscriber.id);
    // Active subscribers are left as they are: the form cannot change someone's filter.
    let everything = NewSubscriber { components: vec![], ..ann("ann@example.com", false) };
    let unchanged = store.subscribe(&everything, t(900)).await.unwrap();
    assert_eq!((unchanged.subscriber.components, unchanged.confirmation_requested), (vec!["api".to_owned()], false));
    let gone = store.unsubscribe(first.subscriber.id, t(1000)).await.unwrap().unwrap();
    assert_eq!(gone.state(), "unsubscribed");
    assert_eq!(store.unsubscribe(first.subscriber.id, t(2000)).await.unwrap().unwrap().unsubscribed_at, Some(t(1000)));
    assert!(store.delete_subscriber(bob.subscriber.id).await.unwrap());
    assert!(store.subscribers(0, 10, true).await.unwrap().is_empty());

    let key = store.setting("k", &|| "first".into()).await.unwrap();
    assert_eq!((key.as_str(), store.setting("k", &|| "second".into()).await.unwrap().as_str()), ("first", "first"));
}

#[tokio::test]
async fn sqlite_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    subscribers(upbeat_store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    outbox(upbeat_store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_story() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    story(async || upbeat_store::open(&url).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    tokens(upbeat_store::open(&url).await.unwrap()).await;
}

/// A database from before token prefixes (schema 10) is migrated when opened: its tokens stay and
/// show no prefix. One a newer upbeat wrote (a version this binary lacks) is refused untouched.
#[tokio::test]
async fn sqlite_upgrades_older_schemas_and_refuses_newer_ones() {
    use sqlx::ConnectOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = format!("sqlite://{}", path.display());
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).create_if_missing(true);
    let mut old = options.connect().await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .execute(&mut old)
    .await
    .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap();
    let mut files: Vec<_> = files.map(|f| f.unwrap().path()).collect();
    files.sort();
    for (version, file) in (1..=10).zip(&files) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(std::fs::read_to_string(file).unwrap())).execute(&mut old).await.unwrap();
        sqlx::query("INSERT INTO schema_migrations VALUES (?, 'old', 0)")
            .bind(version)
            .execute(&mut old)
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO tokens (name, scope, hash, created_at) VALUES ('legacy', 'admin', 'h-legacy', 0)")
        .execute(&mut old)
        .await
        .unwrap();

    let store = upbeat_store::open(&url).await.expect("an older schema is migrated at open");
    let legacy = store.tokens().await.unwrap();
    assert_eq!((legacy[0].name.as_str(), legacy[0].prefix.as_deref()), ("legacy", None));
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version").fetch_all(&mut old).await.unwrap();
    let known = *versions.last().unwrap();
    assert!(known > 10, "{versions:?}");
    drop(store);

    // A newer upbeat ran here and added its migration.
    let newer = known + 1;
    sqlx::query("INSERT INTO schema_migrations VALUES (?, 'from_the_future', 0)")
        .bind(newer)
        .execute(&mut old)
        .await
        .unwrap();
    let refused = upbeat_store::open(&url).await.err().expect("a newer schema is refused");
    assert!(matches!(refused, StoreError::NewerSchema { found, known: k } if found == newer && k == known));
    let message = refused.to_string();
    assert!(message.contains(&newer.to_string()) && message.contains(&known.to_string()), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

/// `backup` copies a live database into a new file, consistent and openable, and never overwrites.
#[tokio::test]
async fn sqlite_backup_copies_a_live_database_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    let store = upbeat_store::open(&url).await.unwrap();
    store.sync_monitors(&[record("web", true)], t(0)).await.unwrap();
    let mut web = MonitorState::default();
    store.write_batch(&batch_for("web", &mut web, &[(0, true), (10, false), (20, false)])).await.unwrap();

    let copy = dir.path().join("copy.db");
    let size = upbeat_store::backup(&url, &copy).await.unwrap();
    assert_eq!(size, std::fs::metadata(&copy).unwrap().len());
    assert!(size > 0);
    let again = upbeat_store::backup(&url, &copy).await.expect_err("an existing file is refused");
    assert!(matches!(again, StoreError::BackupExists(_)), "{again}");
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), size, "and left as it was");
    let missing = dir.path().join("nothing-here.db");
    let none = upbeat_store::backup(&format!("sqlite://{}", missing.display()), &dir.path().join("b.db")).await;
    assert!(matches!(none, Err(StoreError::NoDatabase(_))));
    assert!(!missing.exists() && !dir.path().join("b.db").exists(), "nothing is created for a missing database");
    let postgres = upbeat_store::backup("postgres://localhost/upbeat", &dir.path().join("pg.db")).await;
    assert!(postgres.unwrap_err().to_string().contains("not supported yet"));

    // The copy opens as a store of its own and holds the open outage.
    let restored = upbeat_store::open(&format!("sqlite://{}", copy.display())).await.unwrap();
    let outages = restored.outages(&OutageQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!((outages.len(), outages[0].started_at, outages[0].ended_at), (1, t(10), None));
}

#[tokio::test]
async fn sqlite_roll_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    roll_up(upbeat_store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_refuses_unknown_urls_and_reopens_migrated_files() {
    assert!(upbeat_store::open("mysql://localhost/x").await.is_err());
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("twice.db").display());
    drop(upbeat_store::open(&url).await.unwrap());
    upbeat_store::open(&url).await.expect("migrations are applied once and skipped after");
}

async fn incidents(store: Arc<dyn Store>) {
    use upbeat_core::incident::{ComponentStatus, Impact, IncidentStatus};
    use upbeat_store::{Created, IdempotencyKey, NewIncident, NewUpdate, UpdateEdit};

    let new = NewIncident {
        title: "Delays in email sending".into(),
        impact: Impact::Major,
        status: IncidentStatus::Investigating,
        components: [("email".to_string(), ComponentStatus::PartialOutage)].into(),
        message: "We're *investigating* delays.".into(),
        started_at: t(0),
    };
    let key = IdempotencyKey { token_id: 1, key: "k1".into(), request_hash: "h1".into() };
    let Created::New(first) = store.create_incident(&new, Some(&key), t(1)).await.unwrap() else { panic!("new") };
    assert_eq!(first.updates.len(), 1);
    assert_eq!(first.updates[0].created_at, t(0));
    assert_eq!(store.create_incident(&new, Some(&key), t(2)).await.unwrap(), Created::Replayed(first.clone()));
    let other = IdempotencyKey { request_hash: "h2".into(), ..key.clone() };
    assert_eq!(store.create_incident(&new, Some(&other), t(2)).await.unwrap(), Created::KeyReused);
    assert_eq!(store.incidents(10, false).await.unwrap().len(), 1, "the retry created nothing");

    let identified = NewUpdate {
        status: IncidentStatus::Identified,
        body: "Found it.".into(),
        components: [("api".to_string(), ComponentStatus::DegradedPerformance)].into(),
        created_at: t(60),
    };
    let after = store.add_update(first.id, &identified, t(60)).await.unwrap().unwrap();
    assert_eq!(after.status, IncidentStatus::Identified);
    assert_eq!(after.components.len(), 2, "update statuses merge into the incident's");
    assert_eq!(after.updates[0].body, "Found it.", "newest first");
    assert_ne!(after.updates[0].guid_hash, after.updates[1].guid_hash);
    assert!(store.add_update(999, &identified, t(60)).await.unwrap().is_none());

    let resolved = NewUpdate {
        status: IncidentStatus::Resolved,
        body: "Fixed.".into(),
        components: Default::default(),
        created_at: t(120),
    };
    let done = store.add_update(first.id, &resolved, t(120)).await.unwrap().unwrap();
    assert_eq!((done.status, done.resolved_at), (IncidentStatus::Resolved, Some(t(120))));
    assert!(store.incidents(10, true).await.unwrap().is_empty());

    let typo = done.updates[1].id;
    let edit = UpdateEdit { body: Some("Found it: a full disk.".into()), ..Default::default() };
    let edited = store.edit_update(first.id, typo, &edit, "admin", t(130)).await.unwrap().unwrap();
    assert_eq!(edited.updates[1].body, "Found it: a full disk.");
    let gone = store.delete_update(first.id, typo, "admin", t(140)).await.unwrap().unwrap();
    assert_eq!(gone.updates.len(), 2);
    assert!(store.delete_update(first.id, typo, "admin", t(150)).await.unwrap().is_none(), "deleted once");
    assert!(store.edit_update(first.id + 1, gone.updates[0].id, &edit, "admin", t(150)).await.unwrap().is_none());

    let feed = store.feed_events(250).await.unwrap();
    let bodies: Vec<&str> = feed
        .iter()
        .filter_map(|e| match e {
            FeedEvent::IncidentUpdate { body, .. } => Some(body.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, vec!["Fixed.", "We're *investigating* delays."], "the deleted update left the feed");

    let retitled =
        store.edit_incident(first.id, Some("Email delays"), Some(Impact::Minor), t(200)).await.unwrap().unwrap();
    assert_eq!((retitled.title.as_str(), retitled.impact), ("Email delays", Impact::Minor));
}

#[tokio::test]
async fn sqlite_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    incidents(upbeat_store::open(&url).await.unwrap()).await;
}

async fn maintenance(store: Arc<dyn Store>) {
    use upbeat_core::maintenance::MaintenanceStatus;
    use upbeat_store::NewMaintenance;

    let mut api = record("web", true);
    api.component = Some("api".into());
    store.sync_monitors(&[api, record("other", true)], t(0)).await.unwrap();
    let window = NewMaintenance {
        title: "Database upgrade".into(),
        scheduled_for: t(100),
        scheduled_until: t(200),
        components: vec!["api".into()],
        message: "We will upgrade the database.".into(),
    };
    let created = store.create_maintenance(&window, t(0)).await.unwrap();
    assert_eq!(created.components, vec!["api"]);
    assert_eq!(created.updates.len(), 1);
    assert_eq!(created.status_at(t(150)), MaintenanceStatus::InProgress);
    assert_eq!(store.maintenances(10, Some(t(150))).await.unwrap().len(), 1);
    assert!(store.maintenances(10, Some(t(200))).await.unwrap().is_empty(), "over at its end");

    // Outages that start inside the window of their component are marked; others are not.
    let mut web = MonitorState::default();
    let mut other = MonitorState::default();
    let mut batch = batch_for("web", &mut web, &[(120, false), (130, false)]);
    let second = batch_for("other", &mut other, &[(120, false), (130, false)]);
    batch.samples.extend(second.samples);
    batch.transitions.extend(second.transitions);
    store.write_batch(&batch).await.unwrap();
    let outages = store.outages(&OutageQuery { limit: 10, ..Default::default() }).await.unwrap();
    let marked: Vec<(String, bool)> = outages.iter().map(|o| (o.monitor.to_string(), o.in_maintenance)).collect();
    assert!(marked.contains(&("web".into(), true)) && marked.contains(&("other".into(), false)), "{marked:?}");

    let updated = store.add_maintenance_update(created.id, "Started.", t(100)).await.unwrap().unwrap();
    assert_eq!(updated.updates[0].body, "Started.");
    let early = store.edit_maintenance(created.id, None, None, Some(t(160)), t(160)).await.unwrap().unwrap();
    assert_eq!(early.status_at(t(170)), MaintenanceStatus::Completed);
    assert!(store.edit_maintenance(999, None, None, None, t(0)).await.unwrap().is_none());
}

#[tokio::test]
async fn sqlite_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    maintenance(upbeat_store::open(&url).await.unwrap()).await;
}

fn imported_set() -> upbeat_core::import::ImportSet {
    use upbeat_core::import::*;
    use upbeat_core::incident::{Impact, IncidentStatus};
    let outage = |start: i64, end: Option<i64>| ImportedOutage {
        id: upbeat_core::OutageId::derive(&id("old"), t(start)),
        monitor: id("old"),
        started_at: t(start),
        ended_at: end.map(t),
    };
    ImportSet {
        format: "test".into(),
        window: Some((t(0), t(1000))),
        monitors: vec![ImportedMonitor { id: id("old"), name: "Old site".into() }],
        outages: vec![outage(100, Some(160)), outage(500, None)],
        incidents: vec![ImportedIncident {
            key: "test:42".into(),
            id: Some(42),
            title: "Slow".into(),
            impact: Impact::Minor,
            status: IncidentStatus::Resolved,
            components: Default::default(),
            started_at: t(100),
            resolved_at: Some(t(200)),
            updates: vec![
                ImportedUpdate {
                    guid_hash: guid_hash_of("a"),
                    status: IncidentStatus::Investigating,
                    body: "Looking".into(),
                    at: t(100),
                },
                ImportedUpdate {
                    guid_hash: guid_hash_of("b"),
                    status: IncidentStatus::Resolved,
                    body: "Done".into(),
                    at: t(200),
                },
            ],
            postmortem: None,
        }],
        ..ImportSet::default()
    }
}

/// Imports: idempotent, one transaction, kept apart from the configuration; and the history that
/// uptime is computed from, samples and imports alike.
async fn imports(store: Arc<dyn Store>) {
    let quiet = |_: usize| {};
    let set = imported_set();
    let dry = store.import(&set, true, &quiet, t(2000)).await.unwrap();
    assert_eq!((dry.monitors, dry.outages, dry.incidents, dry.updates), (1, 2, 1, 2));
    assert_eq!(store.monitor_records().await.unwrap(), vec![], "a dry run writes nothing");

    assert_eq!(store.import(&set, false, &quiet, t(2000)).await.unwrap(), dry);
    let again = store.import(&set, false, &quiet, t(2000)).await.unwrap();
    assert!(again.is_empty() && again.duplicates == 4, "{again:?}");
    // History alerts nobody: every event the import wrote, outages and incident updates, says so.
    let events = store.events_after(0, 100).await.unwrap();
    assert!(events.iter().any(|e| e.kind == "incident_update") && events.iter().any(|e| e.kind == "outage_opened"));
    assert!(events.iter().all(|e| e.imported), "{events:?}");

    // The imported outage that was still open is closed by a newer export.
    let mut newer = imported_set();
    newer.outages[1].ended_at = Some(t(700));
    assert_eq!(store.import(&newer, false, &quiet, t(2000)).await.unwrap().outages, 1);

    // Starting with a configuration keeps imported monitors, which have no state to load.
    store.sync_monitors(&[record("web", true)], t(2000)).await.unwrap();
    let ids: Vec<String> = store.monitor_records().await.unwrap().iter().map(|m| m.id.to_string()).collect();
    assert_eq!(ids, ["old", "web"]);
    assert!(store.load_monitors().await.unwrap().iter().all(|m| m.id.as_str() == "web"));
    assert_eq!(store.incident(42).await.unwrap().unwrap().updates.len(), 2);
    assert_eq!(store.monitor_record(&id("old")).await.unwrap().unwrap().kind, "imported");
    assert!(store.monitor_record(&id("nope")).await.unwrap().is_none());

    let window = upbeat_core::uptime::Span::new(t(0), t(1000));
    let u = store.history(&id("old"), window, t(2000)).await.unwrap().unwrap().uptime(window);
    assert_eq!((u.outages, u.down.num_seconds(), u.no_data.num_seconds()), (2, 60 + 200, 0));

    // Samples every 60 s, then a gap: the gap is time without data, not uptime.
    let mut state = MonitorState::default();
    let times: Vec<(i64, bool)> = [0, 60, 120, 600, 660].iter().map(|&s| (s, true)).collect();
    store.write_batch(&batch_for("web", &mut state, &times)).await.unwrap();
    let u = store.history(&id("web"), window, t(1000)).await.unwrap().unwrap().uptime(window);
    assert_eq!((u.up.num_seconds(), u.no_data.num_seconds()), (180 + 120, 1000 - 300));
    assert!(store.history(&id("nope"), window, t(1000)).await.unwrap().is_none());

    // An incident id taken by one written here is a conflict, and nothing of that set is written.
    let mut clash = imported_set();
    clash.incidents[0].key = "other:42".into();
    clash.monitors[0].id = id("clash");
    clash.outages.iter_mut().for_each(|o| o.monitor = id("clash"));
    clash.outages[0].id = upbeat_core::OutageId::derive(&id("clash"), t(1));
    clash.outages.truncate(1);
    let err = store.import(&clash, false, &quiet, t(2000)).await.unwrap_err();
    assert!(matches!(err, upbeat_store::StoreError::Conflict(_)), "{err}");
    assert!(store.monitor_records().await.unwrap().iter().all(|m| m.id.as_str() != "clash"));
}

#[tokio::test]
async fn sqlite_imports() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("upbeat.db").display());
    imports(upbeat_store::open(&url).await.unwrap()).await;
}
