//! The host API simulator behind a real runtime: an extension's `ctx.api` reads and writes
//! its fixture records within the granted capabilities, and the simulator itself refuses a
//! token whose capabilities do not cover a call.

use std::sync::Arc;
use std::time::Duration;

use alga_ext::auth::TokenKeys;
use alga_ext::cli::HostApiArgs;
use alga_ext::http::AppState;
use alga_ext::registry::Registry;
use alga_ext::simulator::Simulator;
use axum::http::Method;
use serde_json::{json, Value};

use crate::archives::{self, Entry};
use crate::dispatch::{install_zip, send};
use crate::support::{admin_token, TestStore, SECRET};

const HOST_SECRET: &str = "simulated-host-secret-simulated-host";

const SOURCE: &str = r#"
export async function probe(_request, ctx) {
  const out = {};
  const attempt = async (name, f) => {
    try { out[name] = await f(); } catch (e) { out[name] = { code: e.code, status: e.status ?? null, body: e.body ?? null }; }
  };
  await attempt("open", async () => (await ctx.api.get("/api/v1/tickets", { query: { status: "open" } })).data.map((t) => t.id));
  await attempt("created", async () => (await ctx.api.post("/api/v1/tickets", { title: "Toner is low", priority: "low" })).id);
  await attempt("patched", async () => (await ctx.api.patch("/api/v1/tickets/t-1006", { status: "closed" })).status);
  await attempt("missing", () => ctx.api.get("/api/v1/tickets/t-9999"));
  await attempt("companies", () => ctx.api.get("/api/v1/companies"));
  await attempt("delete", () => ctx.api.delete("/api/v1/tickets/t-1001"));
  return { body: out };
}
"#;

fn bundle() -> Vec<u8> {
    let manifest = json!({
        "id": "com.example.sim", "name": "Sim", "version": "1.0.0", "main": "index.js",
        "permissions": ["tickets:read", "tickets:write"],
        "extensionPoints": { "endpoints": [{ "method": "GET", "path": "/probe", "handler": "probe" }] }
    });
    archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", SOURCE.as_bytes().to_vec())])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctx_api_works_against_the_simulator_within_granted_capabilities() {
    let simulator = Simulator::start(HOST_SECRET).await.unwrap();
    let db = TestStore::sqlite().await;
    let args = HostApiArgs {
        host_api_url: Some(simulator.url()),
        host_api_secret: Some(HOST_SECRET.into()),
        host_api_timeout: Duration::from_secs(5),
        host_api_max_response_bytes: 1 << 20,
    };
    let host_api = alga_ext::config::host_api(&args, SECRET).unwrap().unwrap();
    let registry = Arc::new(Registry::new(db.store.clone(), Default::default()).with_host_api(host_api));
    let state = AppState::new(registry, TokenKeys::from_secret(SECRET.as_bytes()), vec!["admin".into()]);
    install_zip(&state, "acme", bundle()).await;

    let (status, _, out) = send(&state, Method::GET, "/api/extensions/com.example.sim/probe", &admin_token("acme"), None).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["open"], json!(["t-1001", "t-1004"]));
    assert_eq!(out["created"], "t-1006");
    assert_eq!(out["patched"], "closed");
    // The host's own 404 comes back as an HTTP_ERROR with its body in the error shape.
    assert_eq!(out["missing"]["code"], "HTTP_ERROR");
    assert_eq!(out["missing"]["status"], 404);
    assert_eq!(out["missing"]["body"]["error"]["code"], "NOT_FOUND");
    // Ungranted capabilities are refused by the runtime before any traffic.
    assert_eq!(out["companies"]["code"], "PERMISSION_DENIED");
    assert_eq!(out["delete"]["code"], "PERMISSION_DENIED");

    // The records are the tenant's own: another tenant starts from the fixtures.
    install_zip(&state, "globex", bundle()).await;
    let (_, _, other) = send(&state, Method::GET, "/api/extensions/com.example.sim/probe", &admin_token("globex"), None).await;
    assert_eq!(other["created"], "t-1006", "globex's first ticket gets the first new id too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_a_token_without_the_capability_a_call_needs() {
    let simulator = Simulator::start(HOST_SECRET).await.unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = alga_ops::api::ApiClaims {
        iss: "alga-ext".into(),
        aud: "alga-host-api".into(),
        tenant: "acme".into(),
        sub: "alice".into(),
        extension: "com.example.sim".into(),
        capabilities: vec!["tickets:read".into()],
        iat: now,
        exp: now + 60,
    };
    let key = jsonwebtoken::EncodingKey::from_secret(HOST_SECRET.as_bytes());
    let token = jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", simulator.url());
    let send = |method: reqwest::Method, path: &str| {
        client
            .request(method, url(path))
            .bearer_auth(&token)
            .header("x-alga-extension", "com.example.sim")
            .json(&json!({ "status": "closed" }))
            .send()
    };

    let read = send(reqwest::Method::GET, "/api/v1/tickets/t-1001").await.unwrap();
    assert_eq!(read.status(), 200);
    for (method, path, capability) in [
        (reqwest::Method::PATCH, "/api/v1/tickets/t-1001", "tickets:write"),
        (reqwest::Method::DELETE, "/api/v1/tickets/t-1001", "tickets:delete"),
        (reqwest::Method::GET, "/api/v1/time-entries", "time_entries:read"),
    ] {
        let response = send(method.clone(), path).await.unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "PERMISSION_DENIED", "{body}");
        assert_eq!(body["error"]["details"]["capability"], capability);
    }
    let after: Value = send(reqwest::Method::GET, "/api/v1/tickets/t-1001").await.unwrap().json().await.unwrap();
    assert_eq!(after["status"], "open", "the refused PATCH changed nothing");

    let unsigned = client.get(url("/api/v1/tickets")).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);
}
