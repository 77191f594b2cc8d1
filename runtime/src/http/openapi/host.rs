//! OpenAPI operations of the routes the host app calls for its users, and of the public ones (health, metrics, schemas, static UI assets, signed pages).
//!
//! The functions exist only to carry `#[utoipa::path]`; the handlers are in the sibling
//! modules of `http`. `tests/it/openapi.rs` holds these to the router.

#![allow(dead_code)]

use super::schemas::{ApiErrorBody, ApiProxyAnswer, Dashboard, Health, Me, Navigation, Ready, RenderedWidget};
use crate::http::ui::{ApiProxyRequest, PageToken};
use crate::registry::PageView;

#[utoipa::path(get, path = "/healthz", tag = "health", security(()), summary = "Liveness: the process answers",
    responses((status = 200, body = Health)))]
fn healthz() {}

#[utoipa::path(get, path = "/readyz", tag = "health", security(()), summary = "Readiness: database reachable, migrations current",
    responses((status = 200, body = Ready), (status = 503, description = "`NOT_READY`: database unreachable or migrations missing", body = ApiErrorBody)))]
fn readyz() {}

#[utoipa::path(get, path = "/metrics", tag = "health", security(()), summary = "Prometheus metrics (with `--metrics`)",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 404, description = "`NOT_FOUND`: metrics are not enabled", body = ApiErrorBody)))]
fn metrics() {}

#[utoipa::path(get, path = "/schemas/manifest.json", tag = "health", security(()), summary = "The JSON Schema of extension manifests",
    responses((status = 200, description = "A JSON Schema (draft 2020-12)", body = Object)))]
fn manifest_schema() {}

#[utoipa::path(get, path = "/openapi.json", tag = "health", security(()), summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
fn openapi() {}

#[utoipa::path(get, path = "/v1/me", tag = "host", summary = "Who the token says the caller is, and what the caller's roles allow",
    responses((status = 200, body = Me),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 429, description = "`RATE_LIMITED`: the tenant's rate limit; see `Retry-After`", body = ApiErrorBody)))]
fn me() {}

/// Any method reaches the endpoint the extension's manifest declares for it; the body and
/// answer are the extension's own (status 200–599, headers from an allow-list).
#[utoipa::path(method(get, put, post, delete, options, head, patch, trace), path = "/api/extensions/{id}/{path}", tag = "host",
    operation_id = "callEndpoint", summary = "Call an extension's endpoint",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id"),
        ("path" = String, Path, description = "The endpoint path within the extension; may contain `/`")),
    request_body(description = "Whatever the endpoint accepts, up to its `maxBodyBytes` (default 1 MiB)", content(("application/octet-stream"))),
    responses((status = "default", description = "The extension's answer"),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN` naming the missing permission, or `EDITION_REQUIRED`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such endpoint (also another tenant's extension)", body = ApiErrorBody),
        (status = 405, description = "`METHOD_NOT_ALLOWED`: the path is declared for other methods", body = ApiErrorBody),
        (status = 409, description = "`EXTENSION_PENDING` or `EXTENSION_DISABLED`", body = ApiErrorBody),
        (status = 413, description = "`BODY_TOO_LARGE`", body = ApiErrorBody),
        (status = 429, description = "`RATE_LIMITED`; see `Retry-After`", body = ApiErrorBody),
        (status = 500, description = "`EXTENSION_ERROR` (the extension's code threw: the message says what, `details.requestId` and `X-Request-Id` find its stack in the extension's log; `details.stack` in dev mode) or another isolate failure; an extension may answer 500 itself too, and any 4xx/5xx with its own code by throwing `HttpError`", body = ApiErrorBody),
        (status = 502, description = "`EXTENSION_ERROR`: the extension answered a status outside 200–599", body = ApiErrorBody),
        (status = 503, description = "`EXTENSION_SUSPENDED` (with reason and since), or no isolate could be had now (with `Retry-After`)", body = ApiErrorBody),
        (status = 504, description = "The handler ran past its wall-clock deadline", body = ApiErrorBody)))]
fn call_endpoint() {}

#[utoipa::path(get, path = "/api/ui/navigation", tag = "ui", summary = "Navigation items the caller may see",
    responses((status = 200, body = Navigation),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 429, description = "`RATE_LIMITED`; see `Retry-After`", body = ApiErrorBody)))]
fn navigation() {}

#[utoipa::path(get, path = "/api/ui/dashboard", tag = "ui", summary = "Dashboard widgets the caller may see, data widgets answered inline",
    responses((status = 200, body = Dashboard),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 429, description = "`RATE_LIMITED`; see `Retry-After`", body = ApiErrorBody)))]
fn dashboard() {}

#[utoipa::path(get, path = "/api/ui/dashboard/{id}/{widget}", tag = "ui", summary = "One widget, refreshed",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id"), ("widget" = String, Path, description = "The widget's id in the manifest")),
    responses((status = 200, body = RenderedWidget),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN` naming the missing permission", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such widget", body = ApiErrorBody),
        (status = 409, description = "`EXTENSION_PENDING` or `EXTENSION_DISABLED`", body = ApiErrorBody),
        (status = 429, description = "`RATE_LIMITED`; see `Retry-After`", body = ApiErrorBody),
        (status = 503, description = "`EXTENSION_SUSPENDED`", body = ApiErrorBody)))]
