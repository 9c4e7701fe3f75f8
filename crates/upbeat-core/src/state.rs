//! The per-monitor state machine: samples in, transitions out.
//!
//! It is pure: the caller passes the time and the sample, and stores the returned state and
//! transition together. Because the state is plain data that is persisted with every change, a
//! restart resumes exactly where it stopped: a run of failures keeps counting, an open outage stays
//! open under the same id, and nothing is opened or closed by the restart itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{MonitorId, OutageId, Policy, Sample};

/// What the public sees of a monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No verdict yet: no check has finished, or failures are not yet confirmed.
    Unknown,
    Up,
    Down,
    Paused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Up => "up",
            Status::Down => "down",
            Status::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [Status::Unknown, Status::Up, Status::Down, Status::Paused].into_iter().find(|s| s.as_str() == text)
    }
}

/// A run of consecutive samples with the same result, remembered from its first sample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub count: u32,
    pub since: DateTime<Utc>,
    /// For a failing run: the first failing sample's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// The outage that is open right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOutage {
    pub id: OutageId,
    pub started_at: DateTime<Utc>,
    pub cause: String,
}

/// Everything the machine needs to carry on after a restart.
///
/// It changes only when something meaningful happens: a healthy monitor's state is the same after
/// every good sample, so the store is not written for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorState {
    /// `Up`, `Down` or `Unknown`; pausing is kept apart so resuming restores the verdict.
    pub verdict: Status,
    pub paused: bool,
    /// Consecutive failures not yet confirmed as an outage (while not down).
    pub failing: Option<Run>,
    /// Consecutive successes not yet enough to recover (while down).
    pub recovering: Option<Run>,
    pub outage: Option<OpenOutage>,
    /// Heartbeat and push monitors: the last success, runs in progress, the deadline reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<crate::heartbeat::Watch>,
    /// Metric monitors: how long the condition has held or been clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<crate::metric::MetricWatch>,
}

impl Default for MonitorState {
    fn default() -> Self {
        MonitorState {
            verdict: Status::Unknown,
            paused: false,
            failing: None,
            recovering: None,
            outage: None,
            watch: None,
            metric: None,
        }
    }
}

/// A change worth storing as an event and publishing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// An outage was confirmed; it started at the first failing sample of the run.
    Opened { outage: OpenOutage },
    /// The outage ended at the first good sample of the recovering run.
    Closed { outage: OpenOutage, ended_at: DateTime<Utc> },
}

impl MonitorState {
    /// The status to show: paused wins over the verdict.
    pub fn status(&self) -> Status {
        if self.paused { Status::Paused } else { self.verdict }
    }

    /// Feeds one sample through the machine.
    pub fn observe(&mut self, monitor: &MonitorId, policy: Policy, sample: &Sample) -> Option<Transition> {
        if self.paused {
            // A check that was already running when the monitor was paused decides nothing.
            return None;
        }
        let at = sample.at;
        match &sample.outcome.error {
            None => {
                self.failing = None;
                let Some(outage) = self.outage.clone() else {
                    self.verdict = Status::Up;
                    self.recovering = None;
                    return None;
                };
                let run = extend(self.recovering.take(), at, None);
                if run.count >= policy.recover.max(1) {
                    self.verdict = Status::Up;
                    self.outage = None;
                    Some(Transition::Closed { outage, ended_at: run.since })
                } else {
                    self.recovering = Some(run);
                    None
                }
            }
            Some(error) => {
                self.recovering = None;
                if self.outage.is_some() {
                    self.verdict = Status::Down;
                    return None;
                }
                let run = extend(self.failing.take(), at, Some(error.to_string()));
                if run.count >= policy.confirm.max(1) {
                    let outage = OpenOutage {
                        id: OutageId::derive(monitor, run.since),
                        started_at: run.since,
                        cause: run.cause.unwrap_or_default(),
                    };
                    self.verdict = Status::Down;
                    self.outage = Some(outage.clone());
                    Some(Transition::Opened { outage })
                } else {
                    self.failing = Some(run);
                    None
                }
            }
        }
    }

    /// Stops deciding. An open outage stays open: pausing hides nothing that happened.
    pub fn pause(&mut self) {
        self.paused = true;
        self.failing = None;
        self.recovering = None;
    }

    /// Decides again from the next sample, keeping the verdict it had.
    pub fn resume(&mut self) {
        self.paused = false;
    }
}

