//! `ANY /api/extensions/{id}/{*path}`: runs the manifest-declared endpoint of an enabled
//! extension of the caller's tenant in its isolate.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::error::{ExtensionAnswer, REQUEST_ID};
use super::extract::ApiPath;
use super::response_headers::{self, Refusal};
use super::{ApiError, AppState, Authenticated};
use crate::auth::Principal;
use crate::isolate::{CtxData, CtxExtension, CtxUser, HandlerResponse, HttpErrorAnswer, Invocation, IsolateError};
use crate::pool::PoolError;
use crate::registry::{DispatchTarget, RouteError};
use alga_store::Extension;

pub async fn dispatch(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    ApiPath((id, _)): ApiPath<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Routes are matched on the raw (still percent-encoded) path, split on its raw `/`s;
    // only parameters are decoded, once, by the route match. `{*path}` arrives decoded
    // already, and decoding it again would turn `%252e%252e` into `..` and let `%73ecret`
    // match `/secret`.
    let request_path = raw_tail(uri.path(), "/api/extensions/").ok_or_else(|| ApiError::not_found("no such endpoint"))?;
    let body = EndpointBody::Stream(body);
    call_endpoint(&state, &who, &id, &method, &request_path, uri.query(), &headers, body).await
}

/// A request body: still streaming (read only once the caller may call), or already in hand.
pub(super) enum EndpointBody {
    Stream(Body),
    Bytes(Bytes),
}

/// Routes a call to an endpoint of extension `id` for `who`, runs it in the isolate and
/// answers as the extension did (headers checked): `/api/extensions/...` and the page
/// bridge's `apiproxy` both come through here.
#[allow(clippy::too_many_arguments)]
pub(super) async fn call_endpoint(
    state: &AppState,
    who: &Principal,
    id: &str,
    method: &Method,
    request_path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: EndpointBody,
) -> Result<Response, ApiError> {
    let routed = state.registry.route(&who.tenant, &who.roles, id, method.as_str(), request_path).await.map_err(|e| match e {
        RouteError::NotFound => ApiError::not_found(format!("no endpoint {method} {} in extension {}", clip(request_path), clip(id))),
        RouteError::MethodNotAllowed => {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", format!("{method} is not declared for {}", clip(request_path)))
        }
        RouteError::Forbidden { required, extension } => {
            // Named as the roles API names it, so an admin can grant exactly this.
            let permission = format!("{extension}:{required}");
            ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", format!("this endpoint needs the {permission} permission"))
                .with_details(json!({ "required": permission }))
        }
        other => other.into(),
    })?;
    let (target, endpoint) = (&routed.target, &routed.endpoint);
    let ext = &target.extension;

    // Read only now that the caller may call this endpoint, and never more than the
    // extension's limit: a declared length over it is refused before a byte is read, and a
    // chunked body stops being read at the first byte past it. (A page's `apiproxy` body is
    // in hand already, its size known.)
    let max_body = state.pool.limits_for(ext).body_max_bytes;
    let body = match body {
        EndpointBody::Stream(body) => {
            if content_length(headers).is_some_and(|length| length > max_body) {
                return Err(body_too_large(max_body));
            }
            let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
            axum::body::to_bytes(body, limit).await.map_err(|_| body_too_large(max_body))?
        }
        EndpointBody::Bytes(bytes) if bytes.len() as u64 > max_body => return Err(body_too_large(max_body)),
        EndpointBody::Bytes(bytes) => bytes,
    };
    // The handler sees the request's id as `request.headers["x-request-id"]` — the caller's,
    // or the one made here — so what it logs matches what its caller is told on a failure.
    let id = request_id(headers);
    let invocation = Invocation {
        handler: endpoint.handler.clone(),
        request: request_json(method, request_path, query, &headers_with_id(headers, &id), &body, routed.params)?,
        ctx: ctx_for(who, target, routed.permissions),
        is_page: false,
    };
    Ok(with_request_id(extension_response(run_as(state, ext, invocation, &id).await?, ext), &id))
}

