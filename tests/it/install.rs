//! The install pipeline over HTTP on both backends: upload → approve → enable → disable →
//! settings → update → uninstall, idempotent and concurrent uploads, signatures, access.

use alga_bundle::signing::PublisherKey;
use alga_bundle::{InspectOptions, SignaturePolicy, TrustedKeys};
use alga_ext::http::{app, AppState};
use alga_ext::registry::LifecycleKind;
use alga_store::{SetOptions, StorageKey};
use axum::body::Body;
use axum::http::{header, Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::archives::sample_zip;
use crate::support::{admin_token, tenant, user_token, TestStore};

const SAMPLE: &str = "ticket-tags";
const KEY: &str = "com.alga.samples.ticket-tags";

/// Sends one request to the in-process app and returns status and JSON body.
async fn call(state: &AppState, method: Method, path: &str, token: &str, body: Body, content_type: &str) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .unwrap();
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn upload(state: &AppState, token: &str, zip: Vec<u8>) -> (u16, Value) {
    call(state, Method::POST, "/admin/v1/extensions", token, Body::from(zip), "application/zip").await
}

async fn post_json(state: &AppState, path: &str, token: &str, body: Value) -> (u16, Value) {
    call(state, Method::POST, path, token, Body::from(body.to_string()), "application/json").await
}

async fn get(state: &AppState, path: &str, token: &str) -> (u16, Value) {
    call(state, Method::GET, path, token, Body::empty(), "application/json").await
}

fn with_version(version: &'static str) -> impl FnOnce(&mut Value) {
    move |m| m["version"] = json!(version)
}

async fn round_trip(db: TestStore) {
    let state = db.app_state();
    let mut events = state.registry.events().subscribe();
    let admin = admin_token("acme");
    let t = tenant("acme");

    // Upload: pending approval, with the permission review.
    let (status, body) = upload(&state, &admin, sample_zip(SAMPLE, |_| {})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["kind"], "installed");
    assert_eq!(body["extension"]["status"], "pending_approval");
    assert_eq!(body["requestedPermissions"], json!(["storage:read", "storage:write", "tickets:read"]));
    let endpoints = body["review"]["extensionPoints"].as_array().unwrap().iter().filter(|p| p["kind"] == "endpoint").count();
    assert_eq!(endpoints, 6, "{body}");
    let id = body["extension"]["id"].as_str().unwrap().to_owned();
    let ext_path = format!("/admin/v1/extensions/{id}");

    // The same bundle again is the same install.
    let (status, again) = upload(&state, &admin, sample_zip(SAMPLE, |_| {})).await;
    assert_eq!((status, again["kind"].as_str()), (200, Some("unchanged")), "{again}");
    assert_eq!(again["extension"]["id"], id.as_str());

    // Not enabled before approval.
    let (status, body) = post_json(&state, &format!("{ext_path}/enable"), &admin, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("NOT_APPROVED")), "{body}");

    // Approve, declining one capability; asking for one it does not request is refused.
    let (status, body) = post_json(&state, &format!("{ext_path}/approve"), &admin, json!({ "permissions": ["rockets:launch"] })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("INVALID_ARGUMENT")), "{body}");
    let (status, body) = post_json(&state, &format!("{ext_path}/approve"), &admin, json!({ "permissions": ["storage:read", "tickets:read"] })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["extension"]["status"].as_str(), body["extension"]["enabled"].as_bool()), (Some("installed"), Some(false)));
    let (_, detail) = get(&state, &ext_path, &admin).await;
    let grants: Vec<(String, bool)> = detail["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (format!("{}:{}", c["resource"].as_str().unwrap(), c["action"].as_str().unwrap()), c["granted"].as_bool().unwrap()))
        .collect();
    assert_eq!(grants, [("storage:read".into(), true), ("storage:write".into(), false), ("tickets:read".into(), true)]);
    let (status, body) = post_json(&state, &format!("{ext_path}/approve"), &admin, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("NOTHING_TO_APPROVE")), "{body}");

    // User permissions were registered and given to their default roles.
    let tech_perms = db.store.role_permissions(&t, &["technician".into()]).await.unwrap();
    assert_eq!(tech_perms.iter().map(ToString::to_string).collect::<Vec<_>>(), [format!("{KEY}:view")]);

    // Enable, disable, enable.
    for (action, enabled) in [("enable", true), ("disable", false), ("enable", true)] {
        let (status, body) = post_json(&state, &format!("{ext_path}/{action}"), &admin, json!({})).await;
        assert_eq!((status, body["extension"]["enabled"].as_bool()), (200, Some(enabled)), "{body}");
    }

    // Settings: defaults, validation naming the field, update, reset.
    let settings_path = format!("{ext_path}/settings");
    let (_, body) = get(&state, &settings_path, &admin).await;
    assert_eq!(body["values"], json!({ "maxTagsPerTicket": 10, "palette": "pastel", "showOnDashboard": true }));
    let (status, body) = call(&state, Method::PUT, &settings_path, &admin, Body::from(r#"{"palette":"neon","bogus":1}"#), "application/json").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("SETTINGS_INVALID")), "{body}");
    let pointers: Vec<&str> = body["error"]["details"]["problems"].as_array().unwrap().iter().map(|p| p["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["/bogus", "/palette"]);
    let (status, body) = call(&state, Method::PUT, &settings_path, &admin, Body::from(r#"{"palette":"vivid"}"#), "application/json").await;
    assert_eq!((status, &body["values"]["palette"]), (200, &json!("vivid")), "{body}");
    let (status, body) = call(&state, Method::DELETE, &settings_path, &admin, Body::empty(), "application/json").await;
    assert_eq!((status, &body["values"]["palette"]), (200, &json!("pastel")), "{body}");

    // An update with a new capability waits for approval; the old version keeps serving.
    let v110 = sample_zip(SAMPLE, |m| {
        m["version"] = json!("1.1.0");
        m["permissions"].as_array_mut().unwrap().push(json!("tickets:write"));
    });
    let (status, body) = upload(&state, &admin, v110).await;
    assert_eq!((status, body["kind"].as_str()), (201, Some("update")), "{body}");
    assert_eq!(body["permissionDiff"]["added"], json!(["storage:write", "tickets:write"]));
    let (_, detail) = get(&state, &ext_path, &admin).await;
    assert_eq!(detail["extension"]["version"], "1.0.0");
    assert_eq!(detail["pendingUpdate"]["version"], "1.1.0");
    assert!(detail["extension"]["enabled"].as_bool().unwrap());

    // Versions are immutable, and downgrades need force.
    let changed = sample_zip(SAMPLE, |m| {
        m["version"] = json!("1.1.0");
        m["description"] = json!("same version, other content");
    });
    let (status, body) = upload(&state, &admin, changed).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("VERSION_IMMUTABLE")), "{body}");
    let (status, body) = upload(&state, &admin, sample_zip(SAMPLE, with_version("0.9.0"))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("DOWNGRADE_REFUSED")), "{body}");

    let (status, body) = post_json(&state, &format!("{ext_path}/approve"), &admin, json!({})).await;
    assert_eq!((status, body["extension"]["version"].as_str()), (200, Some("1.1.0")), "{body}");
    let (_, detail) = get(&state, &ext_path, &admin).await;
    let states: Vec<(&str, &str)> =
        detail["versions"].as_array().unwrap().iter().map(|v| (v["version"].as_str().unwrap(), v["state"].as_str().unwrap())).collect();
    assert_eq!(states, [("1.1.0", "active"), ("1.0.0", "retired")]);
    assert!(detail["pendingUpdate"].is_null());

    // Uninstall keeps data unless purged; a reinstall finds it again.
    let key = StorageKey { extension_id: id.parse().unwrap(), namespace: "tags", key: "t1" };
    db.store.storage_set(&t, key, &json!({ "name": "urgent" }), SetOptions::default()).await.unwrap();
    let (status, _) = call(&state, Method::DELETE, &ext_path, &admin, Body::empty(), "application/json").await;
    assert_eq!(status, 204);
    assert_eq!(get(&state, &ext_path, &admin).await.0, 404);
    assert!(db.store.role_permissions(&t, &["technician".into()]).await.unwrap().is_empty(), "extension permissions removed");
    let (status, body) = upload(&state, &admin, sample_zip(SAMPLE, with_version("1.1.0"))).await;
    assert_eq!((status, body["extension"]["id"].as_str()), (201, Some(id.as_str())), "{body}");
    assert!(db.store.storage_get(&t, key).await.unwrap().is_some(), "storage kept without purge");
    let (status, _) = call(&state, Method::DELETE, &format!("{ext_path}?purge=true"), &admin, Body::empty(), "application/json").await;
    assert_eq!(status, 204);
    assert!(db.store.storage_get(&t, key).await.unwrap().is_none(), "purge removes storage");
    assert_eq!(db.store.gc_file_blobs().await.unwrap(), 0, "uninstall collected the blobs already");

    // Every step was announced on the bus and written to the audit log.
    let mut kinds = Vec::new();
    while let Ok(event) = events.try_recv() {
        assert_eq!(event.key, KEY);
        kinds.push(event.kind);
    }
    use LifecycleKind as K;
    let v = |s: &str| s.to_string();
    assert_eq!(
        kinds,
        [
            K::Registered { version: v("1.0.0") },
            K::Approved { version: v("1.0.0") },
            K::Enabled,
            K::Disabled,
            K::Enabled,
            K::SettingsChanged,
            K::SettingsChanged,
            K::UpdateUploaded { version: v("1.1.0") },
            K::Updated { from_version: v("1.0.0"), to_version: v("1.1.0") },
            K::Uninstalled { purged: false },
            K::Registered { version: v("1.1.0") },
            K::Uninstalled { purged: true },
        ]
    );
    let audit: Vec<String> = db.store.list_audit(&t, 100).await.unwrap().into_iter().rev().map(|a| a.action).collect();
    for action in [
        "extension.registered",
        "extension.approved",
        "extension.enabled",
        "extension.disabled",
        "extension.settings_updated",
        "extension.settings_reset",
        "extension.update_uploaded",
        "extension.updated",
        "extension.uninstalled",
    ] {
        assert!(audit.iter().any(|a| a == action), "audit lacks {action}: {audit:?}");
    }
}

#[tokio::test]
async fn round_trip_on_sqlite() {
    round_trip(TestStore::sqlite().await).await;
}

#[tokio::test]
async fn round_trip_on_postgres() {
    round_trip(TestStore::postgres().await).await;
}

async fn parallel_uploads_end_in_one_install(db: TestStore) {
    let state = db.app_state();
    let admin = admin_token("acme");
    let zip = sample_zip(SAMPLE, |_| {});
    let uploads = (0..20).map(|_| {
        let (state, admin, zip) = (state.clone(), admin.clone(), zip.clone());
        tokio::spawn(async move { upload(&state, &admin, zip).await })
    });
    let mut statuses = Vec::new();
    for handle in uploads {
        let (status, body) = handle.await.unwrap();
        assert!(status == 200 || status == 201, "{status} {body}");
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    let t = tenant("acme");
    let installs = db.store.list_extensions(&t, &Default::default()).await.unwrap();
    assert_eq!(installs.len(), 1);
    assert_eq!(db.store.list_versions(&t, installs[0].id).await.unwrap().len(), 1);
    let registered = db.store.list_audit(&t, 100).await.unwrap().iter().filter(|a| a.action == "extension.registered").count();
    assert_eq!(registered, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_uploads_end_in_one_install_on_sqlite() {
    parallel_uploads_end_in_one_install(TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_uploads_end_in_one_install_on_postgres() {
    parallel_uploads_end_in_one_install(TestStore::postgres().await).await;
}

#[tokio::test]
async fn required_signatures_accept_only_trusted_untampered_bundles() {
    let db = TestStore::sqlite().await;
    let publisher = PublisherKey::generate("acme-publisher");
    let keys = TrustedKeys::parse(&format!("{}={}", publisher.key_id, publisher.public_key)).unwrap();
    let state = db.app_state_with(InspectOptions { signature_policy: SignaturePolicy::Required, trusted_keys: keys, ..Default::default() });
    let admin = admin_token("acme");
    let zip = sample_zip(SAMPLE, |_| {});
    let hash = alga_bundle::inspect_archive(&zip, None, &Default::default()).unwrap().bundle_hash;
    let signature = publisher.sign(&hash).unwrap();

    let (status, body) = upload(&state, &admin, zip.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("SIGNATURE_REQUIRED")), "{body}");

    // Tampered: a signature for the original on a bundle with other content.
    let tampered = sample_zip(SAMPLE, |m| m["description"] = json!("now with a backdoor"));
    let header_value = format!("{}:{}", signature.key_id, signature.signature);
    let req = |zip: Vec<u8>, sig: &str| {
        Request::post("/admin/v1/extensions")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/zip")
            .header("x-alga-signature", sig)
            .body(Body::from(zip))
            .unwrap()
    };
    let res = app(state.clone()).oneshot(req(tampered, &header_value)).await.unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "SIGNATURE_INVALID", "{body}");

    let stranger = PublisherKey::generate("stranger").sign(&hash).unwrap();
    let res = app(state.clone()).oneshot(req(zip.clone(), &format!("stranger:{}", stranger.signature))).await.unwrap();
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["error"]["code"], "SIGNATURE_UNTRUSTED", "{body}");
    assert!(db.store.list_extensions(&tenant("acme"), &Default::default()).await.unwrap().is_empty());

    // The genuine signature, as a multipart field next to the bundle.
    let boundary = "alga-test-boundary";
    let mut form = Vec::new();
    form.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"b.zip\"\r\nContent-Type: application/zip\r\n\r\n")
            .as_bytes(),
    );
    form.extend_from_slice(&zip);
    form.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"signature\"\r\n\r\n{}\r\n--{boundary}--\r\n",
            serde_json::to_string(&signature).unwrap()
        )
        .as_bytes(),
    );
    let (status, body) =
        call(&state, Method::POST, "/admin/v1/extensions", &admin, Body::from(form), &format!("multipart/form-data; boundary={boundary}")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["version"]["signer"], "acme-publisher");
}

