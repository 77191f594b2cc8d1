//! CORS for hosts that call the runtime from the browser: an allowlist of origins
//! (`--cors-origins`), tower-http's `CorsLayer` for the headers, and a guard that keeps
//! preflights away from authentication and every CORS header away from other origins.
//!
//! Hosts normally proxy the runtime behind their own origin and need none of this
//! (docs/host-integration.md). With an empty list the server sends no CORS header at all.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Request headers a browser may send cross-origin.
pub const ALLOWED_HEADERS: [HeaderName; 4] =
    [header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_NONE_MATCH, HeaderName::from_static("x-request-id")];

/// Response headers (beyond the CORS-safelisted ones) browser code may read.
pub const EXPOSED_HEADERS: [HeaderName; 5] =
    [header::RETRY_AFTER, header::ETAG, header::LOCATION, header::CONTENT_DISPOSITION, HeaderName::from_static("x-request-id")];

/// How long a browser may cache a preflight answer.
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// The origins allowed to call from a browser; empty: CORS is off.
#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    origins: Vec<HeaderValue>,
}

impl CorsPolicy {
    /// Parses `--cors-origins` entries: each `scheme://host[:port]`, as browsers send it in
    /// `Origin` (no path, no trailing slash, no wildcard). Empty entries are skipped.
    pub fn new<S: AsRef<str>>(origins: &[S]) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for raw in origins.iter().map(|o| o.as_ref().trim()).filter(|o| !o.is_empty()) {
            parsed.push(HeaderValue::from_str(&origin(raw)?).map_err(|e| format!("{raw:?}: {e}"))?);
        }
        Ok(Self { origins: parsed })
    }

    pub fn is_enabled(&self) -> bool {
        !self.origins.is_empty()
    }

    fn allows(&self, origin: Option<&HeaderValue>) -> bool {
        origin.is_some_and(|o| self.origins.contains(o))
    }
}

/// One allowlist entry in the exact form browsers send.
fn origin(raw: &str) -> Result<String, String> {
    if raw == "*" || raw == "null" {
        return Err(format!("{raw:?} is not allowed: list the host's origins, e.g. https://psa.example.com"));
    }
    let url = deno_core::url::Url::parse(raw).map_err(|e| format!("{raw:?} is not an origin ({e}); expected e.g. https://psa.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{raw:?} is not an http(s) origin; expected e.g. https://psa.example.com"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!("{raw:?} has more than scheme, host and port; an origin is e.g. https://psa.example.com"));
    }
    Ok(url.origin().ascii_serialization())
}

/// Puts CORS on `router`: tower-http's layer for allowed origins (when any), inside the
/// guard that answers every preflight itself.
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>, policy: &CorsPolicy) -> Router<S> {
    let router = if policy.is_enabled() {
        router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(policy.origins.clone()))
                .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
                .allow_headers(ALLOWED_HEADERS)
                .expose_headers(EXPOSED_HEADERS)
                .max_age(MAX_AGE),
        )
    } else {
        router
    };
    let policy = Arc::new(policy.clone());
    router.layer(axum::middleware::from_fn(move |req: Request, next: Next| guard(policy.clone(), req, next)))
}

/// A preflight (`OPTIONS` with `Access-Control-Request-Method`) never reaches a route, so it
/// never needs a token: from an allowed origin `CorsLayer` answers it (made a `204`), from
/// any other a bare `204` without CORS headers tells the browser no. Other requests from
/// origins not on the list leave with every `access-control-*` header removed, so only an
/// allowed origin ever sees one.
async fn guard(policy: Arc<CorsPolicy>, req: Request, next: Next) -> Response {
    let preflight = req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let allowed = policy.is_enabled() && policy.allows(req.headers().get(header::ORIGIN));
    // Public UI assets say `Access-Control-Allow-Origin: *` themselves (http/ui_assets.rs).
    let public_asset = req.uri().path().starts_with("/ext-ui/");
    if preflight && !allowed {
        return (StatusCode::NO_CONTENT, [(header::VARY, "origin")]).into_response();
    }
    let mut response = next.run(req).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    if !allowed {
        let keep_public = public_asset && response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_some_and(|v| v == "*");
        let names: Vec<HeaderName> = response
            .headers()
            .keys()
            .filter(|n| n.as_str().starts_with("access-control-") && !(keep_public && *n == header::ACCESS_CONTROL_ALLOW_ORIGIN))
            .cloned()
            .collect();
        for name in names {
            response.headers_mut().remove(name);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_and_normalized() {
        let policy = CorsPolicy::new(&["https://PSA.example.com", " http://localhost:3000/ ", "", "https://x.example:443"]).unwrap();
        assert_eq!(policy.origins, ["https://psa.example.com", "http://localhost:3000", "https://x.example"]);
        assert!(policy.allows(Some(&HeaderValue::from_static("http://localhost:3000"))));
        assert!(!policy.allows(Some(&HeaderValue::from_static("http://localhost:3001"))));
        assert!(!policy.allows(None));
        for bad in ["*", "null", "psa.example.com", "https://psa.example.com/app", "ftp://x", "https://u@x"] {
            assert!(CorsPolicy::new(&[bad]).is_err(), "{bad}");
        }
        assert!(!CorsPolicy::new::<&str>(&[]).unwrap().is_enabled());
    }
}
