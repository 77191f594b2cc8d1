//! The HTTP surface: `app()` builds the router from shared state; serving it lives in `crate::serve`.

mod error;
mod health;
mod me;

use std::sync::Arc;
use std::time::Duration;

use alga_store::Store;
use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use error::ApiError;

use crate::auth::{Principal, TokenKeys};

/// What every handler may reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenKeys>,
}

/// The whole HTTP API as a router, ready for `axum::serve` or for `oneshot` in tests.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v1/me", get(me::me))
        .fallback(not_found)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(record_response)
                .on_failure(()),
        )
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
            Some(value) => Some(value.to_str().map_err(|_| {
                ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Authorization header is not ASCII")
            })?),
        };
        let principal = state.tokens.verify_header(header)?;
        Span::current().record("tenant", principal.tenant.as_str());
        Ok(Authenticated(principal))
    }
}
