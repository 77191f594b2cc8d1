//! The HTTP layer against hostile clients and extensions: response headers and statuses,
//! connection timeouts and cap, decoding once, token claims, the error shape, admin limits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alga_ext::auth::TokenKeys;
use alga_ext::http::{app, AppState};
use alga_ext::registry::Registry;
use alga_ext::serve::{serve_with, ServeOptions};
use axum::body::Body;
use axum::http::{header, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::archives::{self, Entry};
use crate::dispatch::install_zip;
use crate::support::{admin_token, TestStore, SECRET};

/// Runs the server on an ephemeral port; dropping the sender shuts it down.
pub(crate) async fn spawn(router: axum::Router, options: ServeOptions) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_with(
        listener,
        router,
        async move {
            let _ = stop_rx.await;
        },
        options,
    ));
    (addr, stop_tx)
}

fn options(header_timeout: Duration, idle_timeout: Duration, max_connections: usize) -> ServeOptions {
    ServeOptions { header_timeout, idle_timeout, max_connections, grace: Duration::from_secs(1), ..ServeOptions::default() }
}

/// Sends `req` in-process; answers status and JSON body (or the text as a JSON string).
async fn oneshot(state: &AppState, req: Request<Body>) -> (u16, Value) {
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())))
}

fn get(path: &str, token: &str) -> Request<Body> {
    Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!((status, body["error"]["code"].as_str()), (want_status, Some(code)), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["error"].get("details").is_some(), "{body}");
}

/// A bundle whose `index.js` exports `handlers`, each routed as `GET /<handler>`, plus
/// `extra` endpoints.
fn bundle(key: &str, version: &str, index_js: &str, handlers: &[&str], extra: &[Value]) -> Vec<u8> {
    let mut endpoints: Vec<Value> = handlers.iter().map(|h| json!({ "method": "GET", "path": format!("/{h}"), "handler": h })).collect();
    endpoints.extend(extra.iter().cloned());
    let manifest = json!({
        "id": key, "name": format!("Ext {key}"), "version": version, "main": "index.js",
        "extensionPoints": { "endpoints": endpoints },
    });
    archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", index_js.as_bytes().to_vec())])
}

