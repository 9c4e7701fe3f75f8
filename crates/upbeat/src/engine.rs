//! The engine: live state of every monitor, and the one place samples become transitions.
//!
//! A finished probe calls [`Engine::record`]: under the monitor's own lock the state machine
//! decides, the live view is updated, and a [`Record`] goes to the writer. The lock is held for a
//! few field updates and never across an await, so probes of different monitors never wait on
//! each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use upbeat_core::heartbeat::{Ping, PingKind};
use upbeat_core::metric::{MetricSpec, MetricWatch};
use upbeat_core::monitor::Monitor;
use upbeat_core::sample::ProbeOutcome;
use upbeat_core::{MonitorId, MonitorKind, MonitorState, Sample, Status, Transition};
use upbeat_store::{LastSample, MonitorRecord, StoredMonitor};
use upbeat_web::{Health, MonitorView, PingRefused, PingRequest, PingTarget, PushRequest, Runtime};

use crate::clock::Clock;
use crate::telemetry::Telemetry;

/// What the writer commits for one event: a sample, a state change, a transition, or several.
#[derive(Debug, Default)]
pub struct Record {
    pub sample: Option<Sample>,
    pub state: Option<(MonitorId, MonitorState)>,
    pub transition: Option<(MonitorId, Transition)>,
    /// A heartbeat ping or push, for the ping log.
    pub ping: Option<Ping>,
    /// Values of a metric monitor.
    pub points: Vec<(MonitorId, DateTime<Utc>, f64)>,
    /// A heartbeat a ping just created, to store before its ping.
    pub created: Option<MonitorRecord>,
    /// Answered once the record is committed, for callers that acknowledge a write.
    pub committed: Option<oneshot::Sender<()>>,
}

impl Record {
    /// A record someone is waiting for: an outage opened or closed, or an acknowledged write.
    pub fn is_urgent(&self) -> bool {
        self.transition.is_some() || self.committed.is_some()
    }
}

/// One monitor at run time.
pub struct Slot {
    pub monitor: Monitor,
    /// A heartbeat's ping uuid, configured or generated once and stored.
    pub ping_uuid: Option<String>,
    live: Mutex<Live>,
    /// A check of this monitor is in flight; the scheduler skips a turn rather than overlap.
    running: AtomicBool,
    /// The deadline (Unix ms) the deadline watcher has queued for this monitor; 0 for none.
    queued: AtomicI64,
}

#[derive(Default)]
struct Live {
    state: MonitorState,
    last: Option<LastSample>,
    /// A metric monitor's values within its window, oldest first.
    points: Vec<(DateTime<Utc>, f64)>,
    last_value: Option<f64>,
}

impl Slot {
    fn new(monitor: Monitor, ping_uuid: Option<String>, live: Live) -> Slot {
        Slot { monitor, ping_uuid, live: Mutex::new(live), running: AtomicBool::new(false), queued: AtomicI64::new(0) }
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        // A panic while holding this lock leaves plain data behind; keep serving it.
        self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn is_paused(&self) -> bool {
        self.live().state.paused
    }

    /// Marks a check of this monitor as running; false when one is already in flight.
    pub fn try_start(&self) -> bool {
        !self.running.swap(true, Ordering::AcqRel)
    }

    pub fn finish(&self) {
        self.running.store(false, Ordering::Release);
    }
}

pub struct Engine {
    /// The monitors known at start, configured or created by pings before.
    slots: Vec<Slot>,
    /// How to find a slot, and the heartbeats pings created since the start.
    directory: RwLock<Directory>,
    /// Push monitors by key.
    by_push_key: HashMap<String, usize>,
    ping_key: Option<String>,
    writer: mpsc::Sender<Record>,
    /// Tells the deadline watcher that a slot's deadline may have moved earlier.
    deadlines: mpsc::UnboundedSender<usize>,
    telemetry: Arc<Telemetry>,
    clock: Arc<dyn Clock>,
}

/// Slot indices by monitor id, ping uuid and slug; heartbeats created while running get the
/// indices after the fixed slots.
#[derive(Default)]
struct Directory {
    index: HashMap<String, usize>,
    by_uuid: HashMap<String, usize>,
    by_slug: HashMap<String, usize>,
    created: Vec<Arc<Slot>>,
}

impl Directory {
    fn add(&mut self, i: usize, slot: &Slot) {
        self.index.insert(slot.monitor.id.to_string(), i);
        if let MonitorKind::Heartbeat(spec) = &slot.monitor.kind {
            if let Some(uuid) = &slot.ping_uuid {
                self.by_uuid.insert(uuid.clone(), i);
            }
            self.by_slug.insert(spec.slug.clone(), i);
        }
    }
}

/// A slot, fixed at start or created since.
enum SlotRef<'a> {
    Fixed(&'a Slot),
    Created(Arc<Slot>),
}

impl std::ops::Deref for SlotRef<'_> {
    type Target = Slot;

