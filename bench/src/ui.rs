//! The UI-descriptor part of `alga-bench`: navigation and dashboard descriptors for one user among many tenants × extensions on a warm cache, and a warm data widget, through the router.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alga_store::{ConnectOptions, MaintenanceStore, Permission, SqliteStore, Store, TenantId};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use alga_ext::auth::TokenKeys;
use alga_ext::http::{app, AppState};
use alga_ext::registry::Registry;

/// A manifest with three navigation items (one needing a permission), three pages and two
/// frame widgets: descriptors without isolate work.
fn manifest(key: &str) -> serde_json::Value {
    serde_json::json!({
        "id": key, "name": key, "version": "1.0.0", "main": "index.js",
        "userPermissions": [{ "name": "view" }],
        "assets": ["ui/**"],
        "extensionPoints": {
            "pages": [
                { "path": "/home", "entry": "ui/index.html" },
                { "path": "/list", "handler": "list" },
                { "path": "/admin", "handler": "admin", "permission": "view" }
            ],
            "navigation": [
                { "id": "home", "label": "Home", "page": "/home", "order": 1 },
                { "id": "list", "label": "List", "page": "/list", "order": 2 },
                { "id": "admin", "label": "Admin", "page": "/admin", "order": 3 }
            ],
            "dashboardWidgets": [
                { "id": "a", "title": "A", "entry": "ui/index.html", "size": "small" },
                { "id": "b", "title": "B", "entry": "ui/index.html", "size": "large", "permission": "view" }
            ]
        }
    })
}

/// Inserts `tenants` × `extensions` enabled installs in one transaction (the install
/// pipeline would take hours for 100,000; descriptors read only these rows).
async fn populate(store: &SqliteStore, tenants: usize, extensions: usize) -> anyhow::Result<()> {
    let mut tx = store.pool().begin().await?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    for t in 0..tenants {
        for e in 0..extensions {
            let key = format!("com.bench.ext{e}");
            sqlx::query(
                "INSERT INTO extensions (id, tenant_id, extension_key, name, version, manifest, main_entry_point, is_enabled, status, \
                 bundle_hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?3, '1.0.0', ?4, 'index.js', 1, 'installed', ?5, ?6, ?6)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(format!("tenant{t}"))
            .bind(&key)
            .bind(manifest(&key).to_string())
            .bind(format!("{:064x}", t * extensions + e))
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn time_get(router: &axum::Router, path: &str, token: &str, runs: usize) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let req = Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty())?;
        let started = Instant::now();
        let res = router.clone().oneshot(req).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        samples.push(started.elapsed());
        anyhow::ensure!(status == StatusCode::OK, "{path}: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok(samples)
}

pub async fn run(tenants: usize, extensions: usize) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("alga-bench-ui-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sqlite = SqliteStore::connect(&ConnectOptions::new(format!("sqlite://{}", dir.join("ui.db").display()))).await?;
    sqlite.migrate().await?;
    let started = Instant::now();
    populate(&sqlite, tenants, extensions).await?;
    println!("ui: {} installs in {tenants} tenants inserted in {:.1} s", tenants * extensions, started.elapsed().as_secs_f64());
    let store: Arc<dyn Store> = Arc::new(sqlite);
    let tenant = TenantId::parse(&format!("tenant{}", tenants / 2))?;
    for e in 0..extensions {
        store.grant_role_permission(&tenant, "agent", &Permission::new(format!("com.bench.ext{e}"), "view"), None).await?;
    }
    let registry = Arc::new(Registry::new(store.clone(), Default::default()));

    // One data widget whose handler returns at once, installed through the real pipeline.
    let mut files = alga_bundle::Files::new();
    files.insert("index.js".into(), alga_bundle::BundleFile::new(b"export function stats() { return { open: 7 }; }\n".to_vec()));
    let widget_manifest = serde_json::json!({ "id": "com.bench.widget", "name": "Widget", "version": "1.0.0", "main": "index.js",
        "extensionPoints": { "dashboardWidgets": [{ "id": "stats", "title": "Stats", "handler": "stats", "size": "small" }] } });
    files.insert("manifest.json".into(), alga_bundle::BundleFile::new(serde_json::to_vec(&widget_manifest)?));
    let zip = alga_bundle::pack::zip_files(&files, |_, _| {})?;
    let widget_tenant = TenantId::parse("widgets")?;
    let outcome = registry.upload(&widget_tenant, "bench", zip, None, false).await?;
    registry.approve(&widget_tenant, outcome.extension.id, None, true, "bench").await?;

    let tokens = TokenKeys::from_secret(alga_ext::auth::generate_secret().as_bytes());
    let token = tokens.mint(&tenant, "u1", &["agent".into()], Duration::from_secs(3600))?;
    let widget_token = tokens.mint(&widget_tenant, "u1", &["agent".into()], Duration::from_secs(3600))?;
    let router = app(AppState::new(registry, tokens, vec!["admin".into()]));

    for (label, path, tok) in [
        ("navigation", "/api/ui/navigation", &token),
        ("dashboard (frame widgets)", "/api/ui/dashboard", &token),
        ("one warm data widget", "/api/ui/dashboard/com.bench.widget/stats", &widget_token),
    ] {
        time_get(&router, path, tok, 200).await?; // warm caches, isolate and token check
        let samples = time_get(&router, path, tok, 5_000).await?;
        println!("ui {label} ({extensions} extensions in each of {tenants} tenants), server-side through the router: {}", crate::summary(samples));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
