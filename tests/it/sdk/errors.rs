//! `HttpError`, `ctx.error` and uncaught exceptions over real HTTP: the status and error shape
//! they answer, the request id, the stack (in the extension's log, and to callers only in
//! development mode), that an `HttpError` never trips the circuit breaker, and what it does
//! in a widget and in a lifecycle hook.

use std::sync::Arc;
use std::time::Duration;

use alga_ext::http::AppState;
use alga_ext::pool::PoolConfig;
use alga_ext::registry::breaker::BreakerConfig;
use alga_ext::registry::Registry;
use serde_json::{json, Value};

use crate::dispatch::install;
use crate::support::{admin_token, TestStore, SECRET};

// Line numbers matter: the stack assertions below name them.
const SOURCE: &str = r#"import { HttpError, text, redirect } from "@alga/sdk";
export function missing(request) { throw new HttpError(404, "TICKET_NOT_FOUND", "no such ticket", { id: "7" }); }
export async function conflict(request, ctx) { await null; ctx.error(409, "ALREADY_TAGGED", "the ticket has that tag"); }
export function caught(request, ctx) {
  try { ctx.error(418, "TEAPOT", "short and stout"); } catch (e) { return { body: { same: e instanceof HttpError, name: e.name, status: e.status, details: e.details } }; }
}
export function badStatus() { throw new HttpError(200, "OK", "fine"); }
export function badCode() { throw new HttpError(400, "notFound", "lower case"); }
export function mutated() { const e = new HttpError(400, "BAD_INPUT", "changed later"); e.status = 700; throw e; }
export function badDetails() { throw new HttpError(400, "BAD_INPUT", "bigint details", { n: 1n }); }
export function boom() { return helper(); }
function helper() { throw new TypeError("the tickets table is empty"); }
export async function later() { await null; throw new RangeError("rejected after a turn"); }
export function plain() { return text("pong"); }
export function moved() { return redirect("/elsewhere", 303); }
export function whoami(request) { return { body: { requestId: request.headers["x-request-id"] } }; }
export function limited(request, ctx) {
  ctx.error(429, "SLOW_DOWN", "one a minute", null, { headers: { "retry-after": "60", "x-quota": "1", "content-type": "text/html", "x-frame-options": "ALLOWALL", "x-request-id": "forged" } });
}
export function badInit() { throw new HttpError(400, "BAD_INPUT", "init is a number", null, 5); }
export function badHeader() { throw new HttpError(400, "BAD_INPUT", "bad header", null, { headers: { "no spaces": "x" } }); }
"#;

const HANDLERS: &[&str] = &[
    "missing",
    "conflict",
    "caught",
    "badStatus",
    "badCode",
    "mutated",
    "badDetails",
    "boom",
    "later",
    "plain",
    "moved",
    "whoami",
    "limited",
    "badInit",
    "badHeader",
];

/// A server on an ephemeral port whose circuit breaker trips after 2 failures (so a
/// counted `HttpError` would show), with the extension installed in tenant `acme`.
struct Served {
    base: String,
    id: String,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _db: TestStore,
}

impl Served {
    async fn start(dev: bool) -> Self {
        let db = TestStore::sqlite().await;
        let breaker = BreakerConfig { threshold: 2, window: Duration::from_secs(60) };
        let registry = Arc::new(Registry::with_breaker(db.store.clone(), Default::default(), breaker));
        let tokens = alga_ext::auth::TokenKeys::from_secret(SECRET.as_bytes());
        let state = AppState::with_pool(registry, tokens, vec!["admin".into()], PoolConfig::default()).with_dev(dev);
        let id = install(&state, "acme", "com.example.errors", "1.0.0", SOURCE, HANDLERS).await;
        let (addr, stop) = crate::wire::spawn(&state).await;
        Self { base: format!("http://{addr}"), id, client: reqwest::Client::new(), _stop: stop, _db: db }
    }

