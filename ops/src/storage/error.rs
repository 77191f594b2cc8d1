//! What a storage op answers when it refuses or fails: a `StorageError` in JS, whose `code`
//! (and, for a revision mismatch, `expected` and `found`) are properties set from Rust, so
//! the glue and extension code read them instead of parsing messages.

use std::borrow::Cow;

use deno_error::{AdditionalProperties, JsErrorClass, PropertyValue};

/// Every way a storage op can refuse or fail.
#[derive(Debug, thiserror::Error)]
pub enum StorageOpError {
    #[error("storage is not available in this isolate")]
    Unavailable,
    #[error("the extension was not granted {0}")]
    PermissionDenied(&'static str),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("expected revision {expected}, found {found}")]
    RevisionMismatch { expected: i64, found: i64 },
    #[error("{0}")]
    TransactionClosed(&'static str),
    #[error("the transaction was open longer than {max_ms} ms and was rolled back")]
    TransactionExpired { max_ms: u64 },
    #[error("transactions can begin only while a request or lifecycle hook runs")]
    TransactionOutsideCall,
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    EncryptionUnavailable(&'static str),
    #[error("{0}")]
    DecryptionFailed(String),
    /// The database cannot be reached right now (restarting, or out of reach); nothing was
    /// done, and the same call may work in a moment.
    #[error("storage is unavailable: the database cannot be reached right now; try again shortly")]
    StoreUnavailable,
    /// The cause is logged where it happened; extension code learns only that it failed.
    #[error("{0}")]
    Internal(&'static str),
}

impl StorageOpError {
    /// The stable code JS sees as `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable => "UNAVAILABLE",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::Validation(_) => "VALIDATION_FAILED",
            Self::QuotaExceeded(_) => "QUOTA_EXCEEDED",
            Self::RevisionMismatch { .. } => "REVISION_MISMATCH",
            Self::TransactionClosed(_) => "TRANSACTION_CLOSED",
            Self::TransactionExpired { .. } => "TRANSACTION_EXPIRED",
            Self::TransactionOutsideCall => "TRANSACTION_OUTSIDE_CALL",
            Self::Busy(_) => "BUSY",
            Self::EncryptionUnavailable(_) => "ENCRYPTION_UNAVAILABLE",
            Self::DecryptionFailed(_) => "DECRYPTION_FAILED",
            Self::StoreUnavailable => "STORE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl JsErrorClass for StorageOpError {
    fn get_class(&self) -> Cow<'static, str> {
        // Registered by `00_storage.js`: the error is built as its `StorageError`.
        Cow::Borrowed("StorageError")
    }

    fn get_message(&self) -> Cow<'static, str> {
        Cow::Owned(self.to_string())
    }

    fn get_additional_properties(&self) -> AdditionalProperties {
        let mut properties = vec![(Cow::Borrowed("code"), PropertyValue::String(Cow::Borrowed(self.code())))];
        if let Self::RevisionMismatch { expected, found } = self {
            properties.push((Cow::Borrowed("expected"), PropertyValue::Number(*expected as f64)));
            properties.push((Cow::Borrowed("found"), PropertyValue::Number(*found as f64)));
        }
        Box::new(properties.into_iter())
    }

    fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
}
