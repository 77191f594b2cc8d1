//! Endpoint dispatch end to end: HTTP → registry → isolate pool → V8 → response, with
//! hostile extensions that must not crash the process or disturb another tenant.

use std::time::Duration;

use alga_ext::http::{app, AppState};
use alga_ext::isolate::IsolateLimits;
use alga_ext::pool::PoolConfig;
use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::archives::{self, Entry};
use crate::support::{admin_token, user_token, TestStore};

/// Sends a request; returns status, the Retry-After header and the body (JSON when it parses).
pub(crate) async fn send(state: &AppState, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Option<String>, Value) {
    let mut req = Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(json) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let res = app(state.clone()).oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let retry = res.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, retry, body)
}

/// Installs, approves and enables an extension made of `index.js` whose exports are routed
/// as `GET /<name>` (plus `POST /echo/:id` to `echo` when exported).
pub(crate) async fn install(state: &AppState, tenant: &str, key: &str, version: &str, index_js: &str, handlers: &[&str]) -> String {
    let mut endpoints: Vec<Value> = handlers.iter().map(|h| json!({ "method": "GET", "path": format!("/{h}"), "handler": h })).collect();
    if handlers.contains(&"echo") {
        endpoints.push(json!({ "method": "POST", "path": "/echo/:id", "handler": "echo", "permission": "use" }));
    }
    let manifest = json!({
        "id": key, "name": key, "version": version, "main": "index.js",
        "permissions": ["storage:read"],
        "userPermissions": [{ "name": "use", "defaultRoles": ["admin"] }],
        "extensionPoints": { "endpoints": endpoints },
        "settings": [{ "key": "greeting", "type": "string", "label": "Greeting", "default": "hello" }]
    });
    let files = [
        Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        Entry::file("index.js", index_js.as_bytes().to_vec()),
        Entry::file("lib/data.json", br#"{ "answer": 42 }"#.to_vec()),
    ];
    install_zip(state, tenant, archives::zip(&files)).await
}

/// Uploads a bundle as the tenant's admin, approves and enables it; returns the install id.
pub(crate) async fn install_zip(state: &AppState, tenant: &str, zip: Vec<u8>) -> String {
    let admin = admin_token(tenant);
    let req = Request::post("/admin/v1/extensions")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(zip))
        .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let id = body["extension"]["id"].as_str().unwrap_or_else(|| panic!("upload failed: {body}")).to_owned();
    let (status, _, body) = send(state, Method::POST, &format!("/admin/v1/extensions/{id}/approve"), &admin, Some(json!({ "enable": true }))).await;
    assert_eq!(status, 200, "{body}");
    id
}

const HELLO: &str = r#"
import data from "./lib/data.json" with { type: "json" };
import { json } from "@alga/sdk";
export function hello(request, ctx) {
  return { body: { hello: ctx.tenant, user: ctx.user.id, answer: data.answer } };
}
export async function echo(request, ctx) {
  return json({
    method: request.method, path: request.path, params: request.params, query: request.query,
    body: request.body, auth: request.headers.authorization ?? null,
    greeting: await ctx.settings.get("greeting"),
    canUse: ctx.permissions.has("use"), canRead: ctx.permissions.has("storage:read"),
    extension: ctx.extension.key,
  }, { status: 201, headers: { "x-extension": "yes" } });
}
export function text() { return "plain words"; }
export function broken() { return helper(); }
function helper() { throw new TypeError("no tags today"); }
export function setGlobal(request, ctx) { globalThis.leak = ctx.tenant; return { body: { set: true } }; }
export function readGlobal() { return { body: { leak: globalThis.leak ?? null } }; }
"#;

