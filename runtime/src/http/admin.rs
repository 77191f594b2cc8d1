//! `/admin/v1/extensions`: upload, review, approve, enable, disable, uninstall, settings.

use alga_bundle::BundleSignature;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{extension_id, AdminCaller, ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState};
use crate::registry::UploadKind;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Allow uploading a version older than the installed one.
    #[serde(default)]
    force: bool,
}

pub async fn upload(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiQuery(query): ApiQuery<UploadQuery>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let limit = state.registry.inspect_options().limits.max_compressed_bytes as usize;
    let mut signature = signature_header(req.headers())?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let bytes = if content_type.starts_with("multipart/form-data") {
        let (bundle, sig) = read_multipart(req, &state, limit).await?;
        signature = signature.or(sig);
        bundle
    } else {
        axum::body::to_bytes(req.into_body(), limit + 1).await.map_err(|_| too_large(limit))?
    };
    if bytes.len() > limit {
        return Err(too_large(limit));
    }
    if bytes.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BUNDLE_MISSING",
            "the request body must be the bundle (.zip or .tar.gz), raw or as multipart field `bundle`",
        ));
    }
    let outcome = state.registry.upload(&who.tenant, &who.user, bytes.to_vec(), signature, query.force).await?;
    let status = if outcome.kind == UploadKind::Unchanged { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(json!(outcome))))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "BUNDLE_TOO_LARGE", format!("the bundle exceeds the limit of {limit} bytes"))
}

/// `X-Alga-Signature: <keyId>:<base64 signature>`, the header form of a `.sig` file.
fn signature_header(headers: &HeaderMap) -> Result<Option<BundleSignature>, ApiError> {
    let Some(value) = headers.get("x-alga-signature") else { return Ok(None) };
    let bad = || ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", "X-Alga-Signature must be <keyId>:<base64 signature>");
    let (key_id, sig) = value.to_str().map_err(|_| bad())?.split_once(':').ok_or_else(bad)?;
    Ok(Some(BundleSignature { key_id: key_id.trim().into(), algorithm: "ed25519".into(), signature: sig.trim().into() }))
}

async fn read_multipart(req: Request, state: &AppState, limit: usize) -> Result<(Bytes, Option<BundleSignature>), ApiError> {
    let invalid = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_MULTIPART", message);
    let mut form = Multipart::from_request(req, state).await.map_err(|e| invalid(e.body_text()))?;
    let (mut bundle, mut signature) = (None, None);
    while let Some(mut field) = form.next_field().await.map_err(|e| invalid(e.body_text()))? {
        match field.name().unwrap_or("") {
            "bundle" => {
                let mut data = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| invalid(e.body_text()))? {
                    if data.len() + chunk.len() > limit {
                        return Err(too_large(limit));
                    }
                    data.extend_from_slice(&chunk);
                }
                bundle = Some(Bytes::from(data));
            }
            "signature" => {
                let text = field.text().await.map_err(|e| invalid(e.body_text()))?;
                let sig = serde_json::from_str(&text).map_err(|e| invalid(format!("field `signature` is not a signature file: {e}")))?;
                signature = Some(sig);
            }
            other => return Err(invalid(format!("unexpected field {other:?}; expected `bundle` and optionally `signature`"))),
        }
    }
    let bundle = bundle.ok_or_else(|| invalid("missing field `bundle`".into()))?;
    Ok((bundle, signature))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only extensions in this lifecycle state.
    status: Option<alga_store::ExtensionStatus>,
    /// Case-insensitive substring of the display name or the manifest id.
    name: Option<String>,
    /// `name`, `createdAt` or `updatedAt`; a leading `-` sorts descending.
    sort: Option<String>,
    /// Page size, 1..=200 (default 50).
    // Text, not a number, so a bad value is refused by name like a bad cursor.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// Default and largest page of the admin list.
const LIST_DEFAULT_LIMIT: u32 = 50;
const LIST_MAX_LIMIT: u32 = 200;

/// `GET /admin/v1/extensions`: a page of the tenant's extensions and the cursor of the
/// next (`null` on the last page).
pub async fn list(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    use alga_store::ExtensionOrder;
    let filter = alga_store::ExtensionFilter { status: query.status, name_contains: query.name };
    let sort = query.sort.as_deref().unwrap_or("name");
    let (descending, field) = match sort.strip_prefix('-') {
        Some(field) => (true, field),
        None => (false, sort),
    };
    let order = match field {
        "name" => ExtensionOrder::Name,
        "createdAt" => ExtensionOrder::CreatedAt,
        "updatedAt" => ExtensionOrder::UpdatedAt,
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                format!("sort: unknown field {:?}; use name, createdAt or updatedAt", clip(other)),
            )
            .with_details(json!({ "field": "sort" })))
        }
    };
    let limit = match query.limit.as_deref() {
        None => LIST_DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=LIST_MAX_LIMIT).contains(n))
            .ok_or_else(|| validation_failed("limit", format!("limit must be a whole number from 1 to {LIST_MAX_LIMIT}")))?,
    };
    let after = match query.cursor.as_deref() {
        None => None,
        Some(raw) => Some(
            super::list_cursor::decode(raw, order, descending)
                .ok_or_else(|| validation_failed("cursor", "cursor is not one this list handed out for this sort; start again without it"))?,
        ),
    };
    let page = alga_store::ExtensionPage { order, descending, after, limit: limit + 1 };
    let mut found = state.store.list_extensions_page(&who.tenant, &filter, &page).await?;
    // One more than asked tells whether another page follows.
    let next = (found.len() > limit as usize).then(|| {
        found.truncate(limit as usize);
        found.last().map(|last| super::list_cursor::encode(order, descending, last))
    });
    // An update waiting for approval is not a status of its own: say so on each item, so a
    // list can badge it without asking for every extension's detail.
    let pending: std::collections::HashMap<uuid::Uuid, String> = state.store.pending_versions(&who.tenant).await?.into_iter().collect();
    let items: Vec<Value> = found
        .iter()
        .map(|ext| {
            let mut item = json!(ext);
            let update = pending.get(&ext.id).filter(|_| ext.status != alga_store::ExtensionStatus::PendingApproval);
            item["pendingUpdate"] = json!(update);
            item
        })
        .collect();
    Ok(Json(json!({ "extensions": items, "nextCursor": next.flatten() })))
}

