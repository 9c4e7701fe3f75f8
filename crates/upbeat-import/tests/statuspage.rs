//! Statuspage history feeds and v2 JSON, read through the public entry point, so that format
//! detection is tested with them.
//!
//! The samples in `tests/samples/` are written for a fictitious service from the documented
//! formats; `upbeat-history.*` are in exactly the shape upbeat's own `/history.rss` and
//! `/history.atom` templates render, so upbeat's export can be imported again.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use chrono::{DateTime, Utc};
use upbeat_core::import::{ImportSet, ImportedIncident, ImportedMaintenance, guid_hash_of};
use upbeat_core::incident::{ComponentStatus, Impact, IncidentStatus};
use upbeat_import::{ImportError, Options, parse};

use IncidentStatus::{Identified, Investigating, Monitoring, Resolved};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn sample(name: &str) -> ImportSet {
    parse(&read(name), &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn t(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn incident<'a>(set: &'a ImportSet, key: &str) -> &'a ImportedIncident {
    set.incidents.iter().find(|i| i.key == key).unwrap_or_else(|| panic!("no incident {key}"))
}

fn maintenance<'a>(set: &'a ImportSet, key: &str) -> &'a ImportedMaintenance {
    set.maintenances.iter().find(|m| m.key == key).unwrap_or_else(|| panic!("no maintenance {key}"))
}

/// Each update's status and time, oldest first.
fn timeline(incident: &ImportedIncident) -> Vec<(IncidentStatus, DateTime<Utc>)> {
    incident.updates.iter().map(|u| (u.status, u.at)).collect()
}

fn update_count(set: &ImportSet) -> usize {
    set.incidents.iter().map(|i| i.updates.len()).sum()
}

#[test]
fn statuspage_rss_incidents_updates_maintenance_and_a_duplicate() {
    let set = sample("statuspage-history.rss");
    assert_eq!(set.format, "Statuspage history RSS");
    assert_eq!((set.items, set.duplicates), (5, 1), "the sync incident is listed twice");
    assert_eq!((set.incidents.len(), update_count(&set), set.maintenances.len()), (3, 12, 1));
    assert_eq!(set.window, Some((t("2024-12-31T23:30:00Z"), t("2025-06-25T09:00:00Z"))));
    assert!(set.notes.is_empty(), "{:?}", set.notes);

    let sync = incident(&set, "statuspage:q8m2k4tz1v7c");
    assert_eq!(sync.title, "Delayed sync for notebooks");
    assert_eq!((sync.id, sync.impact, sync.status), (None, Impact::Minor, Resolved));
    assert!(sync.components.is_empty());
    // Each `Update` keeps the status of the update before it.
    assert_eq!(
        timeline(sync),
        vec![
            (Investigating, t("2025-06-23T17:02:00Z")),
            (Investigating, t("2025-06-23T17:30:00Z")),
            (Identified, t("2025-06-23T17:55:00Z")),
            (Identified, t("2025-06-23T18:10:00Z")),
            (Monitoring, t("2025-06-23T18:30:00Z")),
            (Resolved, t("2025-06-23T18:45:00Z")),
        ]
    );
    assert_eq!((sync.started_at, sync.resolved_at), (t("2025-06-23T17:02:00Z"), Some(t("2025-06-23T18:45:00Z"))));
    assert_eq!(sync.updates[1].body, "We are still investigating. Edits are saved & will sync once this is fixed.");
    let postmortem = sync.postmortem.as_ref().unwrap();
    assert_eq!(postmortem.published_at, t("2025-06-25T09:00:00Z"));
    assert_eq!(
        postmortem.body,
        "A reindex job started without its rate limit & starved the sync workers.\nWe have added a limit to every background job."
    );
    let last = &sync.updates[5];
    assert_eq!(
        last.guid_hash,
        guid_hash_of("statuspage:q8m2k4tz1v7c\n2025-06-23T18:45:00+00:00\nResolved\nThis incident has been resolved.")
    );

    let export = incident(&set, "statuspage:e4x9p0r2t6ob");
    assert_eq!(export.updates[1].body, "Exports to PDF <and> Markdown complete normally again.");

    let db = maintenance(&set, "statuspage:m5c7h2r8s4ta");
    assert_eq!(db.title, "Primary database upgrade");
    assert_eq!((db.scheduled_for, db.scheduled_until), (t("2025-06-14T02:00:00Z"), t("2025-06-14T03:30:00Z")));
    let labels: Vec<&str> = db.updates.iter().map(|(_, text)| text.split(" - ").next().unwrap()).collect();
    assert_eq!(labels, ["**Scheduled**", "**In progress**", "**Verifying**", "**Completed**"]);
    assert_eq!(
        db.updates[0],
        (
            t("2025-06-10T12:00:00Z"),
            "**Scheduled** - We will upgrade the primary database. Editing may pause for up to a minute.".into()
        )
    );
}

