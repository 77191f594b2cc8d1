//! Static UI assets at `/ext-ui/{installId}/sha256:{hash}/{*path}` over real HTTP on both
//! backends: headers and CSP, ETag/304, content types, client-side route fallback, which
//! versions are served, traversal refused before the store is asked, the token mode, and
//! the manifest rules for static entries.

use alga_ext::http::ui_assets::UiSettings;
use alga_ext::http::{app, AppState};
use axum::http::Method;
use serde_json::{json, Value};

use crate::archives::{self, Entry};
use crate::dispatch::{install_zip, send};
use crate::support::{admin_token, user_token, TestStore};
use crate::wire::{request, spawn};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const CSP_SELF: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; sandbox allow-scripts allow-forms allow-popups; frame-ancestors 'self'";

const INDEX_HTML: &str = "<!doctype html><html><head><link rel=\"stylesheet\" href=\"app.css\"></head>\
     <body><div id=\"app\"></div><script src=\"app.js\"></script></body></html>";

/// The UI files of the test bundle with the content type each must be served with.
fn ui_files(marker: &str) -> Vec<(String, Vec<u8>, &'static str)> {
    vec![
        ("ui/index.html".into(), format!("{INDEX_HTML}<!-- {marker} -->").into_bytes(), "text/html; charset=utf-8"),
        ("ui/app.js".into(), format!("console.log({marker:?});").into_bytes(), "text/javascript; charset=utf-8"),
        ("ui/mod.mjs".into(), b"export const x = 1;".to_vec(), "text/javascript; charset=utf-8"),
        ("ui/app.css".into(), b"body { margin: 0 }".to_vec(), "text/css; charset=utf-8"),
        ("ui/data.json".into(), br#"{"a":1}"#.to_vec(), "application/json"),
        ("ui/app.js.map".into(), br#"{"version":3}"#.to_vec(), "application/json"),
        ("ui/logo.svg".into(), b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(), "image/svg+xml"),
        ("ui/img/pixel.png".into(), vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255], "image/png"),
        ("ui/img/photo.jpg".into(), vec![0xff, 0xd8, 0xff, 0], "image/jpeg"),
        ("ui/img/anim.gif".into(), b"GIF89a".to_vec(), "image/gif"),
        ("ui/img/pic.webp".into(), b"RIFF0000WEBP".to_vec(), "image/webp"),
        ("ui/favicon.ico".into(), vec![0, 0, 1, 0], "image/x-icon"),
        ("ui/fonts/a.woff".into(), b"wOFF".to_vec(), "font/woff"),
        ("ui/fonts/a.woff2".into(), b"wOF2".to_vec(), "font/woff2"),
        ("ui/fonts/a.ttf".into(), vec![0, 1, 0, 0], "font/ttf"),
        ("ui/notes.txt".into(), b"plain".to_vec(), "text/plain; charset=utf-8"),
        ("ui/calc.wasm".into(), vec![0, b'a', b's', b'm', 1, 0, 0, 0], "application/wasm"),
        ("ui/blob.bin".into(), b"<html><script>sniff me</script>".to_vec(), "application/octet-stream"),
        ("ui/my file.txt".into(), b"spaced".to_vec(), "text/plain; charset=utf-8"),
    ]
}

/// A bundle with a static page (`ui/index.html`), a frame widget, a server module and the
/// UI files above; `marker` makes versions differ.
fn ui_bundle(key: &str, version: &str, marker: &str) -> Vec<u8> {
    let manifest = json!({
        "id": key, "name": format!("UI {key}"), "version": version, "main": "index.js",
        "extensionPoints": {
            "pages": [{ "path": "/home", "entry": "ui/index.html", "title": "Home" }],
            "dashboardWidgets": [{ "id": "w", "title": "W", "size": "small", "entry": "ui/index.html" }],
            "endpoints": [{ "method": "GET", "path": "/ping", "handler": "ping" }],
        },
        "assets": ["ui/**"],
    });
    let mut entries = vec![
        Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        Entry::file("index.js", format!("export function ping() {{ return {marker:?}; }}").into_bytes()),
    ];
    entries.extend(ui_files(marker).into_iter().map(|(path, bytes, _)| Entry::file(&path, bytes)));
    archives::zip(&entries)
}

/// The bundle hash the server computes for an archive.
fn hash_of(zip: &[u8]) -> String {
    alga_bundle::bundle_hash(&alga_bundle::read_archive(zip, &Default::default()).unwrap())
}

fn sha256(bytes: &[u8]) -> String {
    alga_bundle::sha256_hex(bytes)
}

/// Uploads without approving; returns the install id.
async fn upload(state: &AppState, tenant: &str, zip: Vec<u8>) -> String {
    let (_, body) = try_upload(state, tenant, zip).await;
    body["extension"]["id"].as_str().unwrap_or_else(|| panic!("upload failed: {body}")).to_owned()
}

/// Uploads as the tenant's admin; returns the status and JSON body.
async fn try_upload(state: &AppState, tenant: &str, zip: Vec<u8>) -> (u16, Value) {
    use axum::body::Body;
    use axum::http::{header, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = Request::post("/admin/v1/extensions")
        .header(header::AUTHORIZATION, format!("Bearer {}", admin_token(tenant)))
        .header(header::CONTENT_TYPE, "application/zip")
        .body(Body::from(zip))
        .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    (status, serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap_or(Value::Null))
}

fn backend(db: &TestStore) -> &'static str {
    if db.pg.is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_served_with_immutable_headers_content_types_and_csp_on_both_backends() {
    for db in [TestStore::sqlite().await, TestStore::postgres().await] {
        let be = backend(&db);
        let state = db.app_state();
        let zip = ui_bundle("com.example.ui", "1.0.0", "v1");
        let hash = hash_of(&zip);
        let id = install_zip(&state, "acme", zip).await;
        let (addr, _stop) = spawn(&state).await;
        let base = format!("/ext-ui/{id}/sha256:{hash}");

        for (path, bytes, content_type) in ui_files("v1") {
            let url = format!("{base}/{}", path.replace(' ', "%20"));
            let reply = request(addr, "GET", &url, &[]).await;
            assert_eq!(reply.status, 200, "{be} {url}: {}", reply.text());
            assert_eq!(reply.body, bytes, "{be} {url}");
            assert_eq!(reply.header("content-type"), Some(content_type), "{be} {url}");
            assert_eq!(reply.header("cache-control"), Some(IMMUTABLE), "{be} {url}");
            assert_eq!(reply.header("etag"), Some(format!("\"sha256-{}\"", sha256(&bytes)).as_str()), "{be} {url}");
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{be} {url}");
            assert_eq!(reply.header("referrer-policy"), Some("no-referrer"), "{be} {url}");
            // Readable from a sandboxed page's "null" origin (module scripts load in CORS mode).
            let sandboxed = request(addr, "GET", &url, &[("Origin", "null")]).await;
            assert_eq!(sandboxed.header("access-control-allow-origin"), Some("*"), "{be} {url}");
            let csp = content_type.starts_with("text/html") || content_type.starts_with("image/svg");
            assert_eq!(reply.header("content-security-policy"), csp.then_some(CSP_SELF), "{be} {url}");
        }

        // Alga's layout (paths below `ui/`), the encoded hash its host sends, uppercase hex,
        // the root, and HEAD.
        let index = ui_files("v1").remove(0).1;
        let alga = format!("/ext-ui/{id}/sha256%3A{}/index.html?path=/tags", hash.to_uppercase());
        for url in [alga.as_str(), &format!("{base}/"), &format!("{base}/ui/"), &format!("{base}/app.css")] {
            let reply = request(addr, "GET", url, &[]).await;
            assert_eq!((reply.status, reply.header("cache-control")), (200, Some(IMMUTABLE)), "{be} {url}");
            if !url.ends_with(".css") {
                assert_eq!(reply.body, index, "{be} {url}");
            }
        }
        let head = request(addr, "HEAD", &format!("{base}/ui/app.js"), &[]).await;
        assert_eq!((head.status, head.body.len()), (200, 0), "{be}");
        assert_eq!(head.header("content-length"), Some(r#"console.log("v1");"#.len().to_string().as_str()), "{be}");
        assert_eq!(head.header("content-type"), Some("text/javascript; charset=utf-8"), "{be}");

        // Client-side routes under the page's folder get its entry, revalidated every time.
        for route in ["ui/tags/42", "ui/tags/42/", "tags/42", "ui/settings"] {
            let reply = request(addr, "GET", &format!("{base}/{route}"), &[]).await;
            assert_eq!((reply.status, reply.header("cache-control")), (200, Some("no-cache")), "{be} {route}");
            assert_eq!(reply.body, index, "{be} {route}");
            assert_eq!(reply.header("content-security-policy"), Some(CSP_SELF), "{be} {route}");
        }

        // What is not an asset file is not served: missing files (with an extension, so no
        // fallback), the server module, the manifest.
        for missing in ["ui/missing.js", "ui/img/none.png", "index.js", "manifest.json", "ui/index.html/x.js"] {
            let reply = request(addr, "GET", &format!("{base}/{missing}"), &[]).await;
            assert_eq!((reply.status, reply.json()["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{be} {missing}");
        }

        // Unknown hashes and ids; a hash not written sha256:<hex>.
        for unknown in ["0".repeat(64), hash[..63].to_owned(), format!("{hash}0"), "abcd".into()] {
            let url = format!("/ext-ui/{id}/sha256:{unknown}/ui/index.html");
            assert_eq!(request(addr, "GET", &url, &[]).await.status, 404, "{be} {unknown}");
        }
        let other_id = format!("/ext-ui/{}/sha256:{hash}/ui/index.html", uuid::Uuid::new_v4());
        assert_eq!(request(addr, "GET", &other_id, &[]).await.status, 404, "{be}");
        assert_eq!(request(addr, "GET", &format!("/ext-ui/not-a-uuid/sha256:{hash}/ui/index.html"), &[]).await.status, 404, "{be}");
        for bad in [hash.clone(), format!("sha1:{hash}"), "sha256:xyz".into(), "sha256:".into()] {
            let reply = request(addr, "GET", &format!("/ext-ui/{id}/{bad}/ui/index.html"), &[]).await;
            assert_eq!((reply.status, reply.json()["error"]["code"].as_str()), (400, Some("INVALID_CONTENT_HASH")), "{be} {bad}");
            assert!(reply.json()["error"]["message"].as_str().unwrap().contains("contentHash"), "{be}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_answer_304_for_matching_if_none_match_on_both_backends() {
    for db in [TestStore::sqlite().await, TestStore::postgres().await] {
        let be = backend(&db);
        let state = db.app_state();
        let zip = ui_bundle("com.example.ui", "1.0.0", "v1");
        let hash = hash_of(&zip);
        let id = install_zip(&state, "acme", zip).await;
        let (addr, _stop) = spawn(&state).await;
        let js = format!("/ext-ui/{id}/sha256:{hash}/ui/app.js");
        let etag = request(addr, "GET", &js, &[]).await.header("etag").unwrap().to_owned();
        let weak = format!("W/{etag}");
        let list = format!("\"nope\", {etag}");
        let cases: [(&str, &str, u16); 6] =
            [(&etag, "exact", 304), (&weak, "weak", 304), (&list, "list", 304), ("*", "star", 304), ("\"nope\"", "other", 200), ("", "empty", 200)];
        for (value, name, want) in cases {
            let reply = request(addr, "GET", &js, &[("If-None-Match", value)]).await;
            assert_eq!(reply.status, want, "{be} {name}");
            assert_eq!(reply.header("etag"), Some(etag.as_str()), "{be} {name}");
            assert_eq!(reply.header("cache-control"), Some(IMMUTABLE), "{be} {name}");
            assert_eq!(reply.body.is_empty(), want == 304, "{be} {name}");
        }
        // A route's fallback revalidates by the entry's ETag.
        let page = request(addr, "GET", &format!("/ext-ui/{id}/sha256:{hash}/ui/index.html"), &[]).await;
        let page_etag = page.header("etag").unwrap();
        let route = request(addr, "GET", &format!("/ext-ui/{id}/sha256:{hash}/ui/tags/7"), &[("If-None-Match", page_etag)]).await;
        assert_eq!((route.status, route.header("cache-control")), (304, Some("no-cache")), "{be}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_active_and_pending_versions_of_the_named_install_are_served_on_both_backends() {
    for db in [TestStore::sqlite().await, TestStore::postgres().await] {
        let be = backend(&db);
        let state = db.app_state();
        let admin = admin_token("acme");
        let v1 = ui_bundle("com.example.ui", "1.0.0", "v1");
        let (h1, acme_id) = (hash_of(&v1), install_zip(&state, "acme", v1).await);
        let other = ui_bundle("com.example.other", "1.0.0", "globex");
        let (h_other, globex_id) = (hash_of(&other), install_zip(&state, "globex", other).await);
        let (addr, _stop) = spawn(&state).await;
        let get = |id: &str, hash: &str| format!("/ext-ui/{id}/sha256:{hash}/ui/app.js");

        assert_eq!(request(addr, "GET", &get(&acme_id, &h1), &[]).await.status, 200, "{be}");
        assert_eq!(request(addr, "GET", &get(&globex_id, &h_other), &[]).await.status, 200, "{be}");
        // Another install's hash names nothing here, whichever tenant asks.
        assert_eq!(request(addr, "GET", &get(&acme_id, &h_other), &[]).await.status, 404, "{be}");
        assert_eq!(request(addr, "GET", &get(&globex_id, &h1), &[]).await.status, 404, "{be}");

        // A pending update is served beside the active version (for review)...
        let v2 = ui_bundle("com.example.ui", "2.0.0", "v2");
        let h2 = hash_of(&v2);
        assert_eq!(request(addr, "GET", &get(&acme_id, &h2), &[]).await.status, 404, "{be}: not uploaded yet");
        upload(&state, "acme", v2).await;
        let pending = request(addr, "GET", &get(&acme_id, &h2), &[]).await;
        assert_eq!((pending.status, pending.text()), (200, r#"console.log("v2");"#.to_owned()), "{be}");
        assert_eq!(request(addr, "GET", &get(&acme_id, &h1), &[]).await.status, 200, "{be}");

        // ...and once approved, the retired version is gone at once (cache dropped).
        let (status, _, body) = send(&state, Method::POST, &format!("/admin/v1/extensions/{acme_id}/approve"), &admin, Some(json!({}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(request(addr, "GET", &get(&acme_id, &h1), &[]).await.status, 404, "{be}: retired");
        assert_eq!(request(addr, "GET", &get(&acme_id, &h2), &[]).await.status, 200, "{be}");

        // A first install waiting for approval is served too; an uninstalled one is not.
        let fresh = ui_bundle("com.example.fresh", "1.0.0", "fresh");
        let h_fresh = hash_of(&fresh);
        let fresh_id = upload(&state, "acme", fresh).await;
        assert_eq!(request(addr, "GET", &get(&fresh_id, &h_fresh), &[]).await.status, 200, "{be}");
        let (status, _, _) = send(&state, Method::DELETE, &format!("/admin/v1/extensions/{acme_id}"), &admin, None).await;
        assert_eq!(status, 204, "{be}");
        assert_eq!(request(addr, "GET", &get(&acme_id, &h2), &[]).await.status, 404, "{be}: uninstalled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_and_malformed_paths_are_refused_before_the_store_is_asked() {
    for db in [TestStore::sqlite().await, TestStore::postgres().await] {
        let be = backend(&db);
        let state = db.app_state();
        let zip = ui_bundle("com.example.ui", "1.0.0", "v1");
        let hash = hash_of(&zip);
        let id = install_zip(&state, "acme", zip).await;
        let (addr, _stop) = spawn(&state).await;
        let base = format!("/ext-ui/{id}/sha256:{hash}");
        let hostile = [
            "../../../admin/v1/extensions",
            "ui/../index.js",
            "ui/../../etc/passwd",
            "%2e%2e/index.js",
            "ui/%2E%2E/index.js",
            "ui/%2e%2e%2findex.js",
            "ui%2f..%2findex.js",
            "ui\\..\\index.js",
            "ui%5c..%5cindex.js",
            "ui/index.html%00.js",
            "/etc/passwd",
            "%2fetc/passwd",
            "ui/./app.js",
            "ui//app.js",
            "ui/%zz",
        ];
        // With the database gone, anything that reached the store would fail with 503.
        match (&db.sqlite, &db.pg) {
            (Some(sqlite), _) => sqlite.pool().close().await,
            (_, Some(pg)) => pg.pool().close().await,
            _ => unreachable!(),
        }
        for path in hostile {
            let reply = request(addr, "GET", &format!("{base}/{path}"), &[]).await;
            let body = reply.json();
            assert_eq!((reply.status, body["error"]["code"].as_str()), (400, Some("INVALID_PATH")), "{be} {path}: {body}");
            assert_eq!(body["error"]["details"]["field"], "path", "{be} {path}");
        }
        // The control: a fine path that is not cached yet does reach the (closed) store.
        assert_eq!(request(addr, "GET", &format!("{base}/ui/app.js"), &[]).await.status, 503, "{be}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asset_changed_in_the_database_since_install_is_refused_not_served() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let zip = ui_bundle("com.example.ui", "1.0.0", "v1");
    let hash = hash_of(&zip);
    let id = install_zip(&state, "acme", zip).await;
    let (addr, _stop) = spawn(&state).await;
    let original = r#"console.log("v1");"#;
    sqlx::query("UPDATE file_blobs SET content = ?1 WHERE content_hash = ?2")
        .bind(b"alert('evil')".to_vec())
        .bind(sha256(original.as_bytes()))
        .execute(db.sqlite.as_ref().unwrap().pool())
        .await
        .unwrap();
    let reply = request(addr, "GET", &format!("/ext-ui/{id}/sha256:{hash}/ui/app.js"), &[]).await;
    assert_eq!((reply.status, reply.json()["error"]["code"].as_str()), (500, Some("INTERNAL")), "{}", reply.text());
    assert!(!reply.text().contains("evil"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_mode_serves_only_the_installs_own_tenant_on_both_backends() {
    for db in [TestStore::sqlite().await, TestStore::postgres().await] {
        let be = backend(&db);
        let state = db.app_state().with_ui_assets(UiSettings::new("'self'", None, true).unwrap());
        let zip = ui_bundle("com.example.ui", "1.0.0", "v1");
        let hash = hash_of(&zip);
        let id = install_zip(&state, "acme", zip).await;
        let (addr, _stop) = spawn(&state).await;
        let url = format!("/ext-ui/{id}/sha256:{hash}/ui/app.js");
        let bearer = |token: &str| format!("Bearer {token}");
        let own = bearer(&user_token("acme", "tom", &["technician"]));
        let foreign = bearer(&admin_token("globex"));

        let cases: [(&str, Option<&str>, u16, Option<&str>); 4] = [
            ("no token", None, 401, Some("UNAUTHENTICATED")),
            ("bad token", Some("Bearer not.a.jwt"), 401, Some("INVALID_TOKEN")),
            ("another tenant's token", Some(&foreign), 404, Some("NOT_FOUND")),
            ("the install's tenant", Some(&own), 200, None),
        ];
        for (name, auth, want, code) in cases {
            let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
            let reply = request(addr, "GET", &url, &headers).await;
            assert_eq!((reply.status, reply.json()["error"]["code"].as_str()), (want, code), "{be} {name}");
            if want == 200 {
                // Private: a shared cache must not hand it to someone without the token.
                assert_eq!(reply.header("cache-control"), Some("private, max-age=31536000, immutable"), "{be}");
                assert_eq!(reply.header("vary"), Some("authorization"), "{be}");
                // Not public: no cross-origin reads.
                assert_eq!(reply.header("access-control-allow-origin"), None, "{be}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_takes_the_configured_frame_ancestors_or_is_replaced_whole() {
    let db = TestStore::sqlite().await;
    let zip = ui_bundle("com.example.ui", "1.0.0", "v1");
    let hash = hash_of(&zip);
    let id = install_zip(&db.app_state(), "acme", zip).await;
    let url = format!("/ext-ui/{id}/sha256:{hash}/ui/index.html");
    let cases = [
        (UiSettings::new("'self'  https://psa.example.com", None, false).unwrap(), format!("{CSP_SELF} https://psa.example.com")),
        (UiSettings::new("'self'", Some("default-src 'none'; frame-ancestors *"), false).unwrap(), "default-src 'none'; frame-ancestors *".into()),
    ];
    for (settings, want) in cases {
        let state = db.app_state().with_ui_assets(settings);
        // Handler-rendered pages (`/ext-pages/...`) are framed under the same policy.
        assert_eq!(&*state.page_csp, want.as_str());
        let (addr, _stop) = spawn(&state).await;
        let reply = request(addr, "GET", &url, &[]).await;
        assert_eq!(reply.header("content-security-policy"), Some(want.as_str()));
        // Whatever the operator's policy says, a second one keeps the document sandboxed
        // (browsers enforce both), so extension script never runs as this origin.
        assert_eq!(reply.header_values("content-security-policy"), [want.as_str(), "sandbox allow-scripts allow-forms allow-popups"]);
        // Non-HTML assets carry no policy.
        let js = request(addr, "GET", &url.replace("index.html", "app.js"), &[]).await;
        assert_eq!(js.header("content-security-policy"), None);
    }
}

#[tokio::test]
async fn pages_and_widgets_name_a_handler_or_a_static_entry_but_not_both_on_both_backends() {
    let cases = [
        (
            "static page and frame widget",
            json!([{ "path": "/a", "entry": "ui/index.html" }]),
            json!([{ "id": "w", "title": "W", "size": "small", "entry": "ui/w.html" }]),
            None,
        ),
        (
            "handler page and data widget",
            json!([{ "path": "/a", "handler": "ping" }]),
            json!([{ "id": "w", "title": "W", "size": "small", "handler": "ping" }]),
            None,
        ),
        (
            "page with both",
            json!([{ "path": "/a", "handler": "ping", "entry": "ui/index.html" }]),
            json!([]),
            Some(("target", "/extensionPoints/pages/0")),
        ),
        ("page with neither", json!([{ "path": "/a" }]), json!([]), Some(("target", "/extensionPoints/pages/0"))),
        (
            "widget with neither",
            json!([]),
            json!([{ "id": "w", "title": "W", "size": "small" }]),
            Some(("target", "/extensionPoints/dashboardWidgets/0")),
        ),
        (
            "entry not an asset",
            json!([{ "path": "/a", "entry": "server.html" }]),
            json!([]),
            Some(("entry_not_asset", "/extensionPoints/pages/0/entry")),
        ),
        ("entry missing", json!([{ "path": "/a", "entry": "ui/nope.html" }]), json!([]), Some(("missing_file", "/extensionPoints/pages/0/entry"))),
        ("entry not html", json!([{ "path": "/a", "entry": "ui/app.js" }]), json!([]), Some(("entry_type", "/extensionPoints/pages/0/entry"))),
        (
            "entry climbing out",
            json!([{ "path": "/a", "entry": "ui/../server.html" }]),
            json!([]),
            Some(("entry_path", "/extensionPoints/pages/0/entry")),
        ),
        (
            "widget entry not an asset",
            json!([]),
            json!([{ "id": "w", "title": "W", "size": "small", "entry": "server.html" }]),
            Some(("entry_not_asset", "/extensionPoints/dashboardWidgets/0/entry")),
        ),
    ];
    for db in [TestStore::sqlite().await, TestStore::postgres().await] {
        let be = backend(&db);
        let state = db.app_state();
        for (name, pages, widgets, expected) in &cases {
            let manifest = json!({
                "id": "com.example.rules", "name": "Rules", "version": "1.0.0", "main": "index.js",
                "extensionPoints": { "pages": pages, "dashboardWidgets": widgets }, "assets": ["ui/**"],
            });
            let zip = archives::zip(&[
                Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()),
                Entry::file("index.js", b"export function ping() { return 'pong'; }".to_vec()),
                Entry::file("server.html", b"<p>not an asset</p>".to_vec()),
                Entry::file("ui/index.html", INDEX_HTML.as_bytes().to_vec()),
                Entry::file("ui/w.html", INDEX_HTML.as_bytes().to_vec()),
                Entry::file("ui/app.js", b"1".to_vec()),
            ]);
            let (status, body) = try_upload(&state, "acme", zip).await;
            match expected {
                None => {
                    assert_eq!(status, 201, "{be} {name}: {body}");
                    let id = body["extension"]["id"].as_str().unwrap();
                    let (status, _, _) = send(&state, Method::DELETE, &format!("/admin/v1/extensions/{id}"), &admin_token("acme"), None).await;
                    assert_eq!(status, 204, "{be} {name}");
                }
                Some((rule, pointer)) => {
                    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("MANIFEST_INVALID")), "{be} {name}: {body}");
                    let problems = body["error"]["details"]["problems"].as_array().unwrap();
                    assert!(problems.iter().any(|p| p["rule"] == *rule && p["pointer"] == *pointer), "{be} {name}: {body}");
                    assert!(problems.iter().all(|p| p["message"].as_str().is_some_and(|m| !m.is_empty())), "{be} {name}");
                }
            }
        }
    }
}
