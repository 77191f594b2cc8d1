//! PostgreSQL side of schema upkeep and the cross-tenant jobs. Those call narrow SECURITY DEFINER
//! functions (migration 2): row-level security hides other tenants' rows from the app role.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use super::{PgStore, MIGRATOR};
use crate::{Backend, MaintenanceStore, Result, SchemaStatus, StoreError, TenantId};

#[async_trait]
impl MaintenanceStore for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn change_feed(&self) -> Result<Option<crate::changes::ChangeFeed>> {
        Ok(Some(self.listen_for_changes().await?))
    }

    async fn migrate(&self) -> Result<()> {
        // Migrations create tables and the app role, so they run as the connecting user, on a
        // connection of their own; sqlx holds an advisory lock so several nodes may race here.
        // (A one-connection pool rather than a bare connection: `Migrator::run` on `&mut
        // PgConnection` is not `Send` enough for an `async_trait` method.)
        let owner = PgPoolOptions::new().max_connections(1).connect_with(self.owner_options.clone()).await?;
        let outcome = MIGRATOR.run(&owner).await;
        owner.close().await;
        Ok(outcome?)
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        let expected = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let mut conn = self.pool.acquire().await?;
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&mut *conn).await?;
        let applied = if exists {
            sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM _sqlx_migrations WHERE success").fetch_one(&mut *conn).await?
        } else {
            0
        };
        let rls_bound_functions = sqlx::query_scalar(
            "SELECT p.proname::text FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner \
             WHERE p.prosecdef AND p.pronamespace = to_regnamespace(current_schema()) AND p.proname LIKE 'alga\\_%' \
             AND NOT (r.rolsuper OR r.rolbypassrls) ORDER BY 1",
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(SchemaStatus { expected, applied, rls_bound_functions })
    }

    async fn recently_used_extensions(&self, limit: u32) -> Result<Vec<(TenantId, Uuid)>> {
        let found: Vec<(String, Uuid)> = sqlx::query_as("SELECT tenant_id, id FROM alga_recently_used_extensions($1)")
            .bind(i32::try_from(limit).unwrap_or(i32::MAX))
            .fetch_all(&self.pool)
            .await?;
        found
            .into_iter()
            .map(|(t, id)| Ok((TenantId::parse(&t).map_err(|e| StoreError::Corrupt { table: "extensions", message: e.to_string() })?, id)))
            .collect()
    }

    async fn gc_file_blobs(&self) -> Result<u64> {
        let removed: i64 = sqlx::query_scalar("SELECT alga_gc_file_blobs()").fetch_one(&self.pool).await?;
        Ok(removed as u64)
    }

    async fn sweep_expired_storage(&self, limit: u32) -> Result<u64> {
        let swept: i64 = sqlx::query_scalar("SELECT alga_sweep_expired_storage($1)").bind(limit as i32).fetch_one(&self.pool).await?;
        Ok(swept.max(0) as u64)
    }

    async fn delete_orphaned_storage(&self, retention: Duration) -> Result<u64> {
        let seconds = retention.as_secs_f64();
        let removed: i64 =
            sqlx::query_scalar("SELECT alga_delete_orphaned_storage(make_interval(secs => $1))").bind(seconds).fetch_one(&self.pool).await?;
        Ok(removed.max(0) as u64)
    }

    async fn recount_all_storage_usage(&self) -> Result<u64> {
        let fixed: i64 = sqlx::query_scalar("SELECT alga_recount_all_storage_usage()").fetch_one(&self.pool).await?;
        Ok(fixed.max(0) as u64)
    }
}
