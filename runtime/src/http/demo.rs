//! `GET /demo` and `GET /demo/{file}` (only with `serve --dev`): the demo host shell, a PSA-like page built on the Host SDK.
//
// It is the runtime's own page, not an extension's: not sandboxed, and its CSP lets it load
// only its own files, the SDK and the runtime's API and extension frames (all on this
// origin). The files are embedded; the script's SDK import is pointed at this build's SDK
// URL once, so the shell and the SDK it runs can never drift apart.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{sdk_files, ApiError, AppState};

/// Only this page, its files and the runtime: no inline script or style, no other origin.
pub const DEMO_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     frame-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("demo/index.html");
const DEMO_CSS: &str = include_str!("demo/demo.css");

/// The script with its SDK import resolved to this build's SDK base URL.
static DEMO_JS: LazyLock<String> = LazyLock::new(|| {
    let base = sdk_files::url_path("");
    include_str!("demo/demo.js").replace("__SDK_BASE__", base.trim_end_matches('/'))
});

/// The demo routes, mounted by `app()` only when the state says dev mode.
pub fn routes() -> Router<AppState> {
    Router::new().route("/demo", get(index)).route("/demo/", get(index)).route("/demo/{file}", get(file))
}

async fn index() -> Response {
    respond("text/html; charset=utf-8", INDEX_HTML)
}

async fn file(Path(file): Path<String>) -> Result<Response, ApiError> {
    match file.as_str() {
        "demo.js" => Ok(respond("text/javascript; charset=utf-8", DEMO_JS.as_str())),
        "demo.css" => Ok(respond("text/css; charset=utf-8", DEMO_CSS)),
        _ => Err(ApiError::not_found(format!("no demo file {:?}", file.chars().take(64).collect::<String>()))),
    }
}

fn respond(content_type: &'static str, body: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The shell changes with the binary; it is small, so it is always fetched afresh.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DEMO_CSP));
    (headers, body.to_owned()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_imports_this_builds_sdk() {
        let wanted = format!("from \"{}\"", sdk_files::url_path("alga-host.js"));
        assert!(DEMO_JS.contains(&wanted), "demo.js does not import {wanted}");
        assert!(!DEMO_JS.contains("__SDK_BASE__"));
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        // The CSP forbids them; an inline one would silently not run.
        assert!(!INDEX_HTML.contains("<style"));
        assert!(!INDEX_HTML.contains(" style="));
        assert!(INDEX_HTML.matches("<script").count() == INDEX_HTML.matches("<script type=\"module\" src=").count());
    }
}
