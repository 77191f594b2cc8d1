//! `GET /v1/me`: who the presented token says the caller is, and what the caller's roles allow.
//! Useful to check a token by hand before calling anything else.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::{ApiError, AppState, Authenticated};

pub async fn me(State(state): State<AppState>, Authenticated(who): Authenticated) -> Result<Json<Value>, ApiError> {
    let permissions = state.registry.role_permissions(&who.tenant, &who.roles).await?;
    let permissions: Vec<String> = permissions.iter().map(ToString::to_string).collect();
    Ok(Json(json!({
        "tenant": who.tenant,
        "user": who.user,
        "roles": who.roles,
        "permissions": permissions,
        "edition": state.registry.edition().as_str(),
    })))
}
