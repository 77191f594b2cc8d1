//! Limits of the host-facing routes over real HTTP: the per-tenant rate limit, endpoint body
//! limits (default, per-extension override, ceiling; declared and chunked), request header
//! size and count, and slow-header clients.

use std::time::{Duration, Instant};

use alga_ext::http::{app, HostGuards};
use alga_ext::rate_limit::TenantRateLimit;
use alga_ext::serve::ServeOptions;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::archives::{self, Entry};
use crate::dispatch::install_zip;
use crate::http_hardening::{closed_after, read_response, spawn};
use crate::support::{admin_token, user_token, TestStore};

const KEY: &str = "com.example.limits";

/// `echo` answers the size of the body it got and how often it ran; `calls` only the count,
/// so a test can tell whether a refused request reached the isolate.
const INDEX_JS: &str = r#"
let calls = 0;
export function echo(request) {
  calls += 1;
  const body = request.body;
  return { body: { size: typeof body === "string" ? body.length : 0, calls } };
}
export function count() { return { body: { calls } }; }
"#;

fn bundle() -> Vec<u8> {
    let manifest = json!({
        "id": KEY, "name": "Limits", "version": "1.0.0", "main": "index.js",
        "extensionPoints": { "endpoints": [
            { "method": "POST", "path": "/echo", "handler": "echo" },
            { "method": "GET", "path": "/calls", "handler": "count" },
        ] },
    });
    archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", INDEX_JS.as_bytes().to_vec())])
}

