//! Row shapes both backends decode into, so the conversion to public records exists once.
//!
//! Ids come back as text (PostgreSQL selects `id::text`, SQLite stores TEXT) and JSON as
//! `Json<Value>` (jsonb there, checked TEXT here), which lets one `FromRow` serve both.

use crate::SetOptions;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{AuditEntry, Extension, ExtensionStatus, Permission, Result, StoreError, StoredValue, TenantId};

#[derive(sqlx::FromRow)]
pub(crate) struct ExtensionRow {
    id: String,
    tenant_id: String,
    extension_key: String,
    name: String,
    description: String,
    version: String,
    manifest: Json<Value>,
    main_entry_point: String,
    is_enabled: bool,
    status: String,
    bundle_hash: String,
    limits: Json<Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ExtensionRow {
    pub(crate) fn into_record(self) -> Result<Extension> {
        Ok(Extension {
            id: parse_uuid("extensions", &self.id)?,
            tenant_id: parse_tenant("extensions", &self.tenant_id)?,
            key: self.extension_key,
            name: self.name,
            description: self.description,
            version: self.version,
            manifest: self.manifest.0,
            main_entry_point: self.main_entry_point,
            is_enabled: self.is_enabled,
            status: ExtensionStatus::parse(&self.status)?,
            bundle_hash: self.bundle_hash,
            limits: self.limits.0,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The entries of a batch write with repeated keys dropped but their last value kept, in
/// the order of those last occurrences: both backends write batches this way.
pub(crate) fn last_wins(entries: &[(String, Value)]) -> Vec<&(String, Value)> {
    let mut last = std::collections::HashMap::new();
    for (i, (key, _)) in entries.iter().enumerate() {
        last.insert(key.as_str(), i);
    }
    entries.iter().enumerate().filter(|(i, (k, _))| last[k.as_str()] == *i).map(|(_, e)| e).collect()
}

#[derive(sqlx::FromRow)]
pub(crate) struct StoredValueRow {
    key: String,
    value: Json<Value>,
    revision: i64,
    expires_at: Option<DateTime<Utc>>,
    size_bytes: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<StoredValueRow> for StoredValue {
    fn from(r: StoredValueRow) -> Self {
        StoredValue {
            key: r.key,
            value: r.value.0,
            revision: r.revision,
            expires_at: r.expires_at,
            size_bytes: r.size_bytes,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    tenant_id: String,
    actor: String,
    action: String,
    target: String,
    details: Json<Value>,
    at: DateTime<Utc>,
}

impl AuditRow {
    pub(crate) fn into_record(self) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: self.id,
            tenant_id: parse_tenant("audit_log", &self.tenant_id)?,
            actor: self.actor,
            action: self.action,
            target: self.target,
            details: self.details.0,
            at: self.at,
        })
    }
}

fn parse_uuid(table: &'static str, raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|e| StoreError::Corrupt { table, message: format!("id {raw:?}: {e}") })
}

fn parse_tenant(table: &'static str, raw: &str) -> Result<TenantId> {
    TenantId::parse(raw).map_err(|e| StoreError::Corrupt { table, message: e.to_string() })
}

/// Checks the bounds of a storage list request, shared by both backends.
pub(crate) fn check_list_limit(limit: u32) -> Result<i64> {
    if limit == 0 || limit > 1000 {
        return Err(StoreError::Invalid { field: "limit", message: format!("{limit} is outside 1..=1000") });
    }
    Ok(i64::from(limit))
}

/// Checks imported values before an import writes anything.
pub(crate) fn check_portable(values: &[crate::PortableValue]) -> Result<()> {
    match values.iter().find(|v| v.revision < 1) {
        Some(v) => Err(StoreError::Invalid { field: "revision", message: format!("{} is not a revision (1 or more)", v.revision) }),
        None => Ok(()),
    }
}

/// Checks a search's filters (count, paths, value types) before SQL is built from them.
pub(crate) fn check_filters(filters: &[crate::Filter]) -> Result<()> {
    if filters.len() > crate::MAX_FILTERS {
        return Err(StoreError::Invalid { field: "where", message: format!("at most {} filters, not {}", crate::MAX_FILTERS, filters.len()) });
    }
    filters.iter().try_for_each(crate::Filter::check)
}

/// The audit row every registration writes, shared so both backends record the same thing.
pub(crate) fn registered_audit(new: &crate::NewExtension, actor: &str) -> crate::NewAuditEntry {
    crate::NewAuditEntry {
        actor: actor.to_owned(),
        action: "extension.registered".into(),
        target: new.id.to_string(),
        details: serde_json::json!({ "extension": new.key, "version": new.version }),
    }
}

/// The audit row every uninstall writes.
pub(crate) fn uninstalled_audit(ext: &Extension, purged: bool, actor: &str) -> crate::NewAuditEntry {
    crate::NewAuditEntry {
        actor: actor.to_owned(),
        action: "extension.uninstalled".into(),
        target: ext.id.to_string(),
        details: serde_json::json!({ "extension": ext.key, "version": ext.version, "purged": purged }),
    }
}

/// The absolute expiry of a write, or an error when the TTL cannot be represented.
pub(crate) fn expiry(options: SetOptions) -> Result<Option<chrono::DateTime<Utc>>> {
    options
        .ttl_seconds
        .map(|secs| {
            i64::try_from(secs)
                .ok()
                .and_then(chrono::TimeDelta::try_seconds)
                .and_then(|d| Utc::now().checked_add_signed(d))
                .ok_or_else(|| StoreError::Invalid { field: "ttlSeconds", message: format!("{secs} is too large") })
        })
        .transpose()
}

#[derive(sqlx::FromRow)]
pub(crate) struct VersionRow {
    id: String,
    extension_id: String,
    version: String,
    bundle_hash: String,
    manifest: Json<Value>,
    main_entry_point: String,
    signer: Option<String>,
    state: String,
    created_at: DateTime<Utc>,
    approved_at: Option<DateTime<Utc>>,
}

impl VersionRow {
    pub(crate) fn into_record(self) -> Result<crate::VersionRecord> {
        Ok(crate::VersionRecord {
            id: parse_uuid("extension_versions", &self.id)?,
            extension_id: parse_uuid("extension_versions", &self.extension_id)?,
            version: self.version,
            bundle_hash: self.bundle_hash,
            manifest: self.manifest.0,
            main_entry_point: self.main_entry_point,
            signer: self.signer,
            state: crate::VersionState::parse(&self.state)?,
            created_at: self.created_at,
            approved_at: self.approved_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct StoredFileRow {
    path: String,
    content_hash: String,
    size: i64,
}

impl From<StoredFileRow> for crate::StoredFile {
    fn from(r: StoredFileRow) -> Self {
        crate::StoredFile { path: r.path, content_hash: r.content_hash, size: r.size }
    }
}

/// The audit row of an approval, shared by both backends.
pub(crate) fn approved_audit(ext: &Extension, from_version: Option<&str>, approval: &crate::Approval, actor: &str) -> crate::NewAuditEntry {
    let granted: Vec<String> = approval.granted.iter().map(ToString::to_string).collect();
    crate::NewAuditEntry {
        actor: actor.to_owned(),
        action: if from_version.is_some() { "extension.updated" } else { "extension.approved" }.into(),
        target: ext.id.to_string(),
        details: serde_json::json!({
            "extension": ext.key, "version": ext.version, "fromVersion": from_version, "granted": granted,
        }),
    }
}

/// The audit row of an uploaded update.
pub(crate) fn update_uploaded_audit(extension_id: Uuid, version: &crate::NewVersion, actor: &str) -> crate::NewAuditEntry {
    crate::NewAuditEntry {
        actor: actor.to_owned(),
        action: "extension.update_uploaded".into(),
        target: extension_id.to_string(),
        details: serde_json::json!({ "version": version.version, "bundleHash": version.bundle_hash }),
    }
}

/// The audit row of an update discarded before approval.
pub(crate) fn update_discarded_audit(extension_id: Uuid, actor: &str) -> crate::NewAuditEntry {
    crate::NewAuditEntry {
        actor: actor.to_owned(),
        action: "extension.update_discarded".into(),
        target: extension_id.to_string(),
        details: serde_json::json!({}),
    }
}

/// The enable/disable audit row, shared by both backends.
pub(crate) fn enabled_audit(ext: &Extension, enabled: bool, actor: &str) -> crate::NewAuditEntry {
    crate::NewAuditEntry {
        actor: actor.to_owned(),
        action: if enabled { "extension.enabled" } else { "extension.disabled" }.into(),
        target: ext.id.to_string(),
        details: serde_json::json!({ "extension": ext.key, "version": ext.version }),
    }
}

/// The `permissions` array of a stored manifest as capability pairs.
pub(crate) fn requested_capabilities(manifest: &Value) -> Vec<Permission> {
    manifest
        .get("permissions")
        .and_then(Value::as_array)
        .map(|caps| caps.iter().filter_map(Value::as_str).filter_map(|c| c.split_once(':')).map(|(r, a)| Permission::new(r, a)).collect())
        .unwrap_or_default()
}