fn validation_failed(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_FAILED", message).with_details(json!({ "field": field }))
}

/// Caller-supplied text quoted in a message, cut short.
fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

pub async fn detail(State(state): State<AppState>, AdminCaller(who): AdminCaller, ApiPath(id): ApiPath<String>) -> Result<Json<Value>, ApiError> {
    let detail = state.registry.detail(&who.tenant, extension_id(&state, &who, &id).await?).await?;
    Ok(Json(json!(detail)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Most entries to answer, 1..=1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The extension's audited storage changes, newest first (`?limit=` up to 1000, default 100).
pub async fn storage_audit(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = extension_id(&state, &who, &id).await?;
    state.registry.get(&who.tenant, id).await?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", format!("limit {limit} is outside 1..=1000"))
            .with_details(json!({ "field": "limit" })));
    }
    let entries = state.registry.store().list_storage_audit(&who.tenant, id, limit).await?;
    Ok(Json(json!({ "entries": entries })))
}

/// The extension's storage usage against its quota.
pub async fn storage_usage(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.registry.storage_usage(&who.tenant, extension_id(&state, &who, &id).await?).await?)))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// Capabilities to grant; all that the version requests when omitted.
    permissions: Option<Vec<String>>,
    /// Enable the extension in the same step.
    #[serde(default)]
    enable: bool,
}

pub async fn approve(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    // The body is optional: an empty one approves everything requested, without enabling.
    let body: ApproveBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_JSON", format!("approve body: {e}")))?
    };
    let ext = state.registry.approve(&who.tenant, extension_id(&state, &who, &id).await?, body.permissions, body.enable, &who.user).await?;
    Ok(Json(json!({ "extension": ext })))
}

/// `DELETE /admin/v1/extensions/{id}/pending`: rejects the update that waits for approval.
pub async fn discard_update(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.registry.discard_update(&who.tenant, extension_id(&state, &who, &id).await?, &who.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn enable(State(state): State<AppState>, AdminCaller(who): AdminCaller, ApiPath(id): ApiPath<String>) -> Result<Json<Value>, ApiError> {
    let ext = state.registry.set_enabled(&who.tenant, extension_id(&state, &who, &id).await?, true, &who.user).await?;
    Ok(Json(json!({ "extension": ext })))
}

pub async fn disable(State(state): State<AppState>, AdminCaller(who): AdminCaller, ApiPath(id): ApiPath<String>) -> Result<Json<Value>, ApiError> {
    let ext = state.registry.set_enabled(&who.tenant, extension_id(&state, &who, &id).await?, false, &who.user).await?;
    Ok(Json(json!({ "extension": ext })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UninstallQuery {
    /// Also delete the extension's stored values (kept by default).
    #[serde(default)]
    purge: bool,
}

pub async fn uninstall(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<UninstallQuery>,
) -> Result<StatusCode, ApiError> {
    state.registry.uninstall(&who.tenant, extension_id(&state, &who, &id).await?, query.purge, &who.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_settings(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.registry.settings(&who.tenant, extension_id(&state, &who, &id).await?).await?)))
}

pub async fn put_settings(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(update): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.registry.update_settings(&who.tenant, extension_id(&state, &who, &id).await?, &update, &who.user).await?)))
}

pub async fn reset_settings(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.registry.reset_settings(&who.tenant, extension_id(&state, &who, &id).await?, &who.user).await?)))
}

pub async fn manifest_schema() -> Json<Value> {
    Json(alga_bundle::Manifest::json_schema())
}

fn limits_view(state: &AppState, ext: &alga_store::Extension) -> Value {
    let limits = state.pool.limits_for(ext);
    json!({
        "overrides": ext.limits,
        "effective": {
            "cpuSoftMs": limits.cpu_soft.as_millis(), "cpuHardMs": limits.cpu_hard.as_millis(),
            "heapMb": limits.heap_max_bytes / (1024 * 1024), "timeoutMs": limits.wall.as_millis(),
            "maxBodyBytes": limits.body_max_bytes,
        },
        "ceilings": state.pool.config().ceilings,
    })
}

pub async fn get_limits(State(state): State<AppState>, AdminCaller(who): AdminCaller, ApiPath(id): ApiPath<String>) -> Result<Json<Value>, ApiError> {
    let ext = state.registry.get(&who.tenant, extension_id(&state, &who, &id).await?).await?;
    Ok(Json(limits_view(&state, &ext)))
}

pub async fn put_limits(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(overrides): ApiJson<crate::isolate::limits::LimitOverrides>,
) -> Result<Json<Value>, ApiError> {
    let problems = overrides.problems(&state.pool.config().ceilings);
    if !problems.is_empty() {
        let list: Vec<Value> = problems.iter().map(|(pointer, message)| json!({ "pointer": pointer, "message": message })).collect();
        let message = problems.iter().map(|(p, m)| format!("{p}: {m}")).collect::<Vec<_>>().join("; ");
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "LIMITS_INVALID", message).with_details(json!({ "problems": list })));
    }
    let ext = state.registry.set_limits(&who.tenant, extension_id(&state, &who, &id).await?, &overrides, &who.user).await?;
    Ok(Json(limits_view(&state, &ext)))
}
