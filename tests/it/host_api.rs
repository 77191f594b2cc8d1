//! `ctx.api` against a real HTTP server playing the host app, which records every request
//! it receives: capability checks happen before the network, tokens carry the caller.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alga_ext::auth::TokenKeys;
use alga_ext::cli::HostApiArgs;
use alga_ext::http::AppState;
use alga_ext::registry::Registry;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::any;
use serde_json::json;

use crate::archives::{self, Entry};
use crate::dispatch::{install_zip, send};
use crate::support::{admin_token, TestStore, SECRET};

const HOST_SECRET: &str = "host-api-secret-host-api-secret-xx";

/// What the fake host saw: method, path with query, bearer token, extension header, body.
type Seen = Arc<Mutex<Vec<(String, String, String, String, String)>>>;

async fn host(State(seen): State<Seen>, headers: HeaderMap, request: Request) -> Response {
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (auth, ext) = (header("authorization"), header("x-alga-extension"));
    let body = axum::body::to_bytes(request.into_body(), 1 << 20).await.unwrap();
    seen.lock().unwrap().push((method, uri.clone(), auth, ext, String::from_utf8_lossy(&body).into_owned()));
    match uri.as_str() {
        "/api/v1/tickets/big" => "x".repeat(4096).into_response(),
        "/api/v1/tickets/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "late".into_response()
        }
        "/api/v1/tickets/away" => Redirect::temporary("http://127.0.0.2:9/steal").into_response(),
        "/api/v1/tickets/hop" => Redirect::to("/api/v1/tickets?from=hop").into_response(),
        "/api/v1/tickets/sneak" => Redirect::to("/api/v1/users").into_response(),
        "/api/v1/tickets/missing" => (StatusCode::NOT_FOUND, axum::Json(json!({ "error": "no such ticket" }))).into_response(),
        _ => axum::Json(json!([{ "id": 1, "title": "Printer on fire" }])).into_response(),
    }
}

const API_JS: &str = r#"
export async function probe(request, ctx) {
  const out = {};
  const attempt = async (name, f) => {
    try { out[name] = await f(); } catch (e) { out[name] = { name: e.name, code: e.code, status: e.status ?? null }; }
  };
  await attempt("list", () => ctx.api.get("/api/v1/tickets", { query: { status: "open" } }));
  await attempt("post", () => ctx.api.post("/api/v1/tickets", { title: "x" }));
  await attempt("escape", () => ctx.api.get("/api/v1/tickets/../users"));
  await attempt("users", () => ctx.api.get("/api/v1/users"));
  await attempt("outside", () => ctx.api.get("/admin/secrets"));
  await attempt("big", () => ctx.api.get("/api/v1/tickets/big"));
  await attempt("slow", () => ctx.api.get("/api/v1/tickets/slow"));
  await attempt("away", () => ctx.api.get("/api/v1/tickets/away"));
  await attempt("hop", () => ctx.api.get("/api/v1/tickets/hop"));
  await attempt("sneak", () => ctx.api.get("/api/v1/tickets/sneak"));
  await attempt("missing", () => ctx.api.get("/api/v1/tickets/missing"));
  await attempt("forged", () => ctx.api.get("/api/v1/tickets", { headers: { Authorization: "Bearer forged" } }));
  await attempt("raw", async () => {
    const raw = await ctx.api.request("GET", "/api/v1/tickets/missing");
    return [raw.status, raw.body];
  });
  return { body: out };
}
"#;