/// The request's headers as its handler sees them: with `x-request-id` set to `id`.
pub(super) fn headers_with_id(headers: &HeaderMap, id: &str) -> HeaderMap {
    let mut seen = headers.clone();
    if let Ok(value) = HeaderValue::from_str(id) {
        seen.insert(REQUEST_ID, value);
    }
    seen
}

/// Sends the request's id as `X-Request-Id` on an answer, replacing one the extension set:
/// the id is the runtime's, the one its log and the extension's log name.
pub(super) fn with_request_id(mut response: Response, id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// Longest caller-chosen request id taken over.
const MAX_REQUEST_ID_CHARS: usize = 128;

/// The request's id: the caller's `X-Request-Id` when it is a plausible id (so a host's
/// tracing id follows the call into the extension's log), else a new UUID.
pub(super) fn request_id(headers: &HeaderMap) -> String {
    let given = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|id| {
        (1..=MAX_REQUEST_ID_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
    });
    given.map(str::to_owned).unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// What a handler's `ctx` is built from, for `who` calling `target`.
pub(super) fn ctx_for(who: &Principal, target: &DispatchTarget, permissions: Vec<String>) -> Arc<CtxData> {
    let ext = &target.extension;
    Arc::new(CtxData {
        tenant: who.tenant.to_string(),
        user: CtxUser { id: who.user.clone(), roles: who.roles.clone() },
        extension: CtxExtension {
            id: ext.id.to_string(),
            key: ext.key.clone(),
            version: ext.version.clone(),
            assets_url: crate::registry::ui::asset_url(ext, ""),
        },
        settings: target.settings.clone(),
        permissions,
    })
}

/// Runs an invocation in the extension's isolate under a new request id (see [`run_as`]).
pub(super) async fn run(state: &AppState, ext: &Extension, invocation: Invocation) -> Result<HandlerResponse, ApiError> {
    run_as(state, ext, invocation, &uuid::Uuid::new_v4().to_string()).await
}

/// Runs an invocation in the extension's isolate. A thrown `HttpError` is the extension's
/// answer. A failure goes to the extension's log with `request_id` (an uncaught exception
/// with its stack), and its caller gets the id in `details.requestId` and `X-Request-Id`.
/// Limit hits count against the circuit breaker, which suspends an extension that keeps
/// failing in a tenant.
pub(super) async fn run_as(state: &AppState, ext: &Extension, invocation: Invocation, request_id: &str) -> Result<HandlerResponse, ApiError> {
    match state.pool.call(ext, invocation).await {
        Ok(answer) => Ok(answer),
        Err(PoolError::Isolate(IsolateError::HttpError(answer))) => Err(http_error(*answer, ext).with_request_id(request_id)),
        Err(err) => {
            if let PoolError::Isolate(e) = &err {
                tracing::warn!(tenant = %ext.tenant_id, extension = %ext.key, code = e.code(), request_id, error = %e, "extension failed");
                state.registry.logs().record_failure(&ext.tenant_id, ext.id, e.code(), &format!("[request {request_id}] {e}"));
                if e.counts_against_breaker() {
                    if let Err(suspend_err) = state.registry.record_failure(ext, e.code()).await {
                        tracing::error!(error = %suspend_err, "circuit breaker could not suspend the extension");
                    }
                }
            }
            Err(pool_error(err, state.dev, request_id).with_request_id(request_id))
        }
    }
}

/// A thrown `HttpError` as the runtime's error shape. The dispatcher checked its status and
/// code; they are checked again here, since what crosses from JavaScript is not trusted.
fn http_error(answer: HttpErrorAnswer, ext: &Extension) -> ApiError {
    let status = StatusCode::from_u16(answer.status).ok().filter(|s| s.is_client_error() || s.is_server_error());
    let code_ok = answer.code.len() <= 64
        && answer.code.starts_with(|c: char| c.is_ascii_uppercase())
        && answer.code.split('_').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    match status {
        Some(status) if code_ok => {
            let headers = allowed_headers(&answer.headers, ext);
            ApiError::new(status, answer.code, answer.message).with_details(answer.details).with_headers(headers)
        }
        _ => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "EXTENSION_ERROR",
            format!(
                "the handler threw an HttpError with status {} and code {:?}; HttpError needs 400-599 and SCREAMING_SNAKE_CASE",
                answer.status,
                clip(&answer.code)
            ),
        ),
    }
}

/// The answer as the client sees it: the status checked and only allowed headers kept
/// (see `response_headers`); the server computes `content-length` itself.
pub(super) fn extension_response(answer: HandlerResponse, ext: &Extension) -> Response {
    let Some(status) = response_headers::status(answer.status) else {
        tracing::warn!(tenant = %ext.tenant_id, extension = %ext.key, status = answer.status, "extension answered a status outside 200-599");
        return ApiError::new(
            StatusCode::BAD_GATEWAY,
            "EXTENSION_ERROR",
            format!("the extension answered status {}, which is not a final HTTP status (200-599)", answer.status),
        )
        .into_response();
    };
    let mut response = Response::new(Body::from(answer.body.unwrap_or_default()));
    *response.status_mut() = status;
    for (name, value) in allowed_headers(&answer.headers, ext) {
        if response_headers::repeatable(name.as_str()) {
            response.headers_mut().append(name, value);
        } else {
            // A second content-type or location would leave clients to pick one: first wins.
            response.headers_mut().entry(name).or_insert(value);
        }
    }
    response.extensions_mut().insert(ExtensionAnswer);
    response
}

/// The headers of an extension's answer that it may send (see `response_headers`); the
/// others are dropped and logged.
fn allowed_headers(headers: &[(String, String)], ext: &Extension) -> Vec<(HeaderName, HeaderValue)> {
    let (mut kept, mut dropped, mut cookie_domain) = (Vec::new(), Vec::new(), false);
    for (i, (name, value)) in headers.iter().enumerate() {
        let checked = if i < response_headers::MAX_HEADERS { response_headers::check(name, value) } else { Err(Refusal::TooMany) };
        match checked {
            Ok(header) => kept.push(header),
            Err(refusal) => {
                cookie_domain |= refusal == Refusal::CookieDomain;
                if dropped.len() < 10 {
                    dropped.push(clip(name).into_owned());
                }
            }
        }
    }
    if !dropped.is_empty() {
        tracing::warn!(
            tenant = %ext.tenant_id, extension = %ext.key, ?dropped, cookie_domain,
            "response headers the extension may not set were dropped"
        );
    }
    kept
}

/// The path after `{prefix}{id}` exactly as the client sent it (`/api/extensions/{id}/{*path}`).
pub(super) fn raw_tail(uri_path: &str, prefix: &str) -> Option<String> {
    let rest = uri_path.strip_prefix(prefix)?;
    let (_, path) = rest.split_once('/')?;
    Some(format!("/{path}"))
}

/// Caller-supplied text in a message, cut to a length fit for an error body or a log line.
pub(super) fn clip(text: &str) -> Cow<'_, str> {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return Cow::Borrowed(text);
    }
    let cut = (0..=MAX).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    Cow::Owned(format!("{}…", &text[..cut]))
}

