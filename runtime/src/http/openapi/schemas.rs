//! Schemas of bodies the handlers build in place (`json!`), written out for the OpenAPI document; the records they carry are the real types.

use alga_store::{AuditEntry, Extension, StorageAuditEntry};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::isolate::limits::{LimitCeilings, LimitOverrides};
use crate::registry::roles::RoleView;
use crate::registry::{NavEntry, WidgetSlot};

/// The one error shape of the API: every 4xx and 5xx the runtime itself answers.
#[derive(Serialize, ToSchema)]
pub struct ApiErrorBody {
    pub error: ApiErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ApiErrorDetail {
    /// Stable and machine-readable, SCREAMING_SNAKE_CASE (`UNAUTHENTICATED`, `FORBIDDEN`,
    /// `NOT_FOUND`, `VALIDATION_FAILED`, `RATE_LIMITED`, `BODY_TOO_LARGE`, ...).
    #[schema(example = "NOT_FOUND")]
    pub code: String,
    /// For people; names the field or id at fault.
    pub message: String,
    /// `null`, or an object for code to act on: `field`, `required`, `problems`, `retryAfter`, ...
    pub details: Value,
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /readyz`.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: String,
    /// `postgres` or `sqlite`.
    pub database: String,
    pub schema: SchemaVersions,
    /// `ce` or `ee`.
    pub edition: String,
    /// Present when serving works but something is degraded, e.g. `RLS_BOUND_FUNCTIONS`:
    /// `{code, message, functions}`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub warnings: Option<Vec<Value>>,
}

#[derive(Serialize, ToSchema)]
pub struct SchemaVersions {
    /// The newest migration applied.
    pub applied: i64,
    /// The newest migration this build knows.
    pub expected: i64,
}

/// `GET /v1/me`: what the token says and what the caller's roles allow.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub tenant: String,
    pub user: String,
    pub roles: Vec<String>,
    /// `resource:action` permissions the roles hold in the tenant.
    pub permissions: Vec<String>,
    pub edition: String,
}

/// A page of `GET /admin/v1/extensions`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionPage {
    pub extensions: Vec<ListedExtension>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// One item of the admin list: the extension and the version of an update waiting for approval.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListedExtension {
    #[serde(flatten)]
    pub extension: Extension,
    /// The version of a pending update (`null` when none, or when the install itself still
    /// waits for its first approval).
    pub pending_update: Option<String>,
}

/// An extension after approve, enable or disable.
#[derive(Serialize, ToSchema)]
pub struct ExtensionEnvelope {
    pub extension: Extension,
}

/// `GET|PUT /admin/v1/extensions/{id}/limits`.
#[derive(Serialize, ToSchema)]
pub struct LimitsView {
    /// What the tenant's admin set; absent fields keep the defaults.
    pub overrides: LimitOverrides,
    pub effective: EffectiveLimits,
    /// The most an override may grant (set by the operator).
    pub ceilings: LimitCeilings,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveLimits {
    pub cpu_soft_ms: u64,
    pub cpu_hard_ms: u64,
    pub heap_mb: u64,
    pub timeout_ms: u64,
    pub max_body_bytes: u64,
}

/// `GET /admin/v1/extensions/{id}/storage/audit`, newest first.
#[derive(Serialize, ToSchema)]
pub struct StorageAuditList {
    pub entries: Vec<StorageAuditEntry>,
}

/// `GET /admin/v1/extensions/{id}/errors`, newest first.
#[derive(Serialize, ToSchema)]
pub struct RecentErrors {
    /// Only failures (each with its `code`).
    pub errors: Vec<crate::registry::logs::LogEntry>,
}

/// `GET /admin/v1/extensions/{id}/logs`, newest first.
#[derive(Serialize, ToSchema)]
pub struct LogList {
    pub entries: Vec<crate::registry::logs::LogEntry>,
}

/// `GET /admin/v1/audit`, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
}

/// What a storage import wrote.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub imported: u64,
    /// Lines whose `expiresAt` had passed: not written.
    pub skipped_expired: u64,
    /// `merge` or `replace`.
    pub mode: String,
}

/// A grant or revoke: the role as it is now, and whether anything changed.
#[derive(Serialize, ToSchema)]
pub struct RoleChangeView {
    pub role: RoleView,
    pub changed: bool,
}

/// `GET /api/ui/navigation`, sorted by `order` then label.
#[derive(Serialize, ToSchema)]
pub struct Navigation {
    pub items: Vec<NavEntry>,
}

/// `GET /api/ui/dashboard`.
#[derive(Serialize, ToSchema)]
pub struct Dashboard {
    pub widgets: Vec<RenderedWidget>,
}

/// A widget as the host gets it: `state: "ok"` with `data` (data widgets; frame widgets
/// carry `url`), or `state: "error"` with `code` and `message` (a slow or failing widget
/// does not fail the list).
#[derive(Serialize, ToSchema)]
pub struct RenderedWidget {
    #[serde(flatten)]
    pub slot: WidgetSlot,
    /// `ok` or `error`.
    pub state: String,
    /// Data widgets: the JSON their handler answered.
    pub data: Option<Value>,
    /// On `error`: `WIDGET_TIMEOUT`, `EXTENSION_ERROR`, `WIDGET_TOO_LARGE`, `WIDGET_INVALID_DATA`, ...
    pub code: Option<String>,
    pub message: Option<String>,
}

/// Alga's `apiproxy_response` payload: `body` (base64) and `status` on success, `error`
/// when the call failed or the endpoint answered 4xx/5xx (then with `body` too).
#[derive(Serialize, ToSchema)]
pub struct ApiProxyAnswer {
    /// The endpoint's response body, base64-encoded.
    pub body: Option<String>,
    pub status: Option<u16>,
    pub error: Option<ApiProxyError>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiProxyError {
    pub code: String,
    pub message: String,
    /// The HTTP status the call answered.
    pub status: u16,
}

/// A bundle archive: `.zip` or `.tar.gz`.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BundleArchive(#[allow(dead_code)] Vec<u8>);

/// A file's bytes as stored.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(#[allow(dead_code)] Vec<u8>);

/// The multipart form of an upload.
#[derive(ToSchema)]
pub struct UploadForm {
    /// The bundle archive.
    #[schema(value_type = String, format = Binary)]
    pub bundle: Vec<u8>,
    /// A signature file (`{keyId, algorithm, signature}` JSON); the `X-Alga-Signature`
    /// header is the alternative.
    pub signature: Option<String>,
}

/// JSON Lines: one `PortableValue` object per line
/// (`{namespace, key, value, revision, expiresAt?}`).
#[derive(ToSchema)]
#[schema(value_type = String)]
pub struct StorageLines(#[allow(dead_code)] String);

/// Settings to change, by key; each value must fit the manifest's declaration of it, and
/// `null` resets that one to its default. Keys not given keep their values.
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct SettingsUpdate(#[allow(dead_code)] serde_json::Map<String, Value>);
