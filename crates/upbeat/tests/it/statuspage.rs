//! `/api/v2`: Atlassian Statuspage's public API, checked as a contract against the running app.
//!
//! Every route answers 200 with JSON and validators (and 304 to a matching `If-None-Match`), and
//! every body matches a schema written from Statuspage's documentation of its public API
//! (metastatuspage.com/api/v2): each documented field present with its JSON type, each enum within
//! its documented values, each time RFC 3339 with milliseconds in the page's zone, the nesting as
//! documented, and nothing undocumented. A private component and its monitor appear nowhere, and
//! upbeat's own Statuspage importer reads the incidents and windows back.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{Target, TestApp, eventually, send};

fn config(target: &Target) -> String {
    format!(
        r#"
[page]
title = "Contract"
base_url = "https://status.example.test/"
time_zone = "America/New_York"

[[component]]
id = "api"
name = "API"
group = "Core"
description = "The public REST API"

[[component]]
id = "web"
name = "Web app"
group = "Core"

[[component]]
id = "email"
name = "Email delivery"
group = "Messaging"

[[component]]
id = "ledger"
name = "Hidden Ledger"
public = false

[[monitor]]
id = "api-health"
name = "API health"
kind = "http"
url = "{url}"
interval = "1s"
component = "api"

[[monitor]]
id = "ledger-probe"
name = "Ledger Probe Zeta"
kind = "http"
url = "{url}"
interval = "1s"
component = "ledger"

[[monitor]]
id = "cdn"
name = "CDN edge"
kind = "http"
url = "{url}"
interval = "1s"
"#,
        url = target.url("/")
    )
}

/// Everything that must stay hidden: the private component's id and name, its monitor's.
const SECRETS: &[&str] = &["ledger", "Hidden Ledger", "Ledger Probe Zeta"];

const ROUTES: &[&str] = &[
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
];

// ---- The schema, from Statuspage's documentation ----

/// A documented field's JSON type.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    /// A string that is RFC 3339 with milliseconds, in the page's zone.
    Time,
    Bool,
    Num,
    /// A string, one of these.
    Enum(&'static [&'static str]),
    Obj(Schema),
    Arr(&'static Ty),
    /// `null` or the type.
    Null(&'static Ty),
    /// The field may be absent (a group's `components`); when there, the type.
    Opt(&'static Ty),
}

type Schema = &'static [(&'static str, Ty)];

const COMPONENT_STATUS: &[&str] =
    &["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"];
const INDICATOR: &[&str] = &["none", "minor", "major", "critical", "maintenance"];
const DESCRIPTION: &[&str] = &[
    "All Systems Operational",
    "Partially Degraded Service",
    "Minor Service Outage",
    "Partial System Outage",
    "Major Service Outage",
    "Service Under Maintenance",
];
const INCIDENT_STATUS: &[&str] = &["investigating", "identified", "monitoring", "resolved", "postmortem"];
const MAINTENANCE_STATUS: &[&str] = &["scheduled", "in_progress", "verifying", "completed"];
const IMPACT: &[&str] = &["none", "minor", "major", "critical"];
const MAINTENANCE_IMPACT: &[&str] = &["none", "minor", "major", "critical", "maintenance"];

const STR: Ty = Ty::Str;
const TIME: Ty = Ty::Time;

const PAGE: Schema =
    &[("id", Ty::Str), ("name", Ty::Str), ("url", Ty::Str), ("time_zone", Ty::Str), ("updated_at", Ty::Time)];

const STATUS: Schema = &[("indicator", Ty::Enum(INDICATOR)), ("description", Ty::Enum(DESCRIPTION))];

const COMPONENT: Schema = &[
    ("id", Ty::Str),
    ("name", Ty::Str),
    ("status", Ty::Enum(COMPONENT_STATUS)),
    ("created_at", Ty::Time),
    ("updated_at", Ty::Time),
    ("position", Ty::Num),
    ("description", Ty::Null(&STR)),
    ("showcase", Ty::Bool),
    ("start_date", Ty::Null(&STR)),
    ("group_id", Ty::Null(&STR)),
    ("page_id", Ty::Str),
    ("group", Ty::Bool),
    ("only_show_if_degraded", Ty::Bool),
    ("components", Ty::Opt(&Ty::Arr(&STR))),
];