    fn deref(&self) -> &Slot {
        match self {
            SlotRef::Fixed(slot) => slot,
            SlotRef::Created(slot) => slot,
        }
    }
}

/// What [`Engine::new`] needs besides the monitors.
pub struct EngineParts {
    pub writer: mpsc::Sender<Record>,
    pub deadlines: mpsc::UnboundedSender<usize>,
    pub telemetry: Arc<Telemetry>,
    pub clock: Arc<dyn Clock>,
    /// `[pings] ping_key`: slug URLs work only with one.
    pub ping_key: Option<String>,
}

/// How long the scheduler may go without a turn, or fall behind, before `/health` says so.
const MAX_SCHEDULER_SILENCE_MS: i64 = 5_000;
const MAX_BACKLOG: std::time::Duration = std::time::Duration::from_secs(10);
/// An alert undelivered for longer than this (a receiver down, a retry storm) fails `/health`.
const MAX_OUTBOX_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl Engine {
    /// Builds the live state from the configuration and what the store remembered.
    ///
    /// `paused = true` in the configuration pauses a monitor at every start; otherwise the pause
    /// set through the API is kept. Returns the records that reconcile the store with that.
    pub fn new(monitors: &[Monitor], stored: Vec<StoredMonitor>, parts: EngineParts) -> (Engine, Vec<Record>) {
        let EngineParts { writer, deadlines, telemetry, clock, ping_key } = parts;
        let mut reconcile = Vec::new();
        let slots = monitors
            .iter()
            .map(|m| {
                let found = stored.iter().find(|s| s.id == m.id);
                let mut state = found.map(|s| s.state.clone()).unwrap_or_default();
                if m.paused && !state.paused {
                    state.pause();
                    reconcile.push(Record { state: Some((m.id.clone(), state.clone())), ..Record::default() });
                }
                Slot::new(
                    m.clone(),
                    found.and_then(|s| s.ping_uuid.clone()),
                    Live {
                        state,
                        last: found.and_then(|s| s.last_sample.clone()),
                        points: found.map(|s| s.points.clone()).unwrap_or_default(),
                        last_value: found.and_then(|s| s.points.last().map(|(_, v)| *v)),
                    },
                )
            })
            .collect::<Vec<Slot>>();
        let mut directory = Directory::default();
        let mut by_push_key = HashMap::new();
        for (i, slot) in slots.iter().enumerate() {
            directory.add(i, slot);
            if let MonitorKind::Push(spec) = &slot.monitor.kind {
                by_push_key.insert(spec.key.clone(), i);
            }
        }
        let directory = RwLock::new(directory);
        let engine = Engine { slots, directory, by_push_key, ping_key, writer, deadlines, telemetry, clock };
        (engine, reconcile)
    }

    fn directory(&self) -> std::sync::RwLockReadGuard<'_, Directory> {
        self.directory.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.directory().index.get(id).copied()
    }

    fn slot_at(&self, index: usize) -> Option<SlotRef<'_>> {
        match self.slots.get(index) {
            Some(slot) => Some(SlotRef::Fixed(slot)),
            None => self.directory().created.get(index - self.slots.len()).cloned().map(SlotRef::Created),
        }
    }

    fn slot(&self, id: &str) -> Option<SlotRef<'_>> {
        self.slot_at(self.index_of(id)?)
    }

    /// Every slot: the fixed ones, then those created since the start.
    fn all_slots(&self) -> Vec<SlotRef<'_>> {
        let created = self.directory().created.clone();
        self.slots.iter().map(SlotRef::Fixed).chain(created.into_iter().map(SlotRef::Created)).collect()
    }

    /// Creates a heartbeat for a slug a ping named with `?create=1`; its index and what to store.
    fn create_heartbeat(&self, slug: &str) -> Result<(usize, Option<MonitorRecord>), PingRefused> {
        let id = MonitorId::parse(slug).map_err(|_| PingRefused::NotFound)?;
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| PingRefused::Unavailable)?;
        let uuid = upbeat_core::heartbeat::uuid_from(bytes);
        let monitor = upbeat_core::heartbeat::pinged(id, uuid.clone());
        let mut directory = self.directory.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another ping may have created it meanwhile; an id taken by another kind is a conflict.
        if let Some(&i) = directory.by_slug.get(slug) {
            return Ok((i, None));
        }
        if directory.index.contains_key(slug) {
            return Err(PingRefused::Conflict);
        }
        let record = MonitorRecord::of(&monitor, Some(uuid.clone()));
        let slot = Arc::new(Slot::new(monitor, Some(uuid), Live::default()));
        let i = self.slots.len() + directory.created.len();
        directory.add(i, &slot);
        directory.created.push(slot);
        Ok((i, Some(record)))
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// Feeds a finished check through the state machine and hands the result to the writer.
    pub async fn record(&self, index: usize, at: chrono::DateTime<chrono::Utc>, outcome: ProbeOutcome) {
        let Some(slot) = self.slots.get(index) else { return };
        let record = {
            let mut live = slot.live();
            let before = live.state.clone();
            self.observe(slot, &mut live, before, at, Some(outcome))
        };
        if self.writer.send(record).await.is_err() {
            tracing::error!(monitor_id = %slot.monitor.id, "the writer has stopped; a sample was not stored");
        }
    }

    /// Feeds an outcome (if any) through the state machine under the slot's lock, and returns
    /// what to store: the sample, the state if it changed since `before`, the transition.
    fn observe(
        &self,
        slot: &Slot,
        live: &mut Live,
        before: MonitorState,
        at: DateTime<Utc>,
        outcome: Option<ProbeOutcome>,
    ) -> Record {
        let monitor = &slot.monitor;
        let mut transition = None;
        let sample = outcome.map(|outcome| {
            self.telemetry.check(outcome.error.as_ref().map(|e| e.kind), outcome.latency);
            let sample = Sample { monitor: monitor.id.clone(), at, outcome };
            transition = live.state.observe(&monitor.id, monitor.policy, &sample);
            live.last = Some(LastSample {
                at,
                up: sample.is_up(),
                latency: sample.outcome.latency,
                http_status: sample.outcome.http_status,
                error: sample.outcome.error.as_ref().map(ToString::to_string),
            });
            sample
        });
        let state = (live.state != before).then(|| live.state.clone());
        if let Some(t) = &transition {
            match t {
                Transition::Opened { outage } => {
                    tracing::warn!(monitor_id = %monitor.id, outage = %outage.id, cause = %outage.cause, "outage opened")
                }
                Transition::Closed { outage, .. } => {
                    tracing::info!(monitor_id = %monitor.id, outage = %outage.id, "outage closed")
                }
            }
        }
        Record {
            sample,
            state: state.map(|s| (monitor.id.clone(), s)),
            transition: transition.map(|t| (monitor.id.clone(), t)),
            ..Record::default()
        }
    }

    /// Sends a record and waits until it is committed: the caller acknowledges a write.
    async fn commit(&self, mut record: Record) -> Result<(), PingRefused> {
        let (done, committed) = oneshot::channel();
        record.committed = Some(done);
        if self.writer.send(record).await.is_err() || committed.await.is_err() {
            return Err(PingRefused::Unavailable);
        }
        Ok(())
    }

    /// Tells the deadline watcher about a deadline it may not have: none queued, or an earlier one.
    fn deadline_moved(&self, index: usize, next: Option<DateTime<Utc>>) {
        let Some(next) = next else { return };
        let Some(slot) = self.slot_at(index) else { return };
        let queued = slot.queued.load(Ordering::Acquire);
        if queued == 0 || next.timestamp_millis() < queued {
            let _ = self.deadlines.send(index);
        }
    }

    /// A pulled metric's fetch failed: no value, so no verdict (no data is neither up nor down),
    /// but the error is shown as the monitor's last check.
    pub fn fetch_failed(&self, index: usize, at: DateTime<Utc>, error: upbeat_core::ProbeError) {
        let Some(slot) = self.slots.get(index) else { return };
        self.telemetry.check(Some(error.kind), std::time::Duration::ZERO);
        tracing::warn!(monitor_id = %slot.monitor.id, %error, "could not fetch the metric");
        slot.live().last = Some(LastSample {
            at,
            up: false,
            latency: std::time::Duration::ZERO,
            http_status: None,
            error: Some(error.to_string()),
        });
    }

    /// Indices of the monitors with deadlines of their own, for the deadline watcher.
    pub fn timed(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots.iter().enumerate().filter(|(_, s)| s.monitor.kind.has_deadlines()).map(|(i, _)| i)
    }

    /// Takes values of a metric monitor (pushed, or pulled by the scheduler): keeps those within
    /// the window, evaluates the condition, and answers once it is all committed.
    pub async fn record_points(
        &self,
        index: usize,
        mut points: Vec<(DateTime<Utc>, f64)>,
    ) -> Result<MonitorView, PingRefused> {
        let slot = self.slot_at(index).ok_or(PingRefused::NotFound)?;
        let MonitorKind::Metric(spec) = &slot.monitor.kind else { return Err(PingRefused::WrongKind) };
        let now = self.clock.now();
        let next;
        let record = {
            let mut live = slot.live();
            let before = live.state.clone();
            let stored: Vec<(MonitorId, DateTime<Utc>, f64)> =
                points.iter().map(|(at, v)| (slot.monitor.id.clone(), *at, *v)).collect();
            live.points.append(&mut points);
            live.points.sort_by_key(|(at, _)| *at);
            prune(&mut live.points, spec.window, now);
            live.last_value = live.points.last().map(|(_, v)| *v);
            // Through the guard once, so the state and the points borrow apart.
            let live = &mut *live;
            let watch = live.state.metric.get_or_insert_default();
            let outcome = watch.evaluate(spec, &live.points, now);
            next = metric_deadline(spec, watch, &live.points);
            let mut record = self.observe(&slot, live, before, now, outcome);
            record.points = stored;
            record
        };
        self.deadline_moved(index, next);
        self.commit(record).await?;
        Ok(self.view(&slot))
    }

    /// Records a missed deadline of a heartbeat or push monitor, if one passed, and returns its
    /// next deadline (`None`: nothing to wait for until it is pinged).
    pub async fn tick(&self, index: usize) -> Option<DateTime<Utc>> {
        let slot = self.slot_at(index)?;
        let next = self.tick_slot(&slot).await;
        slot.queued.store(next.map_or(0, |t| t.timestamp_millis()), Ordering::Release);
        next
    }

    async fn tick_slot(&self, slot: &Slot) -> Option<DateTime<Utc>> {
        match &slot.monitor.kind {
            MonitorKind::Heartbeat(spec) => {
                self.tick_with(slot, |live, now| {
                    let watch = live.state.watch.get_or_insert_default();
                    (
                        watch.tick(&spec.schedule, spec.max_duration, now),
                        watch.deadline(&spec.schedule, spec.max_duration, now),
                    )
                })
                .await
            }
            MonitorKind::Push(spec) => {
                let heartbeat = spec.heartbeat.as_ref()?;
                self.tick_with(slot, |live, now| {
                    let watch = live.state.watch.get_or_insert_default();
                    (watch.tick(heartbeat, None, now), watch.deadline(heartbeat, None, now))
                })
                .await
            }
            // Re-evaluated when a timer may have run out (`for`, `recover_for`) or a value may
            // have left the window.
            MonitorKind::Metric(spec) => {
                self.tick_with(slot, |live, now| {
                    prune(&mut live.points, spec.window, now);
                    let watch = live.state.metric.get_or_insert_default();
                    let due = metric_deadline(spec, watch, &live.points).is_some_and(|due| due <= now);
                    let outcome = if due { watch.evaluate(spec, &live.points, now) } else { None };
                    (outcome, metric_deadline(spec, watch, &live.points))
                })
                .await
            }
            _ => None,
        }
    }

    /// Runs `judge` on an unpaused slot at the current time and records what it found, if
    /// anything; returns the next deadline it gave.
    async fn tick_with(
        &self,
        slot: &Slot,
        judge: impl FnOnce(&mut Live, DateTime<Utc>) -> (Option<ProbeOutcome>, Option<DateTime<Utc>>),
    ) -> Option<DateTime<Utc>> {
        let now = self.clock.now();
        let (record, next) = {
            let mut live = slot.live();
            if live.state.paused {
                return None;
            }
            let before = live.state.clone();
            let (outcome, next) = judge(&mut live, now);
            if outcome.is_none() && live.state == before {
                return next;
            }
            (self.observe(slot, &mut live, before, now, outcome), next)
        };
        if self.writer.send(record).await.is_err() {
            tracing::error!(monitor_id = %slot.monitor.id, "the writer has stopped; a missed deadline was not stored");
        }
        next
    }

    fn view(&self, slot: &Slot) -> MonitorView {
        let m = &slot.monitor;
        let live = slot.live();
        let now = self.clock.now();
        let next_deadline = match (&m.kind, live.state.paused) {
            (_, true) => None,
            (MonitorKind::Heartbeat(spec), _) => {
                live.state.watch.as_ref().and_then(|w| w.deadline(&spec.schedule, spec.max_duration, now))
            }
            (MonitorKind::Push(spec), _) => {
                spec.heartbeat.as_ref().and_then(|h| live.state.watch.as_ref()?.deadline(h, None, now))
            }
            (MonitorKind::Metric(spec), _) => {
                live.state.metric.as_ref().and_then(|w| metric_deadline(spec, w, &live.points))
            }
            _ => None,
        };
        MonitorView {
            state: live.state.status(),
            last_check: live.last.clone(),
            open_outage: live.state.outage.clone(),
            ping_uuid: slot.ping_uuid.clone(),
            last_value: live.last_value,
            next_deadline,
            ..MonitorView::of(m)
        }
    }

    fn queue_depth(&self) -> usize {
        self.writer.max_capacity() - self.writer.capacity()
    }
}

