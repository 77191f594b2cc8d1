//! Plain records that cross the store boundary: what callers pass in and get back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{StoreError, TenantId};

/// Where an extension stands in its install lifecycle (enabled-ness is tracked apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionStatus {
    /// Uploaded and validated; waits for an admin to review its permissions.
    PendingApproval,
    /// Approved; may be enabled.
    Installed,
    /// Switched off by the runtime itself (for example by the circuit breaker).
    Suspended,
    /// A lifecycle step failed; kept for the admin to inspect.
    Failed,
}

impl ExtensionStatus {
    /// The text stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingApproval => "pending_approval",
            Self::Installed => "installed",
            Self::Suspended => "suspended",
            Self::Failed => "failed",
        }
    }

    /// Parses the text stored in the `status` column.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        Ok(match raw {
            "pending_approval" => Self::PendingApproval,
            "installed" => Self::Installed,
            "suspended" => Self::Suspended,
            "failed" => Self::Failed,
            other => return Err(StoreError::Corrupt { table: "extensions", message: format!("unknown status {other:?}") }),
        })
    }
}

/// What it takes to register an extension for a tenant.
#[derive(Debug, Clone)]
pub struct NewExtension {
    pub id: Uuid,
    /// The manifest id, e.g. `com.example.ticket-tags`.
    pub key: String,
    pub name: String,
    pub description: String,
    pub version: String,
    pub manifest: Value,
    pub main_entry_point: String,
    pub bundle_hash: String,
    pub status: ExtensionStatus,
}

/// An extension installed for one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    pub id: Uuid,
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    pub key: String,
    pub name: String,
    pub description: String,
    pub version: String,
    /// The manifest as uploaded (`/schemas/manifest.json` describes it).
    #[schema(value_type = Object)]
    pub manifest: Value,
    pub main_entry_point: String,
    #[serde(rename = "enabled")]
    pub is_enabled: bool,
    pub status: ExtensionStatus,
    pub bundle_hash: String,
    /// Tenant-admin overrides of isolate limits (JSON object; `{}` when none).
    #[schema(value_type = Object)]
    pub limits: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Narrows [`crate::Store::list_extensions`]; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct ExtensionFilter {
    pub status: Option<ExtensionStatus>,
    /// Case-insensitive substring of the display name or the key.
    pub name_contains: Option<String>,
}

/// A row to append to the audit log.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    /// Who acted: a user id, `extension:<key>` or `runtime`.
    pub actor: String,
    /// What happened, dotted: `extension.enabled`.
    pub action: String,
    /// What it happened to, usually an id.
    pub target: String,
    pub details: Value,
}

/// A row of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// What the action recorded; its shape depends on `action`.
    pub details: Value,
    pub at: DateTime<Utc>,
}

/// A permission in the tenant's RBAC model, as `resource:action`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct Permission {
    pub resource: String,
    pub action: String,
}

impl Permission {
    pub fn new(resource: impl Into<String>, action: impl Into<String>) -> Self {
        Self { resource: resource.into(), action: action.into() }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.resource, self.action)
    }
}

/// Where a version stands: waiting for approval, serving, or superseded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    Pending,
    Active,
    Retired,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        Ok(match raw {
            "pending" => Self::Pending,
            "active" => Self::Active,
            "retired" => Self::Retired,
            other => return Err(StoreError::Corrupt { table: "extension_versions", message: format!("unknown state {other:?}") }),
        })
    }
}

/// An uploaded version to record.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub id: Uuid,
    pub version: String,
    pub bundle_hash: String,
    pub manifest: Value,
    pub main_entry_point: String,
    /// Key id of the publisher that signed the bundle.
    pub signer: Option<String>,
}

/// A file of a new version, with its content (stored content-addressed).
#[derive(Debug, Clone)]
pub struct NewFile {
    pub path: String,
    /// Lowercase hex sha256 of `bytes`.
    pub content_hash: String,
    pub bytes: Vec<u8>,
}

/// A recorded version of an extension.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionRecord {
    pub id: Uuid,
    pub extension_id: Uuid,
    pub version: String,
    pub bundle_hash: String,
    #[schema(value_type = Object)]
    pub manifest: Value,
    pub main_entry_point: String,
    pub signer: Option<String>,
    pub state: VersionState,
    pub created_at: DateTime<Utc>,
    pub approved_at: Option<DateTime<Utc>>,
}

/// A file of a stored version (without its content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredFile {
    pub path: String,
    pub content_hash: String,
    pub size: i64,
}

/// A capability an extension asked for, and whether an admin granted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CapabilityGrant {
    #[serde(flatten)]
    pub permission: Permission,
    pub granted: bool,
}

/// A permission an extension defines for users, registered on approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPermissionDef {
    pub name: String,
    pub description: String,
    /// Roles that get the permission when it is first registered.
    pub default_roles: Vec<String>,
}

/// What an admin decided when approving a pending version.
#[derive(Debug, Clone)]
pub struct Approval {
    /// Capabilities the version asks for.
    pub requested: Vec<Permission>,
    /// The subset the admin granted.
    pub granted: Vec<Permission>,
    pub user_permissions: Vec<UserPermissionDef>,
    /// Enable the extension in the same step.
    pub enable: bool,
}

/// The order of [`crate::Store::list_extensions_page`]. Ties are broken by manifest id, so
/// the order is total and consecutive pages never skip or repeat an install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExtensionOrder {
    /// Case-insensitively by display name.
    #[default]
    Name,
    CreatedAt,
    UpdatedAt,
}

/// The sort value of the last install of a page.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtensionSortValue {
    /// The display name (compared as the database lower-cases it).
    Name(String),
    Time(DateTime<Utc>),
}

/// One page of a tenant's extensions (keyset pagination: `after` names the last install of
/// the previous page, so pages stay consistent while installs come and go).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionPage {
    pub order: ExtensionOrder,
    pub descending: bool,
    /// The previous page's last install: its sort value and manifest id.
    pub after: Option<(ExtensionSortValue, String)>,
    pub limit: u32,
}

impl Extension {
    /// This install's value for `order`, as a page cursor holds it.
    pub fn sort_value(&self, order: ExtensionOrder) -> ExtensionSortValue {
        match order {
            ExtensionOrder::Name => ExtensionSortValue::Name(self.name.clone()),
            ExtensionOrder::CreatedAt => ExtensionSortValue::Time(self.created_at),
            ExtensionOrder::UpdatedAt => ExtensionSortValue::Time(self.updated_at),
        }
    }
}
