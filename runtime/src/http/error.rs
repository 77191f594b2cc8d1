//! The one HTTP error type: every failure becomes `{"error": {"code", "message", "details"}}`.

use std::borrow::Cow;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::AuthError;

/// An error answer. Internal failures keep their cause for the log and show the caller a
/// generic message only.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable, SCREAMING_SNAKE_CASE: the runtime's own, or an extension's
    /// from a thrown `HttpError`.
    pub code: Cow<'static, str>,
    pub message: String,
    pub details: Value,
    /// What went wrong inside; logged, never sent.
    internal: Option<String>,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u64>,
    /// The request's id, sent as `X-Request-Id` (the extension's log names it too).
    request_id: Option<String>,
    /// Headers an extension's `HttpError` added, already checked against the allow-list.
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// `Retry-After` of a `503 STORE_UNAVAILABLE`: a database restart takes seconds, and a
/// request after it fails within half a second while the database is still away.
pub const STORE_RETRY_AFTER_SECS: u64 = 1;

/// The header that carries a request's id, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            details: Value::Null,
            internal: None,
            retry_after: None,
            request_id: None,
            headers: Vec::new(),
        }
    }

    /// Sends the request's id as `X-Request-Id`, for the caller to quote when asking what
    /// happened.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Adds response headers (an extension's, checked by the caller); the body's
    /// `content-type` stays JSON.
    pub fn with_headers(mut self, headers: Vec<(HeaderName, HeaderValue)>) -> Self {
        self.headers = headers;
        self
    }

    /// Drops the added headers a handler-rendered page may not send (see `ui::page_headers`).
    pub fn without_page_headers(mut self) -> Self {
        self.headers.retain(|(name, _)| name != axum::http::header::SET_COOKIE && name != axum::http::header::LOCATION);
        self
    }

    /// Tells the client when to try again (`Retry-After`).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// A 500 whose cause goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut err = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "internal error");
        err.internal = Some(cause.to_string());
        err
    }

    /// `503 STORE_UNAVAILABLE` with `Retry-After`: the database cannot be reached right now.
    /// Logged as a warning (the operator's database is away, nothing is wrong with the
    /// request), with its cause.
    pub fn store_unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "request failed: the database cannot be reached");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "STORE_UNAVAILABLE", "the database cannot be reached right now; try again shortly")
            .with_retry_after(STORE_RETRY_AFTER_SECS)
    }

    /// A registry failure shared by several waiters (a single-flight load): a store outage
    /// is said as one, anything else is a 500 whose cause goes to the log.
    pub fn from_shared_registry(err: &crate::registry::RegistryError) -> Self {
        use crate::registry::RegistryError as E;
        match err {
            E::Store(store) if store.is_unavailable() => Self::store_unavailable(crate::diagnostics::error_chain(store)),
            E::Shared(inner) => Self::from_shared_registry(inner),
            other => Self::internal(crate::diagnostics::error_chain(other)),
        }
    }

    /// A 503 whose cause goes to the log only.
    pub fn unavailable(code: &'static str, message: impl Into<String>, cause: impl std::fmt::Display) -> Self {
        let mut err = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        err.internal = Some(cause.to_string());
        err
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(internal) = &self.internal {
            tracing::error!(code = %self.code, status = self.status.as_u16(), error = %internal, "request failed");
        }
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        });
        let mut response = (self.status, Json(body)).into_response();
        for (name, value) in self.headers {
            if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
                response.headers_mut().append(name, value);
            }
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if let Some(id) = self.request_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
            response.headers_mut().insert(REQUEST_ID, id);
        }
        response.extensions_mut().insert(InApiShape);
        response
    }
}

/// Marks a response whose error body already is in the API's shape.
#[derive(Clone, Copy)]
struct InApiShape;

/// Marks an extension's own answer: its status and body are the extension's, passed on as
/// they are (headers and status checked by the dispatcher).
#[derive(Clone, Copy)]
pub struct ExtensionAnswer;

/// Most of a plain-text error body kept as the message.
const MAX_PLAIN_MESSAGE: usize = 512;

/// Middleware: any error response not built from an `ApiError` — axum's 405, a body-limit
/// 413, an extractor's rejection, a layer's plain text — is rewritten into the API's shape,
/// its text (cut short) as the message. So every error a client sees has one shape, even
/// from code paths nobody wrapped.
pub async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<InApiShape>().is_some()
        || response.extensions().get::<ExtensionAnswer>().is_some()
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_PLAIN_MESSAGE * 4).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = match text.char_indices().nth(MAX_PLAIN_MESSAGE) {
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_lowercase(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    };
    let code = match status {
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::PAYLOAD_TOO_LARGE => "BODY_TOO_LARGE",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
        StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::REQUEST_TIMEOUT => "TIMEOUT",
        s if s.is_server_error() => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    };
    let mut rewritten = if status.is_server_error() {
        // A 500 from below says `internal error`, like every other; its text goes to the log.
        ApiError::internal(message).into_response()
    } else {
        ApiError::new(status, code, message).into_response()
    };
    *rewritten.status_mut() = status;
    // Keep what the original said about the protocol (`Allow` of a 405, `Retry-After`, ...).
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let code = match err {
            AuthError::Missing | AuthError::Malformed => "UNAUTHENTICATED",
            AuthError::Expired => "TOKEN_EXPIRED",
            AuthError::Invalid(_) | AuthError::NotYetValid | AuthError::Algorithm { .. } | AuthError::Claim { .. } => "INVALID_TOKEN",
        };
        // Which claim, or which algorithm, for a host developer's code to act on.
        let details = match &err {
            AuthError::Claim { claim, .. } => json!({ "claim": claim }),
            AuthError::Algorithm { expected } => json!({ "algorithm": expected }),
            _ => Value::Null,
        };
        Self::new(StatusCode::UNAUTHORIZED, code, err.to_string()).with_details(details)
    }
}