fn widget() {}

#[utoipa::path(get, path = "/api/ui/pages/{id}/{path}", tag = "ui", summary = "The iframe URL and metadata of the page a path reaches",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id"),
        ("path" = String, Path, description = "The page path within the extension; may contain `/`")),
    responses((status = 200, body = PageView),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN` naming the missing permission, or `EDITION_REQUIRED`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such page", body = ApiErrorBody),
        (status = 409, description = "`EXTENSION_PENDING` or `EXTENSION_DISABLED`", body = ApiErrorBody),
        (status = 429, description = "`RATE_LIMITED`; see `Retry-After`", body = ApiErrorBody),
        (status = 503, description = "`EXTENSION_SUSPENDED`", body = ApiErrorBody)))]
fn page() {}

#[utoipa::path(get, path = "/api/ui/pages/{id}/", tag = "ui", summary = "The iframe URL and metadata of the extension's page at `/` (an Alga `ui` app's)",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    responses((status = 200, body = PageView),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN` naming the missing permission, or `EDITION_REQUIRED`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND`: no page at `/`", body = ApiErrorBody),
        (status = 409, description = "`EXTENSION_PENDING` or `EXTENSION_DISABLED`", body = ApiErrorBody),
        (status = 429, description = "`RATE_LIMITED`; see `Retry-After`", body = ApiErrorBody),
        (status = 503, description = "`EXTENSION_SUSPENDED`", body = ApiErrorBody)))]
fn root_page() {}

/// Answers a page's `apiproxy` message through the same dispatch as
/// `/api/extensions/{id}/{path}`, as the caller. Failures of the call come back as `error`
/// in a 200, as Alga's bridge expects.
#[utoipa::path(post, path = "/api/ui/apiproxy/{id}", tag = "ui", summary = "The page bridge's apiproxy",
    params(("id" = String, Path, description = "Install id (UUID) or manifest id")),
    request_body = ApiProxyRequest,
    responses((status = 200, body = ApiProxyAnswer),
        (status = 400, description = "`INVALID_JSON`, or `INVALID_ARGUMENT` naming `method`, `route` or `body`", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED`, `INVALID_TOKEN` or `TOKEN_EXPIRED`", body = ApiErrorBody),
        (status = 415, description = "`INVALID_JSON`: the body is not `application/json`", body = ApiErrorBody),
        (status = 429, description = "`RATE_LIMITED`; see `Retry-After`", body = ApiErrorBody)))]
fn apiproxy() {}

