//! Statuspage's v2 JSON API: `incidents.json`, `incidents/unresolved.json`, `summary.json`,
//! `scheduled-maintenances.json` and `components.json`.
//!
//! The documents are walked as `serde_json::Value`s rather than deserialized into structs, so an
//! error names the exact path (`incidents[3].incident_updates[0].created_at`), which serde's
//! messages do not.
//!
//! Statuspage components become upbeat component ids by slugging their names (upbeat ids are
//! slugs). An incident's components are what its updates said about them, newest last, over the
//! statuses its `components` list shows; a component group (`"group": true`) is not a component.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use upbeat_core::import::{
    ImportSet, ImportedIncident, ImportedMaintenance, ImportedPostmortem, ImportedUpdate, guid_hash_of, slug,
};
use upbeat_core::incident::{ComponentStatus, ComponentStatuses, Impact, IncidentStatus};

use crate::statuspage::Status;
use crate::{ImportError, Options};

/// How long a maintenance without `scheduled_until` is taken to last.
const DEFAULT_MAINTENANCE: Duration = Duration::hours(1);

pub fn parse(value: &serde_json::Value, _options: &Options) -> Result<ImportSet, ImportError> {
    let root = Obj::root(value)?;
    let lists = ["incidents", "scheduled_maintenances", "components"];
    if !lists.iter().any(|k| root.map.contains_key(*k)) {
        return Err(ImportError::new(
            "not Statuspage v2 API JSON: expected an object with `incidents`, `scheduled_maintenances` or \
             `components` (incidents.json, summary.json, scheduled-maintenances.json, components.json)",
        ));
    }
    let mut reader =
        Reader { set: ImportSet { format: "Statuspage JSON".into(), ..ImportSet::default() }, ..Reader::default() };
    for component in root.array("components")? {
        let component = component?;
        if !component.bool("group")? {
            reader.component(component.required_str("name")?);
        }
    }
    for list in ["incidents", "scheduled_maintenances"] {
        for object in root.array(list)? {
            reader.object(&object?, list == "scheduled_maintenances")?;
        }
    }
    Ok(reader.set)
}

#[derive(Default)]
struct Reader {
    set: ImportSet,
    keys: BTreeSet<String>,
}

impl Reader {
    /// The component's id, noting it in the set the first time.
    fn component(&mut self, name: &str) -> String {
        let id = slug(name);
        if self.set.components.iter().all(|(known, _)| *known != id) {
            self.set.components.push((id.clone(), name.to_owned()));
        }
        id
    }

