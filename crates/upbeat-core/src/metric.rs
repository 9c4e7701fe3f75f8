//! Metric monitors: numbers pushed to upbeat or pulled from a JSON endpoint, against a condition.
//!
//! The condition describes trouble (`avg(value) > 1000`). It must hold for `for` before the
//! monitor is down, and be false for `recover_for` before it is up again, so one spike or one dip
//! does not page anyone. [`MetricWatch`] is that hysteresis, as plain data persisted with the
//! monitor's state: each evaluation yields the verdict as a sample, and from there metric monitors
//! go through the same state machine as every other kind.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::condition::MetricCondition;
use crate::sample::{ErrorKind, Phases, ProbeError, ProbeOutcome};

/// A metric monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricSpec {
    pub condition: MetricCondition,
    /// The points the aggregation looks at: those of the last `window`.
    pub window: Duration,
    /// How long the condition must hold before the monitor is down.
    pub hold_for: Duration,
    /// How long it must be false before the monitor is up again.
    pub recover_for: Duration,
    /// Where to fetch the value on the monitor's interval; `None`: values are pushed.
    pub pull: Option<MetricPull>,
}

/// A JSON endpoint and the path to the number in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricPull {
    pub url: http::Uri,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Dot-separated keys and `[n]` indices: `queue.depth`, `data[0].value`.
    pub json_path: String,
}

/// The hysteresis of one metric monitor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricWatch {
    /// Since when the condition has held without a break.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_since: Option<DateTime<Utc>>,
    /// Since when it has been false without a break, while the monitor is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_since: Option<DateTime<Utc>>,
    /// The verdict: the condition held long enough and has not been false long enough since.
    #[serde(default)]
    pub down: bool,
}

impl MetricWatch {
    /// Evaluates the window at `now`: the verdict as a sample outcome, or `None` when the window
    /// holds no points (no data is neither up nor down).
    pub fn evaluate(
        &mut self,
        spec: &MetricSpec,
        points: &[(DateTime<Utc>, f64)],
        now: DateTime<Utc>,
    ) -> Option<ProbeOutcome> {
        let value = spec.condition.aggregate(points, now, spec.window)?;
        let holds = spec.condition.holds(points, now, spec.window)?;
        if holds {
            self.clear_since = None;
            let since = *self.breach_since.get_or_insert(now);
            if elapsed(since, now) >= spec.hold_for {
                self.down = true;
            }
        } else {
            self.breach_since = None;
            if self.down {
                let since = *self.clear_since.get_or_insert(now);
                if elapsed(since, now) >= spec.recover_for {
                    self.down = false;
                    self.clear_since = None;
                }
            }
        }
        let error = self.down.then(|| {
            let state = match (holds, self.breach_since, self.clear_since) {
                (true, Some(since), _) => format!("holds since {}", since.format("%Y-%m-%d %H:%M:%S UTC")),
                (false, _, Some(since)) => format!(
                    "false since {}, not yet for {}",
                    since.format("%H:%M:%S UTC"),
                    crate::duration::human(spec.recover_for)
                ),
                _ => String::new(),
            };
            ProbeError::new(
                ErrorKind::Condition,
                format!("{} is {}: `{}` {state}", subject(&spec.condition), number(value), spec.condition),
            )
        });
        Some(ProbeOutcome { latency: Duration::ZERO, phases: Phases::default(), http_status: None, error })
    }

    /// When the verdict may change without a new point: the end of `for` or of `recover_for`.
    pub fn deadline(&self, spec: &MetricSpec) -> Option<DateTime<Utc>> {
        let after =
            |since: DateTime<Utc>, d: Duration| since + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        match (self.down, self.breach_since, self.clear_since) {
            (false, Some(since), _) => Some(after(since, spec.hold_for)),
            (true, _, Some(since)) => Some(after(since, spec.recover_for)),
            _ => None,
        }
    }
}

/// What the condition looks at: `value`, `avg(value)` over the window, ...
fn subject(condition: &MetricCondition) -> String {
    match condition.aggregation() {
        crate::condition::Aggregation::Last => "value".to_owned(),
        other => format!("{other}(value)"),
    }
}

fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - since).to_std().unwrap_or(Duration::ZERO)
}

/// One step of a JSON path: a key or an array index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `queue.depth` or `data[0].value` into steps.
fn steps(path: &str) -> Result<Vec<Step<'_>>, String> {
    let invalid = |why: &str| format!("`{path}` is not a JSON path like \"queue.depth\" or \"data[0].value\": {why}");
    let mut steps = Vec::new();
    for part in path.split('.') {
        let bracket = part.find('[').unwrap_or(part.len());
        let (key, mut indices) = part.split_at(bracket);
        if key.is_empty() && indices.is_empty() {
            return Err(invalid("an empty key"));
        }
        if !key.is_empty() {
            steps.push(Step::Key(key));
        }
        while let Some(rest) = indices.strip_prefix('[') {
            let (n, rest) = rest.split_once(']').ok_or_else(|| invalid("a `[` without `]`"))?;
            steps.push(Step::Index(n.parse().map_err(|_| invalid("an index is not a number"))?));
            indices = rest;
        }
        if !indices.is_empty() {
            return Err(invalid("text after `]`"));
        }
    }
    if steps.is_empty() { Err(invalid("it is empty")) } else { Ok(steps) }
}

