//! Wiring: [`Application::build`] opens the store, restores every monitor, binds the listener and
//! starts the writer, the scheduler, the renderer and the roll-up; [`Application::run_until`]
//! serves until a shutdown signal and then stops them in the order that loses nothing.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use upbeat_checks::Prober;
use upbeat_core::Config;
use upbeat_store::{MonitorRecord, Store};
use upbeat_web::{AppState, PublicCache};

use crate::clock::Clock;
use crate::engine::{Engine, EngineParts};
use crate::scheduler::Scheduler;
use crate::telemetry::Telemetry;
use crate::writer;

/// How often samples past the retention are rolled up.
const ROLL_UP_EVERY: Duration = Duration::from_secs(600);

pub struct Application {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    stop: watch::Sender<bool>,
    /// Told only after the scheduler has finished, so the checks in flight are still written.
    writer_stop: watch::Sender<bool>,
    scheduler: JoinHandle<()>,
    writer: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
    engine: Arc<Engine>,
}

/// The largest logo served: it is sent with every first visit.
const MAX_LOGO: u64 = 512 * 1024;

/// Reads `[page] logo` once, so it is served from memory like the page.
fn read_logo(path: &str, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<upbeat_web::cache::Rendered> {
    let content_type = upbeat_core::config::logo_type(path).unwrap_or("application/octet-stream");
    let size = std::fs::metadata(path).with_context(|| format!("page.logo: cannot read {path}"))?.len();
    anyhow::ensure!(size <= MAX_LOGO, "page.logo: {path} is {size} bytes; the most is {MAX_LOGO}");
    let bytes = std::fs::read(path).with_context(|| format!("page.logo: cannot read {path}"))?;
    Ok(upbeat_web::cache::Rendered::new(bytes, content_type, now))
}

impl Application {
    pub async fn build(
        config: Config,
        db_url: &str,
        listen: SocketAddr,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        if config.monitors.iter().any(|m| m.kind.name() == "icmp")
            && let Err(why) = upbeat_checks::icmp_permitted()
        {
            tracing::warn!("ICMP monitors will fail: {why}");
        }
        let config = Arc::new(config);
        let store = upbeat_store::open(db_url).await.with_context(|| format!("cannot open the database {db_url}"))?;
        let records: Vec<MonitorRecord> = config
            .monitors
            .iter()
            .map(|m| {
                let uuid = match &m.kind {
                    upbeat_core::MonitorKind::Heartbeat(spec) => spec.uuid.clone(),
                    _ => None,
                };
                MonitorRecord::of(m, uuid)
            })
            .collect();
        store.sync_monitors(&records, clock.now()).await.context("cannot record the configured monitors")?;
        let mut stored = store.load_monitors().await.context("cannot load the monitors' state")?;
        give_heartbeats_uuids(&*store, &config, &mut stored).await?;
        load_metric_windows(&*store, &config, &mut stored, clock.now()).await?;

        let telemetry = Arc::new(Telemetry::default());
        let (record_tx, record_rx) = mpsc::channel(writer::QUEUE_CAPACITY);
        let (deadlines_tx, deadlines_rx) = mpsc::unbounded_channel();
        let parts = EngineParts {
            writer: record_tx.clone(),
            deadlines: deadlines_tx,
            telemetry: Arc::clone(&telemetry),
            clock: Arc::clone(&clock),
            ping_key: config.pings.ping_key.clone(),
        };
        // Heartbeats that pings created (`?create=1`) run next to the configured monitors.
        let mut monitors = config.monitors.clone();
        for record in store.pinged_monitors().await.context("cannot load the heartbeats pings created")? {
            let uuid = record.ping_uuid.clone().unwrap_or_default();
            let mut monitor = upbeat_core::heartbeat::pinged(record.id, uuid);
            monitor.name = record.name;
            monitors.push(monitor);
        }
        let (engine, reconcile) = Engine::new(&monitors, stored, parts);
        let engine = Arc::new(engine);
        for record in reconcile {
            record_tx.send(record).await.context("the writer is not running")?;
        }

        let (stop, stop_rx) = watch::channel(false);
        let (writer_stop, writer_stop_rx) = watch::channel(false);
        let (changes_tx, changes_rx) = watch::channel(0u64);
        let writer = tokio::spawn(writer::run(
            record_rx,
            Arc::clone(&store),
            Arc::clone(&telemetry),
            changes_tx.clone(),
            writer_stop_rx,
        ));

        let logo = match &config.page.logo {
            Some(path) => Some(read_logo(path, clock.now())?),
            None => None,
        };
        let now_clock = Arc::clone(&clock);
        let changed = changes_tx.clone();
        let state = AppState {
            config: Arc::clone(&config),
            store: Arc::clone(&store),
            runtime: engine.clone(),
            cache: Arc::new(PublicCache::default()),
            now: Arc::new(move || now_clock.now()),
            changed: Arc::new(move || changed.send_modify(|generation| *generation += 1)),
            logo,
            token_uses: Default::default(),
        };
        upbeat_web::cache::rebuild(&state).await.context("cannot render the status page")?;
        // The scheduler's heartbeat starts now, so /health is honest from the first request.
        telemetry.scheduler_turn(clock.now().timestamp_millis(), Duration::ZERO);

        let scheduler = Scheduler::new(Arc::clone(&engine), Prober::new(), config.scheduler.concurrency);
        let scheduler = tokio::spawn(scheduler.run(stop_rx.clone()));
        let outbox = Arc::new(crate::outbox::Outbox::new(
            Arc::clone(&store),
            Arc::clone(&config),
            Arc::clone(&clock),
            Arc::clone(&telemetry),
        )?);
        // Before anything is served: what is already in the log when the outbox first starts is
        // history, what comes after is news.
        outbox.begin().await.context("cannot start the outbox")?;
        let background = vec![
            tokio::spawn(outbox.run(stop_rx.clone())),
            tokio::spawn(crate::deadlines::run(Arc::clone(&engine), deadlines_rx, stop_rx.clone())),
            tokio::spawn(upbeat_web::cache::run_renderer(state.clone(), changes_rx)),
            tokio::spawn(roll_up(Arc::clone(&store), config.storage.retention, clock, stop_rx)),
        ];

        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        Ok(Application {
            listener,
            addr,
            router: upbeat_web::router(state),
            stop,
            writer_stop,
            scheduler,
            writer,
            background,
            engine,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Serves until `shutdown` completes; then stops probing, writes what is in flight and
    /// returns.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (served_tx, served_rx) = tokio::sync::oneshot::channel::<()>();
        let stop = self.stop.clone();
        let server = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: no new checks; writing what is in flight");
            let _ = stop.send(true);
            let _ = served_rx.await;
        });
        let server = tokio::spawn(async move { server.await });
        // Wait for the stop signal, then for the checks in flight and the writer's last commit.
        let mut stop_rx = self.stop.subscribe();
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        self.scheduler.await.context("the scheduler panicked")?;
        let _ = self.writer_stop.send(true);
        self.writer.await.context("the writer panicked")?;
        for task in self.background {
            task.abort();
        }
        let _ = served_tx.send(());
        server.await.context("the web server panicked")?.context("the web server failed")?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Gives every metric monitor the values still within its window, so a restart judges as before.
async fn load_metric_windows(
    store: &dyn upbeat_store::Store,
    config: &Config,
    stored: &mut [upbeat_store::StoredMonitor],
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    for m in &config.monitors {
        let upbeat_core::MonitorKind::Metric(spec) = &m.kind else { continue };
        let Some(entry) = stored.iter_mut().find(|s| s.id == m.id) else { continue };
        let since = now - chrono::Duration::from_std(spec.window).unwrap_or(chrono::Duration::MAX);
        entry.points = store.metric_points(&m.id, since).await.context("cannot load a metric's values")?;
    }
    Ok(())
}

/// Gives every heartbeat without a configured uuid one, generated once and kept in the store.
async fn give_heartbeats_uuids(
    store: &dyn upbeat_store::Store,
    config: &Config,
    stored: &mut [upbeat_store::StoredMonitor],
) -> anyhow::Result<()> {
    for m in &config.monitors {
        if !matches!(m.kind, upbeat_core::MonitorKind::Heartbeat(_)) {
            continue;
        }
        let Some(entry) = stored.iter_mut().find(|s| s.id == m.id) else { continue };
        if entry.ping_uuid.is_some() {
            continue;
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a ping uuid: {e}"))?;
        let uuid = upbeat_core::heartbeat::uuid_from(bytes);
        store.set_ping_uuid(&m.id, &uuid).await.context("cannot store a heartbeat's ping uuid")?;
        entry.ping_uuid = Some(uuid);
    }
    Ok(())
}

async fn roll_up(store: Arc<dyn Store>, retention: Duration, clock: Arc<dyn Clock>, mut stop: watch::Receiver<bool>) {
    loop {
        let before = clock.now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(30));
        match store.roll_up(before).await {
            Ok(done) if done.hours > 0 || done.pings_deleted > 0 => tracing::info!(
                hours = done.hours,
                samples = done.samples_deleted,
                pings = done.pings_deleted,
                "rolled up old samples and trimmed the ping log"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not roll up old samples"),
        }
        tokio::select! {
            () = tokio::time::sleep(ROLL_UP_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
