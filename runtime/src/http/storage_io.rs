//! `GET/POST /admin/v1/extensions/{id}/storage`: an extension's stored values as JSON Lines,
//! one `{ namespace, key, value, revision, expiresAt? }` per line. Export streams page by
//! page; import reads the body as it arrives and hands each line to the registry
//! (`registry/portable.rs`), which checks it and finally writes all of it in one
//! transaction (or nothing), keeping revisions so a round trip is exact.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{extension_id, AdminCaller, ApiQuery};
use super::{ApiError, AppState};
use crate::registry::ImportError;

/// Values per database round trip of an export.
const EXPORT_PAGE: u32 = 500;
/// Largest import body.
const IMPORT_MAX_BYTES: usize = 64 * 1024 * 1024;

pub async fn export(State(state): State<AppState>, AdminCaller(who): AdminCaller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = extension_id(&state, &who, &id).await?;
    let ext = state.registry.get(&who.tenant, id).await?;
    let store = state.registry.store().clone();
    let tenant = who.tenant.clone();
    // The first page is read before answering, so a failing store is a clean error.
    let first = store.storage_export(&tenant, id, None, EXPORT_PAGE).await?;
    let pages = futures_util::stream::unfold(Some(first), move |page| {
        let (store, tenant) = (store.clone(), tenant.clone());
        async move {
            let page = page?;
            if page.is_empty() {
                return None;
            }
            let mut chunk = Vec::with_capacity(page.len() * 64);
            for value in &page {
                // Serializing our own types cannot fail.
                serde_json::to_writer(&mut chunk, value).ok()?;
                chunk.push(b'\n');
            }
            let next = if page.len() < EXPORT_PAGE as usize {
                Some(Vec::new())
            } else {
                let last = page.last().map(|v| (v.namespace.as_str(), v.key.as_str()));
                match store.storage_export(&tenant, id, last, EXPORT_PAGE).await {
                    Ok(next) => Some(next),
                    Err(e) => {
                        // The status is sent already: cut the body short so the client sees it fail.
                        tracing::error!(tenant = %tenant, error = %e, "storage export failed midway");
                        return Some((Err(std::io::Error::other("storage export failed")), None));
                    }
                }
            };
            Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), next))
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}-storage.jsonl\"", ext.key))
        .body(Body::from_stream(pages))
        .map_err(ApiError::internal)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `merge` (default) writes over same keys and keeps the rest; `replace` deletes
    /// everything first.
    #[serde(default)]
    #[param(inline)]
    mode: ImportMode,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    #[default]
    Merge,
    Replace,
}

fn import_error(err: ImportError) -> ApiError {
    match err {
        ImportError::Invalid { line, message } => {
            ApiError::new(StatusCode::BAD_REQUEST, "IMPORT_INVALID", format!("line {line}: {message}")).with_details(json!({ "line": line }))
        }
        ImportError::TooManyKeys { .. } => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "QUOTA_EXCEEDED", err.to_string()),
        ImportError::Registry(e) => e.into(),
    }
}

/// Frames the body into lines for the registry's import, which checks and writes them.
pub async fn import(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = extension_id(&state, &who, &id).await?;
    let mut import = state.registry.begin_import(&who.tenant, id).await?;
    let (mut lines, mut received) = (alga_store::jsonl::JsonLines::default(), 0usize);
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "BODY_UNREADABLE", e.to_string()))?;
        received += chunk.len();
        if received > IMPORT_MAX_BYTES {
            return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE", format!("imports are limited to {IMPORT_MAX_BYTES} bytes")));
        }
        lines.push(&chunk, |line, line_no| import.take_line(line, line_no)).map_err(import_error)?;
    }
    lines.finish(|line, line_no| import.take_line(line, line_no)).map_err(import_error)?;
    let report = state.registry.finish_import(import, query.mode == ImportMode::Replace, &who.user).await?;
    Ok(Json(json!({
        "imported": report.imported,
        "skippedExpired": report.skipped_expired,
        "mode": if report.replace { "replace" } else { "merge" },
    })))
}
