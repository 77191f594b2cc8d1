//! Test fixtures: a throwaway PostgreSQL database or SQLite file per test, and an in-process app.

use std::sync::Arc;

use alga_ext::auth::TokenKeys;
use alga_ext::http::AppState;
use alga_ext::registry::Registry;
use alga_store::{ConnectOptions, MaintenanceStore, PgStore, SqliteStore, Store, TenantId};
use sqlx::Connection;

pub const SECRET: &str = "test-secret-test-secret-test-secret";

/// The PostgreSQL server tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("ALGA_EXT_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn tenant(raw: &str) -> TenantId {
    TenantId::parse(raw).expect("valid tenant id")
}

/// A database of its own for one test, dropped (with its connections) when the test ends.
pub struct PgTestDb {
    pub url: String,
    name: String,
}

impl PgTestDb {
    pub async fn create() -> Self {
        let name = format!("alga_it_{}", uuid::Uuid::new_v4().simple());
        let admin = pg_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
        conn.close().await.ok();
        let base = admin.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin);
        Self { url: format!("{base}/{name}"), name }
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let (admin, name) = (pg_admin_url(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

/// A migrated store on one backend, with whatever keeps its database alive.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub pg: Option<PgStore>,
    pub sqlite: Option<SqliteStore>,
    _pg_db: Option<PgTestDb>,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = SqliteStore::connect(&ConnectOptions::new(url)).await.unwrap();
        store.migrate().await.unwrap();
        Self { store: Arc::new(store.clone()), pg: None, sqlite: Some(store), _pg_db: None, _dir: Some(dir) }
    }

    pub async fn postgres() -> Self {
        let db = PgTestDb::create().await;
        let store = PgStore::connect(&ConnectOptions::new(db.url.clone())).await.unwrap();
        store.migrate().await.unwrap();
        Self { store: Arc::new(store.clone()), pg: Some(store), sqlite: None, _pg_db: Some(db), _dir: None }
    }

    /// The PostgreSQL database's URL (its owner, a superuser here), when on PostgreSQL.
    pub fn pg_url(&self) -> Option<&str> {
        self._pg_db.as_ref().map(|db| db.url.as_str())
    }

    /// Another node on the same PostgreSQL database: its own connections, node id, caches
    /// and isolates (PostgreSQL only).
    pub async fn another_node(&self) -> AppState {
        self.another_node_with(|registry| registry).await
    }

    /// [`Self::another_node`] with its registry configured by `configure`.
    pub async fn another_node_with(&self, configure: impl FnOnce(Registry) -> Registry) -> AppState {
        self.another_node_and_store(configure).await.0
    }

    /// Another node and its store (whose pool a test may look into).
    pub async fn another_node_and_store(&self, configure: impl FnOnce(Registry) -> Registry) -> (AppState, PgStore) {
        let url = &self._pg_db.as_ref().expect("another node needs PostgreSQL").url;
        let pg = PgStore::connect(&ConnectOptions::new(url.clone())).await.unwrap();
        let registry = Arc::new(configure(Registry::new(Arc::new(pg.clone()), Default::default())));
        (AppState::new(registry, TokenKeys::from_secret(SECRET.as_bytes()), vec!["admin".into()]), pg)
    }

    pub fn app_state(&self) -> AppState {
        self.app_state_with(alga_bundle::InspectOptions::default())
    }

    /// App state whose isolate pool uses `pool`.
    pub fn app_state_with_pool(&self, pool: alga_ext::pool::PoolConfig) -> AppState {
        let registry = Arc::new(Registry::new(self.store.clone(), Default::default()));
        AppState::with_pool(registry, TokenKeys::from_secret(SECRET.as_bytes()), vec!["admin".into()], pool)
    }

    /// App state whose registry checks bundles with `inspect`; role `admin` manages extensions.
    pub fn app_state_with(&self, inspect: alga_bundle::InspectOptions) -> AppState {
        let registry = Arc::new(Registry::new(self.store.clone(), inspect));
        AppState::new(registry, TokenKeys::from_secret(SECRET.as_bytes()), vec!["admin".into()])
    }
}

/// A token for `tenant` whose `admin` role may manage extensions.
pub fn admin_token(tenant_id: &str) -> String {
    user_token(tenant_id, "alice", &["admin"])
}

pub fn user_token(tenant_id: &str, user: &str, roles: &[&str]) -> String {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    TokenKeys::from_secret(SECRET.as_bytes()).mint(&tenant(tenant_id), user, &roles, std::time::Duration::from_secs(300)).unwrap()
}
