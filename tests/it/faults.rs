//! Faults `alga-ext serve` survives on PostgreSQL, each against the real binary and a
//! database of its own: PostgreSQL going away under load (503 `STORE_UNAVAILABLE` at once,
//! recovery without a restart, nothing leaked), `kill -9` in the middle of an upload, an
//! approval and a storage import (each whole or absent after a restart), a node killed
//! while another serves, and SIGTERM with requests in flight.

mod node;
mod writes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use crate::archives::{self, Entry};
use crate::support::{admin_token, pg_admin_url, PgTestDb};
use node::{Body, Node, Proxy, Reply};
use writes::{approval_state, big_bundle, import_state, kill_during, timed, upload_state, Op, APPROVE_PERMISSIONS, KILL_AT};

/// A 503 slower than this waited for something; the pool's connect timeout is 5 s.
const FAST: Duration = Duration::from_secs(3);
/// How long recovery may take before the test gives up (it is polled, not waited for).
const RECOVERY: Duration = Duration::from_secs(30);

const SOURCE: &str = r#"
export async function write(request, ctx) { await ctx.storage.set("k", 1); return { body: { ok: true } }; }
export async function probe(request, ctx) {
  try { await ctx.storage.set("k", 2); return { body: { code: null } }; }
  catch (e) { return { body: { name: e.name, code: e.code } }; }
}
export function ping() { return { body: { pong: true } }; }
export async function held(request, ctx) {
  // The closed gate says the call started; it answers once the test opens the gate (read
  // in a transaction, past the node's cache).
  await ctx.storage.set("gate", false);
  while (!(await ctx.storage.transaction((tx) => tx.get("gate")))) await new Promise((r) => setTimeout(r, 50));
  return { body: { tenant: ctx.tenant } };
}
"#;

/// The extension every test installs: `GET /write`, `/probe`, `/ping`, `/held`.
fn bundle() -> Vec<u8> {
    let endpoints: Vec<Value> =
        ["write", "probe", "ping", "held"].iter().map(|h| json!({ "method": "GET", "path": format!("/{h}"), "handler": h })).collect();
    let manifest = json!({
        "id": "com.example.faults", "name": "Faults", "version": "1.0.0", "main": "index.js",
        "permissions": ["storage:read", "storage:write"],
        "extensionPoints": { "endpoints": endpoints },
    });
    archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", SOURCE.as_bytes().to_vec())])
}

/// Uploads `zip` as `tenant`'s admin; answers the install id.
async fn upload(node: &Node, tenant: &str, zip: Vec<u8>) -> String {
    let up = node.send(Method::POST, "/admin/v1/extensions", &admin_token(tenant), Some(Body::Raw("application/zip", zip))).await;
    assert_eq!(up.status, 201, "{}", up.body);
    up.body["extension"]["id"].as_str().unwrap().to_owned()
}

/// Uploads, approves and enables `zip` in `tenant`; answers the install id.
async fn install(node: &Node, tenant: &str, zip: Vec<u8>) -> String {
    let id = upload(node, tenant, zip).await;
    let approve = Body::Json(json!({ "enable": true }));
    let approved = node.send(Method::POST, &format!("/admin/v1/extensions/{id}/approve"), &admin_token(tenant), Some(approve)).await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    id
}

/// The name of the database `url` names.
async fn database_name(url: &str) -> String {
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar("SELECT current_database()").fetch_one(&mut conn).await.unwrap()
}

/// Lets the database take connections or not, from a connection to another database.
async fn allow_connections(name: &str, allow: bool) {
    let mut server = PgConnection::connect(&pg_admin_url()).await.unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}")).execute(&mut server).await.unwrap();
}

/// Terminates the database's backends; `also_listeners` decides about the change feed's.
async fn terminate_backends(name: &str, also_listeners: bool) -> usize {
    let mut server = PgConnection::connect(&pg_admin_url()).await.unwrap();
    let sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND ($2 OR query NOT LIKE 'LISTEN%')";
    let killed: Vec<bool> = sqlx::query_scalar(sql).bind(name).bind(also_listeners).fetch_all(&mut server).await.unwrap();
    killed.len()
}

/// Asserts `reply` is the store's outage in the API's one shape, with `Retry-After`.
fn assert_store_unavailable(what: &str, reply: &Reply, took: Duration) {
    assert_eq!((reply.status, reply.code.as_deref()), (503, Some("STORE_UNAVAILABLE")), "{what}: {}", reply.body);
    assert_eq!(reply.retry_after.as_deref(), Some("1"), "{what}: Retry-After");
    assert!(reply.body["error"]["message"].is_string() && reply.body["error"].get("details").is_some(), "{what}: {}", reply.body);
    assert!(took < FAST, "{what}: answered after {took:?}, as if waiting for the pool's connect timeout");
}

