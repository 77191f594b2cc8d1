//! `GET /openapi.json` held to the router over real HTTP on both backends: every (path, method) the router serves is documented and nothing else, security declarations match what answers 401, and the document is well-formed (OpenAPI 3.1, every `$ref` resolves, every path parameter declared, operation ids unique).

use std::collections::{BTreeMap, BTreeSet};

use alga_ext::http::routes;
use reqwest::Method;
use serde_json::Value;

use crate::support::TestStore;

/// Every method OpenAPI 3.1 can describe, in its own spelling.
const METHODS: [(&str, Method); 8] = [
    ("get", Method::GET),
    ("put", Method::PUT),
    ("post", Method::POST),
    ("delete", Method::DELETE),
    ("options", Method::OPTIONS),
    ("head", Method::HEAD),
    ("patch", Method::PATCH),
    ("trace", Method::TRACE),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_exactly_the_served_routes_on_sqlite() {
    walk_router(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_exactly_the_served_routes_on_postgres() {
    walk_router(TestStore::postgres().await).await;
}

#[tokio::test]
async fn the_document_is_well_formed_openapi() {
    let doc = serde_json::to_value(alga_ext::http::openapi::document()).unwrap();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
    // An independent OpenAPI 3.1 parser reads it, operations and all.
    let spec = oas3::from_json(doc.to_string()).expect("the document parses as OpenAPI 3.1");
    assert!(spec.operations().count() > 40, "{} operations", spec.operations().count());
    let mut problems = Vec::new();

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 50, "the document references its schemas ({} refs)", refs.len());
    for r in refs {
        match r.strip_prefix('#') {
            Some(pointer) if doc.pointer(pointer).is_some() => {}
            _ => problems.push(format!("$ref {r} does not resolve")),
        }
    }

    let schemes: BTreeSet<&String> = doc["components"]["securitySchemes"].as_object().expect("security schemes").keys().collect();
    assert!(schemes.contains(&"bearer".to_owned()) && schemes.contains(&"pageUrl".to_owned()), "{schemes:?}");
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let in_template: BTreeSet<String> =
            path.split('/').filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).map(str::to_owned).collect();
        for (method, op) in operations(item) {
            let declared: BTreeSet<String> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    if p["required"] != true {
                        problems.push(format!("{method} {path}: path parameter {} is not required", p["name"]));
                    }
                    p["name"].as_str().unwrap_or_default().to_owned()
                })
                .collect();
            if declared != in_template {
                problems.push(format!("{method} {path}: path parameters declared {declared:?}, template has {in_template:?}"));
            }
            match op["operationId"].as_str() {
                Some(id) if operation_ids.insert(id.to_owned()) => {}
                other => problems.push(format!("{method} {path}: operationId {other:?} missing or repeated")),
            }
            if op["responses"].as_object().is_none_or(|r| r.is_empty()) {
                problems.push(format!("{method} {path}: no responses"));
            }
            for requirement in security_of(&doc, op).iter() {
                for name in requirement.as_object().into_iter().flat_map(|o| o.keys()) {
                    if !schemes.contains(name) {
                        problems.push(format!("{method} {path}: security scheme {name} is not defined"));
                    }
                }
            }
            // Every error the runtime answers itself has the one shape.
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    if schema != "#/components/schemas/ApiErrorBody" {
                        problems.push(format!("{method} {path} {status}: error body is {schema}, not ApiErrorBody"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "the document is not well formed:\n{}", problems.join("\n"));
}

/// Starts the app on an ephemeral port, reads its `/openapi.json`, probes every method of
/// every route `routes()` mounts, and compares.
async fn walk_router(db: TestStore) {
    let state = db.app_state();
    let templates: Vec<&'static str> = routes(&state).into_iter().map(|(path, _)| path).collect();
    let (addr, stop) = crate::wire::spawn(&state).await;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    let res = client.get(format!("{base}/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.unwrap();
    let documented: BTreeMap<String, BTreeSet<&str>> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| (path.clone(), operations(item).into_iter().map(|(method, _)| method).collect()))
        .collect();

    let mut problems = Vec::new();
    let mut served_paths = BTreeSet::new();
    for template in &templates {
        let doc_path = template.replace("{*", "{");
        served_paths.insert(doc_path.clone());
        let url = format!("{base}{}", concrete(template));
        let mut served = BTreeSet::new();
        for (name, method) in &METHODS {
            let res = client.request(method.clone(), &url).send().await.unwrap();
            if res.status() == 405 {
                // axum's own 405 lists what the route does serve; the method is not among them.
                let allow = res.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
                assert!(!allow.is_empty() && !allow.split(',').any(|m| m.trim() == *name), "{name} {template}: 405 with Allow {allow:?}");
            } else {
                served.insert(*name);
            }
        }
        let Some(listed) = documented.get(&doc_path) else {
            problems.push(format!("{template} is served ({served:?}) but not documented as {doc_path}"));
            continue;
        };
        for method in listed.difference(&served) {
            problems.push(format!("{method} {doc_path} is documented but not served"));
        }
        for method in served.difference(listed) {
            // axum answers HEAD wherever it answers GET (the body dropped); the document
            // lists HEAD only where it means more (`/ext-ui`, any-method endpoints).
            if !(*method == "head" && listed.contains("get")) {
                problems.push(format!("{method} {doc_path} is served but not documented"));
            }
        }
        problems.extend(security_problems(&client, &doc, &doc_path, &url).await);
    }
    for stale in documented.keys().filter(|p| !served_paths.contains(*p)) {
        problems.push(format!("{stale} is documented but no route serves it"));
    }
    assert!(problems.is_empty(), "/openapi.json disagrees with the router:\n{}", problems.join("\n"));
    let _ = stop.send(());
}

/// Called without any credential, an operation answers 401 exactly when the document says
/// it needs one (no empty security requirement among its alternatives).
async fn security_problems(client: &reqwest::Client, doc: &Value, doc_path: &str, url: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, op) in operations(&doc["paths"][doc_path]) {
        let method = METHODS.iter().find(|(n, _)| *n == name).map(|(_, m)| m.clone()).unwrap();
        let open = security_of(doc, op).iter().any(|r| r.as_object().is_some_and(|o| o.is_empty()));
        let status = client.request(method, url).send().await.unwrap().status().as_u16();
        if open == (status == 401) {
            problems.push(format!(
                "{name} {doc_path}: documented as {}, answered {status} without one",
                if open { "open" } else { "needing a credential" }
            ));
        }
    }
    problems
}

/// The operations of a path item, by method.
fn operations(item: &Value) -> Vec<(&'static str, &Value)> {
    METHODS.iter().filter_map(|(name, _)| item.get(*name).map(|op| (*name, op))).collect()
}

/// An operation's security alternatives: its own, or the document's.
fn security_of<'a>(doc: &'a Value, op: &'a Value) -> &'a Vec<Value> {
    op.get("security").unwrap_or(&doc["security"]).as_array().expect("security requirements")
}

/// A route template with every parameter filled in.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{id}" => "2f1c9a3e-58b4-4d0e-9a57-2c7f0e8b1d43".to_owned(),
            "{hash}" => format!("sha256:{}", "0".repeat(64)),
            "{*path}" => "probe/x".to_owned(),
            "{permission}" => "tickets:read".to_owned(),
            s if s.starts_with('{') => "probe".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
