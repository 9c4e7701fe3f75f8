//! upbeat's own metrics: a fixed vocabulary, each with one place that records it, rendered in the
//! Prometheus text format for `/metrics`.
//!
//! Plain atomics instead of a metrics framework: the set is small and known, recording costs one
//! relaxed add on the probe path, and nothing here allocates per check.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use upbeat_core::ErrorKind;

/// A histogram with fixed buckets, in the unit of its bounds.
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    sum_micro: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micro: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| value <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.sum_micro.fetch_add((value.max(0.0) * 1e6) as u64, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_micro.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

const SECONDS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
const SIZES: &[f64] = &[1.0, 10.0, 100.0, 1_000.0, 10_000.0];

pub struct Telemetry {
    checks_up: AtomicU64,
    checks_down: [AtomicU64; ErrorKind::ALL.len()],
    checks_skipped: AtomicU64,
    pub check_duration: Histogram,
    pub lateness: Histogram,
    pub batch_size: Histogram,
    write_errors: AtomicU64,
    /// Unix milliseconds of the scheduler's last loop turn.
    scheduler_heartbeat_ms: AtomicI64,
    /// How far the most overdue check was behind its time at the last loop turn.
    scheduler_backlog_ms: AtomicI64,
    /// The outbox, as last counted: pending and dead deliveries, and the oldest pending one's age.
    outbox_pending: AtomicU64,
    outbox_dead: AtomicU64,
    outbox_oldest_ms: AtomicI64,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            checks_up: AtomicU64::new(0),
            checks_down: std::array::from_fn(|_| AtomicU64::new(0)),
            checks_skipped: AtomicU64::new(0),
            check_duration: Histogram::new(SECONDS),
            lateness: Histogram::new(SECONDS),
            batch_size: Histogram::new(SIZES),
            write_errors: AtomicU64::new(0),
            scheduler_heartbeat_ms: AtomicI64::new(0),
            scheduler_backlog_ms: AtomicI64::new(0),
            outbox_pending: AtomicU64::new(0),
            outbox_dead: AtomicU64::new(0),
            outbox_oldest_ms: AtomicI64::new(0),
        }
    }
}

impl Telemetry {
    pub fn check(&self, error: Option<ErrorKind>, latency: Duration) {
        match error {
            None => self.checks_up.fetch_add(1, Relaxed),
            Some(kind) => self.checks_down[kind as usize].fetch_add(1, Relaxed),
        };
        self.check_duration.observe(latency.as_secs_f64());
    }

    /// A check was due while the previous one of the same monitor was still running.
    pub fn skipped(&self) {
        self.checks_skipped.fetch_add(1, Relaxed);
    }

    pub fn write_error(&self) {
        self.write_errors.fetch_add(1, Relaxed);
    }

    pub fn scheduler_turn(&self, now_ms: i64, backlog: Duration) {
        self.scheduler_heartbeat_ms.store(now_ms, Relaxed);
        self.scheduler_backlog_ms.store(backlog.as_millis() as i64, Relaxed);
    }

    pub fn scheduler_heartbeat_ms(&self) -> i64 {
        self.scheduler_heartbeat_ms.load(Relaxed)
    }

    pub fn scheduler_backlog(&self) -> Duration {
        Duration::from_millis(self.scheduler_backlog_ms.load(Relaxed).max(0) as u64)
    }

    /// The outbox's counts: pending and dead deliveries, and how long the oldest pending one waits.
    pub fn outbox(&self, pending: u64, dead: u64, oldest: Duration) {
        self.outbox_pending.store(pending, Relaxed);
        self.outbox_dead.store(dead, Relaxed);
        self.outbox_oldest_ms.store(oldest.as_millis() as i64, Relaxed);
    }

    /// How long the oldest undelivered alert has waited.
    pub fn outbox_oldest(&self) -> Duration {
        Duration::from_millis(self.outbox_oldest_ms.load(Relaxed).max(0) as u64)
    }

    pub fn checks_total(&self) -> u64 {
        self.checks_up.load(Relaxed) + self.checks_down.iter().map(|c| c.load(Relaxed)).sum::<u64>()
    }

