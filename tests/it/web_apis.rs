//! What extension code gets besides storage: binary request and response bodies, the web
//! APIs (crypto, events, abort signals), and CPU time that counts running, not waiting.

use std::time::Duration;

use alga_ext::http::{app, AppState};
use alga_ext::isolate::IsolateLimits;
use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::dispatch::{install, send, state_with};
use crate::support::{admin_token, TestStore};

/// Handlers that take and give bytes.
const BINARY: &str = r#"
export function reverse(request) {
  const kind = request.body instanceof Uint8Array ? "Uint8Array" : typeof request.body;
  return new Response(request.body.slice().reverse(), { headers: { "x-kind": kind } });
}
export function raw() { return { body: new Uint8Array([0, 255, 128, 10]) }; }
export function bare() { return new Uint8Array([1, 2, 3]).buffer; }
export async function readBack() {
  const r = new Response(new Uint8Array([255, 0, 7]));
  const copy = r.clone();
  const bytes = [...new Uint8Array(await r.arrayBuffer())];
  return { body: { bytes, type: r.headers.get("content-type"), clone: [...(await copy.bytes())], used: [r.bodyUsed, copy.bodyUsed] } };
}
export function moved() { return Response.redirect("/elsewhere", 303); }
"#;

/// Sends `body` with `content_type`; answers the status, the `content-type`, `x-kind` and
/// `location` headers, and the body's bytes.
async fn send_bytes(state: &AppState, path: &str, content_type: &str, body: Vec<u8>) -> (u16, [Option<String>; 3], Vec<u8>) {
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", admin_token("acme")))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (status, headers) = (res.status().as_u16(), [header("content-type"), header("x-kind"), header("location")]);
    (status, headers, res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_bodies_reach_handlers_as_bytes_and_come_back_unchanged() {
    let db = TestStore::sqlite().await;
    let state = state_with(IsolateLimits::default(), &db);
    install(&state, "acme", "com.example.bytes", "1.0.0", BINARY, &["reverse", "raw", "bare", "readBack", "moved"]).await;
    let every_byte: Vec<u8> = (0..=255).collect();

    let (status, [content_type, kind, _], body) =
        send_bytes(&state, "/api/extensions/com.example.bytes/reverse", "application/octet-stream", every_byte.clone()).await;
    assert_eq!((status, content_type.as_deref(), kind.as_deref()), (200, Some("application/octet-stream"), Some("Uint8Array")));
    assert_eq!(body, every_byte.iter().rev().copied().collect::<Vec<u8>>());
    // Bytes that are not UTF-8 stay bytes whatever the declared type; valid UTF-8 of a
    // binary type too.
    let (_, [_, kind, _], body) = send_bytes(&state, "/api/extensions/com.example.bytes/reverse", "text/plain", vec![0xff, 0xfe, b'a']).await;
    assert_eq!((kind.as_deref(), body), (Some("Uint8Array"), vec![b'a', 0xfe, 0xff]));
    let (_, [_, kind, _], _) = send_bytes(&state, "/api/extensions/com.example.bytes/reverse", "image/png", b"PNG-ish".to_vec()).await;
    assert_eq!(kind.as_deref(), Some("Uint8Array"));

    let (status, [content_type, _, _], body) = send_bytes(&state, "/api/extensions/com.example.bytes/raw", "text/plain", Vec::new()).await;
    assert_eq!((status, content_type.as_deref(), body), (200, Some("application/octet-stream"), vec![0, 255, 128, 10]));
    let (_, [content_type, _, _], body) = send_bytes(&state, "/api/extensions/com.example.bytes/bare", "text/plain", Vec::new()).await;
    assert_eq!((content_type.as_deref(), body), (Some("application/octet-stream"), vec![1, 2, 3]));
    let (status, _, body) = send_bytes(&state, "/api/extensions/com.example.bytes/readBack", "text/plain", Vec::new()).await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, body),
        (200, json!({ "bytes": [255, 0, 7], "type": "application/octet-stream", "clone": [255, 0, 7], "used": [true, true] }))
    );
    let (status, [_, _, location], body) = send_bytes(&state, "/api/extensions/com.example.bytes/moved", "text/plain", Vec::new()).await;
    assert_eq!((status, location.as_deref(), body), (303, Some("/elsewhere"), Vec::new()));
}

