//! Statuspage history feeds (`history.rss`, `history.atom`), and upbeat's own, which copy them.
//!
//! One item (or Atom entry) per incident or maintenance; its HTML body lists every update, newest
//! first, each a paragraph like
//! `<p><small>Jun <var data-var='date'>23</var>, <var data-var='time'>18:45</var> UTC</small><br>
//! <strong>Resolved</strong> - This incident has been resolved.</p>`.
//!
//! The dates in the body carry no year. Each takes the year (the item's, the one before or the one
//! after) that puts it nearest to the item's own date: Statuspage dates an item by one of its
//! updates and upbeat by the incident's start, so either way an update is within days of it, and
//! an incident that spans New Year lands on both sides of it. An incident longer than six months
//! would be misdated; none is.
//!
//! Feeds carry neither the impact nor the components: incidents come in with [`Impact::Minor`] (the
//! least that is still an incident) and no components.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use chrono::{DateTime, Datelike, Duration, Utc};
use upbeat_core::import::{
    ImportSet, ImportedIncident, ImportedMaintenance, ImportedPostmortem, ImportedUpdate, guid_hash_of,
};
use upbeat_core::incident::{ComponentStatuses, Impact, IncidentStatus};

use crate::statuspage::Status;
use crate::xml::Element;
use crate::{ImportError, Options};

/// How long a maintenance whose end the feed does not say is taken to last.
const DEFAULT_MAINTENANCE: Duration = Duration::hours(1);

/// A maintenance's window: from, until.
type Window = (DateTime<Utc>, DateTime<Utc>);

pub fn parse(root: &Element, _options: &Options) -> Result<ImportSet, ImportError> {
    let (format, raws) = match root.name.as_str() {
        "rss" => {
            let channel =
                root.child("channel").ok_or_else(|| ImportError::at(root.line, "rss", "<channel> is missing"))?;
            let items = channel.children_named("item").map(rss_item).collect::<Result<Vec<_>, _>>()?;
            ("Statuspage history RSS", items)
        }
        "feed" => {
            let entries = root.children_named("entry").map(atom_entry).collect::<Result<Vec<_>, _>>()?;
            ("Statuspage history Atom", entries)
        }
        other => {
            return Err(ImportError::at(root.line, other, "not a history feed: expected <rss> or <feed> (Atom)"));
        }
    };

    let mut set = ImportSet { format: format.into(), ..ImportSet::default() };
    // Guid → the first item with it (its line and what it parsed into).
    let mut seen: BTreeMap<String, (usize, Parsed)> = BTreeMap::new();
    // Key → the guid that claimed it, so two different items cannot share one incident.
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for raw in &raws {
        set.items += 1;
        let parsed = parse_item(raw)?;
        match seen.entry(raw.guid.clone()) {
            Entry::Occupied(first) if first.get().1 == parsed => set.duplicates += 1,
            Entry::Occupied(first) => {
                return Err(raw.fail(format!(
                    "the guid `{}` appears twice (first on line {}) with different contents",
                    raw.guid,
                    first.get().0
                )));
            }
            Entry::Vacant(slot) => {
                let key = parsed.key().to_owned();
                if let Some(other) = keys.insert(key.clone(), raw.guid.clone()) {
                    return Err(raw.fail(format!("`{}` and `{other}` are both the incident `{key}`", raw.guid)));
                }
                order.push(raw.guid.clone());
                slot.insert((raw.line, parsed));
            }
        }
    }

    let mut window: Option<Window> = None;
    let mut widen = |at: DateTime<Utc>| window = Some(window.map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))));
    for guid in order {
        let Some((_, parsed)) = seen.remove(&guid) else { continue };
        match parsed {
            Parsed::Incident(incident) => {
                incident.updates.iter().for_each(|u| widen(u.at));
                if let Some(p) = &incident.postmortem {
                    widen(p.published_at);
                }
                set.incidents.push(incident);
            }
            Parsed::Maintenance(maintenance, notes) => {
                maintenance.updates.iter().for_each(|(at, _)| widen(*at));
                set.notes.extend(notes);
                set.maintenances.push(maintenance);
            }
        }
    }
    set.window = window;
    Ok(set)
}