#[test]
fn an_incident_across_new_year_takes_the_years_from_its_item() {
    // The item is dated 1 January 2025; two of its updates say `Dec 31`.
    let set = sample("statuspage-history.rss");
    let sso = incident(&set, "statuspage:y3n0w9e2a1bd");
    assert_eq!(
        timeline(sso),
        vec![
            (Investigating, t("2024-12-31T23:30:00Z")),
            (Identified, t("2024-12-31T23:58:00Z")),
            (Monitoring, t("2025-01-01T00:20:00Z")),
            (Resolved, t("2025-01-01T00:40:00Z")),
        ]
    );
    assert_eq!(
        sso.updates[0].body,
        "Some users signing in with SSO see \"invalid assertion\". Password sign-in is not affected."
    );
    assert_eq!(
        sso.updates[1].body,
        "The signing certificate for SSO expired at midnight in one region. It's being renewed."
    );
}

#[test]
fn statuspage_atom_offsets_a_scheduled_window_and_a_guessed_end() {
    let set = sample("statuspage-history.atom");
    assert_eq!(set.format, "Statuspage history Atom");
    assert_eq!((set.items, set.duplicates), (3, 0));
    assert_eq!((set.incidents.len(), update_count(&set), set.maintenances.len()), (1, 3, 2));

    // The body's times are written `+0100`.
    let search = incident(&set, "statuspage:s1e2a3r4c5h6");
    assert_eq!(
        timeline(search),
        vec![
            (Investigating, t("2025-03-04T08:05:00Z")),
            (Investigating, t("2025-03-04T08:50:00Z")),
            (Resolved, t("2025-03-04T09:20:00Z")),
        ]
    );

    // `THIS IS A SCHEDULED EVENT` states the window; it wins over the updates' times.
    let storage = maintenance(&set, "statuspage:t6s0r4a8g2ex");
    assert_eq!(
        (storage.scheduled_for, storage.scheduled_until),
        (t("2025-03-20T22:00:00Z"), t("2025-03-21T01:00:00Z"))
    );
    assert_eq!(storage.updates.len(), 3);

    let dns = maintenance(&set, "statuspage:d7n3s5w1t9ch");
    assert_eq!((dns.scheduled_for, dns.scheduled_until), (t("2025-02-03T04:00:00Z"), t("2025-02-03T05:00:00Z")));
    assert_eq!(set.notes.len(), 1);
    assert!(set.notes[0].contains("`DNS provider switch` has no Completed update"), "{}", set.notes[0]);
}

#[test]
fn upbeats_own_history_atom_imports_again() {
    let set = sample("upbeat-history.atom");
    assert_eq!(set.format, "Statuspage history Atom");
    assert_eq!((set.incidents.len(), update_count(&set), set.maintenances.len()), (2, 5, 0));
    // upbeat links `/incident/<id>`, not `/incidents/<code>`: the guid is the key.
    let reminders = incident(&set, "statuspage:https://status.quillmark.example/incident/12");
    // upbeat dates an item by the incident's start, on 31 December; later updates say `Jan 1`.
    assert_eq!(
        timeline(reminders),
        vec![
            (Investigating, t("2024-12-31T23:40:00Z")),
            (Identified, t("2025-01-01T00:05:00Z")),
            (Resolved, t("2025-01-01T00:45:00Z")),
        ]
    );
    assert_eq!(reminders.updates[1].body, "Reminders queued before midnight are sent twice; \"snooze\" is unaffected.");
    let postmortem = reminders.postmortem.as_ref().unwrap();
    assert_eq!(postmortem.published_at, t("2025-01-02T10:00:00Z"));
    assert_eq!(
        postmortem.body,
        "The job runner's clock jumped at New Year & retried every job at once.\nWe now pin the clock source."
    );
    let links = incident(&set, "statuspage:https://status.quillmark.example/incident/9");
    assert_eq!(links.updates[0].body, "Shared notebook links return <404>.");
}