#[async_trait]
impl Runtime for Engine {
    fn monitors(&self) -> Vec<MonitorView> {
        self.all_slots().iter().map(|s| self.view(s)).collect()
    }

    fn monitor(&self, id: &str) -> Option<MonitorView> {
        self.slot(id).map(|s| self.view(&s))
    }

    async fn set_paused(&self, id: &str, paused: bool) -> Option<MonitorView> {
        let slot = self.slot(id)?;
        let state = {
            let mut live = slot.live();
            if paused {
                live.state.pause()
            } else {
                live.state.resume();
                if let Some(watch) = live.state.watch.as_mut() {
                    // A resumed heartbeat waits a whole period for its next ping.
                    watch.restart(self.clock.now());
                }
            }
            live.state.clone()
        };
        let (done, committed) = oneshot::channel();
        let record =
            Record { state: Some((slot.monitor.id.clone(), state)), committed: Some(done), ..Record::default() };
        // Answer only once the change is durable.
        if self.writer.send(record).await.is_err() || committed.await.is_err() {
            return None;
        }
        if !paused && slot.monitor.kind.is_passive() {
            let _ = self.deadlines.send(self.index_of(id)?);
        }
        Some(self.view(&slot))
    }

    async fn ping(&self, target: PingTarget<'_>, request: PingRequest, create: bool) -> Result<bool, PingRefused> {
        let (index, created) = match target {
            PingTarget::Uuid(uuid) => {
                (self.directory().by_uuid.get(&uuid.to_ascii_lowercase()).copied().ok_or(PingRefused::NotFound)?, None)
            }
            PingTarget::Slug { ping_key, slug } => {
                let known = self.ping_key.as_deref().is_some_and(|k| same_secret(k.as_bytes(), ping_key.as_bytes()));
                if !known {
                    return Err(PingRefused::NotFound);
                }
                let found = self.directory().by_slug.get(slug).copied();
                match found {
                    Some(index) => (index, None),
                    None if create => self.create_heartbeat(slug)?,
                    None => return Err(PingRefused::NotFound),
                }
            }
        };
        let slot = self.slot_at(index).ok_or(PingRefused::NotFound)?;
        let MonitorKind::Heartbeat(spec) = &slot.monitor.kind else { return Err(PingRefused::NotFound) };
        let at = self.clock.now();
        let kind = request.kind;
        let next;
        let record = {
            let mut live = slot.live();
            let before = live.state.clone();
            let watch = live.state.watch.get_or_insert_default();
            let (outcome, duration) = watch.ping(spec, kind, request.exit_status, request.rid.as_deref(), at);
            next = watch.deadline(&spec.schedule, spec.max_duration, at);
            let mut record = self.observe(&slot, &mut live, before, at, outcome);
            record.created = created.clone();
            record.ping = Some(Ping {
                monitor: slot.monitor.id.clone(),
                at,
                kind,
                exit_status: request.exit_status,
                rid: request.rid,
                method: request.method,
                remote: request.remote,
                user_agent: request.user_agent,
                body: request.body,
                truncated: request.truncated,
                duration,
            });
            record
        };
        self.deadline_moved(index, next);
        self.commit(record).await?;
        Ok(created.is_some())
    }