fn extend(run: Option<Run>, at: DateTime<Utc>, cause: Option<String>) -> Run {
    match run {
        Some(run) => Run { count: run.count.saturating_add(1), ..run },
        None => Run { count: 1, since: at, cause },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{ErrorKind, Phases, ProbeError, ProbeOutcome};
    use chrono::TimeZone;
    use std::time::Duration;

    fn id() -> MonitorId {
        MonitorId::parse("api").unwrap()
    }

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn sample(at: i64, up: bool) -> Sample {
        Sample {
            monitor: id(),
            at: t(at),
            outcome: ProbeOutcome {
                latency: Duration::from_millis(5),
                phases: Phases::default(),
                http_status: Some(if up { 200 } else { 500 }),
                error: (!up).then(|| ProbeError::new(ErrorKind::Status, format!("HTTP 500 at {at}"))),
            },
        }
    }

    /// Feeds `results` (one sample a second from t=0) and returns the transitions with their index.
    fn check(policy: Policy, state: &mut MonitorState, results: &[bool]) -> Vec<(usize, Transition)> {
        results
            .iter()
            .enumerate()
            .filter_map(|(i, &up)| state.observe(&id(), policy, &sample(i as i64, up)).map(|tr| (i, tr)))
            .collect()
    }

    const P21: Policy = Policy { confirm: 2, recover: 1 };

    #[test]
    fn unknown_becomes_up_on_first_success_without_transition() {
        let mut s = MonitorState::default();
        assert_eq!(s.status(), Status::Unknown);
        assert!(check(P21, &mut s, &[true]).is_empty());
        assert_eq!(s.status(), Status::Up);
    }

    #[test]
    fn unknown_stays_unknown_until_failures_are_confirmed() {
        let mut s = MonitorState::default();
        assert!(check(P21, &mut s, &[false]).is_empty());
        assert_eq!(s.status(), Status::Unknown);
        assert_eq!(s.failing.as_ref().map(|r| r.count), Some(1));
    }

    #[test]
    fn one_failure_below_confirm_opens_nothing_and_a_success_resets_the_run() {
        let mut s = MonitorState::default();
        assert!(check(P21, &mut s, &[true, false, true, false, true]).is_empty());
        assert_eq!(s.status(), Status::Up);
        assert_eq!(s.failing, None);
    }

    #[test]
    fn confirmed_failure_opens_at_the_first_failing_sample() {
        let mut s = MonitorState::default();
        let out = check(P21, &mut s, &[true, true, false, false, false]);
        assert_eq!(out.len(), 1);
        let (at, Transition::Opened { outage }) = &out[0] else { panic!("expected an opening: {out:?}") };
        assert_eq!(*at, 3, "opens on the confirming sample");
        assert_eq!(outage.started_at, t(2), "starts at the first failing sample");
        assert_eq!(outage.id, OutageId::derive(&id(), t(2)));
        assert_eq!(outage.cause, "status: HTTP 500 at 2");
        assert_eq!(s.status(), Status::Down);
    }

    #[test]
    fn confirm_one_opens_on_the_first_failure() {
        let mut s = MonitorState::default();
        let out = check(Policy { confirm: 1, recover: 1 }, &mut s, &[true, false]);
        assert!(matches!(&out[..], [(1, Transition::Opened { outage })] if outage.started_at == t(1)));
    }

    #[test]
    fn confirm_zero_is_treated_as_one() {
        let mut s = MonitorState::default();
        let out = check(Policy { confirm: 0, recover: 0 }, &mut s, &[false, true]);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn recovery_closes_at_the_first_good_sample_of_the_recovering_run() {
        let mut s = MonitorState::default();
        let policy = Policy { confirm: 2, recover: 3 };
        let out = check(policy, &mut s, &[false, false, true, true, false, true, true, true, true]);
        assert_eq!(out.len(), 2, "{out:?}");
        let (at, Transition::Closed { outage, ended_at }) = &out[1] else { panic!("{out:?}") };
        assert_eq!(*at, 7, "closes on the third success of an unbroken run");
        assert_eq!(*ended_at, t(5), "ends at the first good sample of that run");
        assert_eq!(outage.started_at, t(0));
        assert_eq!(s.status(), Status::Up);
        assert_eq!(s.outage, None);
    }

    #[test]
    fn status_stays_down_while_recovery_is_not_yet_confirmed() {
        let mut s = MonitorState::default();
        check(Policy { confirm: 1, recover: 2 }, &mut s, &[false, true]);
        assert_eq!(s.status(), Status::Down);
        assert_eq!(s.recovering.as_ref().map(|r| r.count), Some(1));
    }

    #[test]
    fn failures_during_an_outage_open_nothing_more() {
        let mut s = MonitorState::default();
        let out = check(P21, &mut s, &[false, false, false, false, false]);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_second_outage_gets_a_new_id() {
        let mut s = MonitorState::default();
        let out = check(P21, &mut s, &[false, false, true, false, false, true]);
        let ids: Vec<_> = out
            .iter()
            .map(|(_, tr)| match tr {
                Transition::Opened { outage } | Transition::Closed { outage, .. } => outage.id.clone(),
            })
            .collect();
        assert_eq!(ids.len(), 4);
        assert_eq!(ids[0], ids[1]);
        assert_eq!(ids[2], ids[3]);
        assert_ne!(ids[0], ids[2]);
    }

    #[test]
    fn paused_ignores_samples_and_keeps_the_open_outage() {
        let mut s = MonitorState::default();
        check(P21, &mut s, &[false, false]);
        s.pause();
        assert_eq!(s.status(), Status::Paused);
        assert!(check(P21, &mut s, &[true, true]).is_empty());
        assert!(s.outage.is_some());
        s.resume();
        assert_eq!(s.status(), Status::Down);
        let out = check(P21, &mut s, &[true]);
        assert!(matches!(&out[..], [(_, Transition::Closed { .. })]));
    }

    #[test]
    fn pausing_forgets_an_unconfirmed_run() {
        let mut s = MonitorState::default();
        check(P21, &mut s, &[true, false]);
        s.pause();
        s.resume();
        assert!(check(P21, &mut s, &[false]).is_empty(), "one failure after resume is not two");
    }

    #[test]
    fn state_survives_a_round_trip_through_json_mid_run() {
        let policy = Policy { confirm: 2, recover: 2 };
        let mut before = MonitorState::default();
        check(policy, &mut before, &[false, false, true]);
        let restored: MonitorState = serde_json::from_str(&serde_json::to_string(&before).unwrap()).unwrap();
        assert_eq!(restored, before);
        let mut a = before.clone();
        let mut b = restored;
        let next = sample(3, true);
        assert_eq!(a.observe(&id(), policy, &next), b.observe(&id(), policy, &next));
        assert!(b.observe(&id(), policy, &sample(4, true)).is_none());
        assert_eq!(b.outage, None);
    }

    #[test]
    fn a_healthy_monitor_does_not_change_state() {
        let mut s = MonitorState::default();
        check(P21, &mut s, &[true]);
        let before = s.clone();
        check(P21, &mut s, &[true, true, true]);
        assert_eq!(s, before);
    }
}
