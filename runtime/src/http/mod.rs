//! The HTTP surface: `app()` builds the router from shared state; serving it lives in the `serve` module.

// An `ApiError` is built at most once per request, on the way out; its size does not matter.
#![allow(clippy::result_large_err)]

mod admin;
mod audit;
mod dispatch;
mod error;
mod extract;
mod health;
mod list_cursor;
mod me;
mod metrics;
pub mod response_headers;
mod roles;
mod storage_io;

use std::sync::Arc;
use std::time::Duration;

use alga_store::Store;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::{any, get, post, put};
use axum::Router;
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use error::ApiError;

use crate::auth::{Principal, TokenKeys};
use crate::pool::{IsolatePool, PoolConfig};
use crate::registry::Registry;

/// What every handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenKeys>,
    pub registry: Arc<Registry>,
    /// Roles that hold `extension:manage` in every tenant without an RBAC grant.
    pub admin_roles: Arc<Vec<String>>,
    pub pool: Arc<IsolatePool>,
}

impl AppState {
    /// State with a default isolate pool. Must be called inside a tokio runtime.
    pub fn new(registry: Arc<Registry>, tokens: TokenKeys, admin_roles: Vec<String>) -> Self {
        Self::with_pool(registry, tokens, admin_roles, PoolConfig::default())
    }

    pub fn with_pool(registry: Arc<Registry>, tokens: TokenKeys, admin_roles: Vec<String>, pool: PoolConfig) -> Self {
        let pool = IsolatePool::new(registry.clone(), pool);
        Self { store: registry.store().clone(), tokens: Arc::new(tokens), registry, admin_roles: Arc::new(admin_roles), pool }
    }
}

/// The whole HTTP API as a router, ready for `axum::serve` or for `oneshot` in tests.
pub fn app(state: AppState) -> Router {
    // Uploads enforce the bundle size limit themselves (with the API's error shape);
    // axum's default 2 MB cap would cut them off first.
    let upload_limit = DefaultBodyLimit::max(state.registry.inspect_options().limits.max_compressed_bytes as usize + 64 * 1024);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::render))
        .route("/readyz", get(health::readyz))
        .route("/v1/me", get(me::me))
        .route("/schemas/manifest.json", get(admin::manifest_schema))
        .route("/api/extensions/{id}/{*path}", any(dispatch::dispatch))
        .route("/admin/v1/extensions", post(admin::upload).layer(upload_limit).get(admin::list))
        .route("/admin/v1/extensions/{id}", get(admin::detail).delete(admin::uninstall))
        .route("/admin/v1/extensions/{id}/approve", post(admin::approve))
        .route("/admin/v1/extensions/{id}/enable", post(admin::enable))
        .route("/admin/v1/extensions/{id}/disable", post(admin::disable))
        .route("/admin/v1/extensions/{id}/limits", get(admin::get_limits).put(admin::put_limits))
        .route("/admin/v1/extensions/{id}/storage/usage", get(admin::storage_usage))
        .route("/admin/v1/extensions/{id}/storage/audit", get(admin::storage_audit))
        .route("/admin/v1/extensions/{id}/storage", get(storage_io::export).post(storage_io::import))
        .route("/admin/v1/extensions/{id}/settings", get(admin::get_settings).put(admin::put_settings).delete(admin::reset_settings))
        .route("/admin/v1/audit", get(audit::list))
        .route("/admin/v1/roles", get(roles::list))
        .route("/admin/v1/roles/{role}/permissions/{permission}", put(roles::grant).delete(roles::revoke))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(request_span).on_request(()).on_response(record_response).on_failure(()))
        .with_state(state)
}

/// One span per request; `tenant` is filled in once a token has been verified.
fn request_span(req: &Request) -> Span {
    let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or("<unmatched>");
    tracing::info_span!(
        "request",
        method = %req.method(),
        route,
        tenant = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

fn record_response(res: &Response, latency: Duration, span: &Span) {
    span.record("status", res.status().as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    tracing::info!("response");
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// Extracts the verified caller from `Authorization: Bearer <token>`, failing closed with 401.
pub struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => {
                Some(value.to_str().map_err(|_| ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Authorization header is not ASCII"))?)
            }
        };
        let principal = state.tokens.verify_header(header)?;
        Span::current().record("tenant", principal.tenant.as_str());
        Ok(Authenticated(principal))
    }
}
