//! The host-facing UI routes: navigation, dashboard widgets, page descriptors, handler-rendered pages and the page bridge's `apiproxy`.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::dispatch::{self, EndpointBody};
use super::extract::{ApiJson, ApiPath};
use super::{ApiError, AppState, Authenticated};
use crate::auth::Principal;
use crate::isolate::Invocation;
use crate::registry::{DispatchTarget, WidgetKind, WidgetSlot};

/// Default time a data widget's handler has before it is reported as failed.
pub const WIDGET_BUDGET: Duration = Duration::from_millis(500);

/// Largest JSON a data widget may answer with.
const MAX_WIDGET_BYTES: usize = 256 * 1024;

/// The policy of HTML the runtime serves into the host's iframes (static and handler pages),
/// before `frame-ancestors`. `sandbox` without `allow-same-origin` gives every such document
/// an opaque origin wherever it is opened — framed or as a top-level link — so an
/// extension's script never runs as the origin that serves it (which operators may share
/// with the host app); pages talk to the host through `postMessage` only.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
    connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; sandbox allow-scripts allow-forms allow-popups";

/// The policy every extension document also gets, whatever the configured one says.
pub const SANDBOX_CSP: &str = "sandbox allow-scripts allow-forms allow-popups";

/// `GET /api/ui/navigation`: the navigation items the caller may see.
pub async fn navigation(State(state): State<AppState>, Authenticated(who): Authenticated) -> Result<Json<Value>, ApiError> {
    let items = state.registry.navigation(&who.tenant, &who.user, &who.roles).await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/ui/dashboard`: the widgets the caller may see, data widgets answered inline,
/// each within its own time budget; a failing widget does not fail the list.
pub async fn dashboard(State(state): State<AppState>, Authenticated(who): Authenticated) -> Result<Json<Value>, ApiError> {
    let slots = state.registry.dashboard(&who.tenant, &who.roles).await?;
    let rendered = futures_util::future::join_all(slots.into_iter().map(|(target, slot)| render(&state, &who, target, slot))).await;
    Ok(Json(json!({ "widgets": rendered })))
}

/// `GET /api/ui/dashboard/{extensionId}/{widgetId}`: one widget, refreshed.
pub async fn widget(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    ApiPath((id, widget_id)): ApiPath<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (target, slot) = state.registry.widget(&who.tenant, &who.roles, &id, &widget_id).await.map_err(|e| match e {
        crate::registry::RouteError::NotFound => ApiError::not_found(format!("no widget {widget_id:?} in extension {id:?}")),
        other => other.into(),
    })?;
    Ok(Json(render(&state, &who, target, slot).await))
}

/// A widget as the host gets it: `state: "ok"` with `data` (data widgets) or `url` (frame
/// widgets), or `state: "error"` with `code` and `message`.
async fn render(state: &AppState, who: &Principal, target: std::sync::Arc<DispatchTarget>, slot: WidgetSlot) -> Value {
    let mut out = serde_json::to_value(&slot).unwrap_or_default();
    let outcome = match (slot.kind, &slot.handler) {
        (WidgetKind::Data, Some(handler)) => widget_data(state, who, &target, &slot, handler).await,
        _ => Ok(None),
    };
    match outcome {
        Ok(data) => {
            out["state"] = json!("ok");
            if let Some(data) = data {
                out["data"] = data;
            }
        }
        Err(err) => {
            out["state"] = json!("error");
            out["code"] = json!(err.code);
            out["message"] = json!(err.message);
        }
    }
    out
}

async fn widget_data(
    state: &AppState,
    who: &Principal,
    target: &DispatchTarget,
    slot: &WidgetSlot,
    handler: &str,
) -> Result<Option<Value>, ApiError> {
    let ext = &target.extension;
    let path = format!("/widgets/{}", slot.id);
    let invocation = Invocation {
        handler: handler.to_owned(),
        request: dispatch::request_json(&Method::GET, &path, None, &HeaderMap::new(), &Bytes::new(), Default::default())?,
        ctx: dispatch::ctx_for(who, target, slot.permissions.clone()),
        is_page: false,
    };
    let budget = state.widget_budget;
    let answer = tokio::time::timeout(budget, dispatch::run(state, ext, invocation)).await.map_err(|_| {
        let message = format!("the widget did not answer within {} ms", budget.as_millis());
        state.registry.logs().record_failure(&ext.tenant_id, ext.id, "WIDGET_TIMEOUT", &message);
        ApiError::new(StatusCode::GATEWAY_TIMEOUT, "WIDGET_TIMEOUT", message)
    })??;
    if answer.status >= 400 {
        return Err(ApiError::new(StatusCode::BAD_GATEWAY, "EXTENSION_ERROR", format!("the widget's handler answered status {}", answer.status)));
    }
    let body = answer.body.unwrap_or_default();
    if body.is_empty() {
        return Ok(Some(Value::Null));
    }
    if body.len() > MAX_WIDGET_BYTES {
        return Err(ApiError::new(StatusCode::BAD_GATEWAY, "WIDGET_TOO_LARGE", format!("widget data is limited to {MAX_WIDGET_BYTES} bytes")));
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "WIDGET_INVALID_DATA", format!("the widget's handler did not answer JSON: {e}")))
}

/// `GET /api/ui/pages/{extensionId}/{*path}`: the iframe URL and metadata of the page the
/// path reaches, for the host's router.
pub async fn page(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    ApiPath((id, _)): ApiPath<(String, String)>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let path = dispatch::raw_tail(uri.path(), "/api/ui/pages/").ok_or_else(|| ApiError::not_found("no such page"))?;
    page_view(&state, &who, &id, &path, uri.query()).await
}

/// `GET /api/ui/pages/{extensionId}/`: the extension's page at `/` (an Alga `ui` app's, say).
pub async fn root_page(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    ApiPath(id): ApiPath<String>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    page_view(&state, &who, &id, "/", uri.query()).await
}

async fn page_view(state: &AppState, who: &Principal, id: &str, path: &str, query: Option<&str>) -> Result<Json<Value>, ApiError> {
    let view = state.registry.page(&who.tenant, &who.user, &who.roles, id, path, query).await.map_err(|e| page_error(e, id, path))?;
    Ok(Json(serde_json::to_value(view).map_err(ApiError::internal)?))
}

fn page_error(err: crate::registry::RouteError, id: &str, path: &str) -> ApiError {
    match err {
        crate::registry::RouteError::NotFound => ApiError::not_found(format!("no page {} in extension {}", dispatch::clip(path), dispatch::clip(id))),
        other => other.into(),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageToken {
    /// The signature from the page descriptor's `url` (valid five minutes, for one tenant,
    /// user and extension).
    t: Option<String>,
}

/// `GET /ext-pages/{extensionId}/{*path}?t=…`: a handler-rendered page, for the user and
/// tenant its signed URL names (the iframe sends no bearer token).
pub async fn render_page(
    State(state): State<AppState>,
    Path((id, _)): Path<(String, String)>,
    axum::extract::Query(token): axum::extract::Query<PageToken>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let unauthorized = |message: String| ApiError::new(StatusCode::UNAUTHORIZED, "PAGE_URL_INVALID", message);
    let install = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found("no such page"))?;
    let claims = state.registry.page_links().verify(token.t.as_deref(), install).map_err(|e| unauthorized(e.to_string()))?;
    let tenant = alga_store::TenantId::parse(&claims.tenant).map_err(|e| unauthorized(e.to_string()))?;
    let who = Principal { tenant, user: claims.sub, roles: claims.roles };
    tracing::Span::current().record("tenant", who.tenant.as_str());
    // A signed URL can be replayed for its five minutes: it counts against the tenant's
    // rate like every other host-facing request.
    super::host_guard::check_rate(&state, &who)?;
    let path = dispatch::raw_tail(uri.path(), "/ext-pages/").ok_or_else(|| ApiError::not_found("no such page"))?;
    let call = state.registry.page_call(&who.tenant, &who.roles, &id, &path).await.map_err(|e| page_error(e, &id, &path))?;
    let Some(handler) = call.page.handler.clone() else {
        return Err(ApiError::not_found(format!("{} is a static page; its URL is under /ext-ui", dispatch::clip(&call.page.path))));
    };
    // The signature is the caller's credential; the handler never sees it.
    let query = uri.query().map(crate::page_links::without_signature);
    let id = dispatch::request_id(&headers);
    let invocation = Invocation {
        handler,
        request: dispatch::request_json(
            &Method::GET,
            &path,
            query.as_deref(),
            &dispatch::headers_with_id(&headers, &id),
            &Bytes::new(),
            call.params,
        )?,
        ctx: dispatch::ctx_for(&who, &call.target, call.permissions),
        is_page: true,
    };
    let ext = &call.target.extension;
    let answer = dispatch::run_as(&state, ext, invocation, &id).await.map_err(ApiError::without_page_headers)?;
    let mut response = dispatch::with_request_id(dispatch::extension_response(answer, ext), &id);
    page_headers(response.headers_mut(), &state.page_csp);
    Ok(response)
}

/// Headers of HTML the runtime serves into the host's iframes. A page may not set cookies
/// or send the browser to another site: its answer is served from an origin operators may
/// share with other tenants' pages.
pub fn page_headers(headers: &mut HeaderMap, csp: &str) {
    headers.remove(header::SET_COOKIE);
    let offsite = headers
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| !l.starts_with('/') || l.starts_with("//") || l.starts_with("/\\"));
    if offsite {
        headers.remove(header::LOCATION);
    }
    if let Ok(value) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    // A second policy that only sandboxes: browsers enforce every policy sent, so no
    // `--ui-csp` can lift the sandbox (which keeps extension script off this origin, where
    // the admin console lives).
    headers.append(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX_CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Rendered for one user: never stored by shared caches, nor reused from the browser's.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The payload of Alga's v1 `apiproxy` message, as the host receives it from a page.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiProxyRequest {
    /// The endpoint path within the extension, e.g. `/tags/42?x=1`.
    route: String,
    /// The HTTP method (default `GET`).
    #[serde(default = "default_method")]
    method: String,
    /// The request body, base64-encoded.
    #[serde(default)]
    body: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

/// `POST /api/ui/apiproxy/{extensionId}`: answers a page's `apiproxy` message through the
/// same dispatch as `/api/extensions/{id}/{*path}`, as the caller (the page's user, whose
/// token the host forwards). Answers Alga's `apiproxy_response` payload: `{ body }`
/// (base64) or `{ error }`.
pub async fn apiproxy(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ApiProxyRequest>,
) -> Result<Json<Value>, ApiError> {
    let field =
        |name: &str, message: String| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message).with_details(json!({ "field": name }));
    let method = Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| field("method", format!("{:?} is not an HTTP method", request.method)))?;
    if !request.route.starts_with('/') {
        return Err(field("route", "must start with `/`".into()));
    }
    let (path, query) = match request.route.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (request.route.as_str(), None),
    };
    let body = match request.body.as_deref() {
        Some(b64) => base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| field("body", format!("is not base64: {e}")))?,
        None => Vec::new(),
    };
    let mut headers = HeaderMap::new();
    if !body.is_empty() {
        // The bridge carries bytes without a type: JSON when they parse as JSON, else text.
        let json = serde_json::from_slice::<&serde_json::value::RawValue>(&body).is_ok();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(if json { "application/json" } else { "text/plain; charset=utf-8" }));
    }
    let answered = dispatch::call_endpoint(&state, &who, &id, &method, path, query, &headers, EndpointBody::Bytes(Bytes::from(body))).await;
    let response = match answered {
        Ok(response) => response,
        // `details` too: a page shows a refused field where it belongs (an `HttpError`'s details).
        Err(err) => {
            return Ok(Json(json!({ "error": { "code": err.code, "message": err.message, "status": err.status.as_u16(), "details": err.details } })))
        }
    };
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await.map_err(ApiError::internal)?;
    let body = base64::engine::general_purpose::STANDARD.encode(&bytes);
    if status.is_success() {
        Ok(Json(json!({ "body": body, "status": status.as_u16() })))
    } else {
        Ok(Json(
            json!({ "error": { "code": "EXTENSION_STATUS", "message": format!("the endpoint answered {status}"), "status": status.as_u16() }, "body": body }),
        ))
    }
}
