//! `GET/POST /admin/v1/extensions/{id}/storage`: an extension's stored values as JSON Lines,
//! one `{ namespace, key, value, revision, expiresAt? }` per line. Export streams page by
//! page; import reads the body as it arrives, checks every line, then writes all of it in
//! one transaction (or nothing), keeping revisions so a round trip is exact.

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
use alga_store::{NewAuditEntry, PortableValue};

/// Values per database round trip of an export.
const EXPORT_PAGE: u32 = 500;
/// Largest import body.
const IMPORT_MAX_BYTES: usize = 64 * 1024 * 1024;

pub async fn export(State(state): State<AppState>, AdminCaller(who): AdminCaller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = extension_id(&id)?;
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `merge` (default) writes over same keys and keeps the rest; `replace` deletes
    /// everything first.
    #[serde(default)]
    mode: ImportMode,
}

#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ImportMode {
    #[default]
    Merge,
    Replace,
}

fn invalid(line: usize, message: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "IMPORT_INVALID", format!("line {line}: {message}")).with_details(json!({ "line": line }))
}

pub async fn import(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = extension_id(&id)?;
    let ext = state.registry.get(&who.tenant, id).await?;
    let quota = state.registry.storage_quota();
    let schemas = crate::registry::schemas::NamespaceSchemas::from_manifest(&ext.manifest);
    let mut values: Vec<PortableValue> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let (mut pending, mut received, mut line_no, mut skipped) = (Vec::new(), 0usize, 0usize, 0u64);
    let now = chrono::Utc::now();
    let mut take_line = |line: &[u8], line_no: usize| -> Result<(), ApiError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let value: PortableValue = serde_json::from_slice(line).map_err(|e| invalid(line_no, e))?;
        if let Some(problem) = alga_ops::storage::name_problem(&value.namespace, Some(&value.key)) {
            return Err(invalid(line_no, problem));
        }
        if let Some(problem) = alga_ops::storage::value_problem(&value.value) {
            return Err(invalid(line_no, problem));
        }
        if value.revision < 1 {
            return Err(invalid(line_no, format!("revision {} is not 1 or more", value.revision)));
        }
        let size = alga_store::json_size(&value.value) as usize;
        if size > alga_ops::storage::MAX_VALUE_BYTES {
            return Err(invalid(line_no, format!("value is {size} bytes; the limit is {}", alga_ops::storage::MAX_VALUE_BYTES)));
        }
        if let Some(problem) =
            schemas.as_ref().and_then(|s| alga_ops::storage::ValueValidator::check(s.as_ref(), &value.namespace, &value.value).err())
        {
            return Err(invalid(line_no, problem));
        }
        if !seen.insert((value.namespace.clone(), value.key.clone())) {
            return Err(invalid(line_no, format!("key {:?} of namespace {:?} appears twice", value.key, value.namespace)));
        }
        if value.expires_at.is_some_and(|at| at <= now) {
            skipped += 1;
            return Ok(());
        }
        if values.len() as i64 >= quota.max_keys {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "QUOTA_EXCEEDED",
                format!("more than the {} keys an extension may store", quota.max_keys),
            ));
        }
        values.push(value);
        Ok(())
    };
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "BODY_UNREADABLE", e.to_string()))?;
        received += chunk.len();
        if received > IMPORT_MAX_BYTES {
            return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE", format!("imports are limited to {IMPORT_MAX_BYTES} bytes")));
        }
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
            line_no += 1;
            take_line(&pending[start..start + end], line_no)?;
            start += end + 1;
        }
        pending.drain(..start);
    }
    if !pending.is_empty() {
        take_line(&pending, line_no + 1)?;
    }
    let replace = query.mode == ImportMode::Replace;
    let imported = state.registry.store().storage_import(&who.tenant, id, &values, replace, Some(quota)).await;
    // Whatever happened, cached values of this extension may be out of date now.
    state.registry.storage_cache().invalidate_extension(&alga_ops::storage::cache::StorageCache::scope(who.tenant.as_str(), id));
    let imported = imported?;
    let bytes: i64 = values.iter().map(|v| alga_store::json_size(&v.value)).sum();
    state.registry.storage_audit().record(
        &who.tenant,
        alga_store::StorageAuditEntry {
            extension_id: id,
            at: chrono::Utc::now(),
            actor: who.user.clone(),
            op: if replace { "import_replace".into() } else { "import".into() },
            namespace: String::new(),
            key: String::new(),
            size_bytes: bytes,
        },
    );
    let entry = NewAuditEntry {
        actor: who.user.clone(),
        action: "storage.imported".into(),
        target: id.to_string(),
        details: json!({ "extension": ext.key, "imported": imported, "skipped": skipped, "replace": replace }),
    };
    if let Err(e) = state.registry.store().append_audit(&who.tenant, &entry).await {
        tracing::warn!(error = %e, "cannot audit a storage import");
    }
    Ok(Json(json!({ "imported": imported, "skippedExpired": skipped, "mode": if replace { "replace" } else { "merge" } })))
}