#[test]
fn upbeats_own_history_rss_parses_as_a_statuspage_feed() {
    // Its links are `/incident/<id>` like Better Stack's, but its guids carry no `#<hex>`.
    let set = sample("upbeat-history.rss");
    let atom = sample("upbeat-history.atom");
    assert_eq!(set.format, "Statuspage history RSS");
    assert_eq!((set.incidents, set.window), (atom.incidents, atom.window), "RSS and Atom say the same");
}

#[test]
fn statuspage_incidents_json() {
    let set = sample("statuspage-incidents.json");
    assert_eq!(set.format, "Statuspage JSON");
    assert_eq!((set.items, set.duplicates), (4, 1), "h8s3e6a1r5ch is listed twice");
    assert_eq!((set.incidents.len(), update_count(&set), set.maintenances.len()), (2, 7, 1));
    let names: Vec<(&str, &str)> = set.components.iter().map(|(id, name)| (id.as_str(), name.as_str())).collect();
    assert_eq!(names, [("api", "API"), ("web-app", "Web app"), ("search", "Search"), ("attachments", "Attachments")]);

    // Written in New York time, across New Year there.
    let api = incident(&set, "statuspage:k2p9x7w3m1qa");
    assert_eq!((api.title.as_str(), api.impact, api.status), ("Elevated API error rates", Impact::Major, Resolved));
    assert_eq!(
        timeline(api),
        vec![
            // display_at, not created_at (23:31:10).
            (Investigating, t("2025-01-01T04:30:00Z")),
            (Identified, t("2025-01-01T05:05:00Z")),
            (Identified, t("2025-01-01T05:20:00Z")),
            (Monitoring, t("2025-01-01T05:40:00Z")),
            (Resolved, t("2025-01-01T06:15:00Z")),
        ]
    );
    assert_eq!((api.started_at, api.resolved_at), (t("2025-01-01T04:25:00Z"), Some(t("2025-01-01T06:15:00Z"))));
    assert_eq!(api.updates[0].guid_hash, guid_hash_of("statuspage-update:u1investig00"));
    let postmortem = api.postmortem.as_ref().unwrap();
    assert_eq!(postmortem.published_at, t("2025-01-03T16:00:00Z"));
    assert!(postmortem.body.starts_with("A configuration push at midnight UTC"));
    // The newest update that names a component says where it stands.
    assert_eq!(
        api.components.iter().map(|(id, s)| (id.as_str(), *s)).collect::<Vec<_>>(),
        [("api", ComponentStatus::Operational), ("web-app", ComponentStatus::Operational)]
    );

    // Written in India time.
    let search = incident(&set, "statuspage:h8s3e6a1r5ch");
    assert_eq!(
        timeline(search),
        vec![(Investigating, t("2024-11-05T04:30:00Z")), (Resolved, t("2024-11-05T07:00:00Z"))]
    );
    assert_eq!(search.components.get("search"), Some(&ComponentStatus::DegradedPerformance));

    let storage = maintenance(&set, "statuspage:w4m9a2i7n3t0");
    assert_eq!(
        (storage.scheduled_for, storage.scheduled_until),
        (t("2024-10-06T03:00:00Z"), t("2024-10-06T05:00:00Z"))
    );
    assert_eq!(storage.components, ["attachments"]);
    assert_eq!(
        storage.updates.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
        [t("2024-10-01T09:00:00Z"), t("2024-10-06T03:00:00Z"), t("2024-10-06T04:50:00Z")]
    );
    assert_eq!(storage.updates[1].1, "**In progress** - Scheduled maintenance is currently in progress.");
    assert_eq!(set.window, Some((t("2024-10-01T09:00:00Z"), t("2025-01-03T16:00:00Z"))));
}

#[test]
fn statuspage_summary_json() {
    let set = sample("statuspage-summary.json");
    assert_eq!((set.items, set.duplicates), (2, 0));
    assert_eq!((set.incidents.len(), update_count(&set), set.maintenances.len()), (1, 2, 1));
    // The group `Infrastructure` is not a component.
    let ids: Vec<&str> = set.components.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["api", "web-app", "email-delivery"]);
    let previews = incident(&set, "statuspage:v2p0r7e1v4ie");
    assert_eq!((previews.status, previews.resolved_at), (Monitoring, None));
    assert_eq!(previews.components.get("web-app"), Some(&ComponentStatus::DegradedPerformance));
    let email = maintenance(&set, "statuspage:n6e5w1m2a9il");
    assert_eq!((email.scheduled_for, email.scheduled_until), (t("2025-07-10T02:00:00Z"), t("2025-07-10T03:30:00Z")));
    assert_eq!(email.components, ["email-delivery"]);
}

