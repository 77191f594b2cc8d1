//! `/admin`: the admin console's files (embedded at build time) and its sessions — sign in with a pasted token or a one-time link, an `HttpOnly` cookie, sign out.
//
// The console is the runtime's own page, served on every `serve` (not only in dev mode). Its
// script never holds a token: `POST /admin/session` takes a pasted one once and answers a
// signed cookie (`auth::session`), and the `/admin/v1` routes accept that cookie in place
// of a bearer token when the request also carries `X-Alga-Console: 1`. A page of another
// origin cannot add that header (CORS never allows it) and a cross-site request does not
// carry the cookie (`SameSite=Strict`), so a forged form or fetch gets a 401.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::extract::{require_admin, ApiJson};
use super::{ApiError, AppState};
use crate::auth::session::{cookie_value, Session, SessionError, COOKIE, CSRF_HEADER, SESSION_TTL};
use crate::auth::Principal;

mod files {
    include!(concat!(env!("OUT_DIR"), "/console_files.rs"));
}

/// The shortest session a token may start: less would end before the console loads.
const MIN_SESSION_SECS: i64 = 60;

/// Only the console's own files and the runtime's API: no inline script or style, no other
/// origin, not framable.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

/// The console's routes, mounted by `app()` beside the API (not in `routes()`: they are the
/// console's plumbing, not part of the documented API).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/", get(index))
        .route("/admin/session", get(current).post(sign_in).delete(sign_out))
        .route("/admin/login", get(login_link))
        .route("/admin/{*file}", get(file))
}

async fn index() -> Result<Response, ApiError> {
    file(axum::extract::Path("index.html".to_owned())).await
}

async fn file(axum::extract::Path(path): axum::extract::Path<String>) -> Result<Response, ApiError> {
    let Ok(at) = files::FILES.binary_search_by(|(name, _)| (*name).cmp(path.as_str())) else {
        return Err(ApiError::not_found(format!("no console file {:?}", path.chars().take(64).collect::<String>())));
    };
    let body = files::FILES[at].1;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
    // The console changes with the binary; its files are small and always revalidated.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONSOLE_CSP));
    Ok((headers, served_bytes(&path, body)).into_response())
}

/// The bytes as served. Preact's hooks import the bare specifier `preact`, which a browser
/// resolves only through an import map (inline script, which the CSP forbids): the vendored
/// file, kept byte-identical to npm's, is pointed at its sibling here instead.
fn served_bytes(path: &str, body: &'static [u8]) -> Vec<u8> {
    if path == "vendor/hooks.mjs" {
        let text = String::from_utf8_lossy(body);
        return text.replace("from\"preact\"", "from\"./preact.mjs\"").into_bytes();
    }
    body.to_vec()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// The signed-in console user of a request that carries the session cookie, if it does.
///
/// A cookie without the `X-Alga-Console` header, or sent from another site, is refused
/// rather than ignored: it is a forged request, and the caller should hear why.
pub fn session_principal(parts: &Parts, state: &AppState) -> Result<Option<Principal>, ApiError> {
    let Some(value) = parts.headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(cookie_value) else {
        return Ok(None);
    };
    check_same_origin(&parts.headers)?;
    let session = state.console.open(value, chrono::Utc::now().timestamp()).map_err(session_error)?;
    Ok(Some(session.principal))
}

/// The console's cross-site request forgery rule for cookie-authenticated requests.
fn check_same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    if headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "a request with the console's session cookie must send `X-Alga-Console: 1` (or use `Authorization: Bearer <token>`)",
        ));
    }
    // Browsers say where a request comes from; only the console's own pages may use its cookie.
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None | Some("same-origin" | "none") => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", "the console's session cannot be used from another site")),
    }
}

fn session_error(err: SessionError) -> ApiError {
    let status = if err == SessionError::TooLarge { StatusCode::BAD_REQUEST } else { StatusCode::UNAUTHORIZED };
    let code = if err == SessionError::Expired { "TOKEN_EXPIRED" } else { "UNAUTHENTICATED" };
    ApiError::new(status, code, err.to_string())
}