    fn widen(&mut self, at: DateTime<Utc>) {
        self.set.window = Some(self.set.window.map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))));
    }

    /// One object of `incidents` or `scheduled_maintenances`.
    fn object(&mut self, o: &Obj<'_>, listed_as_maintenance: bool) -> Result<(), ImportError> {
        self.set.items += 1;
        let id = o.required_str("id")?;
        let key = format!("statuspage:{id}");
        if !self.keys.insert(key.clone()) {
            self.set.duplicates += 1;
            return Ok(());
        }
        let status = Status::from_name(o.required_str("status")?).map_err(|m| ImportError::path(o.at("status"), m))?;
        let scheduled_for = o.date("scheduled_for")?;
        if listed_as_maintenance || status.is_maintenance() || scheduled_for.is_some() {
            self.maintenance(o, key, scheduled_for)
        } else {
            self.incident(o, key, status)
        }
    }

    fn incident(&mut self, o: &Obj<'_>, key: String, status: Status) -> Result<(), ImportError> {
        let status = status.incident().ok_or_else(|| {
            ImportError::path(o.at("status"), format!("`{}` is a maintenance's status", status.name()))
        })?;
        let impact = match o.str("impact")? {
            None | Some("none" | "maintenance") => Impact::None,
            Some(text) => Impact::parse(text).ok_or_else(|| {
                ImportError::path(o.at("impact"), format!("`{text}` is not one of {}, maintenance", Impact::names()))
            })?,
        };
        let mut components = ComponentStatuses::new();
        for component in o.array("components")? {
            let component = component?;
            let id = self.component(component.required_str("name")?);
            if let Some(text) = component.str("status")? {
                components.insert(id, component_status(&component.at("status"), text)?);
            }
        }

        let mut updates: Vec<ImportedUpdate> = Vec::new();
        let mut postmortem = None;
        let mut changes: Vec<(DateTime<Utc>, String, ComponentStatus)> = Vec::new();
        for u in o.array("incident_updates")? {
            let u = u?;
            let (at, body, status) = self.update(&u, &mut changes)?;
            if status == Status::Postmortem {
                postmortem = Some(ImportedPostmortem { body, published_at: at });
                continue;
            }
            let status = status.incident().ok_or_else(|| {
                ImportError::path(
                    u.at("status"),
                    format!("`{}` is a maintenance's status, in an incident", status.name()),
                )
            })?;
            let guid_hash = guid_hash_of(&format!("statuspage-update:{}", u.required_str("id")?));
            updates.push(ImportedUpdate { guid_hash, status, body, at });
        }
        updates.sort_by_key(|u| u.at);
        // The API lists updates newest first; what the newest says about a component stands.
        changes.sort_by_key(|(at, _, _)| *at);
        components.extend(changes.into_iter().map(|(_, id, status)| (id, status)));

        let oldest = updates.first().map(|u| u.at);
        let started_at = match (o.date("started_at")?, o.date("created_at")?, oldest) {
            (Some(t), _, _) | (None, Some(t), _) | (None, None, Some(t)) => t,
            (None, None, None) => {
                return Err(ImportError::path(
                    o.at("created_at"),
                    "missing, and the incident has no updates to date it",
                ));
            }
        };
        let resolved_at = match status {
            IncidentStatus::Resolved => o.date("resolved_at")?.or_else(|| {
                updates.iter().rev().take_while(|u| u.status == IncidentStatus::Resolved).last().map(|u| u.at)
            }),
            _ => None,
        };
        self.widen(started_at);
        if let Some(t) = resolved_at {
            self.widen(t);
        }
        for t in updates.iter().map(|u| u.at).chain(postmortem.as_ref().map(|p: &ImportedPostmortem| p.published_at)) {
            self.widen(t);
        }
        self.set.incidents.push(ImportedIncident {
            key,
            id: None,
            title: o.required_str("name")?.to_owned(),
            impact,
            status,
            components,
            started_at,
            resolved_at,
            updates,
            postmortem,
        });
        Ok(())
    }

    fn maintenance(
        &mut self,
        o: &Obj<'_>,
        key: String,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> Result<(), ImportError> {
        let scheduled_for = scheduled_for
            .ok_or_else(|| ImportError::path(o.at("scheduled_for"), "a scheduled maintenance needs its start"))?;
        let title = o.required_str("name")?.to_owned();
        let scheduled_until = match o.date("scheduled_until")? {
            Some(t) if t < scheduled_for => {
                return Err(ImportError::path(o.at("scheduled_until"), "the maintenance ends before it begins"));
            }
            Some(t) => t,
            None => {
                self.set.notes.push(format!(
                    "{}: the maintenance `{title}` has no end; taken to end an hour after it begins",
                    o.at("scheduled_until")
                ));
                scheduled_for + DEFAULT_MAINTENANCE
            }
        };
        let mut components = Vec::new();
        for component in o.array("components")? {
            let id = self.component(component?.required_str("name")?);
            if !components.contains(&id) {
                components.push(id);
            }
        }
        let mut updates = Vec::new();
        // A maintenance's components are a list, not statuses: what updates say about them is dropped.
        let mut ignored = Vec::new();
        for u in o.array("incident_updates")? {
            let (at, body, status) = self.update(&u?, &mut ignored)?;
            let text = if body.is_empty() {
                format!("**{}**", status.label())
            } else {
                format!("**{}** - {body}", status.label())
            };
            updates.push((at, text));
        }
        updates.sort_by_key(|(at, _)| *at);
        for (at, _) in &updates {
            self.widen(*at);
        }
        self.set.maintenances.push(ImportedMaintenance {
            key,
            title,
            scheduled_for,
            scheduled_until,
            components,
            updates,
        });
        Ok(())
    }

    /// An update's time, body and status; what it says about components goes into `changes`.
    fn update(
        &mut self,
        u: &Obj<'_>,
        changes: &mut Vec<(DateTime<Utc>, String, ComponentStatus)>,
    ) -> Result<(DateTime<Utc>, String, Status), ImportError> {
        let status = Status::from_name(u.required_str("status")?).map_err(|m| ImportError::path(u.at("status"), m))?;
        let at = match u.date("display_at")? {
            Some(t) => t,
            None => u
                .date("created_at")?
                .ok_or_else(|| ImportError::path(u.at("created_at"), "missing, and so is display_at"))?,
        };
        for affected in u.array("affected_components")? {
            let affected = affected?;
            let id = self.component(affected.required_str("name")?);
            if let Some(text) = affected.str("new_status")? {
                changes.push((at, id, component_status(&affected.at("new_status"), text)?));
            }
        }
        Ok((at, u.str("body")?.unwrap_or("").trim().to_owned(), status))
    }
}

