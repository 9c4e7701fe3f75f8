//! Monitors that are told rather than asked: heartbeats (cron jobs pinging in, in Healthchecks.io's
//! protocol) and pushes (Gatus' external endpoints).
//!
//! Nothing probes them. Each ping is turned here into what a probe would have reported (a
//! [`ProbeOutcome`]) or into nothing (a start, a log line), and silence is turned into a failure
//! once a deadline passes. From there on they go through the same state machine, outages, feeds
//! and API as every other monitor.
//!
//! [`Watch`] is the part of a monitor's persisted state that remembers the last success and the
//! runs in progress, so a restart neither forgets a deadline nor reports the same one twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cron::Heartbeat;
use crate::sample::{ErrorKind, Phases, ProbeError, ProbeOutcome};

/// The largest request body kept with a ping; longer ones are cut there (as Healthchecks does).
pub const MAX_PING_BODY: usize = 100_000;

/// How many runs in progress a heartbeat remembers; a job that starts and never finishes, over
/// and over, must not grow the state without end.
const MAX_RUNS: usize = 10;

/// A heartbeat monitor: a schedule, a grace time, and how runs may last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatSpec {
    /// The ping URL's uuid when the configuration sets it; otherwise one is generated once and
    /// kept by the store.
    pub uuid: Option<String>,
    /// For `/ping/<ping_key>/<slug>`; the monitor's id unless set.
    pub slug: String,
    pub schedule: Heartbeat,
    /// The schedule as written, for people: `every 1d (grace 1h)`, `0 3 * * * Europe/Berlin (grace 1h)`.
    pub schedule_text: String,
    /// A run (start → success) that lasts longer fails.
    pub max_duration: Option<Duration>,
    /// A run that finishes sooner fails ("finished too fast").
    pub min_duration: Option<Duration>,
}

/// A push monitor fed through Gatus' `POST /api/v1/endpoints/{key}/external`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushSpec {
    /// The `{key}` in the URL; the monitor's id unless set.
    pub key: String,
    /// The bearer token the pusher must send.
    pub token: String,
    /// When set, no push for this long is a failure, as a missed heartbeat.
    pub heartbeat: Option<Heartbeat>,
}

names! {
    /// What a ping says, from its URL: `/ping/<uuid>` is a success, `/start`, `/fail`, `/log`,
    /// or `/<exit status>`.
    PingKind { Success = "success", Start = "start", Fail = "fail", Log = "log", Exit = "exit" }
}

/// One ping as received, for the ping log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ping {
    pub monitor: crate::MonitorId,
    pub at: DateTime<Utc>,
    pub kind: PingKind,
    pub exit_status: Option<u8>,
    /// The run id (`?rid=`), tying a start to its end.
    pub rid: Option<String>,
    pub method: String,
    pub remote: Option<String>,
    pub user_agent: Option<String>,
    /// At most [`MAX_PING_BODY`] bytes.
    #[serde(skip)]
    pub body: Vec<u8>,
    /// The body was longer and was cut.
    pub truncated: bool,
    /// For an end of a run: how long since its start.
    pub duration: Option<Duration>,
}

/// A run in progress: started, not yet ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    pub started_at: DateTime<Utc>,
}

/// What a heartbeat or push monitor remembers between pings, persisted with its state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    /// When watching began: the deadline of a monitor that never succeeded counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Run>,
    /// The deadline already reported as missed, so it is reported once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<DateTime<Utc>>,
}

impl Watch {
    /// Takes a heartbeat ping. Returns what it means for the monitor (`None` for a start or a log
    /// line, which change nothing) and, for the end of a run, how long the run took.
    pub fn ping(
        &mut self,
        spec: &HeartbeatSpec,
        kind: PingKind,
        exit_status: Option<u8>,
        rid: Option<&str>,
        at: DateTime<Utc>,
    ) -> (Option<ProbeOutcome>, Option<Duration>) {
        self.since.get_or_insert(at);
        match kind {
            PingKind::Log => (None, None),
            PingKind::Start => {
                // A start without a run id replaces the previous one without: the job restarted.
                self.runs.retain(|r| r.rid.as_deref() != rid);
                self.runs.push(Run { rid: rid.map(str::to_owned), started_at: at });
                if self.runs.len() > MAX_RUNS {
                    self.runs.remove(0);
                }
                (None, None)
            }
            PingKind::Success | PingKind::Fail | PingKind::Exit => {
                let duration = self.end_run(rid, at);
                let latency = duration.unwrap_or(Duration::ZERO);
                let failed = match (kind, exit_status) {
                    (PingKind::Fail, _) => Some("the job reported a failure".to_owned()),
                    (PingKind::Exit, Some(status)) if status != 0 => {
                        Some(format!("the job exited with status {status}"))
                    }
                    _ => None,
                };
                let error = match failed {
                    Some(message) => Some(ProbeError::new(ErrorKind::Failed, message)),
                    None => {
                        // A success, even one that ran too long or too short, is a sign of life.
                        self.last_success = Some(at);
                        self.reported = None;
                        run_length_error(spec, duration)
                    }
                };
                (Some(outcome(latency, error)), duration)
            }
        }
    }

