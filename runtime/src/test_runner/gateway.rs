//! The test isolate's way into the runtime: a loopback HTTP server that `@alga/test`'s
//! `call()` and `setSettings()` reach with `fetch`. A call becomes a request to the real
//! router (`/api/extensions/<id>/<path>`, with a token minted for the test's user and
//! roles), so routing, RBAC, `ctx` and limits are the runtime's own.
//!
//! Its URL carries a random segment: another process on the machine cannot drive the
//! extension while tests run.

use std::net::SocketAddr;

use alga_store::{Extension, TenantId};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;
use tower::ServiceExt;

use crate::http::AppState;
use crate::registry::RegistryError;

/// Who `call()` acts for unless the test says otherwise.
pub const DEFAULT_USER: &str = "tester";
pub const DEFAULT_ROLE: &str = "admin";
/// Largest response body handed back to a test.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
struct Gate {
    state: AppState,
    app: Router,
    tenant: TenantId,
    ext: Extension,
}

/// A running gateway for one installed extension; it stops when dropped.
pub struct Gateway {
    addr: SocketAddr,
    nonce: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Gateway {
    pub async fn start(state: AppState, tenant: TenantId, ext: Extension) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let gate = Gate { app: crate::http::app(state.clone()), state, tenant, ext };
        let router = Router::new().route(&format!("/{nonce}/call"), post(call)).route(&format!("/{nonce}/settings"), post(settings)).with_state(gate);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let stopped = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stopped).await {
                tracing::warn!(error = %e, "the test gateway stopped");
            }
        });
        Ok(Self { addr, nonce, shutdown: Some(tx) })
    }

    /// The base URL `@alga/test` appends `/call` and `/settings` to.
    pub fn url(&self) -> String {
        format!("http://{}/{}", self.addr, self.nonce)
    }

    /// The `fetch:` host the test isolate is granted: this gateway and nothing else.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": { "message": message.into() } }))).into_response()
}

/// What `call(method, path, options)` sends.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallRequest {
    method: String,
    path: String,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    /// What `path` names: an endpoint (the default), a dashboard widget (`/<id>`) or a page.
    #[serde(default)]
    surface: Surface,
}

/// The host-facing route a test call goes through.
#[derive(Deserialize, Default, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Surface {
    #[default]
    Endpoint,
    Widget,
    Page,
}

async fn call(State(gate): State<Gate>, body: Bytes) -> Response {
    let request: CallRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("call(): {e}")),
    };
    match forward(&gate, request).await {
        Ok(answer) => Json(answer).into_response(),
        Err(message) => refuse(StatusCode::BAD_REQUEST, message),
    }
}

/// Sends one call through the runtime's router and shapes its answer for the test.
async fn forward(gate: &Gate, call: CallRequest) -> Result<Value, String> {
    let user = call.user.unwrap_or_else(|| DEFAULT_USER.to_owned());
    let roles = call.roles.unwrap_or_else(|| vec![DEFAULT_ROLE.to_owned()]);
    let token = gate.state.tokens.mint(&gate.tenant, &user, &roles, std::time::Duration::from_secs(300)).map_err(|e| format!("call(): {e}"))?;
    let method = axum::http::Method::from_bytes(call.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("call(): {:?} is not an HTTP method", call.method))?;
    let uri = match call.surface {
        Surface::Endpoint => format!("/api/extensions/{}{}", gate.ext.key, call.path),
        Surface::Widget => format!("/api/ui/dashboard/{}{}", gate.ext.key, call.path),
        Surface::Page => format!("/api/ui/pages/{}{}", gate.ext.key, call.path),
    };
    let mut request = Request::builder().method(method).uri(&uri).header("authorization", format!("Bearer {token}"));
    for (name, value) in call.headers.unwrap_or_default() {
        let value = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        request = request.header(name, value);
    }
    let body = match call.body {
        None => Body::empty(),
        Some(Value::String(text)) => Body::from(text),
        Some(value) => {
            request = request.header("content-type", "application/json");
            Body::from(value.to_string())
        }
    };
    let request = request.body(body).map_err(|e| format!("call(): cannot send {uri}: {e}"))?;
    let answer = send(gate, request, &uri).await?;
    if call.surface != Surface::Page || answer["status"] != 200 {
        return Ok(if call.surface == Surface::Page { with_page(answer, Value::Null) } else { answer });
    }
    // A page is its descriptor, then the document at the descriptor's URL, which the
    // iframe loads with no token (a handler page's URL is signed; a static one is public).
    let descriptor = answer["body"].clone();
    let Some(url) = descriptor["url"].as_str().filter(|url| url.starts_with('/')) else {
        return Err(format!("page(): the descriptor of {} has no URL on this server: {descriptor}", call.path));
    };
    let request = Request::get(url).body(Body::empty()).map_err(|e| format!("page(): cannot load {url}: {e}"))?;
    Ok(with_page(send(gate, request, url).await?, descriptor))
}

/// A page's answer: the document's `{ status, headers, body }` and its descriptor as `page`.
fn with_page(mut answer: Value, descriptor: Value) -> Value {
    answer["page"] = descriptor;
    answer
}

/// Sends one request through the runtime's router; its answer shaped for the test, a JSON
/// body parsed.
async fn send(gate: &Gate, request: Request<Body>, uri: &str) -> Result<Value, String> {
    let response = gate.app.clone().oneshot(request).await.map_err(|e| format!("call(): {e}"))?;
    let status = response.status().as_u16();
    let mut headers = Map::new();
    for (name, value) in response.headers() {
        headers.insert(name.as_str().to_owned(), Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()));
    }
    let is_json = headers.get("content-type").and_then(Value::as_str).is_some_and(|t| t.contains("json"));
    let bytes = axum::body::to_bytes(response.into_body(), MAX_RESPONSE_BYTES)
        .await
        .map_err(|e| format!("call(): the response of {uri} is larger than {MAX_RESPONSE_BYTES} bytes or broken: {e}"))?;
    let body = if bytes.is_empty() {
        Value::Null
    } else if is_json {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    } else {
        Value::String(String::from_utf8_lossy(&bytes).into_owned())
    };
    Ok(json!({ "status": status, "headers": headers, "body": body }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsRequest {
    values: Value,
}

async fn settings(State(gate): State<Gate>, body: Bytes) -> Response {
    let request: SettingsRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("setSettings(): {e}")),
    };
    match gate.state.registry.update_settings(&gate.tenant, gate.ext.id, &request.values, "alga-ext test").await {
        Ok(view) => Json(Value::Object(view.values)).into_response(),
        Err(RegistryError::Settings(problems)) => {
            let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
            refuse(StatusCode::BAD_REQUEST, format!("setSettings(): {}", listed.join("; ")))
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, format!("setSettings(): {e}")),
    }
}
