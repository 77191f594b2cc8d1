//! The admin console's sessions over real HTTP: a pasted token or a one-time link becomes an
//! `HttpOnly` cookie that the admin API accepts only with the console's header and only for
//! its own tenant; forged, foreign and expired cookies and spent links are refused in words;
//! the console's files and the recent-errors endpoint.

use std::time::Duration;

use alga_ext::auth::session::ConsoleSessions;
use alga_ext::auth::{Principal, TokenKeys};
use alga_ext::http::AppState;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};

use crate::support::{admin_token, tenant, user_token, TestStore, SECRET};

struct Server {
    _db: TestStore,
    state: AppState,
    base: String,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    async fn start() -> Self {
        let db = TestStore::sqlite().await;
        let state = db.app_state().with_console(ConsoleSessions::from_secret(SECRET.as_bytes()));
        let (addr, stop) = crate::wire::spawn(&state).await;
        let base = format!("http://{addr}");
        // Redirects are looked at, not followed: where a login link sends the browser is the point.
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { _db: db, state, base, client, _stop: stop }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /admin/session` as the console sends it; answers status, body and the cookie.
    async fn sign_in(&self, body: Value) -> (u16, Value, Option<String>) {
        let res = self.client.post(self.url("/admin/session")).header("x-alga-console", "1").json(&body).send().await.unwrap();
        let cookie = res.headers().get(SET_COOKIE).map(|v| v.to_str().unwrap().to_owned());
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null), cookie)
    }

    /// A GET with the session cookie and, when `console`, the console's header.
    async fn get_with(&self, path: &str, cookie: &str, console: bool) -> (u16, Value) {
        let mut req = self.client.get(self.url(path)).header(COOKIE, cookie);
        if console {
            req = req.header("x-alga-console", "1");
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
    }
}

/// `alga_console=<value>` out of a `Set-Cookie` header.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_token_becomes_an_httponly_cookie_the_admin_api_accepts_with_the_console_header() {
    let server = Server::start().await;
    let (status, body, cookie) = server.sign_in(json!({ "token": admin_token("acme") })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["tenant"].as_str(), body["user"].as_str(), body["roles"].clone()), (Some("acme"), Some("alice"), json!(["admin"])));
    let cookie = cookie.expect("a session cookie is set");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: a Secure cookie would be dropped ({cookie})");
    // The session lasts no longer than the token it came from (300 s in the fixtures).
    let expires = chrono::DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap()).unwrap().timestamp();
    assert!(expires <= chrono::Utc::now().timestamp() + 300, "session outlives its token: {body}");

    let cookie = pair(&cookie);
    let (status, who) = server.get_with("/admin/session", &cookie, false).await;
    assert_eq!((status, who["user"].as_str()), (200, Some("alice")), "{who}");
    let (status, list) = server.get_with("/admin/v1/extensions", &cookie, true).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["extensions"], json!([]));

    // Without the console's header the cookie is a forged request: refused, and told why.
    let (status, body) = server.get_with("/admin/v1/extensions", &cookie, false).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("X-Alga-Console"), "{body}");
    // A browser that says the request comes from another site is refused too.
    let res = server
        .client
        .get(server.url("/admin/v1/extensions"))
        .header(COOKIE, &cookie)
        .header("x-alga-console", "1")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);

    // Signing out clears the cookie.
    let res = server.client.delete(server.url("/admin/session")).header(COOKIE, &cookie).header("x-alga-console", "1").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let cleared = res.headers().get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cleared.starts_with("alga_console=;") && cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_refuses_bad_input_in_words() {
    let server = Server::start().await;
    let (status, body, cookie) = server.sign_in(json!({ "token": "  " })).await;
    assert_eq!((status, body["error"]["code"].as_str(), body["error"]["details"]["field"].as_str()), (400, Some("VALIDATION_FAILED"), Some("token")));
    assert!(cookie.is_none());
    let (status, body, cookie) = server.sign_in(json!({ "token": "not-a-jwt" })).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("not a JWT"), "{body}");
    assert!(cookie.is_none());
    let (status, body, _) = server.sign_in(json!({ "token": user_token("acme", "bob", &["technician"]) })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{body}");
    let expired = TokenKeys::from_secret(SECRET.as_bytes()).mint(&tenant("acme"), "alice", &["admin".into()], Duration::ZERO).unwrap();
    let (status, body, _) = server.sign_in(json!({ "token": expired })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("TOKEN_EXPIRED")), "{body}");
    let (status, body, _) = server.sign_in(json!({ "token": admin_token("acme"), "remember": true })).await;
    assert_eq!(status, 400, "unknown fields are refused: {body}");
    // The console's header is required here too: a cross-site form cannot sign anyone in.
    let res = server.client.post(server.url("/admin/session")).json(&json!({ "token": admin_token("acme") })).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert!(res.headers().get(SET_COOKIE).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_link_signs_in_once() {
    let server = Server::start().await;
    let alice = Principal { tenant: tenant("acme"), user: "alice".into(), roles: vec!["admin".into()] };
    let code = server.state.console.issue_login_code(alice);
    let res = server.client.get(server.url(&format!("/admin/login?code={code}"))).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers().get(LOCATION).unwrap(), "/admin/#/");
    assert_eq!(res.headers().get("referrer-policy").unwrap(), "no-referrer");
    let cookie = pair(res.headers().get(SET_COOKIE).expect("the link sets the session cookie").to_str().unwrap());
    let (status, who) = server.get_with("/admin/session", &cookie, false).await;
    assert_eq!((status, who["tenant"].as_str()), (200, Some("acme")));

    for spent in [format!("/admin/login?code={code}"), "/admin/login?code=made-up".into(), "/admin/login".into(), "/admin/login?code=%ZZ".into()] {
        let res = server.client.get(server.url(&spent)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 303, "{spent}");
        assert_eq!(res.headers().get(LOCATION).unwrap(), "/admin/#/signin?error=link", "{spent}");
        assert!(res.headers().get(SET_COOKIE).is_none(), "{spent}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_foreign_and_expired_cookies_are_refused_and_a_session_sees_only_its_tenant() {
    let server = Server::start().await;
    let alice = Principal { tenant: tenant("acme"), user: "alice".into(), roles: vec!["admin".into()] };
    let now = chrono::Utc::now().timestamp();
    let foreign = ConsoleSessions::from_secret(b"some other server's secret, 32 bytes+").seal(&alice, now + 600).unwrap();
    let (status, body) = server.get_with("/admin/v1/extensions", &format!("alga_console={foreign}"), true).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("sign in again"), "{body}");
    let expired = server.state.console.seal(&alice, now - 1).unwrap();
    let (status, body) = server.get_with("/admin/v1/extensions", &format!("alga_console={expired}"), true).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("TOKEN_EXPIRED")), "{body}");
    let (status, _) = server.get_with("/admin/session", &format!("alga_console={expired}"), false).await;
    assert_eq!(status, 401);

    // A session is its principal's: another tenant's install is neither listed nor reachable.
    let other = crate::dispatch::install(&server.state, "globex", "com.example.other", "1.0.0", "export function v() { return 1; }", &["v"]).await;
    let cookie = format!("alga_console={}", server.state.console.seal(&alice, now + 600).unwrap());
    let (status, list) = server.get_with("/admin/v1/extensions", &cookie, true).await;
    assert_eq!((status, list["extensions"].clone()), (200, json!([])));
    let (status, _) = server.get_with(&format!("/admin/v1/extensions/{other}"), &cookie, true).await;
    assert_eq!(status, 404);
    // A bearer token still wins over a cookie, whatever the cookie says.
    let res = server
        .client
        .get(server.url("/admin/v1/extensions"))
        .header(COOKIE, format!("alga_console={foreign}"))
        .bearer_auth(admin_token("globex"))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["extensions"].as_array().unwrap().len(), 1, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_errors_list_an_extensions_failures_newest_first_for_its_tenant_only() {
    let server = Server::start().await;
    let source = "export function boom() { throw new Error('the tickets table is empty'); }\nexport function ok() { return 1; }";
    let id = crate::dispatch::install(&server.state, "acme", "com.example.flaky", "1.0.0", source, &["boom", "ok"]).await;
    let admin = admin_token("acme");
    let errors = |token: String| {
        let (client, url) = (server.client.clone(), server.url(&format!("/admin/v1/extensions/{id}/errors")));
        async move {
            let res = client.get(url).bearer_auth(token).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = errors(admin.clone()).await;
    assert_eq!((status, body["errors"].clone()), (200, json!([])));
    for path in ["boom", "ok", "boom"] {
        server.client.get(server.url(&format!("/api/extensions/{id}/{path}"))).bearer_auth(&admin).send().await.unwrap();
    }
    let (status, body) = errors(admin.clone()).await;
    assert_eq!(status, 200, "{body}");
    let listed = body["errors"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{body}");
    assert_eq!(listed[0]["code"], "EXTENSION_ERROR");
    assert!(listed[0]["message"].as_str().unwrap().contains("the tickets table is empty"), "{body}");
    assert!(listed[0]["at"].as_str().unwrap() >= listed[1]["at"].as_str().unwrap());
    let (status, _) = errors(admin_token("globex")).await;
    assert_eq!(status, 404, "another tenant cannot read them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_page_is_served_with_its_own_csp() {
    let server = Server::start().await;
    for path in ["/admin", "/admin/"] {
        let res = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
        let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
    }
    let res = server.client.get(server.url("/admin/vendor/hooks.mjs")).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/javascript; charset=utf-8");
    let hooks = res.text().await.unwrap();
    assert!(hooks.contains("from\"./preact.mjs\"") && !hooks.contains("from\"preact\""), "hooks must import their sibling");
    let res = server.client.get(server.url("/admin/no-such-file.js")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}
