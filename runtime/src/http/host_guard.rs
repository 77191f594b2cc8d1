//! The guard of host-facing routes: the caller's token is verified and its tenant's rate
//! limit taken before the handler runs. Put it on a route with
//! `get(handler).route_layer(from_fn_with_state(state.clone(), host_guard::host_route))`
//! (`.layer(...)` on an `any(...)` route, which has no method routes for `route_layer`).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use super::cors::CorsPolicy;
use super::{ApiError, AppState, Authenticated};
use crate::auth::Principal;
use crate::rate_limit::{RateLimited, TenantRateLimit};

/// What guards the host-facing surface, beyond tokens: the per-tenant rate limit and which
/// browser origins may call (CORS). The default guards nothing: no rate limit, no CORS.
#[derive(Default)]
pub struct HostGuards {
    pub rate_limit: Option<TenantRateLimit>,
    pub cors: CorsPolicy,
}

/// The caller a guard already verified, handed to the handler's `Authenticated` extractor
/// through the request's extensions so the token is not checked twice. Only the server
/// puts it there: extensions never come from the wire.
#[derive(Clone)]
pub(super) struct Verified(pub Principal);

/// Middleware of host-facing routes: 401 without a valid token, `429 RATE_LIMITED` (with
/// `Retry-After`) when the tenant is over its rate; otherwise the request goes on with
/// its verified caller attached.
pub async fn host_route(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    let Authenticated(who) = Authenticated::from_request_parts(&mut parts, &state).await?;
    check_rate(&state, &who)?;
    parts.extensions.insert(Verified(who));
    Ok(next.run(Request::from_parts(parts, body)).await)
}

/// `429 RATE_LIMITED` (with `Retry-After`) when the caller's tenant is over its rate.
pub(super) fn check_rate(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    match &state.guards.rate_limit {
        Some(limit) => limit.check(&who.tenant).map_err(|refused| rate_limited(who, refused)),
        None => Ok(()),
    }
}

fn rate_limited(who: &Principal, refused: RateLimited) -> ApiError {
    let seconds = refused.retry_after_secs();
    metrics::counter!("alga_http_rate_limited_total").increment(1);
    tracing::debug!(tenant = %who.tenant, retry_after = seconds, "tenant over its rate limit");
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        format!(
            "tenant {} is over its rate limit of {} requests per second (bursts of {}); retry in {seconds} s",
            who.tenant, refused.per_second, refused.burst
        ),
    )
    .with_details(json!({ "limitPerSecond": refused.per_second, "burst": refused.burst, "retryAfterSeconds": seconds }))
    .with_retry_after(seconds)
}