fn bundle(permissions: &[&str]) -> Vec<u8> {
    let manifest = json!({
        "id": "com.example.api", "name": "API", "version": "1.0.0", "main": "index.js", "permissions": permissions,
        "extensionPoints": { "endpoints": [{ "method": "GET", "path": "/probe", "handler": "probe" }] }
    });
    archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", API_JS.as_bytes().to_vec())])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctx_api_calls_the_host_within_granted_capabilities() {
    let seen: Seen = Default::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new().fallback(any(host)).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let db = TestStore::sqlite().await;
    let args = HostApiArgs {
        host_api_url: Some(format!("http://{addr}")),
        host_api_secret: Some(HOST_SECRET.into()),
        host_api_timeout: Duration::from_millis(500),
        host_api_max_response_bytes: 1024,
    };
    let host_api = alga_ext::config::host_api(&args, SECRET).unwrap().unwrap();
    let registry = Arc::new(Registry::new(db.store.clone(), Default::default()).with_host_api(host_api));
    let state = AppState::new(registry, TokenKeys::from_secret(SECRET.as_bytes()), vec!["admin".into()]);
    install_zip(&state, "acme", bundle(&["tickets:read"])).await;

    let (status, _, out) = send(&state, Method::GET, "/api/extensions/com.example.api/probe", &admin_token("acme"), None).await;
    assert_eq!(status, 200, "{out}");
    let tickets = json!([{ "id": 1, "title": "Printer on fire" }]);
    let err = |code: &str| json!({ "name": "ApiError", "code": code, "status": null });
    assert_eq!(out["list"], tickets);
    assert_eq!(out["post"], err("PERMISSION_DENIED"));
    assert_eq!(out["escape"], err("INVALID_PATH"));
    assert_eq!(out["users"], err("PERMISSION_DENIED"));
    assert_eq!(out["outside"], err("PERMISSION_DENIED"));
    assert_eq!(out["big"], err("RESPONSE_TOO_LARGE"));
    assert_eq!(out["slow"], err("TIMEOUT"));
    assert_eq!(out["away"], err("REDIRECT_REFUSED"));
    assert_eq!(out["hop"], tickets);
    assert_eq!(out["sneak"], err("PERMISSION_DENIED"));
    assert_eq!(out["missing"], json!({ "name": "ApiError", "code": "HTTP_ERROR", "status": 404 }));
    assert_eq!(out["forged"], err("INVALID_ARGUMENT"));
    assert_eq!(out["raw"], json!([404, { "error": "no such ticket" }]));

    // Refused calls never reached the host; redirects were followed only on its origin and
    // only where the capability reaches.
    let seen = seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|(_, uri, ..)| uri.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/tickets?status=open",
            "/api/v1/tickets/big",
            "/api/v1/tickets/slow",
            "/api/v1/tickets/away",
            "/api/v1/tickets/hop",
            "/api/v1/tickets?from=hop",
            "/api/v1/tickets/sneak",
            "/api/v1/tickets/missing",
            "/api/v1/tickets/missing",
        ]
    );
    assert!(seen.iter().all(|(method, ..)| method == "GET"));
    assert!(seen.iter().all(|(_, _, _, ext, _)| ext == "com.example.api"));

    // The token names tenant, user, extension and grants, signed with the host secret.
    let token = seen[0].2.strip_prefix("Bearer ").expect("a bearer token");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["alga-host-api"]);
    let claims =
        jsonwebtoken::decode::<alga_ops::api::ApiClaims>(token, &jsonwebtoken::DecodingKey::from_secret(HOST_SECRET.as_bytes()), &validation)
            .expect("the host can verify the token")
            .claims;
    assert_eq!((claims.tenant.as_str(), claims.sub.as_str(), claims.extension.as_str()), ("acme", "alice", "com.example.api"));
    assert_eq!(claims.capabilities, ["tickets:read"]);
    assert!(claims.exp - claims.iat <= 60, "tokens are short-lived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctx_api_without_a_host_url_says_so() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    install_zip(&state, "acme", bundle(&["tickets:read"])).await;
    let (status, _, out) = send(&state, Method::GET, "/api/extensions/com.example.api/probe", &admin_token("acme"), None).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["list"]["code"], "NOT_CONFIGURED");
    // Permission checks still come first.
    assert_eq!(out["post"]["code"], "PERMISSION_DENIED");
}