const HOSTILE: &str = r#"
export function badHeaders() {
  return { status: 200, headers: [
    ["Connection", "close, x-custom"], ["Upgrade", "websocket"], ["Keep-Alive", "timeout=999"],
    ["Transfer-Encoding", "chunked"], ["TE", "trailers"], ["Trailer", "x-t"], ["Proxy-Authenticate", "Basic"],
    ["Content-Length", "999"], ["Server", "evil"],
    ["Set-Cookie", "sid=evil; Domain=bank.example; Path=/"], ["Set-Cookie", "ok=1; Path=/; HttpOnly"],
    ["Strict-Transport-Security", "max-age=0"], ["Access-Control-Allow-Origin", "*"],
    ["Access-Control-Allow-Credentials", "true"], ["Content-Security-Policy", "default-src *"],
    ["X-Frame-Options", "ALLOWALL"], ["X-Content-Type-Options", "none"], ["Permissions-Policy", "camera=*"],
    ["Cross-Origin-Opener-Policy", "unsafe-none"], ["X-Injected", "a\r\nSet-Cookie: x=1"], ["X-Tab", "a\tb"],
    ["X-Custom", "kept"], ["Cache-Control", "no-store"],
  ], body: "hello" };
}
// The attack from the issue: the dispatcher's answer is forged by replacing JSON.stringify
// (which the dispatcher no longer uses: it keeps its own copy).
export function forged(request) {
  const real = JSON.stringify;
  const status = Number(request.query.status);
  JSON.stringify = function (value, ...rest) {
    if (value && typeof value === "object" && "status" in value && "headers" in value) {
      JSON.stringify = real;
      return real({ status, headers: [["upgrade", "websocket"], ["connection", "upgrade"]], body: null });
    }
    return real.call(this, value, ...rest);
  };
  return { body: "fine" };
}
export function secret() { return { body: { secret: true } }; }
export function file(request) { return { body: { params: request.params, path: request.path } }; }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extension_responses_cannot_set_connection_or_host_owned_headers_or_interim_statuses() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    install_zip(&state, "acme", bundle("com.example.hostile", "1.0.0", HOSTILE, &["badHeaders", "forged", "secret"], &[])).await;
    let (addr, _stop) = spawn(app(state), ServeOptions::default()).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}/api/extensions/com.example.hostile/{path}");

    let res = client.get(url("badHeaders")).bearer_auth(admin_token("acme")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    let names: Vec<&str> = headers.keys().map(|n| n.as_str()).collect();
    for refused in [
        "connection",
        "upgrade",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "proxy-authenticate",
        "server",
        "strict-transport-security",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
        "permissions-policy",
        "cross-origin-opener-policy",
        "x-injected",
        "x-tab",
    ] {
        assert!(!names.contains(&refused), "{refused} reached the client: {headers:?}");
    }
    let cookies: Vec<&str> = headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies, ["ok=1; Path=/; HttpOnly"]);
    assert_eq!(headers["x-custom"], "kept");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-length"], "5", "computed by the server");
    assert_eq!(res.text().await.unwrap(), "hello");

    // The dispatcher keeps its own JSON, so the forgery never reaches Rust; had it, Rust would
    // have answered 502 (`response_headers::tests::only_final_statuses_are_sent`).
    for status in [101, 103, 199, 600, 99] {
        let res = client.get(url(&format!("forged?status={status}"))).bearer_auth(admin_token("acme")).send().await.unwrap();
        assert_eq!(res.status(), 200, "status {status}");
        assert!(res.headers().get(header::UPGRADE).is_none());
        assert_eq!(res.text().await.unwrap(), "fine");
    }
    // The connection stayed HTTP: the same client goes on.
    let res = client.get(url("secret")).bearer_auth(admin_token("acme")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_paths_are_decoded_once_whatever_the_spelling_of_the_extension_id() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let file = json!({ "method": "GET", "path": "/files/:name", "handler": "file" });
    install_zip(&state, "acme", bundle("com.example.paths", "1.0.0", HOSTILE, &["secret"], &[file])).await;
    let admin = admin_token("acme");
    for id in ["com.example.paths", "com%2Eexample.paths", "%63om.example.paths"] {
        let (status, body) = oneshot(&state, get(&format!("/api/extensions/{id}/files/%252e%252e"), &admin)).await;
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(body["params"]["name"], "%2e%2e", "{id}: decoded once, never to `..`");
        assert_eq!(body["path"], "/files/%252e%252e", "{id}");
        let (status, body) = oneshot(&state, get(&format!("/api/extensions/{id}/%73ecret"), &admin)).await;
        assert_error(status, &body, 404, "NOT_FOUND");
        assert_eq!(oneshot(&state, get(&format!("/api/extensions/{id}/secret"), &admin)).await.0, 200, "{id}");
        // A slash encoded in a parameter stays inside it.
        let (status, body) = oneshot(&state, get(&format!("/api/extensions/{id}/files/a%2Fb"), &admin)).await;
        assert_eq!((status, &body["params"]["name"]), (200, &json!("a/b")), "{id}: {body}");
    }
}

fn sign(claims: Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).unwrap()
}