#[tokio::test]
async fn admin_routes_need_extension_manage_and_stay_inside_the_tenant() {
    let db = TestStore::postgres().await;
    let state = db.app_state();
    let (status, body) = upload(&state, &admin_token("acme"), sample_zip(SAMPLE, |_| {})).await;
    assert_eq!(status, 201, "{body}");
    let id = body["extension"]["id"].as_str().unwrap().to_owned();

    let technician = user_token("acme", "tom", &["technician"]);
    let (status, body) = get(&state, "/admin/v1/extensions", &technician).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{body}");
    let (status, _) = upload(&state, &technician, sample_zip(SAMPLE, with_version("2.0.0"))).await;
    assert_eq!(status, 403);

    // An RBAC grant of extension:manage makes any role an admin role.
    let perm = alga_store::Permission::new("extension", "manage");
    db.store.grant_role_permission(&tenant("acme"), "ops", &perm, None).await.unwrap();
    let (status, body) = get(&state, "/admin/v1/extensions", &user_token("acme", "olga", &["ops"])).await;
    assert_eq!((status, body["extensions"].as_array().map(Vec::len)), (200, Some(1)), "{body}");

    // Another tenant's admin cannot see or touch it.
    let globex = admin_token("globex");
    let (_, body) = get(&state, "/admin/v1/extensions", &globex).await;
    assert_eq!(body["extensions"], json!([]));
    for (method, path) in [
        (Method::GET, format!("/admin/v1/extensions/{id}")),
        (Method::POST, format!("/admin/v1/extensions/{id}/approve")),
        (Method::DELETE, format!("/admin/v1/extensions/{id}?purge=true")),
        (Method::GET, format!("/admin/v1/extensions/{id}/settings")),
    ] {
        let (status, body) = call(&state, method, &path, &globex, Body::empty(), "application/json").await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")), "{path}: {body}");
    }
    let (status, _) = get(&state, "/admin/v1/extensions/not-a-uuid", &admin_token("acme")).await;
    assert_eq!(status, 404);
    let (status, body) = get(&state, "/admin/v1/extensions?sort=colour", &admin_token("acme")).await;
    assert_eq!((status, body["error"]["details"]["field"].as_str()), (400, Some("sort")), "{body}");
    let (status, body) = get(&state, "/admin/v1/extensions?status=sleeping", &admin_token("acme")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("INVALID_ARGUMENT")), "{body}");
}

