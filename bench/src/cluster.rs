//! The several-nodes part of `alga-bench`: three nodes on one PostgreSQL, each with its own
//! caches and change feed; how long after a write returns on node A nodes B and C serve it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alga_ext::auth::TokenKeys;
use alga_ext::cluster::FeedState;
use alga_ext::http::{app, AppState};
use alga_ext::registry::Registry;
use alga_store::{ConnectOptions, TenantId};
use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const SHARED_JS: &str = r#"
export async function read(request, ctx) { return { body: { value: (await ctx.storage.get("k")) ?? null, greeting: await ctx.settings.get("greeting") } }; }
export async function write(request, ctx) { await ctx.storage.set("k", request.body.value); return { body: { ok: true } }; }
"#;

struct Node {
    router: axum::Router,
    state: AppState,
}

async fn call(router: &axum::Router, method: Method, path: &str, token: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
    let mut req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(body) => {
            req = req.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    let res = router.clone().oneshot(req.body(body)?).await?;
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await?.to_bytes();
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

/// Polls `node` until `field` of the read handler's answer equals `want`; the time it took.
async fn seen(node: &Node, token: &str, field: &str, want: &Value, since: Instant) -> anyhow::Result<Duration> {
    loop {
        let (status, body) = call(&node.router, Method::GET, "/api/extensions/com.bench.shared/read", token, None).await?;
        anyhow::ensure!(status == 200, "read answered {status}: {body}");
        if &body[field] == want {
            return Ok(since.elapsed());
        }
        anyhow::ensure!(since.elapsed() < Duration::from_secs(60), "node never saw {field} = {want}: {body}");
        tokio::task::yield_now().await;
    }
}

/// Runs the measurement on `pg_url` (a scratch database: migrated, rows left behind).
pub async fn run(pg_url: &str, rounds: usize) -> anyhow::Result<()> {
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let store = alga_store::connect(&ConnectOptions::new(pg_url)).await?;
        store.migrate().await?;
        let registry = Arc::new(Registry::new(store, Default::default()));
        let state = AppState::new(registry, TokenKeys::from_secret(b"bench-secret-bench-secret-bench-secret"), vec!["admin".into()])
            .with_cluster_sync()
            .await?;
        nodes.push(Node { router: app(state.clone()), state });
    }
    let ready_by = Instant::now() + Duration::from_secs(10);
    while nodes.iter().any(|n| n.state.cluster.state() != FeedState::Listening) {
        anyhow::ensure!(Instant::now() < ready_by, "the nodes' change feeds did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let tenant = TenantId::parse(&format!("cluster{}", std::process::id()))?;
    let token = nodes[0].state.tokens.mint(&tenant, "bench", &["admin".to_owned()], Duration::from_secs(3600))?;
    let manifest = json!({ "id": "com.bench.shared", "name": "Cluster bench", "version": "1.0.0", "main": "index.js",
        "permissions": ["storage:read", "storage:write"],
        "extensionPoints": { "endpoints": [
            { "method": "GET", "path": "/read", "handler": "read" }, { "method": "POST", "path": "/write", "handler": "write" } ] },
        "settings": [{ "key": "greeting", "type": "string", "label": "Greeting", "default": "hello" }] });
    let mut files = alga_bundle::Files::new();
    files.insert("manifest.json".into(), alga_bundle::BundleFile::new(serde_json::to_vec(&manifest)?));
    files.insert("index.js".into(), alga_bundle::BundleFile::new(SHARED_JS.as_bytes().to_vec()));
    let zip = alga_bundle::pack::zip_files(&files, |_, _| {})?;
    let registry = &nodes[0].state.registry;
    let outcome = registry.upload(&tenant, "bench", zip, None, false).await?;
    let ext = registry.approve(&tenant, outcome.extension.id, None, true, "bench").await?;

    // Storage: B and C hold the old value in their caches when A writes the new one.
    let mut storage = Vec::with_capacity(rounds * 2);
    for round in 0..rounds {
        for node in &nodes[1..] {
            call(&node.router, Method::GET, "/api/extensions/com.bench.shared/read", &token, None).await?;
        }
        let value = json!(round);
        let (status, body) =
            call(&nodes[0].router, Method::POST, "/api/extensions/com.bench.shared/write", &token, Some(json!({ "value": value }))).await?;
        anyhow::ensure!(status == 200, "write answered {status}: {body}");
        let since = Instant::now();
        let (b, c) = tokio::join!(seen(&nodes[1], &token, "value", &value, since), seen(&nodes[2], &token, "value", &value, since));
        storage.push(b?);
        storage.push(c?);
    }
    println!("several nodes: a storage write on A, then served by B and C: {}", crate::summary(storage));

    // Registry: a settings change through A's admin path.
    let mut settings = Vec::with_capacity(rounds / 2);
    for round in 0..rounds / 4 {
        for node in &nodes[1..] {
            call(&node.router, Method::GET, "/api/extensions/com.bench.shared/read", &token, None).await?;
        }
        let greeting = json!(format!("hello {round}"));
        registry.update_settings(&tenant, ext.id, &json!({ "greeting": greeting }), "bench").await?;
        let since = Instant::now();
        let (b, c) = tokio::join!(seen(&nodes[1], &token, "greeting", &greeting, since), seen(&nodes[2], &token, "greeting", &greeting, since));
        settings.push(b?);
        settings.push(c?);
    }
    println!("several nodes: a settings change on A, then served by B and C: {}", crate::summary(settings));
    let applied: Vec<u64> = nodes.iter().map(|n| n.state.cluster.applied()).collect();
    println!("several nodes: changes applied per node (A, B, C): {applied:?}");
    registry.uninstall(&tenant, ext.id, true, "bench").await?;
    Ok(())
}
