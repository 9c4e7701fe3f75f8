//! Uptime over a window: how long a monitor was up, down, in maintenance, or not watched at all.
//!
//! The window is split into four disjoint parts that add up to it:
//! - **maintenance**: inside a maintenance window of the monitor's component; excluded from the
//!   ratio, whatever the monitor did;
//! - **down**: inside an outage (clipped to the window), and not in maintenance;
//! - **no data**: neither watched (no samples, not covered by an import) nor down; never up;
//! - **up**: the rest.
//!
//! Uptime is `up / (up + down)`; with neither, there is no figure rather than 100 %.
//! Times are whole milliseconds, so the parts add up exactly.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;

/// A half-open interval `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Span {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Span {
        Span { start, end }
    }

    pub fn len(&self) -> Duration {
        (self.end - self.start).max(Duration::zero())
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    fn clip(&self, to: &Span) -> Option<Span> {
        let s = Span { start: self.start.max(to.start), end: self.end.min(to.end) };
        (!s.is_empty()).then_some(s)
    }
}

/// Sorted, disjoint, non-empty spans.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Set(Vec<Span>);

impl Set {
    fn of(spans: impl IntoIterator<Item = Span>, within: &Span) -> Set {
        let mut v: Vec<Span> = spans.into_iter().filter_map(|s| s.clip(within)).collect();
        v.sort();
        let mut out: Vec<Span> = Vec::with_capacity(v.len());
        for s in v {
            match out.last_mut() {
                Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
                _ => out.push(s),
            }
        }
        Set(out)
    }

    fn total(&self) -> Duration {
        self.0.iter().map(Span::len).fold(Duration::zero(), |a, b| a + b)
    }

    fn union(&self, other: &Set) -> Set {
        let within = Span::new(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        Set::of(self.0.iter().chain(&other.0).copied(), &within)
    }

    /// The parts of `span` not in this set.
    fn gaps_in(&self, span: &Span) -> Set {
        let mut out = Vec::new();
        let mut cursor = span.start;
        for s in &self.0 {
            if s.end <= cursor || s.start >= span.end {
                continue;
            }
            if s.start > cursor {
                out.push(Span::new(cursor, s.start.min(span.end)));
            }
            cursor = cursor.max(s.end);
        }
        if cursor < span.end {
            out.push(Span::new(cursor, span.end));
        }
        Set(out)
    }

    fn minus(&self, other: &Set) -> Set {
        Set(self.0.iter().flat_map(|s| other.gaps_in(s).0).collect())
    }
}

/// The figures for one monitor and one window.
#[derive(Clone, Debug, PartialEq)]
pub struct Uptime {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub up: Duration,
    pub down: Duration,
    pub no_data: Duration,
    pub maintenance: Duration,
    /// Outages with any counted downtime in the window.
    pub outages: usize,
    pub longest_outage: Duration,
}

impl Uptime {
    /// `up / (up + down)` in percent; `None` when nothing was observed.
    pub fn percent(&self) -> Option<f64> {
        let observed = (self.up + self.down).num_milliseconds();
        (observed > 0).then(|| self.up.num_milliseconds() as f64 * 100.0 / observed as f64)
    }

    /// Mean time to recovery: downtime per outage.
    pub fn mttr(&self) -> Option<Duration> {
        (self.outages > 0).then(|| self.down / self.outages as i32)
    }

    /// Mean time between failures: uptime per outage.
    pub fn mtbf(&self) -> Option<Duration> {
        (self.outages > 0).then(|| self.up / self.outages as i32)
    }
}

/// One monitor's figures as `upbeat report` and the API print them: seconds, percent, RFC 3339.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub outages: usize,
    pub downtime_seconds: f64,
    pub longest_outage_seconds: f64,
    pub uptime_seconds: f64,
    pub no_data_seconds: f64,
    pub maintenance_seconds: f64,
    /// `null` when nothing was observed in the window.
    pub uptime_percent: Option<f64>,
    pub mttr_seconds: Option<f64>,
    pub mtbf_seconds: Option<f64>,
}