async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!((status, body["error"]["code"].as_str()), (want_status, Some(code)), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_has_its_own_rate_limit_with_retry_after() {
    let db = TestStore::sqlite().await;
    // One request per second refills too slowly to matter here: each tenant gets its burst of 3.
    let guards = HostGuards { rate_limit: TenantRateLimit::new(1, 3), ..Default::default() };
    let state = db.app_state().with_guards(guards);
    install_zip(&state, "acme", bundle()).await;
    let (addr, _stop) = spawn(app(state), ServeOptions::default()).await;
    let client = reqwest::Client::new();
    let me = |token: String| client.get(format!("http://{addr}/v1/me")).bearer_auth(token).send();

    // A request without a valid token is refused before it costs the tenant anything.
    assert_eq!(client.get(format!("http://{addr}/v1/me")).send().await.unwrap().status(), 401);
    assert_eq!(me(admin_token("acme")).await.unwrap().status(), 200);
    assert_eq!(me(user_token("acme", "bob", &["technician"])).await.unwrap().status(), 200, "users of a tenant share its bucket");
    let calls = client.get(format!("http://{addr}/api/extensions/{KEY}/calls")).bearer_auth(admin_token("acme")).send().await.unwrap();
    assert_eq!(calls.status(), 200, "extension endpoints draw from the same bucket");

    // Every host-facing route answers 429 now: the UI descriptors too.
    let ui = |path: &str| client.get(format!("http://{addr}/api/ui/{path}")).bearer_auth(admin_token("acme")).send();
    for res in [
        me(admin_token("acme")).await.unwrap(),
        client.get(format!("http://{addr}/api/extensions/{KEY}/calls")).bearer_auth(admin_token("acme")).send().await.unwrap(),
        ui("navigation").await.unwrap(),
        ui("dashboard").await.unwrap(),
    ] {
        let retry_after: u64 = res.headers()["retry-after"].to_str().unwrap().parse().expect("whole seconds");
        assert!(retry_after >= 1, "{retry_after}");
        let (status, body) = json_of(res).await;
        assert_error(status, &body, 429, "RATE_LIMITED");
        assert_eq!((body["error"]["details"]["limitPerSecond"].as_u64(), body["error"]["details"]["burst"].as_u64()), (Some(1), Some(3)), "{body}");
        assert_eq!(body["error"]["details"]["retryAfterSeconds"].as_u64(), Some(retry_after));
    }
    // Another tenant is untouched, and admin routes are not host-facing.
    assert_eq!(me(admin_token("globex")).await.unwrap().status(), 200);
    let list = client.get(format!("http://{addr}/admin/v1/extensions")).bearer_auth(admin_token("acme")).send().await.unwrap();
    assert_eq!(list.status(), 200);
}

/// Posts `size` bytes of text to the echo endpoint.
async fn post_echo(client: &reqwest::Client, addr: std::net::SocketAddr, size: usize) -> (u16, Value) {
    let res = client
        .post(format!("http://{addr}/api/extensions/{KEY}/echo"))
        .bearer_auth(admin_token("acme"))
        .header("content-type", "text/plain")
        .body(vec![b'x'; size])
        .send()
        .await
        .unwrap();
    json_of(res).await
}

async fn calls(client: &reqwest::Client, addr: std::net::SocketAddr) -> u64 {
    let res = client.get(format!("http://{addr}/api/extensions/{KEY}/calls")).bearer_auth(admin_token("acme")).send().await.unwrap();
    json_of(res).await.1["calls"].as_u64().unwrap()
}

/// Writes a request head and part of its body, then waits for the answer without sending the
/// rest: the server must answer from what it has.
async fn answer_without_the_rest(addr: std::net::SocketAddr, head: String, body_start: Vec<u8>) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    // Written by a task of its own: a server that stops reading may leave it blocked.
    let (mut read_half, mut write_half) = stream.into_split();
    tokio::spawn(async move {
        let _ = write_half.write_all(&body_start).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(write_half);
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let read = async {
        loop {
            let n = read_half.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&buf).contains("\r\n\r\n") && buf.ends_with(b"}") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("answered before the body ended");
    String::from_utf8_lossy(&buf).into_owned()
}

async fn endpoint_bodies_are_limited_before_the_isolate_runs(db: TestStore) {
    let state = db.app_state();
    let id = install_zip(&state, "acme", bundle()).await;
    let other_id = install_zip(&state, "globex", bundle()).await;
    let (addr, _stop) = spawn(app(state), ServeOptions::default()).await;
    let client = reqwest::Client::new();

    // The default: 1 MiB, inclusive.
    let (status, body) = post_echo(&client, addr, 1024 * 1024).await;
    assert_eq!((status, body["size"].as_u64()), (200, Some(1024 * 1024)), "{body}");
    let (status, body) = post_echo(&client, addr, 1024 * 1024 + 1).await;
    assert_error(status, &body, 413, "BODY_TOO_LARGE");
    assert_eq!(body["error"]["details"]["maxBytes"], 1024 * 1024, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("1048576"), "names the limit: {body}");
    let before = calls(&client, addr).await;

    // A declared length over the limit is refused before the body is sent at all...
    let token = admin_token("acme");
    let head = format!(
        "POST /api/extensions/{KEY}/echo HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: text/plain\r\ncontent-length: 104857600\r\n\r\n"
    );
    let answer = answer_without_the_rest(addr, head, vec![b'x'; 1000]).await;
    assert!(answer.starts_with("HTTP/1.1 413") && answer.contains("BODY_TOO_LARGE"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "the unread rest ends the connection: {answer}");
    // ...and a chunked one as soon as it passes the limit, without waiting for its end.
    let head = format!(
        "POST /api/extensions/{KEY}/echo HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let mut chunks = Vec::new();
    for _ in 0..20 {
        chunks.extend_from_slice(b"10000\r\n");
        chunks.extend_from_slice(&[b'y'; 0x10000]);
        chunks.extend_from_slice(b"\r\n");
    }
    let answer = answer_without_the_rest(addr, head, chunks).await;
    assert!(answer.starts_with("HTTP/1.1 413") && answer.contains("BODY_TOO_LARGE"), "{answer}");
    assert_eq!(calls(&client, addr).await, before, "no refused body reached the extension");

    // A tenant admin lowers the limit for this extension; the new limit applies at once.
    let limits = format!("http://{addr}/admin/v1/extensions/{id}/limits");
    let res = client.put(&limits).bearer_auth(admin_token("acme")).json(&json!({ "maxBodyBytes": 1000 })).send().await.unwrap();
    let (status, view) = json_of(res).await;
    assert_eq!(
        (status, &view["effective"]["maxBodyBytes"], &view["ceilings"]["maxBodyBytes"]),
        (200, &json!(1000), &json!(16 * 1024 * 1024)),
        "{view}"
    );
    assert_eq!(post_echo(&client, addr, 1000).await.0, 200);
    let (status, body) = post_echo(&client, addr, 1001).await;
    assert_error(status, &body, 413, "BODY_TOO_LARGE");
    assert_eq!(body["error"]["details"]["maxBytes"], 1000);
    // ...but never above the operator's ceiling.
    let res = client.put(&limits).bearer_auth(admin_token("acme")).json(&json!({ "maxBodyBytes": 16 * 1024 * 1024 + 1 })).send().await.unwrap();
    let (status, body) = json_of(res).await;
    assert_error(status, &body, 400, "LIMITS_INVALID");
    assert_eq!(body["error"]["details"]["problems"][0]["pointer"], "/maxBodyBytes", "{body}");
    // Another tenant's copy of the extension keeps the default.
    let res = client.get(format!("http://{addr}/admin/v1/extensions/{other_id}/limits")).bearer_auth(admin_token("globex")).send().await.unwrap();
    assert_eq!(json_of(res).await.1["effective"]["maxBodyBytes"], 1024 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_bodies_are_limited_before_the_isolate_runs_on_sqlite() {
    endpoint_bodies_are_limited_before_the_isolate_runs(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_bodies_are_limited_before_the_isolate_runs_on_postgres() {
    endpoint_bodies_are_limited_before_the_isolate_runs(TestStore::postgres().await).await;
}

/// Sends raw request bytes; answers the status line and whether the server then closed.
async fn raw_status(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), read_response(&mut stream)).await.expect("an answer");
    let status = response.lines().next().unwrap_or_default().to_owned();
    if !status.contains(" 200 ") {
        closed_after(&mut stream, Duration::from_secs(5)).await;
    }
    status
}

#[tokio::test]
async fn too_many_or_too_large_request_headers_get_431_and_the_connection_is_closed() {
    let db = TestStore::sqlite().await;
    let options = ServeOptions { max_headers: 20, max_header_bytes: 8192, ..ServeOptions::default() };
    let (addr, _stop) = spawn(app(db.app_state()), options).await;
    let request = |headers: &[(String, String)]| {
        let mut text = "GET /healthz HTTP/1.1\r\nhost: x\r\n".to_owned();
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        text.into_bytes()
    };
    let many = |n: usize| (0..n).map(|i| (format!("x-h{i}"), "v".to_owned())).collect::<Vec<_>>();
    assert!(raw_status(addr, &request(&many(18))).await.starts_with("HTTP/1.1 200"), "within both limits");
    assert!(raw_status(addr, &request(&many(25))).await.starts_with("HTTP/1.1 431"), "too many headers");
    let big = vec![("x-big".to_owned(), "b".repeat(9000))];
    assert!(raw_status(addr, &request(&big)).await.starts_with("HTTP/1.1 431"), "head larger than its limit");
    let fits = vec![("x-big".to_owned(), "b".repeat(7000))];
    assert!(raw_status(addr, &request(&fits)).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_client_dripping_its_headers_is_cut_off_and_holds_up_no_one() {
    let db = TestStore::sqlite().await;
    let options = ServeOptions { header_timeout: Duration::from_millis(500), ..ServeOptions::default() };
    let (addr, _stop) = spawn(app(db.app_state()), options).await;

    // Twenty clients each send a byte of header every 50 ms, never finishing: each keeps
    // "making progress", which a per-read timeout would reward forever.
    let mut drips = Vec::new();
    for _ in 0..20 {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut read_half, mut write_half) = stream.into_split();
        tokio::spawn(async move {
            for byte in b"GET /healthz HTTP/1.1\r\nx-slow: ".iter().chain(std::iter::repeat(&b'a')) {
                if write_half.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let started = Instant::now();
        drips.push(tokio::spawn(async move {
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(Duration::from_secs(10), read_half.read(&mut byte)).await;
            assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "still open after 10 s: {read:?}");
            started.elapsed()
        }));
    }
    // Meanwhile everyone else is served as usual.
    let started = Instant::now();
    let res = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    for drip in drips {
        let took = drip.await.unwrap();
        assert!(took >= Duration::from_millis(400) && took < Duration::from_secs(5), "cut off after {took:?}");
    }
}

#[test]
fn host_flags_have_env_fallbacks_and_defaults() {
    use clap::Parser;
    let cli = alga_ext::cli::Cli::try_parse_from(["alga-ext", "serve"]).unwrap();
    let alga_ext::cli::Command::Serve(args) = cli.command else { panic!("expected serve") };
    let host = &args.host;
    assert_eq!((host.rate_limit_per_second, host.rate_limit_burst), (100, 200));
    assert_eq!((host.endpoint_max_body_bytes, host.max_endpoint_body_bytes), (1024 * 1024, 16 * 1024 * 1024));
    assert_eq!((host.http_max_header_bytes, host.http_max_headers), (64 * 1024, 100));
    assert!(host.cors_origins.is_empty() && host.jwt_public_key.is_none());
    for bad in [["--http-max-header-bytes", "4096"], ["--http-max-headers", "0"], ["--rate-limit-per-second", "-1"]] {
        assert!(alga_ext::cli::Cli::try_parse_from(["alga-ext", "serve", bad[0], bad[1]]).is_err(), "{bad:?}");
    }
    let cli = alga_ext::cli::Cli::try_parse_from(["alga-ext", "serve", "--cors-origins", "https://a.example,https://b.example"]).unwrap();
    let alga_ext::cli::Command::Serve(args) = cli.command else { panic!("expected serve") };
    assert_eq!(args.host.cors_origins, ["https://a.example", "https://b.example"]);
    let guards = alga_ext::config::host_guards(&args.host).unwrap();
    assert!(guards.cors.is_enabled() && guards.rate_limit.is_some());
    let mut args = args.host.clone();
    args.endpoint_max_body_bytes = args.max_endpoint_body_bytes + 1;
    let err = alga_ext::config::host_guards(&args).err().unwrap().to_string();
    assert!(err.contains("--endpoint-max-body-bytes") && err.contains("--max-endpoint-body-bytes"), "{err}");
    args.endpoint_max_body_bytes = 1;
    args.cors_origins = vec!["*".into()];
    assert!(alga_ext::config::host_guards(&args).err().unwrap().to_string().starts_with("--cors-origins (ALGA_EXT_CORS_ORIGINS)"));
}