fn component_status(path: &str, text: &str) -> Result<ComponentStatus, ImportError> {
    ComponentStatus::parse(text)
        .ok_or_else(|| ImportError::path(path, format!("`{text}` is not one of {}", ComponentStatus::names())))
}

/// A JSON object and the path that leads to it, so every error can name where it is.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn root(value: &'a Value) -> Result<Obj<'a>, ImportError> {
        match value {
            Value::Object(map) => Ok(Obj { map, path: String::new() }),
            _ => {
                Err(ImportError::new(format!("not Statuspage v2 API JSON: expected an object, found {}", kind(value))))
            }
        }
    }

    /// The path to a field of this object.
    fn at(&self, field: &str) -> String {
        if self.path.is_empty() { field.to_owned() } else { format!("{}.{field}", self.path) }
    }

    /// A string field; missing and `null` are `None`.
    fn str(&self, field: &str) -> Result<Option<&'a str>, ImportError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ImportError::path(self.at(field), format!("expected a string, found {}", kind(other)))),
        }
    }

    fn required_str(&self, field: &str) -> Result<&'a str, ImportError> {
        match self.str(field)? {
            Some(s) if !s.trim().is_empty() => Ok(s.trim()),
            _ => Err(ImportError::path(self.at(field), "missing or empty")),
        }
    }

    /// A boolean field; missing and `null` are false.
    fn bool(&self, field: &str) -> Result<bool, ImportError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => {
                Err(ImportError::path(self.at(field), format!("expected true or false, found {}", kind(other))))
            }
        }
    }

    fn date(&self, field: &str) -> Result<Option<DateTime<Utc>>, ImportError> {
        let Some(text) = self.str(field)? else { return Ok(None) };
        DateTime::parse_from_rfc3339(text.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| ImportError::path(self.at(field), format!("`{text}` is not an RFC 3339 date")))
    }

    /// The objects of an array field; missing and `null` are empty.
    fn array(&self, field: &str) -> Result<Vec<Result<Obj<'a>, ImportError>>, ImportError> {
        let items = match self.map.get(field) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(ImportError::path(self.at(field), format!("expected an array, found {}", kind(other))));
            }
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(n, item)| {
                let path = format!("{}[{n}]", self.at(field));
                match item {
                    Value::Object(map) => Ok(Obj { map, path }),
                    other => Err(ImportError::path(path, format!("expected an object, found {}", kind(other)))),
                }
            })
            .collect())
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn err(value: Value) -> String {
        parse(&value, &Options::default()).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_path() {
        let update = json!({"id": "u1", "status": "investigating", "body": "x", "created_at": "yesterday"});
        let incident = json!({"id": "a", "name": "A", "status": "investigating", "created_at": "2025-01-01T00:00:00Z",
            "incident_updates": [update]});
        assert_eq!(
            err(json!({"incidents": [incident]})),
            "incidents[0].incident_updates[0].created_at: `yesterday` is not an RFC 3339 date"
        );
        assert_eq!(
            err(json!({"incidents": [{"id": "a", "name": "A", "status": "broken"}]})),
            "incidents[0].status: `broken` is not one of investigating, identified, monitoring, resolved, postmortem, scheduled, in_progress, verifying, completed"
        );
        assert_eq!(err(json!({"incidents": [3]})), "incidents[0]: expected an object, found a number");
        assert_eq!(err(json!({"incidents": {}})), "incidents: expected an array, found an object");
        assert!(err(json!({"page": {}})).contains("expected an object with `incidents`"));
        assert!(err(json!([])).contains("found an array"));
        let e = err(
            json!({"incidents": [{"id": "a", "name": "A", "status": "resolved", "created_at": "2025-01-01T00:00:00Z",
            "components": [{"name": "API", "status": "on_fire"}]}]}),
        );
        assert!(e.starts_with("incidents[0].components[0].status: `on_fire` is not one of operational"), "{e}");
    }

    #[test]
    fn groups_are_not_components_and_names_become_slugs() {
        let set = parse(
            &json!({"components": [{"id": "g", "name": "Edge", "group": true}, {"id": "c1", "name": "Edge API"},
                {"id": "c2", "name": "Edge API"}]}),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(set.components, vec![("edge-api".to_owned(), "Edge API".to_owned())]);
        assert_eq!(set.window, None);
    }
}
