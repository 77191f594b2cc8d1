//! The storage part of `alga-bench`: `ctx.storage` from JavaScript inside one isolate
//! (cache hits, sets, batches of 100) and the store's own write latency, on a scratch
//! SQLite file and, when given, a PostgreSQL database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alga_store::{ConnectOptions, SetOptions, StorageKey, Store, TenantId};
use anyhow::Context;
use serde_json::json;

use alga_ext::isolate::{CtxData, CtxExtension, CtxUser, Invocation, IsolateLimits};
use alga_ext::pool::{IsolatePool, PoolConfig};
use alga_ext::registry::Registry;

const STORAGE_JS: &str = r#"
export async function getLoop(request, ctx) {
  const s = ctx.storage, n = request.n;
  await s.set("hot", { name: "urgent", color: "red" });
  await s.get("hot");
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await s.get("hot");
  return { body: { usPerOp: ((Date.now() - t0) * 1000) / n } };
}
export async function setLoop(request, ctx) {
  const s = ctx.storage, n = request.n;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await s.set("k" + (i % 100), { i, text: "some value" });
  return { body: { usPerOp: ((Date.now() - t0) * 1000) / n } };
}
export async function batchLoop(request, ctx) {
  const s = ctx.storage.namespace("batch"), n = request.n;
  const entries = {};
  for (let i = 0; i < 100; i++) entries["b" + i] = { i };
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await s.setBatch(entries);
  return { body: { usPerBatch: ((Date.now() - t0) * 1000) / n } };
}
"#;

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// Runs the storage measurements on SQLite and, when `pg_url` is given, on PostgreSQL
/// (point it at a scratch database: the bench migrates it and leaves its rows there).
pub async fn run(pg_url: Option<&str>) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("alga-bench-storage-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut backends = vec![("SQLite", format!("sqlite://{}", dir.join("bench.db").display()))];
    if let Some(url) = pg_url {
        backends.push(("PostgreSQL", url.to_owned()));
    }
    for (name, url) in backends {
        let store = alga_store::connect(&ConnectOptions::new(url)).await.with_context(|| format!("{name} for the storage bench"))?;
        store.migrate().await?;
        measure(name, store).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn measure(name: &str, store: Arc<dyn Store>) -> anyhow::Result<()> {
    let tenant = TenantId::parse(&format!("bench{}", std::process::id()))?;
    let registry = Arc::new(Registry::new(store.clone(), Default::default()));
    let manifest = json!({ "id": "com.bench.storage", "name": "Storage bench", "version": "1.0.0", "main": "index.js",
        "permissions": ["storage:read", "storage:write"],
        "extensionPoints": { "endpoints": [{ "method": "GET", "path": "/x", "handler": "getLoop" }] } });
    let mut files = alga_bundle::Files::new();
    files.insert("manifest.json".into(), alga_bundle::BundleFile::new(serde_json::to_vec(&manifest)?));
    files.insert("index.js".into(), alga_bundle::BundleFile::new(STORAGE_JS.as_bytes().to_vec()));
    let zip = alga_bundle::pack::zip_files(&files, |_, _| {})?;
    let outcome = registry.upload(&tenant, "bench", zip, None, false).await?;
    let ext = registry.approve(&tenant, outcome.extension.id, None, true, "bench").await?;
    // Loops of many operations need more than a request's CPU budget.
    let limits =
        IsolateLimits { cpu_soft: Duration::from_secs(60), cpu_hard: Duration::from_secs(60), wall: Duration::from_secs(120), ..Default::default() };
    let pool = IsolatePool::new(registry.clone(), PoolConfig { limits, ..Default::default() });
    let call = |handler: &str, n: u32| {
        let (pool, ext) = (pool.clone(), ext.clone());
        let invocation = Invocation {
            handler: handler.into(),
            request: json!({ "n": n }).to_string(),
            ctx: Arc::new(CtxData {
                tenant: tenant.to_string(),
                user: CtxUser { id: "bench".into(), roles: vec![] },
                extension: CtxExtension { id: ext.id.to_string(), key: ext.key.clone(), version: ext.version.clone(), assets_url: String::new() },
                settings: Default::default(),
                permissions: vec![],
            }),
            is_page: false,
        };
        async move {
            let answer = pool.call(&ext, invocation).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let body: serde_json::Value = serde_json::from_slice(answer.body.as_deref().unwrap_or(b"null"))?;
            anyhow::Ok(body)
        }
    };
    let hits = call("getLoop", 200_000).await?;
    println!("{name}: ctx.storage.get from JS, cache hit: {:.2} µs/op (200,000 in a loop)", hits["usPerOp"].as_f64().unwrap_or(f64::NAN));
    let sets = call("setLoop", 2_000).await?;
    println!("{name}: ctx.storage.set from JS: {:.0} µs/op average (2,000 in a loop)", sets["usPerOp"].as_f64().unwrap_or(f64::NAN));
    let batches = call("batchLoop", 50).await?;
    println!(
        "{name}: ctx.storage.setBatch of 100 from JS: {:.2} ms/batch (one transaction, 50 batches)",
        batches["usPerBatch"].as_f64().unwrap_or(f64::NAN) / 1000.0
    );

    // The store alone, per call, for percentiles.
    let mut samples = Vec::with_capacity(2_000);
    for i in 0..2_000 {
        let key = format!("direct{}", i % 100);
        let started = Instant::now();
        store
            .storage_set(&tenant, StorageKey { extension_id: ext.id, namespace: "direct", key: &key }, &json!({ "i": i }), SetOptions::default())
            .await?;
        samples.push(started.elapsed());
    }
    println!("{name}: Store::storage_set: p50 {:.3} ms, p99 {:.3} ms (n=2000)", percentile(&mut samples, 0.5), percentile(&mut samples, 0.99));
    let entries: Vec<(String, serde_json::Value)> = (0..100).map(|i| (format!("m{i}"), json!({ "i": i }))).collect();
    let mut samples = Vec::with_capacity(50);
    for _ in 0..50 {
        let started = Instant::now();
        store.storage_set_many(&tenant, ext.id, "direct", &entries, SetOptions::default()).await?;
        samples.push(started.elapsed());
    }
    println!(
        "{name}: Store::storage_set_many of 100: p50 {:.3} ms, p99 {:.3} ms (n=50)",
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99)
    );
    let (h, m) = registry.storage_cache().counters();
    println!("{name}: storage cache: {h} hits, {m} misses");
    registry.uninstall(&tenant, ext.id, true, "bench").await?;
    Ok(())
}
