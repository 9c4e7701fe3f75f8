//! The scheduler: one task, one timer heap, any number of monitors.
//!
//! Each monitor runs at its interval on a stable per-monitor phase (a hash of its id), so a
//! thousand monitors with a 60 s interval spread over the minute instead of all firing at :00,
//! and a restart keeps every monitor on the same phase. Checks run as tokio tasks under one
//! global semaphore; there is no thread or long-lived task per monitor.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use upbeat_checks::Prober;
use upbeat_core::MonitorKind;
use upbeat_core::metric::MetricSpec;

use crate::engine::Engine;

/// The scheduler wakes at least this often, so `/health` can tell it is alive.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// The monitor's phase within its interval, in milliseconds: stable across restarts.
pub fn phase(id: &str, interval: Duration) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % (interval.as_millis().max(1) as u64)
}

/// The first due time after `now_ms` (Unix milliseconds) on the monitor's phase.
pub fn next_due_ms(now_ms: i64, interval: Duration, phase: u64) -> i64 {
    let interval = interval.as_millis().max(1) as i64;
    let since_phase = (now_ms - phase as i64).rem_euclid(interval);
    now_ms - since_phase + interval
}

pub struct Scheduler {
    engine: Arc<Engine>,
    prober: Prober,
    permits: Arc<Semaphore>,
}

impl Scheduler {
    pub fn new(engine: Arc<Engine>, prober: Prober, concurrency: usize) -> Self {
        Scheduler { engine, prober, permits: Arc::new(Semaphore::new(concurrency)) }
    }

    /// Runs until `stop` turns true, then waits for the checks in flight to be recorded.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let clock = Arc::clone(self.engine.clock());
        let telemetry = Arc::clone(self.engine.telemetry());
        let mut heap = BinaryHeap::new();
        let (now_wall, now) = (clock.now().timestamp_millis(), Instant::now());
        for (i, slot) in self.engine.slots().iter().enumerate() {
            if slot.monitor.kind.is_passive() {
                // Nothing to probe: pings feed it and the deadline watcher times it.
                continue;
            }
            let interval = slot.monitor.interval;
            let due = next_due_ms(now_wall, interval, phase(slot.monitor.id.as_str(), interval));
            heap.push(Reverse((now + Duration::from_millis((due - now_wall) as u64), i)));
        }
        let mut tasks = JoinSet::new();
        loop {
            if *stop.borrow() {
                break;
            }
            while tasks.try_join_next().is_some() {}
            let now = Instant::now();
            let Some(&Reverse((due, index))) = heap.peek() else {
                telemetry.scheduler_turn(clock.now().timestamp_millis(), Duration::ZERO);
                tokio::select! {
                    () = tokio::time::sleep(HEARTBEAT) => continue,
                    _ = stop.changed() => break,
                }
            };
            telemetry.scheduler_turn(clock.now().timestamp_millis(), now.saturating_duration_since(due));
            if due > now {
                tokio::select! {
                    () = tokio::time::sleep_until(due.min(now + HEARTBEAT)) => continue,
                    _ = stop.changed() => break,
                }
            }
            heap.pop();
            let slot = &self.engine.slots()[index];
            let interval = slot.monitor.interval;
            // Keep the phase: if turns were missed, skip them rather than run them back to back.
            let missed = now.duration_since(due).as_millis() / interval.as_millis().max(1);
            heap.push(Reverse((due + interval * (missed as u32 + 1), index)));
            if slot.is_paused() {
                continue;
            }
            if !slot.try_start() {
                telemetry.skipped();
                continue;
            }
            let permit = tokio::select! {
                permit = Arc::clone(&self.permits).acquire_owned() => permit,
                _ = stop.changed() => { slot.finish(); break }
            };
            let Ok(permit) = permit else { break };
            telemetry.lateness.observe(Instant::now().saturating_duration_since(due).as_secs_f64());
            let engine = Arc::clone(&self.engine);
            let prober = self.prober.clone();
            let at = clock.now();
            tasks.spawn(async move {
                let slot = &engine.slots()[index];
                match &slot.monitor.kind {
                    MonitorKind::Metric(MetricSpec { pull: Some(pull), .. }) => {
                        match prober.fetch_value(pull, slot.monitor.timeout).await {
                            Ok(value) => {
                                let _ = engine.record_points(index, vec![(at, value)]).await;
                            }
                            Err(error) => engine.fetch_failed(index, at, error),
                        }
                    }
                    kind => {
                        let outcome = prober.probe(kind, slot.monitor.timeout).await;
                        engine.record(index, at, outcome).await;
                    }
                }
                slot.finish();
                drop(permit);
            });
        }
        // Checks in flight end within their timeout; their samples are part of what we keep.
        while tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_stable_and_spread() {
        let minute = Duration::from_secs(60);
        assert_eq!(phase("api", minute), phase("api", minute));
        let phases: std::collections::HashSet<u64> =
            (0..1000).map(|i| phase(&format!("m{i}"), minute) / 1000).collect();
        assert!(phases.len() > 50, "1000 monitors should land on many different seconds, got {}", phases.len());
    }

    #[test]
    fn next_due_is_on_phase_and_in_the_future() {
        let interval = Duration::from_secs(10);
        assert_eq!(next_due_ms(100_000, interval, 3_000), 103_000);
        assert_eq!(next_due_ms(103_000, interval, 3_000), 113_000);
        assert_eq!(next_due_ms(103_001, interval, 3_000), 113_000);
        assert_eq!(next_due_ms(99_999, interval, 0), 100_000);
    }
}
