//! OpenAPI operations of the admin routes (`/admin/v1/...`): extensions, their limits, storage and settings, roles, audit.
//!
//! The functions exist only to carry `#[utoipa::path]`; the handlers are in `http::admin`,
//! `http::storage_io`, `http::roles` and `http::audit`. Every admin route needs a token
//! whose roles hold `extension:manage` (or one of `--admin-roles`).

#![allow(dead_code)]

use super::schemas::{
    ApiErrorBody, AuditList, BundleArchive, ExtensionEnvelope, ExtensionPage, ImportReport, LimitsView, LogList, RecentErrors, RoleChangeView,
    SettingsUpdate, StorageAuditList, StorageLines, UploadForm,
};
use crate::http::admin::{ApproveBody, AuditQuery, ListQuery, UninstallQuery, UploadQuery};
use crate::http::logs::LogsQuery;
use crate::http::storage_io::ImportQuery;
use crate::isolate::limits::LimitOverrides;
use crate::registry::roles::RolesView;
use crate::registry::{ExtensionDetail, SettingsView, UploadOutcome, UsageReport};

#[utoipa::path(post, path = "/admin/v1/extensions", tag = "admin", summary = "Upload a bundle: a new install, a pending update, or nothing new",
    params(UploadQuery, ("X-Alga-Signature" = Option<String>, Header, description = "`<keyId>:<base64 signature>`, the header form of a `.sig` file")),
    request_body(description = "The bundle, raw or as multipart field `bundle` (with an optional `signature` field)",
        content((BundleArchive = "application/zip"), (BundleArchive = "application/gzip"), (BundleArchive = "application/octet-stream"), (UploadForm = "multipart/form-data"))),
    responses((status = 201, description = "Installed (pending approval) or an update recorded as pending", body = UploadOutcome),
        (status = 200, description = "The same bundle was uploaded before: nothing changed", body = UploadOutcome),
        (status = 400, description = "`BUNDLE_MISSING`, `INVALID_MULTIPART` or `INVALID_ARGUMENT`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN` (needs `extension:manage`) or `EDITION_REQUIRED` listing each EE-only item", body = ApiErrorBody),
        (status = 409, description = "`VERSION_IMMUTABLE`, `DOWNGRADE_REFUSED` or `EXTENSION_LIMIT`", body = ApiErrorBody),
        (status = 413, description = "`BUNDLE_TOO_LARGE`", body = ApiErrorBody),
        (status = 422, description = "The bundle is refused: a code per rule (`MANIFEST_INVALID`, `SIGNATURE_REQUIRED`, ...) with its problems", body = ApiErrorBody)))]
fn upload() {}

#[utoipa::path(get, path = "/admin/v1/extensions", tag = "admin", summary = "A page of the tenant's extensions",
    params(ListQuery),
    responses((status = 200, body = ExtensionPage),
        (status = 400, description = "`VALIDATION_FAILED` naming `limit` or `cursor`, or `INVALID_ARGUMENT` naming `sort`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody)))]
fn list() {}

#[utoipa::path(get, path = "/admin/v1/extensions/{id}", tag = "admin", summary = "An extension with its capabilities, versions, pending update, review and suspension",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, body = ExtensionDetail),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn detail() {}

#[utoipa::path(delete, path = "/admin/v1/extensions/{id}", tag = "admin", summary = "Uninstall (hooks run; stored values kept unless `purge`)",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id"), UninstallQuery),
    responses((status = 204, description = "Uninstalled"),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody),
        (status = 422, description = "`HOOK_FAILED`", body = ApiErrorBody)))]
fn uninstall() {}

#[utoipa::path(post, path = "/admin/v1/extensions/{id}/approve", tag = "admin", summary = "Approve the pending version, granting capabilities",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    request_body(description = "Optional: an empty body grants everything requested without enabling", content = ApproveBody),
    responses((status = 200, body = ExtensionEnvelope),
        (status = 400, description = "`INVALID_JSON`, or `INVALID_ARGUMENT` naming a permission that was not requested", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody),
        (status = 409, description = "`NOTHING_TO_APPROVE`", body = ApiErrorBody),
        (status = 422, description = "`HOOK_FAILED`", body = ApiErrorBody)))]
fn approve() {}

#[utoipa::path(post, path = "/admin/v1/extensions/{id}/enable", tag = "admin", summary = "Enable an approved extension",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, body = ExtensionEnvelope),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody),
        (status = 409, description = "`NOT_APPROVED`", body = ApiErrorBody)))]
fn enable() {}

#[utoipa::path(post, path = "/admin/v1/extensions/{id}/disable", tag = "admin", summary = "Disable an extension",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, body = ExtensionEnvelope),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn disable() {}

#[utoipa::path(get, path = "/admin/v1/extensions/{id}/limits", tag = "admin", summary = "Isolate limits: overrides, effective values, ceilings",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, body = LimitsView),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn get_limits() {}

#[utoipa::path(put, path = "/admin/v1/extensions/{id}/limits", tag = "admin", summary = "Set isolate limit overrides (replaces earlier ones)",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    request_body = LimitOverrides,
    responses((status = 200, body = LimitsView),
        (status = 400, description = "`LIMITS_INVALID` with `problems` (JSON pointer and message each) or `INVALID_JSON`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody),
        (status = 415, description = "`INVALID_JSON`: the body is not `application/json`", body = ApiErrorBody)))]
fn put_limits() {}

#[utoipa::path(get, path = "/admin/v1/extensions/{id}/storage/usage", tag = "admin", summary = "Storage usage against the quota",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, body = UsageReport),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn storage_usage() {}

