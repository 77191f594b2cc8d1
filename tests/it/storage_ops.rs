//! `ctx.storage` exercised from JavaScript inside real isolates, over HTTP, on both backends.

use axum::http::Method;
use serde_json::{json, Value};

use crate::archives::{self, Entry};
use crate::dispatch::{install_zip, send};
use crate::support::{admin_token, TestStore};

const STORE_JS: &str = r#"
export async function roundtrip(request, ctx) {
  const s = ctx.storage, cache = s.namespace("cache");
  const out = {};
  out.missing = await s.get("k");
  out.first = await s.set("k", { n: 1, list: [1, "two"] });
  out.second = await s.set("k", "replaced");
  out.value = await s.get("k");
  out.has = await s.has("k");
  await cache.set("k", "cached");
  out.namespaced = [await s.get("k"), await cache.get("k")];
  for (const k of ["b", "a", "c", "d"]) await s.set("user:" + k, k);
  const page1 = await s.list({ prefix: "user:", limit: 3 });
  const page2 = await s.list({ prefix: "user:", limit: 3, cursor: page1.cursor });
  out.pages = [page1.items.map((i) => i.key), page2.items.map((i) => i.key), page2.cursor];
  out.deleted = [await s.delete("k"), await s.delete("k"), await s.get("k")];
  await s.set("short", 1, { ttlSeconds: 1 });
  await new Promise((r) => setTimeout(r, 1100));
  out.expired = await s.get("short");
  for (const [name, attempt] of [
    ["tooBig", () => s.set("big", "x".repeat(70000))],
    ["longKey", () => s.set("k".repeat(300), 1)],
    ["badNamespace", () => s.namespace("no spaces").get("k")],
    ["nulKey", () => s.set("a\u0000b", 1)],
  ]) {
    try { await attempt(); out[name] = "no error"; } catch (e) { out[name] = [e.name, e.code]; }
  }
  return { body: out };
}
export async function advanced(request, ctx) {
  const s = ctx.storage.namespace("adv");
  const out = {};
  out.created = (await s.set("c", 1, { ifRevision: 0 })).revision;
  try { await s.set("c", 2, { ifRevision: 0 }); } catch (e) { out.again = e.code; }
  out.bumped = (await s.set("c", 2, { ifRevision: 1 })).revision;
  try { await s.set("c", 3, { ifRevision: 1 }); } catch (e) { out.stale = [e.name, e.code, e.expected, e.found, e.message]; }
  await s.setBatch({ "a.1": 1, "a.2": 2, "b.1": 3 });
  const got = await s.getBatch(["a.1", "b.1", "zzz"]);
  out.batch = [...got.entries()];
  out.keys = await s.keys("a.*");
  out.size = await s.size();
  try { await s.setBatch([["a.1", "x"], ["new", "y"]], { ifRevision: 0 }); } catch (e) { out.atomic = [e.code, await s.get("new"), await s.get("a.1")]; }
  try { await s.getBatch(Array.from({ length: 101 }, (_, i) => "k" + i)); } catch (e) { out.tooMany = e.code; }
  out.badPages = [];
  for (const page of [() => s.list({ limit: 0 }), () => s.list({ limit: 101 }), () => s.search({}, { limit: 101 })]) {
    try { await page(); out.badPages.push("accepted"); } catch (e) { out.badPages.push([e.code, e.message]); }
  }
  out.deletedBatch = await s.deleteBatch(["a.1", "zzz"]);
  out.cleared = await s.clear();
  out.sizeAfter = await s.size();
  return { body: out };
}
export async function transactions(request, ctx) {
  const s = ctx.storage.namespace("tx");
  const out = {};
  const increment = () => s.transaction(async (tx) => {
    const n = (await tx.get("n")) ?? 0;
    await new Promise((r) => setTimeout(r, 5));
    await tx.set("n", n + 1);
  });
  for (let round = 0; round < 3; round++) await Promise.all([increment(), increment(), increment(), increment()]);
  out.counter = await s.get("n");
  await s.set("r", 1);
  try {
    await s.transaction(async (tx) => { await tx.set("r", 2); throw new Error("boom"); });
  } catch (e) {
    out.rolledBack = [e.message, await s.get("r")];
  }
  out.returned = await s.transaction(async (tx) => (await tx.get("r")) + 41);
  return { body: out };
}
export function leaveOpen(request, ctx) {
  ctx.storage.transaction(async (tx) => { await tx.set("held", 1); await new Promise(() => {}); });
  return { body: "left" };
}
export async function typed(request, ctx) {
  const s = ctx.storage.namespace("typed"), out = {};
  out.good = (await s.set("t", { name: "urgent" })).revision;
  for (const [name, attempt] of [
    ["set", () => s.set("t", { name: 5 })],
    ["batch", () => s.setBatch({ ok: { name: "x" }, bad: { color: "red" } })],
    ["tx", () => ctx.storage.transaction((tx) => tx.namespace("typed").set("t", "not an object"))],
  ]) {
    try { await attempt(); out[name] = "no error"; } catch (e) { out[name] = [e.code, e.message]; }
  }
  out.after = [await s.get("t"), await s.get("ok")];
  out.untyped = (await ctx.storage.set("t", 5)).revision;
  return { body: out };
}
export async function sensitive(request, ctx) {
  const s = ctx.storage.namespace("vault"), out = {};
  try {
    await s.set("token", { v: "first-plaintext" }, { sensitive: true });
    out.revision = (await s.set("token", { v: "hunter2-plaintext" }, { sensitive: true })).revision;
    out.history = (await s.history("token")).map((h) => [h.revision, h.value, typeof h.writtenAt]);
    await s.setBatch({ a: "batch-plaintext" }, { sensitive: true });
    out.read = [await s.get("token"), await s.get("a"), (await s.list()).items.length];
    out.apiKey = await ctx.settings.get("apiKey");
  } catch (e) { out.error = e.code; }
  try { await s.set("fake", { "$alga.sealed": 1 }); } catch (e) { out.fake = e.code; }
  return { body: out };
}
export async function hot(request, ctx) {
  const seen = [];
  for (let i = 0; i < 100; i++) seen.push(await ctx.storage.get(request.params.key));
  return { body: { first: seen[0], same: seen.every((v) => JSON.stringify(v) === JSON.stringify(seen[0])) } };
}
export async function find(request, ctx) {
  const s = ctx.storage.namespace("tickets");
  await s.setBatch({
    a: { status: "open", priority: 3, customer: { name: "Acme" } },
    b: { status: "closed", priority: 1, customer: { name: "Globex" } },
    c: { status: "open", priority: 7, customer: { name: "Initech" } },
  });
  const keys = (page) => page.items.map((i) => i.key);
  const out = {};
  out.open = keys(await s.search({ status: "open" }));
  out.range = keys(await s.search({ status: "open", priority: { $gte: 5 } }));
  out.nested = keys(await s.search({ "customer.name": "Globex" }));
  const first = await s.search({ priority: { $gt: 0 } }, { limit: 2 });
  const second = await s.search({ priority: { $gt: 0 } }, { limit: 2, cursor: first.cursor });
  out.pages = [keys(first), keys(second), second.cursor];
  out.values = (await s.search({ "customer.name": "Acme" })).items[0].value.priority;
  try { await s.search({ status: { $regex: "o" } }); } catch (e) { out.badOp = e.name; }
  try { await s.search({ "bad path": 1 }); } catch (e) { out.badPath = e.code; }
  try { await s.history("a", { limit: 11 }); } catch (e) { out.badHistory = e.code; }
  return { body: out };
}
export function later(request, ctx) {
  setTimeout(() => ctx.storage.set("later", { firedAt: Date.now() }), 30);
  return { body: "scheduled" };
}
export async function put(request, ctx) { await ctx.storage.set(request.params.key, request.body); return { status: 204 }; }
export async function read(request, ctx) { return { body: { value: await ctx.storage.get(request.params.key) } }; }
export async function onUpdate(event, ctx) {
  const old = await ctx.storage.get("counter");
  await ctx.storage.set("counter", { count: (old?.count ?? 0) + 1, migratedFrom: event.fromVersion });
}
"#;