#[tokio::test]
async fn token_claims_are_checked_and_never_echoed() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let now = chrono::Utc::now().timestamp();
    let (status, body) = oneshot(&state, get("/v1/me", &sign(json!({ "tenant": "acme", "sub": "a", "exp": now + 600, "nbf": now + 300 })))).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");
    let (status, _) = oneshot(&state, get("/v1/me", &sign(json!({ "tenant": "acme", "sub": "a", "exp": now + 600, "nbf": now - 5 })))).await;
    assert_eq!(status, 200);

    let huge = "t".repeat(10 * 1024);
    for claims in [
        json!({ "tenant": huge, "sub": "a", "exp": now + 600 }),
        json!({ "tenant": "acme", "sub": huge, "exp": now + 600 }),
        json!({ "tenant": "acme", "sub": "alice\n2030-01-01T00:00:00Z  INFO forged line", "exp": now + 600 }),
        json!({ "tenant": "acme", "sub": "a", "roles": huge, "exp": now + 600 }),
    ] {
        let res = app(state.clone()).oneshot(get("/v1/me", &sign(claims.clone()))).await.unwrap();
        assert_eq!(res.status(), 401, "{claims}");
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        assert!(bytes.len() < 512 && !String::from_utf8_lossy(&bytes).contains("tttttttt"), "{}", String::from_utf8_lossy(&bytes));
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_error(401, &body, 401, "INVALID_TOKEN");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_has_the_json_shape() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let admin = admin_token("acme");
    let id = install_zip(
        &state,
        "acme",
        bundle("com.example.shape", "1.0.0", HOSTILE, &["secret"], &[json!({ "method": "POST", "path": "/in", "handler": "secret" })]),
    )
    .await;

    // Routing: an unknown method of a known route.
    let res = app(state.clone()).oneshot(Request::put("/healthz").body(Body::empty()).unwrap()).await.unwrap();
    assert!(res.headers().get(header::ALLOW).is_some(), "the Allow header is kept");
    let status = res.status().as_u16();
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_error(status, &body, 405, "METHOD_NOT_ALLOWED");
    let (status, body) = oneshot(&state, get("/nowhere", &admin)).await;
    assert_error(status, &body, 404, "NOT_FOUND");

    // Bodies over the limits: an endpoint's, and one buffered by an axum extractor.
    let big = vec![b'x'; 3 * 1024 * 1024];
    let post = |path: String, body: Vec<u8>, content_type: &str| {
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let (status, body) = oneshot(&state, post("/api/extensions/com.example.shape/in".into(), big.clone(), "text/plain")).await;
    assert_error(status, &body, 413, "BODY_TOO_LARGE");
    let (status, body) = oneshot(&state, post(format!("/admin/v1/extensions/{id}/approve"), big.clone(), "application/json")).await;
    assert_error(status, &body, 413, "BODY_TOO_LARGE");
    let (status, body) = oneshot(
        &state,
        Request::put(format!("/admin/v1/extensions/{id}/settings"))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(big))
            .unwrap(),
    )
    .await;
    assert_error(status, &body, 413, "BODY_TOO_LARGE");

    // Extractor rejections: JSON, path, query.
    let bad_json = Request::put(format!("/admin/v1/extensions/{id}/settings"))
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{nope"))
        .unwrap();
    let (status, body) = oneshot(&state, bad_json).await;
    assert_error(status, &body, 400, "INVALID_JSON");
    let (status, body) = oneshot(&state, get("/admin/v1/extensions/%FF%FE", &admin)).await;
    assert_error(status, &body, 400, "INVALID_ARGUMENT");
    let (status, body) = oneshot(&state, get("/api/extensions/%FF/x", &admin)).await;
    assert_error(status, &body, 400, "INVALID_ARGUMENT");
    let (status, body) = oneshot(&state, get("/admin/v1/extensions?force=maybe&colour=1", &admin)).await;
    assert_error(status, &body, 400, "INVALID_ARGUMENT");
}

/// Reads one HTTP/1.1 response (headers and a `content-length` body) off a raw socket.
pub(crate) async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return text;
            }
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-response: {text}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Waits for the server to close the connection; answers how long that took.
pub(crate) async fn closed_after(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut byte = [0u8; 1];
    match tokio::time::timeout(limit, stream.read(&mut byte)).await {
        Ok(Ok(0)) | Ok(Err(_)) => started.elapsed(),
        Ok(Ok(_)) => panic!("unexpected bytes from the server"),
        Err(_) => panic!("the connection was still open after {limit:?}"),
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";

#[tokio::test]
async fn slow_header_clients_are_cut_off_after_the_header_timeout() {
    let db = TestStore::sqlite().await;
    let (addr, _stop) = spawn(app(db.app_state()), options(Duration::from_millis(300), Duration::from_secs(30), 100)).await;

    // Half a request line, then nothing.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /heal").await.unwrap();
    let took = closed_after(&mut slow, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(250), "{took:?}");
    // Connecting and sending nothing at all is the same.
    let mut mute = TcpStream::connect(addr).await.unwrap();
    closed_after(&mut mute, Duration::from_secs(5)).await;

    // A keep-alive connection's next request has the header timeout from its first byte,
    // not from the end of the previous response.
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut client).await.starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    client.write_all(b"GET /hea").await.unwrap();
    let took = closed_after(&mut client, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(250), "{took:?}");
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_but_slow_requests_are_not() {
    let db = TestStore::sqlite().await;
    let router = app(db.app_state()).route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            "done"
        }),
    );
    let (addr, _stop) = spawn(router, options(Duration::from_secs(30), Duration::from_millis(300), 100)).await;

    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let response = read_response(&mut client).await;
    assert!(response.starts_with("HTTP/1.1 200") && response.ends_with("done"), "in flight is not idle: {response}");
    client.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut client).await.starts_with("HTTP/1.1 200"), "kept alive between requests");
    let took = closed_after(&mut client, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(250), "{took:?}");
}