    async fn metric(&self, id: &str, points: Vec<(DateTime<Utc>, f64)>) -> Result<MonitorView, PingRefused> {
        let index = self.index_of(id).ok_or(PingRefused::NotFound)?;
        self.record_points(index, points).await
    }

    async fn push(&self, key: &str, token: &str, push: PushRequest) -> Result<(), PingRefused> {
        let index = *self.by_push_key.get(key).ok_or(PingRefused::NotFound)?;
        let slot = self.slots.get(index).ok_or(PingRefused::NotFound)?;
        let MonitorKind::Push(spec) = &slot.monitor.kind else { return Err(PingRefused::NotFound) };
        if !same_secret(spec.token.as_bytes(), token.as_bytes()) {
            return Err(PingRefused::Unauthorized);
        }
        let at = self.clock.now();
        let next;
        let record = {
            let mut live = slot.live();
            let before = live.state.clone();
            let watch = live.state.watch.get_or_insert_default();
            let outcome = watch.push(push.success, push.error.as_deref(), push.duration, at);
            next = spec.heartbeat.as_ref().and_then(|heartbeat| watch.deadline(heartbeat, None, at));
            let mut record = self.observe(slot, &mut live, before, at, Some(outcome));
            record.ping = Some(Ping {
                monitor: slot.monitor.id.clone(),
                at,
                kind: if push.success { PingKind::Success } else { PingKind::Fail },
                exit_status: None,
                rid: None,
                method: "POST".into(),
                remote: None,
                user_agent: None,
                body: push.error.unwrap_or_default().into_bytes(),
                truncated: false,
                duration: Some(push.duration),
            });
            record
        };
        self.deadline_moved(index, next);
        self.commit(record).await
    }