pub(crate) fn bundle(key: &str, version: &str, permissions: &[&str]) -> Vec<u8> {
    let manifest = json!({
        "id": key, "name": key, "version": version, "main": "index.js", "permissions": permissions,
        "settings": [{ "key": "apiKey", "type": "string", "label": "API key", "secret": true }],
        "storage": { "schemas": { "typed": { "type": "object", "required": ["name"], "properties": { "name": { "type": "string" } } } } },
        "extensionPoints": { "endpoints": [
            { "method": "GET", "path": "/roundtrip", "handler": "roundtrip" },
            { "method": "GET", "path": "/advanced", "handler": "advanced" },
            { "method": "GET", "path": "/transactions", "handler": "transactions" },
            { "method": "GET", "path": "/leave", "handler": "leaveOpen" },
            { "method": "GET", "path": "/later", "handler": "later" },
            { "method": "GET", "path": "/typed", "handler": "typed" },
            { "method": "GET", "path": "/find", "handler": "find" },
            { "method": "GET", "path": "/hot/:key", "handler": "hot" },
            { "method": "GET", "path": "/sensitive", "handler": "sensitive" },
            { "method": "PUT", "path": "/kv/:key", "handler": "put" },
            { "method": "GET", "path": "/kv/:key", "handler": "read" }
        ] }
    });
    archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", STORE_JS.as_bytes().to_vec())])
}

