//! Several nodes on one PostgreSQL: a change committed through one node reaches the others'
//! caches through the change feed (LISTEN/NOTIFY), a rolled-back one never does, a node skips
//! its own, and a node whose listening connection dies reconnects and resynchronises.

use std::time::{Duration, Instant};

use alga_ext::cluster::FeedState;
use alga_ext::http::AppState;
use axum::http::Method;
use serde_json::{json, Value};
use sqlx::Connection;

use crate::archives::{self, Entry};
use crate::dispatch::{install_zip, send};
use crate::support::{admin_token, TestStore};

const SHARED_JS: &str = r#"
export async function incr(request, ctx) {
  await ctx.storage.transaction(async (tx) => { await tx.set("n", ((await tx.get("n")) ?? 0) + 1); });
  return { body: { ok: true } };
}
export async function claim(request, ctx) {
  try {
    await ctx.storage.set("owner", request.body.who, { ifRevision: 0 });
    return { body: { won: true } };
  } catch (e) {
    if (e.code === "REVISION_MISMATCH") return { body: { won: false } };
    throw e;
  }
}
export async function fill(request, ctx) {
  try {
    await ctx.storage.namespace("fill").set(request.body.key, 1);
    return { body: { stored: true } };
  } catch (e) {
    if (e.code === "QUOTA_EXCEEDED") return { body: { stored: false } };
    throw e;
  }
}
export async function count(request, ctx) {
  return { body: { n: await ctx.storage.get("n"), keys: (await ctx.storage.namespace("fill").list({ limit: 100 })).items.length } };
}
export async function slow(request, ctx) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  return { body: { version: ctx.extension.version } };
}
export async function read(request, ctx) {
  globalThis.instance ??= crypto.randomUUID();
  return { body: { value: (await ctx.storage.get("k")) ?? null, greeting: await ctx.settings.get("greeting"), version: ctx.extension.version, instance: globalThis.instance } };
}
export async function write(request, ctx) { await ctx.storage.set("k", request.body.value); return { body: { ok: true } }; }
"#;

fn bundle(version: &str) -> Vec<u8> {
    let manifest = json!({
        "id": "com.example.shared", "name": "Shared", "version": version, "main": "index.js",
        "permissions": ["storage:read", "storage:write"],
        "extensionPoints": { "endpoints": [
            { "method": "GET", "path": "/read", "handler": "read" },
            { "method": "POST", "path": "/write", "handler": "write" },
            { "method": "POST", "path": "/incr", "handler": "incr" },
            { "method": "POST", "path": "/claim", "handler": "claim" },
            { "method": "POST", "path": "/fill", "handler": "fill" },
            { "method": "GET", "path": "/count", "handler": "count" },
            { "method": "GET", "path": "/slow", "handler": "slow" }
        ] },
        "settings": [{ "key": "greeting", "type": "string", "label": "Greeting", "default": "hello" }]
    });
    archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", SHARED_JS.as_bytes().to_vec())])
}

/// Well past the feed's latency, well under the caches' TTLs (5 s for registry entries,
/// 30 s for storage values): seeing the change within it means the notification did it.
const WITHIN: Duration = Duration::from_secs(3);

async fn read(state: &AppState) -> (u16, Value) {
    let (status, _, body) = send(state, Method::GET, "/api/extensions/com.example.shared/read", &admin_token("acme"), None).await;
    (status, body)
}