    fn health(&self) -> Health {
        let silence = self.clock.now().timestamp_millis() - self.telemetry.scheduler_heartbeat_ms();
        if silence > MAX_SCHEDULER_SILENCE_MS {
            return Health::Unhealthy(format!("the scheduler has not run for {} s", silence / 1000));
        }
        let backlog = self.telemetry.scheduler_backlog();
        if backlog > MAX_BACKLOG {
            return Health::Unhealthy(format!("the scheduler is {} s behind", backlog.as_secs()));
        }
        let waiting = self.telemetry.outbox_oldest();
        if waiting > MAX_OUTBOX_WAIT {
            return Health::Unhealthy(format!("an alert has waited {} s to be delivered", waiting.as_secs()));
        }
        let depth = self.queue_depth();
        if depth * 10 >= self.writer.max_capacity() * 9 {
            return Health::Unhealthy(format!("the write queue is full ({depth} records waiting)"));
        }
        Health::Ok
    }

    fn metrics(&self, out: &mut String) {
        let mut counts = [("up", 0), ("down", 0), ("unknown", 0), ("paused", 0)];
        for slot in self.all_slots() {
            let status = slot.live().state.status();
            let i = match status {
                Status::Up => 0,
                Status::Down => 1,
                Status::Unknown => 2,
                Status::Paused => 3,
            };
            counts[i].1 += 1;
        }
        self.telemetry.render(out, self.queue_depth(), self.writer.max_capacity(), &counts);
    }
}