/// Every path that needs the database, while it is away: the admin API, an endpoint and a
/// UI route whose tenant nothing is cached for (the registry's own reads), and `/write`,
/// whose handler's storage call fails.
async fn assert_outage(node: &Node, round: usize) {
    let acme = admin_token("acme");
    let fresh = admin_token(&format!("fresh{round}"));
    for (what, path, token) in [
        ("admin list", "/admin/v1/extensions", &acme),
        ("endpoint of an uncached tenant", "/api/extensions/com.example.faults/ping", &fresh),
        ("navigation of an uncached tenant", "/api/ui/navigation", &fresh),
        ("endpoint whose storage call fails", "/api/extensions/com.example.faults/write", &acme),
    ] {
        let started = Instant::now();
        let reply = node.get(path, token).await;
        assert_store_unavailable(&format!("round {round}, {what}"), &reply, started.elapsed());
    }
}

/// Polls `/write` until it answers 200 again.
async fn assert_recovers(node: &Node) {
    let started = Instant::now();
    loop {
        let reply = node.get("/api/extensions/com.example.faults/write", &admin_token("acme")).await;
        if reply.status == 200 {
            return;
        }
        assert_eq!(reply.code.as_deref(), Some("STORE_UNAVAILABLE"), "{}", reply.body);
        assert!(started.elapsed() < RECOVERY, "no recovery within {RECOVERY:?}\n{}", node.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every answer a client had: the path, the reply (or how the client failed), how long it took.
type Answers = Vec<(String, Result<Reply, String>, Duration)>;

/// Clients looping requests against a node until stopped, keeping every answer.
struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<Answers>>,
}

impl Load {
    fn start(base: String, paths: &'static [&'static str], workers: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|_| {
                let (stop, base, token) = (stop.clone(), base.clone(), admin_token("acme"));
                tokio::spawn(async move {
                    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
                    let mut seen = Vec::new();
                    while !stop.load(Ordering::SeqCst) {
                        for path in paths {
                            let started = Instant::now();
                            let res = client.get(format!("{base}{path}")).bearer_auth(&token).send().await;
                            let reply = match res {
                                Ok(res) => Ok(node::reply(res).await),
                                Err(e) => Err(e.to_string()),
                            };
                            seen.push((path.to_string(), reply, started.elapsed()));
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    seen
                })
            })
            .collect();
        Load { stop, workers }
    }

    async fn stop(self) -> Answers {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for worker in self.workers {
            all.extend(worker.await.unwrap());
        }
        all
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_is_503_store_unavailable_at_once_and_the_same_server_recovers_without_leaks() {
    let db = PgTestDb::create().await;
    let name = database_name(&db.url).await;
    // The server reaches PostgreSQL through a proxy the test can pull away.
    let proxy = Proxy::start(node::pg_addr(&db.url)).await;
    let node = Node::start(&node::via(&db.url, proxy.addr), &[]).await;
    install(&node, "acme", bundle()).await;
    const LOAD: &[&str] = &["/api/extensions/com.example.faults/write", "/admin/v1/extensions", "/api/ui/navigation"];
    let acme = admin_token("acme");
    for _ in 0..3 {
        for path in LOAD {
            let reply = node.get(path, &acme).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        }
    }
    let (threads, isolates) = (node.threads(), node.live_isolates().await);
    assert_eq!(isolates, 1);
    let load = Load::start(node.url(""), LOAD, 2);

    // 1. Every connection of the pool fails: the database refuses new ones and the pool's
    // backends are terminated. The change feed's listener is spared, so the node keeps its
    // caches and the handler runs, to meet the failure in its own storage call. First the
    // listener is made to reconnect, which drops the caches, so that the route loaded next
    // is fresh (targets are kept 5 s) while the outage is looked at.
    assert!(terminate_backends(&name, true).await >= 1, "the node was connected");
    let started = Instant::now();
    loop {
        let ready = node.get("/readyz", &acme).await.body;
        if ready["cluster"]["resyncs"] == 1 && ready["cluster"]["feed"] == "listening" {
            break;
        }
        assert!(started.elapsed() < RECOVERY, "the change feed did not come back: {ready}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(node.get("/api/extensions/com.example.faults/ping", &acme).await.status, 200);
    allow_connections(&name, false).await;
    terminate_backends(&name, false).await;
    let caught = node.get("/api/extensions/com.example.faults/probe", &acme).await;
    assert_eq!((caught.status, &caught.body), (200, &json!({ "name": "StorageError", "code": "STORE_UNAVAILABLE" })), "what the extension sees");
    assert_outage(&node, 1).await;
    allow_connections(&name, true).await;
    assert_recovers(&node).await;

    // 2. PostgreSQL vanishes as in a restart: sockets break, connecting is refused (the
    // pool would retry that until its 5 s timeout).
    proxy.set_up(false);
    assert_outage(&node, 2).await;
    proxy.set_up(true);
    assert_recovers(&node).await;

    let seen = load.stop().await;
    let outage = seen.iter().filter(|(_, reply, _)| matches!(reply, Ok(r) if r.status == 503)).count();
    for (path, reply, took) in &seen {
        let reply = reply.as_ref().unwrap_or_else(|e| panic!("{path}: the client failed: {e}"));
        if reply.status != 200 {
            assert_store_unavailable(&format!("under load, {path}"), reply, *took);
        }
    }
    assert!(outage > 0 && outage < seen.len(), "{outage} of {} answers under load were 503", seen.len());

    // Recovered for good, and nothing piled up: no isolate or thread more than before.
    for path in LOAD {
        assert_eq!(node.get(path, &acme).await.status, 200, "{path}");
    }
    assert_eq!(node.live_isolates().await, isolates, "live isolates");
    let now = node.threads();
    assert!(now <= threads, "threads grew from {threads} to {now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_upload_approval_or_import_leaves_each_whole_or_absent_after_a_restart() {
    let db = PgTestDb::create().await;
    let flags = ["--storage-max-keys", "100000"];
    let mut node = Node::start(&db.url, &flags).await;
    let mut sql = PgConnection::connect(&db.url).await.unwrap();

    // Each operation once, left alone, for its duration; the import goes into the
    // extension this approves.
    let upload_time = timed(&node, &Op::Upload("com.example.upload".into())).await;
    let base = "com.example.base".to_owned();
    upload(&node, "acme", big_bundle(&base, 0, APPROVE_PERMISSIONS)).await;
    let approve_time = timed(&node, &Op::Approve(base.clone())).await;
    let id: String = sqlx::query_scalar("SELECT id::text FROM extensions WHERE extension_key = $1").bind(&base).fetch_one(&mut sql).await.unwrap();
    let import_time = timed(&node, &Op::Import(base.clone(), "n0".into())).await;
    assert!(approval_state(&mut sql, &base).await && import_state(&mut sql, &id, "n0").await);

    let mut outcomes = Vec::new();
    for (round, fraction) in KILL_AT.iter().enumerate() {
        let key = format!("com.example.upload{round}");
        let killed = kill_during(&mut node, &Op::Upload(key.clone()), upload_time.mul_f64(*fraction), &mut sql).await;
        node = Node::start(&db.url, &flags).await;
        let whole = upload_state(&mut sql, &key).await;
        let found = node.get(&format!("/admin/v1/extensions/{key}"), &admin_token("acme")).await.status;
        assert_eq!(found, if whole { 200 } else { 404 }, "the restarted server agrees");
        outcomes.push(("upload", *fraction, killed, whole));

        let key = format!("com.example.approve{round}");
        upload(&node, "acme", big_bundle(&key, 0, APPROVE_PERMISSIONS)).await;
        let killed = kill_during(&mut node, &Op::Approve(key.clone()), approve_time.mul_f64(*fraction), &mut sql).await;
        node = Node::start(&db.url, &flags).await;
        outcomes.push(("approve", *fraction, killed, approval_state(&mut sql, &key).await));

        let namespace = format!("n{}", round + 1);
        let killed = kill_during(&mut node, &Op::Import(base.clone(), namespace.clone()), import_time.mul_f64(*fraction), &mut sql).await;
        node = Node::start(&db.url, &flags).await;
        outcomes.push(("import", *fraction, killed, import_state(&mut sql, &id, &namespace).await));
    }
    let mut inside = 0;
    for (op, fraction, killed, whole) in &outcomes {
        eprintln!(
            "kill -9 during {op} at {fraction} of its time: answered {:?}, in its transaction: {}, whole after the restart: {whole}",
            killed.answered, killed.in_transaction
        );
        // An answer the client got is the truth after the restart.
        if matches!(killed.answered, Some(200 | 201)) {
            assert!(whole, "{op} at {fraction}: answered success, then lost");
        }
        inside += usize::from(killed.in_transaction);
    }
    assert!(inside > 0, "no kill landed inside a transaction, so none tested what this test is for");
}

/// What one client saw: when each request started, and its status or how it failed
/// (whether at connecting, and the error).
type Seen = Arc<std::sync::Mutex<Vec<(Instant, Result<u16, (bool, String)>)>>>;

/// How many of `seen`'s requests started after `since`.
fn started_after(seen: &Seen, since: Instant) -> usize {
    seen.lock().unwrap().iter().filter(|(at, _)| *at > since).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_while_serving_leaves_the_other_answering_and_its_clients_fail_at_connecting() {
    let db = PgTestDb::create().await;
    let mut a = Node::start(&db.url, &[]).await;
    let b = Node::start(&db.url, &[]).await;
    install(&a, "acme", bundle()).await;
    // A new connection per request: a request to a dead node has no open one to reuse.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(10)).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (to_a, to_b): (Seen, Seen) = (Arc::default(), Arc::default());
    let clients: Vec<_> =
        [(a.url("/api/extensions/com.example.faults/write"), to_a.clone()), (b.url("/api/extensions/com.example.faults/write"), to_b.clone())]
            .into_iter()
            .map(|(url, seen)| {
                let (client, token, stop) = (client.clone(), admin_token("acme"), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let started = Instant::now();
                        let res = client.get(&url).bearer_auth(&token).send().await;
                        let outcome = res.map(|r| r.status().as_u16()).map_err(|e| (e.is_connect(), e.to_string()));
                        seen.lock().unwrap().push((started, outcome));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                })
            })
            .collect();

    // Both serve; A is killed while the clients go on, until each asked ten more times.
    let begun = Instant::now();
    while started_after(&to_a, begun) < 10 || started_after(&to_b, begun) < 10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.kill();
    let dead_at = Instant::now();
    while started_after(&to_a, dead_at) < 10 || started_after(&to_b, dead_at) < 10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    let (to_a, to_b) = (to_a.lock().unwrap(), to_b.lock().unwrap());
    assert!(to_b.iter().all(|(_, r)| *r == Ok(200)), "B stopped answering: {to_b:?}");
    assert!(to_a.iter().any(|(at, r)| *at < dead_at && *r == Ok(200)), "A served before it died: {to_a:?}");
    for (_, r) in to_a.iter().filter(|(at, _)| *at > dead_at) {
        assert!(matches!(r, Err((true, _))), "a request to the dead node failed otherwise than at connecting: {r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish_refuses_new_connections_and_exits_zero() {
    const TENANTS: [&str; 3] = ["t0", "t1", "t2"];
    let db = PgTestDb::create().await;
    let mut node = Node::start(&db.url, &["--shutdown-grace", "20s", "--cpu-hard", "1s"]).await;
    // One isolate per tenant, so the calls run at once rather than queue in one isolate.
    for tenant in TENANTS {
        install(&node, tenant, bundle()).await;
    }
    let calls: Vec<_> = TENANTS
        .iter()
        .map(|tenant| {
            let (url, token) = (node.url("/api/extensions/com.example.faults/held"), admin_token(tenant));
            tokio::spawn(async move {
                let res = reqwest::Client::new().get(url).bearer_auth(token).send().await.map_err(|e| e.to_string())?;
                Ok::<_, String>(node::reply(res).await)
            })
        })
        .collect();
    let mut sql = PgConnection::connect(&db.url).await.unwrap();
    let gates = || sqlx::query_scalar::<_, i64>("SELECT count(*) FROM extension_storage WHERE key = 'gate'");
    let started = Instant::now();
    while gates().fetch_one(&mut sql).await.unwrap() < TENANTS.len() as i64 {
        assert!(started.elapsed() < RECOVERY, "the calls did not start\n{}", node.log_tail());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    node.terminate();
    // New connections are refused while the calls are still held in flight.
    let started = Instant::now();
    while tokio::net::TcpStream::connect(node.addr).await.is_ok() {
        assert!(started.elapsed() < RECOVERY, "still accepting after SIGTERM");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = reqwest::Client::new().get(node.url("/healthz")).send().await.unwrap_err();
    assert!(refused.is_connect(), "{refused}");
    assert!(node.exited().is_none() && calls.iter().all(|c| !c.is_finished()), "the server is draining, the calls are held");

    // Opened, every call in flight completes.
    sqlx::query("UPDATE extension_storage SET value = 'true', revision = revision + 1 WHERE key = 'gate'").execute(&mut sql).await.unwrap();
    for (call, tenant) in calls.into_iter().zip(TENANTS) {
        let reply = call.await.unwrap().unwrap_or_else(|e| panic!("{tenant}: {e}"));
        assert_eq!((reply.status, &reply.body), (200, &json!({ "tenant": tenant })), "{tenant}");
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = node.exited() {
            break status;
        }
        assert!(started.elapsed() < RECOVERY, "the server did not exit after draining\n{}", node.log_tail());
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(0), "{}", node.log_tail());
}