    /// GET of one handler's route: status, `X-Request-Id`, other headers, JSON body.
    async fn call(&self, handler: &str, request_id: Option<&str>) -> (u16, Option<String>, reqwest::header::HeaderMap, Value) {
        let mut req = self.client.get(format!("{}/api/extensions/{}/{handler}", self.base, self.id)).bearer_auth(admin_token("acme"));
        if let Some(id) = request_id {
            req = req.header("x-request-id", id);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let request_id = headers.get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
        let text = res.text().await.unwrap();
        (status, request_id, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn admin_get(&self, path: &str) -> Value {
        let url = format!("{}/admin/v1/extensions/{}{path}", self.base, self.id);
        self.client.get(url).bearer_auth(admin_token("acme")).send().await.unwrap().json().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thrown_http_error_answers_its_status_in_the_runtime_error_shape_and_never_trips_the_breaker() {
    let served = Served::start(false).await;

    let (status, request_id, _, body) = served.call("missing", None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body, json!({ "error": { "code": "TICKET_NOT_FOUND", "message": "no such ticket", "details": { "id": "7" } } }));
    assert!(request_id.is_some_and(|id| !id.is_empty()), "an HttpError answer carries X-Request-Id too");

    // ctx.error throws the same class the module exports, from async code as well.
    let (status, _, _, body) = served.call("conflict", None).await;
    assert_eq!((status, body), (409, json!({ "error": { "code": "ALREADY_TAGGED", "message": "the ticket has that tag", "details": null } })));
    let (status, _, _, body) = served.call("caught", None).await;
    assert_eq!((status, body), (200, json!({ "same": true, "name": "HttpError", "status": 418, "details": null })));

    // More HttpErrors than the breaker's threshold: an answer, not a failure.
    for _ in 0..3 {
        assert_eq!(served.call("missing", None).await.0, 404);
    }
    let detail = served.admin_get("").await;
    assert_eq!(detail["extension"]["status"], "installed", "{detail}");
    assert_eq!(served.call("plain", None).await.0, 200, "still served");
    let logged = served.admin_get("/errors").await;
    assert_eq!(logged["errors"], json!([]), "HttpErrors are not failures in the extension's log: {logged}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_error_sends_the_headers_it_may_and_every_answer_carries_the_request_id() {
    let served = Served::start(false).await;
    let (status, request_id, headers, body) = served.call("limited", Some("trace-42")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("SLOW_DOWN")), "{body}");
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!((header("retry-after"), header("x-quota")), (Some("60".into()), Some("1".into())));
    // The body is the runtime's JSON, the framing policy the host's, the id the runtime's.
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("x-frame-options"), None);
    assert_eq!(request_id.as_deref(), Some("trace-42"));

    // A successful answer carries the id too: the caller's, or a new one the handler saw.
    let (status, request_id, _, body) = served.call("whoami", Some("trace-43")).await;
    assert_eq!((status, request_id.as_deref(), body["requestId"].as_str()), (200, Some("trace-43"), Some("trace-43")));
    let (_, request_id, _, body) = served.call("whoami", None).await;
    assert!(request_id.as_deref().is_some_and(|id| id.len() == 36), "{request_id:?}");
    assert_eq!(body["requestId"].as_str(), request_id.as_deref());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_http_error_is_a_500_that_names_the_mistake() {
    let served = Served::start(false).await;
    let cases = [
        ("badStatus", "status must be an integer from 400 to 599, not 200"),
        ("badCode", "code must be SCREAMING_SNAKE_CASE such as NOT_FOUND (at most 64 characters), not \"notFound\""),
        ("mutated", "the handler threw an HttpError whose status is 700, not an integer from 400 to 599"),
        ("badDetails", "the handler threw an HttpError whose details are not JSON"),
        ("badInit", "init must be an object such as { headers: { \"retry-after\": \"30\" } }, not 5"),
        ("badHeader", "TypeError"),
    ];
    for (handler, words) in cases {
        let (status, _, _, body) = served.call(handler, None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (500, Some("EXTENSION_ERROR")), "{handler}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{handler}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncaught_exception_answers_500_with_a_request_id_and_logs_its_stack_without_showing_it_in_production() {
    let served = Served::start(false).await;

    let (status, request_id, _, body) = served.call("boom", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (500, Some("EXTENSION_ERROR")), "{body}");
    assert_eq!(body["error"]["message"], "extension code threw TypeError: the tickets table is empty", "{body}");
    let request_id = request_id.expect("X-Request-Id");
    assert_eq!(body["error"]["details"], json!({ "requestId": request_id }), "no stack for a production caller");
    assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "a new id is a UUID: {request_id}");
    let text = body.to_string();
    assert!(!text.contains("alga-bundle:") && !text.contains(".rs") && !text.contains("dispatch.js"), "no internals: {text}");

    // A caller's own request id is kept; one that is not a plausible id is replaced.
    let (_, echoed, _, body) = served.call("boom", Some("trace-42.a:b_c")).await;
    assert_eq!((echoed.as_deref(), body["error"]["details"]["requestId"].as_str()), (Some("trace-42.a:b_c"), Some("trace-42.a:b_c")));
    let (_, replaced, _, _) = served.call("boom", Some("no spaces; or semicolons")).await;
    assert!(replaced.is_some_and(|id| uuid::Uuid::parse_str(&id).is_ok()));
    // The handler sees the same id, so what it logs can name it: the caller's, or a new one.
    let (_, _, _, body) = served.call("whoami", Some("trace-7")).await;
    assert_eq!(body["requestId"], "trace-7", "{body}");
    let (_, _, _, body) = served.call("whoami", None).await;
    assert!(body["requestId"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{body}");

    // A rejection after an await is the same failure.
    let (status, _, _, body) = served.call("later", None).await;
    assert_eq!((status, body["error"]["message"].as_str()), (500, Some("extension code threw RangeError: rejected after a turn")), "{body}");

    // The extension's log has the stack in the author's file, under the request id.
    let logs = served.admin_get("/logs?level=error").await;
    let entries = logs["entries"].as_array().unwrap();
    let entry = entries
        .iter()
        .find(|e| e["message"].as_str().is_some_and(|m| m.contains(&request_id)))
        .unwrap_or_else(|| panic!("no log entry names {request_id}: {logs}"));
    assert_eq!(entry["code"], "EXTENSION_ERROR", "{entry}");
    let message = entry["message"].as_str().unwrap();
    assert!(message.contains("TypeError: the tickets table is empty"), "{message}");
    assert!(message.contains("at helper (alga-bundle:///index.js:12:"), "the throwing line: {message}");
    assert!(message.contains("at boom (alga-bundle:///index.js:11:"), "its caller: {message}");
    assert!(!message.contains("dispatch.js") && !message.contains("ext:"), "only the author's frames: {message}");
    // Uncaught errors are failures (logged) but, like before, not limit hits: still served.
    assert_eq!(served.admin_get("").await["extension"]["status"], "installed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_development_mode_the_caller_gets_the_stack_too() {
    let served = Served::start(true).await;
    let (status, request_id, _, body) = served.call("boom", None).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["details"]["requestId"].as_str(), request_id.as_deref());
    let stack = body["error"]["details"]["stack"].as_str().unwrap_or_else(|| panic!("no stack in dev mode: {body}"));
    assert!(stack.starts_with("TypeError: the tickets table is empty\n    at helper (alga-bundle:///index.js:12:"), "{stack}");
    assert!(stack.contains("    at boom (alga-bundle:///index.js:11:"), "{stack}");
    assert!(!stack.contains("dispatch.js"), "{stack}");
    // An HttpError is the extension's answer in dev mode too: no stack added to it.
    let (_, _, _, body) = served.call("missing", None).await;
    assert_eq!(body["error"]["details"], json!({ "id": "7" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_redirect_build_their_responses() {
    let served = Served::start(false).await;
    let (status, _, headers, body) = served.call("plain", None).await;
    assert_eq!((status, body), (200, json!("pong")));
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/plain"), "{headers:?}");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.get(format!("{}/api/extensions/{}/moved", served.base, served.id)).bearer_auth(admin_token("acme")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/elsewhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_shows_its_http_error_and_a_hook_that_throws_one_refuses_the_approval() {
    use crate::archives::{self, Entry};
    use axum::http::Method;

    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let admin = admin_token("acme");
    let bundle = |key: &str, source: &str| {
        let manifest = json!({ "id": key, "name": key, "version": "1.0.0", "main": "index.js",
            "extensionPoints": { "dashboardWidgets": [{ "id": "open", "title": "Open", "handler": "openTickets", "size": "small" }] } });
        archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", source.as_bytes().to_vec())])
    };

    let widget = "import { HttpError } from \"@alga/sdk\";\nexport function openTickets() { throw new HttpError(503, \"HOST_DOWN\", \"the ticket API is down\"); }";
    let id = crate::dispatch::install_zip(&state, "acme", bundle("com.example.widget", widget)).await;
    let (status, _, body) = crate::dispatch::send(&state, Method::GET, &format!("/api/ui/dashboard/{id}/open"), &admin, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["state"].as_str(), body["code"].as_str(), body["message"].as_str()),
        (Some("error"), Some("HOST_DOWN"), Some("the ticket API is down")),
        "{body}"
    );

    // onInstall throwing an HttpError fails like any throw: the approval is refused.
    let hook = "import { HttpError } from \"@alga/sdk\";\nexport function onInstall() { throw new HttpError(409, \"MISSING_SETUP\", \"configure the ticket API first\"); }\nexport function openTickets() { return { open: 1 }; }";
    let upload = axum::http::Request::post("/admin/v1/extensions")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/zip")
        .body(axum::body::Body::from(bundle("com.example.hooked", hook)))
        .unwrap();
    let res = tower::ServiceExt::oneshot(alga_ext::http::app(state.clone()), upload).await.unwrap();
    let bytes = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    let uploaded: Value = serde_json::from_slice(&bytes).unwrap();
    let hooked = uploaded["extension"]["id"].as_str().unwrap_or_else(|| panic!("upload failed: {uploaded}")).to_owned();
    let (status, _, body) =
        crate::dispatch::send(&state, Method::POST, &format!("/admin/v1/extensions/{hooked}/approve"), &admin, Some(json!({}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("HOOK_FAILED")), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("MISSING_SETUP") && message.contains("configure the ticket API first"), "{message}");
}