/// The page's signed URL (`?t=`, from `GET /api/ui/pages/...`) is the credential: the
/// iframe sends no bearer token.
#[utoipa::path(get, path = "/ext-pages/{id}/{path}", tag = "ui", security(("pageUrl" = [])), summary = "A handler-rendered page",
    params(("id" = String, Path, description = "Install id (UUID)"),
        ("path" = String, Path, description = "The page path within the extension; may contain `/`"), PageToken),
    responses((status = 200, description = "The page as its handler rendered it (HTML), with the page CSP and `Cache-Control: no-store`", body = String, content_type = "text/html"),
        (status = 401, description = "`PAGE_URL_INVALID`: missing, expired or foreign signature", body = ApiErrorBody),
        (status = 403, description = "`FORBIDDEN` or `EDITION_REQUIRED`", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such page, or a static page (served under `/ext-ui`)", body = ApiErrorBody),
        (status = 409, description = "`EXTENSION_PENDING` or `EXTENSION_DISABLED`", body = ApiErrorBody),
        (status = 500, description = "`EXTENSION_ERROR`: the page's handler threw (`details.requestId`; the stack is in the extension's log, and in `details.stack` in dev mode)", body = ApiErrorBody),
        (status = 502, description = "`EXTENSION_ERROR`: the handler answered a status outside 200–599", body = ApiErrorBody),
        (status = 503, description = "`EXTENSION_SUSPENDED`, or no isolate could be had now (with `Retry-After`)", body = ApiErrorBody),
        (status = 504, description = "The handler ran past its wall-clock deadline", body = ApiErrorBody)))]
fn render_page() {}

/// Without a token by default; with `--ui-assets-require-token` a bearer token of the
/// install's tenant is required.
#[utoipa::path(method(get, head), path = "/ext-ui/{id}/{hash}/", tag = "assets", security((), ("bearer" = [])),
    operation_id = "uiAssetRoot", summary = "A UI bundle's root page (client-side routing fallback)",
    params(("id" = String, Path, description = "Install id (UUID)"),
        ("hash" = String, Path, description = "`sha256:<hex>`: the bundle hash of the active or pending version")),
    responses((status = 200, description = "The asset; immutable unless it is a fallback `index.html` (`no-cache`)", body = super::schemas::FileBytes, content_type = "application/octet-stream"),
        (status = 304, description = "Not modified (`If-None-Match` matched the strong `ETag`)"),
        (status = 400, description = "`INVALID_CONTENT_HASH` or `INVALID_PATH`, before any lookup", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED` (only with `--ui-assets-require-token`)", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such version or asset", body = ApiErrorBody)))]
fn ui_asset_root() {}

/// Without a token by default; with `--ui-assets-require-token` a bearer token of the
/// install's tenant is required.
#[utoipa::path(method(get, head), path = "/ext-ui/{id}/{hash}/{path}", tag = "assets", security((), ("bearer" = [])),
    operation_id = "uiAsset", summary = "A static UI asset of an extension's bundle",
    params(("id" = String, Path, description = "Install id (UUID); or `_sdk` for the Host and Page SDKs this runtime ships, at `/ext-ui/_sdk/{version}/{file}` (the runtime's version; public, never behind a token)"),
        ("hash" = String, Path, description = "`sha256:<hex>`: the bundle hash of the active or pending version (for `_sdk`: the runtime's version)"),
        ("path" = String, Path, description = "The asset's path in the bundle; may contain `/` (for `_sdk`: the file, e.g. `alga-page.js`)")),
    responses((status = 200, description = "The asset, typed by its extension; HTML with the CSP. Immutable caching, strong `ETag`", body = super::schemas::FileBytes, content_type = "application/octet-stream"),
        (status = 304, description = "Not modified (`If-None-Match` matched the strong `ETag`)"),
        (status = 400, description = "`INVALID_CONTENT_HASH` or `INVALID_PATH` (`..`, encoded traversal), before any lookup", body = ApiErrorBody),
        (status = 401, description = "`UNAUTHENTICATED` (only with `--ui-assets-require-token`)", body = ApiErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such version or asset", body = ApiErrorBody)))]
fn ui_asset() {}
