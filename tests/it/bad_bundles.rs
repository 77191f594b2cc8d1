//! The data-driven refusal suite: every case in `tests/bundles/bad/` is uploaded through the
//! admin API, must get its status and error code, and must leave nothing behind.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::archives::{self, Entry};
use crate::support::{admin_token, tenant, TestStore};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[allow(dead_code)]
    why: String,
    #[serde(default = "zip")]
    format: String,
    raw: Option<String>,
    #[serde(default = "yes")]
    base: bool,
    manifest: Option<Value>,
    #[serde(default)]
    files: Vec<Entry>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: u16,
    code: String,
    rule: Option<String>,
    pointer: Option<String>,
    file: Option<String>,
    line: Option<u64>,
}

fn zip() -> String {
    "zip".into()
}

fn yes() -> bool {
    true
}

pub fn base_manifest() -> Value {
    json!({
        "id": "com.example.case",
        "name": "Case",
        "version": "1.0.0",
        "main": "index.js",
        "extensionPoints": { "pages": [{ "path": "/home", "handler": "home" }] }
    })
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(target), Some(patch)) => {
            for (k, v) in patch {
                if v.is_null() {
                    target.remove(k);
                } else {
                    merge(target.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn build(case: &Case) -> Vec<u8> {
    if case.format == "raw" {
        return case.raw.clone().unwrap_or_default().into_bytes();
    }
    let mut manifest = base_manifest();
    if let Some(patch) = &case.manifest {
        merge(&mut manifest, patch);
    }
    let mut entries = Vec::new();
    let overridden: Vec<&str> = case.files.iter().filter_map(|f| f.path.as_deref()).collect();
    if case.base {
        for (path, bytes) in
            [("manifest.json", serde_json::to_vec(&manifest).unwrap()), ("index.js", b"export function home() { return '<p>hi</p>'; }".to_vec())]
        {
            if !overridden.contains(&path) {
                entries.push(Entry::file(path, bytes));
            }
        }
    }
    for file in &case.files {
        let mut file = file.clone();
        if file.json == Some(json!("BASE_MANIFEST")) {
            file.json = Some(manifest.clone());
        }
        entries.extend(file.expand());
    }
    match case.format.as_str() {
        "zip" => archives::zip(&entries),
        "tar.gz" => archives::tar_gz(&entries),
        other => panic!("unknown format {other}"),
    }
}

fn cases() -> Vec<(String, Case)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bundles/bad");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    assert!(paths.len() >= 40, "the bad-bundle folder lost its cases");
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let case = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, case)
        })
        .collect()
}

/// Checks one response against its case; returns what did not match.
fn mismatch(case: &Case, status: u16, body: &Value) -> Option<String> {
    let e = &case.expect;
    let err = &body["error"];
    if status != e.status || err["code"] != e.code.as_str() {
        return Some(format!("expected {} {}, got {status} {body}", e.status, e.code));
    }
    if err["message"].as_str().is_none_or(str::is_empty) {
        return Some(format!("no message: {body}"));
    }
    let problems = err["details"]["problems"].as_array().cloned().unwrap_or_default();
    let found = problems.iter().any(|p| {
        e.rule.as_deref().is_none_or(|r| p["rule"] == r)
            && e.pointer.as_deref().is_none_or(|ptr| p["pointer"] == ptr)
            && e.file.as_deref().is_none_or(|f| p["file"] == f)
            && e.line.is_none_or(|l| p["line"] == l)
    });
    let wants_problem = e.rule.is_some() || e.pointer.is_some() || e.file.is_some();
    (wants_problem && !found).then(|| format!("no problem matching {e:?} in {body}"))
}

async fn run_all(db: TestStore) {
    let state = db.app_state();
    let token = admin_token("acme");
    let mut failures = Vec::new();
    for (name, case) in cases() {
        let req = Request::post("/admin/v1/extensions")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(build(&case)))
            .unwrap();
        let res = alga_ext::http::app(state.clone()).oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap_or_default();
        if let Some(why) = mismatch(&case, status, &body) {
            failures.push(format!("{name}: {why}"));
        }
        // Nothing behind: no install, no audit row, no stored file content.
        let t = tenant("acme");
        let left = db.store.list_extensions(&t, &Default::default()).await.unwrap().len()
            + db.store.list_audit(&t, 10).await.unwrap().len()
            + db.store.gc_file_blobs().await.unwrap() as usize;
        if left != 0 {
            failures.push(format!("{name}: left {left} rows behind"));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn every_bad_bundle_is_refused_with_its_code_on_sqlite() {
    run_all(TestStore::sqlite().await).await;
}

#[tokio::test]
async fn every_bad_bundle_is_refused_with_its_code_on_postgres() {
    run_all(TestStore::postgres().await).await;
}

#[test]
fn the_base_bundle_of_the_cases_is_itself_valid() {
    let case: Case = serde_json::from_value(json!({ "why": "control", "expect": { "status": 201, "code": "" } })).unwrap();
    let inspection = alga_bundle::inspect_archive(&build(&case), None, &Default::default());
    assert!(inspection.is_ok(), "{:?}", inspection.err());
}