    /// Renders everything; `queue_depth` and per-state monitor counts are read by the caller.
    pub fn render(&self, out: &mut String, queue_depth: usize, queue_capacity: usize, states: &[(&str, usize)]) {
        let _ = writeln!(out, "# HELP upbeat_checks_total Checks finished, by result and error kind.");
        let _ = writeln!(out, "# TYPE upbeat_checks_total counter");
        let _ = writeln!(out, "upbeat_checks_total{{result=\"up\",error=\"\"}} {}", self.checks_up.load(Relaxed));
        for kind in ErrorKind::ALL {
            let n = self.checks_down[kind as usize].load(Relaxed);
            let _ = writeln!(out, "upbeat_checks_total{{result=\"down\",error=\"{}\"}} {n}", kind.as_str());
        }
        let _ = writeln!(
            out,
            "# HELP upbeat_checks_skipped_total Checks not started because the previous one was still running."
        );
        let _ = writeln!(out, "# TYPE upbeat_checks_skipped_total counter");
        let _ = writeln!(out, "upbeat_checks_skipped_total {}", self.checks_skipped.load(Relaxed));
        self.check_duration.render(out, "upbeat_check_duration_seconds", "How long checks took, end to end.");
        self.lateness.render(out, "upbeat_scheduler_lateness_seconds", "How late checks started after their due time.");
        self.batch_size.render(out, "upbeat_write_batch_size", "Records committed per storage transaction.");
        let _ = writeln!(out, "# HELP upbeat_write_errors_total Storage transactions that failed and were retried.");
        let _ = writeln!(out, "# TYPE upbeat_write_errors_total counter");
        let _ = writeln!(out, "upbeat_write_errors_total {}", self.write_errors.load(Relaxed));
        let _ = writeln!(out, "# HELP upbeat_sample_queue_depth Records waiting for the writer.");
        let _ = writeln!(out, "# TYPE upbeat_sample_queue_depth gauge");
        let _ = writeln!(out, "upbeat_sample_queue_depth {queue_depth}");
        let _ = writeln!(out, "# HELP upbeat_sample_queue_capacity Records the writer queue holds before probes wait.");
        let _ = writeln!(out, "# TYPE upbeat_sample_queue_capacity gauge");
        let _ = writeln!(out, "upbeat_sample_queue_capacity {queue_capacity}");
        let _ = writeln!(out, "# HELP upbeat_scheduler_backlog_seconds How far behind the most overdue check is.");
        let _ = writeln!(out, "# TYPE upbeat_scheduler_backlog_seconds gauge");
        let _ = writeln!(out, "upbeat_scheduler_backlog_seconds {}", self.scheduler_backlog().as_secs_f64());
        let _ = writeln!(out, "# HELP upbeat_outbox_pending Alerts waiting to be delivered (first tries and retries).");
        let _ = writeln!(out, "# TYPE upbeat_outbox_pending gauge");
        let _ = writeln!(out, "upbeat_outbox_pending {}", self.outbox_pending.load(Relaxed));
        let _ = writeln!(out, "# HELP upbeat_outbox_dead Alerts given up on (dead letters).");
        let _ = writeln!(out, "# TYPE upbeat_outbox_dead gauge");
        let _ = writeln!(out, "upbeat_outbox_dead {}", self.outbox_dead.load(Relaxed));
        let _ = writeln!(
            out,
            "# HELP upbeat_outbox_oldest_pending_seconds How long the oldest undelivered alert has waited."
        );
        let _ = writeln!(out, "# TYPE upbeat_outbox_oldest_pending_seconds gauge");
        let _ = writeln!(out, "upbeat_outbox_oldest_pending_seconds {}", self.outbox_oldest().as_secs_f64());
        let _ = writeln!(out, "# HELP upbeat_monitors Monitors by current state.");
        let _ = writeln!(out, "# TYPE upbeat_monitors gauge");
        for (state, n) in states {
            let _ = writeln!(out, "upbeat_monitors{{state=\"{state}\"}} {n}");
        }
    }
}
