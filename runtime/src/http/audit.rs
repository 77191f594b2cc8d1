//! `GET /admin/v1/audit`: the tenant's audit log as admins read it (lifecycle actions, role grants and revokes).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{AdminCaller, ApiQuery};
use super::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Most entries to answer, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Most rows one request returns, and the default.
const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 100;

/// The tenant's newest audit rows first: `{entries: [{id, actor, action, target, details, at}]}`.
pub async fn list(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", format!("limit {limit} is outside 1..={MAX_LIMIT}"))
            .with_details(json!({ "field": "limit" })));
    }
    let entries = state.registry.store().list_audit(&who.tenant, limit).await?;
    Ok(Json(json!({ "entries": entries })))
}