/// The declared body length; a header that does not parse is left to hyper, which refuses it.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn body_too_large(max_bytes: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "BODY_TOO_LARGE",
        format!("request bodies of this endpoint are limited to {max_bytes} bytes (maxBodyBytes)"),
    )
    .with_details(json!({ "maxBytes": max_bytes, "limit": "maxBodyBytes" }))
}

/// The handler's `request` argument, serialized once here: `{ method, path, params, query,
/// headers, body }` with the body parsed when it is JSON, text when it is UTF-8 of a
/// textual type, and otherwise bytes (sent as `bodyBase64`, a `Uint8Array` in JavaScript).
pub(super) fn request_json(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
    params: BTreeMap<String, String>,
) -> Result<String, ApiError> {
    #[derive(Serialize)]
    struct Request<'a> {
        method: &'a str,
        path: &'a str,
        params: BTreeMap<String, String>,
        #[serde(serialize_with = "first_wins")]
        query: Vec<(Cow<'a, str>, Cow<'a, str>)>,
        #[serde(serialize_with = "first_wins")]
        headers: Vec<(&'a str, &'a str)>,
        body: RequestBody<'a>,
        #[serde(rename = "bodyBase64", skip_serializing_if = "Option::is_none")]
        body_base64: Option<String>,
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum RequestBody<'a> {
        Json(&'a RawValue),
        Text(&'a str),
        None(Option<()>),
    }
    let query = deno_core::url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).collect();
    let header_list = headers
        .iter()
        // The caller's credentials stay with the runtime.
        .filter(|(name, _)| *name != header::AUTHORIZATION && *name != header::COOKIE)
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let is_json = content_type.contains("json");
    let mut body_base64 = None;
    let body = if body.is_empty() {
        RequestBody::None(None)
    } else if is_json {
        // A body that says it is JSON and is not is the caller's mistake, answered before the
        // extension runs (the handler would otherwise get the text as a string).
        let raw = serde_json::from_slice::<&RawValue>(body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "INVALID_JSON", format!("the body is not JSON, though its content type says so: {e}"))
                .with_details(json!({ "field": "body" }))
        })?;
        RequestBody::Json(raw)
    } else if let Some(text) = (!is_binary_type(&content_type)).then(|| std::str::from_utf8(body).ok()).flatten() {
        RequestBody::Text(text)
    } else {
        use base64::Engine;
        body_base64 = Some(base64::engine::general_purpose::STANDARD.encode(body));
        RequestBody::None(None)
    };
    serde_json::to_string(&Request { method: method.as_str(), path, params, query, headers: header_list, body, body_base64 })
        .map_err(ApiError::internal)
}

