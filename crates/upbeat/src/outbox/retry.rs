//! When to try a delivery again, and when to stop: pure, so the policy is tested at its edges.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The first retry comes this soon (before jitter)...
pub const FIRST_RETRY: Duration = Duration::from_secs(5);
/// ...each doubles, up to this...
pub const MAX_RETRY: Duration = Duration::from_secs(600);
/// ...and after this long since it was enqueued, a delivery is given up on.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How one attempt to reach a receiver went, in terms of what to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Worth another try; the receiver may have said when (`Retry-After`).
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Trying again cannot help: a 4xx other than 408 and 429, a rejected address.
    Permanent {
        error: String,
    },
    /// Not sent, rightly: the subscriber left, the outage a reminder was for is over.
    Cancelled {
        reason: String,
    },
}

/// An HTTP answer's verdict: 2xx delivered; 408, 429 and 5xx transient (honouring
/// `Retry-After` in seconds or as an HTTP date); other statuses permanent.
pub fn http_verdict(status: u16, retry_after: Option<&str>, now: DateTime<Utc>, body: &str) -> Verdict {
    let snippet: String = body.chars().take(200).collect();
    let error =
        if snippet.trim().is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {}", snippet.trim()) };
    match status {
        200..=299 => Verdict::Delivered,
        408 | 429 | 500..=599 => {
            Verdict::Transient { error, retry_after: retry_after.and_then(|v| parse_retry_after(v, now)) }
        }
        _ => Verdict::Permanent { error },
    }
}

/// `Retry-After`: delay-seconds or an HTTP date.
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// When to try again after attempt number `attempts` (1 for the first failure), with `jitter` in
/// [0, 1) spreading retries so a receiver that comes back is not hit by all of them at once; or
/// `None` when it is time to give up.
pub fn next_attempt(
    created_at: DateTime<Utc>,
    attempts: u32,
    retry_after: Option<Duration>,
    jitter: f64,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let doubling = FIRST_RETRY.saturating_mul(1u32 << attempts.saturating_sub(1).min(16)).min(MAX_RETRY);
    // Half fixed, half random: never sooner than half the step, never later than the step.
    let backoff = doubling.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    // The receiver's own wish wins, within the cap.
    let wait = retry_after.map_or(backoff, |asked| asked.min(MAX_RETRY));
    let at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    let give_up = created_at + chrono::Duration::from_std(GIVE_UP_AFTER).unwrap_or(chrono::Duration::MAX);
    (at <= give_up).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(s)
    }

    #[test]
    fn statuses_decide_between_retrying_and_giving_up() {
        assert_eq!(http_verdict(204, None, t(0), ""), Verdict::Delivered);
        for status in [408, 429, 500, 502, 503] {
            assert!(matches!(http_verdict(status, None, t(0), ""), Verdict::Transient { .. }), "{status}");
        }
        for status in [400, 401, 403, 404, 410, 301] {
            assert!(matches!(http_verdict(status, None, t(0), ""), Verdict::Permanent { .. }), "{status}");
        }
        assert_eq!(
            http_verdict(404, None, t(0), "  no such hook \n"),
            Verdict::Permanent { error: "HTTP 404: no such hook".into() }
        );
    }

    #[test]
    fn retry_after_is_honoured_in_seconds_or_as_a_date() {
        let asked = |v: &str| match http_verdict(429, Some(v), t(0), "") {
            Verdict::Transient { retry_after, .. } => retry_after,
            other => panic!("{other:?}"),
        };
        assert_eq!(asked("7"), Some(Duration::from_secs(7)));
        assert_eq!(asked("Sun, 01 Mar 2026 12:00:30 GMT"), Some(Duration::from_secs(30)));
        assert_eq!(asked("soon"), None);
        assert_eq!(next_attempt(t(0), 1, Some(Duration::from_secs(7)), 0.9, t(0)), Some(t(7)));
        assert_eq!(next_attempt(t(0), 1, Some(Duration::from_secs(86_400)), 0.0, t(0)), Some(t(600)), "capped");
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_ten_minutes_for_a_day() {
        // First retry within seconds: 2.5 s to 5 s.
        assert_eq!(next_attempt(t(0), 1, None, 0.0, t(0)), Some(t(0) + chrono::Duration::milliseconds(2500)));
        assert_eq!(next_attempt(t(0), 1, None, 0.999_999, t(0)).map(|a| (a - t(0)).num_seconds()), Some(4));
        assert_eq!(next_attempt(t(0), 2, None, 0.0, t(0)), Some(t(5)));
        assert_eq!(next_attempt(t(0), 3, None, 0.0, t(0)), Some(t(10)));
        for attempts in [8, 9, 30, u32::MAX] {
            assert_eq!(next_attempt(t(0), attempts, None, 0.0, t(0)), Some(t(300)), "{attempts}");
            assert!(next_attempt(t(0), attempts, None, 1.0, t(0)) <= Some(t(600)));
        }
        // A day after it was enqueued, no more.
        assert_eq!(next_attempt(t(0), 200, None, 0.0, t(86_400 - 300)), Some(t(86_400)));
        assert_eq!(next_attempt(t(0), 200, None, 0.0, t(86_400 - 299)), None);
    }
}
