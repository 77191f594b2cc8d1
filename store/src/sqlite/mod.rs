//! The SQLite store, the embedded default: every statement names its tenant itself.
//!
//! Multi-statement write transactions begin `IMMEDIATE`, so SQLite takes the write lock at
//! once (waiting up to the busy timeout) instead of failing a read-to-write upgrade when
//! another connection wrote meanwhile (a deferred transaction that reads first would).
//!
//! Each role trait is implemented in its own file; the multi-step flows come from
//! `crate::flows` over the statements in `statements.rs`.

use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Sqlite, Transaction};

mod assets;
mod audit;
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

use crate::{ConnectOptions, Result, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

const EXTENSION_COLUMNS: &str = "id, tenant_id, extension_key, name, description, version, manifest, \
     main_entry_point, is_enabled, status, bundle_hash, limits, created_at, updated_at";
const VERSION_COLUMNS: &str = "id, extension_id, version, bundle_hash, manifest, main_entry_point, signer, state, created_at, approved_at";
const VALUE_COLUMNS: &str = "key, value, revision, expires_at, size_bytes, created_at, updated_at";

/// A SQLite-backed [`Store`](crate::Store).
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Storage writers queue here, first come first served, before they take SQLite's one
    /// write lock. SQLite's own busy handler retries at growing intervals, so a writer that
    /// waits there can lose the lock again and again to newcomers; a storage transaction,
    /// which may hold the lock until its bound, would make that a starvation.
    writers: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// A storage write's place at the front of the queue; the write lock is its own.
pub(super) type WriterTurn = tokio::sync::OwnedMutexGuard<()>;

/// Timestamps are stored as fixed-width RFC 3339 UTC text, so text order is time order.
pub(crate) fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn now() -> String {
    ts(Utc::now())
}

impl SqliteStore {
    /// Opens (creating when missing) the database file the URL names.
    pub async fn connect(options: &ConnectOptions) -> Result<Self> {
        let connect = SqliteConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::InvalidUrl(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(options.sqlite_lock_wait.max(options.connect_timeout));
        let connect = crate::quiet_slow_statements(connect);
        let pool =
            SqlitePoolOptions::new().max_connections(options.max_connections).acquire_timeout(options.connect_timeout).connect_with(connect).await?;
        Ok(Self { pool, writers: Default::default() })
    }

    /// The connection pool, for callers (and tests) that need raw SQL.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A registry transaction: it begins `IMMEDIATE`, taking the write lock at once.
    async fn begin_registry(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}
