//! Where time comes from. Everything that stamps a sample or decides by the calendar asks a
//! [`Clock`]; the scheduler's sleeps use tokio's monotonic timer.

use chrono::{DateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