pub(crate) fn state_with(limits: IsolateLimits, db: &TestStore) -> AppState {
    db.app_state_with_pool(PoolConfig { limits, ..Default::default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_run_in_the_isolate_with_request_and_context() {
    let db = TestStore::sqlite().await;
    let state = state_with(IsolateLimits::default(), &db);
    let id = install(&state, "acme", "com.example.hello", "1.0.0", HELLO, &["hello", "echo", "text", "broken"]).await;
    let admin = admin_token("acme");

    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.hello/hello", &admin, None).await;
    assert_eq!((status, body), (200, json!({ "hello": "acme", "user": "alice", "answer": 42 })));
    // By install id too.
    assert_eq!(send(&state, Method::GET, &format!("/api/extensions/{id}/hello"), &admin, None).await.0, 200);

    let (status, _, body) =
        send(&state, Method::POST, "/api/extensions/com.example.hello/echo/t%201?x=1&y=a+b", &admin, Some(json!({ "n": 1 }))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body,
        json!({
            "method": "POST", "path": "/echo/t%201", "params": { "id": "t 1" }, "query": { "x": "1", "y": "a b" },
            "body": { "n": 1 }, "auth": null, "greeting": "hello", "canUse": true, "canRead": true,
            "extension": "com.example.hello"
        })
    );
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.hello/text", &admin, None).await;
    assert_eq!((status, body), (200, json!("plain words")));

    // A thrown error says what was thrown and gives a request id; its stack (the author's
    // file and line) is for the extension's log, and for callers in development mode only.
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.hello/broken", &admin, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (500, Some("EXTENSION_ERROR")), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("TypeError: no tags today") && !body.to_string().contains("alga-bundle:"), "{body}");
    assert!(
        body["error"]["details"]["requestId"].as_str().is_some_and(|id| !id.is_empty()) && body["error"]["details"].get("stack").is_none(),
        "{body}"
    );

    // Routing, permissions and tenancy.
    assert_eq!(send(&state, Method::GET, "/api/extensions/com.example.hello/nope", &admin, None).await.0, 404);
    assert_eq!(send(&state, Method::DELETE, "/api/extensions/com.example.hello/hello", &admin, None).await.0, 405);
    let tech = user_token("acme", "tom", &["technician"]);
    let (status, _, body) = send(&state, Method::POST, "/api/extensions/com.example.hello/echo/1", &tech, Some(json!({}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{body}");
    assert_eq!(send(&state, Method::GET, "/api/extensions/com.example.hello/hello", &admin_token("globex"), None).await.0, 404);
    assert_eq!(send(&state, Method::GET, "/api/extensions/com.example.hello/hello", "not-a-token", None).await.0, 401);

    // Disabled extensions are not served (their tenant is told so); enabling brings them back.
    send(&state, Method::POST, &format!("/admin/v1/extensions/{id}/disable"), &admin, None).await;
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.hello/hello", &admin, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("EXTENSION_DISABLED")), "{body}");
    assert_eq!(send(&state, Method::GET, "/api/extensions/com.example.hello/hello", &admin_token("globex"), None).await.0, 404);
    send(&state, Method::POST, &format!("/admin/v1/extensions/{id}/enable"), &admin, None).await;
    assert_eq!(send(&state, Method::GET, "/api/extensions/com.example.hello/hello", &admin, None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_update_is_served_and_a_burst_of_first_requests_builds_one_isolate() {
    let db = TestStore::postgres().await;
    let state = state_with(IsolateLimits::default(), &db);
    let v1 = "export function version() { return { body: '1.0.0' }; }";
    install(&state, "acme", "com.example.versioned", "1.0.0", v1, &["version"]).await;
    let admin = admin_token("acme");
    let burst = (0..10).map(|_| {
        let (state, admin) = (state.clone(), admin.clone());
        tokio::spawn(async move { send(&state, Method::GET, "/api/extensions/com.example.versioned/version", &admin, None).await })
    });
    for request in burst {
        let (status, _, body) = request.await.unwrap();
        assert_eq!((status, body), (200, json!("1.0.0")));
    }
    assert_eq!(state.pool.live().await, 1, "single-flight creation");

    let v2 = "export function version() { return { body: '2.0.0' }; }";
    install(&state, "acme", "com.example.versioned", "2.0.0", v2, &["version"]).await;
    let (_, _, body) = send(&state, Method::GET, "/api/extensions/com.example.versioned/version", &admin, None).await;
    assert_eq!(body, json!("2.0.0"));
}

/// Runs `hostile` while a well-behaved extension of another tenant keeps answering.
async fn survives(state: &AppState, source: &str, expect_code: &str) {
    let key = format!("com.example.hostile{}", uuid::Uuid::new_v4().simple());
    install(state, "evil", &key, "1.0.0", source, &["attack"]).await;
    let good = admin_token("acme");
    let neighbour = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut answered = 0;
            for _ in 0..20 {
                let (status, _, _) = send(&state, Method::GET, "/api/extensions/com.example.hello/hello", &good, None).await;
                assert_eq!(status, 200, "the neighbour must keep answering");
                answered += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            answered
        })
    };
    let evil = admin_token("evil");
    let (status, retry, body) = send(state, Method::GET, &format!("/api/extensions/{key}/attack"), &evil, None).await;
    assert_eq!(body["error"]["code"].as_str(), Some(expect_code), "{source}: {status} {body}");
    let _ = retry;
    assert_eq!(neighbour.await.unwrap(), 20);
    // The process is alive and the next request gets a fresh isolate (or the same error again
    // for code that fails at load), never a broken one.
    let (status, _, body) = send(state, Method::GET, &format!("/api/extensions/{key}/attack"), &evil, None).await;
    assert!(status >= 400, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_extensions_hit_their_limits_while_others_keep_answering() {
    let db = TestStore::sqlite().await;
    // The wall clock is far above the CPU budget (200 ms) so that a CPU loop hits the CPU
    // limit first even when parallel tests leave its thread a fraction of a core.
    let limits = IsolateLimits { wall: Duration::from_millis(2500), module_eval: Duration::from_millis(500), ..Default::default() };
    let state = state_with(limits, &db);
    install(&state, "acme", "com.example.hello", "1.0.0", HELLO, &["hello"]).await;

    let cases: &[(&str, &str)] = &[
        ("export function attack() { for (;;) {} }", "EXTENSION_CPU_LIMIT"),
        ("for (;;) {}\nexport function attack() {}", "EXTENSION_CPU_LIMIT"),
        ("export async function attack() { for (;;) await null; }", "EXTENSION_CPU_LIMIT"),
        ("export function attack() { for (;;) crypto.randomUUID(); }", "EXTENSION_CPU_LIMIT"),
        ("export function attack() { const a = []; for (;;) a.push(new Array(100000).fill(1.5)); }", "EXTENSION_MEMORY_LIMIT"),
        (
            "export function attack() { let s = 'xy'; const keep = []; for (;;) { s = s + s.slice(0, 1 << 20) + Math.random(); keep.push(s); } }",
            "EXTENSION_MEMORY_LIMIT",
        ),
        ("export function attack() { const k = []; for (;;) k.push(new ArrayBuffer(1 << 20)); }", "EXTENSION_MEMORY_LIMIT"),
        ("export function attack() { return new Promise(() => {}); }", "EXTENSION_ERROR"),
        ("export function attack() { setInterval(() => {}, 5); return new Promise(() => {}); }", "EXTENSION_TIMEOUT"),
        ("throw new Error('broken at load');\nexport function attack() {}", "EXTENSION_ERROR"),
        ("export function attack() { return { body: typeof WebAssembly } }", "__OK__"),
    ];
    for (source, code) in cases {
        if *code == "__OK__" {
            let key = "com.example.wasm";
            install(&state, "evil", key, "1.0.0", source, &["attack"]).await;
            let (_, _, body) = send(&state, Method::GET, &format!("/api/extensions/{key}/attack"), &admin_token("evil"), None).await;
            assert_eq!(body, json!("undefined"), "WebAssembly is disabled");
            continue;
        }
        survives(&state, source, code).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn globals_set_by_one_tenant_are_invisible_to_another() {
    let db = TestStore::sqlite().await;
    let state = state_with(IsolateLimits::default(), &db);
    for tenant in ["acme", "globex"] {
        install(&state, tenant, "com.example.hello", "1.0.0", HELLO, &["setGlobal", "readGlobal"]).await;
    }
    let (_, _, body) = send(&state, Method::GET, "/api/extensions/com.example.hello/setGlobal", &admin_token("acme"), None).await;
    assert_eq!(body, json!({ "set": true }));
    let (_, _, body) = send(&state, Method::GET, "/api/extensions/com.example.hello/readGlobal", &admin_token("acme"), None).await;
    assert_eq!(body, json!({ "leak": "acme" }), "same isolate keeps its own state");
    let (_, _, body) = send(&state, Method::GET, "/api/extensions/com.example.hello/readGlobal", &admin_token("globex"), None).await;
    assert_eq!(body, json!({ "leak": null }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_refused_with_503_and_retry_after() {
    let db = TestStore::sqlite().await;
    let limits = IsolateLimits { queue_depth: 1, ..Default::default() };
    let state = state_with(limits, &db);
    let slow = "export async function slow() { await new Promise((r) => setTimeout(r, 300)); return { body: 'done' }; }";
    install(&state, "acme", "com.example.slow", "1.0.0", slow, &["slow"]).await;
    let admin = admin_token("acme");
    // Warm the isolate so the burst meets a live queue.
    assert_eq!(send(&state, Method::GET, "/api/extensions/com.example.slow/slow", &admin, None).await.0, 200);
    let burst: Vec<_> = (0..6)
        .map(|_| {
            let (state, admin) = (state.clone(), admin.clone());
            tokio::spawn(async move { send(&state, Method::GET, "/api/extensions/com.example.slow/slow", &admin, None).await })
        })
        .collect();
    let mut refused = 0;
    let mut served = 0;
    for request in burst {
        let (status, retry, body) = request.await.unwrap();
        match status {
            200 => served += 1,
            503 => {
                assert_eq!(body["error"]["code"], "EXTENSION_OVERLOADED", "{body}");
                assert_eq!(retry.as_deref(), Some("1"));
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(served >= 1 && refused >= 1, "served {served}, refused {refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_limit_hits_suspend_the_extension_in_that_tenant() {
    use alga_ext::registry::breaker::BreakerConfig;
    use alga_ext::registry::{LifecycleKind, Registry};
    let db = TestStore::postgres().await;
    let breaker = BreakerConfig { threshold: 2, window: Duration::from_secs(60) };
    let registry = std::sync::Arc::new(Registry::with_breaker(db.store.clone(), Default::default(), breaker));
    let mut events = registry.events().subscribe();
    let tokens = alga_ext::auth::TokenKeys::from_secret(crate::support::SECRET.as_bytes());
    let state = AppState::with_pool(registry, tokens, vec!["admin".into()], PoolConfig::default());
    let id = install(&state, "evil", "com.example.spin", "1.0.0", "export function attack() { for (;;) {} }", &["attack"]).await;
    let evil = admin_token("evil");
    for _ in 0..2 {
        let (_, _, body) = send(&state, Method::GET, "/api/extensions/com.example.spin/attack", &evil, None).await;
        assert_eq!(body["error"]["code"], "EXTENSION_CPU_LIMIT", "{body}");
    }
    // Suspended: no longer served, its tenant is told why and since when, and the admin API says so.
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.spin/attack", &evil, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("EXTENSION_SUSPENDED")), "{body}");
    assert_eq!(body["error"]["details"]["reason"], "repeated EXTENSION_CPU_LIMIT failures", "{body}");
    assert!(body["error"]["details"]["since"].is_string(), "{body}");
    let (_, _, detail) = send(&state, Method::GET, &format!("/admin/v1/extensions/{id}"), &evil, None).await;
    assert_eq!((detail["extension"]["status"].as_str(), detail["extension"]["enabled"].as_bool()), (Some("suspended"), Some(false)));
    assert_eq!(detail["suspension"]["reason"], "repeated EXTENSION_CPU_LIMIT failures", "{detail}");
    let audit = db.store.list_audit(&crate::support::tenant("evil"), 10).await.unwrap();
    let suspended = audit.iter().find(|a| a.action == "extension.suspended").expect("audited");
    assert_eq!(suspended.actor, "runtime:circuit-breaker");
    assert_eq!(suspended.details["reason"], "repeated EXTENSION_CPU_LIMIT failures");
    let mut saw = false;
    while let Ok(event) = events.try_recv() {
        saw |= matches!(event.kind, LifecycleKind::Suspended { .. });
    }
    assert!(saw, "a Suspended event was published");

    // An admin can lift the suspension.
    let (status, _, body) = send(&state, Method::POST, &format!("/admin/v1/extensions/{id}/enable"), &evil, None).await;
    assert_eq!((status, body["extension"]["status"].as_str()), (200, Some("installed")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_hooks_run_and_a_failing_install_or_update_hook_changes_nothing() {
    let db = TestStore::sqlite().await;
    let state = state_with(IsolateLimits::default(), &db);
    let admin = admin_token("acme");
    let upload = |version: &str, index_js: &str| {
        let manifest = json!({ "id": "com.example.hooks", "name": "Hooks", "version": version, "main": "index.js",
            "extensionPoints": { "endpoints": [{ "method": "GET", "path": "/v", "handler": "v" }] } });
        archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", index_js.as_bytes().to_vec())])
    };
    let post = |path: String, body: Vec<u8>, content_type: &'static str| {
        let (state, admin) = (state.clone(), admin.clone());
        async move {
            let req = Request::post(path)
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap();
            let res = app(state).oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap_or_default();
            (status, body)
        }
    };

    // onInstall throws: approval refused, still pending.
    let failing = "export function onInstall() { throw new Error('cannot set up'); }\nexport function v() { return { body: 1 }; }";
    let (_, body) = post("/admin/v1/extensions".into(), upload("1.0.0", failing), "application/zip").await;
    let id = body["extension"]["id"].as_str().unwrap().to_owned();
    let (status, body) = post(format!("/admin/v1/extensions/{id}/approve"), b"{}".to_vec(), "application/json").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("HOOK_FAILED")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("cannot set up"), "{body}");
    let (_, detail) = (0, send(&state, Method::GET, &format!("/admin/v1/extensions/{id}"), &admin, None).await.2);
    assert_eq!(detail["extension"]["status"], "pending_approval");

    // A working onInstall, then an onUpdate that checks what it is told.
    let v1 = "export async function onInstall(event, ctx) { if (event.hook !== 'install' || ctx.tenant !== 'acme') throw new Error('bad event'); }\n\
              export function onDisable() { throw new Error('disable hook broke'); }\n\
              export function v() { return { body: '1.0.1' }; }";
    post("/admin/v1/extensions".into(), upload("1.0.1", v1), "application/zip").await;
    let (status, body) = post(format!("/admin/v1/extensions/{id}/approve"), br#"{"enable":true}"#.to_vec(), "application/json").await;
    assert_eq!(status, 200, "{body}");
    let v2 = "export function onUpdate(event) { if (event.fromVersion !== '1.0.1') throw new Error('from ' + event.fromVersion); }\n\
              export function v() { return { body: '2.0.0' }; }";
    post("/admin/v1/extensions".into(), upload("2.0.0", v2), "application/zip").await;
    let (status, body) = post(format!("/admin/v1/extensions/{id}/approve"), b"".to_vec(), "application/json").await;
    assert_eq!(status, 200, "{body}");

    // An onUpdate that spins is stopped by the CPU limit and the update is not applied.
    let v3 = "export function onUpdate() { for (;;) {} }\nexport function v() { return { body: '3.0.0' }; }";
    post("/admin/v1/extensions".into(), upload("3.0.0", v3), "application/zip").await;
    let (status, body) = post(format!("/admin/v1/extensions/{id}/approve"), b"".to_vec(), "application/json").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("HOOK_FAILED")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("CPU time limit"), "{body}");
    let (_, _, served) = send(&state, Method::GET, "/api/extensions/com.example.hooks/v", &admin, None).await;
    assert_eq!(served, json!("2.0.0"), "the previous version keeps serving");

    // Hooks of enable/disable/uninstall cannot block the operation; failures are audited.
    let v4 =
        "export function onDisable() { throw new Error('nope'); }\nexport function onUninstall() { for (;;) {} }\nexport function v() { return {}; }";
    post("/admin/v1/extensions?force=true".into(), upload("4.0.0", v4), "application/zip").await;
    let (status, _) = post(format!("/admin/v1/extensions/{id}/approve"), b"".to_vec(), "application/json").await;
    assert_eq!(status, 200);
    let (status, _) = post(format!("/admin/v1/extensions/{id}/disable"), vec![], "application/json").await;
    assert_eq!(status, 200);
    let (status, _, _) = send(&state, Method::DELETE, &format!("/admin/v1/extensions/{id}"), &admin, None).await;
    assert_eq!(status, 204);
    let audit = db.store.list_audit(&crate::support::tenant("acme"), 100).await.unwrap();
    let failed: Vec<&str> = audit.iter().filter(|a| a.action == "extension.hook_failed").map(|a| a.details["hook"].as_str().unwrap()).collect();
    assert_eq!(failed, ["onUninstall", "onDisable"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_prewarms_the_recently_used_extensions() {
    let db = TestStore::postgres().await;
    let state = state_with(IsolateLimits::default(), &db);
    for (tenant, key) in [("acme", "com.example.a"), ("globex", "com.example.b"), ("acme", "com.example.unused")] {
        install(&state, tenant, key, "1.0.0", "export function hi() { return { body: 'hi' }; }", &["hi"]).await;
    }
    for (tenant, key) in [("acme", "com.example.a"), ("globex", "com.example.b")] {
        let (status, _, _) = send(&state, Method::GET, &format!("/api/extensions/{key}/hi"), &admin_token(tenant), None).await;
        assert_eq!(status, 200);
    }
    // A new process: an empty pool that warms what was used, across tenants.
    let restarted = state_with(IsolateLimits::default(), &db);
    assert_eq!(restarted.pool.live().await, 0);
    assert_eq!(restarted.pool.prewarm(10, 2).await, 2);
    assert_eq!(restarted.pool.live().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_modules_are_transpiled_at_install_and_run() {
    let db = TestStore::sqlite().await;
    // Development mode, whose callers get the stack of an uncaught error.
    let state = state_with(IsolateLimits::default(), &db).with_dev(true);
    let manifest = json!({ "id": "com.example.ts", "name": "TS", "version": "1.0.0", "main": "src/index.ts",
        "extensionPoints": { "endpoints": [
            { "method": "GET", "path": "/sum/:a/:b", "handler": "sum" },
            { "method": "GET", "path": "/boom", "handler": "boom" }
        ] } });
    // Types spread over lines that stripping removes: the throw is on line 11 of the
    // TypeScript but on a much earlier line of the JavaScript that runs.
    let index = "import { add } from './math.ts';\ninterface Req { params: { a: string; b: string } }\n\
                 export function sum(request: Req): { body: { sum: number } } {\n  return { body: { sum: add(Number(request.params.a), Number(request.params.b)) } };\n}\n\
                 interface Big {\n  a: number;\n  b: string;\n}\n\
                 export function boom(): never {\n    throw new Error('boom');\n}\n";
    let math = "export const add = (a: number, b: number): number => a + b;\n";
    let zip = archives::zip(&[
        Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        Entry::file("src/index.ts", index.as_bytes().to_vec()),
        Entry::file("src/math.ts", math.as_bytes().to_vec()),
    ]);
    install_zip(&state, "acme", zip).await;
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.ts/sum/2/40", &admin_token("acme"), None).await;
    assert_eq!((status, body), (200, json!({ "sum": 42 })));
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.ts/boom", &admin_token("acme"), None).await;
    let stack = body["error"]["details"]["stack"].as_str().unwrap_or_default();
    assert_eq!(status, 500, "{body}");
    assert!(stack.contains("src/index.ts:11:11"), "the stack names the TypeScript line and column: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_admins_set_per_extension_limits_within_the_ceilings() {
    let db = TestStore::sqlite().await;
    let state = state_with(IsolateLimits::default(), &db);
    // Spins for `?ms=` of wall time: its CPU time is at most that, and close to it on an idle core.
    let busy =
        "export function busy(request) { const end = Date.now() + Number(request.query.ms); while (Date.now() < end) {} return { body: 'done' }; }";
    let id = install(&state, "acme", "com.example.busy", "1.0.0", busy, &["busy"]).await;
    let admin = admin_token("acme");
    let call = |ms: u32| {
        let (state, admin) = (state.clone(), admin.clone());
        async move { send(&state, Method::GET, &format!("/api/extensions/com.example.busy/busy?ms={ms}"), &admin, None).await }
    };
    assert_eq!(call(60).await.2, json!("done"), "at most 60 ms of CPU fits the 200 ms default");

    let limits_path = format!("/admin/v1/extensions/{id}/limits");
    let (status, _, body) = call_put(&state, &limits_path, &admin, json!({ "cpuHardMs": 50 })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["effective"]["cpuHardMs"], 50);
    let (_, _, body) = call(2000).await;
    assert_eq!(body["error"]["code"], "EXTENSION_CPU_LIMIT", "the override applies to the next isolate: {body}");

    let (status, _, body) = call_put(&state, &limits_path, &admin, json!({ "cpuHardMs": 5000, "heapMb": 1 })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("LIMITS_INVALID")), "{body}");
    let pointers: Vec<&str> = body["error"]["details"]["problems"].as_array().unwrap().iter().map(|p| p["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["/cpuHardMs", "/heapMb"]);
    let (status, _, body) = call_put(&state, &limits_path, &admin, json!({ "cpuMs": 10 })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("INVALID_JSON")), "unknown fields are refused: {body}");
    let (_, _, body) = send(&state, Method::GET, &limits_path, &admin, None).await;
    assert_eq!((body["overrides"].clone(), body["ceilings"]["cpuHardMs"].clone()), (json!({ "cpuHardMs": 50 }), json!(1000)));
}

async fn call_put(state: &AppState, path: &str, token: &str, body: Value) -> (u16, Option<String>, Value) {
    send(state, Method::PUT, path, token, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_claims_json_and_is_not_is_refused_before_the_extension_runs() {
    let db = TestStore::sqlite().await;
    let state = state_with(IsolateLimits::default(), &db);
    install(&state, "acme", "com.example.hello", "1.0.0", HELLO, &["hello", "echo"]).await;
    for broken in [r#"{"note":"#, "notjson"] {
        let req = Request::post("/api/extensions/com.example.hello/echo/1")
            .header(header::AUTHORIZATION, format!("Bearer {}", admin_token("acme")))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(broken))
            .unwrap();
        let res = app(state.clone()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), 400, "{broken}");
        let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!((body["error"]["code"].as_str(), body["error"]["details"]["field"].as_str()), (Some("INVALID_JSON"), Some("body")), "{body}");
    }
    // Text that says it is text still reaches the handler as text.
    let req = Request::post("/api/extensions/com.example.hello/echo/1")
        .header(header::AUTHORIZATION, format!("Bearer {}", admin_token("acme")))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("notjson"))
        .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["body"], "notjson", "{body}");
}
