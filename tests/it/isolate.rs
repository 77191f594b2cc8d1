//! V8 is linked and isolates behave: JS runs, console reaches tracing tagged by OpState
//! identity, and running out of heap terminates the script instead of the process.

use std::io::Write;
use std::sync::{Arc, Mutex};

use alga_ext::isolate::{Isolate, IsolateError, IsolateLimits};
use alga_ops::ExtensionIdentity;
use serde_json::json;

fn identity(tenant: &str) -> ExtensionIdentity {
    ExtensionIdentity { tenant: tenant.into(), extension: "com.example.tags".into() }
}

#[tokio::test(flavor = "current_thread")]
async fn an_isolate_runs_javascript_and_returns_json() {
    let mut isolate = Isolate::new(identity("acme"), IsolateLimits::default(), None, Default::default()).unwrap();
    let value = isolate.eval_json("<test>", "const o = { sum: 1 + 2, list: [...'ab'] }; o".into()).unwrap();
    assert_eq!(value, json!({ "sum": 3, "list": ["a", "b"] }));
    let err = isolate.eval_json("<test>", "throw new TypeError('nope')".into()).unwrap_err();
    assert!(matches!(&err, IsolateError::Script(m) if m.contains("TypeError: nope")), "{err}");
}

/// A `tracing` writer that keeps everything written to it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn console_output_reaches_tracing_tagged_with_tenant_and_extension() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().json().with_max_level(tracing::Level::DEBUG).with_writer(move || writer.clone()).finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut isolate = Isolate::new(identity("acme"), IsolateLimits::default(), None, Default::default()).unwrap();
        isolate.eval_json("<test>", "console.log('hello', { n: 1 }, [2]); console.error(new Error('bad')); 0".into()).unwrap();
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let hello = lines.iter().find(|l| l["fields"]["message"] == "hello {\"n\":1} [2]").expect(&text);
    assert_eq!((hello["level"].as_str(), hello["target"].as_str()), (Some("INFO"), Some("extension")));
    assert_eq!(hello["fields"]["tenant"], "acme");
    assert_eq!(hello["fields"]["extension"], "com.example.tags");
    let error = lines.iter().find(|l| l["level"] == "ERROR").expect(&text);
    assert!(error["fields"]["message"].as_str().unwrap().starts_with("Error: bad"), "{error}");
}

#[tokio::test(flavor = "current_thread")]
async fn console_cannot_be_replaced_by_extension_code() {
    let mut isolate = Isolate::new(identity("acme"), IsolateLimits::default(), None, Default::default()).unwrap();
    let value = isolate.eval_json("<test>", "try { console.log = () => 1; } catch {} ; globalThis.console = 1; typeof console.log".into()).unwrap();
    assert_eq!(value, json!("function"));
}

#[tokio::test(flavor = "current_thread")]
async fn exhausting_the_heap_terminates_the_script_not_the_process() {
    let limits = IsolateLimits { heap_max_bytes: 16 * 1024 * 1024, ..Default::default() };
    let mut greedy = Isolate::new(identity("acme"), limits, None, Default::default()).unwrap();
    let err = greedy.eval_json("<test>", "const keep = []; for (;;) keep.push(new Array(100000).fill(Math.random())); 0".into()).unwrap_err();
    assert!(matches!(err, IsolateError::MemoryLimit { limit_bytes } if limit_bytes == limits.heap_max_bytes), "{err}");
    assert!(greedy.is_poisoned());
    assert!(matches!(greedy.eval_json("<test>", "1".into()), Err(IsolateError::MemoryLimit { .. })));
    drop(greedy);

    // The process carries on and a fresh isolate works.
    let mut next = Isolate::new(identity("globex"), limits, None, Default::default()).unwrap();
    assert_eq!(next.eval_json("<test>", "typeof keep".into()).unwrap(), json!("undefined"));
}