const AFFECTED: Schema = &[
    ("code", Ty::Str),
    ("name", Ty::Str),
    ("old_status", Ty::Enum(COMPONENT_STATUS)),
    ("new_status", Ty::Enum(COMPONENT_STATUS)),
];

/// An incident update; a maintenance's differs only in its statuses.
macro_rules! update_schema {
    ($statuses:expr) => {
        &[
            ("id", Ty::Str),
            ("status", Ty::Enum($statuses)),
            ("body", Ty::Str),
            ("incident_id", Ty::Str),
            ("created_at", Ty::Time),
            ("updated_at", Ty::Time),
            ("display_at", Ty::Time),
            ("affected_components", Ty::Null(&Ty::Arr(&Ty::Obj(AFFECTED)))),
            ("deliver_notifications", Ty::Bool),
            ("custom_tweet", Ty::Null(&STR)),
            ("tweet_id", Ty::Null(&STR)),
        ]
    };
}

const INCIDENT_UPDATE: Schema = update_schema!(INCIDENT_STATUS);
const MAINTENANCE_UPDATE: Schema = update_schema!(MAINTENANCE_STATUS);

const INCIDENT: Schema = &[
    ("id", Ty::Str),
    ("name", Ty::Str),
    ("status", Ty::Enum(INCIDENT_STATUS)),
    ("created_at", Ty::Time),
    ("updated_at", Ty::Time),
    ("monitoring_at", Ty::Null(&TIME)),
    ("resolved_at", Ty::Null(&TIME)),
    ("impact", Ty::Enum(IMPACT)),
    ("shortlink", Ty::Str),
    ("started_at", Ty::Time),
    ("page_id", Ty::Str),
    ("incident_updates", Ty::Arr(&Ty::Obj(INCIDENT_UPDATE))),
    ("components", Ty::Arr(&Ty::Obj(COMPONENT))),
    ("postmortem_body", Ty::Null(&STR)),
    ("postmortem_published_at", Ty::Null(&TIME)),
];

const MAINTENANCE: Schema = &[
    ("id", Ty::Str),
    ("name", Ty::Str),
    ("status", Ty::Enum(MAINTENANCE_STATUS)),
    ("created_at", Ty::Time),
    ("updated_at", Ty::Time),
    ("monitoring_at", Ty::Null(&TIME)),
    ("resolved_at", Ty::Null(&TIME)),
    ("impact", Ty::Enum(MAINTENANCE_IMPACT)),
    ("shortlink", Ty::Str),
    ("started_at", Ty::Time),
    ("page_id", Ty::Str),
    ("incident_updates", Ty::Arr(&Ty::Obj(MAINTENANCE_UPDATE))),
    ("components", Ty::Arr(&Ty::Obj(COMPONENT))),
    ("scheduled_for", Ty::Time),
    ("scheduled_until", Ty::Time),
    ("scheduled_remind_prior", Ty::Bool),
    ("scheduled_reminded_at", Ty::Null(&TIME)),
    ("scheduled_auto_in_progress", Ty::Bool),
    ("scheduled_auto_completed", Ty::Bool),
];

const COMPONENTS: Ty = Ty::Arr(&Ty::Obj(COMPONENT));
const INCIDENTS: Ty = Ty::Arr(&Ty::Obj(INCIDENT));
const MAINTENANCES: Ty = Ty::Arr(&Ty::Obj(MAINTENANCE));

/// Each route's body.
fn body_schema(route: &str) -> Schema {
    match route {
        "/api/v2/summary.json" => &[
            ("page", Ty::Obj(PAGE)),
            ("components", COMPONENTS),
            ("incidents", INCIDENTS),
            ("scheduled_maintenances", MAINTENANCES),
            ("status", Ty::Obj(STATUS)),
        ],
        "/api/v2/status.json" => &[("page", Ty::Obj(PAGE)), ("status", Ty::Obj(STATUS))],
        "/api/v2/components.json" => &[("page", Ty::Obj(PAGE)), ("components", COMPONENTS)],
        "/api/v2/incidents.json" | "/api/v2/incidents/unresolved.json" => {
            &[("page", Ty::Obj(PAGE)), ("incidents", INCIDENTS)]
        }
        _ => &[("page", Ty::Obj(PAGE)), ("scheduled_maintenances", MAINTENANCES)],
    }
}