#[test]
fn statuspage_scheduled_maintenances_json() {
    let set = sample("statuspage-scheduled-maintenances.json");
    assert_eq!((set.incidents.len(), set.maintenances.len(), set.items), (0, 2, 2));
    // The same window as in summary.json, written in Berlin time.
    assert_eq!(
        maintenance(&set, "statuspage:n6e5w1m2a9il"),
        maintenance(&sample("statuspage-summary.json"), "statuspage:n6e5w1m2a9il")
    );
    let reindex = maintenance(&set, "statuspage:r3e8i4n7d0ex");
    assert_eq!(reindex.components, ["search", "indexing"]);
    // No end: an hour, and a note that says so.
    assert_eq!(
        (reindex.scheduled_for, reindex.scheduled_until),
        (t("2025-07-01T21:00:00Z"), t("2025-07-01T22:00:00Z"))
    );
    // No display_at: created_at; no body: the label alone.
    assert_eq!(reindex.updates[1], (t("2025-07-01T21:00:00Z"), "**In progress**".to_owned()));
    assert_eq!(
        set.notes,
        [
            "scheduled_maintenances[1].scheduled_until: the maintenance `Search reindex` has no end; taken to end an hour after it begins"
        ]
    );
}

/// An RSS history feed with one item per body, each on its own line (line 3 onwards).
fn rss(items: &[&str]) -> Vec<u8> {
    let items: String = items
        .iter()
        .enumerate()
        .map(|(n, body)| {
            format!(
                "<item><title>Incident {n}</title><link>https://s.example/incidents/c{n}</link><guid>https://s.example/incidents/c{n}</guid><pubDate>Mon, 23 Jun 2025 19:00:00 +0000</pubDate><description><![CDATA[{body}]]></description></item>\n"
            )
        })
        .collect();
    format!("<rss version=\"2.0\">\n<channel><title>T</title><link>https://s.example</link>\n{items}</channel></rss>")
        .into_bytes()
}

fn update(date: &str, label: &str, text: &str) -> String {
    format!("<p><small>{date}</small><br><strong>{label}</strong> - {text}</p>")
}

fn error(bytes: &[u8]) -> ImportError {
    parse(bytes, &Options::default()).unwrap_err()
}

#[test]
fn a_malformed_item_is_an_error_naming_its_line() {
    let good = update("Jun 23, 18:45 UTC", "Resolved", "Fixed.");
    assert_eq!(parse(&rss(&[&good]), &Options::default()).unwrap().incidents.len(), 1);

    let e = error(&rss(&[&good, &update("Jun 23, 18:45 UTC", "Fixed", "Done.")]));
    assert_eq!((e.line, e.element.as_deref()), (Some(4), Some("item")));
    assert!(
        e.to_string().starts_with("line 4, <item>: the update dated `Jun 23, 18:45 UTC` has the status `Fixed`"),
        "{e}"
    );

    let e = error(&rss(&[&update("Jun 23, 18:x5 UTC", "Resolved", "Fixed.")]));
    assert_eq!(e.to_string(), "line 3, <item>: `Jun 23, 18:x5 UTC` is not an update date like `Jun 23, 18:45 UTC`");

    let e = error(&rss(&[&update("Jun 23, 18:45 CEST", "Resolved", "Fixed.")]));
    assert!(e.to_string().starts_with("line 3, <item>: `Jun 23, 18:45 CEST`: unknown time zone `CEST`"), "{e}");

    let e = error(&rss(&["<p>Something happened.</p>"]));
    assert!(e.to_string().starts_with("line 3, <item>: the body starts with `Something happened.`"), "{e}");

    let e = error(&rss(&[&format!("{}{good}", update("Jun 23, 19:00 UTC", "Completed", "Done."))]));
    assert!(e.to_string().contains("`Resolved` is an incident's status"), "{e}");

    let no_date = "<rss version=\"2.0\">\n<channel><title>T</title>\n<item><title>X</title><link>https://s.example/incidents/x</link><description>x</description></item></channel></rss>";
    assert_eq!(error(no_date.as_bytes()).to_string(), "line 3, <item>: <pubDate> is missing or empty");
    let bad_date = no_date.replace("<description>", "<pubDate>23 June</pubDate><description>");
    let e = error(bad_date.as_bytes());
    assert!(e.to_string().starts_with("line 3, <item>: <pubDate>: `23 June` is not"), "{e}");
}