#[utoipa::path(delete, path = "/admin/v1/extensions/{id}/pending", tag = "admin", summary = "Reject the update that waits for approval",
    description = "The serving version goes on serving; the update's files are dropped. An install that was never approved \
        is discarded by uninstalling it instead.",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 204, description = "Discarded"),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody),
        (status = 409, description = "`NOTHING_TO_APPROVE` (no update waits) or `NOT_APPROVED` (the install itself waits: uninstall it)", body = ApiErrorBody)))]
fn discard_update() {}

#[utoipa::path(get, path = "/admin/v1/extensions/{id}/logs", tag = "admin", summary = "Recent console output and failures on this node",
    description = "What the extension logged (`source: console`) and what happened to it (`source: runtime`: limit hits, crashes, \
        widget timeouts, circuit-breaker trips, each with its `code`), newest first, at most 500 entries and 128 KiB per extension, \
        kept in memory: another node has its own, and a restart forgets them. With `follow=1` the answer is `text/event-stream`: \
        the recent entries oldest first, then each new one as a `log` event (a `missed` event when the client fell behind); \
        a stream ends after an hour (the caller's rights were checked when it began), and a tenant has at most 16 at once.",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id"), LogsQuery),
    responses((status = 200, body = LogList),
        (status = 400, description = "`VALIDATION_FAILED` naming `level`, `limit` or `follow`", body = ApiErrorBody),
        (status = 429, description = "`TOO_MANY_FOLLOWERS`: the tenant already follows 16 logs (with `Retry-After`)", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn logs() {}

#[utoipa::path(get, path = "/admin/v1/extensions/{id}/errors", tag = "admin", summary = "Recent failures on this node, newest first",
    description = "The failures of the extension's log (`…/logs` with only `source: runtime` entries): limit hits, crashes, \
        widget timeouts and circuit-breaker trips that this node saw, kept in memory.",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, body = RecentErrors),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn recent_errors() {}

#[utoipa::path(get, path = "/admin/v1/extensions/{id}/storage/audit", tag = "admin", summary = "Audited storage changes, newest first",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id"), AuditQuery),
    responses((status = 200, body = StorageAuditList),
        (status = 400, description = "`INVALID_ARGUMENT` naming `limit`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn storage_audit() {}

#[utoipa::path(get, path = "/admin/v1/extensions/{id}/storage", tag = "admin", summary = "Export stored values as JSON Lines (streamed)",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, description = "One `PortableValue` per line; `Content-Disposition: attachment`", body = StorageLines, content_type = "application/x-ndjson"),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn storage_export() {}

#[utoipa::path(post, path = "/admin/v1/extensions/{id}/storage", tag = "admin", summary = "Import JSON Lines: all lines or nothing",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id"), ImportQuery),
    request_body(description = "One `PortableValue` per line, at most 64 MiB", content((StorageLines = "application/x-ndjson"), (StorageLines = "application/jsonl"))),
    responses((status = 200, body = ImportReport),
        (status = 400, description = "`IMPORT_INVALID` naming the line, or `INVALID_ARGUMENT` naming `mode`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody),
        (status = 413, description = "`BODY_TOO_LARGE` or `QUOTA_EXCEEDED`", body = ApiErrorBody)))]
fn storage_import() {}

#[utoipa::path(get, path = "/admin/v1/extensions/{id}/settings", tag = "admin", summary = "Settings values and their declarations",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, body = SettingsView),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn get_settings() {}

#[utoipa::path(put, path = "/admin/v1/extensions/{id}/settings", tag = "admin", summary = "Change settings (the named ones; others are kept)",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    request_body = SettingsUpdate,
    responses((status = 200, body = SettingsView),
        (status = 400, description = "`SETTINGS_INVALID` with `problems`, or `INVALID_JSON`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody),
        (status = 415, description = "`INVALID_JSON`: the body is not `application/json`", body = ApiErrorBody)))]
fn put_settings() {}

#[utoipa::path(delete, path = "/admin/v1/extensions/{id}/settings", tag = "admin", summary = "Reset settings to their defaults",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, body = SettingsView),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND` naming the id", body = ApiErrorBody)))]
fn reset_settings() {}

#[utoipa::path(get, path = "/admin/v1/audit", tag = "audit", summary = "The tenant's audit log, newest first",
    params(crate::http::audit::AuditQuery),
    responses((status = 200, body = AuditList),
        (status = 400, description = "`INVALID_ARGUMENT` naming `limit`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody)))]
fn audit() {}

#[utoipa::path(get, path = "/admin/v1/roles", tag = "roles", summary = "Roles with their permissions, and every permission defined in the tenant",
    responses((status = 200, body = RolesView),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody)))]
fn roles() {}

#[utoipa::path(put, path = "/admin/v1/roles/{role}/permissions/{permission}", tag = "roles", summary = "Grant a permission to a role (audited)",
    params(("role" = String, Path, description = "The role name as tokens carry it"), ("permission" = String, Path, description = "`resource:action`")),
    responses((status = 201, description = "Granted now", body = RoleChangeView),
        (status = 200, description = "The role held it already", body = RoleChangeView),
        (status = 400, description = "`INVALID_ROLE`, `INVALID_PERMISSION` or `PERMISSION_NOT_DECLARED`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody)))]
fn grant() {}

#[utoipa::path(delete, path = "/admin/v1/roles/{role}/permissions/{permission}", tag = "roles", summary = "Revoke a permission from a role (audited)",
    params(("role" = String, Path, description = "The role name as tokens carry it"), ("permission" = String, Path, description = "`resource:action`")),
    responses((status = 200, description = "Revoked", body = RoleChangeView),
        (status = 400, description = "`INVALID_ROLE` or `INVALID_PERMISSION`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN`: needs `extension:manage`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND`: the role does not hold it", body = ApiErrorBody)))]
fn revoke() {}
