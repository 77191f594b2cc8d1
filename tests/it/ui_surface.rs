//! The host-facing UI surface end to end: navigation, dashboard widgets, page descriptors, signed handler pages, `apiproxy`, honest answers and editions — real HTTP, V8 and both backends.

use std::sync::Arc;
use std::time::Duration;

use alga_ext::http::{app, AppState};
use alga_ext::registry::{Edition, Registry};
use axum::body::Body;
use axum::http::{header, Method, Request};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::archives::{self, Entry};
use crate::dispatch::{install_zip, send};
use crate::support::{admin_token, user_token, TestStore, SECRET};

const INDEX_JS: &str = r#"
export function count(request, ctx) { return { n: 3, user: ctx.user.id, path: request.path }; }
export function broken() { throw new Error("widget broke"); }
export function reports(request, ctx) { return `<h1>Reports for ${ctx.user.id}</h1>`; }
export function report(request, ctx) { return `<p>report ${request.params.id} q=${request.query.q ?? ""} t=${request.query.t ?? "hidden"} assets=${ctx.extension.assetsUrl}</p>`; }
export function jump() { return { status: 302, headers: { location: "https://evil.example/", "set-cookie": "session=stolen; Path=/" }, body: "" }; }
export function ping(request, ctx) { return { pong: true, user: ctx.user.id, received: request.body }; }
export function refuse(request, ctx) { ctx.error(422, "NAME_TAKEN", "name: taken already", { field: "name" }); }
export function gone(request, ctx) { ctx.error(410, "GONE", "moved", null, { headers: { location: "https://evil.example/", "set-cookie": "session=stolen; Path=/", "retry-after": "5" } }); }
"#;

const SLOW_JS: &str = r#"
export async function slow() { await new Promise((resolve) => setTimeout(resolve, 4000)); return { late: true }; }
export function fine() { return { fine: true }; }
"#;

fn ui_bundle() -> Vec<u8> {
    let manifest = json!({
        "id": "com.example.ui", "name": "UI", "version": "1.0.0", "main": "index.js",
        "userPermissions": [
            { "name": "view", "defaultRoles": ["admin", "manager"] },
            { "name": "reports", "defaultRoles": ["manager"] }
        ],
        "assets": ["ui/**"],
        "extensionPoints": {
            "pages": [
                { "path": "/home", "entry": "ui/index.html", "title": "Home" },
                { "path": "/reports", "handler": "reports", "title": "Reports", "permission": "reports" },
                { "path": "/report/:id", "handler": "report", "title": "Report", "permission": "view" },
                { "path": "/jump", "handler": "jump" },
                { "path": "/gone", "handler": "gone" }
            ],
            "navigation": [
                { "id": "home", "label": "Home", "page": "/home", "order": 2, "icon": "house" },
                { "id": "reports", "label": "Reports", "page": "/reports", "order": 1 }
            ],
            "dashboardWidgets": [
                { "id": "count", "title": "Count", "handler": "count", "size": "small", "refreshSeconds": 60 },
                { "id": "broken", "title": "Broken", "handler": "broken", "size": "small" },
                { "id": "frame", "title": "Frame", "entry": "ui/index.html", "size": "large" },
                { "id": "secret", "title": "Secret", "handler": "count", "size": "medium", "permission": "reports" }
            ],
            "endpoints": [
                { "method": "POST", "path": "/ping", "handler": "ping", "permission": "view" },
                { "method": "POST", "path": "/refuse", "handler": "refuse", "permission": "view" }
            ]
        }
    });
    archives::zip(&[
        Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        Entry::file("index.js", INDEX_JS.as_bytes().to_vec()),
        Entry::file("ui/index.html", b"<!doctype html><title>Home</title><script src=\"app.js\"></script>".to_vec()),
        Entry::file("ui/app.js", b"console.log('home');".to_vec()),
    ])
}

fn slow_bundle() -> Vec<u8> {
    let manifest = json!({
        "id": "com.example.slow", "name": "Slow", "version": "1.0.0", "main": "index.js",
        "extensionPoints": { "dashboardWidgets": [
            { "id": "slow", "title": "Slow", "handler": "slow", "size": "small" },
        ] }
    });
    archives::zip(&[Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()), Entry::file("index.js", SLOW_JS.as_bytes().to_vec())])
}