#[tokio::test]
async fn the_published_schema_is_served_and_matches_the_file_in_js() {
    let db = TestStore::sqlite().await;
    let res = app(db.app_state()).oneshot(Request::get("/schemas/manifest.json").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let served: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(served, alga_bundle::Manifest::json_schema());
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../js/manifest.schema.json");
    let published: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(published, served, "js/manifest.schema.json is stale: run `alga-ext schema > js/manifest.schema.json`");
}

#[tokio::test]
async fn stored_files_are_verified_against_their_hashes_when_loaded() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let (status, body) = upload(&state, &admin_token("acme"), sample_zip(SAMPLE, |_| {})).await;
    assert_eq!(status, 201, "{body}");
    let t = tenant("acme");
    let version_id: uuid::Uuid = body["version"]["id"].as_str().unwrap().parse().unwrap();
    let files = state.registry.load_version_files(&t, version_id).await.unwrap();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [
            "manifest.json",
            "src/index.js",
            "src/tags.js",
            "ui/alga-page.js",
            "ui/alga-ui-core.js",
            "ui/alga-ui-data.js",
            "ui/alga-ui-forms.js",
            "ui/alga-ui-overlays.js",
            "ui/alga-ui-select.js",
            "ui/alga-ui.css",
            "ui/alga-ui.js",
            "ui/board.css",
            "ui/board.js",
            "ui/index.html",
            "ui/tags-page.js",
            "ui/tags.css"
        ]
    );
    assert_eq!(alga_bundle::bundle_hash(&files), body["version"]["bundleHash"].as_str().unwrap());

    // Someone with database access swaps the code behind the recorded hash.
    let hash = &files["src/tags.js"].sha256;
    sqlx::query("UPDATE file_blobs SET content = ?1 WHERE content_hash = ?2")
        .bind(b"export const evil = true;".to_vec())
        .bind(hash)
        .execute(db.sqlite.as_ref().unwrap().pool())
        .await
        .unwrap();
    let err = state.registry.load_version_files(&t, version_id).await.unwrap_err();
    assert!(matches!(&err, alga_ext::registry::RegistryError::Bundle(e) if e.code() == "BUNDLE_HASH_MISMATCH"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_warn_about_open_points_and_secrets_this_server_cannot_seal() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let manifest = serde_json::json!({
        "id": "com.example.warned", "name": "Warned", "version": "1.0.0", "main": "index.js",
        "settings": [{ "key": "apiKey", "type": "string", "label": "API key", "secret": true }],
        "extensionPoints": { "endpoints": [{ "method": "GET", "path": "/open", "handler": "open" }] }
    });
    let zip = crate::archives::zip(&[
        crate::archives::Entry::file("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        crate::archives::Entry::file("index.js", b"export function open() { return 1; }".to_vec()),
    ]);
    let req = axum::http::Request::post("/admin/v1/extensions")
        .header("authorization", format!("Bearer {}", crate::support::admin_token("acme")))
        .header("content-type", "application/zip")
        .body(axum::body::Body::from(zip))
        .unwrap();
    let res = tower::ServiceExt::oneshot(alga_ext::http::app(state), req).await.unwrap();
    assert_eq!(res.status(), 201);
    let body: serde_json::Value = serde_json::from_slice(&http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes()).unwrap();
    let warnings: Vec<&str> = body["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    assert!(warnings.iter().any(|w| w.starts_with("/extensionPoints/endpoints/0 (GET /open) has no \"permission\"")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.starts_with("/settings/0 (apiKey) is secret, and this server has no encryption keys")), "{warnings:?}");
}
