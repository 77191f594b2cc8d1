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
    /// The database cannot be reached right now: no connection could be had, or the one in
    /// use broke. Nothing the caller asked for happened (a transaction that lost its
    /// connection is rolled back by the database); trying again later may work.
    #[error("the database cannot be reached: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database failed.
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
        if is_connection_error(&err) {
            return StoreError::Unavailable(err);
        }
        StoreError::Database(err)
    }
}

impl StoreError {
    /// Whether the database could not be reached (see [`StoreError::Unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Whether `err` says the database is out of reach rather than that a statement failed: no
/// connection to be had in time, a broken or refused socket, TLS, or PostgreSQL's
/// connection-class states (`08xxx`), `57P01` admin_shutdown (a restart or a terminated
/// backend), `57P02` crash_shutdown, `57P03` cannot_connect_now (starting up) and `53300`
/// too_many_connections.
pub(crate) fn is_connection_error(err: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match err {
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => true,
        E::Database(db) => {
            // SQLSTATEs are five characters; SQLite's codes are numbers and never match.
            let code = db.code();
            let code = code.as_deref().filter(|c| c.len() == 5).unwrap_or("");
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
        }
        _ => false,
    }
}

/// Shorthand for results of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_to_reach_the_database_are_unavailable() {
        let refused = || sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        for err in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed, refused()] {
            assert!(StoreError::from(err).is_unavailable());
        }
        for err in [sqlx::Error::RowNotFound, sqlx::Error::Protocol("odd".into()), sqlx::Error::ColumnNotFound("x".into())] {
            assert!(matches!(StoreError::from(err), StoreError::Database(_)));
        }
    }
}
