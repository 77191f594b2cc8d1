//! The simulator's records: fixture data copied for each tenant on its first call, and the
//! list, get, create, replace, patch and delete operations the REST API performs on them.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

/// One collection of the host API: its capability resource (as in `alga_ops::api::HOST_PATHS`),
/// the path segment under `/api/v1/`, the prefix of the ids it makes, and its fixtures.
pub struct Resource {
    pub resource: &'static str,
    pub segment: &'static str,
    pub id_prefix: &'static str,
    fixtures: &'static str,
}

/// Every collection the simulator serves; a unit test holds it to the runtime's capability
/// table, so a resource added there cannot be forgotten here.
pub const RESOURCES: &[Resource] = &[
    Resource { resource: "tickets", segment: "tickets", id_prefix: "t-", fixtures: include_str!("fixtures/tickets.json") },
    Resource { resource: "companies", segment: "companies", id_prefix: "c-", fixtures: include_str!("fixtures/companies.json") },
    Resource { resource: "contacts", segment: "contacts", id_prefix: "ct-", fixtures: include_str!("fixtures/contacts.json") },
    Resource { resource: "projects", segment: "projects", id_prefix: "p-", fixtures: include_str!("fixtures/projects.json") },
    Resource { resource: "time_entries", segment: "time-entries", id_prefix: "te-", fixtures: include_str!("fixtures/time_entries.json") },
    Resource { resource: "invoices", segment: "invoices", id_prefix: "inv-", fixtures: include_str!("fixtures/invoices.json") },
    Resource { resource: "assets", segment: "assets", id_prefix: "a-", fixtures: include_str!("fixtures/assets.json") },
    Resource { resource: "documents", segment: "documents", id_prefix: "d-", fixtures: include_str!("fixtures/documents.json") },
    Resource { resource: "users", segment: "users", id_prefix: "u-", fixtures: include_str!("fixtures/users.json") },
];

/// The resource served at `/api/v1/<segment>`.
pub fn resource(segment: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.segment == segment)
}

/// Lists answer this many records unless `?limit` says otherwise, and never more than `MAX_LIMIT`.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

/// Why an operation on the records failed; the HTTP layer gives each its status.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidBody(String),
    #[error("{0}")]
    InvalidQuery(String),
}

/// One tenant's copy of one collection, in insertion order.
struct Collection {
    items: Vec<Map<String, Value>>,
    /// The number the next generated id gets.
    next: u64,
}

impl Collection {
    fn seeded(resource: &Resource) -> Self {
        // The fixtures are part of the binary and checked by a unit test, so they parse.
        let items: Vec<Map<String, Value>> = serde_json::from_str(resource.fixtures).unwrap_or_default();
        let highest =
            items.iter().filter_map(|item| item.get("id")?.as_str()?.strip_prefix(resource.id_prefix)?.parse::<u64>().ok()).max().unwrap_or(1000);
        Self { items, next: highest + 1 }
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.items.iter().position(|item| item.get("id").and_then(Value::as_str) == Some(id))
    }
}

/// Every tenant's records, in memory; a tenant starts from the fixtures on its first call.
#[derive(Default)]
pub struct Records {
    tenants: Mutex<HashMap<String, HashMap<&'static str, Collection>>>,
}

impl Records {
    /// Runs `f` on `tenant`'s copy of `resource`, creating it from the fixtures first.
    fn with<T>(&self, tenant: &str, resource: &'static Resource, f: impl FnOnce(&mut Collection) -> T) -> T {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let collections = tenants.entry(tenant.to_owned()).or_default();
        let collection = collections.entry(resource.segment).or_insert_with(|| Collection::seeded(resource));
        f(collection)
    }

