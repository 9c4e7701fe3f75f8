//! Heartbeat schedules: when a job that pings upbeat is expected to have run, and so when its
//! monitor becomes late.
//!
//! A schedule is either a period (the job runs every so often, counted from its last ping) or a
//! five-field cron expression read in a time zone. The cron parser is written here rather than
//! taken from a crate because behaviour around daylight saving changes is what matters most for a
//! heartbeat monitor (a wrong answer is a false alarm at 3 a.m.), and it is easiest to pin down
//! when we own it:
//!
//! - a local time that does not exist (the spring-forward gap) fires at the first instant after
//!   the gap: `30 2 * * *` fires at 03:00 on the day Berlin skips from 02:00 to 03:00;
//! - a local time that occurs twice (the fall-back overlap) fires once, at its first occurrence;
//! - except that an expression whose hour field is every hour (`0 * * * *`, `*/10 * * * *`) also
//!   fires in the repeated hour, so it keeps firing every real hour. The wall clock then shows
//!   01:00, 03:00 at a spring-forward (the skipped 02:00 becomes 03:00, one real hour after 01:00)
//!   and 01:00, 02:00, 02:00, 03:00 at a fall-back. This is what Vixie cron does for "wildcard"
//!   jobs, and it means an hourly heartbeat is never given a two-hour gap by the clock.
//!
//! Searching walks the fields (month, then day, then hour, then minute) instead of trying every
//! minute, and an expression that can never fire (`0 0 31 2 *`) is a parse error, so a search
//! always ends quickly.

use std::fmt;
use std::time::Duration;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

/// A cron expression that does not parse: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct CronError {
    /// 1-based, in characters, pointing at the offending value (one past the end when a field is
    /// missing).
    pub column: usize,
    pub message: String,
}

/// When a heartbeat's job is expected to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Every so often, counted from the last ping: there are no fire times of its own, and the
    /// deadline is `last_ping + period` (plus grace).
    Period(Duration),
    /// At the times a cron expression names, read on the wall clock of `tz`.
    Cron { expr: CronExpr, tz: Tz },
}

impl Schedule {
    /// The next fire time strictly after `t`.
    ///
    /// For a period this is `t + period`, the arithmetic a deadline counted from a ping at `t`
    /// needs. A cron expression that never fires again (past the year 262,000) gives
    /// `DateTime::MAX_UTC`: never late.
    pub fn next_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Schedule::Period(period) => plus(t, *period),
            Schedule::Cron { expr, tz } => expr.next_after(t, *tz).unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// The latest fire time at or before `t`: the run a ping at `t` belongs to.
    ///
    /// For a period this is `t` itself: each ping starts its own run. Before any representable
    /// fire time, `DateTime::MIN_UTC`.
    pub fn previous_at_or_before(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Schedule::Period(_) => t,
            Schedule::Cron { expr, tz } => expr.previous_at_or_before(t, *tz).unwrap_or(DateTime::<Utc>::MIN_UTC),
        }
    }
}

/// What a heartbeat monitor expects: a schedule, and how long past a due run it waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    pub schedule: Schedule,
    pub grace: Duration,
}

impl Heartbeat {
    /// When the monitor becomes late if no success arrives: for a period,
    /// `last_success + period + grace`; for cron, the first fire time after `last_success`, plus
    /// grace. `since` (when watching began) stands in for a success that never happened.
    ///
    /// The monitor is late when `now >= deadline`: at the deadline the grace is used up.
    ///
    /// A ping that arrives before the fire time it was meant for (a clock ahead of ours) counts
    /// for the run before, so the deadline moves to the run after: the grace covers late jobs,
    /// not early ones.
    pub fn deadline(&self, last_success: Option<DateTime<Utc>>, since: DateTime<Utc>) -> DateTime<Utc> {
        plus(self.schedule.next_after(last_success.unwrap_or(since)), self.grace)
    }

    pub fn is_late(&self, last_success: Option<DateTime<Utc>>, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now >= self.deadline(last_success, since)
    }
}

