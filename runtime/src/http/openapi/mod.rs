//! `GET /openapi.json`: the OpenAPI 3.1 document of every route `app()` serves, generated with utoipa from the real request and response types.
//!
//! Operations are declared in `host.rs` and `admin.rs`, bodies the handlers build in place in
//! `schemas.rs`. `tests/it/openapi.rs` probes every method of every route of
//! [`super::routes`] and holds the document to exactly what is served.

mod admin;
mod host;
pub mod schemas;

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Alga Extension Runtime", description = "The runtime's HTTP API: what the host app calls for its users (`/v1/me`, \
        `/api/extensions/...`, `/api/ui/...`), what the iframe loads (`/ext-ui/...`, `/ext-pages/...`), the admin API \
        (`/admin/v1/...`) and the public health routes. Every error the runtime answers itself is an `ApiErrorBody`; \
        an extension's own answers are passed on as they are."),
    paths(
        host::healthz, host::readyz, host::metrics, host::manifest_schema, host::openapi, host::me, host::call_endpoint,
        host::navigation, host::dashboard, host::widget, host::page, host::root_page, host::apiproxy, host::render_page, host::ui_asset_root,
        host::ui_asset,
        admin::upload, admin::list, admin::detail, admin::uninstall, admin::approve, admin::discard_update, admin::enable, admin::disable,
        admin::get_limits, admin::put_limits, admin::storage_usage, admin::recent_errors, admin::logs, admin::storage_audit, admin::storage_export,
        admin::storage_import, admin::get_settings, admin::put_settings, admin::reset_settings, admin::audit, admin::roles,
        admin::grant, admin::revoke,
    ),
    components(schemas(alga_store::PortableValue)),
    modifiers(&Security),
    security(("bearer" = [])),
    tags(
        (name = "health", description = "Public: liveness, readiness, metrics, schemas"),
        (name = "host", description = "What the host app calls for its users (bearer JWT; per-tenant rate limit)"),
        (name = "ui", description = "Navigation, dashboard widgets, pages and the page bridge"),
        (name = "assets", description = "Static UI assets at Alga-compatible URLs"),
        (name = "admin", description = "Extension lifecycle, limits, storage and settings (needs `extension:manage`)"),
        (name = "roles", description = "Role permissions (needs `extension:manage`)"),
        (name = "audit", description = "The tenant's audit log (needs `extension:manage`)"),
    )
)]
struct ApiDoc;

/// The security schemes: the host's bearer JWT, and the signature of a handler page's URL.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        bearer.description = Some("A JWT carrying the tenant, user and roles (HS256 with `--jwt-secret`, or EdDSA with `--jwt-public-key`).".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let page =
            ApiKeyValue::with_description("t", "The signature in a handler page's URL, handed out by `GET /api/ui/pages/...`; valid five minutes.");
        components.add_security_scheme("pageUrl", SecurityScheme::ApiKey(ApiKey::Query(page)));
    }
}

/// The document, built once: it depends on nothing but this build.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        tidy(&mut doc);
        doc
    })
}

/// Two touches utoipa leaves to us. An operation declared for several methods at once
/// (`/api/extensions/{id}/{path}`, `/ext-ui/...`) carries one `operationId`; OpenAPI wants
/// each unique, so every repeat gets its method appended. A response declared with only a
/// body has an empty description; it gets the status's reason phrase (`OK`, `Created`).
fn tidy(doc: &mut utoipa::openapi::OpenApi) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for item in doc.paths.paths.values_mut() {
        let operations = [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("options", &mut item.options),
            ("head", &mut item.head),
            ("patch", &mut item.patch),
            ("trace", &mut item.trace),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response {
                    if response.description.is_empty() {
                        let reason = status.parse::<u16>().ok().and_then(|s| StatusCode::from_u16(s).ok()).and_then(|s| s.canonical_reason());
                        response.description = reason.unwrap_or("Answer").to_owned();
                    }
                }
            }
            let Some(id) = operation.operation_id.clone() else { continue };
            let count = seen.entry(id.clone()).or_default();
            *count += 1;
            if *count > 1 {
                operation.operation_id = Some(format!("{id}_{method}"));
            }
        }
    }
}

/// `GET /openapi.json`: served without a token, like the manifest schema.
pub async fn serve() -> Response {
    static JSON: OnceLock<String> = OnceLock::new();
    // Serializing utoipa's own types cannot fail; an empty object would be the fallback.
    let body = JSON.get_or_init(|| document().to_json().unwrap_or_else(|_| "{}".into()));
    ([(header::CONTENT_TYPE, "application/json")], body.as_str()).into_response()
}
