//! Extensions' outbound `fetch()` against a real local server: only granted hosts, each
//! redirect hop re-checked, size and time caps, reserved headers refused, and no private or
//! loopback address unless the operator allows it — by literal IP or through a name.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alga_ext::http::AppState;
use alga_ext::registry::Registry;
use alga_ops::fetch::{FetchClient, FetchConfig};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde_json::{json, Value};

use crate::archives::{self, Entry};
use crate::dispatch::{install_zip, send};
use crate::support::{admin_token, TestStore, SECRET};

/// The handler fetches what the request body says and reports the outcome as data.
const SOURCE: &str = r#"
export async function go(request) {
  const { url, init } = request.body;
  try {
    const response = await fetch(url, init);
    const text = await response.text();
    return { body: { status: response.status, text, redirected: response.redirected, url: response.url,
      type: response.headers.get("content-type") } };
  } catch (err) {
    return { body: { error: err.code ?? null, name: err.name, message: String(err.message), isTypeError: err instanceof TypeError } };
  }
}
"#;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MOST_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// A stand-in for an outside API on a loopback port.
async fn outside_server() -> (String, u16) {
    let app = axum::Router::new()
        .route("/hello", get(|| async { axum::Json(json!({ "hello": "outside" })) }))
        .route(
            "/echo",
            post(|headers: axum::http::HeaderMap, body: String| async move {
                axum::Json(json!({ "body": body, "key": headers.get("x-api-key").and_then(|v| v.to_str().ok()) }))
            }),
        )
        .route("/big", get(|| async { "x".repeat(64 * 1024) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/to-hello", get(|| async { Redirect::to("/hello") }))
        .route("/loop", get(|| async { Redirect::to("/loop") }))
        .route("/away", get(|| async { Redirect::to("http://127.0.0.2:9/elsewhere").into_response() }))
        .route(
            "/held",
            get(|| async {
                // Counts the requests in flight at once, and the most seen.
                let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
                MOST_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(150)).await;
                IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
                "held"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}"), port)
}

fn state(db: &TestStore, allow_private: bool) -> AppState {
    let config = FetchConfig { timeout: Duration::from_millis(1500), max_request_bytes: 1024, max_response_bytes: 16 * 1024, allow_private };
    let registry = Registry::new(db.store.clone(), Default::default()).with_fetch(FetchClient::new(config).unwrap());
    AppState::new(Arc::new(registry), alga_ext::auth::TokenKeys::from_secret(SECRET.as_bytes()), vec!["admin".into()])
}

fn bundle(key: &str, permissions: &[String]) -> Vec<u8> {
    let manifest = json!({
        "id": key, "name": key, "version": "1.0.0", "main": "index.js",
        "permissions": permissions,
        "extensionPoints": { "endpoints": [{ "method": "POST", "path": "/go", "handler": "go" }] }
    });
    archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", SOURCE.as_bytes().to_vec())])
}

async fn go(state: &AppState, key: &str, url: String, init: Value) -> Value {
    let (status, _, body) =
        send(state, Method::POST, &format!("/api/extensions/{key}/go"), &admin_token("acme"), Some(json!({ "url": url, "init": init }))).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_reaches_granted_hosts_only_within_its_caps() {
    let (base, port) = outside_server().await;
    let db = TestStore::sqlite().await;
    let state = state(&db, true);
    let key = "com.example.fetcher";
    install_zip(&state, "acme", bundle(key, &[format!("fetch:127.0.0.1:{port}")])).await;

    let answer = go(&state, key, format!("{base}/hello"), json!({})).await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["text"], r#"{"hello":"outside"}"#);
    assert_eq!(answer["type"], "application/json");
    let answer = go(&state, key, format!("{base}/echo"), json!({ "method": "POST", "body": "ping", "headers": { "x-api-key": "k1" } })).await;
    assert_eq!(serde_json::from_str::<Value>(answer["text"].as_str().unwrap()).unwrap(), json!({ "body": "ping", "key": "k1" }));
    // A redirect on the same granted origin is followed; the answer says so.
    let answer = go(&state, key, format!("{base}/to-hello"), json!({})).await;
    assert_eq!((answer["status"].clone(), answer["redirected"].clone()), (json!(200), json!(true)), "{answer}");
    assert_eq!(answer["url"], format!("{base}/hello"));
    let answer = go(&state, key, format!("{base}/to-hello"), json!({ "redirect": "manual" })).await;
    assert_eq!(answer["status"], 303, "manual redirects are handed back: {answer}");

    let refused = |answer: &Value, code: &str| {
        assert_eq!(answer["error"], code, "{answer}");
        assert_eq!((answer["name"].as_str(), answer["isTypeError"].as_bool()), (Some("FetchError"), Some(true)), "{answer}");
    };
    refused(&go(&state, key, "http://127.0.0.1:9/x".into(), json!({})).await, "HOST_NOT_ALLOWED");
    refused(&go(&state, key, format!("{base}/away"), json!({})).await, "REDIRECT_REFUSED");
    refused(&go(&state, key, format!("{base}/loop"), json!({})).await, "REDIRECT_REFUSED");
    refused(&go(&state, key, format!("{base}/to-hello"), json!({ "redirect": "error" })).await, "REDIRECT_REFUSED");
    refused(&go(&state, key, format!("{base}/big"), json!({})).await, "RESPONSE_TOO_LARGE");
    refused(&go(&state, key, format!("{base}/echo"), json!({ "method": "POST", "body": "x".repeat(2048) })).await, "REQUEST_TOO_LARGE");
    refused(&go(&state, key, format!("{base}/slow"), json!({})).await, "TIMEOUT");
    refused(&go(&state, key, format!("{base}/hello"), json!({ "headers": { "host": "evil.example" } })).await, "INVALID_ARGUMENT");
    refused(&go(&state, key, "file:///etc/passwd".into(), json!({})).await, "INVALID_ARGUMENT");
    let answer = go(&state, key, format!("{base}/hello"), json!({ "body": "x" })).await;
    assert!(answer["message"].as_str().unwrap().contains("cannot have a body"), "{answer}");

    // Many requests at once from one isolate wait their turn: at most 8 in flight.
    let many = "export async function go(request) { const { url } = request.body; \
        const all = await Promise.all(Array.from({ length: 20 }, () => fetch(url).then((r) => r.text()))); \
        return { body: { done: all.filter((t) => t === 'held').length } }; }";
    let manifest = json!({
        "id": "com.example.many", "name": "Many", "version": "1.0.0", "main": "index.js",
        "permissions": [format!("fetch:127.0.0.1:{port}")],
        "extensionPoints": { "endpoints": [{ "method": "POST", "path": "/go", "handler": "go" }] }
    });
    let zip =
        archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", many.as_bytes().to_vec())]);
    install_zip(&state, "acme", zip).await;
    let answer = go(&state, "com.example.many", format!("{base}/held"), json!({})).await;
    assert_eq!(answer["done"], 20, "{answer}");
    let most = MOST_IN_FLIGHT.load(Ordering::SeqCst);
    assert!((2..=alga_ops::fetch::PER_ISOLATE_IN_FLIGHT).contains(&most), "{most} requests in flight at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_and_ungranted_hosts_are_refused_before_connecting() {
    let (base, port) = outside_server().await;
    let db = TestStore::sqlite().await;
    // The operator did not allow private addresses: loopback is refused by literal IP and
    // through a name that resolves to it, though both are listed and granted.
    let strict = state(&db, false);
    let key = "com.example.strict";
    install_zip(&strict, "acme", bundle(key, &[format!("fetch:127.0.0.1:{port}"), format!("fetch:localhost:{port}")])).await;
    let answer = go(&strict, key, format!("{base}/hello"), json!({})).await;
    assert_eq!(answer["error"], "ADDRESS_REFUSED", "{answer}");
    let answer = go(&strict, key, format!("http://localhost:{port}/hello"), json!({})).await;
    assert_eq!(answer["error"], "ADDRESS_REFUSED", "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("localhost resolves only to private"), "{answer}");

    // Listed but not granted: the admin approved fewer capabilities than asked.
    let open = state(&db, true);
    let key = "com.example.ungranted";
    let admin = admin_token("acme");
    let req = axum::http::Request::post("/admin/v1/extensions")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/zip")
        .body(axum::body::Body::from(bundle(key, &[format!("fetch:127.0.0.1:{port}")])))
        .unwrap();
    let res = tower::ServiceExt::oneshot(alga_ext::http::app(open.clone()), req).await.unwrap();
    assert_eq!(res.status(), 201);
    let (status, _, body) =
        send(&open, Method::POST, &format!("/admin/v1/extensions/{key}/approve"), &admin, Some(json!({ "permissions": [], "enable": true }))).await;
    assert_eq!(status, 200, "{body}");
    let (_, _, detail) = send(&open, Method::GET, &format!("/admin/v1/extensions/{key}"), &admin, None).await;
    let review = detail["review"]["capabilities"][0]["description"].as_str().unwrap().to_owned();
    assert_eq!(review, format!("send requests with fetch() to 127.0.0.1:{port}, outside the host app"));
    let answer = go(&open, key, format!("{base}/hello"), json!({})).await;
    assert_eq!(answer["error"], "HOST_NOT_ALLOWED", "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("granted: none"), "{answer}");

    // A malformed host is refused at upload, with its pointer.
    let req = axum::http::Request::post("/admin/v1/extensions")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/zip")
        .body(axum::body::Body::from(bundle("com.example.badhost", &["fetch:API.example.com".into()])))
        .unwrap();
    let res = tower::ServiceExt::oneshot(alga_ext::http::app(open.clone()), req).await.unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = serde_json::from_slice(&http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["details"]["problems"][0]["pointer"], "/permissions/0", "{body}");
    assert!(body["error"]["details"]["problems"][0]["message"].as_str().unwrap().contains("lowercase"), "{body}");
}