/// Statuspage's time format in the page's zone (America/New_York: -05:00 or -04:00).
fn time_error(text: &str) -> Option<String> {
    if DateTime::parse_from_rfc3339(text).is_err() {
        return Some(format!("`{text}` is not RFC 3339"));
    }
    let b = text.as_bytes();
    let millis = b.len() == 29 && b[19] == b'.' && b[20..23].iter().all(u8::is_ascii_digit);
    let offset = &text[text.len().saturating_sub(6)..];
    if !millis || !(offset == "-05:00" || offset == "-04:00") {
        return Some(format!("`{text}` is not `YYYY-MM-DDTHH:MM:SS.mmm` with New York's offset"));
    }
    None
}

fn check_value(path: &str, value: &Value, ty: Ty, errors: &mut Vec<String>) {
    let wrong = |what: &str| format!("{path}: expected {what}, found {value}");
    match ty {
        Ty::Str if value.is_string() => {}
        Ty::Str => errors.push(wrong("a string")),
        Ty::Time => match value.as_str().map(time_error) {
            Some(None) => {}
            Some(Some(error)) => errors.push(format!("{path}: {error}")),
            None => errors.push(wrong("a time string")),
        },
        Ty::Bool if value.is_boolean() => {}
        Ty::Bool => errors.push(wrong("true or false")),
        Ty::Num if value.is_number() => {}
        Ty::Num => errors.push(wrong("a number")),
        Ty::Enum(names) if value.as_str().is_some_and(|s| names.contains(&s)) => {}
        Ty::Enum(names) => errors.push(wrong(&format!("one of {names:?}"))),
        Ty::Obj(schema) => check_object(path, value, schema, errors),
        Ty::Arr(item) => match value.as_array() {
            Some(items) => {
                for (n, v) in items.iter().enumerate() {
                    check_value(&format!("{path}[{n}]"), v, *item, errors);
                }
            }
            None => errors.push(wrong("an array")),
        },
        Ty::Null(_) if value.is_null() => {}
        Ty::Null(inner) | Ty::Opt(inner) => check_value(path, value, *inner, errors),
    }
}

fn check_object(path: &str, value: &Value, schema: Schema, errors: &mut Vec<String>) {
    let Some(object) = value.as_object() else {
        errors.push(format!("{path}: expected an object, found {value}"));
        return;
    };
    for (field, ty) in schema {
        match object.get(*field) {
            Some(v) => check_value(&format!("{path}.{field}"), v, *ty, errors),
            None if matches!(ty, Ty::Opt(_)) => {}
            None => errors.push(format!("{path}.{field}: missing")),
        }
    }
    for key in object.keys() {
        if !schema.iter().any(|(field, _)| field == key) {
            errors.push(format!("{path}.{key}: not a documented field"));
        }
    }
}

#[test]
fn the_schema_checker_rejects_what_it_should() {
    let mut errors = Vec::new();
    let page = json!({"id": "x", "name": "n", "url": "u", "time_zone": "America/New_York", "updated_at": "2025-01-03T11:00:00Z", "extra": 1});
    check_object("page", &page, PAGE, &mut errors);
    let status = json!({"indicator": "catastrophic"});
    check_object("status", &status, STATUS, &mut errors);
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(errors[0].contains("updated_at") && errors[1].contains("extra"), "{errors:#?}");
    assert!(time_error("2025-01-03T11:00:00.000-05:00").is_none());
    assert!(time_error("2025-01-03T11:00:00.000Z").is_some());
}

// ---- Seeding and reading ----

fn at(seconds_from_now: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(seconds_from_now)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn get(app: &TestApp, route: &str) -> reqwest::Response {
    app.client.get(app.url(route)).send().await.expect("request")
}

fn list<'a>(value: &'a Value, key: &str) -> &'a Vec<Value> {
    value[key].as_array().unwrap_or_else(|| panic!("`{key}` is not an array in {value}"))
}