/// Web APIs that answer asynchronously or need the event loop: `crypto.subtle`, abort
/// signals, events, `queueMicrotask`, `performance`.
const WEB_APIS: &str = r#"
const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
const text = (s) => new TextEncoder().encode(s);
const failure = async (promise) => { try { await promise; return "resolved"; } catch (e) { return e.name; } };
export async function webApis() {
  const subtle = crypto.subtle;
  const key = await subtle.importKey("raw", text("Jefe"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  const tag = await subtle.sign("HMAC", key, text("what do ya want for nothing?"));
  const generated = await subtle.generateKey({ name: "HMAC", hash: { name: "SHA-512" } }, true, ["sign"]);
  const signOnly = await subtle.importKey("raw", text("k"), { name: "HMAC", hash: "SHA-1" }, true, ["sign"]);
  const crypto_ = {
    sha256: hex(await subtle.digest("SHA-256", text("abc"))),
    sha1: hex(await subtle.digest({ name: "sha-1" }, text("abc"))),
    hmac: hex(tag),
    verified: await subtle.verify("HMAC", key, tag, text("what do ya want for nothing?")),
    tampered: await subtle.verify("HMAC", key, tag, text("what do ya want for nothing!")),
    generatedBytes: (await subtle.exportKey("raw", generated)).byteLength,
    keyInfo: [key.type, key.algorithm.name, key.algorithm.hash.name, key.extractable],
    notExtractable: await failure(subtle.exportKey("raw", key)),
    wrongUsage: await failure(subtle.verify("HMAC", signOnly, tag, text("x"))),
    md5: await failure(subtle.digest("MD5", text("abc"))),
    rsa: await failure(subtle.importKey("raw", text("k"), { name: "RSA-PSS" }, false, ["sign"])),
    notBytes: await failure(subtle.digest("SHA-256", "abc")),
  };

  const events = [];
  const controller = new AbortController();
  controller.signal.addEventListener("abort", () => events.push("listener"), { once: true });
  controller.signal.onabort = () => events.push("onabort");
  controller.signal.addEventListener("abort", () => { throw new Error("a listener that throws"); });
  controller.signal.addEventListener("abort", () => events.push("after the throw"));
  controller.abort("why");
  controller.abort("again");
  const timeout = AbortSignal.timeout(20);
  const timedOut = await new Promise((resolve) => timeout.addEventListener("abort", () => resolve(timeout.reason.name)));
  const target = new EventTarget();
  const removed = () => events.push("removed");
  target.addEventListener("ping", removed);
  target.removeEventListener("ping", removed);
  target.addEventListener("ping", (e) => e.preventDefault());
  const notCancelled = target.dispatchEvent(new Event("ping"));
  const cancelled = !target.dispatchEvent(new Event("ping", { cancelable: true }));

  const order = [];
  setTimeout(() => order.push("timer"), 0);
  // Cleared timers never fire (setTimeout answers a number, as on the web).
  const cleared = setTimeout(() => order.push("cleared timeout"), 1);
  clearTimeout(cleared);
  const interval = setInterval(() => order.push("cleared interval"), 1);
  clearInterval(interval);
  order.push(typeof cleared);
  queueMicrotask(() => order.push("microtask"));
  order.push("sync");
  await new Promise((resolve) => setTimeout(resolve, 5));
  const t0 = performance.now();
  const t1 = performance.now();
  return { body: {
    crypto: crypto_,
    abort: { aborted: controller.signal.aborted, reason: controller.signal.reason, events, timedOut,
             already: AbortSignal.abort().reason.name, anyAborted: AbortSignal.any([new AbortController().signal, controller.signal]).aborted },
    events: { notCancelled, cancelled },
    order,
    performance: typeof t0 === "number" && t1 >= t0 && t0 >= 0 && performance.timeOrigin > 1.7e12,
  } };
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_crypto_events_and_abort_signals_work_in_handlers() {
    let db = TestStore::sqlite().await;
    let state = state_with(IsolateLimits::default(), &db);
    install(&state, "acme", "com.example.web", "1.0.0", WEB_APIS, &["webApis"]).await;
    let (status, _, body) = send(&state, Method::GET, "/api/extensions/com.example.web/webApis", &admin_token("acme"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "crypto": {
                "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
                // RFC 4231, test case 2.
                "hmac": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                "verified": true, "tampered": false, "generatedBytes": 128,
                "keyInfo": ["secret", "HMAC", "SHA-256", false],
                "notExtractable": "InvalidAccessError", "wrongUsage": "InvalidAccessError",
                "md5": "NotSupportedError", "rsa": "NotSupportedError", "notBytes": "TypeError"
            },
            "abort": {
                "aborted": true, "reason": "why", "events": ["onabort", "listener", "after the throw"],
                "timedOut": "TimeoutError", "already": "AbortError", "anyAborted": true
            },
            "events": { "notCancelled": true, "cancelled": true },
            "order": ["number", "sync", "microtask", "timer"],
            "performance": true
        })
    );
}

/// Handlers that wait, spin on the CPU for a while, or for ever; `count` tells whether the
/// isolate is still the same one (module state restarts in a fresh isolate).
const CLOCK: &str = r#"
let calls = 0;
export function count() { calls += 1; return { body: { calls } }; }
function spin(ms) { const end = Date.now() + ms; while (Date.now() < end) {} }
export function spin120() { spin(120); return { body: { spun: true } }; }
export async function spinLater() { await null; spin(120); return { body: { spun: true } }; }
export function spinForever() { spin(60000); return {}; }
export async function wait() { await new Promise((resolve) => setTimeout(resolve, 600)); return { body: { waited: true } }; }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_limits_count_running_javascript_not_waiting() {
    let db = TestStore::sqlite().await;
    let limits = IsolateLimits { cpu_soft: Duration::from_millis(20), cpu_hard: Duration::from_millis(300), ..Default::default() };
    let state = state_with(limits, &db);
    install(&state, "acme", "com.example.clock", "1.0.0", CLOCK, &["count", "spin120", "spinLater", "spinForever", "wait"]).await;
    let admin = admin_token("acme");
    let get = |name: &str| {
        let (state, admin, path) = (state.clone(), admin.clone(), format!("/api/extensions/com.example.clock/{name}"));
        async move { send(&state, Method::GET, &path, &admin, None).await }
    };
    let calls = |(_, _, body): (u16, Option<String>, Value)| body["calls"].as_i64().unwrap();

    assert_eq!(calls(get("count").await), 1);
    // Twice the hard limit in wall time, almost none of it on the CPU: neither limit is hit.
    let (status, _, body) = get("wait").await;
    assert_eq!((status, body), (200, json!({ "waited": true })));
    assert_eq!(calls(get("count").await), 2, "waiting must not retire the isolate");

    // Past the soft limit, under the hard one: answered, then the isolate is replaced.
    assert_eq!(get("spin120").await.0, 200);
    assert_eq!(calls(get("count").await), 1, "the isolate that passed the soft limit was retired");
    assert_eq!(get("spinLater").await.0, 200, "CPU after an await counts too");
    assert_eq!(calls(get("count").await), 1);

    let started = std::time::Instant::now();
    let (status, _, body) = get("spinForever").await;
    assert_eq!((status, body["error"]["code"].as_str()), (500, Some("EXTENSION_CPU_LIMIT")), "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "stopped by the CPU limit: {:?}", started.elapsed());
    assert_eq!(calls(get("count").await), 1, "a fresh isolate answers after the terminated one");
}
