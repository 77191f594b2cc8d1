//! Tenant-scoped persistence for the Alga extension runtime: role traits united in [`Store`], PostgreSQL and SQLite backends.
//!
//! Every method takes the [`TenantId`] it acts for; there is no unscoped read or write. On
//! PostgreSQL the database enforces that too (row-level security keyed on a per-transaction
//! setting, queries run as a non-owner role); on SQLite every statement carries the tenant.

mod asset_role;
pub mod changes;
pub mod checks;
mod error;
mod flows;
pub mod jsonl;
mod kv_types;
mod postgres;
mod rbac;
mod roles;
mod rows;
mod sqlite;
mod tenant;
mod types;

use std::sync::Arc;
use std::time::Duration;

pub use asset_role::AssetStore;
pub use error::{Result, StoreError};
pub use kv_types::*;
pub use postgres::PgStore;
pub use rbac::{HeldPermission, PermissionOwner, PermissionRecord, RoleRecord};
pub use roles::*;
pub use sqlite::SqliteStore;
pub use tenant::TenantId;
pub use types::*;

/// The SQL a search with `filters` runs on each backend, `[SQLite, PostgreSQL]`, built by the
/// backends' own code and never run: only the `search_filter` fuzz target calls it, so it
/// exists only in builds with `cfg(fuzzing)` (which `cargo fuzz` sets).
#[cfg(fuzzing)]
pub fn search_statements(filters: &[Filter], after: Option<&str>, limit: u32) -> Result<[String; 2]> {
    let tenant = TenantId::parse("fuzz")?;
    let sqlite = sqlite::search::query(&tenant, uuid::Uuid::nil(), "ns", filters, after, limit)?.into_sql();
    let postgres = postgres::search::query(&tenant, uuid::Uuid::nil(), "ns", filters, after, limit)?.into_sql();
    Ok([sqlite, postgres])
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `postgres://...` or `sqlite://path?mode=rwc`.
    pub url: String,
    /// PostgreSQL only: role every pooled connection switches to (`SET ROLE`) after
    /// migrations ran as the connecting user. `None` when the URL's user already is the
    /// runtime's non-owner role.
    pub pg_app_role: Option<String>,
    /// Upper bound of pooled connections.
    pub max_connections: u32,
    /// How long to wait for a connection before failing.
    pub connect_timeout: Duration,
    /// SQLite only: how long a writer waits for the single write lock. Longer than the
    /// longest storage transaction, which may hold it until its bound rolls it back.
    pub sqlite_lock_wait: Duration,
}

impl ConnectOptions {
    /// Options with the defaults the server uses.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pg_app_role: Some(postgres::DEFAULT_APP_ROLE.to_owned()),
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            sqlite_lock_wait: Duration::from_secs(10),
        }
    }
}

/// sqlx logs a statement slower than a second at WARN with its whole text: a batched insert
/// printed 500 rows of values that way, and statement text may carry tenant data. Slow
/// statements go to DEBUG instead (operators see latency in the storage metrics).
pub(crate) fn quiet_slow_statements<O: sqlx::ConnectOptions>(options: O) -> O {
    options.log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1))
}

/// Whether the schema the binary expects is in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Newest migration version the binary carries.
    pub expected: i64,
    /// Newest migration version applied successfully in the database (0 when none).
    pub applied: i64,
    /// Cross-tenant functions (maintenance, prewarm, blob collection) whose owner cannot
    /// bypass row-level security, so that they silently see no rows (PostgreSQL only:
    /// every table forces RLS, even on its owner, unless that role is a superuser or has
    /// BYPASSRLS).
    pub rls_bound_functions: Vec<String>,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.applied >= self.expected
    }
}

/// Opens the store the URL names (by scheme) without touching the schema.
pub async fn connect(options: &ConnectOptions) -> Result<Arc<dyn Store>> {
    let scheme = options.url.split_once(':').map(|(s, _)| s).unwrap_or("");
    match scheme {
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::connect(options).await?)),
        "sqlite" => Ok(Arc::new(SqliteStore::connect(options).await?)),
        _ => Err(StoreError::InvalidUrl(format!("unsupported scheme {scheme:?} (expected postgres:// or sqlite://)"))),
    }
}

/// Hides the password of a database URL so it can be logged or shown in an error.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_only_the_password() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