    /// Takes a push: success or not, with the pusher's error and duration.
    pub fn push(&mut self, success: bool, error: Option<&str>, duration: Duration, at: DateTime<Utc>) -> ProbeOutcome {
        self.since.get_or_insert(at);
        if success {
            self.last_success = Some(at);
            self.reported = None;
            return outcome(duration, None);
        }
        let message = error.filter(|e| !e.trim().is_empty()).unwrap_or("the pusher reported a failure");
        outcome(duration, Some(ProbeError::new(ErrorKind::Failed, crate::sample::one_line(message))))
    }

    /// The next moment silence becomes a failure: the schedule's deadline, or a run outliving
    /// its time. `None` when the only deadline left was already reported.
    pub fn deadline(
        &self,
        schedule: &Heartbeat,
        max_duration: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let since = self.since.unwrap_or(now);
        // A success from before watching (re)started does not count: a resumed monitor waits.
        let scheduled = schedule.deadline(self.last_success.filter(|last| *last >= since), since);
        let run_limit = max_duration.unwrap_or(schedule.grace);
        let runs = self.runs.iter().map(|r| r.started_at + chrono_duration(run_limit));
        std::iter::once(scheduled).chain(runs).filter(|d| self.reported.is_none_or(|r| *d > r)).min()
    }