/// Polls `node` until `check` holds, failing after [`WITHIN`].
async fn eventually(node: &AppState, what: &str, check: impl Fn(u16, &Value) -> bool) {
    let started = Instant::now();
    loop {
        let (status, body) = read(node).await;
        if check(status, &body) {
            return;
        }
        assert!(started.elapsed() < WITHIN, "{what}: still {status} {body} after {WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_state(node: &AppState, want: FeedState) {
    let started = Instant::now();
    while node.cluster.state() != want {
        assert!(started.elapsed() < WITHIN, "the feed is {:?}, not {want:?}", node.cluster.state());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_node_reaches_the_others_caches_and_a_lost_feed_resynchronises() {
    let db = TestStore::postgres().await;
    let a = db.another_node().await.with_cluster_sync().await.unwrap();
    let (b, b_store) = db.another_node_and_store(|registry| registry).await;
    let b = b.with_cluster_sync().await.unwrap();
    wait_for_state(&a, FeedState::Listening).await;
    wait_for_state(&b, FeedState::Listening).await;
    let admin = admin_token("acme");
    let id = install_zip(&a, "acme", bundle("1.0.0")).await;

    // B caches the target and the absent value.
    let (status, first) = read(&b).await;
    assert_eq!((status, &first["value"], &first["greeting"], &first["version"]), (200, &json!(null), &json!("hello"), &json!("1.0.0")));
    let instance = first["instance"].clone();
    assert_eq!(read(&b).await.1["instance"], instance, "the same isolate serves");

    // A storage write through A: B's cached "absent" is dropped.
    let (status, _, _) = send(&a, Method::POST, "/api/extensions/com.example.shared/write", &admin, Some(json!({ "value": 1 }))).await;
    assert_eq!(status, 200);
    eventually(&b, "storage write", |_, body| body["value"] == 1).await;

    // Settings, disable, enable, update: each seen by B.
    let (status, _, body) = send(&a, Method::PUT, &format!("/admin/v1/extensions/{id}/settings"), &admin, Some(json!({ "greeting": "hi" }))).await;
    assert_eq!(status, 200, "{body}");
    eventually(&b, "settings", |_, body| body["greeting"] == "hi").await;
    assert_eq!(read(&b).await.1["instance"], instance, "a settings change keeps B's isolate");
    assert_eq!(send(&a, Method::POST, &format!("/admin/v1/extensions/{id}/disable"), &admin, None).await.0, 200);
    eventually(&b, "disable", |status, body| status == 409 && body["error"]["code"] == "EXTENSION_DISABLED").await;
    assert_eq!(send(&a, Method::POST, &format!("/admin/v1/extensions/{id}/enable"), &admin, None).await.0, 200);
    eventually(&b, "enable", |status, _| status == 200).await;
    // An update through A while B serves a slow request on the old version: that request
    // finishes on the old isolate, the next ones run the new version.
    let in_flight = {
        let (b, admin) = (b.clone(), admin.clone());
        tokio::spawn(async move { send(&b, Method::GET, "/api/extensions/com.example.shared/slow", &admin, None).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    install_zip(&a, "acme", bundle("1.1.0")).await;
    eventually(&b, "update", |_, body| body["version"] == "1.1.0").await;
    assert_ne!(read(&b).await.1["instance"], instance, "another version runs in another isolate");
    let (status, _, body) = in_flight.await.unwrap();
    assert_eq!((status, body), (200, json!({ "version": "1.0.0" })), "the request in flight finished on the old version");

    // A node does not apply its own changes; B applied A's.
    assert_eq!(a.cluster.applied(), 0, "{}", a.cluster.report());
    assert!(b.cluster.applied() >= 5, "{}", b.cluster.report());

    // A rolled-back write is never announced: B keeps serving the committed value, and the
    // next committed change is the only one B hears of.
    let pg = db.pg.as_ref().unwrap().pool();
    let before = b.cluster.applied();
    let mut tx = pg.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.current_tenant', 'acme', true)").execute(&mut *tx).await.unwrap();
    let updated = sqlx::query("UPDATE extension_storage SET value = '99', revision = revision + 1 WHERE key = 'k'").execute(&mut *tx).await.unwrap();
    assert_eq!(updated.rows_affected(), 1);
    tx.rollback().await.unwrap();
    let (status, _, _) = send(&a, Method::POST, "/api/extensions/com.example.shared/write", &admin, Some(json!({ "value": 2 }))).await;
    assert_eq!(status, 200);
    eventually(&b, "the write after a rollback", |_, body| body["value"] == 2).await;
    assert_eq!(b.cluster.applied(), before + 1, "only the committed write was announced");

    // Kill every listening connection (as the database's owner, who may): both nodes
    // reconnect and drop their caches once.
    let mut owner = sqlx::PgConnection::connect(db.pg_url().unwrap()).await.unwrap();
    let killed: Vec<bool> =
        sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'")
            .fetch_all(&mut owner)
            .await
            .unwrap();
    assert_eq!(killed.len(), 2, "one listener per node");
    let started = Instant::now();
    while b.cluster.report()["resyncs"] != 1 || b.cluster.state() != FeedState::Listening {
        assert!(started.elapsed() < WITHIN, "B did not resynchronise: {}", b.cluster.report());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _, _) = send(&a, Method::POST, "/api/extensions/com.example.shared/write", &admin, Some(json!({ "value": 3 }))).await;
    assert_eq!(status, 200);
    eventually(&b, "a write after the reconnection", |_, body| body["value"] == 3).await;

    // While the listener cannot reconnect (the database refuses new connections; the pool's
    // open ones still serve), readiness says `degraded`, then `ready` once it is back.
    // B's pool keeps open connections for readiness to use (new ones will be refused).
    let held = futures_util::future::join_all((0..3).map(|_| b_store.pool().acquire())).await;
    assert!(held.iter().all(Result::is_ok));
    drop(held);
    let name: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut owner).await.unwrap();
    let mut server = sqlx::PgConnection::connect(&crate::support::pg_admin_url()).await.unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).execute(&mut server).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'")
        .bind(&name)
        .execute(&mut server)
        .await
        .unwrap();
    wait_for_state(&b, FeedState::Reconnecting).await;
    let (status, _, ready) = send(&b, Method::GET, "/readyz", &admin, None).await;
    assert_eq!((status, ready["status"].as_str(), ready["cluster"]["feed"].as_str()), (200, Some("degraded"), Some("reconnecting")), "{ready}");
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).execute(&mut server).await.unwrap();
    wait_for_state(&b, FeedState::Listening).await;
    let (_, _, ready) = send(&b, Method::GET, "/readyz", &admin, None).await;
    assert_eq!(ready["status"], "ready", "{ready}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_node_has_no_feed_and_says_so() {
    let db = TestStore::sqlite().await;
    let state = db.app_state().with_cluster_sync().await.unwrap();
    assert_eq!(state.cluster.state(), FeedState::Single);
    assert_eq!(state.cluster.report()["feed"], "single");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_revisions_and_quotas_stay_exact_across_nodes() {
    let db = TestStore::postgres().await;
    // A quota of 20 keys for the tenant's extension: `n`, `owner` and at most 18 `fill/*`.
    let quota = alga_store::StorageQuota { max_keys: 20, max_bytes: 1 << 20 };
    let a = db.another_node_with(|r| r.with_storage_quota(quota)).await;
    let b = db.another_node_with(|r| r.with_storage_quota(quota)).await;
    install_zip(&a, "acme", bundle("1.0.0")).await;
    let admin = admin_token("acme");
    let post = |node: AppState, path: &'static str, body: Value| {
        let admin = admin.clone();
        async move {
            let (status, _, body) = send(&node, Method::POST, &format!("/api/extensions/com.example.shared/{path}"), &admin, Some(body)).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };

    // 40 transactional increments, half through each node, all at once: none is lost.
    let increments = (0..40).map(|i| post(if i % 2 == 0 { a.clone() } else { b.clone() }, "incr", json!({})));
    futures_util::future::join_all(increments).await;
    // Ten claims of the same key with ifRevision 0 through both nodes: exactly one wins.
    let claims = (0..10).map(|i| post(if i % 2 == 0 { a.clone() } else { b.clone() }, "claim", json!({ "who": i })));
    let won = futures_util::future::join_all(claims).await.iter().filter(|body| body["won"] == true).count();
    assert_eq!(won, 1, "one claim wins across nodes");
    // 40 new keys through both nodes against a 20-key quota: exactly 18 fit beside n and owner.
    let fills = (0..40).map(|i| post(if i % 2 == 0 { a.clone() } else { b.clone() }, "fill", json!({ "key": format!("k{i}") })));
    let stored = futures_util::future::join_all(fills).await.iter().filter(|body| body["stored"] == true).count();
    assert_eq!(stored, 18, "the quota holds across nodes");
    let (status, _, body) = send(&b, Method::GET, "/api/extensions/com.example.shared/count", &admin, None).await;
    assert_eq!((status, body), (200, json!({ "n": 40, "keys": 18 })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_has_not_heard_of_an_enable_yet_serves_rather_than_answering_404() {
    // No change feed on either node: B learns of A's enable only from the database.
    let db = TestStore::postgres().await;
    let a = db.another_node().await;
    let b = db.another_node().await;
    let admin = admin_token("acme");
    let id = install_zip(&a, "acme", bundle("1.0.0")).await;
    assert_eq!(send(&a, Method::POST, &format!("/admin/v1/extensions/{id}/disable"), &admin, None).await.0, 200);
    let (status, body) = read(&b).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("EXTENSION_DISABLED")), "B caches 'not serving': {body}");
    assert_eq!(send(&a, Method::POST, &format!("/admin/v1/extensions/{id}/enable"), &admin, None).await.0, 200);
    let (status, body) = read(&b).await;
    assert_eq!(status, 200, "B's cached 'not serving' is older than the database's enable: {body}");
}
