//! The page's pictures as template data: a component's 90-day uptime bar (one segment per local
//! day, coloured by uptime, with what happened that day) and a monitor's response-time charts
//! (the SVG path computed here, the markup in `page.html`).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use minijinja::context;
use upbeat_core::duration::human;
use upbeat_core::incident::{Impact, Incident};
use upbeat_core::maintenance::Maintenance;
use upbeat_core::uptime::day_start;

use crate::overview::ComponentView;
use crate::render::Local;
use crate::trends::{self, MonitorTrend, Trends};

/// One component's bar.
pub(crate) struct Bar {
    pub days: Vec<minijinja::Value>,
    /// Uptime over the whole bar, `None` without observations.
    pub uptime: Option<String>,
    /// Uptime over the days a narrow screen shows (the last [`NARROW_DAYS`]).
    pub uptime_narrow: Option<String>,
}

/// The days a bar shows on a screen under 600 px wide (`base.html` hides the others), so each
/// segment stays at least 6 px wide.
pub(crate) const NARROW_DAYS: u32 = 30;

/// At most this many things are listed for one day; the rest are counted.
const MAX_LINES: usize = 4;

/// The segment colour for a day's uptime: `u` all up, `l` a little down (99 % or more), `p` partly
/// (95 % or more), `d` more; `w` only maintenance; `n` nothing observed.
fn class_of(percent: Option<f64>, maintenance: bool) -> &'static str {
    match percent {
        Some(p) if p >= 100.0 => "u",
        Some(p) if p >= 99.0 => "l",
        Some(p) if p >= 95.0 => "p",
        Some(_) => "d",
        None if maintenance => "w",
        None => "n",
    }
}

/// The colour a component without monitors gets from what people declared that day.
fn class_of_impact(worst: Option<Impact>) -> &'static str {
    match worst {
        None | Some(Impact::None) => "u",
        Some(Impact::Minor) => "l",
        Some(Impact::Major) => "p",
        Some(Impact::Critical) => "d",
    }
}

pub(crate) fn component_bar(
    component: &ComponentView,
    trends: &Trends,
    incidents: &[Incident],
    maintenances: &[Maintenance],
    local: &Local,
    now: DateTime<Utc>,
) -> Bar {
    let zone = local.0;
    let today = now.with_timezone(&zone).date_naive();
    let members: Vec<_> =
        component.monitors.iter().filter_map(|m| trends.monitors.get(&m.id).map(|t| (m, t))).collect();
    // What touches this component, oldest first, picked once rather than per day.
    let outages: Vec<_> = trends
        .outages
        .iter()
        .rev()
        .filter_map(|o| members.iter().find(|(m, _)| m.id == o.monitor).map(|(m, _)| (&m.name, o)))
        .collect();
    let declared: Vec<&Incident> =
        incidents.iter().rev().filter(|i| i.components.contains_key(&component.id)).collect();
    let windows: Vec<&Maintenance> =
        maintenances.iter().rev().filter(|m| m.scheduled_for <= now && m.components.contains(&component.id)).collect();
    let (mut total_up, mut total_down) = (0i64, 0i64);
    let (mut recent_up, mut recent_down) = (0i64, 0i64);
    let days = (0..trends::DAYS)
        .rev()
        .map(|back| {
            let date = today - chrono::Duration::days(i64::from(back));
            let (start, end) = (day_start(date, &zone), day_start(date + chrono::Duration::days(1), &zone).min(now));
            let (mut up, mut down, mut maintenance) = (0i64, 0i64, 0i64);
            for (_, trend) in &members {
                // A trend's days end today, like the bar's: the same day is as far from the end.
                let at = trend.days.len().checked_sub(back as usize + 1);
                if let Some((_, u)) = at.and_then(|i| trend.days.get(i)).filter(|(d, _)| *d == date) {
                    up += u.up.num_milliseconds();
                    down += u.down.num_milliseconds();
                    maintenance += u.maintenance.num_milliseconds();
                }
            }
            total_up += up;
            total_down += down;
            if back < NARROW_DAYS {
                recent_up += up;
                recent_down += down;
            }
            let mut lines = Vec::new();
            for (name, outage) in &outages {
                let ended = outage.ended_at.unwrap_or(now);
                if outage.started_at < end && ended > start {
                    let until = match outage.ended_at {
                        Some(t) => format!("–{}", clock(local, t, date)),
                        None => " (ongoing)".to_owned(),
                    };
                    let took = human((ended - outage.started_at).to_std().unwrap_or_default());
                    lines.push(format!("{name} down {}{until}, {took}", clock(local, outage.started_at, date)));
                }
            }
            let mut worst_impact = None;
            for incident in declared.iter().filter(|i| i.started_at < end && i.resolved_at.unwrap_or(now) >= start) {
                worst_impact = worst_impact.max(Some(incident.impact));
                lines.push(format!("Incident: {}", incident.title));
            }
            let mut maintained = false;
            for window in windows.iter().filter(|w| w.scheduled_for < end && w.scheduled_until > start) {
                maintained = true;
                lines.push(format!("Maintenance: {}", window.title));
            }
            if lines.len() > MAX_LINES {
                let more = lines.len() - (MAX_LINES - 1);
                lines.truncate(MAX_LINES - 1);
                lines.push(format!("and {more} more"));
            }
            let percent = (up + down > 0).then(|| up as f64 * 100.0 / (up + down) as f64);
            let (class, summary) = if members.is_empty() {
                match worst_impact {
                    Some(impact) => (class_of_impact(Some(impact)), "Incident reported".to_owned()),
                    None if maintained => ("w", "Maintenance".to_owned()),
                    None => ("u", "No incidents".to_owned()),
                }
            } else {
                let class = class_of(percent, maintenance > 0);
                let summary = match percent {
                    Some(p) => format!("{} uptime", crate::badge::uptime_message(Some(p))),
                    None if maintenance > 0 => "Maintenance".to_owned(),
                    None => "No data".to_owned(),
                };
                (class, summary)
            };
            context! {
                date => date.format("%Y-%m-%d").to_string(),
                label => format!("{}: {}", date.format("%a %-d %b %Y"), summary),
                class, lines,
            }
        })
        .collect();
    let percent = |up: i64, down: i64| {
        (!members.is_empty() && up + down > 0)
            .then(|| crate::badge::uptime_message(Some(up as f64 * 100.0 / (up + down) as f64)))
    };
    Bar { days, uptime: percent(total_up, total_down), uptime_narrow: percent(recent_up, recent_down) }
}