#[tokio::test]
async fn at_the_connection_cap_new_clients_wait_instead_of_failing() {
    let db = TestStore::sqlite().await;
    let (addr, _stop) = spawn(app(db.app_state()), options(Duration::from_secs(30), Duration::from_secs(30), 2)).await;

    // Two served, now idle, keep-alive connections fill the cap.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(HEALTHZ).await.unwrap();
        assert!(read_response(&mut conn).await.starts_with("HTTP/1.1 200"));
        held.push(conn);
    }
    // A third connects (the kernel's backlog takes it) but is not served...
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await.is_err(), "served beyond the cap");
    // ...until one of the others closes.
    drop(held.pop());
    let response = tokio::time::timeout(Duration::from_secs(5), read_response(&mut third)).await.expect("served once a slot freed");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

async fn upload(state: &AppState, tenant: &str, zip: Vec<u8>) -> (u16, Value) {
    let req = Request::post("/admin/v1/extensions")
        .header(header::AUTHORIZATION, format!("Bearer {}", admin_token(tenant)))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(zip))
        .unwrap();
    oneshot(state, req).await
}

fn keys(body: &Value) -> Vec<String> {
    body["extensions"].as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap().to_owned()).collect()
}

/// Follows `nextCursor` from `first` to the end; answers every key in order and the pages seen.
async fn all_pages(state: &AppState, first: &str) -> (Vec<String>, usize) {
    let (mut found, mut pages, mut path) = (Vec::new(), 0, first.to_owned());
    loop {
        let (status, body) = oneshot(state, get(&path, &admin_token("acme"))).await;
        assert_eq!(status, 200, "{path}: {body}");
        found.extend(keys(&body));
        pages += 1;
        match body["nextCursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => return (found, pages),
        }
    }
}