    /// Called when a deadline may have passed: the failure to record, once per missed deadline.
    pub fn tick(
        &mut self,
        schedule: &Heartbeat,
        max_duration: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Option<ProbeOutcome> {
        self.since.get_or_insert(now);
        let due = self.deadline(schedule, max_duration, now)?;
        if now < due {
            return None;
        }
        self.reported = Some(due);
        let stuck =
            self.runs.iter().find(|r| r.started_at + chrono_duration(max_duration.unwrap_or(schedule.grace)) == due);
        let message = match (stuck, self.last_success) {
            (Some(run), _) => {
                format!("a run started at {} has not finished", run.started_at.format("%Y-%m-%d %H:%M:%S UTC"))
            }
            (None, Some(last)) => format!(
                "no ping since {}; expected by {}",
                last.format("%Y-%m-%d %H:%M:%S UTC"),
                due.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            (None, None) => format!("no ping yet; expected by {}", due.format("%Y-%m-%d %H:%M:%S UTC")),
        };
        Some(outcome(Duration::ZERO, Some(ProbeError::new(ErrorKind::Late, message))))
    }

    /// Starts watching afresh (a resume): the next deadline counts from `now`.
    pub fn restart(&mut self, now: DateTime<Utc>) {
        self.since = Some(now);
        self.runs.clear();
        self.reported = None;
    }

    /// Ends the run this ping belongs to (by run id, else the latest without one); its duration.
    fn end_run(&mut self, rid: Option<&str>, at: DateTime<Utc>) -> Option<Duration> {
        let i = self.runs.iter().rposition(|r| r.rid.as_deref() == rid)?;
        let run = self.runs.remove(i);
        (at - run.started_at).to_std().ok()
    }
}

fn run_length_error(spec: &HeartbeatSpec, duration: Option<Duration>) -> Option<ProbeError> {
    let took = duration?;
    let human = crate::duration::human;
    if let Some(max) = spec.max_duration.filter(|max| took > *max) {
        return Some(ProbeError::new(
            ErrorKind::Duration,
            format!("the run took {}, longer than {}", human(took), human(max)),
        ));
    }
    if let Some(min) = spec.min_duration.filter(|min| took < *min) {
        return Some(ProbeError::new(
            ErrorKind::Duration,
            format!("the run took {}, less than {}: finished too fast", human(took), human(min)),
        ));
    }
    None
}

fn outcome(latency: Duration, error: Option<ProbeError>) -> ProbeOutcome {
    ProbeOutcome { latency, phases: Phases::default(), http_status: None, error }
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// A heartbeat created by its first ping (`/ping/<ping_key>/<slug>?create=1`), with Healthchecks'
/// defaults: a ping a day, an hour of grace. It is private until the configuration declares it.
pub fn pinged(id: crate::MonitorId, uuid: String) -> crate::monitor::Monitor {
    let schedule = Heartbeat {
        schedule: crate::cron::Schedule::Period(Duration::from_secs(86_400)),
        grace: Duration::from_secs(3600),
    };
    let interval = longest_gap(&schedule);
    crate::monitor::Monitor {
        name: id.as_str().to_owned(),
        kind: crate::MonitorKind::Heartbeat(HeartbeatSpec {
            uuid: Some(uuid),
            slug: id.as_str().to_owned(),
            schedule,
            schedule_text: "every 1d (grace 1h)".to_owned(),
            max_duration: None,
            min_duration: None,
        }),
        id,
        interval,
        timeout: Duration::from_secs(10),
        policy: crate::Policy { confirm: 1, recover: 1 },
        component: None,
        public: false,
        paused: false,
        channels: None,
        depends_on: None,
        renotify: None,
    }
}

/// The longest time between two expected pings, grace included: a sample of a heartbeat speaks
/// for that long when uptime tells data from no data.
pub fn longest_gap(heartbeat: &Heartbeat) -> Duration {
    let between = match &heartbeat.schedule {
        crate::cron::Schedule::Period(period) => *period,
        schedule @ crate::cron::Schedule::Cron { .. } => {
            // Over a year of fires from a fixed day (enough for any five-field expression's pattern
            // that repeats within a year), at most a few hundred steps.
            let mut at = DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default();
            let mut longest = chrono::Duration::zero();
            for _ in 0..400 {
                let next = schedule.next_after(at);
                longest = longest.max(next - at);
                at = next;
            }
            longest.to_std().unwrap_or(Duration::from_secs(86_400))
        }
    };
    between + heartbeat.grace
}

/// A fresh ping uuid (version 4) from 16 random bytes.
pub fn uuid_from(bytes: [u8; 16]) -> String {
    let mut b = bytes;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Accepts a uuid in its canonical form (any case), returning it in lowercase.
pub fn parse_uuid(text: &str) -> Result<String, String> {
    let ok = text.len() == 36
        && text
            .bytes()
            .enumerate()
            .all(|(i, b)| if matches!(i, 8 | 13 | 18 | 23) { b == b'-' } else { b.is_ascii_hexdigit() });
    if ok {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!("`{text}` is not a uuid like \"0d2a52a6-1f6c-4d6b-9c83-5f2b3a7d9e10\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cron::Schedule;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn spec(period: u64, grace: u64) -> HeartbeatSpec {
        HeartbeatSpec {
            uuid: None,
            slug: "job".into(),
            schedule: Heartbeat {
                schedule: Schedule::Period(Duration::from_secs(period)),
                grace: Duration::from_secs(grace),
            },
            schedule_text: String::new(),
            max_duration: None,
            min_duration: None,
        }
    }

    fn kind_of(outcome: &Option<ProbeOutcome>) -> Option<Option<ErrorKind>> {
        outcome.as_ref().map(|o| o.error.as_ref().map(|e| e.kind))
    }

    #[test]
    fn late_exactly_at_the_deadline_not_a_second_before() {
        let spec = spec(60, 30);
        let mut watch = Watch::default();
        let (outcome, _) = watch.ping(&spec, PingKind::Success, None, None, t(0));
        assert_eq!(kind_of(&outcome), Some(None), "a success is an up sample");
        assert_eq!(watch.deadline(&spec.schedule, None, t(1)), Some(t(90)));
        assert_eq!(watch.tick(&spec.schedule, None, t(89)), None, "one second before: not late");
        let late = watch.tick(&spec.schedule, None, t(90));
        assert_eq!(kind_of(&late), Some(Some(ErrorKind::Late)), "at the deadline: late");
        let message = late.and_then(|o| o.error).map(|e| e.message).unwrap_or_default();
        assert_eq!(message, "no ping since 2026-03-01 12:00:00 UTC; expected by 2026-03-01 12:01:30 UTC");
        assert_eq!(watch.tick(&spec.schedule, None, t(91)), None, "reported once");
        assert_eq!(watch.deadline(&spec.schedule, None, t(91)), None, "nothing more to wait for");
        // The next success starts a new period.
        watch.ping(&spec, PingKind::Success, None, None, t(100));
        assert_eq!(watch.deadline(&spec.schedule, None, t(100)), Some(t(190)));
    }

    #[test]
    fn one_second_periods_and_graces_work() {
        let spec = spec(1, 1);
        let mut watch = Watch::default();
        watch.ping(&spec, PingKind::Success, None, None, t(0));
        assert_eq!(watch.tick(&spec.schedule, None, t(1)), None);
        assert!(watch.tick(&spec.schedule, None, t(2)).is_some());
    }

    #[test]
    fn never_pinged_counts_from_when_watching_began() {
        let spec = spec(60, 0);
        let mut watch = Watch::default();
        assert_eq!(watch.tick(&spec.schedule, None, t(0)), None, "the first tick starts the watch");
        assert_eq!(watch.since, Some(t(0)));
        let late = watch.tick(&spec.schedule, None, t(60)).and_then(|o| o.error).map(|e| e.message);
        assert_eq!(late.as_deref(), Some("no ping yet; expected by 2026-03-01 12:01:00 UTC"));
    }

    #[test]
    fn failures_exit_statuses_and_logs() {
        let spec = spec(60, 0);
        let mut watch = Watch::default();
        assert_eq!(kind_of(&watch.ping(&spec, PingKind::Fail, None, None, t(0)).0), Some(Some(ErrorKind::Failed)));
        assert_eq!(kind_of(&watch.ping(&spec, PingKind::Exit, Some(0), None, t(1)).0), Some(None));
        let (failed, _) = watch.ping(&spec, PingKind::Exit, Some(2), None, t(2));
        assert_eq!(failed.and_then(|o| o.error).map(|e| e.message).as_deref(), Some("the job exited with status 2"));
        assert_eq!(watch.last_success, Some(t(1)), "a failure is not a sign of life");
        assert_eq!(watch.ping(&spec, PingKind::Log, None, None, t(3)), (None, None));
        assert_eq!(watch.ping(&spec, PingKind::Start, None, None, t(4)), (None, None));
    }

    #[test]
    fn runs_are_timed_by_run_id_and_bounded() {
        let mut spec = spec(3600, 60);
        spec.max_duration = Some(Duration::from_secs(600));
        spec.min_duration = Some(Duration::from_secs(5));
        let mut watch = Watch::default();
        let a = Some("a");
        watch.ping(&spec, PingKind::Start, None, a, t(0));
        watch.ping(&spec, PingKind::Start, None, Some("b"), t(10));
        let (outcome, took) = watch.ping(&spec, PingKind::Success, None, a, t(30));
        assert_eq!((kind_of(&outcome), took), (Some(None), Some(Duration::from_secs(30))));
        assert_eq!(outcome.map(|o| o.latency), Some(Duration::from_secs(30)), "the run's length is the latency");
        // Run b is still going: due at its start + max_duration.
        assert_eq!(watch.deadline(&spec.schedule, spec.max_duration, t(30)), Some(t(610)));
        assert_eq!(watch.tick(&spec.schedule, spec.max_duration, t(609)), None);
        let stuck = watch.tick(&spec.schedule, spec.max_duration, t(610)).and_then(|o| o.error).map(|e| e.message);
        assert_eq!(stuck.as_deref(), Some("a run started at 2026-03-01 12:00:10 UTC has not finished"));
        // Too long and too short.
        let (long, _) = watch.ping(&spec, PingKind::Success, None, Some("b"), t(700));
        assert_eq!(
            long.and_then(|o| o.error).map(|e| e.message).as_deref(),
            Some("the run took 11m 30s, longer than 10m")
        );
        watch.ping(&spec, PingKind::Start, None, None, t(800));
        let (short, _) = watch.ping(&spec, PingKind::Success, None, None, t(802));
        assert_eq!(short.and_then(|o| o.error).map(|e| e.kind), Some(ErrorKind::Duration));
        // Starting over and over without ending keeps a bounded list.
        for i in 0..50 {
            watch.ping(&spec, PingKind::Start, None, Some(&format!("r{i}")), t(900 + i));
        }
        assert_eq!(watch.runs.len(), MAX_RUNS);
    }

    #[test]
    fn a_restart_of_watching_waits_a_whole_period() {
        let spec = spec(60, 0);
        let mut watch = Watch::default();
        watch.ping(&spec, PingKind::Success, None, None, t(0));
        watch.restart(t(1000));
        assert_eq!(watch.deadline(&spec.schedule, None, t(1000)), Some(t(1060)));
    }

    #[test]
    fn pushes_succeed_and_fail_with_the_pushers_words() {
        let mut watch = Watch::default();
        let ok = watch.push(true, None, Duration::from_millis(1500), t(0));
        assert_eq!((ok.error, ok.latency), (None, Duration::from_millis(1500)));
        let failed = watch.push(false, Some("checkout failed\nstack trace"), Duration::ZERO, t(1));
        assert_eq!(failed.error.map(|e| e.message).as_deref(), Some("checkout failed"));
        assert_eq!(
            watch.push(false, Some("  "), Duration::ZERO, t(2)).error.map(|e| e.message).as_deref(),
            Some("the pusher reported a failure")
        );
    }

    #[test]
    fn uuids_are_version_4_and_parse_back() {
        let uuid = uuid_from([0xab; 16]);
        assert_eq!(uuid, "abababab-abab-4bab-abab-abababababab");
        assert_eq!(parse_uuid(&uuid.to_uppercase()), Ok(uuid));
        assert!(parse_uuid("abababab-abab-4bab-abab-ababababab").is_err());
        assert!(parse_uuid("abababab_abab-4bab-abab-abababababab").is_err());
    }
}