fn titles_and_counts(items: &[Value], updates: &str) -> BTreeSet<(String, usize)> {
    items.iter().map(|i| (i["title"].as_str().unwrap().to_owned(), i[updates].as_array().unwrap().len())).collect()
}

#[tokio::test]
async fn every_v2_route_keeps_statuspages_contract() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(&config(&target), &dir).await;
    let w = Some(app.write_token.as_str());
    for monitor in ["api-health", "ledger-probe", "cdn"] {
        app.wait_for_state(monitor, "up").await;
    }

    // An incident with three updates naming a public and the private component.
    let opening = json!({
        "title": "Elevated API errors",
        "status": "investigating",
        "impact": "major",
        "message": "We're **investigating** errors.",
        "components": {"api": "partial_outage", "ledger": "major_outage"},
    });
    let (status, open) = send(&app, "POST", "/api/v1/incidents", w, Some(opening)).await;
    assert_eq!(status, 201, "{open}");
    let open_id = open["id"].as_i64().unwrap();
    for update in [
        json!({"status": "identified", "message": "A bad deploy.", "components": {"ledger": "degraded_performance"}}),
        json!({"status": "monitoring", "message": "Rolled back.", "components": {"api": "operational"}}),
    ] {
        let (status, body) = send(&app, "POST", &format!("/api/v1/incidents/{open_id}/updates"), w, Some(update)).await;
        assert_eq!(status, 201, "{body}");
    }

    // A resolved incident, with a postmortem.
    let (_, closed) = send(
        &app,
        "POST",
        "/api/v1/incidents",
        w,
        Some(json!({"title": "Email delays", "impact": "minor", "message": "Slow.", "components": {"email": "degraded_performance"}})),
    )
    .await;
    let closed_id = closed["id"].as_i64().unwrap();
    let (status, _) =
        send(&app, "POST", &format!("/api/v1/incidents/{closed_id}/resolve"), w, Some(json!({"message": "Fixed."})))
            .await;
    assert!(matches!(status, 200 | 201), "resolve: {status}");
    let (status, _) = send(
        &app,
        "PUT",
        &format!("/api/v1/incidents/{closed_id}/postmortem"),
        w,
        Some(json!({"message": "A full queue."})),
    )
    .await;
    assert!(matches!(status, 200 | 201), "postmortem: {status}");

    // A window in progress (on a public and the private component) and an upcoming one.
    let (status, active) = send(
        &app,
        "POST",
        "/api/v1/maintenance",
        w,
        Some(json!({"title": "Mail server upgrade", "message": "Upgrading.", "scheduled_for": at(-60), "scheduled_until": at(3600), "components": ["email", "ledger"]})),
    )
    .await;
    assert_eq!(status, 201, "{active}");
    let active_id = active["id"].as_i64().unwrap();
    let (status, _) = send(
        &app,
        "POST",
        &format!("/api/v1/maintenance/{active_id}/updates"),
        w,
        Some(json!({"message": "Halfway."})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, upcoming) = send(
        &app,
        "POST",
        "/api/v1/maintenance",
        w,
        Some(json!({"title": "API database move", "message": "Planned.", "scheduled_for": at(86_400), "scheduled_until": at(90_000), "components": ["api"]})),
    )
    .await;
    assert_eq!(status, 201, "{upcoming}");

    // The cache renders after a short debounce: wait until the API shows all of it.
    eventually("/api/v2 to show the incidents and windows", Duration::from_secs(10), || async {
        let incidents = get(&app, "/api/v2/incidents.json").await.json::<Value>().await.ok()?;
        let windows = get(&app, "/api/v2/scheduled-maintenances.json").await.json::<Value>().await.ok()?;
        let incidents = incidents["incidents"].as_array()?;
        let windows = windows["scheduled_maintenances"].as_array()?;
        let done = incidents.len() == 2
            && incidents.iter().any(|i| i["status"] == "postmortem")
            && incidents.iter().any(|i| i["incident_updates"].as_array().is_some_and(|u| u.len() == 3))
            && windows.len() == 2
            && windows.iter().any(|m| m["incident_updates"].as_array().is_some_and(|u| u.len() == 2));
        done.then_some(())
    })
    .await;

    // Every route: 200, JSON, validators, 304 when the client has it, the documented schema.
    let mut bodies = Vec::new();
    for route in ROUTES {
        let response = get(&app, route).await;
        assert_eq!(response.status(), 200, "{route}");
        let headers = response.headers().clone();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(content_type.starts_with("application/json"), "{route}: {content_type}");
        assert!(headers.contains_key("last-modified"), "{route} has no Last-Modified");
        let etag = headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(!etag.is_empty(), "{route} has no ETag");
        let text = response.text().await.unwrap();
        let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{route}: {e}: {text}"));

        // A render between two requests may move the tag: ask again with the newest one.
        eventually(&format!("{route} to answer 304"), Duration::from_secs(5), || async {
            let tag = get(&app, route).await.headers().get("etag")?.to_str().ok()?.to_owned();
            let again = app.client.get(app.url(route)).header("If-None-Match", &tag).send().await.ok()?;
            (again.status() == 304).then_some(())
        })
        .await;

        let mut errors = Vec::new();
        check_object(route, &value, body_schema(route), &mut errors);
        assert!(errors.is_empty(), "{route} breaks Statuspage's schema:\n{}\n{text}", errors.join("\n"));
        for secret in SECRETS {
            assert!(!text.contains(secret), "{route} shows `{secret}`: {text}");
        }
        bodies.push((*route, value, text));
    }
    let body_of = |route: &str| &bodies.iter().find(|(r, _, _)| *r == route).unwrap().1;

    // The page: the same everywhere, in its zone.
    let page = &body_of("/api/v2/summary.json")["page"];
    assert_eq!(page["name"], "Contract");
    assert_eq!(page["url"], "https://status.example.test");
    assert_eq!(page["time_zone"], "America/New_York");
    let page_id = page["id"].as_str().unwrap();
    assert!(page_id.len() == 12 && page_id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    for (route, value, _) in &bodies {
        assert_eq!(value["page"]["id"], page_id, "{route}");
    }

    // Components: groups before their children, children pointing at them, positions in order.
    let components = list(body_of("/api/v2/components.json"), "components");
    let names: Vec<&str> = components.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Core", "API", "Web app", "Messaging", "Email delivery", "Other services", "CDN edge"]);
    let positions: Vec<i64> = components.iter().map(|c| c["position"].as_i64().unwrap()).collect();
    assert!(positions.windows(2).all(|p| p[0] < p[1]), "{positions:?}");
    for group in components.iter().filter(|c| c["group"] == true) {
        let children = group["components"].as_array().expect("a group lists its children");
        assert!(!children.is_empty());
        for child in children {
            let child = components.iter().find(|c| c["id"] == *child).expect("a listed child");
            assert_eq!(child["group_id"], group["id"]);
            assert_eq!(child["group"], false);
            assert!(child.get("components").is_none());
        }
    }
    let component = |name: &str| components.iter().find(|c| c["name"] == name).unwrap();
    assert_eq!(component("API")["id"], "api");
    assert_eq!(component("API")["description"], "The public REST API");
    assert_eq!(component("Email delivery")["status"], "under_maintenance");
    assert_eq!(component("CDN edge")["id"], "cdn");
    assert_eq!(body_of("/api/v2/summary.json")["components"], Value::Array(components.clone()));

    // The indicator: the open incident is major, nothing is down, email is under maintenance.
    let status = &body_of("/api/v2/status.json")["status"];
    assert_eq!(status, &json!({"indicator": "major", "description": "Partial System Outage"}));
    assert_eq!(&body_of("/api/v2/summary.json")["status"], status);

    // Incidents: ids as strings, newest first, every component one components.json lists.
    let incidents = list(body_of("/api/v2/incidents.json"), "incidents");
    let (open_id, closed_id) = (open_id.to_string(), closed_id.to_string());
    let open = incidents.iter().find(|i| i["id"].as_str() == Some(open_id.as_str())).unwrap();
    let closed = incidents.iter().find(|i| i["id"].as_str() == Some(closed_id.as_str())).unwrap();
    assert_eq!((open["status"].as_str(), open["impact"].as_str()), (Some("monitoring"), Some("major")));
    assert!(open["monitoring_at"].is_string() && open["resolved_at"].is_null());
    assert_eq!(open["shortlink"], format!("https://status.example.test/incident/{open_id}"));
    let statuses: Vec<&str> = list(open, "incident_updates").iter().map(|u| u["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["monitoring", "identified", "investigating"], "newest first");
    let affected = &list(open, "incident_updates")[0]["affected_components"];
    assert_eq!(
        affected,
        &json!([{"code": "api", "name": "API", "old_status": "partial_outage", "new_status": "operational"}])
    );
    assert!(list(open, "incident_updates")[1]["affected_components"].is_null(), "it named only the private one");
    assert_eq!(list(open, "components").len(), 1);
    assert_eq!(
        (closed["status"].as_str(), closed["postmortem_body"].as_str()),
        (Some("postmortem"), Some("A full queue."))
    );
    assert!(closed["resolved_at"].is_string());
    for incident in incidents {
        for c in list(incident, "components") {
            assert!(components.iter().any(|listed| listed["id"] == c["id"] && listed["group"] == false), "{c}");
        }
    }
    let unresolved = list(body_of("/api/v2/incidents/unresolved.json"), "incidents");
    assert_eq!(unresolved.iter().map(|i| &i["id"]).collect::<Vec<_>>(), [&open["id"]]);
    assert_eq!(list(body_of("/api/v2/summary.json"), "incidents"), unresolved);

    // Windows: their own ids, in progress and upcoming, as maintenance.
    let windows = list(body_of("/api/v2/scheduled-maintenances.json"), "scheduled_maintenances");
    for window in windows {
        assert_eq!(window["impact"], "maintenance");
        assert!(!incidents.iter().any(|i| i["id"] == window["id"]), "a window's id is no incident's");
    }
    let active = list(body_of("/api/v2/scheduled-maintenances/active.json"), "scheduled_maintenances");
    let upcoming = list(body_of("/api/v2/scheduled-maintenances/upcoming.json"), "scheduled_maintenances");
    assert_eq!(active.len(), 1);
    assert_eq!(
        (active[0]["name"].as_str(), active[0]["status"].as_str()),
        (Some("Mail server upgrade"), Some("in_progress"))
    );
    let names: Vec<&str> = list(&active[0], "components").iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Email delivery"]);
    assert_eq!(upcoming.len(), 1);
    assert_eq!(
        (upcoming[0]["name"].as_str(), upcoming[0]["status"].as_str()),
        (Some("API database move"), Some("scheduled"))
    );
    assert_eq!(list(body_of("/api/v2/summary.json"), "scheduled_maintenances").len(), 2);

    // Round trip: upbeat's own Statuspage importer reads them back.
    let (_, ours) = send(&app, "GET", "/api/v1/incidents", Some(&app.read_token), None).await;
    let (_, our_windows) = send(&app, "GET", "/api/v1/maintenance", Some(&app.read_token), None).await;
    let options = upbeat_import::Options::default();
    let text_of = |route: &str| bodies.iter().find(|(r, _, _)| *r == route).unwrap().2.as_bytes();
    let set = upbeat_import::parse(text_of("/api/v2/incidents.json"), &options).expect("incidents.json imports");
    let imported: BTreeSet<(String, usize)> =
        set.incidents.iter().map(|i| (i.title.clone(), i.updates.len())).collect();
    assert_eq!(imported, titles_and_counts(list(&ours, "incidents"), "updates"));
    assert_eq!(set.incidents.iter().filter(|i| i.postmortem.is_some()).count(), 1);
    let set = upbeat_import::parse(text_of("/api/v2/scheduled-maintenances.json"), &options).expect("windows import");
    let imported: BTreeSet<(String, usize)> =
        set.maintenances.iter().map(|m| (m.title.clone(), m.updates.len())).collect();
    assert_eq!(imported, titles_and_counts(list(&our_windows, "maintenance"), "updates"));
    // summary.json holds incidents and windows together: no id of one hides one of the other.
    let set = upbeat_import::parse(text_of("/api/v2/summary.json"), &options).expect("summary.json imports");
    assert_eq!((set.incidents.len(), set.maintenances.len(), set.duplicates), (1, 2, 0));
    app.stop().await;
}