#[test]
fn the_same_guid_twice_counts_once_unless_its_contents_differ() {
    let body = update("Jun 23, 18:45 UTC", "Resolved", "Fixed.");
    let one = String::from_utf8(rss(&[&body])).unwrap();
    let item = one.lines().nth(2).unwrap();
    let twice = one.replace(item, &format!("{item}\n{item}"));
    let set = parse(twice.as_bytes(), &Options::default()).unwrap();
    assert_eq!((set.items, set.duplicates, set.incidents.len()), (2, 1, 1));

    let changed = item.replace("Fixed.", "Fixed for good.");
    let e = error(one.replace(item, &format!("{item}\n{changed}")).as_bytes());
    assert_eq!((e.line, e.element.as_deref()), (Some(4), Some("item")));
    assert!(e.to_string().contains("appears twice (first on line 3) with different contents"), "{e}");
}

#[test]
fn a_malformed_atom_entry_names_the_entry() {
    let text = "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<entry>\n<id>tag:s.example,2005:Incident/1</id>\n<published>2025-06-23T19:00:00Z</published>\n<title>X</title>\n<content type=\"html\">&lt;p&gt;&lt;small&gt;Jun 23, 18:45 UTC&lt;/small&gt;&lt;br&gt;&lt;strong&gt;Solved&lt;/strong&gt; - x&lt;/p&gt;</content>\n</entry>\n</feed>";
    let e = error(text.as_bytes());
    assert_eq!((e.line, e.element.as_deref()), (Some(2), Some("entry")));
    assert!(
        e.to_string().starts_with("line 2, <entry>: the update dated `Jun 23, 18:45 UTC` has the status `Solved`"),
        "{e}"
    );
    let e = error(text.replace("<published>2025-06-23T19:00:00Z</published>", "").as_bytes());
    assert_eq!(e.to_string(), "line 2, <entry>: <published> and <updated> are both missing");
}

#[test]
fn bad_json_names_the_path() {
    let mut value: serde_json::Value = serde_json::from_slice(&read("statuspage-incidents.json")).unwrap();
    value["incidents"][1]["incident_updates"][1]["display_at"] = "2024-11-05 10:00".into();
    let e = error(&serde_json::to_vec(&value).unwrap());
    assert_eq!(e.element.as_deref(), Some("incidents[1].incident_updates[1].display_at"));
    assert_eq!(
        e.to_string(),
        "incidents[1].incident_updates[1].display_at: `2024-11-05 10:00` is not an RFC 3339 date"
    );

    value["incidents"][1]["incident_updates"][1]["display_at"] = serde_json::Value::Null;
    value["incidents"][0]["incident_updates"][5]["affected_components"][0]["new_status"] = "sideways".into();
    let e = error(&serde_json::to_vec(&value).unwrap());
    assert!(
        e.to_string().starts_with(
            "incidents[0].incident_updates[5].affected_components[0].new_status: `sideways` is not one of operational"
        ),
        "{e}"
    );

    let e = error(br#"{"page": {"id": "x"}, "status": {"indicator": "none"}}"#);
    assert_eq!((e.line, e.element.as_deref()), (None, None));
    assert!(
        e.to_string().contains("expected an object with `incidents`, `scheduled_maintenances` or `components`"),
        "{e}"
    );
}

#[test]
fn an_unreadable_scheduled_event_header_is_a_note_not_an_error() {
    let body = format!(
        "<p><strong>THIS IS A SCHEDULED EVENT sometime next week</strong></p>{}{}",
        update("Jun 23, 18:30 UTC", "Completed", "Done."),
        update("Jun 23, 17:00 UTC", "In progress", "Started.")
    );
    let set = parse(&rss(&[&body]), &Options::default()).unwrap();
    let window = maintenance(&set, "statuspage:c0");
    assert_eq!((window.scheduled_for, window.scheduled_until), (t("2025-06-23T17:00:00Z"), t("2025-06-23T18:30:00Z")));
    assert_eq!(set.notes.len(), 1);
    assert!(
        set.notes[0].starts_with("line 3: `THIS IS A SCHEDULED EVENT sometime next week` is not a window"),
        "{}",
        set.notes[0]
    );
}
