//! `GET|HEAD /ext-ui/{installId}/{contentHash}/{*path}`: an extension's static UI assets at
//! Alga-compatible URLs, with immutable caching, strong ETags, a content-type table and a
//! CSP on HTML. Which file a URL names is the registry's decision (`registry::ui_assets`).

use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tracing::Span;
use uuid::Uuid;

use super::{ApiError, AppState};
use crate::registry::ui_paths::{self, UiPathError};
use crate::registry::UiAsset;

/// The policy of HTML assets before `frame-ancestors` is appended: the one of handler pages.
pub const DEFAULT_CSP: &str = super::ui::PAGE_CSP;

/// Caching of a file named by its content hash: it can never change under its URL.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The same when a token is required: shared caches must not hand it to others.
const IMMUTABLE_PRIVATE: &str = "private, max-age=31536000, immutable";

/// How asset responses are shaped; from `--ui-*` flags.
#[derive(Debug, Clone)]
pub struct UiSettings {
    /// `Content-Security-Policy` of HTML (and SVG) assets.
    pub csp: HeaderValue,
    /// Assets need a bearer token of the install's tenant.
    pub require_token: bool,
}

/// Why `--ui-frame-ancestors` or `--ui-csp` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UiSettingsError {
    #[error("{0}")]
    FrameAncestors(&'static str),
    #[error("{0}")]
    Csp(&'static str),
}

impl UiSettings {
    /// The policy is `csp` as given, or the default policy with `frame-ancestors
    /// <frame_ancestors>` (the host app's origins, space-separated).
    pub fn new(frame_ancestors: &str, csp: Option<&str>, require_token: bool) -> Result<Self, UiSettingsError> {
        let policy = match csp {
            Some(csp) if csp.trim().is_empty() => return Err(UiSettingsError::Csp("is empty")),
            Some(csp) => csp.trim().to_owned(),
            None => {
                let sources = frame_ancestors.split_whitespace().collect::<Vec<_>>().join(" ");
                if sources.is_empty() {
                    return Err(UiSettingsError::FrameAncestors("is empty; use 'none' to forbid framing or 'self'"));
                }
                // A `;` or `,` would end the directive and smuggle in another policy.
                if sources.contains([';', ',']) {
                    return Err(UiSettingsError::FrameAncestors("must be space-separated sources, without ';' or ','"));
                }
                format!("{DEFAULT_CSP}; frame-ancestors {sources}")
            }
        };
        let header = HeaderValue::from_str(&policy).map_err(|_| {
            if csp.is_some() {
                UiSettingsError::Csp("must be one line of visible ASCII")
            } else {
                UiSettingsError::FrameAncestors("must be visible ASCII")
            }
        })?;
        Ok(Self { csp: header, require_token })
    }
}

impl Default for UiSettings {
    fn default() -> Self {
        Self::new("'self'", None, false).expect("the default policy is a valid header")
    }
}

pub async fn serve(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Result<Response, ApiError> {
    // The raw path, split on its raw `/`s and decoded once here: axum's decoded `{*path}`
    // would turn `%2f` into a separator and `%2e%2e` into `..` before anyone could look.
    let raw = uri.path().strip_prefix("/ext-ui/").unwrap_or_default();
    if let Some(rest) = raw.strip_prefix(super::sdk_files::SDK_SEGMENT).and_then(|r| r.strip_prefix('/')) {
        // The SDKs are the same public code for everyone: never behind a token, always shareable.
        let asset = super::sdk_files::lookup(rest).ok_or_else(|| {
            let version = super::sdk_files::SDK_VERSION;
            let files: Vec<&str> = super::sdk_files::file_names().collect();
            ApiError::not_found(format!("no SDK file {:?}: this runtime serves version {version}, files {}", clip(rest), files.join(", ")))
                .with_details(serde_json::json!({ "version": version, "files": files }))
        })?;
        return Ok(respond_with(asset, &headers, &state.ui_assets.csp, false));
    }
    let mut parts = raw.splitn(3, '/');
    let (id, hash, rest) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let Ok(install_id) = Uuid::parse_str(id) else { return Err(ApiError::not_found(format!("no UI assets for extension {}", clip(id)))) };
    let bundle_hash = ui_paths::content_hash(hash).map_err(path_error)?;
    let path = ui_paths::asset_path(rest).map_err(path_error)?;

    let caller = if state.ui_assets.require_token {
        let value = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or_default());
        let principal = state.tokens.verify_header(value)?;
        Span::current().record("tenant", principal.tenant.as_str());
        Some(principal.tenant)
    } else {
        None
    };
    let not_found = || ApiError::not_found(format!("no UI asset {:?} in extension {install_id} at sha256:{}", clip(&path.path), clip(&bundle_hash)));
    let version = state.registry.ui_version(install_id, &bundle_hash, caller.as_ref()).await?.ok_or_else(not_found)?;
    Span::current().record("tenant", version.tenant.as_str());
    let asset = state.registry.ui_asset(&version, &path).await?.ok_or_else(not_found)?;
    tracing::debug!(tenant = %version.tenant, extension = %install_id, path = %asset.path, fallback = asset.fallback, "ui asset");
    Ok(respond(&state, &asset, &headers))
}

fn respond(state: &AppState, asset: &UiAsset, request: &HeaderMap) -> Response {
    respond_with(asset, request, &state.ui_assets.csp, state.ui_assets.require_token)
}

/// The response for `asset`; `private` when a token was required to get it.
fn respond_with(asset: &UiAsset, request: &HeaderMap, csp: &HeaderValue, private: bool) -> Response {
    let etag = format!("\"sha256-{}\"", asset.sha256);
    let content_type = content_type(&asset.path);
    let cache = match (asset.fallback, private) {
        // A route's fallback page is the current entry: revalidate (by ETag) every time.
        (true, _) => "no-cache",
        (false, false) => IMMUTABLE,
        (false, true) => IMMUTABLE_PRIVATE,
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if content_type.starts_with("text/html") || content_type.starts_with("image/svg+xml") {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
        // Never lifted by `--ui-csp`: see `ui::SANDBOX_CSP`.
        headers.append(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(super::ui::SANDBOX_CSP));
    }
    if private {
        headers.insert(header::VARY, HeaderValue::from_static("authorization"));
    } else {
        // Public, content-addressed files, readable from any origin: a page sandboxed without
        // `allow-same-origin` has the origin "null", and browsers fetch its module scripts
        // (and Vite's `crossorigin` tags) in CORS mode, so without this they would not run.
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    if request.get_all(header::IF_NONE_MATCH).iter().any(|v| v.to_str().is_ok_and(|v| etag_matches(v, &etag))) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (StatusCode::OK, headers, asset.bytes.clone()).into_response()
}

/// `If-None-Match` uses the weak comparison (RFC 9110 13.1.2): `W/` is ignored, `*`
/// matches any existing file, and the header may list several tags.
fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// The content type of an asset, by extension from a fixed table (never sniffed).
pub fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit('/').next().unwrap_or_default().rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        // TypeScript declarations (the SDKs' `.d.ts`): typed for tools, never run by a browser.
        "ts" => "application/typescript; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

fn path_error(err: UiPathError) -> ApiError {
    let (code, field) = match err {
        UiPathError::ContentHash => ("INVALID_CONTENT_HASH", "contentHash"),
        UiPathError::Path { .. } => ("INVALID_PATH", "path"),
    };
    ApiError::new(StatusCode::BAD_REQUEST, code, format!("{field}: {err}")).with_details(serde_json::json!({ "field": field }))
}

/// Caller input echoed in a message, cut short.
fn clip(text: &str) -> String {
    match text.char_indices().nth(128) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_weak_tags_and_star_match() {
        let tag = "\"sha256-ab\"";
        for header in ["\"sha256-ab\"", "W/\"sha256-ab\"", "\"x\", \"sha256-ab\"", "*", " \"y\" ,W/\"sha256-ab\" "] {
            assert!(etag_matches(header, tag), "{header}");
        }
        for header in ["\"sha256-abc\"", "sha256-ab", "", "\"x\""] {
            assert!(!etag_matches(header, tag), "{header}");
        }
    }

    #[test]
    fn settings_build_one_policy_or_name_the_problem() {
        let s = UiSettings::new("'self' https://psa.example.com", None, false).unwrap();
        assert!(s
            .csp
            .to_str()
            .unwrap()
            .ends_with("form-action 'self'; sandbox allow-scripts allow-forms allow-popups; frame-ancestors 'self' https://psa.example.com"));
        assert_eq!(UiSettings::new("x", Some("default-src 'none'"), false).unwrap().csp, "default-src 'none'");
        assert!(matches!(UiSettings::new("'self'; script-src *", None, false), Err(UiSettingsError::FrameAncestors(_))));
        assert!(matches!(UiSettings::new("  ", None, false), Err(UiSettingsError::FrameAncestors(_))));
        assert!(matches!(UiSettings::new("'self'", Some("a\nb"), false), Err(UiSettingsError::Csp(_))));
        assert!(matches!(UiSettings::new("'self'", Some(""), false), Err(UiSettingsError::Csp(_))));
    }

    #[test]
    fn content_types_come_from_the_table() {
        assert_eq!(content_type("ui/index.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("ui/app.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("ui/a.b/noext"), "application/octet-stream");
        assert_eq!(content_type("ui/font.woff2"), "font/woff2");
    }
}
