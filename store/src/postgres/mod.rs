//! The PostgreSQL store: every operation runs in a transaction scoped to its tenant by RLS.
//!
//! Each role trait is implemented in its own file; the multi-step flows come from
//! `crate::flows` over the statements in `statements.rs`.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool, Postgres, Transaction};

mod acquire;
mod assets;
mod audit;
mod changes;
mod extensions;
mod install;
mod kv;
mod kv_admin;
mod maintenance;
mod roles;
// Visible to the crate for `search_statements` (fuzzing builds only).
pub(crate) mod search;
mod settings;
mod statements;
mod storage;

use crate::{ConnectOptions, Result, StoreError, TenantId};

/// The role migrations create and the server's pooled connections switch to.
pub const DEFAULT_APP_ROLE: &str = "alga_ext_app";

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

const EXTENSION_COLUMNS: &str = "id::text AS id, tenant_id, extension_key, name, description, version, \
     manifest, main_entry_point, is_enabled, status, bundle_hash, limits, created_at, updated_at";
const VERSION_COLUMNS: &str = "id::text AS id, extension_id::text AS extension_id, version, bundle_hash, \
     manifest, main_entry_point, signer, state, created_at, approved_at";
const VALUE_COLUMNS: &str = "key, value, revision, expires_at, size_bytes, created_at, updated_at";
const LIVE: &str = "(expires_at IS NULL OR expires_at > now())";

/// A PostgreSQL-backed [`Store`](crate::Store).
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Options of the connecting (owner) user, used for migrations only.
    owner_options: PgConnectOptions,
    /// This node's id: its connections announce it (`alga_ext.node`) so that the change
    /// notifications of its own writes can be told apart.
    node: uuid::Uuid,
    /// Tells a busy pool from a database that takes no connections (see `acquire.rs`).
    prober: std::sync::Arc<acquire::Prober>,
}

impl PgStore {
    /// Checks that the database answers, then opens a lazy pool whose connections run as
    /// the app role. Migrations are not applied here; see [`Store::migrate`].
    pub async fn connect(options: &ConnectOptions) -> Result<Self> {
        let owner_options: PgConnectOptions = options.url.parse().map_err(|e: sqlx::Error| StoreError::InvalidUrl(e.to_string()))?;
        let owner_options = crate::quiet_slow_statements(owner_options);
        let role = match &options.pg_app_role {
            Some(role) => Some(quote_role(role)?),
            None => None,
        };
        // Fail now, with the driver's reason, rather than on the first request.
        let probe = tokio_timeout(options.connect_timeout, PgConnection::connect_with(&owner_options)).await?;
        probe.close().await.ok();

        let node = uuid::Uuid::new_v4();
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout)
            .after_connect(move |conn, _meta| {
                let role = role.clone();
                Box::pin(async move {
                    if let Some(role) = role {
                        conn.execute(format!("SET ROLE {role}").as_str()).await?;
                    }
                    sqlx::query("SELECT set_config('alga_ext.node', $1, false)").bind(node.to_string()).execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .connect_lazy_with(owner_options.clone());
        let prober = std::sync::Arc::new(acquire::Prober::new(owner_options.clone(), options.connect_timeout));
        Ok(Self { pool, owner_options, node, prober })
    }

    /// The pool of app-role connections, for callers (and tests) that need raw SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Starts a transaction whose row-level security sees only `tenant`'s rows; without a
    /// connection to be had it fails with [`StoreError::Unavailable`], quickly when the
    /// database takes none (see `acquire.rs`).
    pub async fn begin_tenant(&self, tenant: &TenantId) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.connected(self.pool.begin()).await?;
        sqlx::query("SELECT set_config('app.current_tenant', $1, true)").bind(tenant.as_str()).execute(&mut *tx).await?;
        Ok(tx)
    }
}

/// Quotes a role name for `SET ROLE`, accepting only plain identifiers.
fn quote_role(role: &str) -> Result<String> {
    let ok = !role.is_empty() && role.len() <= 63 && role.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(StoreError::Invalid { field: "pg_app_role", message: format!("{role:?} must be 1-63 characters of [a-z0-9_]") });
    }
    Ok(format!("\"{role}\""))
}

async fn tokio_timeout<T>(limit: std::time::Duration, fut: impl std::future::Future<Output = Result<T, sqlx::Error>>) -> Result<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StoreError::Database(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} s", limit.as_secs_f32()),
        )))),
    }
}