fn state_for(db: &TestStore, edition: Edition) -> AppState {
    let registry = Arc::new(Registry::new(db.store.clone(), Default::default()).with_edition(edition));
    AppState::new(registry, alga_ext::auth::TokenKeys::from_secret(SECRET.as_bytes()), vec!["admin".into()])
        .with_widget_budget(Duration::from_millis(1500))
}

/// GET without a bearer token; returns status, headers and the body as text.
async fn get_plain(state: &AppState, path: &str) -> (u16, axum::http::HeaderMap, String) {
    let res = app(state.clone()).oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list[field].as_array().unwrap().iter().map(|i| format!("{}:{}", i["extensionKey"].as_str().unwrap(), i["id"].as_str().unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_surface_on_sqlite() {
    ui_surface(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_surface_on_postgres() {
    ui_surface(TestStore::postgres().await).await;
}

async fn ui_surface(db: TestStore) {
    let state = state_for(&db, Edition::Ee);
    let id = install_zip(&state, "acme", ui_bundle()).await;
    install_zip(&state, "acme", slow_bundle()).await;
    let (admin, manager, stranger) = (admin_token("acme"), user_token("acme", "mia", &["manager"]), admin_token("globex"));

    // Navigation: filtered by each item's and its page's permission, ordered by `order`.
    let (status, _, nav) = send(&state, Method::GET, "/api/ui/navigation", &manager, None).await;
    assert_eq!((status, ids(&nav, "items")), (200, vec!["com.example.ui:reports".to_owned(), "com.example.ui:home".to_owned()]), "{nav}");
    let home = &nav["items"][1];
    assert_eq!((home["icon"].as_str(), home["path"].as_str(), home["order"].as_i64()), (Some("house"), Some("/home"), Some(2)));
    let bundle_hash = db.store.get_extension(&crate::support::tenant("acme"), id.parse().unwrap()).await.unwrap().unwrap().bundle_hash;
    assert_eq!(home["pageUrl"], format!("/ext-ui/{id}/sha256:{bundle_hash}/ui/index.html"));
    assert!(nav["items"][0]["pageUrl"].as_str().unwrap().starts_with(&format!("/ext-pages/{id}/reports?t=")), "{nav}");
    let (_, _, nav) = send(&state, Method::GET, "/api/ui/navigation", &admin, None).await;
    assert_eq!(ids(&nav, "items"), vec!["com.example.ui:home"], "admins lack `reports`: {nav}");
    let (_, _, nav) = send(&state, Method::GET, "/api/ui/navigation", &stranger, None).await;
    assert_eq!(nav["items"], json!([]), "another tenant sees nothing of acme's extensions");

    // Dashboard: a good, a failing, a frame and a slow widget side by side.
    let started = std::time::Instant::now();
    let (status, _, dash) = send(&state, Method::GET, "/api/ui/dashboard", &manager, None).await;
    assert_eq!(status, 200, "{dash}");
    let widget = |id: &str| dash["widgets"].as_array().unwrap().iter().find(|w| w["id"] == id).cloned().unwrap_or(Value::Null);
    assert_eq!(widget("count")["state"], "ok", "{dash}");
    assert_eq!(widget("count")["data"], json!({ "n": 3, "user": "mia", "path": "/widgets/count" }));
    assert_eq!((widget("count")["refreshSeconds"].as_u64(), widget("count")["kind"].as_str()), (Some(60), Some("data")));
    assert_eq!((widget("broken")["state"].as_str(), widget("broken")["code"].as_str()), (Some("error"), Some("EXTENSION_ERROR")), "{dash}");
    assert_eq!((widget("frame")["kind"].as_str(), widget("frame")["state"].as_str()), (Some("frame"), Some("ok")));
    assert_eq!(widget("frame")["url"], format!("/ext-ui/{id}/sha256:{bundle_hash}/ui/index.html"));
    assert_eq!((widget("slow")["state"].as_str(), widget("slow")["code"].as_str()), (Some("error"), Some("WIDGET_TIMEOUT")), "{dash}");
    assert_eq!(widget("secret")["state"], "ok");
    assert!(started.elapsed() < Duration::from_secs(4), "the slow widget did not hold the list: {:?}", started.elapsed());
    let (_, _, dash) = send(&state, Method::GET, "/api/ui/dashboard", &admin, None).await;
    assert!(dash["widgets"].as_array().unwrap().iter().all(|w| w["id"] != "secret"), "admins lack `reports`: {dash}");

    // One widget refreshed; a widget the caller may not see; another tenant's.
    let (status, _, one) = send(&state, Method::GET, "/api/ui/dashboard/com.example.ui/count", &admin, None).await;
    assert_eq!((status, one["data"]["user"].as_str()), (200, Some("alice")), "{one}");
    let (status, _, denied) = send(&state, Method::GET, "/api/ui/dashboard/com.example.ui/secret", &admin, None).await;
    assert_eq!((status, denied["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{denied}");
    assert_eq!(send(&state, Method::GET, "/api/ui/dashboard/com.example.ui/count", &stranger, None).await.0, 404);
    assert_eq!(send(&state, Method::GET, "/api/ui/dashboard/com.example.ui/nope", &admin, None).await.0, 404);

    // Page descriptors: a static page, a handler page (signed for this user), refusals.
    let (status, _, page) = send(&state, Method::GET, "/api/ui/pages/com.example.ui/home", &admin, None).await;
    assert_eq!((status, page["kind"].as_str(), page["title"].as_str()), (200, Some("static"), Some("Home")), "{page}");
    let (status, _, denied) = send(&state, Method::GET, "/api/ui/pages/com.example.ui/reports", &admin, None).await;
    assert_eq!((status, denied["error"]["details"]["required"].as_str()), (403, Some("reports")), "{denied}");
    assert_eq!(send(&state, Method::GET, "/api/ui/pages/com.example.ui/reports", &stranger, None).await.0, 404);
    assert_eq!(send(&state, Method::GET, "/api/ui/pages/com.example.ui/nowhere", &admin, None).await.0, 404);
    let (status, _, page) = send(&state, Method::GET, "/api/ui/pages/com.example.ui/reports", &manager, None).await;
    assert_eq!((status, page["kind"].as_str(), page["permission"].as_str()), (200, Some("handler"), Some("reports")), "{page}");
    let url = page["url"].as_str().unwrap().to_owned();

    // The signed URL renders for its user, with the page headers, and for nothing else.
    let (status, headers, html) = get_plain(&state, &url).await;
    assert_eq!((status, html.as_str()), (200, "<h1>Reports for mia</h1>"));
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors"), "{csp}");
    assert!(csp.contains("sandbox allow-scripts") && !csp.contains("allow-same-origin"), "pages get an opaque origin: {csp}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(headers.contains_key("x-request-id"), "a rendered page names its request: {headers:?}");
    let token = url.split("?t=").nth(1).unwrap();
    let slow_id = db.store.find_extension_by_key(&crate::support::tenant("acme"), "com.example.slow").await.unwrap().unwrap().id;
    let (status, _, body) = get_plain(&state, &format!("/ext-pages/{slow_id}/reports?t={token}")).await;
    assert_eq!(status, 401, "a URL signed for one extension opens no other's pages: {body}");
    assert_eq!(get_plain(&state, &format!("/ext-pages/{id}/reports")).await.0, 401, "no signature");
    assert_eq!(get_plain(&state, &format!("/ext-pages/{id}/reports?t={token}x")).await.0, 401, "tampered");
    let (_, _, page) = send(&state, Method::GET, "/api/ui/pages/com.example.ui/report/42?q=7", &admin, None).await;
    let report_url = page["url"].as_str().unwrap().to_owned();
    assert!(report_url.starts_with(&format!("/ext-pages/{id}/report/42?q=7&t=")), "the query is passed on: {report_url}");
    let (status, _, html) = get_plain(&state, &report_url).await;
    let want = format!("<p>report 42 q=7 t=hidden assets=/ext-ui/{id}/sha256:{bundle_hash}/</p>");
    assert_eq!((status, html), (200, want), "params, query and the assets' URL reach the handler; the signature does not");
    // A page may neither set cookies nor send the browser to another site.
    let (_, _, page) = send(&state, Method::GET, "/api/ui/pages/com.example.ui/jump", &admin, None).await;
    let (status, headers, _) = get_plain(&state, page["url"].as_str().unwrap()).await;
    assert_eq!(status, 302);
    assert!(headers.get(header::LOCATION).is_none() && headers.get(header::SET_COOKIE).is_none(), "{headers:?}");
    // Nor by throwing an HttpError with those headers; its other headers and the request's id
    // are sent.
    let (_, _, page) = send(&state, Method::GET, "/api/ui/pages/com.example.ui/gone", &admin, None).await;
    let (status, headers, _) = get_plain(&state, page["url"].as_str().unwrap()).await;
    assert_eq!(status, 410);
    assert!(headers.get(header::LOCATION).is_none() && headers.get(header::SET_COOKIE).is_none(), "{headers:?}");
    assert_eq!(headers[header::RETRY_AFTER], "5");
    assert!(headers.contains_key("x-request-id"), "{headers:?}");
    // The host's own `t` in the query is not taken for the signature.
    let (_, _, page) = send(&state, Method::GET, "/api/ui/pages/com.example.ui/report/7?t=1&q=2", &admin, None).await;
    let (status, _, html) = get_plain(&state, page["url"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{page} {html}");
    assert!(html.starts_with("<p>report 7 q=2 t=hidden"), "{html}");
    // Page keys are per deployment: a node with other keys refuses this one's URLs.
    let other_state = state_for(&db, Edition::Ee);
    let (status, _, _) = get_plain(&other_state, &url).await;
    assert_eq!(status, 401, "another process (with its own random page key) refuses this one's URLs");

    // apiproxy: Alga's bridge message answered through the endpoint dispatch, as the caller.
    let payload = json!({ "route": "/ping", "method": "POST", "body": base64::engine::general_purpose::STANDARD.encode(br#"{"hi":1}"#) });
    let (status, _, proxied) = send(&state, Method::POST, "/api/ui/apiproxy/com.example.ui", &manager, Some(payload)).await;
    assert_eq!(status, 200, "{proxied}");
    let body: Value = serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(proxied["body"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(body, json!({ "pong": true, "user": "mia", "received": { "hi": 1 } }));
    let (_, _, proxied) =
        send(&state, Method::POST, "/api/ui/apiproxy/com.example.ui", &stranger, Some(json!({ "route": "/ping", "method": "POST" }))).await;
    assert_eq!(proxied["error"]["code"], "NOT_FOUND", "{proxied}");
    // An extension's own refusal reaches the page whole: its code, words and details.
    let (_, _, refused) =
        send(&state, Method::POST, "/api/ui/apiproxy/com.example.ui", &manager, Some(json!({ "route": "/refuse", "method": "POST" }))).await;
    assert_eq!(
        (&refused["error"]["code"], &refused["error"]["status"], &refused["error"]["details"]),
        (&json!("NAME_TAKEN"), &json!(422), &json!({ "field": "name" })),
        "{refused}"
    );
    let (status, _, bad) = send(&state, Method::POST, "/api/ui/apiproxy/com.example.ui", &manager, Some(json!({ "route": "ping" }))).await;
    assert_eq!((status, bad["error"]["details"]["field"].as_str()), (400, Some("route")), "{bad}");

    // Disabled: gone from the descriptors, and its own tenant is told why.
    let (status, _, _) = send(&state, Method::POST, &format!("/admin/v1/extensions/{id}/disable"), &admin, None).await;
    assert_eq!(status, 200);
    let (_, _, nav) = send(&state, Method::GET, "/api/ui/navigation", &manager, None).await;
    assert_eq!(nav["items"], json!([]));
    let (_, _, dash) = send(&state, Method::GET, "/api/ui/dashboard", &manager, None).await;
    assert_eq!(ids(&dash, "widgets"), vec!["com.example.slow:slow"], "{dash}");
    for path in ["/api/ui/pages/com.example.ui/home", "/api/ui/dashboard/com.example.ui/count"] {
        let (status, _, body) = send(&state, Method::GET, path, &manager, None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (409, Some("EXTENSION_DISABLED")), "{path}: {body}");
        assert_eq!(send(&state, Method::GET, path, &stranger, None).await.0, 404, "{path}: no existence leak to other tenants");
    }
    let (status, _, body) = send(&state, Method::POST, "/api/extensions/com.example.ui/ping", &manager, Some(json!({}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("EXTENSION_DISABLED")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_page_url_counts_against_its_tenants_rate_limit() {
    let db = TestStore::sqlite().await;
    let limit = alga_ext::rate_limit::TenantRateLimit::new(1, 3).unwrap();
    let guards = alga_ext::http::HostGuards { rate_limit: Some(limit), cors: Default::default() };
    let state = state_for(&db, Edition::Ee).with_guards(guards);
    install_zip(&state, "acme", ui_bundle()).await;
    let manager = user_token("acme", "mia", &["manager"]);
    let (_, _, page) = send(&state, Method::GET, "/api/ui/pages/com.example.ui/reports", &manager, None).await;
    let url = page["url"].as_str().unwrap().to_owned();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get_plain(&state, &url).await.0);
    }
    assert_eq!(statuses.last(), Some(&429), "a replayed URL is rate limited like any host call: {statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_extension_says_so_to_its_own_tenant_only() {
    let db = TestStore::sqlite().await;
    let state = state_for(&db, Edition::Ee);
    let admin = admin_token("acme");
    let req = Request::post("/admin/v1/extensions")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(ui_bundle()))
        .unwrap();
    assert_eq!(app(state.clone()).oneshot(req).await.unwrap().status(), 201);
    let (status, _, body) = send(&state, Method::POST, "/api/extensions/com.example.ui/ping", &admin, Some(json!({}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("EXTENSION_PENDING")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("approval"), "{body}");
    assert_eq!(send(&state, Method::POST, "/api/extensions/com.example.ui/ping", &admin_token("globex"), Some(json!({}))).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_community_edition_refuses_enterprise_points_and_serves_the_rest() {
    let db = TestStore::postgres().await;
    let ce = state_for(&db, Edition::Ce);
    let admin = admin_token("acme");

    // Upload: every EE-only item is named by JSON pointer.
    let req = Request::post("/admin/v1/extensions")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(ui_bundle()))
        .unwrap();
    let res = app(ce.clone()).oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("EDITION_REQUIRED")), "{body}");
    let pointers: Vec<&str> = body["error"]["details"]["unsupported"].as_array().unwrap().iter().map(|u| u["pointer"].as_str().unwrap()).collect();
    assert_eq!(
        pointers,
        [
            "/extensionPoints/pages/0",
            "/extensionPoints/pages/1",
            "/extensionPoints/pages/2",
            "/extensionPoints/pages/3",
            "/extensionPoints/pages/4",
            "/extensionPoints/endpoints/0",
            "/extensionPoints/endpoints/1",
            "/extensionPoints/navigation/0",
            "/extensionPoints/navigation/1"
        ]
    );
    assert_eq!(db.store.count_extensions(&crate::support::tenant("acme")).await.unwrap(), 0, "nothing was written");

    // An EE install moved to a CE node stays installed; its EE points answer EDITION_REQUIRED.
    let ee = state_for(&db, Edition::Ee);
    install_zip(&ee, "acme", ui_bundle()).await;
    let manager = user_token("acme", "mia", &["manager"]);
    for path in ["/api/ui/pages/com.example.ui/home"] {
        let (status, _, body) = send(&ce, Method::GET, path, &manager, None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("EDITION_REQUIRED")), "{path}: {body}");
    }
    let (status, _, body) = send(&ce, Method::POST, "/api/extensions/com.example.ui/ping", &manager, Some(json!({}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("EDITION_REQUIRED")), "{body}");
    let (_, _, nav) = send(&ce, Method::GET, "/api/ui/navigation", &manager, None).await;
    assert_eq!(nav["items"], json!([]), "navigation items open pages, which CE does not serve");
    let (_, _, dash) = send(&ce, Method::GET, "/api/ui/dashboard", &manager, None).await;
    let count = dash["widgets"].as_array().unwrap().iter().find(|w| w["id"] == "count").cloned().unwrap();
    assert_eq!((count["state"].as_str(), count["data"]["n"].as_i64()), (Some("ok"), Some(3)), "CE serves dashboard widgets: {dash}");
    let (_, _, me) = send(&ce, Method::GET, "/v1/me", &manager, None).await;
    assert_eq!(me["edition"], "ce");
    let (_, _, me) = send(&ee, Method::GET, "/v1/me", &manager, None).await;
    assert_eq!(me["edition"], "ee");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alga_ui_app_menu_is_accepted_as_a_navigation_item() {
    let db = TestStore::sqlite().await;
    let state = state_for(&db, Edition::Ee);
    let bundle = |ui: Value, assets: Value| {
        let manifest = json!({ "id": "com.example.alga", "name": "Alga UI", "version": "1.0.0", "main": "index.js", "assets": assets, "ui": ui });
        archives::zip(&[
            Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()),
            Entry::file("index.js", b"export function unused() {}".to_vec()),
            Entry::file("ui/index.html", b"<!doctype html><title>Alga app</title>".to_vec()),
        ])
    };
    let ui =
        json!({ "type": "iframe", "entry": "ui/index.html", "hooks": { "appMenu": { "label": "Hello" }, "clientPortalMenu": { "label": "Later" } } });

    // An entry the assets do not cover is refused, named by its pointer.
    let admin = admin_token("acme");
    let req = Request::post("/admin/v1/extensions")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(bundle(ui.clone(), json!([]))))
        .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let pointers: Vec<&str> = body["error"]["details"]["problems"].as_array().unwrap().iter().filter_map(|p| p["pointer"].as_str()).collect();
    assert!(pointers.contains(&"/ui/entry"), "{body}");

    let id = install_zip(&state, "acme", bundle(ui, json!(["ui/**"]))).await;
    let (_, _, nav) = send(&state, Method::GET, "/api/ui/navigation", &admin, None).await;
    assert_eq!(ids(&nav, "items"), vec!["com.example.alga:app-menu"], "{nav}");
    let item = &nav["items"][0];
    assert_eq!((item["label"].as_str(), item["path"].as_str()), (Some("Hello"), Some("/")));
    let url = item["pageUrl"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("/ext-ui/{id}/sha256:")) && url.ends_with("/ui/index.html"), "{url}");
    let (status, _, html) = get_plain(&state, &url).await;
    assert_eq!((status, html.as_str()), (200, "<!doctype html><title>Alga app</title>"));
    let (status, _, page) = send(&state, Method::GET, "/api/ui/pages/com.example.alga/", &admin, None).await;
    assert_eq!((status, page["kind"].as_str(), page["url"].as_str()), (200, Some("static"), Some(url.as_str())), "{page}");
}

/// What a caller gets from one extension point in one situation: a status, or for navigation
/// whether the item is listed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    Status(u16),
    Listed(bool),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_extension_point_in_every_situation_on_sqlite() {
    points_by_situation(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_extension_point_in_every_situation_on_postgres() {
    points_by_situation(TestStore::postgres().await).await;
}

/// Each extension point that needs the `reports` permission × {permitted, missing permission,
/// other tenant, disabled, community edition}.
async fn points_by_situation(db: TestStore) {
    let (ee, ce) = (state_for(&db, Edition::Ee), state_for(&db, Edition::Ce));
    let id = install_zip(&ee, "acme", ui_bundle()).await;
    let (manager, admin, stranger) = (user_token("acme", "mia", &["manager"]), admin_token("acme"), admin_token("globex"));

    async fn look(state: &AppState, point: &str, token: &str) -> Seen {
        if point == "navigation" {
            let (_, _, nav) = send(state, Method::GET, "/api/ui/navigation", token, None).await;
            return Seen::Listed(nav["items"].as_array().unwrap().iter().any(|i| i["id"] == "reports"));
        }
        let (method, body) = if point.starts_with("/api/extensions/") { (Method::POST, Some(json!({}))) } else { (Method::GET, None) };
        Seen::Status(send(state, method, point, token, body).await.0)
    }
    let points =
        ["/api/extensions/com.example.ui/ping", "/api/ui/pages/com.example.ui/reports", "/api/ui/dashboard/com.example.ui/secret", "navigation"];
    // Expected per point: permitted, missing permission, other tenant, disabled, CE node.
    let ok = Seen::Status(200);
    let expected: [[Seen; 5]; 4] = [
        [ok, ok, Seen::Status(404), Seen::Status(409), Seen::Status(403)],
        [ok, Seen::Status(403), Seen::Status(404), Seen::Status(409), Seen::Status(403)],
        [ok, Seen::Status(403), Seen::Status(404), Seen::Status(409), ok],
        [Seen::Listed(true), Seen::Listed(false), Seen::Listed(false), Seen::Listed(false), Seen::Listed(false)],
    ];
    let mut seen = [[Seen::Listed(false); 5]; 4];
    for (p, point) in points.iter().enumerate() {
        seen[p][0] = look(&ee, point, &manager).await;
        seen[p][1] = look(&ee, point, &admin).await;
        seen[p][2] = look(&ee, point, &stranger).await;
        seen[p][4] = look(&ce, point, &manager).await;
    }
    let (status, _, _) = send(&ee, Method::POST, &format!("/admin/v1/extensions/{id}/disable"), &admin, None).await;
    assert_eq!(status, 200);
    for (p, point) in points.iter().enumerate() {
        seen[p][3] = look(&ee, point, &manager).await;
    }
    // The endpoint `ping` needs `view`, which admins hold too; the others need `reports`.
    for (p, point) in points.iter().enumerate() {
        assert_eq!(seen[p], expected[p], "{point}: [permitted, missing permission, other tenant, disabled, CE node]");
    }
}