/// Content types whose bodies are bytes even when they happen to be valid UTF-8.
fn is_binary_type(content_type: &str) -> bool {
    const BINARY: [&str; 8] =
        ["application/octet-stream", "application/pdf", "application/zip", "image/", "audio/", "video/", "font/", "application/gzip"];
    BINARY.iter().any(|prefix| content_type.starts_with(prefix))
}

/// Serializes name/value pairs as an object; a repeated name keeps its first value.
fn first_wins<S: Serializer, K: AsRef<str>, V: Serialize>(pairs: &[(K, V)], serializer: S) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    for (i, (name, value)) in pairs.iter().enumerate() {
        if pairs[..i].iter().all(|(earlier, _)| earlier.as_ref() != name.as_ref()) {
            map.serialize_entry(name.as_ref(), value)?;
        }
    }
    map.end()
}

fn pool_error(err: PoolError, dev: bool, request_id: &str) -> ApiError {
    match err {
        PoolError::Isolate(e) => isolate_error(e, dev, request_id),
        PoolError::Registry(e) => match &*e {
            crate::registry::RegistryError::Bundle(b) => {
                ApiError::internal(format!("stored bundle refused: {b}")).with_details(json!({ "code": b.code() }))
            }
            other => ApiError::from_shared_registry(other),
        },
    }
}

/// An isolate's failure as its caller sees it, with the request id to find it in the
/// extension's log. An uncaught exception says what was thrown; its stack (the author's
/// files and lines) is added only in development mode, since a production caller is the
/// host's user, not the author.
fn isolate_error(err: IsolateError, dev: bool, request_id: &str) -> ApiError {
    let status = match err {
        IsolateError::Overloaded { .. }
        | IsolateError::MemoryBudget { .. }
        | IsolateError::TenantShare { .. }
        | IsolateError::Discarded
        | IsolateError::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        IsolateError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut details = json!({ "requestId": request_id });
    let message = match &err {
        IsolateError::Threw { message, stack } => {
            if dev {
                details["stack"] = json!(stack);
            }
            format!("extension code threw {message}")
        }
        other => other.to_string(),
    };
    let mut api = ApiError::new(status, err.code(), message).with_details(details);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        api = api.with_retry_after(1);
    }
    api
}