    /// Forgets every tenant's changes: the next call starts from the fixtures again.
    pub fn reset(&self) {
        self.tenants.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// `{ data, pagination: { total, limit, offset } }` of the records matching every filter
    /// of `query` (`field=value`, compared as text), paged by `limit` and `offset`.
    pub fn list(&self, tenant: &str, resource: &'static Resource, query: &[(String, String)]) -> Result<Value, DataError> {
        let mut limit = DEFAULT_LIMIT;
        let mut offset = 0;
        let mut filters = Vec::new();
        for (name, value) in query {
            match name.as_str() {
                "limit" => {
                    limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| DataError::InvalidQuery(format!("limit must be a whole number from 1 to {MAX_LIMIT}, not {value:?}")))?
                }
                "offset" => {
                    offset =
                        value.parse::<usize>().map_err(|_| DataError::InvalidQuery(format!("offset must be a whole number from 0, not {value:?}")))?
                }
                _ => filters.push((name.as_str(), value.as_str())),
            }
        }
        self.with(tenant, resource, |collection| {
            for (field, _) in &filters {
                if !collection.items.iter().any(|item| item.contains_key(*field)) {
                    let mut fields: Vec<&str> = collection.items.iter().flat_map(|item| item.keys().map(String::as_str)).collect();
                    fields.sort_unstable();
                    fields.dedup();
                    return Err(DataError::InvalidQuery(format!(
                        "{} records have no field {field:?} to filter on; filter on one of: limit, offset, {}",
                        resource.segment,
                        fields.join(", ")
                    )));
                }
            }
            let matching: Vec<&Map<String, Value>> = collection
                .items
                .iter()
                .filter(|item| filters.iter().all(|(field, wanted)| item.get(*field).is_some_and(|v| text(v) == *wanted)))
                .collect();
            let total = matching.len();
            let page: Vec<Value> = matching.into_iter().skip(offset).take(limit).map(|item| Value::Object(item.clone())).collect();
            Ok(json!({ "data": page, "pagination": { "total": total, "limit": limit, "offset": offset } }))
        })
    }

    pub fn get(&self, tenant: &str, resource: &'static Resource, id: &str) -> Result<Value, DataError> {
        self.with(tenant, resource, |collection| {
            let at = collection.position(id).ok_or_else(|| not_found(resource, id))?;
            Ok(Value::Object(collection.items[at].clone()))
        })
    }

    /// Adds a record; its `id` is generated unless the body brings an unused one.
    pub fn create(&self, tenant: &str, resource: &'static Resource, body: Value) -> Result<Value, DataError> {
        let mut record = object(body)?;
        let now = now();
        self.with(tenant, resource, |collection| {
            let id = match record.get("id") {
                None | Some(Value::Null) => {
                    let id = format!("{}{}", resource.id_prefix, collection.next);
                    collection.next += 1;
                    id
                }
                Some(Value::String(id)) if !id.is_empty() => {
                    if collection.position(id).is_some() {
                        return Err(DataError::Conflict(format!("{} {id:?} already exists", resource.segment)));
                    }
                    id.clone()
                }
                Some(_) => return Err(DataError::InvalidBody("id must be a non-empty string when given".into())),
            };
            record.insert("id".into(), Value::String(id));
            record.entry("created_at").or_insert_with(|| Value::String(now.clone()));
            record.insert("updated_at".into(), Value::String(now));
            collection.items.push(record.clone());
            Ok(Value::Object(record))
        })
    }

    /// Replaces a record's fields with the body's (PUT); `id` and `created_at` stay.
    pub fn replace(&self, tenant: &str, resource: &'static Resource, id: &str, body: Value) -> Result<Value, DataError> {
        let mut record = object(body)?;
        same_id(&record, id)?;
        self.with(tenant, resource, |collection| {
            let at = collection.position(id).ok_or_else(|| not_found(resource, id))?;
            let created = collection.items[at].get("created_at").cloned().unwrap_or(Value::Null);
            record.insert("id".into(), Value::String(id.to_owned()));
            record.insert("created_at".into(), created);
            record.insert("updated_at".into(), Value::String(now()));
            collection.items[at] = record.clone();
            Ok(Value::Object(record))
        })
    }

    /// Applies a JSON merge patch (RFC 7386: `null` removes a field) to a record (PATCH).
    pub fn patch(&self, tenant: &str, resource: &'static Resource, id: &str, body: Value) -> Result<Value, DataError> {
        let patch = object(body)?;
        same_id(&patch, id)?;
        self.with(tenant, resource, |collection| {
            let at = collection.position(id).ok_or_else(|| not_found(resource, id))?;
            let mut merged = Value::Object(collection.items[at].clone());
            merge_patch(&mut merged, &Value::Object(patch));
            let Value::Object(mut record) = merged else { unreachable!("merging into an object keeps an object") };
            record.insert("id".into(), Value::String(id.to_owned()));
            record.insert("updated_at".into(), Value::String(now()));
            collection.items[at] = record.clone();
            Ok(Value::Object(record))
        })
    }

    pub fn delete(&self, tenant: &str, resource: &'static Resource, id: &str) -> Result<(), DataError> {
        self.with(tenant, resource, |collection| {
            let at = collection.position(id).ok_or_else(|| not_found(resource, id))?;
            collection.items.remove(at);
            Ok(())
        })
    }
}

fn not_found(resource: &Resource, id: &str) -> DataError {
    DataError::NotFound(format!("no {} record has the id {id:?}", resource.segment))
}