/// `t + d`, saturating: a deadline too far away to represent is never reached.
fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(d).ok().and_then(|d| t.checked_add_signed(d)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A parsed five-field cron expression: each field a set of allowed values, as bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronExpr {
    minutes: u64,
    hours: u64,
    /// Bits 1 to 31.
    days: u64,
    /// Bits 1 to 12.
    months: u64,
    /// Bits 0 (Sunday) to 6; a 7 in the text is folded into 0.
    weekdays: u64,
    /// Vixie cron's rule: when both day fields are restricted (neither starts with `*`), a day
    /// matching either one fires; otherwise a day must match both.
    either_day: bool,
    /// The expression as written, whitespace normalized, for display.
    text: String,
}

/// How far a search looks before giving up. The Gregorian calendar repeats every 400 years, so
/// anything that fires at all fires within that.
const SEARCH_YEARS: i32 = 401;

/// How far ahead (or back) a search looks for an offset change that would make the wall clock
/// read earlier (or later) than it does now. This assumes what every zone's rules since 1970
/// satisfy: an offset changes at most once in this span, and by less than it.
const LOOKAROUND: TimeDelta = TimeDelta::hours(6);

const EVERY_HOUR: u64 = (1 << 24) - 1;

impl CronExpr {
    pub fn parse(text: &str) -> Result<CronExpr, CronError> {
        let source = Source(text);
        let words = words(text);
        let Some(&(_, first)) = words.first() else {
            return Err(source.error(0, format!("empty cron expression; write five fields: {FIELD_NAMES}")));
        };
        if first.starts_with('@') {
            return parse_macro(&source, &words);
        }
        if words.len() < FIELDS.len() {
            let missing = FIELDS[words.len()].name;
            let message = format!("missing the {missing} field; a cron expression has five: {FIELD_NAMES}");
            return Err(source.error(text.trim_end().len(), message));
        }
        if let Some(&(at, extra)) = words.get(FIELDS.len()) {
            let message = format!(
                "unexpected sixth field `{extra}`; a cron expression has five ({FIELD_NAMES}), without seconds or years"
            );
            return Err(source.error(at, message));
        }
        let mut sets = [0u64; 5];
        for (set, (field, &(at, word))) in sets.iter_mut().zip(FIELDS.iter().zip(&words)) {
            *set = parse_field(&source, at, word, field)?;
        }
        let [minutes, hours, days, months, weekdays] = sets;
        let expr = CronExpr {
            minutes,
            hours,
            days,
            months,
            weekdays: (weekdays | weekdays >> 7) & 0x7f,
            either_day: !words[2].1.starts_with('*') && !words[4].1.starts_with('*'),
            text: words.iter().map(|(_, word)| *word).collect::<Vec<_>>().join(" "),
        };
        if !expr.either_day && !expr.some_month_has_a_day() {
            let (at, word) = words[2];
            let message = format!("day `{word}` never occurs in the months selected, so this would never fire");
            return Err(source.error(at, message));
        }
        Ok(expr)
    }

    /// The first fire time strictly after `t`, on the wall clock of `tz`. None only when none is
    /// representable.
    pub fn next_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // Start from the earliest wall-clock reading that can still lie ahead: when the clock
        // falls back in the next hours, it will read earlier than it reads now.
        let later = t.checked_add_signed(LOOKAROUND).unwrap_or(t);
        let offset = offset_at(t, tz).min(offset_at(later, tz));
        let mut local = self.first_local_at_or_after(t.naive_utc().checked_add_signed(offset)?)?;
        let mut best: Option<DateTime<Utc>> = None;
        loop {
            let (first, second) = self.instants(local, tz)?;
            for at in [Some(first), second].into_iter().flatten().filter(|at| *at > t) {
                best = Some(best.map_or(at, |best| best.min(at)));
            }
            // Later local times never fire before this one's first instant, so nothing after
            // this can win; earlier ones may have had a second instant (a repeated hour) in
            // between, which `best` has kept.
            if first > t {
                return best;
            }
            local = self.first_local_at_or_after(local.checked_add_signed(TimeDelta::minutes(1))?)?;
        }
    }

    /// The latest fire time at or before `t`, on the wall clock of `tz`. None only when none is
    /// representable.
    pub fn previous_at_or_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // The mirror of `next_after`: start from the latest reading that can lie behind.
        let earlier = t.checked_sub_signed(LOOKAROUND).unwrap_or(t);
        let offset = offset_at(t, tz).max(offset_at(earlier, tz));
        let mut local = self.last_local_at_or_before(t.naive_utc().checked_add_signed(offset)?)?;
        let mut best: Option<DateTime<Utc>> = None;
        loop {
            let (first, second) = self.instants(local, tz)?;
            for at in [Some(first), second].into_iter().flatten().filter(|at| *at <= t) {
                best = Some(best.map_or(at, |best| best.max(at)));
            }
            if second.unwrap_or(first) <= t {
                return best;
            }
            local = self.last_local_at_or_before(local.checked_sub_signed(TimeDelta::minutes(1))?)?;
        }
    }

    /// The instants at which a matching wall-clock time fires: its first occurrence (or the end
    /// of the gap it falls in), and a second one when the hour repeats and this expression fires
    /// every hour.
    fn instants(&self, local: NaiveDateTime, tz: Tz) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(at) => Some((at.to_utc(), None)),
            LocalResult::Ambiguous(a, b) => {
                let (a, b) = (a.to_utc(), b.to_utc());
                Some((a.min(b), (self.hours == EVERY_HOUR).then_some(a.max(b))))
            }
            LocalResult::None => first_instant_reading(local, tz).map(|at| (at, None)),
        }
    }

    /// The first matching wall-clock minute at or after `from`.
    fn first_local_at_or_after(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let whole_minute = from.with_second(0)?.with_nanosecond(0)?;
        let from = if whole_minute == from { from } else { whole_minute.checked_add_signed(TimeDelta::minutes(1))? };
        let limit = from.year().checked_add(SEARCH_YEARS)?;
        let mut date = from.date();
        // Only the first day starts part-way through.
        let mut start = (from.hour(), from.minute());
        while date.year() <= limit {
            if !has(self.months, date.month()) {
                date = first_of_next_month(date)?;
                start = (0, 0);
                continue;
            }
            if self.matches_day(date)
                && let Some(time) = self.first_time_from(start.0, start.1)
            {
                return Some(date.and_time(time));
            }
            date = date.succ_opt()?;
            start = (0, 0);
        }
        None
    }

    /// The last matching wall-clock minute at or before `from`.
    fn last_local_at_or_before(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let limit = from.year().checked_sub(SEARCH_YEARS)?;
        let mut date = from.date();
        let mut end = (from.hour(), from.minute());
        while date.year() >= limit {
            if !has(self.months, date.month()) {
                date = date.with_day(1)?.pred_opt()?;
                end = (23, 59);
                continue;
            }
            if self.matches_day(date)
                && let Some(time) = self.last_time_until(end.0, end.1)
            {
                return Some(date.and_time(time));
            }
            date = date.pred_opt()?;
            end = (23, 59);
        }
        None
    }

    /// The first matching time of day at or after `hour:minute`.
    fn first_time_from(&self, hour: u32, minute: u32) -> Option<NaiveTime> {
        let h = first_from(self.hours, hour)?;
        if let Some(m) = first_from(self.minutes, if h == hour { minute } else { 0 }) {
            return NaiveTime::from_hms_opt(h, m, 0);
        }
        let h = first_from(self.hours, h + 1)?;
        NaiveTime::from_hms_opt(h, first_from(self.minutes, 0)?, 0)
    }

    /// The last matching time of day at or before `hour:minute`.
    fn last_time_until(&self, hour: u32, minute: u32) -> Option<NaiveTime> {
        let h = last_until(self.hours, hour)?;
        if let Some(m) = last_until(self.minutes, if h == hour { minute } else { 59 }) {
            return NaiveTime::from_hms_opt(h, m, 0);
        }
        let h = last_until(self.hours, h.checked_sub(1)?)?;
        NaiveTime::from_hms_opt(h, last_until(self.minutes, 59)?, 0)
    }

    fn matches_day(&self, date: NaiveDate) -> bool {
        let day = has(self.days, date.day());
        let weekday = has(self.weekdays, date.weekday().num_days_from_sunday());
        if self.either_day { day || weekday } else { day && weekday }
    }

    /// Whether the day-of-month field names a day some selected month has (February: the 29th).
    fn some_month_has_a_day(&self) -> bool {
        (1..=12).filter(|&month| has(self.months, month)).any(|month| {
            let longest = match month {
                2 => 29,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            self.days & ((2 << longest) - 1) != 0
        })
    }

    #[cfg(test)]
    fn matches(&self, local: NaiveDateTime) -> bool {
        has(self.months, local.month())
            && self.matches_day(local.date())
            && has(self.hours, local.hour())
            && has(self.minutes, local.minute())
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The zone's offset from UTC at `t`.
fn offset_at(t: DateTime<Utc>, tz: Tz) -> TimeDelta {
    TimeDelta::seconds(i64::from(tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc()))
}

/// The first instant at which the wall clock of `tz` reads `local` or later: for a local time in
/// a gap, the instant the clock jumps.
///
/// A binary search over a window wide enough for any offset (-12h to +14h, and historical local
/// mean times a little beyond), to the second, since some historical transitions were not on a
/// whole minute.
fn first_instant_reading(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    let reads = |ts: i64| DateTime::from_timestamp(ts, 0).map(|at| at.with_timezone(&tz).naive_local());
    let guess = local.and_utc().timestamp();
    // Invariant: the clock reads before `local` at `lo`, at or after it at `hi`.
    let (mut lo, mut hi) = (guess - 26 * 3600, guess + 26 * 3600);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reads(mid)? >= local {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

fn first_of_next_month(date: NaiveDate) -> Option<NaiveDate> {
    match date.month() {
        12 => NaiveDate::from_ymd_opt(date.year().checked_add(1)?, 1, 1),
        month => NaiveDate::from_ymd_opt(date.year(), month + 1, 1),
    }
}

fn has(set: u64, n: u32) -> bool {
    n < 64 && set >> n & 1 == 1
}

/// The smallest member of `set` at or above `from`.
fn first_from(set: u64, from: u32) -> Option<u32> {
    let rest = if from < 64 { set >> from << from } else { 0 };
    (rest != 0).then(|| rest.trailing_zeros())
}

/// The largest member of `set` at or below `until`.
fn last_until(set: u64, until: u32) -> Option<u32> {
    let rest = if until < 63 { set & ((2 << until) - 1) } else { set };
    (rest != 0).then(|| 63 - rest.leading_zeros())
}

// --- parsing ------------------------------------------------------------------------------------

/// One field's rules.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// What `*` and an open-ended `n/step` reach: `max`, except for the day of the week, where
    /// 7 is only another name for Sunday.
    last: u32,
    /// Names for `min`, `min + 1`, ...
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, last: 59, names: &[] },
    Field { name: "hour", min: 0, max: 23, last: 23, names: &[] },
    Field { name: "day-of-month", min: 1, max: 31, last: 31, names: &[] },
    Field {
        name: "month",
        min: 1,
        max: 12,
        last: 12,
        names: &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    },
    Field { name: "day-of-week", min: 0, max: 7, last: 6, names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

const FIELD_NAMES: &str = "minute hour day-of-month month day-of-week";

const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// The text being parsed, for turning byte offsets into columns.
struct Source<'t>(&'t str);

impl Source<'_> {
    fn error(&self, byte: usize, message: impl Into<String>) -> CronError {
        CronError { column: self.0[..byte].chars().count() + 1, message: message.into() }
    }
}

/// The whitespace-separated words of `text`, with their byte offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                words.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    words
}

fn parse_macro(source: &Source, words: &[(usize, &str)]) -> Result<CronExpr, CronError> {
    let (at, word) = words[0];
    let name = word.to_ascii_lowercase();
    let Some((_, fields)) = MACROS.iter().find(|(macro_name, _)| *macro_name == name) else {
        let names: Vec<&str> = MACROS.iter().map(|(name, _)| *name).collect();
        return Err(source.error(at, format!("unknown macro `{word}`; expected one of {}", names.join(", "))));
    };
    if let Some(&(extra_at, _)) = words.get(1) {
        return Err(source.error(extra_at, format!("`{word}` stands alone: nothing may follow it")));
    }
    let mut expr = CronExpr::parse(fields)?;
    expr.text = name;
    Ok(expr)
}

/// A comma-separated list of items.
fn parse_field(source: &Source, at: usize, word: &str, field: &Field) -> Result<u64, CronError> {
    let mut set = 0;
    let mut item_at = at;
    for item in word.split(',') {
        if item.is_empty() {
            return Err(source.error(item_at, format!("empty item in the {} field", field.name)));
        }
        set |= parse_item(source, item_at, item, field)?;
        item_at += item.len() + 1;
    }
    Ok(set)
}

/// `*`, `n`, `a-b`, each optionally `/step`; `n/step` runs from n to the field's end.
fn parse_item(source: &Source, at: usize, item: &str, field: &Field) -> Result<u64, CronError> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some((at + range.len() + 1, step))),
        None => (item, None),
    };
    let (lo, hi) = if range == "*" {
        (field.min, field.last)
    } else if let Some((a, b)) = range.split_once('-') {
        let lo = parse_value(source, at, a, field)?;
        let hi = parse_value(source, at + a.len() + 1, b, field)?;
        // `fri-sun`: Sunday ends a range as 7.
        let hi = if hi < lo && field.max == 7 && hi == 0 { 7 } else { hi };
        if hi < lo {
            return Err(source.error(at, format!("`{range}` runs backwards; write the smaller value first")));
        }
        (lo, hi)
    } else {
        let value = parse_value(source, at, range, field)?;
        (value, if step.is_some() { field.last.max(value) } else { value })
    };
    let step = match step {
        None => 1,
        Some((step_at, text)) if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(source.error(step_at, format!("`{text}` is not a step; write it like */15")));
        }
        Some((step_at, text)) => match text.parse::<usize>() {
            Ok(0) => return Err(source.error(step_at, "a step must be at least 1")),
            Ok(step) => step,
            Err(_) => return Err(source.error(step_at, format!("`{text}` is too large a step"))),
        },
    };
    Ok((lo..=hi).step_by(step).fold(0, |set, value| set | 1 << value))
}

