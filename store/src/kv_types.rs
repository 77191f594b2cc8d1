//! Records of extensions' key-value storage that cross the store boundary: keys, values, options, quotas, search filters, history, export lines and the write audit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::StoreError;

/// Names one stored value of one extension (the tenant is passed beside it).
#[derive(Debug, Clone, Copy)]
pub struct StorageKey<'a> {
    pub extension_id: Uuid,
    pub namespace: &'a str,
    pub key: &'a str,
}

/// Options of a storage write.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetOptions {
    /// When set, the value disappears this many seconds after the write.
    pub ttl_seconds: Option<u64>,
    /// Write only if the live value has this revision; `Some(0)` means only if absent.
    pub if_revision: Option<i64>,
    /// Refuse the write when it would take the extension past these totals.
    pub quota: Option<StorageQuota>,
}

/// The most one extension may store in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageQuota {
    pub max_keys: i64,
    pub max_bytes: i64,
}

impl Default for StorageQuota {
    fn default() -> Self {
        Self { max_keys: 10_000, max_bytes: 50 * 1024 * 1024 }
    }
}

/// A value as stored, with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredValue {
    pub key: String,
    pub value: Value,
    /// Starts at 1 and grows by one on every write of the key.
    pub revision: i64,
    pub expires_at: Option<DateTime<Utc>>,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One page request of [`crate::Store::storage_list`]: keys are returned in byte order.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    pub prefix: &'a str,
    /// Exclusive lower bound: the last key of the previous page.
    pub after: Option<&'a str>,
    pub limit: u32,
}

/// How much an extension stores for one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageUsage {
    pub key_count: i64,
    pub bytes: i64,
}

/// Size in bytes of a JSON value as it is stored, counted against quotas.
pub fn json_size(value: &Value) -> i64 {
    // Serializing a `Value` cannot fail; the length of its compact text is the stored size.
    serde_json::to_vec(value).map(|v| v.len() as i64).unwrap_or(0)
}

/// One stored value with its namespace: a line of a storage export, and of an import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortableValue {
    #[serde(default)]
    pub namespace: String,
    pub key: String,
    /// Any JSON value, as the extension stored it.
    pub value: Value,
    /// Kept by an import, so an export imported elsewhere round-trips exactly.
    #[serde(default = "first_revision")]
    pub revision: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

fn first_revision() -> i64 {
    1
}

/// How a search filter compares a field of stored JSON values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FilterOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    /// The field is present (`value: true`) or absent (`value: false`).
    Exists,
}

impl FilterOp {
    /// The SQL operator of a range comparison, with spaces; `None` for the other ops.
    pub fn sql_comparison(self) -> Option<&'static str> {
        match self {
            Self::Gt => Some(" > "),
            Self::Gte => Some(" >= "),
            Self::Lt => Some(" < "),
            Self::Lte => Some(" <= "),
            Self::Eq | Self::Ne | Self::Exists => None,
        }
    }
}

/// One condition of a search: the field at `path` (object member names from the value's
/// root) compared with `value`. Ranges compare numbers with numbers and strings with
/// strings (byte order); other types never match a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub path: Vec<String>,
    pub op: FilterOp,
    pub value: Value,
}

/// Most filters in one search, and the deepest path.
pub const MAX_FILTERS: usize = 10;
pub const MAX_PATH_DEPTH: usize = 8;

impl Filter {
    /// Checks the filter before any SQL is built from it.
    pub fn check(&self) -> Result<(), StoreError> {
        let invalid = |message: String| StoreError::Invalid { field: "where", message };
        if self.path.is_empty() || self.path.len() > MAX_PATH_DEPTH {
            return Err(invalid(format!("paths have 1 to {MAX_PATH_DEPTH} segments")));
        }
        for segment in &self.path {
            let ok = (1..=64).contains(&segment.len()) && segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(invalid(format!("path segment {segment:?} must be 1 to 64 of [A-Za-z0-9_-]")));
            }
        }
        let fits = match self.op {
            FilterOp::Eq | FilterOp::Ne => !self.value.is_array() && !self.value.is_object(),
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => self.value.is_number() || self.value.is_string(),
            FilterOp::Exists => self.value.is_boolean(),
        };
        if !fits {
            return Err(invalid(format!("{:?} on {} cannot take {}", self.op, self.path.join("."), self.value)));
        }
        Ok(())
    }
}

/// An earlier revision of a stored value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub revision: i64,
    pub value: Value,
    /// When this revision was written.
    pub written_at: DateTime<Utc>,
}

/// Earlier revisions kept per key.
pub const HISTORY_KEPT: u32 = 10;

/// One audited storage change: who changed which key of which extension, and how big the
/// written value was (0 for deletes).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageAuditEntry {
    pub extension_id: Uuid,
    pub at: DateTime<Utc>,
    /// The request's user, `extension:<key>` outside a request, or the importing admin.
    pub actor: String,
    /// `set`, `delete`, `clear` or `import`.
    pub op: String,
    pub namespace: String,
    /// Empty for whole-namespace operations.
    pub key: String,
    pub size_bytes: i64,
}