impl From<alga_store::StoreError> for ApiError {
    fn from(err: alga_store::StoreError) -> Self {
        use alga_store::StoreError as E;
        match err {
            E::NotFound { entity, id } => Self::not_found(format!("{entity} {id} not found")),
            E::Conflict(what) => Self::new(StatusCode::CONFLICT, "CONFLICT", format!("{what} already exists")),
            E::Invalid { field, message } => {
                Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", format!("{field}: {message}")).with_details(json!({ "field": field }))
            }
            E::InvalidTenant(_) => Self::new(StatusCode::BAD_REQUEST, "INVALID_TENANT", err.to_string()),
            E::QuotaExceeded { keys, bytes, max_keys, max_bytes } => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "QUOTA_EXCEEDED", err.to_string())
                .with_details(json!({ "keys": keys, "bytes": bytes, "maxKeys": max_keys, "maxBytes": max_bytes })),
            E::RevisionMismatch { expected, current } => Self::new(StatusCode::CONFLICT, "REVISION_MISMATCH", err.to_string())
                .with_details(json!({ "expected": expected, "current": current })),
            E::Unavailable(_) => Self::store_unavailable(crate::diagnostics::error_chain(&err)),
            other => Self::internal(crate::diagnostics::error_chain(&other)),
        }
    }
}

impl From<crate::registry::RegistryError> for ApiError {
    fn from(err: crate::registry::RegistryError) -> Self {
        use crate::registry::RegistryError as E;
        let message = err.to_string();
        match err {
            E::Bundle(bundle) => {
                let status = match bundle {
                    alga_bundle::BundleError::TooLarge { .. } | alga_bundle::BundleError::UnpackedTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                Self::new(status, bundle.code(), message).with_details(bundle.details())
            }
            E::NotFound(_) => Self::not_found(message),
            E::VersionImmutable { .. } => Self::new(StatusCode::CONFLICT, "VERSION_IMMUTABLE", message),
            E::Downgrade { .. } => Self::new(StatusCode::CONFLICT, "DOWNGRADE_REFUSED", message),
            E::NothingToApprove(_) => Self::new(StatusCode::CONFLICT, "NOTHING_TO_APPROVE", message),
            E::NotApproved(_) | E::NeverApproved(_) => Self::new(StatusCode::CONFLICT, "NOT_APPROVED", message),
            E::ExtensionLimit { installed, max } => {
                Self::new(StatusCode::CONFLICT, "EXTENSION_LIMIT", message).with_details(json!({ "installed": installed, "maxExtensions": max }))
            }
            E::HookFailed { hook, .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "HOOK_FAILED", message).with_details(json!({ "hook": hook })),
            E::NotRequested { index, .. } => {
                Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message).with_details(json!({ "field": format!("permissions/{index}") }))
            }
            E::Settings(problems) => Self::new(StatusCode::BAD_REQUEST, "SETTINGS_INVALID", message).with_details(json!({ "problems": problems })),
            E::EditionRequired(items) => Self::new(StatusCode::FORBIDDEN, "EDITION_REQUIRED", message).with_details(json!({
                "edition": "ce",
                "unsupported": items.iter().map(|(pointer, what)| json!({ "pointer": pointer, "kind": what })).collect::<Vec<_>>(),
            })),
            E::Store(store) => store.into(),
            E::Shared(shared) => match std::sync::Arc::try_unwrap(shared) {
                Ok(own) => own.into(),
                // Other waiters still hold it; shared lookups only fail inside the store.
                Err(shared) => Self::from_shared_registry(&shared),
            },
        }
    }
}

impl From<crate::registry::RouteError> for ApiError {
    /// Route refusals as the host sees them. What is true of the caller's own tenant is said
    /// (pending, disabled, suspended); another tenant's extensions are plain 404s.
    fn from(err: crate::registry::RouteError) -> Self {
        use crate::registry::RouteError as E;
        let message = err.to_string();
        match err {
            E::NotFound => Self::not_found(message),
            E::MethodNotAllowed => Self::new(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", message),
            E::Forbidden { required, extension } => {
                Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message).with_details(json!({ "required": required, "extension": extension }))
            }
            E::Pending { extension } => Self::new(StatusCode::CONFLICT, "EXTENSION_PENDING", message).with_details(json!({ "extension": extension })),
            E::Disabled { extension } => {
                Self::new(StatusCode::CONFLICT, "EXTENSION_DISABLED", message).with_details(json!({ "extension": extension }))
            }
            E::Suspended { extension, reason, since } => Self::new(StatusCode::SERVICE_UNAVAILABLE, "EXTENSION_SUSPENDED", message)
                .with_details(json!({ "extension": extension, "reason": reason, "since": since })),
            E::EditionRequired { feature } => {
                Self::new(StatusCode::FORBIDDEN, "EDITION_REQUIRED", message).with_details(json!({ "edition": "ce", "feature": feature }))
            }
            E::Registry(e) => e.into(),
        }
    }
}
