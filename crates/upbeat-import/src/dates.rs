//! Dates as feeds write them: RFC 2822 (with `+0000`, `-0000`, `GMT`, `UT`, `Z` and the US zone
//! names) and RFC 3339 (with offsets).

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};

/// Parses an RFC 2822 or RFC 3339 date into UTC.
pub fn parse(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    rfc2822(text).ok_or_else(|| format!("`{text}` is not an RFC 2822 or RFC 3339 date"))
}

fn rfc2822(text: &str) -> Option<DateTime<Utc>> {
    // The weekday is optional and not checked against the date; feeds get it wrong.
    let rest = match text.split_once(',') {
        Some((_, rest)) => rest.trim(),
        None => text,
    };
    let mut parts = rest.split_whitespace();
    let day = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    let time = parts.next()?;
    let zone = parts.next().unwrap_or("GMT");
    if parts.next().is_some() {
        return None;
    }
    let year = match year.len() {
        2 => {
            let y: i32 = year.parse().ok()?;
            if y < 50 { 2000 + y } else { 1900 + y }
        }
        _ => year.parse().ok()?,
    };
    let time = if time.matches(':').count() == 1 { format!("{time}:00") } else { time.to_owned() };
    let naive = NaiveDateTime::parse_from_str(&format!("{day} {month} {year} {time}"), "%d %b %Y %H:%M:%S").ok()?;
    let offset = FixedOffset::east_opt(zone_seconds(zone)?)?;
    Some(naive.and_local_timezone(offset).single()?.with_timezone(&Utc))
}

fn zone_seconds(zone: &str) -> Option<i32> {
    let hours = match zone.to_ascii_uppercase().as_str() {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        _ => {
            let (sign, digits) = match zone.as_bytes().first()? {
                b'+' => (1, &zone[1..]),
                b'-' => (-1, &zone[1..]),
                _ => return None,
            };
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (h, m): (i32, i32) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
            if m >= 60 {
                return None;
            }
            return Some(sign * (h * 3600 + m * 60));
        }
    };
    Some(hours * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zone_spelling_lands_on_the_same_instant() {
        let want = "2025-06-30T12:09:50+00:00";
        for text in [
            "Mon, 30 Jun 2025 12:09:50 +0000",
            "Mon, 30 Jun 2025 12:09:50 -0000",
            "Mon, 30 Jun 2025 12:09:50 GMT",
            "Mon, 30 Jun 2025 12:09:50 UT",
            "30 Jun 2025 12:09:50 Z",
            "Mon, 30 Jun 2025 08:09:50 EDT",
            "Mon, 30 Jun 2025 07:09:50 CDT",
            "Mon, 30 Jun 2025 05:09:50 PDT",
            "Mon, 30 Jun 2025 17:39:50 +0530",
            "2025-06-30T12:09:50Z",
            "2025-06-30T14:09:50+02:00",
            "2025-06-30T08:09:50.000-04:00",
        ] {
            assert_eq!(parse(text).map(|t| t.to_rfc3339()), Ok(want.to_owned()), "{text}");
        }
        assert_eq!(parse("Tue, 30 Dec 2025 23:00:00 EST").unwrap().to_rfc3339(), "2025-12-31T04:00:00+00:00");
    }

    #[test]
    fn nonsense_is_refused() {
        for text in
            ["", "yesterday", "Mon, 31 Feb 2025 12:00:00 +0000", "Mon, 30 Jun 2025 12:09:50 +25x0", "30 Jun 2025"]
        {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
