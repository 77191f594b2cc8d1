//! Storage seen by tenant admins: export and import as JSON Lines (round trips exactly, on
//! both backends), encryption at rest of sensitive values and secret settings, and the read
//! cache staying true to writes and imports.

use axum::http::Method;
use serde_json::{json, Value};

use crate::dispatch::{install_zip, send};
use crate::storage_ops::bundle;
use crate::support::{admin_token, TestStore};

/// Sends `body` as JSON Lines (or reads JSON Lines back) through the real router.
pub(crate) async fn jsonl(state: &alga_ext::http::AppState, method: Method, path: &str, token: &str, body: &str) -> (u16, String, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-ndjson")
        .body(axum::body::Body::from(body.to_owned()))
        .unwrap();
    let res = alga_ext::http::app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn export_and_import_round_trip(db: TestStore) {
    let state = db.app_state();
    let rw = ["storage:read", "storage:write"];
    let source = install_zip(&state, "acme", bundle("com.example.kv", "1.0.0", &rw)).await;
    let target = install_zip(&state, "globex", bundle("com.example.kv", "1.0.0", &rw)).await;
    let (acme, globex) = (admin_token("acme"), admin_token("globex"));
    let t = crate::support::tenant("acme");
    let key = |namespace: &'static str, key: &'static str| alga_store::StorageKey { extension_id: source.parse().unwrap(), namespace, key };
    let plain = alga_store::SetOptions::default();
    db.store.storage_set(&t, key("", "a"), &json!({ "n": 1 }), plain).await.unwrap();
    db.store.storage_set(&t, key("", "a"), &json!({ "n": 2, "list": [1, "two", null] }), plain).await.unwrap();
    db.store.storage_set(&t, key("cache", "b"), &json!("text with \"quotes\"\nand a newline"), plain).await.unwrap();
    db.store.storage_set(&t, key("", "é"), &json!([1.5, true]), plain).await.unwrap();
    let ttl = alga_store::SetOptions { ttl_seconds: Some(3600), ..Default::default() };
    db.store.storage_set(&t, key("x.y", "ttl"), &json!(5), ttl).await.unwrap();

    let (status, kind, exported) = jsonl(&state, Method::GET, &format!("/admin/v1/extensions/{source}/storage"), &acme, "").await;
    assert_eq!((status, kind.as_str()), (200, "application/x-ndjson"), "{exported}");
    let lines: Vec<Value> = exported.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let order: Vec<(&str, &str)> = lines.iter().map(|l| (l["namespace"].as_str().unwrap(), l["key"].as_str().unwrap())).collect();
    assert_eq!(order, [("", "a"), ("", "é"), ("cache", "b"), ("x.y", "ttl")]);
    assert_eq!((lines[0]["revision"].clone(), lines[0]["value"]["n"].clone()), (json!(2), json!(2)));
    assert!(lines[3]["expiresAt"].is_string() && lines[0].get("expiresAt").is_none(), "{exported}");

    // Into another tenant's install, then out again: byte for byte the same.
    let (status, _, body) = jsonl(&state, Method::POST, &format!("/admin/v1/extensions/{target}/storage"), &globex, &exported).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["imported"], 4);
    let (_, _, again) = jsonl(&state, Method::GET, &format!("/admin/v1/extensions/{target}/storage"), &globex, "").await;
    assert_eq!(again, exported, "an import of an export is exact");

    // A bad line refuses the whole import and names the line; nothing was written.
    let bad = "{\"key\":\"fine\",\"value\":1}\n{\"key\":\"broken\",\"value\":}\n";
    let (status, _, body) = jsonl(&state, Method::POST, &format!("/admin/v1/extensions/{target}/storage"), &globex, bad).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((status, body["error"]["code"].as_str(), body["error"]["details"]["line"].clone()), (400, Some("IMPORT_INVALID"), json!(2)), "{body}");
    for (lines, why) in [
        ("{\"key\":\"d\",\"value\":1}\n{\"key\":\"d\",\"value\":2}\n", "duplicate"),
        ("{\"namespace\":\"no spaces\",\"key\":\"k\",\"value\":1}\n", "namespace"),
        ("{\"key\":\"k\",\"value\":1,\"extra\":true}\n", "unknown field"),
        ("{\"key\":\"k\",\"value\":1,\"revision\":0}\n", "revision"),
    ] {
        let (status, _, body) = jsonl(&state, Method::POST, &format!("/admin/v1/extensions/{target}/storage"), &globex, lines).await;
        assert!(status == 400 && body.contains("IMPORT_INVALID"), "{why}: {status} {body}");
    }
    let (_, _, unchanged) = jsonl(&state, Method::GET, &format!("/admin/v1/extensions/{target}/storage"), &globex, "").await;
    assert_eq!(unchanged, exported, "refused imports leave nothing behind");

    // Replace mode starts from empty; usage follows.
    let one = "{\"key\":\"only\",\"value\":\"this\"}\n";
    let (status, _, _) = jsonl(&state, Method::POST, &format!("/admin/v1/extensions/{target}/storage?mode=replace"), &globex, one).await;
    assert_eq!(status, 200);
    let (_, _, after) = jsonl(&state, Method::GET, &format!("/admin/v1/extensions/{target}/storage"), &globex, "").await;
    assert_eq!(after, "{\"namespace\":\"\",\"key\":\"only\",\"value\":\"this\",\"revision\":1}\n");
    let (_, _, usage) = send(&state, Method::GET, &format!("/admin/v1/extensions/{target}/storage/usage"), &globex, None).await;
    assert_eq!((usage["keys"].clone(), usage["bytes"].clone()), (json!(1), json!(6)));

    // Another tenant's install is not there at all.
    let (status, _, _) = jsonl(&state, Method::GET, &format!("/admin/v1/extensions/{source}/storage"), &globex, "").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_export_and_import_round_trip_on_sqlite() {
    export_and_import_round_trip(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_export_and_import_round_trip_on_postgres() {
    export_and_import_round_trip(TestStore::postgres().await).await;
}

/// Sensitive values and secret settings are sealed at rest: the store holds no plaintext,
/// the extension reads them in clear, and without keys they are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensitive_values_and_secret_settings_are_encrypted_at_rest() {
    use alga_ext::auth::TokenKeys;
    use alga_ext::http::AppState;
    use alga_ext::registry::Registry;
    use alga_ops::storage::seal::Sealer;
    for pg in [false, true] {
        let db = if pg { TestStore::postgres().await } else { TestStore::sqlite().await };
        let sealer = std::sync::Arc::new(Sealer::from_spec(&Sealer::generate_spec("k1")).unwrap());
        let registry = std::sync::Arc::new(Registry::new(db.store.clone(), Default::default()).with_sealer(sealer));
        let state = AppState::new(registry, TokenKeys::from_secret(crate::support::SECRET.as_bytes()), vec!["admin".into()]);
        let id = install_zip(&state, "acme", bundle("com.example.kv", "1.0.0", &["storage:read", "storage:write"])).await;
        let acme = admin_token("acme");
        let (status, _, saved) =
            send(&state, Method::PUT, &format!("/admin/v1/extensions/{id}/settings"), &acme, Some(json!({ "apiKey": "sk-plaintext" }))).await;
        assert_eq!(status, 200, "{saved}");
        assert_eq!(saved["values"]["apiKey"], "********");

        let (status, _, out) = send(&state, Method::GET, "/api/extensions/com.example.kv/sensitive", &acme, None).await;
        assert_eq!(status, 200, "{out}");
        assert_eq!(out["read"], json!([{ "v": "hunter2-plaintext" }, "batch-plaintext", 2]), "{out}");
        assert_eq!(out["history"], json!([[1, { "v": "first-plaintext" }, "string"]]), "history opens sealed revisions: {out}");
        assert_eq!((out["apiKey"].clone(), out["fake"].clone()), (json!("sk-plaintext"), json!("VALIDATION_FAILED")));

        // What the database holds: envelopes, no plaintext.
        let t = crate::support::tenant("acme");
        let ext_id: uuid::Uuid = id.parse().unwrap();
        let raw = db.store.storage_get(&t, alga_store::StorageKey { extension_id: ext_id, namespace: "vault", key: "token" }).await.unwrap().unwrap();
        assert!(raw.value.get("$alga.sealed").is_some() && !raw.value.to_string().contains("hunter2"), "{}", raw.value);
        let settings = db.store.get_settings(&t, ext_id).await.unwrap().unwrap();
        assert!(!settings.to_string().contains("sk-plaintext"), "{settings}");
        let (_, _, exported) = send(&state, Method::GET, &format!("/admin/v1/extensions/{id}/storage"), &acme, None).await;
        assert!(!exported.to_string().contains("plaintext"), "exports stay sealed: {exported}");
    }

    // No keys: sensitive writes and secret settings are refused, plain ones still work.
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let id = install_zip(&state, "acme", bundle("com.example.kv", "1.0.0", &["storage:read", "storage:write"])).await;
    let acme = admin_token("acme");
    let (_, _, out) = send(&state, Method::GET, "/api/extensions/com.example.kv/sensitive", &acme, None).await;
    assert_eq!(out["error"], "ENCRYPTION_UNAVAILABLE", "{out}");
    let (status, _, body) = send(&state, Method::PUT, &format!("/admin/v1/extensions/{id}/settings"), &acme, Some(json!({ "apiKey": "sk" }))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("encryption_unavailable"), "{body}");
}

/// Repeated reads are served by the process cache; writes through the runtime (ops or
/// import) are seen at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_cached_and_writes_invalidate() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let id = install_zip(&state, "acme", bundle("com.example.kv", "1.0.0", &["storage:read", "storage:write"])).await;
    let acme = admin_token("acme");
    let cache = state.registry.storage_cache().clone();
    send(&state, Method::PUT, "/api/extensions/com.example.kv/kv/h", &acme, Some(json!({ "v": 1 }))).await;
    let (hits, misses) = cache.counters();
    let (_, _, body) = send(&state, Method::GET, "/api/extensions/com.example.kv/hot/h", &acme, None).await;
    assert_eq!(body, json!({ "first": { "v": 1 }, "same": true }));
    let (hits2, misses2) = cache.counters();
    assert_eq!((hits2 - hits, misses2 - misses), (99, 1), "one read went to the store");

    send(&state, Method::PUT, "/api/extensions/com.example.kv/kv/h", &acme, Some(json!({ "v": 2 }))).await;
    let (_, _, body) = send(&state, Method::GET, "/api/extensions/com.example.kv/hot/h", &acme, None).await;
    assert_eq!(body["first"], json!({ "v": 2 }), "a write through the ops is seen at once");

    // An absent key is cached as absent, and an import replaces it visibly.
    let (_, _, body) = send(&state, Method::GET, "/api/extensions/com.example.kv/hot/new", &acme, None).await;
    assert_eq!(body["first"], Value::Null);
    let (status, _, _) = jsonl(&state, Method::POST, &format!("/admin/v1/extensions/{id}/storage"), &acme, "{\"key\":\"new\",\"value\":3}\n").await;
    assert_eq!(status, 200);
    let (_, _, body) = send(&state, Method::GET, "/api/extensions/com.example.kv/hot/new", &acme, None).await;
    assert_eq!(body["first"], json!(3), "an import is seen at once");
}