/// Checks a JSON path when the configuration is read.
pub fn parse_json_path(path: &str) -> Result<(), String> {
    steps(path).map(|_| ())
}

/// The number at `path` in a JSON document; a string holding a number counts.
pub fn value_at(json: &serde_json::Value, path: &str) -> Result<f64, String> {
    let mut here = json;
    for step in steps(path)? {
        here = match step {
            Step::Key(key) => here.get(key).ok_or_else(|| format!("{path}: no key `{key}`"))?,
            Step::Index(i) => here.get(i).ok_or_else(|| format!("{path}: no element [{i}]"))?,
        };
    }
    let value = match here {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    value.filter(|v| v.is_finite()).ok_or_else(|| format!("{path} is {here}, not a number"))
}

/// A value as people read it: no `.0` on whole numbers, at most six significant decimals.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    fn spec(condition: &str, hold_for: u64, recover_for: u64) -> MetricSpec {
        MetricSpec {
            condition: MetricCondition::parse(condition).unwrap(),
            window: Duration::from_secs(60),
            hold_for: Duration::from_secs(hold_for),
            recover_for: Duration::from_secs(recover_for),
            pull: None,
        }
    }

    /// Feeds one point a second and returns, per second, whether the verdict was down.
    fn run(spec: &MetricSpec, values: &[f64]) -> Vec<bool> {
        let mut watch = MetricWatch::default();
        let mut points = Vec::new();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                points.push((t(i as i64), *v));
                watch.evaluate(spec, &points, t(i as i64)).map(|o| o.error.is_some()).unwrap_or(false)
            })
            .collect()
    }

    #[test]
    fn the_condition_must_hold_for_its_time_and_clear_for_its_time() {
        let spec = spec("value > 100", 3, 2);
        let down = run(&spec, &[1.0, 200.0, 200.0, 200.0, 200.0, 1.0, 200.0, 1.0, 1.0, 1.0]);
        // Held from t1: down at t4 (3 s later). False at t5, held again at t6: still down.
        // False from t7: up at t9 (2 s later).
        assert_eq!(down, [false, false, false, false, true, true, true, true, true, false]);
    }

    #[test]
    fn a_spike_shorter_than_for_pages_nobody() {
        let spec = spec("value > 100", 5, 0);
        assert!(run(&spec, &[200.0, 200.0, 1.0, 200.0, 200.0, 200.0, 1.0]).iter().all(|d| !d));
    }

    #[test]
    fn no_points_in_the_window_is_no_verdict_and_deadlines_follow_the_timers() {
        let spec = spec("avg(value) >= 10", 30, 60);
        let mut watch = MetricWatch::default();
        assert_eq!(watch.evaluate(&spec, &[], t(0)), None);
        let points = [(t(0), 50.0)];
        let outcome = watch.evaluate(&spec, &points, t(0));
        assert_eq!(outcome.map(|o| o.error.is_none()), Some(true), "held, not yet for 30 s");
        assert_eq!(watch.deadline(&spec), Some(t(30)));
        let late = watch.evaluate(&spec, &points, t(30)).and_then(|o| o.error).map(|e| e.message);
        assert_eq!(late.as_deref(), Some("avg(value) is 50: `avg(value) >= 10` holds since 2026-03-01 12:00:00 UTC"));
        assert_eq!(watch.deadline(&spec), None, "down and still holding: nothing to wait for");
        // The point leaves the window: no data, no change.
        assert_eq!(watch.evaluate(&spec, &points, t(61)), None);
        assert!(watch.down);
    }

    #[test]
    fn json_paths_find_numbers() {
        let json: serde_json::Value = serde_json::from_str(
            r#"{"queue": {"depth": 1500}, "data": [{"value": "2.5"}, {"value": true}], "n": null}"#,
        )
        .unwrap();
        assert_eq!(value_at(&json, "queue.depth"), Ok(1500.0));
        assert_eq!(value_at(&json, "data[0].value"), Ok(2.5));
        assert_eq!(value_at(&json, "data[1].value"), Err("data[1].value is true, not a number".into()));
        assert_eq!(value_at(&json, "queue.size"), Err("queue.size: no key `size`".into()));
        assert_eq!(value_at(&json, "data[5]"), Err("data[5]: no element [5]".into()));
        for bad in ["", "a[", "a[x]", "a[0]b", ".a"] {
            assert!(parse_json_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(number(1500.0), "1500");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(1.0 / 3.0), "0.333333");
    }
}