/// `HH:MM` on the day of the segment, or with its date when it is another day.
fn clock(local: &Local, t: DateTime<Utc>, day: NaiveDate) -> String {
    let t = t.with_timezone(&local.0);
    if t.date_naive() == day { t.format("%H:%M").to_string() } else { t.format("%-d %b %H:%M").to_string() }
}

/// The chart's drawing box: the path is drawn in `WIDTH` × `HEIGHT` units and stretched to fit.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 100.0;

/// The 24-hour and 7-day response-time charts of one monitor.
pub fn charts(name: &str, trend: &MonitorTrend, now: DateTime<Utc>) -> Vec<minijinja::Value> {
    [
        ("last 24 hours", "24 h ago", 1i64, trends::DAY_BUCKET, &trend.day),
        ("last 7 days", "7 d ago", trends::LATENCY_DAYS, trends::WEEK_BUCKET, &trend.week),
    ]
    .into_iter()
    .map(|(period, left, days, bucket, points)| {
        let span = chrono::Duration::days(days);
        let from = now - span;
        let step = chrono::Duration::from_std(bucket).unwrap_or_default();
        let slots = (span.num_milliseconds() / step.num_milliseconds().max(1)).max(1) as usize;
        // Each bucket in its slot (the trends may be a minute older than `now`), by its checks.
        let mut sums = vec![(0u128, 0u64); slots];
        for p in points.iter().filter(|p| p.start >= from) {
            let slot = (((p.start - from).num_milliseconds() / step.num_milliseconds().max(1)) as usize).min(slots - 1);
            sums[slot].0 += p.average.as_micros() * u128::from(p.checks);
            sums[slot].1 += p.checks;
        }
        let values: Vec<Option<f64>> =
            sums.iter().map(|(sum, n)| (*n > 0).then(|| *sum as f64 / *n as f64 / 1000.0)).collect();
        let path = path(&values);
        let seen: Vec<f64> = values.iter().flatten().copied().collect();
        let max = seen.iter().copied().fold(0.0, f64::max);
        let (checks, total) = sums.iter().fold((0u64, 0u128), |(n, s), (sum, c)| (n + c, s + sum));
        let average = (checks > 0).then(|| Duration::from_micros((total / u128::from(checks)) as u64));
        let summary = match average {
            Some(avg) => format!(
                "{name}: response time, {period}: average {}, slowest {}",
                ms(avg.as_secs_f64() * 1000.0),
                ms(max)
            ),
            None => format!("{name}: response time, {period}: no successful checks"),
        };
        context! { period, left, path, summary, scale => (max > 0.0).then(|| ms(nice_ceiling(max))) }
    })
    .collect()
}

fn ms(v: f64) -> String {
    if v < 10.0 { format!("{v:.1} ms") } else { format!("{v:.0} ms") }
}

/// 1, 2 or 5 times a power of ten, at or above `v`: the top of the chart's scale.
fn nice_ceiling(v: f64) -> f64 {
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|c| *c >= v).unwrap_or(v)
}

/// An SVG path through the slots that have a value, broken where a slot has none; the y axis runs
/// from 0 at the bottom to the scale's top.
fn path(values: &[Option<f64>]) -> String {
    let top = nice_ceiling(values.iter().flatten().copied().fold(0.0, f64::max).max(0.001));
    let n = values.len().max(2) - 1;
    let mut d = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let x = i as f64 * WIDTH / n as f64;
                let y = HEIGHT - (v / top * (HEIGHT - 4.0));
                // Whole units: the box is 600 wide, so a unit is at most a pixel or two on screen.
                d.push_str(&format!("{}{x:.0},{y:.0}", if pen_down { 'L' } else { 'M' }));
                // A lone point still shows: a short flat stroke.
                let next_missing = values.get(i + 1).is_none_or(Option::is_none);
                if !pen_down && next_missing {
                    d.push_str(&format!("h{:.0}", (WIDTH / n as f64 / 2.0).max(1.0)));
                }
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_uptime_then_maintenance_then_nothing() {
        assert_eq!(class_of(Some(100.0), false), "u");
        assert_eq!(class_of(Some(99.5), true), "l");
        assert_eq!(class_of(Some(96.0), false), "p");
        assert_eq!(class_of(Some(50.0), false), "d");
        assert_eq!(class_of(None, true), "w");
        assert_eq!(class_of(None, false), "n");
        assert_eq!(class_of_impact(Some(Impact::Critical)), "d");
    }

    #[test]
    fn paths_break_at_gaps_and_scale_to_a_round_top() {
        assert_eq!(nice_ceiling(0.37), 0.5);
        assert_eq!(nice_ceiling(120.0), 200.0);
        assert_eq!(nice_ceiling(500.0), 500.0);
        let d = path(&[Some(100.0), Some(200.0), None, Some(50.0), None]);
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d, "M0,52L150,4M450,76h75");
        assert_eq!(path(&[None, None]), "");
    }
}