fn seconds(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

impl Report {
    pub fn new(id: &str, name: &str, kind: &str, u: &Uptime) -> Report {
        Report {
            id: id.to_owned(),
            name: name.to_owned(),
            kind: kind.to_owned(),
            from: u.from,
            to: u.to,
            outages: u.outages,
            downtime_seconds: seconds(u.down),
            longest_outage_seconds: seconds(u.longest_outage),
            uptime_seconds: seconds(u.up),
            no_data_seconds: seconds(u.no_data),
            maintenance_seconds: seconds(u.maintenance),
            uptime_percent: u.percent(),
            mttr_seconds: u.mttr().map(seconds),
            mtbf_seconds: u.mtbf().map(seconds),
        }
    }
}

/// What is known about a monitor, for any window.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Outages; an open one ends at the time the caller considers "now".
    pub outages: Vec<Span>,
    /// Maintenance windows of the monitor's component.
    pub maintenance: Vec<Span>,
    /// When the monitor was watched: sampled, or covered by an import.
    pub watched: Vec<Span>,
}

impl History {
    pub fn uptime(&self, window: Span) -> Uptime {
        let maintenance = Set::of(self.maintenance.iter().copied(), &window);
        let outages = Set::of(self.outages.iter().copied(), &window);
        let down = outages.minus(&maintenance);
        let known = Set::of(self.watched.iter().copied(), &window).union(&outages).union(&maintenance);
        let no_data = known.gaps_in(&window);
        let down_total = down.total();
        let maintenance_total = maintenance.total();
        let no_data_total = no_data.total();
        let mut count = 0;
        let mut longest = Duration::zero();
        for outage in &self.outages {
            if let Some(clipped) = outage.clip(&window) {
                let counted = Set(vec![clipped]).minus(&maintenance).total();
                if counted > Duration::zero() {
                    count += 1;
                    longest = longest.max(counted);
                }
            }
        }
        Uptime {
            from: window.start,
            to: window.end,
            up: window.len() - down_total - no_data_total - maintenance_total,
            down: down_total,
            no_data: no_data_total,
            maintenance: maintenance_total,
            outages: count,
            longest_outage: longest,
        }
    }

    /// One figure per UTC day, oldest first, for the `days` days ending with the one holding `now`
    /// (today counts up to `now`).
    pub fn daily(&self, days: u32, now: DateTime<Utc>) -> Vec<(NaiveDate, Uptime)> {
        self.daily_in(days, now, &Utc)
    }

    /// One figure per calendar day of `zone`, as [`History::daily`] does for UTC. A day runs from
    /// one local midnight to the next (23 or 25 hours when the clocks change); where midnight does
    /// not exist, the day starts at the first instant that does.
    pub fn daily_in<Z: TimeZone>(&self, days: u32, now: DateTime<Utc>, zone: &Z) -> Vec<(NaiveDate, Uptime)> {
        let today = now.with_timezone(zone).date_naive();
        (0..days)
            .rev()
            .map(|back| {
                let day = today - Duration::days(i64::from(back));
                let start = day_start(day, zone);
                let end = day_start(day + Duration::days(1), zone).min(now).max(start);
                (day, self.uptime(Span::new(start, end)))
            })
            .collect()
    }
}

