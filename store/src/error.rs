//! The error type of the store boundary: what callers may branch on, with driver details kept inside.

/// Everything a [`crate::Store`] operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tenant id is not acceptable (empty, too long, or with characters outside the allowed set).
    #[error("invalid tenant id {0:?}: expected 1-64 characters of [A-Za-z0-9._-], starting alphanumeric")]
    InvalidTenant(String),
    /// A row the caller named does not exist for this tenant.
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// A uniqueness rule was violated, such as a second install of the same extension key.
    #[error("{0} already exists")]
    Conflict(String),
    /// A caller-provided value breaks a rule the store enforces.
    #[error("invalid {field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// A conditional write found another revision (0: no live value).
    #[error("revision mismatch: expected {expected}, found {current}")]
    RevisionMismatch { expected: i64, current: i64 },
    /// A write would take the extension past its storage quota; nothing was written.
    #[error("storage quota exceeded: the write needs {keys} keys and {bytes} bytes; the limits are {max_keys} keys and {max_bytes} bytes")]
    QuotaExceeded { keys: i64, bytes: i64, max_keys: i64, max_bytes: i64 },
    /// The database URL could not be understood.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A stored row could not be decoded into its Rust type.
    #[error("corrupt row in {table}: {message}")]
    Corrupt { table: &'static str, message: String },
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if let Some(db) = err.as_database_error() {
            if db.is_unique_violation() {
                let what = db.constraint().unwrap_or("row").to_string();
                return StoreError::Conflict(what);
            }
        }
        StoreError::Database(err)
    }
}

/// Shorthand for results of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
