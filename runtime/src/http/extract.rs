//! Extractors whose rejections speak the API's error shape instead of axum's plain text.

use alga_store::Permission;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::json;
use uuid::Uuid;

use super::{ApiError, AppState, Authenticated};
use crate::auth::Principal;

/// The permission that admin routes require.
pub const MANAGE: (&str, &str) = ("extension", "manage");

/// A JSON body; malformed bodies get `400 INVALID_JSON` naming what is wrong.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE", rejection.body_text()));
                }
                let status = match rejection {
                    JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    _ => StatusCode::BAD_REQUEST,
                };
                Err(ApiError::new(status, "INVALID_JSON", rejection.body_text()))
            }
        }
    }
}

/// Query parameters; bad ones get `400 INVALID_ARGUMENT`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // A NUL can only arrive percent-encoded; only then are the pairs decoded to name it.
        if parts.uri.query().is_some_and(encoded_nul) {
            if let Ok(axum::extract::Query(pairs)) = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
                refuse_nul(pairs.iter())?;
            }
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_error(rejection)),
        }
    }
}

/// Path parameters; ones that do not decode (bad percent-encoding, not UTF-8) get
/// `400 INVALID_ARGUMENT`.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if encoded_nul(parts.uri.path()) {
            if let Ok(axum::extract::Path(pairs)) = axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state).await {
                refuse_nul(pairs.iter())?;
            }
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => {
                Err(ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", rejection.body_text()).with_details(json!({ "field": "path" })))
            }
        }
    }
}

/// Refuses decoded parameters holding NUL: no name, key or id may contain one, and
/// PostgreSQL cannot even compare text with it (it would answer an error, not "no match").
fn refuse_nul<'a>(mut pairs: impl Iterator<Item = &'a (String, String)>) -> Result<(), ApiError> {
    match pairs.find(|(name, value)| name.contains('\0') || value.contains('\0')) {
        Some((name, _)) => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_FAILED", format!("{} cannot contain NUL characters", clip_name(name)))
                .with_details(json!({ "field": clip_name(name) })))
        }
        None => Ok(()),
    }
}

/// Whether URI text holds a percent-encoded NUL (`%00`): a raw one is not valid in a URI, so
/// this is the only way one reaches a decoded parameter.
fn encoded_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == b"%00")
}

/// A parameter name as it may be echoed: without NUL, at most 64 characters.
fn clip_name(name: &str) -> String {
    name.chars().filter(|c| *c != '\0').take(64).collect()
}

fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", rejection.body_text())
}

/// A caller allowed to manage extensions: a valid token whose roles hold
/// `extension:manage` in the tenant, or one of the configured admin roles.
pub struct AdminCaller(pub Principal);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A bearer token wins; without one, the admin console's session cookie may stand in.
        let bearer = parts.headers.contains_key(axum::http::header::AUTHORIZATION);
        let who = match if bearer { None } else { super::console::session_principal(parts, state)? } {
            Some(who) => who,
            None => Authenticated::from_request_parts(parts, state).await?.0,
        };
        require_admin(state, &who).await?;
        Ok(AdminCaller(who))
    }
}

/// Refuses a principal that may not manage extensions: none of `--admin-roles` and no RBAC
/// grant of `extension:manage`.
pub async fn require_admin(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    if who.roles.iter().any(|r| state.admin_roles.contains(r)) {
        return Ok(());
    }
    let held = state.registry.role_permissions(&who.tenant, &who.roles).await?;
    if held.contains(&Permission::new(MANAGE.0, MANAGE.1)) {
        return Ok(());
    }
    Err(ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", "managing extensions needs the extension:manage permission")
        .with_details(json!({ "required": "extension:manage", "roles": who.roles })))
}

/// The install id an admin route's `{id}` names, by install id or manifest id (as
/// `/api/extensions/{id}` accepts both); 404 naming the id when neither matches.
pub async fn extension_id(state: &AppState, who: &Principal, raw: &str) -> Result<Uuid, ApiError> {
    Ok(state.registry.resolve_id(&who.tenant, raw).await?)
}