/// An item or entry as the feed has it, before its body is read.
struct Raw {
    line: usize,
    /// `item` or `entry`, for errors.
    element: &'static str,
    guid: String,
    link: String,
    title: String,
    /// The item's own date: `pubDate`, or Atom's `published`.
    date: DateTime<Utc>,
    /// The HTML body, unescaped once by the XML parser.
    body: String,
}

impl Raw {
    fn fail(&self, message: impl Into<String>) -> ImportError {
        ImportError::at(self.line, self.element, message)
    }
}

/// The child's text, trimmed, or an error naming the item.
fn required<'a>(item: &'a Element, name: &str) -> Result<&'a str, ImportError> {
    match item.child_text(name).map(str::trim) {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(ImportError::at(item.line, &item.name, format!("<{name}> is missing or empty"))),
    }
}

fn date_of(item: &Element, name: &str) -> Result<DateTime<Utc>, ImportError> {
    let text = required(item, name)?;
    crate::dates::parse(text).map_err(|message| ImportError::at(item.line, &item.name, format!("<{name}>: {message}")))
}

fn rss_item(item: &Element) -> Result<Raw, ImportError> {
    let link = item.child_text("link").unwrap_or("").trim().to_owned();
    let guid = match item.child_text("guid").map(str::trim) {
        Some(guid) if !guid.is_empty() => guid.to_owned(),
        _ if !link.is_empty() => link.clone(),
        _ => return Err(ImportError::at(item.line, "item", "<guid> and <link> are both missing or empty")),
    };
    Ok(Raw {
        line: item.line,
        element: "item",
        title: required(item, "title")?.to_owned(),
        date: date_of(item, "pubDate")?,
        body: required(item, "description")?.to_owned(),
        guid,
        link,
    })
}

