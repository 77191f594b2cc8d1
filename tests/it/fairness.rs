//! Fairness between tenants in the isolate pool: a tenant's share of live isolates and the
//! process-wide isolate memory budget.

use std::time::Duration;

use alga_ext::isolate::IsolateLimits;
use alga_ext::pool::PoolConfig;
use axum::http::Method;
use serde_json::json;

use crate::archives::{self, Entry};
use crate::dispatch::{install_zip, send};
use crate::support::{admin_token, tenant, TestStore};

const HANDLERS: &str = r#"
export function hello() { return { body: "hello" }; }
export async function slow() { await new Promise((r) => setTimeout(r, 600)); return { body: "slow" }; }
"#;

async fn install(state: &alga_ext::http::AppState, tenant: &str, key: &str) {
    let manifest = json!({
        "id": key, "name": key, "version": "1.0.0", "main": "index.js",
        "extensionPoints": { "endpoints": [
            { "method": "GET", "path": "/hello", "handler": "hello" },
            { "method": "GET", "path": "/slow", "handler": "slow" },
        ] },
    });
    let zip =
        archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", HANDLERS.as_bytes().to_vec())]);
    install_zip(state, tenant, zip).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_past_its_isolate_share_evicts_its_own_isolates_not_others() {
    let db = TestStore::sqlite().await;
    let state = db.app_state_with_pool(PoolConfig { max_per_tenant: 2, ..Default::default() });
    install(&state, "bystander", "com.example.b").await;
    for n in 0..4 {
        install(&state, "greedy", &format!("com.example.g{n}")).await;
    }
    assert_eq!(send(&state, Method::GET, "/api/extensions/com.example.b/hello", &admin_token("bystander"), None).await.0, 200);
    for n in 0..4 {
        let (status, _, body) = send(&state, Method::GET, &format!("/api/extensions/com.example.g{n}/hello"), &admin_token("greedy"), None).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(state.pool.live_for_tenant(&tenant("greedy")).await, 2, "the greedy tenant keeps only its share");
    assert_eq!(state.pool.live_for_tenant(&tenant("bystander")).await, 1, "the other tenant's isolate was not evicted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_isolate_memory_budget_evicts_idle_isolates_and_refuses_when_all_are_busy() {
    let db = TestStore::sqlite().await;
    let mib = 1024 * 1024;
    let limits = IsolateLimits { heap_max_bytes: 16 * mib, array_buffer_max_bytes: 16 * mib, ..Default::default() };
    // Room for two isolates of 32 MiB each, not three.
    let state = db.app_state_with_pool(PoolConfig { limits, memory_budget_bytes: 70 * mib, blanks: 0, ..Default::default() });
    for key in ["com.example.a", "com.example.b", "com.example.c"] {
        install(&state, "acme", key).await;
    }
    let admin = admin_token("acme");
    for key in ["a", "b", "c"] {
        let (status, _, body) = send(&state, Method::GET, &format!("/api/extensions/com.example.{key}/hello"), &admin, None).await;
        assert_eq!(status, 200, "{key}: {body}");
        assert!(state.pool.reserved_bytes() <= 64 * mib, "never more than the budget: {}", state.pool.reserved_bytes());
    }
    assert_eq!(state.pool.live().await, 2, "the least recently used idle isolate made room");

    // Both live isolates busy: a third cannot start, and the caller is told to come back.
    let busy: Vec<_> = ["b", "c"]
        .into_iter()
        .map(|key| {
            let (state, admin) = (state.clone(), admin.clone());
            tokio::spawn(async move { send(&state, Method::GET, &format!("/api/extensions/com.example.{key}/slow"), &admin, None).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (status, retry, body) = send(&state, Method::GET, "/api/extensions/com.example.a/hello", &admin, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("EXTENSION_OVERLOADED")), "{body}");
    assert!(retry.is_some(), "503 carries Retry-After");
    for call in busy {
        assert_eq!(call.await.unwrap().0, 200);
    }
    // Idle again: the start evicts one of them and succeeds.
    assert_eq!(send(&state, Method::GET, "/api/extensions/com.example.a/hello", &admin, None).await.0, 200);
}