/// The first instant of a calendar day in `zone`, in UTC.
pub fn day_start<Z: TimeZone>(day: NaiveDate, zone: &Z) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    // A gap at midnight (a few zones change their clocks then): step forward to the first local time.
    (0..=180)
        .find_map(|minutes| zone.from_local_datetime(&(midnight + Duration::minutes(minutes))).earliest())
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    fn span(a: i64, b: i64) -> Span {
        Span::new(t(a), t(b))
    }

    fn secs(d: Duration) -> i64 {
        d.num_seconds()
    }

    #[test]
    fn outages_are_clipped_and_maintenance_is_excluded() {
        let h = History {
            outages: vec![span(-50, 10), span(100, 200), span(900, 1100)],
            maintenance: vec![span(150, 300)],
            watched: vec![span(-1000, 2000)],
        };
        let u = h.uptime(span(0, 1000));
        assert_eq!(secs(u.down), 10 + 50 + 100);
        assert_eq!(secs(u.maintenance), 150);
        assert_eq!(secs(u.no_data), 0);
        assert_eq!(secs(u.up), 1000 - 160 - 150);
        assert_eq!(u.outages, 3);
        assert_eq!(secs(u.longest_outage), 100);
        assert_eq!(secs(u.mttr().unwrap()), 160 / 3);
        let p = u.percent().unwrap();
        assert!((p - 690.0 * 100.0 / 850.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn an_outage_entirely_in_maintenance_is_not_counted() {
        let h = History { outages: vec![span(10, 20)], maintenance: vec![span(0, 30)], watched: vec![span(0, 100)] };
        let u = h.uptime(span(0, 100));
        assert_eq!((u.outages, secs(u.down), secs(u.up), secs(u.maintenance)), (0, 0, 70, 30));
        assert_eq!(u.mttr(), None);
    }

    #[test]
    fn time_without_data_is_never_up() {
        let h = History { outages: vec![span(40, 50)], maintenance: vec![], watched: vec![span(0, 20)] };
        let u = h.uptime(span(0, 100));
        assert_eq!((secs(u.up), secs(u.down), secs(u.no_data)), (20, 10, 70));
        let nothing = History::default().uptime(span(0, 100));
        assert_eq!(secs(nothing.no_data), 100);
        assert_eq!(nothing.percent(), None);
    }

    #[test]
    fn daily_buckets_end_today_and_stop_at_now() {
        let now = Utc.with_ymd_and_hms(2025, 6, 30, 12, 0, 0).unwrap();
        let start = Utc.with_ymd_and_hms(2025, 6, 29, 23, 0, 0).unwrap();
        let h = History {
            outages: vec![Span::new(start, start + Duration::hours(2))],
            maintenance: vec![],
            watched: vec![Span::new(now - Duration::days(5), now)],
        };
        let days = h.daily(3, now);
        assert_eq!(days.len(), 3);
        assert_eq!(days[2].0, now.date_naive());
        assert_eq!(secs(days[2].1.down), 3600);
        assert_eq!(secs(days[1].1.down), 3600);
        assert_eq!(days[2].1.to, now);
        assert_eq!(secs(days[0].1.up), 86_400);
    }

    #[test]
    fn local_days_follow_the_zone_and_its_clock_changes() {
        let paris = chrono_tz::Europe::Paris;
        // 2025-03-30: clocks go forward at 02:00 in Paris, so the day has 23 hours.
        let now = Utc.with_ymd_and_hms(2025, 3, 31, 6, 0, 0).unwrap();
        let outage = Utc.with_ymd_and_hms(2025, 3, 30, 22, 30, 0).unwrap(); // 00:30 on the 31st in Paris
        let h = History {
            outages: vec![Span::new(outage, outage + Duration::minutes(10))],
            maintenance: vec![],
            watched: vec![Span::new(now - Duration::days(5), now)],
        };
        let days = h.daily_in(2, now, &paris);
        assert_eq!(days[0].0, NaiveDate::from_ymd_opt(2025, 3, 30).unwrap());
        assert_eq!(secs(days[0].1.up), 23 * 3600);
        assert_eq!(days[1].0, NaiveDate::from_ymd_opt(2025, 3, 31).unwrap());
        assert_eq!(secs(days[1].1.down), 600);
        assert_eq!(days[1].1.from, Utc.with_ymd_and_hms(2025, 3, 30, 22, 0, 0).unwrap());
        assert_eq!(days[1].1.to, now);
    }

    /// A small deterministic generator, so the properties run over many shapes without a crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self, below: i64) -> i64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % below as u64) as i64
        }

        fn spans(&mut self, n: i64) -> Vec<Span> {
            (0..self.next(n))
                .map(|_| {
                    let a = self.next(2000) - 500;
                    span(a, a + self.next(400))
                })
                .collect()
        }
    }

    #[test]
    fn the_parts_add_up_to_the_window_and_windows_split_and_sum() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            let h = History { outages: rng.spans(6), maintenance: rng.spans(3), watched: rng.spans(5) };
            let (a, b) = (rng.next(1200) - 100, rng.next(1200) - 100);
            let window = span(a.min(b), a.max(b));
            let whole = h.uptime(window);
            assert_eq!(whole.up + whole.down + whole.no_data + whole.maintenance, window.len(), "{h:?} {window:?}");
            assert!(whole.up >= Duration::zero() && whole.longest_outage <= whole.down);
            let cut = t(window.start.timestamp() - 1_700_000_000 + rng.next((window.len().num_seconds()).max(1)));
            let (left, right) = (h.uptime(Span::new(window.start, cut)), h.uptime(Span::new(cut, window.end)));
            assert_eq!(left.up + right.up, whole.up);
            assert_eq!(left.down + right.down, whole.down);
            assert_eq!(left.no_data + right.no_data, whole.no_data);
            assert_eq!(left.maintenance + right.maintenance, whole.maintenance);
            assert!(left.outages + right.outages >= whole.outages);
        }
    }
}
