//! The engine: live state of every monitor, and the one place samples become transitions.
//!
//! A finished probe calls [`Engine::record`]: under the monitor's own lock the state machine
//! decides, the live view is updated, and a [`Record`] goes to the writer. The lock is held for a
//! few field updates and never across an await, so probes of different monitors never wait on
//! each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use upbeat_core::monitor::Monitor;
use upbeat_core::sample::ProbeOutcome;
use upbeat_core::{MonitorId, MonitorState, Sample, Status, Transition};
use upbeat_store::{LastSample, StoredMonitor};
use upbeat_web::{Health, MonitorView, Runtime};

use crate::clock::Clock;
use crate::telemetry::Telemetry;

/// What the writer commits for one event: a sample, a state change, a transition, or several.
#[derive(Debug)]
pub struct Record {
    pub sample: Option<Sample>,
    pub state: Option<(MonitorId, MonitorState)>,
    pub transition: Option<(MonitorId, Transition)>,
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
    live: Mutex<Live>,
    /// A check of this monitor is in flight; the scheduler skips a turn rather than overlap.
    running: AtomicBool,
}

struct Live {
    state: MonitorState,
    last: Option<LastSample>,
}

impl Slot {
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
    slots: Vec<Slot>,
    /// Slot index by monitor id, so the API finds one monitor without scanning all of them.
    index: HashMap<String, usize>,
    writer: mpsc::Sender<Record>,
    telemetry: Arc<Telemetry>,
    clock: Arc<dyn Clock>,
}

/// How long the scheduler may go without a turn, or fall behind, before `/health` says so.
const MAX_SCHEDULER_SILENCE_MS: i64 = 5_000;
const MAX_BACKLOG: std::time::Duration = std::time::Duration::from_secs(10);

impl Engine {
    /// Builds the live state from the configuration and what the store remembered.
    ///
    /// `paused = true` in the configuration pauses a monitor at every start; otherwise the pause
    /// set through the API is kept. Returns the records that reconcile the store with that.
    pub fn new(
        monitors: &[Monitor],
        stored: Vec<StoredMonitor>,
        writer: mpsc::Sender<Record>,
        telemetry: Arc<Telemetry>,
        clock: Arc<dyn Clock>,
    ) -> (Engine, Vec<Record>) {
        let mut reconcile = Vec::new();
        let slots = monitors
            .iter()
            .map(|m| {
                let found = stored.iter().find(|s| s.id == m.id);
                let mut state = found.map(|s| s.state.clone()).unwrap_or_default();
                if m.paused && !state.paused {
                    state.pause();
                    reconcile.push(Record {
                        sample: None,
                        state: Some((m.id.clone(), state.clone())),
                        transition: None,
                        committed: None,
                    });
                }
                Slot {
                    monitor: m.clone(),
                    live: Mutex::new(Live { state, last: found.and_then(|s| s.last_sample.clone()) }),
                    running: AtomicBool::new(false),
                }
            })
            .collect::<Vec<Slot>>();
        let index = slots.iter().enumerate().map(|(i, s)| (s.monitor.id.to_string(), i)).collect();
        (Engine { slots, index, writer, telemetry, clock }, reconcile)
    }

    fn slot(&self, id: &str) -> Option<&Slot> {
        self.index.get(id).map(|&i| &self.slots[i])
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
        let monitor = &slot.monitor;
        self.telemetry.check(outcome.error.as_ref().map(|e| e.kind), outcome.latency);
        let sample = Sample { monitor: monitor.id.clone(), at, outcome };
        let (state, transition) = {
            let mut live = slot.live();
            let before = live.state.clone();
            let transition = live.state.observe(&monitor.id, monitor.policy, &sample);
            live.last = Some(LastSample {
                at,
                up: sample.is_up(),
                latency: sample.outcome.latency,
                http_status: sample.outcome.http_status,
                error: sample.outcome.error.as_ref().map(ToString::to_string),
            });
            ((live.state != before).then(|| live.state.clone()), transition)
        };
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
        let record = Record {
            sample: Some(sample),
            state: state.map(|s| (monitor.id.clone(), s)),
            transition: transition.map(|t| (monitor.id.clone(), t)),
            committed: None,
        };
        if self.writer.send(record).await.is_err() {
            tracing::error!(monitor_id = %monitor.id, "the writer has stopped; a sample was not stored");
        }
    }

    fn view(&self, slot: &Slot) -> MonitorView {
        let m = &slot.monitor;
        let live = slot.live();
        MonitorView {
            id: m.id.clone(),
            name: m.name.clone(),
            kind: m.kind.name(),
            target: m.kind.target(),
            component: m.component.clone(),
            public: m.public,
            interval_seconds: m.interval.as_secs_f64(),
            state: live.state.status(),
            last_check: live.last.clone(),
            open_outage: live.state.outage.clone(),
        }
    }

    fn queue_depth(&self) -> usize {
        self.writer.max_capacity() - self.writer.capacity()
    }
}

#[async_trait]
impl Runtime for Engine {
    fn monitors(&self) -> Vec<MonitorView> {
        self.slots.iter().map(|s| self.view(s)).collect()
    }

    fn monitor(&self, id: &str) -> Option<MonitorView> {
        self.slot(id).map(|s| self.view(s))
    }

    async fn set_paused(&self, id: &str, paused: bool) -> Option<MonitorView> {
        let slot = self.slot(id)?;
        let state = {
            let mut live = slot.live();
            if paused {
                live.state.pause()
            } else {
                live.state.resume()
            }
            live.state.clone()
        };
        let (done, committed) = oneshot::channel();
        let record = Record {
            sample: None,
            state: Some((slot.monitor.id.clone(), state)),
            transition: None,
            committed: Some(done),
        };
        // Answer only once the change is durable.
        if self.writer.send(record).await.is_err() || committed.await.is_err() {
            return None;
        }
        Some(self.view(slot))
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
        let depth = self.queue_depth();
        if depth * 10 >= self.writer.max_capacity() * 9 {
            return Health::Unhealthy(format!("the write queue is full ({depth} records waiting)"));
        }
        Health::Ok
    }

    fn metrics(&self, out: &mut String) {
        let mut counts = [("up", 0), ("down", 0), ("unknown", 0), ("paused", 0)];
        for slot in &self.slots {
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
        let (engine, _) = Engine::new(&[], Vec::new(), tx, Arc::new(Telemetry::default()), clock.clone());
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
    fn unhealthy_when_checks_run_late() {
        let (engine, _rx, _) = engine(10);
        engine.telemetry.scheduler_turn(1_000_000, std::time::Duration::from_secs(12));
        assert_eq!(engine.health(), Health::Unhealthy("the scheduler is 12 s behind".into()));
    }

    #[test]
    fn unhealthy_when_the_write_queue_is_nearly_full() {
        let (engine, _rx, _) = engine(10);
        engine.telemetry.scheduler_turn(1_000_000, std::time::Duration::ZERO);
        let record = || Record { sample: None, state: None, transition: None, committed: None };
        for _ in 0..8 {
            engine.writer.try_send(record()).unwrap();
        }
        assert_eq!(engine.health(), Health::Ok);
        engine.writer.try_send(record()).unwrap();
        assert_eq!(engine.health(), Health::Unhealthy("the write queue is full (9 records waiting)".into()));
    }
}