fn object(body: Value) -> Result<Map<String, Value>, DataError> {
    match body {
        Value::Object(map) => Ok(map),
        other => Err(DataError::InvalidBody(format!("the body must be a JSON object, not {}", kind(&other)))),
    }
}

/// A body may repeat the record's id, but not name another.
fn same_id(body: &Map<String, Value>, id: &str) -> Result<(), DataError> {
    match body.get("id") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(given)) if given == id => Ok(()),
        Some(other) => Err(DataError::InvalidBody(format!("the body's id {other} differs from the path's {id:?}; ids cannot change"))),
    }
}

fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else { return };
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// How a filter compares a field: strings as they are, anything else as its JSON text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
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

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tickets() -> &'static Resource {
        resource("tickets").unwrap()
    }

    #[test]
    fn every_capability_resource_is_served_with_parseable_fixtures() {
        for (name, segment) in alga_ops::api::HOST_PATHS {
            let served = resource(segment).unwrap_or_else(|| panic!("/api/v1/{segment} has no simulated collection"));
            assert_eq!(served.resource, *name);
            let items: Vec<Map<String, Value>> = serde_json::from_str(served.fixtures).unwrap_or_else(|e| panic!("fixtures of {segment}: {e}"));
            assert!(!items.is_empty(), "{segment} has no fixtures");
            for item in &items {
                let id = item["id"].as_str().unwrap_or_else(|| panic!("a {segment} fixture has no string id"));
                assert!(id.starts_with(served.id_prefix), "{segment} id {id} lacks the prefix {}", served.id_prefix);
            }
        }
        assert_eq!(RESOURCES.len(), alga_ops::api::HOST_PATHS.len());
    }

    #[test]
    fn lists_filter_and_page() {
        let records = Records::default();
        let query = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let all = records.list("acme", tickets(), &[]).unwrap();
        assert_eq!(all["pagination"], json!({ "total": 5, "limit": DEFAULT_LIMIT, "offset": 0 }));
        let open = records.list("acme", tickets(), &query(&[("status", "open"), ("limit", "1"), ("offset", "1")])).unwrap();
        assert_eq!(open["pagination"]["total"], 2);
        assert_eq!(open["data"][0]["id"], "t-1004");
        let unassigned = records.list("acme", tickets(), &query(&[("assigned_to", "null")])).unwrap();
        assert_eq!(unassigned["data"][0]["id"], "t-1004");
        let err = records.list("acme", tickets(), &query(&[("colour", "red")])).unwrap_err();
        assert!(matches!(&err, DataError::InvalidQuery(m) if m.contains("\"colour\"") && m.contains("status")), "{err}");
        assert!(matches!(records.list("acme", tickets(), &query(&[("limit", "0")])), Err(DataError::InvalidQuery(_))));
        assert!(matches!(records.list("acme", tickets(), &query(&[("offset", "-1")])), Err(DataError::InvalidQuery(_))));
    }

    #[test]
    fn writes_change_one_tenant_only() {
        let records = Records::default();
        let created = records.create("acme", tickets(), json!({ "title": "Mouse is broken", "status": "open" })).unwrap();
        assert_eq!(created["id"], "t-1006");
        assert!(created["created_at"].is_string());
        assert_eq!(records.list("acme", tickets(), &[]).unwrap()["pagination"]["total"], 6);
        assert_eq!(records.list("globex", tickets(), &[]).unwrap()["pagination"]["total"], 5);

        let patched = records.patch("acme", tickets(), "t-1006", json!({ "status": "closed", "title": null })).unwrap();
        assert_eq!((patched["status"].as_str(), patched.get("title")), (Some("closed"), None));
        let replaced = records.replace("acme", tickets(), "t-1001", json!({ "title": "Replaced" })).unwrap();
        assert_eq!(replaced["created_at"], "2025-03-03T08:14:00Z");
        assert_eq!(replaced.get("status"), None);
        assert!(matches!(records.patch("acme", tickets(), "t-1001", json!({ "id": "t-9" })), Err(DataError::InvalidBody(_))));
        assert!(matches!(records.create("acme", tickets(), json!({ "id": "t-1002" })), Err(DataError::Conflict(_))));
        assert!(matches!(records.create("acme", tickets(), json!([1])), Err(DataError::InvalidBody(m)) if m.contains("an array")));

        records.delete("acme", tickets(), "t-1006").unwrap();
        assert!(matches!(records.get("acme", tickets(), "t-1006"), Err(DataError::NotFound(_))));
        assert!(matches!(records.delete("acme", tickets(), "t-1006"), Err(DataError::NotFound(_))));
        records.reset();
        assert_eq!(records.get("acme", tickets(), "t-1001").unwrap()["status"], "open");
    }
}
