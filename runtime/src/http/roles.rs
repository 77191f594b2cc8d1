//! `/admin/v1/roles`: the tenant's roles and their permissions; grants and revokes (decided in `registry::roles`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::extract::{AdminCaller, ApiPath};
use super::{ApiError, AppState};
use crate::registry::roles::{RoleChange, RoleError};

/// `GET /admin/v1/roles`: every role with its permissions, and every permission defined in
/// the tenant with the roles holding it. Extension-owned ones name their extension.
pub async fn list(State(state): State<AppState>, AdminCaller(who): AdminCaller) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.registry.roles(&who.tenant).await?)))
}

/// `PUT /admin/v1/roles/{role}/permissions/{permission}`: 201 when granted now, 200 when the
/// role held it already; either way the role as it is.
pub async fn grant(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath((role, permission)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let change = state.registry.grant_role_permission(&who.tenant, &role, &permission, &who.user).await?;
    let status = if change.changed { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, answer(change)))
}

/// `DELETE /admin/v1/roles/{role}/permissions/{permission}`: 200 with the role; 404 when the
/// role does not hold it.
pub async fn revoke(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath((role, permission)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let change = state.registry.revoke_role_permission(&who.tenant, &role, &permission, &who.user).await?;
    Ok((StatusCode::OK, answer(change)))
}

fn answer(change: RoleChange) -> Json<Value> {
    Json(json!({ "role": change.role, "changed": change.changed }))
}

impl From<RoleError> for ApiError {
    fn from(err: RoleError) -> Self {
        let message = err.to_string();
        match err {
            RoleError::InvalidRole(_) => Self::new(StatusCode::BAD_REQUEST, "INVALID_ROLE", message).with_details(json!({ "field": "role" })),
            RoleError::InvalidPermission(_) => {
                Self::new(StatusCode::BAD_REQUEST, "INVALID_PERMISSION", message).with_details(json!({ "field": "permission" }))
            }
            RoleError::NotDeclared { extension, registered, .. } => Self::new(StatusCode::BAD_REQUEST, "PERMISSION_NOT_DECLARED", message)
                .with_details(json!({ "field": "permission", "extension": extension, "registered": registered })),
            RoleError::NotHeld { role, permission } => Self::not_found(message).with_details(json!({ "role": role, "permission": permission })),
            RoleError::Registry(inner) => inner.into(),
        }
    }
}