/// A number in the field's range, or one of its names (any case).
fn parse_value(source: &Source, at: usize, token: &str, field: &Field) -> Result<u32, CronError> {
    let Field { name, min, max, names, .. } = field;
    if token.is_empty() {
        return Err(source.error(at, format!("missing a value in the {name} field")));
    }
    if token.bytes().all(|b| b.is_ascii_digit()) {
        return match token.parse::<u32>() {
            Ok(value) if (*min..=*max).contains(&value) => Ok(value),
            _ => Err(source.error(at, format!("`{token}` is out of range for {name} ({min}-{max})"))),
        };
    }
    if let Some(index) = names.iter().position(|n| n.eq_ignore_ascii_case(token)) {
        return Ok(min + index as u32);
    }
    let also = match (names.first(), names.last()) {
        (Some(first), Some(last)) => format!(" or {first}-{last}"),
        _ => String::new(),
    };
    Err(source.error(at, format!("`{token}` is not a valid {name}; use {min}-{max}{also}")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono_tz::America::New_York;
    use chrono_tz::Australia::Lord_Howe;
    use chrono_tz::Europe::Berlin;
    use chrono_tz::UTC;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn expr(text: &str) -> CronExpr {
        CronExpr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn cron(text: &str, tz: Tz) -> Schedule {
        Schedule::Cron { expr: expr(text), tz }
    }

    /// A fire time as the wall clock of `tz` shows it, with the zone's abbreviation, so summer and
    /// winter time are told apart.
    fn local(at: DateTime<Utc>, tz: Tz) -> String {
        at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
    }

    /// The first `n` fire times after `from`.
    fn fires(text: &str, tz: Tz, from: &str, n: usize) -> Vec<String> {
        let schedule = cron(text, tz);
        let mut at = utc(from);
        (0..n)
            .map(|_| {
                at = schedule.next_after(at);
                local(at, tz)
            })
            .collect()
    }

    fn previous(text: &str, tz: Tz, at: &str) -> String {
        local(cron(text, tz).previous_at_or_before(utc(at)), tz)
    }

    #[test]
    fn fields_lists_ranges_steps_and_names() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "*/15 * * * *",
                "2025-01-01T00:07:00Z",
                &["2025-01-01 00:15 UTC", "2025-01-01 00:30 UTC", "2025-01-01 00:45 UTC", "2025-01-01 01:00 UTC"],
            ),
            (
                "10-50/20 9 * * *",
                "2025-01-01T09:10:00Z",
                &["2025-01-01 09:30 UTC", "2025-01-01 09:50 UTC", "2025-01-02 09:10 UTC"],
            ),
            (
                "5/15 * * * *",
                "2025-01-01T00:00:00Z",
                &[
                    "2025-01-01 00:05 UTC",
                    "2025-01-01 00:20 UTC",
                    "2025-01-01 00:35 UTC",
                    "2025-01-01 00:50 UTC",
                    "2025-01-01 01:05 UTC",
                ],
            ),
            ("0 9 * * mon-fri", "2025-01-03T10:00:00Z", &["2025-01-06 09:00 UTC", "2025-01-07 09:00 UTC"]),
            ("0 0 * * 7", "2025-01-01T00:00:00Z", &["2025-01-05 00:00 UTC", "2025-01-12 00:00 UTC"]),
            (
                "0 0 * * FRI-sun",
                "2025-01-01T00:00:00Z",
                &["2025-01-03 00:00 UTC", "2025-01-04 00:00 UTC", "2025-01-05 00:00 UTC", "2025-01-10 00:00 UTC"],
            ),
            ("0 0 1 jan,JUL *", "2025-01-01T00:00:00Z", &["2025-07-01 00:00 UTC", "2026-01-01 00:00 UTC"]),
            // Both day fields restricted: either fires (the 13th, and every Friday).
            (
                "0 0 13 * fri",
                "2025-06-01T00:00:00Z",
                &[
                    "2025-06-06 00:00 UTC",
                    "2025-06-13 00:00 UTC",
                    "2025-06-20 00:00 UTC",
                    "2025-06-27 00:00 UTC",
                    "2025-07-04 00:00 UTC",
                    "2025-07-11 00:00 UTC",
                    "2025-07-13 00:00 UTC",
                ],
            ),
            // A day field starting with `*`: both must match (the 1st, 11th, 21st or 31st, on a Friday).
            (
                "0 0 */10 * fri",
                "2025-01-01T00:00:00Z",
                &["2025-01-31 00:00 UTC", "2025-02-21 00:00 UTC", "2025-03-21 00:00 UTC"],
            ),
            ("59 23 31 12 *", "2025-06-01T00:00:00Z", &["2025-12-31 23:59 UTC", "2026-12-31 23:59 UTC"]),
            ("0 0 29 2 *", "2025-01-01T00:00:00Z", &["2028-02-29 00:00 UTC", "2032-02-29 00:00 UTC"]),
            // 2100 is not a leap year.
            ("0 0 29 2 *", "2096-03-01T00:00:00Z", &["2104-02-29 00:00 UTC"]),
            ("@hourly", "2025-01-01T00:30:00Z", &["2025-01-01 01:00 UTC", "2025-01-01 02:00 UTC"]),
            ("@daily", "2025-01-01T00:00:00Z", &["2025-01-02 00:00 UTC"]),
            ("@midnight", "2025-01-01T00:00:00Z", &["2025-01-02 00:00 UTC"]),
            ("@weekly", "2025-01-01T00:00:00Z", &["2025-01-05 00:00 UTC", "2025-01-12 00:00 UTC"]),
            ("@monthly", "2025-01-01T00:00:00Z", &["2025-02-01 00:00 UTC", "2025-03-01 00:00 UTC"]),
            ("@YEARLY", "2025-01-01T00:00:00Z", &["2026-01-01 00:00 UTC"]),
            ("@annually", "2025-01-01T00:00:00Z", &["2026-01-01 00:00 UTC"]),
        ];
        for &(text, from, expected) in cases {
            assert_eq!(fires(text, UTC, from, expected.len()), expected, "{text}");
        }
    }

    #[test]
    fn next_is_strictly_after_and_previous_is_at_or_before() {
        assert_eq!(fires("*/15 * * * *", UTC, "2025-01-01T00:15:00Z", 1), ["2025-01-01 00:30 UTC"]);
        assert_eq!(fires("*/15 * * * *", UTC, "2025-01-01T00:14:59.999Z", 1), ["2025-01-01 00:15 UTC"]);
        assert_eq!(previous("*/15 * * * *", UTC, "2025-01-01T00:15:00Z"), "2025-01-01 00:15 UTC");
        assert_eq!(previous("*/15 * * * *", UTC, "2025-01-01T00:14:59Z"), "2025-01-01 00:00 UTC");
        assert_eq!(previous("0 0 1 1 *", UTC, "2025-12-31T23:59:59Z"), "2025-01-01 00:00 UTC");
        assert_eq!(previous("0 0 29 2 *", UTC, "2027-06-01T00:00:00Z"), "2024-02-29 00:00 UTC");
        assert_eq!(previous("0 0 29 2 *", UTC, "2104-02-28T00:00:00Z"), "2096-02-29 00:00 UTC");
    }

    #[test]
    fn display_is_the_normalized_text() {
        assert_eq!(expr("  */5   *  * * MON ").to_string(), "*/5 * * * MON");
        assert_eq!(expr("@Daily").to_string(), "@daily");
        assert_eq!(expr("@daily"), CronExpr { text: "@daily".into(), ..expr("0 0 * * *") });
        assert_eq!(expr("0 0 * * 7"), CronExpr { text: "0 0 * * 7".into(), ..expr("0 0 * * 0") });
    }

    #[test]
    fn bad_expressions_name_the_column_and_the_problem() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "empty cron expression"),
            ("*", 2, "missing the hour field"),
            ("* * * *", 8, "missing the day-of-week field"),
            ("* * * * * *", 11, "unexpected sixth field `*`"),
            ("0 25 * * *", 3, "`25` is out of range for hour (0-23)"),
            ("*/15 0,25 * * *", 8, "`25` is out of range for hour (0-23)"),
            ("60 * * * *", 1, "`60` is out of range for minute (0-59)"),
            ("99999999999 * * * *", 1, "is out of range for minute"),
            ("* * 0 * *", 5, "`0` is out of range for day-of-month (1-31)"),
            ("* * 32 * *", 5, "`32` is out of range for day-of-month (1-31)"),
            ("* * * 13 *", 7, "`13` is out of range for month (1-12)"),
            ("* * * * 8", 9, "`8` is out of range for day-of-week (0-7)"),
            ("* * * foo *", 7, "`foo` is not a valid month; use 1-12 or jan-dec"),
            ("* * * * mon-foo", 13, "`foo` is not a valid day-of-week; use 0-7 or sun-sat"),
            ("* jan * * *", 3, "`jan` is not a valid hour; use 0-23"),
            ("5-1 * * * *", 1, "`5-1` runs backwards"),
            ("* * * * sat-mon", 9, "`sat-mon` runs backwards"),
            ("*/0 * * * *", 3, "a step must be at least 1"),
            ("*/x * * * *", 3, "`x` is not a step"),
            ("*/ * * * *", 3, "`` is not a step"),
            ("1,,2 * * * *", 3, "empty item in the minute field"),
            ("1- * * * *", 3, "missing a value in the minute field"),
            ("@reboot", 1, "unknown macro `@reboot`; expected one of @yearly"),
            ("@daily 5", 8, "`@daily` stands alone"),
            ("0 0 31 2 *", 5, "day `31` never occurs in the months selected"),
            ("0 0 30 2 *", 5, "never occurs"),
            ("0 0 31 apr,jun *", 5, "never occurs"),
            ("0 0 31 2 */2", 5, "never occurs"),
        ];
        for &(text, column, fragment) in cases {
            let error = CronExpr::parse(text).expect_err(text);
            assert_eq!(error.column, column, "{text}: {error}");
            assert!(error.message.contains(fragment), "{text}: {error}");
        }
        assert_eq!(
            CronExpr::parse("0 25 * * *").unwrap_err().to_string(),
            "column 3: `25` is out of range for hour (0-23)"
        );
    }

    #[test]
    fn rare_but_possible_days_parse() {
        for text in ["0 0 29 2 *", "0 0 31 2,3 *", "0 0 31 2 mon", "0 0 30 2 1-5"] {
            assert!(CronExpr::parse(text).is_ok(), "{text}");
        }
        // Either day field fires when both are restricted: every Monday in February.
        assert_eq!(fires("0 0 31 2 mon", UTC, "2025-01-01T00:00:00Z", 1), ["2025-02-03 00:00 UTC"]);
    }

    // Berlin: 2025-03-30 02:00 CET becomes 03:00 CEST; 2025-10-26 03:00 CEST becomes 02:00 CET.
    // New York: 2025-03-09 02:00 EST becomes 03:00 EDT; 2025-11-02 02:00 EDT becomes 01:00 EST.

    #[test]
    fn a_time_in_the_spring_gap_fires_when_the_gap_ends() {
        assert_eq!(
            fires("30 2 * * *", Berlin, "2025-03-29T00:00:00Z", 3),
            ["2025-03-29 02:30 CET", "2025-03-30 03:00 CEST", "2025-03-31 02:30 CEST"]
        );
        assert_eq!(
            fires("30 2 * * *", New_York, "2025-03-08T12:00:00Z", 2),
            ["2025-03-09 03:00 EDT", "2025-03-10 02:30 EDT"]
        );
        // Several times in the gap, and 03:00 itself, fire once.
        assert_eq!(
            fires("*/20 * * * *", Berlin, "2025-03-30T00:30:00Z", 3),
            ["2025-03-30 01:40 CET", "2025-03-30 03:00 CEST", "2025-03-30 03:20 CEST"]
        );
        assert_eq!(previous("30 2 * * *", Berlin, "2025-03-30T00:59:59Z"), "2025-03-29 02:30 CET");
        assert_eq!(previous("30 2 * * *", Berlin, "2025-03-30T01:00:00Z"), "2025-03-30 03:00 CEST");
    }

    #[test]
    fn a_repeated_time_fires_once_at_its_first_occurrence() {
        assert_eq!(
            fires("30 2 * * *", Berlin, "2025-10-25T00:00:00Z", 3),
            ["2025-10-25 02:30 CEST", "2025-10-26 02:30 CEST", "2025-10-27 02:30 CET"]
        );
        assert_eq!(
            fires("30 1 * * *", New_York, "2025-11-01T12:00:00Z", 2),
            ["2025-11-02 01:30 EDT", "2025-11-03 01:30 EST"]
        );
        assert_eq!(
            fires("*/30 2 * * *", Berlin, "2025-10-25T23:00:00Z", 3),
            ["2025-10-26 02:00 CEST", "2025-10-26 02:30 CEST", "2025-10-27 02:00 CET"]
        );
        // Watching during the second 02:45, the run it belongs to is the first 02:30.
        assert_eq!(previous("30 2 * * *", Berlin, "2025-10-26T01:45:00Z"), "2025-10-26 02:30 CEST");
    }

    #[test]
    fn hourly_fires_every_real_hour_across_both_changes() {
        let every_hour = |text: &str, tz: Tz, from: &str, expected: &[&str]| {
            let schedule = cron(text, tz);
            let mut at = utc(from);
            for shown in expected {
                let next = schedule.next_after(at);
                assert_eq!(&local(next, tz), shown);
                assert!(next - at <= TimeDelta::hours(1), "{shown}");
                at = next;
            }
        };
        every_hour(
            "0 * * * *",
            Berlin,
            "2025-03-29T23:30:00Z",
            &["2025-03-30 01:00 CET", "2025-03-30 03:00 CEST", "2025-03-30 04:00 CEST"],
        );
        every_hour(
            "0 * * * *",
            Berlin,
            "2025-10-25T22:30:00Z",
            &["2025-10-26 01:00 CEST", "2025-10-26 02:00 CEST", "2025-10-26 02:00 CET", "2025-10-26 03:00 CET"],
        );
        every_hour(
            "0 * * * *",
            New_York,
            "2025-03-09T05:30:00Z",
            &["2025-03-09 01:00 EST", "2025-03-09 03:00 EDT", "2025-03-09 04:00 EDT"],
        );
        every_hour(
            "0 * * * *",
            New_York,
            "2025-11-02T04:30:00Z",
            &["2025-11-02 01:00 EDT", "2025-11-02 01:00 EST", "2025-11-02 02:00 EST"],
        );
        assert_eq!(previous("0 * * * *", Berlin, "2025-10-26T01:30:00Z"), "2025-10-26 02:00 CET");
        assert_eq!(previous("0 * * * *", Berlin, "2025-10-26T00:59:59Z"), "2025-10-26 02:00 CEST");
    }

    /// Every fire time whose wall-clock reading lies in `[from, to)`, by definition: try every local
    /// minute and resolve it in the zone, finding a gap's end by walking UTC minutes.
    fn reference(expr: &CronExpr, tz: Tz, from: NaiveDateTime, to: NaiveDateTime) -> BTreeSet<DateTime<Utc>> {
        let mut fires = BTreeSet::new();
        let mut local = from;
        while local < to {
            if expr.matches(local) {
                match tz.from_local_datetime(&local) {
                    LocalResult::Single(at) => {
                        fires.insert(at.to_utc());
                    }
                    LocalResult::Ambiguous(a, b) => {
                        fires.insert(a.to_utc().min(b.to_utc()));
                        if expr.hours == EVERY_HOUR {
                            fires.insert(a.to_utc().max(b.to_utc()));
                        }
                    }
                    LocalResult::None => {
                        let mut at = local.and_utc() - TimeDelta::hours(15);
                        while at.with_timezone(&tz).naive_local() < local {
                            at += TimeDelta::minutes(1);
                        }
                        fires.insert(at);
                    }
                }
            }
            local += TimeDelta::minutes(1);
        }
        fires
    }

    #[test]
    fn agrees_with_a_minute_by_minute_reference_around_clock_changes() {
        let changes = [
            (Berlin, "2025-03-30T01:00:00Z"),
            (Berlin, "2025-10-26T01:00:00Z"),
            (New_York, "2025-03-09T07:00:00Z"),
            (New_York, "2025-11-02T06:00:00Z"),
            // Half-hour changes: 02:00 becomes 01:30 in April, 02:30 in October.
            (Lord_Howe, "2025-04-05T15:00:00Z"),
            (Lord_Howe, "2025-10-04T15:30:00Z"),
        ];
        let expressions = [
            "0 * * * *",
            "30 2 * * *",
            "*/20 1-3 * * *",
            "15 1 * * *",
            "* * * * *",
            "0,30 * * * *",
            "45 * * * *",
            "0 0 * * *",
        ];
        for (tz, change) in changes {
            let change = utc(change);
            let (from, to) = (change - TimeDelta::hours(12), change + TimeDelta::hours(12));
            for text in expressions {
                let expr = expr(text);
                let day = TimeDelta::days(1);
                let fires = reference(&expr, tz, from.naive_utc() - day, to.naive_utc() + day);
                let mut t = from;
                while t < to {
                    for t in [t, t + TimeDelta::seconds(1)] {
                        let next = fires.range(t + TimeDelta::nanoseconds(1)..).next().copied();
                        let previous = fires.range(..=t).next_back().copied();
                        assert_eq!(expr.next_after(t, tz), next, "{text} in {tz}, next after {t}");
                        assert_eq!(expr.previous_at_or_before(t, tz), previous, "{text} in {tz}, previous at {t}");
                    }
                    t += TimeDelta::minutes(5);
                }
            }
        }
    }

    #[test]
    fn a_period_schedule_is_arithmetic() {
        let schedule = Schedule::Period(Duration::from_secs(300));
        let t = utc("2025-01-01T00:00:00Z");
        assert_eq!(schedule.next_after(t), utc("2025-01-01T00:05:00Z"));
        assert_eq!(schedule.previous_at_or_before(t), t);
        assert_eq!(Schedule::Period(Duration::MAX).next_after(t), DateTime::<Utc>::MAX_UTC);
    }

    /// The deadline is `expected`; one second before it the monitor is not late, at it and one
    /// second after it is.
    fn assert_deadline(heartbeat: &Heartbeat, last_success: Option<&str>, since: &str, expected: &str) {
        let (last_success, since) = (last_success.map(utc), utc(since));
        let deadline = heartbeat.deadline(last_success, since);
        assert_eq!(deadline, utc(expected), "{heartbeat:?} after {last_success:?}");
        let second = TimeDelta::seconds(1);
        assert!(!heartbeat.is_late(last_success, since, deadline - second));
        assert!(heartbeat.is_late(last_success, since, deadline));
        assert!(heartbeat.is_late(last_success, since, deadline + second));
    }

    #[test]
    fn period_deadlines_to_the_second() {
        let second = Duration::from_secs(1);
        let tight = Heartbeat { schedule: Schedule::Period(second), grace: second };
        let since = "2024-12-31T00:00:00Z";
        assert_deadline(&tight, Some("2025-01-01T00:00:00Z"), since, "2025-01-01T00:00:02Z");
        assert_deadline(&tight, Some("2025-01-01T00:00:00.500Z"), since, "2025-01-01T00:00:02.500Z");
        assert_deadline(&tight, None, "2025-01-01T00:00:00Z", "2025-01-01T00:00:02Z");
        let hourly =
            Heartbeat { schedule: Schedule::Period(Duration::from_secs(3600)), grace: Duration::from_secs(300) };
        assert_deadline(&hourly, Some("2025-12-31T23:30:00Z"), since, "2026-01-01T00:35:00Z");
        let daily = Heartbeat { schedule: Schedule::Period(Duration::from_secs(86_400)), grace: Duration::ZERO };
        assert_deadline(&daily, Some("2024-02-28T12:00:00Z"), since, "2024-02-29T12:00:00Z");
    }

    #[test]
    fn cron_deadlines_across_clock_changes_year_ends_and_leap_days() {
        let heartbeat = |text: &str, tz: Tz, grace_secs: u64| Heartbeat {
            schedule: cron(text, tz),
            grace: Duration::from_secs(grace_secs),
        };
        let since = "2020-01-01T00:00:00Z";
        let nightly = heartbeat("30 2 * * *", Berlin, 600);
        // spring: 02:30 does not exist, the run is due at 03:00 CEST
        assert_deadline(&nightly, Some("2025-03-29T01:31:00Z"), since, "2025-03-30T01:10:00Z");
        // never a success: counted from when watching began
        assert_deadline(&nightly, None, "2025-03-29T01:31:00Z", "2025-03-30T01:10:00Z");
        // fall: due at the first 02:30 (CEST), and after that not again until the next day
        assert_deadline(&nightly, Some("2025-10-25T00:31:00Z"), since, "2025-10-26T00:40:00Z");
        assert_deadline(&nightly, Some("2025-10-26T00:31:00Z"), since, "2025-10-27T01:40:00Z");
        let hourly = heartbeat("0 * * * *", Berlin, 1);
        assert_deadline(&hourly, Some("2025-03-30T00:00:05Z"), since, "2025-03-30T01:00:01Z");
        assert_deadline(&hourly, Some("2025-10-26T00:00:05Z"), since, "2025-10-26T01:00:01Z");

        let spring = heartbeat("30 2 * * *", New_York, 900);
        assert_deadline(&spring, Some("2025-03-08T07:31:00Z"), since, "2025-03-09T07:15:00Z");
        let fall = heartbeat("30 1 * * *", New_York, 900);
        assert_deadline(&fall, Some("2025-11-01T05:31:00Z"), since, "2025-11-02T05:45:00Z");
        assert_deadline(&fall, Some("2025-11-02T05:31:00Z"), since, "2025-11-03T06:45:00Z");
        let hourly = heartbeat("0 * * * *", New_York, 60);
        assert_deadline(&hourly, Some("2025-11-02T05:00:30Z"), since, "2025-11-02T06:01:00Z");

        assert_deadline(&heartbeat("0 0 1 1 *", UTC, 1), Some("2025-01-01T00:00:05Z"), since, "2026-01-01T00:00:01Z");
        assert_deadline(
            &heartbeat("59 23 31 12 *", Berlin, 60),
            Some("2025-06-01T00:00:00Z"),
            since,
            "2025-12-31T23:00:00Z",
        );
        assert_deadline(
            &heartbeat("0 12 29 2 *", Berlin, 3600),
            Some("2024-02-29T11:00:30Z"),
            since,
            "2028-02-29T12:00:00Z",
        );
    }
}