async fn storage_from_js(db: TestStore) {
    let state = db.app_state();
    let rw = ["storage:read", "storage:write"];
    install_zip(&state, "acme", bundle("com.example.kv", "1.0.0", &rw)).await;
    let acme = admin_token("acme");
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.kv/roundtrip", &acme, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["missing"], Value::Null);
    assert_eq!((body["first"]["revision"].clone(), body["second"]["revision"].clone()), (json!(1), json!(2)));
    assert_eq!((body["value"].clone(), body["has"].clone()), (json!("replaced"), json!(true)));
    assert_eq!(body["namespaced"], json!(["replaced", "cached"]));
    assert_eq!(body["pages"], json!([["user:a", "user:b", "user:c"], ["user:d"], null]));
    assert_eq!(body["deleted"], json!([true, false, null]));
    assert_eq!(body["expired"], Value::Null);
    assert_eq!(body["tooBig"], json!(["StorageError", "QUOTA_EXCEEDED"]));
    assert_eq!(body["longKey"], json!(["StorageError", "VALIDATION_FAILED"]));
    assert_eq!(body["badNamespace"], json!(["StorageError", "VALIDATION_FAILED"]));
    assert_eq!(body["nulKey"], json!(["StorageError", "VALIDATION_FAILED"]));

    let (status, _, adv) = send(&state, Method::GET, "/api/extensions/com.example.kv/advanced", &acme, None).await;
    assert_eq!(status, 200, "{adv}");
    assert_eq!(
        adv,
        json!({
            "created": 1, "again": "REVISION_MISMATCH", "bumped": 2,
            "stale": ["StorageError", "REVISION_MISMATCH", 1, 2, "expected revision 1, found 2"],
            "batch": [["a.1", 1], ["b.1", 3]], "keys": ["a.1", "a.2"], "size": 4,
            "atomic": ["REVISION_MISMATCH", null, 1], "tooMany": "VALIDATION_FAILED",
            "badPages": [
                ["VALIDATION_FAILED", "limit 0 is outside 1..=100"],
                ["VALIDATION_FAILED", "limit 101 is outside 1..=100"],
                ["VALIDATION_FAILED", "limit 101 is outside 1..=100"]
            ],
            "deletedBatch": 1, "cleared": 3, "sizeAfter": 0
        })
    );

    // Search filters JSON fields through the same API on both backends.
    let (status, _, found) = send(&state, Method::GET, "/api/extensions/com.example.kv/find", &acme, None).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        found,
        json!({ "open": ["a", "c"], "range": ["c"], "nested": ["b"], "pages": [["a", "b"], ["c"], null], "values": 3,
                "badOp": "TypeError", "badPath": "VALIDATION_FAILED", "badHistory": "VALIDATION_FAILED" })
    );

    // Per-namespace schemas refuse bad values on every write path, naming the path; the
    // default namespace has no schema.
    let (status, _, typed) = send(&state, Method::GET, "/api/extensions/com.example.kv/typed", &acme, None).await;
    assert_eq!(status, 200, "{typed}");
    assert_eq!((typed["good"].clone(), typed["untyped"].clone()), (json!(1), json!(1)));
    assert_eq!(typed["after"], json!([{ "name": "urgent" }, null]), "refused writes left nothing");
    for path in ["set", "batch", "tx"] {
        assert_eq!(typed[path][0], "VALIDATION_FAILED", "{path}: {typed}");
    }
    assert!(typed["set"][1].as_str().unwrap().contains("/name"), "{typed}");
    assert!(typed["batch"][1].as_str().unwrap().contains("\"name\" is a required property"), "{typed}");

    // Twelve concurrent read-increment-write transactions lose no update; a throwing callback
    // rolls back; a transaction a handler leaves open is rolled back when its request ends.
    let (status, _, tx) = send(&state, Method::GET, "/api/extensions/com.example.kv/transactions", &acme, None).await;
    assert_eq!(status, 200, "{tx}");
    assert_eq!(tx, json!({ "counter": 12, "rolledBack": ["boom", 1], "returned": 42 }));
    let (_, _, left) = send(&state, Method::GET, "/api/extensions/com.example.kv/leave", &acme, None).await;
    assert_eq!(left, json!("left"));
    let (status, _, again) = send(&state, Method::GET, "/api/extensions/com.example.kv/transactions", &acme, None).await;
    assert_eq!((status, again["counter"].clone()), (200, json!(24)), "no lock outlived the request: {again}");
    let (_, _, held) = send(&state, Method::GET, "/api/extensions/com.example.kv/kv/held", &acme, None).await;
    assert_eq!(held, json!({ "value": null }), "the abandoned write was rolled back");

    // The write audit: committed changes with their actor; nothing from rolled-back work.
    state.registry.storage_audit().flush().await;
    let kv_id = state.registry.dispatch_target(&crate::support::tenant("acme"), "com.example.kv").await.unwrap().unwrap().extension.id;
    let (status, _, audit) = send(&state, Method::GET, &format!("/admin/v1/extensions/{kv_id}/storage/audit?limit=1000"), &acme, None).await;
    assert_eq!(status, 200, "{audit}");
    let entries = audit["entries"].as_array().unwrap();
    let (status, _, bad) = send(&state, Method::GET, &format!("/admin/v1/extensions/{kv_id}/storage/audit?limit=0"), &acme, None).await;
    assert_eq!((status, bad["error"]["code"].as_str(), bad["error"]["details"]["field"].as_str()), (400, Some("INVALID_ARGUMENT"), Some("limit")));
    let count = |op: &str, ns: &str, key: &str| entries.iter().filter(|e| e["op"] == op && e["namespace"] == ns && e["key"] == key).count();
    assert_eq!((count("set", "", "k"), count("delete", "", "k")), (2, 1), "{audit}");
    assert_eq!(count("clear", "adv", ""), 1);
    assert_eq!(count("set", "tx", "n"), 24, "every committed transaction write, none lost");
    assert_eq!(count("set", "tx", "r"), 2, "two plain writes (the handler ran twice); the rolled-back ones are not audited");
    assert_eq!(count("set", "tx", "held"), 0, "the abandoned transaction is not audited");
    assert!(entries.iter().all(|e| e["actor"] == "alice"), "every change names the request's user");
    assert!(entries.iter().any(|e| e["op"] == "set" && e["key"] == "k" && e["sizeBytes"].as_i64() > Some(0)));

    // Another tenant's install and another extension of the same tenant see nothing of it.
    send(&state, Method::PUT, "/api/extensions/com.example.kv/kv/secret", &acme, Some(json!({ "owner": "acme" }))).await;
    install_zip(&state, "globex", bundle("com.example.kv", "1.0.0", &rw)).await;
    install_zip(&state, "acme", bundle("com.example.other", "1.0.0", &rw)).await;
    let (_, _, mine) = send(&state, Method::GET, "/api/extensions/com.example.kv/kv/secret", &acme, None).await;
    assert_eq!(mine, json!({ "value": { "owner": "acme" } }));
    let (_, _, theirs) = send(&state, Method::GET, "/api/extensions/com.example.kv/kv/secret", &admin_token("globex"), None).await;
    assert_eq!(theirs, json!({ "value": null }), "other tenant");
    let (_, _, other) = send(&state, Method::GET, "/api/extensions/com.example.other/kv/secret", &acme, None).await;
    assert_eq!(other, json!({ "value": null }), "other extension");

    // Read-only grant: writes are refused before any database work.
    install_zip(&state, "acme", bundle("com.example.ro", "1.0.0", &["storage:read"])).await;
    let (status, _, body) = send(&state, Method::PUT, "/api/extensions/com.example.ro/kv/x", &acme, Some(json!(1))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (500, Some("EXTENSION_ERROR")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("StorageError: the extension was not granted storage:write"), "{body}");

    // onUpdate migrates stored data before the new version serves.
    send(&state, Method::PUT, "/api/extensions/com.example.kv/kv/counter", &acme, Some(json!({ "count": 1 }))).await;
    install_zip(&state, "acme", bundle("com.example.kv", "1.1.0", &rw)).await;
    let (_, _, migrated) = send(&state, Method::GET, "/api/extensions/com.example.kv/kv/counter", &acme, None).await;
    assert_eq!(migrated, json!({ "value": { "count": 2, "migratedFrom": "1.0.0" } }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_works_from_javascript_on_sqlite() {
    storage_from_js(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_works_from_javascript_on_postgres() {
    storage_from_js(TestStore::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_refusals_reach_javascript_and_leave_nothing_even_in_a_committed_transaction() {
    use alga_ext::registry::Registry;
    for db in [TestStore::sqlite().await, TestStore::postgres().await] {
        let quota = alga_store::StorageQuota { max_keys: 3, max_bytes: 10_000 };
        let registry = std::sync::Arc::new(Registry::new(db.store.clone(), Default::default()).with_storage_quota(quota));
        let tokens = alga_ext::auth::TokenKeys::from_secret(crate::support::SECRET.as_bytes());
        let state = alga_ext::http::AppState::new(registry, tokens, vec!["admin".into()]);
        let js = r#"
export async function fill(request, ctx) {
  const s = ctx.storage, out = {};
  for (const k of ["a", "b", "c"]) await s.set(k, k);
  try { await s.set("d", "d"); } catch (e) { out.refused = [e.code, e.message]; }
  out.committed = await s.transaction(async (tx) => {
    await tx.set("a", "updated");
    try { await tx.set("e", "e"); } catch (e) { return e.code; }
  });
  out.after = [await s.get("a"), await s.get("e"), await s.size()];
  return { body: out };
}"#;
        let manifest = json!({ "id": "com.example.quota", "name": "Quota", "version": "1.0.0", "main": "index.js",
            "permissions": ["storage:read", "storage:write"],
            "extensionPoints": { "endpoints": [{ "method": "GET", "path": "/fill", "handler": "fill" }] } });
        let zip =
            archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", js.as_bytes().to_vec())]);
        install_zip(&state, "acme", zip).await;
        let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.quota/fill", &admin_token("acme"), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["refused"][0], "QUOTA_EXCEEDED");
        let message = body["refused"][1].as_str().unwrap();
        assert!(message.contains("4 keys") && message.contains("the limits are 3 keys"), "limit and usage named: {message}");
        assert_eq!(body["committed"], "QUOTA_EXCEEDED");
        assert_eq!(body["after"], json!(["updated", null, 3]), "the transaction kept its good write and none of the refused one");
    }
}

/// A timer a handler leaves behind fires on its own, not only while a later request runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_left_by_a_request_fire_between_requests() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let id = install_zip(&state, "acme", bundle("com.example.kv", "1.0.0", &["storage:read", "storage:write"])).await;
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.kv/later", &admin_token("acme"), None).await;
    assert_eq!((status, body), (200, json!("scheduled")));
    let key = alga_store::StorageKey { extension_id: id.parse().unwrap(), namespace: "", key: "later" };
    let tenant = crate::support::tenant("acme");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    // No request runs meanwhile: only the isolate's own event loop can write the value.
    loop {
        if db.store.storage_get(&tenant, key).await.unwrap().is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the timer never fired");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Usage is reported in the admin API, and passing 80% of a limit raises one warning event
/// with an audit row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_reported_and_warned_about_at_eighty_percent() {
    use alga_ext::auth::TokenKeys;
    use alga_ext::http::AppState;
    use alga_ext::registry::Registry;
    let db = TestStore::sqlite().await;
    let quota = alga_store::StorageQuota { max_keys: 10, max_bytes: 1_000_000 };
    let registry = std::sync::Arc::new(Registry::new(db.store.clone(), Default::default()).with_storage_quota(quota));
    let mut events = registry.events().subscribe();
    let state = AppState::new(registry, TokenKeys::from_secret(crate::support::SECRET.as_bytes()), vec!["admin".into()]);
    let id = install_zip(&state, "acme", bundle("com.example.kv", "1.0.0", &["storage:read", "storage:write"])).await;
    let acme = admin_token("acme");
    for i in 0..8 {
        let (status, _, body) = send(&state, Method::PUT, &format!("/api/extensions/com.example.kv/kv/k{i}"), &acme, Some(json!(i))).await;
        assert_eq!(status, 204, "{body}");
    }
    let warning = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            let event = events.recv().await.unwrap();
            let event = serde_json::to_value(&event).unwrap();
            if event["kind"] == "storage_quota_warning" {
                return event;
            }
        }
    })
    .await
    .expect("a warning event");
    assert!(warning.to_string().contains("\"max_keys\":10"), "{warning}");
    let (status, _, usage) = send(&state, Method::GET, &format!("/admin/v1/extensions/{id}/storage/usage"), &acme, None).await;
    assert_eq!(status, 200, "{usage}");
    assert_eq!(
        (usage["keys"].clone(), usage["maxKeys"].clone(), usage["keysPercent"].clone(), usage["warning"].clone()),
        (json!(8), json!(10), json!(80.0), json!(true))
    );
    let audit = db.store.list_audit(&crate::support::tenant("acme"), 50).await.unwrap();
    assert_eq!(audit.iter().filter(|a| a.action == "storage.quota_warning").count(), 1, "one warning per crossing");
}