#[test]
fn building_an_isolate_outside_a_tokio_runtime_is_an_error_not_an_abort() {
    let err = Isolate::new(identity("acme"), IsolateLimits::default(), None, Default::default()).err().unwrap();
    assert!(matches!(err, IsolateError::NoAsyncRuntime), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn extension_code_sees_web_globals_and_no_deno_or_webassembly() {
    let mut isolate = Isolate::new(identity("acme"), IsolateLimits::default(), None, Default::default()).unwrap();
    let value = isolate
        .eval_json(
            "<test>",
            r#"
            const u = new URL("https://example.com:8443/a/b?x=1&y=two#frag");
            u.searchParams.append("z", "3 4");
            const h = new Headers({ "Content-Type": "text/plain" });
            h.append("X-Many", "a"); h.append("x-many", "b");
            const bytes = new TextEncoder().encode("héllo");
            const uuid = crypto.randomUUID();
            const random = crypto.getRandomValues(new Uint8Array(16));
            ({
              deno: typeof Deno, wasm: typeof WebAssembly, process: typeof process, fetch: typeof fetch,
              url: [u.hostname, u.port, u.pathname, u.searchParams.get("y"), u.href],
              headers: [h.get("content-type"), h.get("X-MANY")],
              text: [bytes.length, new TextDecoder().decode(bytes)],
              b64: [btoa("hi!"), atob("aGkh")],
              uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid),
              random: random.some((b) => b !== 0),
              clone: structuredClone({ a: [1, { b: 2 }] }),
              timers: [typeof setTimeout, typeof clearTimeout],
              response: new Response("x", { status: 201 }).status,
              more: [typeof queueMicrotask, typeof performance.now, typeof AbortController, typeof AbortSignal.timeout,
                     typeof EventTarget, typeof Event, typeof crypto.subtle.digest],
            })
            "#
            .into(),
        )
        .unwrap();
    assert_eq!(
        value,
        json!({
            "deno": "undefined", "wasm": "undefined", "process": "undefined", "fetch": "function",
            "url": ["example.com", "8443", "/a/b", "two", "https://example.com:8443/a/b?x=1&y=two&z=3+4#frag"],
            "headers": ["text/plain", "a, b"],
            "text": [6, "héllo"],
            "b64": ["aGkh", "hi!"],
            "uuid": true, "random": true,
            "clone": { "a": [1, { "b": 2 }] },
            "timers": ["function", "function"],
            "response": 201,
            "more": ["function", "function", "function", "function", "function", "function", "function"]
        })
    );
    let err = isolate.eval_json("<test>", "new URL('not a url')".into()).unwrap_err();
    assert!(err.to_string().contains("TypeError"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn an_infinite_loop_is_stopped_by_the_cpu_limit_not_wall_time() {
    let limits = IsolateLimits { cpu_hard: std::time::Duration::from_millis(100), ..Default::default() };
    let mut isolate = Isolate::new(identity("acme"), limits, None, Default::default()).unwrap();
    let started = std::time::Instant::now();
    let err = isolate.eval_json("<test>", "for (;;) {}".into()).unwrap_err();
    assert!(matches!(err, IsolateError::CpuLimit { limit_ms: 100 }), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(isolate.is_poisoned());
}

#[tokio::test(flavor = "current_thread")]
async fn array_buffer_memory_counts_against_a_budget() {
    let limits = IsolateLimits { array_buffer_max_bytes: 8 * 1024 * 1024, ..Default::default() };
    let mut isolate = Isolate::new(identity("acme"), limits, None, Default::default()).unwrap();
    let err =
        isolate.eval_json("<test>", "const keep = []; for (let i = 0; i < 1000; i++) keep.push(new ArrayBuffer(1 << 20)); 0".into()).unwrap_err();
    assert!(matches!(err, IsolateError::MemoryLimit { limit_bytes } if limit_bytes == 8 * 1024 * 1024), "{err}");
    assert!(isolate.array_buffer_bytes() <= 8 * 1024 * 1024);
}

#[tokio::test(flavor = "current_thread")]
async fn the_wall_clock_limit_stops_javascript_that_no_timer_could_interrupt() {
    // A generous CPU budget: only the watchdog's wall-clock deadline can end this loop, as
    // `eval_json` runs synchronously (no timer on this thread gets a chance to fire).
    let limits = IsolateLimits { cpu_hard: std::time::Duration::from_secs(30), wall: std::time::Duration::from_millis(200), ..Default::default() };
    let mut isolate = Isolate::new(identity("acme"), limits, None, Default::default()).unwrap();
    let started = std::time::Instant::now();
    let err = isolate.eval_json("<test>", "for (;;) {}".into()).unwrap_err();
    assert!(matches!(err, IsolateError::Timeout { limit_ms: 200 }), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "stopped after {:?}", started.elapsed());
    assert!(isolate.is_poisoned(), "an isolate stopped by a limit is never reused");
}

#[tokio::test(flavor = "current_thread")]
async fn atomics_wait_is_refused_instead_of_blocking() {
    let mut isolate = Isolate::new(identity("acme"), IsolateLimits::default(), None, Default::default()).unwrap();
    let started = std::time::Instant::now();
    let value = isolate
        .eval_json(
            "<test>",
            "const out = [typeof SharedArrayBuffer];\n\
             try { Atomics.wait(new Int32Array(4), 0, 0, 5000); out.push('returned'); } catch (e) { out.push(e.name); }\n\
             out"
            .into(),
        )
        .unwrap();
    assert_eq!(value, json!(["undefined", "TypeError"]));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[tokio::test(flavor = "current_thread")]
async fn a_thread_past_the_soft_cpu_limit_runs_at_the_lowest_priority() {
    let limits = IsolateLimits {
        cpu_soft: std::time::Duration::from_millis(20),
        cpu_hard: std::time::Duration::from_secs(30),
        wall: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    // SAFETY: getpriority/setpriority on the calling thread.
    let nice = || unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    assert_eq!(nice(), 0, "the test thread starts at normal priority");
    let mut isolate = Isolate::new(identity("acme"), limits, None, Default::default()).unwrap();
    isolate.eval_json("<test>", "1 + 1".into()).unwrap();
    assert_eq!(nice(), 0, "a short call keeps the priority");
    let _ = isolate.eval_json("<test>", "for (;;) {}".into());
    assert_eq!(nice(), alga_ext::isolate::limits::DEMOTED_NICE, "spinning past the soft limit demotes the thread");
    // Give this test thread its priority back (allowed as root, as in CI; harmless if not).
    unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 0) };
}