/// Drops the values that have left the window.
fn prune(points: &mut Vec<(DateTime<Utc>, f64)>, window: std::time::Duration, now: DateTime<Utc>) {
    let after = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let old = points.partition_point(|(at, _)| *at <= after);
    points.drain(..old);
}

/// When a metric's verdict may next change without a new value: a timer running out, or the
/// oldest value leaving the window.
fn metric_deadline(spec: &MetricSpec, watch: &MetricWatch, points: &[(DateTime<Utc>, f64)]) -> Option<DateTime<Utc>> {
    let leaves =
        points.first().map(|(at, _)| *at + chrono::Duration::from_std(spec.window).unwrap_or(chrono::Duration::MAX));
    [watch.deadline(spec), leaves].into_iter().flatten().min()
}

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicI64;

    struct FixedClock(AtomicI64);

    impl Clock for FixedClock {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            chrono::DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap_or_default()
        }
    }

    fn engine(capacity: usize) -> (Engine, mpsc::Receiver<Record>, Arc<FixedClock>) {
        let (tx, rx) = mpsc::channel(capacity);
        let clock = Arc::new(FixedClock(AtomicI64::new(1_000_000)));
        let (deadlines, _) = mpsc::unbounded_channel();
        let parts = EngineParts {
            writer: tx,
            deadlines,
            telemetry: Arc::new(Telemetry::default()),
            clock: clock.clone(),
            ping_key: None,
        };
        let (engine, _) = Engine::new(&[], Vec::new(), parts);
        (engine, rx, clock)
    }

    #[test]
    fn healthy_while_the_scheduler_turns_and_keeps_up() {
        let (engine, _rx, _) = engine(10);
        engine.telemetry.scheduler_turn(1_000_000, std::time::Duration::from_millis(200));
        assert_eq!(engine.health(), Health::Ok);
    }

    #[test]
    fn unhealthy_when_the_scheduler_stops_turning() {
        let (engine, _rx, clock) = engine(10);
        engine.telemetry.scheduler_turn(1_000_000, std::time::Duration::ZERO);
        clock.0.store(1_000_000 + 5_000, Ordering::SeqCst);
        assert_eq!(engine.health(), Health::Ok, "five seconds is still alive");
        clock.0.store(1_000_000 + 7_000, Ordering::SeqCst);
        assert_eq!(engine.health(), Health::Unhealthy("the scheduler has not run for 7 s".into()));
    }

    #[test]
    fn unhealthy_when_an_alert_waits_too_long() {
        let (engine, _rx, _) = engine(10);
        engine.telemetry.scheduler_turn(1_000_000, std::time::Duration::ZERO);
        engine.telemetry.outbox(3, 0, std::time::Duration::from_secs(15 * 60));
        assert_eq!(engine.health(), Health::Ok, "fifteen minutes is still fine");
        engine.telemetry.outbox(3, 0, std::time::Duration::from_secs(15 * 60 + 1));
        assert_eq!(engine.health(), Health::Unhealthy("an alert has waited 901 s to be delivered".into()));
    }

    #[test]
    fn unhealthy_when_checks_run_late() {
        let (engine, _rx, _) = engine(10);
        engine.telemetry.scheduler_turn(1_000_000, std::time::Duration::from_secs(12));
        assert_eq!(engine.health(), Health::Unhealthy("the scheduler is 12 s behind".into()));
    }

    #[test]
    fn unhealthy_when_the_write_queue_is_nearly_full() {
        let (engine, _rx, _) = engine(10);
        engine.telemetry.scheduler_turn(1_000_000, std::time::Duration::ZERO);
        let record = Record::default;
        for _ in 0..8 {
            engine.writer.try_send(record()).unwrap();
        }
        assert_eq!(engine.health(), Health::Ok);
        engine.writer.try_send(record()).unwrap();
        assert_eq!(engine.health(), Health::Unhealthy("the write queue is full (9 records waiting)".into()));
    }
}