fn atom_entry(entry: &Element) -> Result<Raw, ImportError> {
    let link = entry
        .children_named("link")
        .find(|l| matches!(l.attr("rel"), None | Some("alternate")))
        .and_then(|l| l.attr("href"))
        .unwrap_or("")
        .trim()
        .to_owned();
    let date = match (entry.child("published"), entry.child("updated")) {
        (None, None) => return Err(ImportError::at(entry.line, "entry", "<published> and <updated> are both missing")),
        (Some(_), _) => date_of(entry, "published")?,
        (None, Some(_)) => date_of(entry, "updated")?,
    };
    if let Some(kind) = entry.child("content").and_then(|c| c.attr("type")).filter(|t| !matches!(*t, "html" | "text")) {
        return Err(ImportError::at(
            entry.line,
            "entry",
            format!("<content type=\"{kind}\"> is not supported: Statuspage writes type=\"html\""),
        ));
    }
    Ok(Raw {
        line: entry.line,
        element: "entry",
        guid: required(entry, "id")?.to_owned(),
        title: required(entry, "title")?.to_owned(),
        body: required(entry, "content")?.to_owned(),
        date,
        link,
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Incident(ImportedIncident),
    /// With notes on what had to be guessed.
    Maintenance(ImportedMaintenance, Vec<String>),
}

impl Parsed {
    fn key(&self) -> &str {
        match self {
            Parsed::Incident(i) => &i.key,
            Parsed::Maintenance(m, _) => &m.key,
        }
    }
}

/// An item's body, read.
struct Body {
    /// The `THIS IS A SCHEDULED EVENT` window, if the body opens with one, or why it is unreadable.
    schedule: Option<Result<Window, String>>,
    /// Newest first, as written.
    lines: Vec<Line>,
}

/// One update from the body.
#[derive(Debug)]
struct Line {
    at: DateTime<Utc>,
    label: Status,
    text: String,
}

fn parse_item(raw: &Raw) -> Result<Parsed, ImportError> {
    let Body { schedule, mut lines } = read_body(&raw.body, raw.date).map_err(|m| raw.fail(m))?;
    if lines.is_empty() {
        return Err(raw.fail("the body lists no updates (`<small>` date, `<strong>` status, text)"));
    }
    // The body is newest first; from here on, oldest first.
    lines.reverse();
    let key =
        format!("statuspage:{}", incident_code(&raw.link).or_else(|| incident_code(&raw.guid)).unwrap_or(&raw.guid));
    let maintenance = lines.iter().any(|l| l.label.is_maintenance());
    if maintenance {
        if let Some(l) = lines.iter().find(|l| l.label.is_incident()) {
            return Err(raw.fail(format!(
                "`{}` is an incident's status, but the other updates are a maintenance's",
                l.label.label()
            )));
        }
        maintenance_of(raw, key, schedule, lines)
    } else {
        incident_of(raw, key, lines)
    }
}

fn incident_of(raw: &Raw, key: String, lines: Vec<Line>) -> Result<Parsed, ImportError> {
    let mut postmortem: Option<ImportedPostmortem> = None;
    let mut updates: Vec<ImportedUpdate> = Vec::new();
    let mut status = IncidentStatus::Investigating;
    for line in lines {
        if line.label == Status::Postmortem {
            if postmortem.is_some() {
                return Err(raw.fail("the body has more than one Postmortem"));
            }
            postmortem = Some(ImportedPostmortem { body: line.text, published_at: line.at });
            continue;
        }
        status = line.label.incident().unwrap_or(status);
        let hash = format!("{key}\n{}\n{}\n{}", line.at.to_rfc3339(), line.label.label(), line.text);
        updates.push(ImportedUpdate { guid_hash: guid_hash_of(&hash), status, body: line.text, at: line.at });
    }
    // Statuses follow the body's order; the dates decide where each update goes.
    updates.sort_by_key(|u| u.at);
    let (Some(first), Some(last)) = (updates.first(), updates.last()) else {
        return Err(raw.fail("the body has a Postmortem but no updates"));
    };
    let (started_at, status) = (first.at, last.status);
    // An incident reopened and resolved again was resolved when its last run of Resolved began.
    let resolved_at = (status == IncidentStatus::Resolved)
        .then(|| updates.iter().rev().take_while(|u| u.status == IncidentStatus::Resolved).last().map(|u| u.at))
        .flatten();
    Ok(Parsed::Incident(ImportedIncident {
        key,
        id: None,
        title: raw.title.clone(),
        impact: Impact::Minor,
        status,
        components: ComponentStatuses::new(),
        started_at,
        resolved_at,
        updates,
        postmortem,
    }))
}

fn maintenance_of(
    raw: &Raw,
    key: String,
    schedule: Option<Result<Window, String>>,
    mut lines: Vec<Line>,
) -> Result<Parsed, ImportError> {
    lines.sort_by_key(|l| l.at);
    let first = |label: Status| lines.iter().find(|l| l.label == label).map(|l| l.at);
    let mut notes = Vec::new();
    let (scheduled_for, scheduled_until) = match schedule {
        Some(Ok(window)) => window,
        failed => {
            if let Some(Err(message)) = failed {
                notes.push(format!("line {}: {message}; the window is taken from the updates instead", raw.line));
            }
            let from = first(Status::InProgress).or_else(|| first(Status::Scheduled)).unwrap_or(lines[0].at);
            let until = match lines.iter().rev().find(|l| l.label == Status::Completed) {
                Some(l) => l.at,
                None => {
                    notes.push(format!(
                        "line {}: the maintenance `{}` has no Completed update; taken to end an hour after it began",
                        raw.line, raw.title
                    ));
                    from + DEFAULT_MAINTENANCE
                }
            };
            (from, until)
        }
    };
    if scheduled_until < scheduled_for {
        return Err(raw.fail(format!("the maintenance ends ({scheduled_until}) before it begins ({scheduled_for})")));
    }
    let updates = lines
        .into_iter()
        .map(|l| {
            let text = if l.text.is_empty() {
                format!("**{}**", l.label.label())
            } else {
                format!("**{}** - {}", l.label.label(), l.text)
            };
            (l.at, text)
        })
        .collect();
    Ok(Parsed::Maintenance(
        ImportedMaintenance {
            key,
            title: raw.title.clone(),
            scheduled_for,
            scheduled_until,
            components: Vec::new(),
            updates,
        },
        notes,
    ))
}

/// The code in `https://status.example.com/incidents/<code>`.
fn incident_code(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("/incidents/")?;
    let code = rest.split(['/', '?', '#']).next().unwrap_or("");
    (!code.is_empty()).then_some(code)
}

/// Splits the body into its updates (newest first, as written), and reads the window a
/// maintenance's body may open with (`THIS IS A SCHEDULED EVENT Jun 25, 02:00 - 04:00 UTC`).
/// That header's exact shape is not documented, so one that cannot be read is not fatal: the
/// maintenance then takes its window from its updates, with a note.
fn read_body(body: &str, reference: DateTime<Utc>) -> Result<Body, String> {
    // ASCII lowercasing keeps every byte where it was, so offsets found in `lower` index `body`.
    let lower = body.to_ascii_lowercase();
    let starts: Vec<usize> = lower.match_indices("<small>").map(|(i, _)| i).collect();
    let preamble = html_to_text(&body[..starts.first().copied().unwrap_or(body.len())]);
    let schedule = match preamble.strip_prefix("THIS IS A SCHEDULED EVENT") {
        Some(window) => Some(scheduled_window(window.trim(), reference)),
        None if preamble.is_empty() => None,
        None => return Err(format!("the body starts with `{}`, not with an update's `<small>` date", clip(&preamble))),
    };
    let mut lines = Vec::with_capacity(starts.len());
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(body.len());
        let (segment, seg_lower) = (&body[start..end], &lower[start..end]);
        let date_end = seg_lower.find("</small>").ok_or("a `<small>` date is not closed")?;
        let date = html_to_text(&segment["<small>".len()..date_end]);
        let at = update_time(&date, reference)?;
        let rest = date_end + "</small>".len();
        let (open, close) = match (seg_lower[rest..].find("<strong>"), seg_lower[rest..].find("</strong>")) {
            (Some(open), Some(close)) if open < close => (rest + open, rest + close),
            _ => return Err(format!("the update dated `{date}` has no `<strong>` status")),
        };
        let label_text = html_to_text(&segment[open + "<strong>".len()..close]);
        let label = Status::from_label(&label_text)
            .map_err(|expected| format!("the update dated `{date}` has the status `{label_text}`; {expected}"))?;
        let text = html_to_text(&segment[close + "</strong>".len()..]);
        let text = text.strip_prefix(['-', '–', '—']).unwrap_or(&text).trim().to_owned();
        lines.push(Line { at, label, text });
    }
    Ok(Body { schedule, lines })
}

fn clip(text: &str) -> String {
    let short: String = text.chars().take(60).collect();
    if short.len() < text.len() { format!("{short}…") } else { short }
}

/// `Jun 25, 02:00 - 04:00 UTC` or `Jun 25, 22:00 - Jun 26, 02:00 UTC`.
fn scheduled_window(text: &str, reference: DateTime<Utc>) -> Result<Window, String> {
    let bad = || format!("`THIS IS A SCHEDULED EVENT {text}` is not a window like `Jun 25, 02:00 - 04:00 UTC`");
    let (from, until) = text.split_once(" - ").ok_or_else(bad)?;
    let until = until.trim();
    let zone = until.rsplit_once(' ').map_or("", |(_, z)| z);
    let date = from.trim().rsplit_once(' ').map_or("", |(d, _)| d);
    let from = update_time(&format!("{} {zone}", from.trim()), reference)?;
    let until = if until.contains(',') {
        update_time(until, reference)?
    } else {
        update_time(&format!("{date} {until}"), from)?
    };
    if until < from {
        return Err(bad());
    }
    Ok((from, until))
}

/// `Jun 23, 18:45 UTC` in the year that puts it nearest to `reference`.
fn update_time(text: &str, reference: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [month, day, time, zone] = parts[..] else {
        return Err(format!("`{text}` is not an update date like `Jun 23, 18:45 UTC`"));
    };
    let day = day.trim_end_matches(',');
    if crate::dates::parse(&format!("1 Jan 2000 00:00 {zone}")).is_err() {
        return Err(format!(
            "`{text}`: unknown time zone `{zone}` (expected UTC, GMT, a US zone or an offset like +0200)"
        ));
    }
    let year = reference.year();
    [year - 1, year, year + 1]
        .into_iter()
        .filter_map(|y| crate::dates::parse(&format!("{day} {month} {y} {time} {zone}")).ok())
        .min_by_key(|t| (*t - reference).abs())
        .ok_or_else(|| format!("`{text}` is not an update date like `Jun 23, 18:45 UTC`"))
}

/// The text of an HTML fragment: tags dropped, `<br>` a newline, paragraphs separated by a blank
/// line, the common entities decoded (once, after the tags are gone, so `&lt;b&gt;` stays text).
fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            // A lone `<` is text.
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim_start_matches('/').to_ascii_lowercase();
        let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
        match name {
            "br" => out.push('\n'),
            "p" | "div" | "ul" | "ol" | "li" | "blockquote" | "pre" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                out.push_str("\n\n")
            }
            _ => {}
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let decoded = upbeat_core::html::decode_entities(&out);
    // Trim every line and keep at most one blank line between paragraphs.
    let mut text = String::with_capacity(decoded.len());
    let mut blank = 0;
    for line in decoded.lines().map(str::trim) {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !text.is_empty() {
            text.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        text.push_str(line);
        blank = 0;
    }
    text
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn html_becomes_text() {
        assert_eq!(
            html_to_text("<p>A &amp; B<br>c &lt;b&gt; &#39;d&#39; &quot;e&quot;&nbsp;f &#x41; &amp;lt;</p><p>next</p>"),
            "A & B\nc <b> 'd' \"e\" f A &lt;\n\nnext"
        );
        assert_eq!(html_to_text("1 < 2 & 3 &bogus; x"), "1 < 2 & 3 &bogus; x");
    }

    #[test]
    fn years_come_from_the_item_whichever_update_dates_it() {
        // Statuspage dates the item by an update after New Year...
        assert_eq!(update_time("Dec 31, 23:30 UTC", utc(2025, 1, 2, 0, 0)), Ok(utc(2024, 12, 31, 23, 30)));
        // ...upbeat by the incident's start, before it.
        assert_eq!(update_time("Jan 1, 00:10 UTC", utc(2024, 12, 31, 23, 30)), Ok(utc(2025, 1, 1, 0, 10)));
        assert_eq!(update_time("Jun 23, 18:45 UTC", utc(2025, 6, 23, 10, 0)), Ok(utc(2025, 6, 23, 18, 45)));
        assert_eq!(update_time("Jun 23, 20:45 +0200", utc(2025, 6, 23, 10, 0)), Ok(utc(2025, 6, 23, 18, 45)));
        assert_eq!(update_time("Jun 23, 11:45 PDT", utc(2025, 6, 23, 10, 0)), Ok(utc(2025, 6, 23, 18, 45)));
        // Only a leap year has the 29th of February.
        assert_eq!(update_time("Feb 29, 12:00 UTC", utc(2025, 1, 5, 0, 0)), Ok(utc(2024, 2, 29, 12, 0)));
    }

    #[test]
    fn bad_update_dates_say_what_is_wrong() {
        let at = utc(2025, 6, 23, 0, 0);
        assert!(update_time("Jun 23, 18:45 CEST", at).unwrap_err().contains("unknown time zone `CEST`"));
        assert!(update_time("Jun 23, 18:45", at).unwrap_err().contains("not an update date"));
        assert!(update_time("Jun 32, 18:45 UTC", at).unwrap_err().contains("not an update date"));
        assert!(update_time("Jux 3, 18:45 UTC", at).unwrap_err().contains("not an update date"));
        assert!(update_time("Jun 3, 25:45 UTC", at).unwrap_err().contains("not an update date"));
    }

    #[test]
    fn scheduled_windows_within_a_day_or_across_days() {
        let at = utc(2025, 6, 20, 0, 0);
        assert_eq!(
            scheduled_window("Jun 25, 02:00 - 04:00 UTC", at),
            Ok((utc(2025, 6, 25, 2, 0), utc(2025, 6, 25, 4, 0)))
        );
        assert_eq!(
            scheduled_window("Jun 25, 22:00 - Jun 26, 01:30 UTC", at),
            Ok((utc(2025, 6, 25, 22, 0), utc(2025, 6, 26, 1, 30)))
        );
        assert!(scheduled_window("Jun 25, 04:00 - 02:00 UTC", at).is_err());
    }

    #[test]
    fn codes_come_from_incident_links() {
        assert_eq!(incident_code("https://s.example/incidents/abc123"), Some("abc123"));
        assert_eq!(incident_code("https://s.example/incidents/abc123?u=1"), Some("abc123"));
        assert_eq!(incident_code("tag:s.example,2005:Incident/42"), None);
        assert_eq!(incident_code("https://s.example/incidents/"), None);
    }
}
