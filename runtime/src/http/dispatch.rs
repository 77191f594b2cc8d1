//! `ANY /api/extensions/{id}/{*path}`: runs the manifest-declared endpoint of an enabled
//! extension of the caller's tenant in its isolate.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::error::ExtensionAnswer;
use super::extract::ApiPath;
use super::response_headers::{self, Refusal};
use super::{ApiError, AppState, Authenticated};
use crate::isolate::{CtxData, CtxExtension, CtxUser, HandlerResponse, Invocation, IsolateError};
use crate::pool::PoolError;
use crate::registry::RouteError;

/// Largest request body passed to a handler.
const MAX_BODY_BYTES: usize = 1024 * 1024;

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
    let request_path = raw_endpoint_path(uri.path()).ok_or_else(|| ApiError::not_found("no such endpoint"))?;
    let routed = state.registry.route(&who.tenant, &who.roles, &id, method.as_str(), &request_path).await.map_err(|e| match e {
        RouteError::NotFound => ApiError::not_found(format!("no endpoint {method} {} in extension {}", clip(&request_path), clip(&id))),
        RouteError::MethodNotAllowed => {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", format!("{method} is not declared for {}", clip(&request_path)))
        }
        RouteError::Forbidden { required, extension } => {
            // Named as the roles API names it, so an admin can grant exactly this.
            let permission = format!("{extension}:{required}");
            ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", format!("this endpoint needs the {permission} permission"))
                .with_details(json!({ "required": permission }))
        }
        RouteError::Registry(e) => e.into(),
    })?;
    let (target, endpoint) = (&routed.target, &routed.endpoint);
    let ext = &target.extension;

    // Read only now that the caller may call this endpoint, and never more than the limit.
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| body_too_large())?;
    let invocation = Invocation {
        handler: endpoint.handler.clone(),
        request: request_json(&method, &request_path, &uri, &headers, &body, routed.params).map_err(ApiError::internal)?,
        ctx: Arc::new(CtxData {
            tenant: who.tenant.to_string(),
            user: CtxUser { id: who.user.clone(), roles: who.roles.clone() },
            extension: CtxExtension { id: ext.id.to_string(), key: ext.key.clone(), version: ext.version.clone() },
            settings: target.settings.clone(),
            permissions: routed.permissions,
        }),
        is_page: false,
    };

    let answer = match state.pool.call(ext, invocation).await {
        Ok(answer) => answer,
        Err(err) => {
            if let PoolError::Isolate(e) = &err {
                tracing::warn!(tenant = %ext.tenant_id, extension = %ext.key, code = e.code(), error = %e, "extension failed");
                if e.counts_against_breaker() {
                    if let Err(suspend_err) = state.registry.record_failure(ext, e.code()).await {
                        tracing::error!(error = %suspend_err, "circuit breaker could not suspend the extension");
                    }
                }
            }
            return Err(pool_error(err));
        }
    };
    Ok(extension_response(answer, ext))
}

/// The answer as the client sees it: the status checked and only allowed headers kept
/// (see `response_headers`); the server computes `content-length` itself.
fn extension_response(answer: HandlerResponse, ext: &alga_store::Extension) -> Response {
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
    let (mut dropped, mut cookie_domain) = (Vec::new(), false);
    for (i, (name, value)) in answer.headers.iter().enumerate() {
        let checked = if i < response_headers::MAX_HEADERS { response_headers::check(name, value) } else { Err(Refusal::TooMany) };
        match checked {
            Ok((name, value)) if response_headers::repeatable(name.as_str()) => {
                response.headers_mut().append(name, value);
            }
            // A second content-type or location would leave clients to pick one: first wins.
            Ok((name, value)) => {
                response.headers_mut().entry(name).or_insert(value);
            }
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
    response.extensions_mut().insert(ExtensionAnswer);
    response
}

/// The endpoint path of `/api/extensions/{id}/{*path}` exactly as the client sent it.
fn raw_endpoint_path(uri_path: &str) -> Option<String> {
    let rest = uri_path.strip_prefix("/api/extensions/")?;
    let (_, path) = rest.split_once('/')?;
    Some(format!("/{path}"))
}

/// Caller-supplied text in a message, cut to a length fit for an error body or a log line.
fn clip(text: &str) -> Cow<'_, str> {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return Cow::Borrowed(text);
    }
    let cut = (0..=MAX).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    Cow::Owned(format!("{}…", &text[..cut]))
}

fn body_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE", format!("request bodies are limited to {MAX_BODY_BYTES} bytes"))
        .with_details(json!({ "maxBytes": MAX_BODY_BYTES }))
}

/// The handler's `request` argument, serialized once here: `{ method, path, params, query,
/// headers, body }` with the body parsed when it is JSON, text when it is UTF-8 of a
/// textual type, and otherwise bytes (sent as `bodyBase64`, a `Uint8Array` in JavaScript).
fn request_json(
    method: &Method,
    path: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    params: BTreeMap<String, String>,
) -> Result<String, serde_json::Error> {
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
    let query = deno_core::url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).collect();
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
    } else if let Some(raw) = is_json.then(|| serde_json::from_slice::<&RawValue>(body).ok()).flatten() {
        RequestBody::Json(raw)
    } else if let Some(text) = (!is_binary_type(&content_type)).then(|| std::str::from_utf8(body).ok()).flatten() {
        RequestBody::Text(text)
    } else {
        use base64::Engine;
        body_base64 = Some(base64::engine::general_purpose::STANDARD.encode(body));
        RequestBody::None(None)
    };
    serde_json::to_string(&Request { method: method.as_str(), path, params, query, headers: header_list, body, body_base64 })
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

fn pool_error(err: PoolError) -> ApiError {
    match err {
        PoolError::Isolate(e) => isolate_error_plain(e),
        PoolError::Registry(e) => match &*e {
            crate::registry::RegistryError::Bundle(b) => {
                ApiError::internal(format!("stored bundle refused: {b}")).with_details(json!({ "code": b.code() }))
            }
            other => ApiError::internal(other.to_string()),
        },
    }
}

fn isolate_error_plain(err: IsolateError) -> ApiError {
    let status = match err {
        IsolateError::Overloaded { .. } | IsolateError::MemoryBudget { .. } | IsolateError::TenantShare { .. } | IsolateError::Discarded => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        IsolateError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    // The extension's own error (with its stack) is the author's to see, not internal to us.
    let mut api = ApiError::new(status, err.code(), err.to_string());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        api = api.with_retry_after(1);
    }
    api
}