/// `GET /admin/session`: who is signed in, or 401.
async fn current(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<serde_json::Value>, ApiError> {
    let value = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(cookie_value);
    let value = value.ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "not signed in to the console"))?;
    let session = state.console.open(value, chrono::Utc::now().timestamp()).map_err(session_error)?;
    Ok(Json(describe(&session)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

/// `POST /admin/session {"token"}`: trades a token of a user who may manage extensions for
/// a session cookie that lasts as long as the token, at most [`SESSION_TTL`].
async fn sign_in(State(state): State<AppState>, headers: HeaderMap, ApiJson(body): ApiJson<SignIn>) -> Result<Response, ApiError> {
    check_same_origin(&headers)?;
    let token = body.token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    if token.is_empty() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_FAILED", "token: paste a token (a JWT of a user who may manage extensions)")
            .with_details(json!({ "field": "token" })));
    }
    let (principal, token_expiry) = state.tokens.verify_expiring(token)?;
    require_admin(&state, &principal).await?;
    let now = chrono::Utc::now().timestamp();
    // Tokens are honoured a little past expiry for clock skew; a session from one would be
    // over before the console's next request.
    if token_expiry <= now + MIN_SESSION_SECS {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "TOKEN_EXPIRED", "token: it has expired or expires within a minute; mint a fresh one")
            .with_details(json!({ "field": "token" })));
    }
    let expires_at = token_expiry.min(now + SESSION_TTL.as_secs() as i64);
    start_session(&state, &headers, principal, expires_at, |session, cookie| {
        tracing::info!(tenant = %session.principal.tenant, user = %session.principal.user, "console sign-in with a token");
        (StatusCode::OK, [(header::SET_COOKIE, cookie)], Json(describe(session))).into_response()
    })
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    code: Option<String>,
}

/// `GET /admin/login?code=`: the one-time link `serve --dev` prints. Either way the browser
/// lands on the console; a spent or unknown code lands on the sign-in screen, which says so.
async fn login_link(State(state): State<AppState>, headers: HeaderMap, query: Result<Query<LoginQuery>, QueryRejection>) -> Response {
    let code = query.ok().and_then(|Query(q)| q.code).unwrap_or_default();
    let failed = || redirect("/admin/#/signin?error=link", None);
    let Some(principal) = state.console.redeem_login_code(&code) else { return failed() };
    if require_admin(&state, &principal).await.is_err() {
        return failed();
    }
    let expires_at = chrono::Utc::now().timestamp() + SESSION_TTL.as_secs() as i64;
    start_session(&state, &headers, principal, expires_at, |session, cookie| {
        tracing::info!(tenant = %session.principal.tenant, user = %session.principal.user, "console sign-in with a one-time link");
        redirect("/admin/#/", Some(cookie))
    })
    .unwrap_or_else(|_| failed())
}

/// `DELETE /admin/session`: signs out (the browser forgets the cookie).
async fn sign_out(headers: HeaderMap) -> Result<Response, ApiError> {
    check_same_origin(&headers)?;
    let cookie = cookie_header("", 0, secure(&headers));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    principal: Principal,
    expires_at: i64,
    respond: impl FnOnce(&Session, HeaderValue) -> Response,
) -> Result<Response, ApiError> {
    let value = state.console.seal(&principal, expires_at).map_err(session_error)?;
    let max_age = (expires_at - chrono::Utc::now().timestamp()).max(0);
    let cookie = cookie_header(&value, max_age, secure(headers));
    Ok(respond(&Session { principal, expires_at }, cookie))
}

fn describe(session: &Session) -> serde_json::Value {
    let expires = chrono::DateTime::from_timestamp(session.expires_at, 0).unwrap_or_default();
    json!({
        "tenant": session.principal.tenant.as_str(),
        "user": session.principal.user,
        "roles": session.principal.roles,
        "expiresAt": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// The cookie is for the console's paths only, out of script's reach, never sent cross-site.
fn cookie_header(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).expect("a sealed session is base64url and a dot")
}

/// Whether the browser reached us over HTTPS (directly or through a proxy that says so), so
/// the cookie may be marked `Secure`; over plain HTTP (the loopback dev server) such a
/// cookie would be dropped and sign-in would silently fail.
fn secure(headers: &HeaderMap) -> bool {
    let says = |name: &str, wanted: &str| headers.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.to_ascii_lowercase().contains(wanted));
    says("x-forwarded-proto", "https") || says("forwarded", "proto=https") || says("origin", "https://")
}

fn redirect(location: &'static str, cookie: Option<HeaderValue>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::LOCATION, HeaderValue::from_static(location));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The code is in this URL: it must not travel on as a referrer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if let Some(cookie) = cookie {
        headers.insert(header::SET_COOKIE, cookie);
    }
    (StatusCode::SEE_OTHER, headers).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_list_is_sorted_for_lookup() {
        assert!(files::FILES.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn the_vendored_hooks_import_their_sibling() {
        let served = String::from_utf8(served_bytes("vendor/hooks.mjs", b"import{options as n}from\"preact\";")).unwrap();
        assert_eq!(served, "import{options as n}from\"./preact.mjs\";");
    }

    #[test]
    fn the_cookie_is_secure_only_behind_https() {
        let mut headers = HeaderMap::new();
        assert!(!secure(&headers));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(secure(&headers));
        let cookie = cookie_header("v.s", 60, true);
        assert_eq!(cookie.to_str().unwrap(), "alga_console=v.s; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=60; Secure");
    }
}
