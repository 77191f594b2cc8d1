//! Input PostgreSQL cannot store (NUL) and values nested too deep to re-import are refused
//! with a 4xx naming the problem on every path that writes — never a 500 — and whatever
//! storage accepts, its export re-imports.

use axum::http::Method;
use serde_json::{json, Value};

use crate::dispatch::send;
use crate::storage_admin::jsonl;
use crate::storage_ops::bundle;
use crate::support::{admin_token, TestStore};

fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

async fn refused_everywhere(db: TestStore) {
    let state = db.app_state();
    let rw = ["storage:read", "storage:write"];
    let source = crate::dispatch::install_zip(&state, "acme", bundle("com.example.kv", "1.0.0", &rw)).await;
    let target = crate::dispatch::install_zip(&state, "globex", bundle("com.example.kv", "1.0.0", &rw)).await;
    let (acme, globex) = (admin_token("acme"), admin_token("globex"));

    // The deepest value storage takes goes out and back in unchanged.
    let deepest = nested(alga_ops::storage::MAX_VALUE_DEPTH);
    let (status, _, body) = send(&state, Method::PUT, "/api/extensions/com.example.kv/kv/deep", &acme, Some(deepest.clone())).await;
    assert_eq!(status, 204, "{body}");
    let (status, _, body) =
        send(&state, Method::PUT, "/api/extensions/com.example.kv/kv/deeper", &acme, Some(nested(alga_ops::storage::MAX_VALUE_DEPTH + 1))).await;
    assert_eq!(status, 500, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("StorageError") && message.contains("nested deeper than 64 levels"), "{body}");
    let (status, _, exported) = jsonl(&state, Method::GET, &format!("/admin/v1/extensions/{source}/storage"), &acme, "").await;
    assert_eq!(status, 200);
    let (status, _, body) = jsonl(&state, Method::POST, &format!("/admin/v1/extensions/{target}/storage"), &globex, &exported).await;
    assert_eq!(status, 200, "{body}");
    let (_, _, read) = send(&state, Method::GET, "/api/extensions/com.example.kv/kv/deep", &globex, None).await;
    assert_eq!(read, json!({ "value": deepest }));

    // Import: NUL in a value or key, or a value too deep, names the line and writes nothing.
    let (_, _, imported) = jsonl(&state, Method::GET, &format!("/admin/v1/extensions/{target}/storage"), &globex, "").await;
    for line in [
        json!({ "namespace": "", "key": "a", "value": { "t": "x\u{0}y" }, "revision": 1 }).to_string(),
        json!({ "namespace": "", "key": "a\u{0}", "value": 1, "revision": 1 }).to_string(),
        json!({ "namespace": "", "key": "a", "value": nested(100), "revision": 1 }).to_string(),
    ] {
        let (status, _, body) = jsonl(&state, Method::POST, &format!("/admin/v1/extensions/{target}/storage"), &globex, &format!("{line}\n")).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("IMPORT_INVALID") && body.contains("line 1"), "{body}");
    }

    let (_, _, after) = jsonl(&state, Method::GET, &format!("/admin/v1/extensions/{target}/storage"), &globex, "").await;
    assert_eq!(after, imported, "refused imports wrote nothing");

    // Settings: refused, and the saved settings stay as they were.
    let settings_path = format!("/admin/v1/extensions/{source}/settings");
    let saved = send(&state, Method::GET, &settings_path, &acme, None).await.2;
    let (status, _, body) =
        send(&state, Method::PUT, &format!("/admin/v1/extensions/{source}/settings"), &acme, Some(json!({ "apiKey": "a\u{0}b" }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("SETTINGS_INVALID")), "{body}");
    assert_eq!(send(&state, Method::GET, &settings_path, &acme, None).await.2, saved, "refused settings wrote nothing");

    // Admin list filters.
    let (status, _, body) = send(&state, Method::GET, "/admin/v1/extensions?name=a%00b", &acme, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("VALIDATION_FAILED")), "{body}");

    // Ids and names in paths. (NUL in a manifest is a bad-bundle case: nul-in-manifest.json.)
    for path in ["/admin/v1/extensions/a%00b", "/api/extensions/a%00b/hello", "/api/extensions/com.example.kv/kv/a%00b"] {
        let (status, _, body) = send(&state, Method::GET, path, &acme, None).await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_and_deep_values_are_refused_on_every_write_path_on_sqlite() {
    refused_everywhere(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_and_deep_values_are_refused_on_every_write_path_on_postgres() {
    refused_everywhere(TestStore::postgres().await).await;
}
