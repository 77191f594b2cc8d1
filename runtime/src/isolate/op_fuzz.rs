//! Calls every op an extension isolate registers — ours, deno_core's kept ones and the
//! disabled ones — with hostile arguments, in a runtime whose storage is real (SQLite), and
//! checks the process is still here. deno_core calls ops across a non-unwinding boundary: a
//! panic in any of them would abort the whole test binary, not fail one test.

use std::sync::Arc;
use std::time::Duration;

use deno_core::{JsRuntime, PollEventLoopOptions, RuntimeOptions};

use super::SNAPSHOT;

/// Ops that steer the runtime's own machinery (exceptions into the event loop, the
/// rejection handler): calling them ends this script early, which would leave the ops after
/// them untried. Extension code cannot reach them either (the reachable-globals walk proves
/// it); they stay enabled because deno_core's event loop calls them.
const PLUMBING: &[&str] = &["op_dispatch_exception", "op_set_handled_promise_rejection_handler", "op_run_microtasks", "op_drain_pending_rejections"];

const FUZZ_JS: &str = r#"
(async () => {
  const ops = Deno.core.ops;
  let deep = {};
  for (let i = 0; i < 3000; i++) deep = { d: deep };
  let deepArray = [];
  for (let i = 0; i < 3000; i++) deepArray = [deepArray];
  const proxy = new Proxy({}, { get() { throw new Error("proxy"); } });
  const throwing = { toString() { throw new Error("toString"); }, valueOf() { throw new Error("valueOf"); } };
  const huge = "x".repeat(1 << 20);
  const argumentLists = [
    [], [undefined], [null, null, null, null, null, null],
    [0, 0, 0, 0], [-1, -1, -1], [4294967295, 4294967295], [2 ** 53, NaN, Infinity], [-(2 ** 63)],
    ["", "", "", ""], ["\u0000", "a\u0000b", "\u0000"], [huge, huge, huge], ["\ud800", "\udfff"],
    [{}, {}, {}, {}], [[], [], []], [deep, deep, deep], [deepArray, deepArray], [proxy, proxy, proxy],
    [throwing, throwing], [10n, 10n], [Symbol("s")], [() => {}, () => {}],
    [new Uint8Array(0), new Uint8Array(1 << 16)], [new ArrayBuffer(3), 5], [new DataView(new ArrayBuffer(2))],
    [1, "ns", "key", { v: deep }, { ttl: -5, ifRevision: -1 }], ["ns", { prefix: "\u0000", limit: 0 }],
    ["ns", [{ path: "a", op: "eq", value: deep }], { limit: 4294967295 }],
    [1, "ns", "key"], [4294967295, true], ["GET", "/api/v1/tickets/../../x", {}],
  ];
  const names = Object.keys(ops).sort().filter((n) => !PLUMBING.includes(n));
  let calls = 0;
  const disabled = [];
  const refused = (name, e) => {
    if (String(e?.message) === "op is disabled" && !disabled.includes(name)) disabled.push(name);
  };
  for (const name of names) {
    for (const args of argumentLists) {
      calls++;
      try {
        const result = ops[name](...args);
        if (result && typeof result.then === "function") {
          await Promise.race([result.catch((e) => refused(name, e)), new Promise((r) => setTimeout(r, 200))]);
        }
      } catch (e) {
        refused(name, e);
      }
    }
  }
  return { names: names.length, calls, disabled };
})()
"#;

#[test]
fn every_op_survives_hostile_arguments() {
    // As in the server: store work on a multi-threaded runtime, the isolate on a thread of
    // its own with a current-thread runtime (deno_core requires it).
    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fuzz.db").display());
    let store = server.block_on(async {
        let store = alga_store::SqliteStore::connect(&alga_store::ConnectOptions::new(url)).await.unwrap();
        alga_store::MaintenanceStore::migrate(&store).await.unwrap();
        store
    });
    let spawner = server.handle().clone();
    let summary = std::thread::spawn(move || {
        let local = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        local.block_on(fuzz(Arc::new(store), spawner))
    })
    .join()
    .expect("the fuzz thread finishes");
    // Still here: no op aborted the process. And the dangerous ones are disabled.
    assert!(summary["names"].as_u64().unwrap() > 40, "{summary}");
    let disabled: Vec<&str> = summary["disabled"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    for name in ["op_panic", "op_print", "op_current_user_call_site", "op_read", "op_write", "op_resources", "op_eval_context", "op_import_sync"] {
        assert!(disabled.contains(&name), "{name} must be disabled: {summary}");
    }
    for name in &disabled {
        assert!(!alga_ops::sandbox::op_allowed(name), "{name} is allowed yet answered as disabled");
    }
}

async fn fuzz(store: Arc<alga_store::SqliteStore>, spawner: tokio::runtime::Handle) -> serde_json::Value {
    let tenant = alga_store::TenantId::parse("fuzz").unwrap();
    let extension_id = uuid::Uuid::new_v4();
    let storage = alga_ops::storage::StorageContext {
        store,
        tenant,
        extension_id,
        spawner: spawner.clone(),
        can_read: true,
        can_write: true,
        quota: Default::default(),
        observer: None,
        schemas: None,
        sealer: None,
        cache: Some(Arc::new(alga_ops::storage::cache::StorageCache::new(1000, Duration::from_secs(30)))),
        cache_scope: alga_ops::storage::cache::StorageCache::scope("fuzz", extension_id),
        audit: None,
        shares: Some(alga_ops::storage::TenantShares::new(4, Duration::from_secs(1))),
        tx_max_duration: Duration::from_millis(200),
    };
    let api = alga_ops::api::ApiContext {
        host: None,
        tenant: "fuzz".into(),
        extension: "com.example.fuzz".into(),
        granted: vec!["tickets:read".into()],
        spawner,
    };
    let mut runtime = JsRuntime::new(RuntimeOptions { extensions: alga_ops::extensions(), startup_snapshot: Some(SNAPSHOT), ..Default::default() });
    {
        let op_state = runtime.op_state();
        let mut op_state = op_state.borrow_mut();
        op_state.put(alga_ops::ExtensionIdentity { tenant: "fuzz".into(), extension: "com.example.fuzz".into() });
        op_state.put(storage);
        op_state.put(api);
        op_state.put(alga_ops::api::CallUser(Some("mallory".into())));
        alga_ops::storage::call_started(&mut op_state);
    }
    let plumbing = serde_json::to_string(PLUMBING).unwrap();
    let script = format!("const PLUMBING = {plumbing};\n{FUZZ_JS}");
    let promise = runtime.execute_script("<op-fuzz>", script).unwrap();
    let resolve = runtime.resolve(promise);
    let value = tokio::time::timeout(Duration::from_secs(240), runtime.with_event_loop_promise(resolve, PollEventLoopOptions::default()))
        .await
        .expect("the fuzz finishes")
        .expect("the fuzz script itself does not fail");
    if let Some(rollback) = alga_ops::storage::call_ended(&runtime.op_state()) {
        rollback.await;
    }
    deno_core::scope!(scope, &mut runtime);
    let local = deno_core::v8::Local::new(scope, value);
    deno_core::serde_v8::from_v8::<serde_json::Value>(scope, local).unwrap()
}