async fn admin_list_is_paginated_and_installs_are_capped(db: TestStore) {
    let registry = Registry::new(db.store.clone(), Default::default()).with_max_extensions_per_tenant(5);
    let state = AppState::new(Arc::new(registry), TokenKeys::from_secret(SECRET.as_bytes()), vec!["admin".into()]);
    for key in ["com.e.delta", "com.e.alpha", "com.e.echo", "com.e.charlie", "com.e.bravo"] {
        let (status, body) = upload(&state, "acme", bundle(key, "1.0.0", HOSTILE, &["secret"], &[])).await;
        assert_eq!(status, 201, "{body}");
    }
    // The cap: a sixth new extension is refused, an update of an installed one is not,
    // and other tenants have caps of their own.
    let (status, body) = upload(&state, "acme", bundle("com.e.foxtrot", "1.0.0", HOSTILE, &["secret"], &[])).await;
    assert_error(status, &body, 409, "EXTENSION_LIMIT");
    assert_eq!(body["error"]["details"]["maxExtensions"], 5);
    assert_eq!(upload(&state, "acme", bundle("com.e.alpha", "2.0.0", HOSTILE, &["secret"], &[])).await.0, 201);
    assert_eq!(upload(&state, "globex", bundle("com.e.foxtrot", "1.0.0", HOSTILE, &["secret"], &[])).await.0, 201);

    let everything = ["com.e.alpha", "com.e.bravo", "com.e.charlie", "com.e.delta", "com.e.echo"];
    let (status, body) = oneshot(&state, get("/admin/v1/extensions", &admin_token("acme"))).await;
    assert_eq!((status, keys(&body), &body["nextCursor"]), (200, everything.map(String::from).to_vec(), &Value::Null), "{body}");
    assert!(body["extensions"][0]["id"].is_string() && body["extensions"][0]["status"].is_string(), "items keep their fields: {body}");

    let (found, pages) = all_pages(&state, "/admin/v1/extensions?limit=2").await;
    assert_eq!((found, pages), (everything.map(String::from).to_vec(), 3));
    let (found, _) = all_pages(&state, "/admin/v1/extensions?limit=2&sort=-name").await;
    assert_eq!(found, everything.iter().rev().map(|k| k.to_string()).collect::<Vec<_>>());
    let (found, pages) = all_pages(&state, "/admin/v1/extensions?limit=1&sort=createdAt").await;
    assert_eq!((found, pages), (["com.e.delta", "com.e.alpha", "com.e.echo", "com.e.charlie", "com.e.bravo"].map(String::from).to_vec(), 5));
    let (mut found, pages) = all_pages(&state, "/admin/v1/extensions?limit=3&sort=-updatedAt").await;
    found.sort();
    assert_eq!((found, pages), (everything.map(String::from).to_vec(), 2));

    let admin = admin_token("acme");
    for (query, field) in [("limit=0", "limit"), ("limit=201", "limit"), ("limit=abc", "limit"), ("cursor=abc", "cursor"), ("cursor=", "cursor")] {
        let (status, body) = oneshot(&state, get(&format!("/admin/v1/extensions?{query}"), &admin)).await;
        assert_error(status, &body, 400, "VALIDATION_FAILED");
        assert_eq!(body["error"]["details"]["field"], field, "{query}");
    }
    // A cursor made for one sort is no good for another.
    let (_, body) = oneshot(&state, get("/admin/v1/extensions?limit=1", &admin)).await;
    let cursor = body["nextCursor"].as_str().unwrap();
    let (status, body) = oneshot(&state, get(&format!("/admin/v1/extensions?limit=1&sort=createdAt&cursor={cursor}"), &admin)).await;
    assert_error(status, &body, 400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn admin_list_is_paginated_and_installs_are_capped_on_sqlite() {
    admin_list_is_paginated_and_installs_are_capped(TestStore::sqlite().await).await;
}

#[tokio::test]
async fn admin_list_is_paginated_and_installs_are_capped_on_postgres() {
    admin_list_is_paginated_and_installs_are_capped(TestStore::postgres().await).await;
}

#[test]
fn connection_flags_have_env_fallbacks_and_defaults() {
    use clap::Parser;
    let cli = alga_ext::cli::Cli::try_parse_from(["alga-ext", "serve"]).unwrap();
    let alga_ext::cli::Command::Serve(args) = cli.command else { panic!("expected serve") };
    assert_eq!(args.http.http_header_timeout, Duration::from_secs(10));
    assert_eq!(args.http.http_idle_timeout, Duration::from_secs(60));
    assert_eq!(args.http.max_connections, None);
    assert_eq!(args.http.max_extensions_per_tenant, 100);
    assert!(alga_ext::cli::Cli::try_parse_from(["alga-ext", "serve", "--http-idle-timeout", "0s"]).is_err());
}
