//! The host API simulator: an in-process HTTP server that answers `ctx.api` the way the host
//! app (Alga PSA) would, so extensions can be tested and developed offline.
//!
//! It serves `/api/v1/<resource>` (list with `?limit`, `?offset` and `field=value` filters;
//! create) and `/api/v1/<resource>/<id>` (get, replace, merge-patch, delete) for every
//! resource of the runtime's capability table, over fixture records (`fixtures/*.json`)
//! that each tenant gets its own copy of. Every call is checked as a real host checks it:
//! the per-call HS256 token with the shared secret, and the capability its method and path
//! need (`alga_ops::api::capability_for`) against the token's `capabilities` — refused with
//! `403 PERMISSION_DENIED` in the runtime's error shape. `alga-ext test` points `ctx.api`
//! here; `alga-ext dev` can do the same.
//!
//! Invariant: nothing here trusts the runtime's own capability check; a call the runtime
//! would never send is still refused by the simulator.

mod auth;
pub mod data;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub use auth::{AUDIENCE, ISSUER};
pub use data::{DataError, Records};

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error("the host API secret must be at least {min} bytes, got {0}", min = crate::auth::MIN_SECRET_BYTES)]
    SecretTooShort(usize),
    #[error("cannot listen on 127.0.0.1 for the host API simulator: {0}")]
    Bind(std::io::Error),
}

/// An error answer in the runtime's shape: `{"error": {"code", "message", "details"}}`.
#[derive(Debug)]
pub struct SimError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
}

impl SimError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: Value::Null }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

impl From<DataError> for SimError {
    fn from(err: DataError) -> Self {
        let (status, code) = match &err {
            DataError::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            DataError::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            DataError::InvalidBody(_) => (StatusCode::BAD_REQUEST, "INVALID_BODY"),
            DataError::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "INVALID_QUERY"),
        };
        Self::new(status, code, err.to_string())
    }
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        (self.status, Json(body)).into_response()
    }
}

/// What the simulator's handler reaches: the token verifier and the records.
#[derive(Clone)]
pub struct SimState {
    verifier: Arc<auth::Verifier>,
    records: Arc<Records>,
}

impl SimState {
    /// State that verifies tokens signed with `secret`, over fresh fixture records.
    pub fn new(secret: &[u8]) -> Self {
        Self { verifier: Arc::new(auth::Verifier::new(secret)), records: Arc::default() }
    }

    pub fn records(&self) -> &Arc<Records> {
        &self.records
    }
}

/// The simulator as a router (for `oneshot` in tests, or to serve).
pub fn app(state: SimState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// A running simulator on an ephemeral loopback port; it stops when dropped.
pub struct Simulator {
    addr: SocketAddr,
    state: SimState,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Simulator {
    /// Starts serving on `127.0.0.1:0`, accepting tokens signed with `secret` (the runtime's
    /// host API secret). Must be called inside a tokio runtime, which then runs it.
    pub async fn start(secret: &str) -> Result<Self, SimulatorError> {
        if secret.len() < crate::auth::MIN_SECRET_BYTES {
            return Err(SimulatorError::SecretTooShort(secret.len()));
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(SimulatorError::Bind)?;
        let addr = listener.local_addr().map_err(SimulatorError::Bind)?;
        let state = SimState::new(secret.as_bytes());
        let (tx, rx) = oneshot::channel::<()>();
        let router = app(state.clone());
        tokio::spawn(async move {
            let stopped = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stopped).await {
                tracing::warn!(error = %e, "the host API simulator stopped");
            }
        });
        tracing::debug!(%addr, "host API simulator listening");
        Ok(Self { addr, state, shutdown: Some(tx) })
    }

    /// The base URL to give the runtime as its host API, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every tenant's records, e.g. to `reset()` them between runs.
    pub fn records(&self) -> &Arc<Records> {
        self.state.records()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

const PREFIX: &str = "/api/v1/";

/// Every request: authorize first (so a refused call learns nothing about the records),
/// then route by the path's segments.
async fn handle(State(state): State<SimState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path();
    let outcome = match state.verifier.authorize(&method, path, &headers) {
        Ok(claims) => serve(&state, &claims.tenant, &method, path, uri.query().unwrap_or(""), &body),
        Err(err) => Err(err),
    };
    let response = match outcome {
        Ok((status, Some(value))) => (status, Json(value)).into_response(),
        Ok((status, None)) => status.into_response(),
        Err(err) => err.into_response(),
    };
    tracing::debug!(%method, %uri, status = response.status().as_u16(), "host API simulator");
    response
}

fn serve(state: &SimState, tenant: &str, method: &Method, path: &str, query: &str, body: &[u8]) -> Result<(StatusCode, Option<Value>), SimError> {
    let not_found = || {
        SimError::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("the simulator serves {PREFIX}<resource> and {PREFIX}<resource>/<id>, not {path}"))
    };
    let rest = path.strip_prefix(PREFIX).ok_or_else(not_found)?;
    // `<resource>`, `<resource>/` and `<resource>/<id>` are served; anything deeper is not.
    let segments: Vec<&str> = rest.split('/').collect();
    let (resource, id) = match segments.as_slice() {
        [resource] | [resource, ""] => (*resource, None),
        [resource, id] => (*resource, Some(percent_decode(id))),
        _ => return Err(not_found()),
    };
    let resource = data::resource(resource).ok_or_else(not_found)?;
    let records = &state.records;
    let json_body = || -> Result<Value, SimError> {
        if body.is_empty() {
            return Err(SimError::new(StatusCode::BAD_REQUEST, "INVALID_BODY", format!("{method} {path} needs a JSON object body")));
        }
        serde_json::from_slice(body).map_err(|e| SimError::new(StatusCode::BAD_REQUEST, "INVALID_BODY", format!("the body is not JSON: {e}")))
    };
    let allowed =
        |allow: &str| SimError::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", format!("{method} is not served on {path}; use {allow}"));
    match (id, method.as_str()) {
        (None, "GET" | "HEAD") => {
            let query: Vec<(String, String)> = deno_core::url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            Ok((StatusCode::OK, Some(records.list(tenant, resource, &query)?)))
        }
        (None, "POST") => Ok((StatusCode::CREATED, Some(records.create(tenant, resource, json_body()?)?))),
        (None, _) => Err(allowed("GET or POST")),
        (Some(id), "GET" | "HEAD") => Ok((StatusCode::OK, Some(records.get(tenant, resource, &id)?))),
        (Some(id), "PUT") => Ok((StatusCode::OK, Some(records.replace(tenant, resource, &id, json_body()?)?))),
        (Some(id), "PATCH") => Ok((StatusCode::OK, Some(records.patch(tenant, resource, &id, json_body()?)?))),
        (Some(id), "DELETE") => {
            records.delete(tenant, resource, &id)?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        (Some(_), _) => Err(allowed("GET, PUT, PATCH or DELETE")),
    }
}

/// Decodes `%XX` escapes of a path segment (an id the caller URL-encoded).
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() {
            let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
