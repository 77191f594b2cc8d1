//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: database reachable, schema current).

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState};

/// How long readiness waits for the database before calling it unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let status = tokio::time::timeout(READY_TIMEOUT, state.store.schema_status())
        .await
        .map_err(|_| ApiError::unavailable("NOT_READY", "database did not answer in time", "readyz timeout"))?
        .map_err(|e| ApiError::unavailable("NOT_READY", "database unreachable", crate::diagnostics::error_chain(&e)))?;
    let schema = json!({ "applied": status.applied, "expected": status.expected });
    if !status.is_current() {
        return Err(
            ApiError::unavailable("NOT_READY", "database migrations are not applied", "schema behind").with_details(json!({ "schema": schema }))
        );
    }
    let backend = match state.store.backend() {
        alga_store::Backend::Postgres => "postgres",
        alga_store::Backend::Sqlite => "sqlite",
    };
    // Serving, but possibly from stale caches until the feed of other nodes' changes is back.
    let ready = if state.cluster.state() == crate::cluster::FeedState::Reconnecting { "degraded" } else { "ready" };
    let mut body = json!({
        "status": ready, "database": backend, "schema": schema, "edition": state.registry.edition().as_str(),
        "cluster": state.cluster.report(),
    });
    if !status.rls_bound_functions.is_empty() {
        // Serving works; the background jobs that read across tenants do not.
        body["warnings"] = json!([{
            "code": "RLS_BOUND_FUNCTIONS",
            "message": crate::diagnostics::rls_bound_warning(&status.rls_bound_functions),
            "functions": status.rls_bound_functions,
        }]);
    }
    Ok(Json(body))
}
