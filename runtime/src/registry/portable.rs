//! Storage import as the domain sees it: every line checked as it arrives (names, NUL and
//! depth, revision, size, the manifest's schemas, duplicates, the key quota), then all of it
//! written in one transaction, the read cache told, and the import audited. The HTTP layer
//! only frames the body into lines.

use std::collections::HashSet;

use alga_store::{NewAuditEntry, PortableValue, StorageQuota, TenantId};
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{schemas::NamespaceSchemas, Registry, RegistryError};

/// Why an import line, or the import, was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {message}")]
    Invalid { line: usize, message: String },
    #[error("more than the {max_keys} keys an extension may store")]
    TooManyKeys { max_keys: i64 },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// An import under way: the lines taken so far, all valid.
pub struct StorageImport {
    tenant: TenantId,
    extension_id: Uuid,
    extension_key: String,
    quota: StorageQuota,
    schemas: Option<std::sync::Arc<NamespaceSchemas>>,
    seen: HashSet<(String, String)>,
    values: Vec<PortableValue>,
    skipped_expired: u64,
    now: DateTime<Utc>,
}

/// What an import did.
#[derive(Debug, Clone, Copy)]
pub struct ImportReport {
    pub imported: u64,
    pub skipped_expired: u64,
    pub replace: bool,
}

impl StorageImport {
    /// Checks one line (numbered from 1) and keeps its value; blank lines are skipped, and
    /// values already expired are counted and left out.
    pub fn take_line(&mut self, line: &[u8], line_no: usize) -> Result<(), ImportError> {
        let invalid = |message: String| ImportError::Invalid { line: line_no, message };
        let schemas = self.schemas.as_deref().map(|s| s as &dyn alga_ops::storage::ValueValidator);
        let Some(value) = alga_store::jsonl::parse_import_line(line, schemas).map_err(invalid)? else { return Ok(()) };
        if !self.seen.insert((value.namespace.clone(), value.key.clone())) {
            return Err(invalid(format!("key {:?} of namespace {:?} appears twice", value.key, value.namespace)));
        }
        if value.expires_at.is_some_and(|at| at <= self.now) {
            self.skipped_expired += 1;
            return Ok(());
        }
        if self.values.len() as i64 >= self.quota.max_keys {
            return Err(ImportError::TooManyKeys { max_keys: self.quota.max_keys });
        }
        self.values.push(value);
        Ok(())
    }
}

impl Registry {
    /// Starts an import into the tenant's extension `id`.
    pub async fn begin_import(&self, tenant: &TenantId, id: Uuid) -> Result<StorageImport, RegistryError> {
        let ext = self.get(tenant, id).await?;
        Ok(StorageImport {
            tenant: tenant.clone(),
            extension_id: id,
            schemas: NamespaceSchemas::from_manifest(&ext.manifest),
            extension_key: ext.key,
            quota: self.storage_quota(),
            seen: HashSet::new(),
            values: Vec::new(),
            skipped_expired: 0,
            now: Utc::now(),
        })
    }

    /// Writes everything the import took in one transaction with its audit row (after
    /// deleting all stored values when `replace`), within the quota; drops the extension's
    /// cached values whatever happened.
    pub async fn finish_import(&self, import: StorageImport, replace: bool, actor: &str) -> Result<ImportReport, RegistryError> {
        let StorageImport { tenant, extension_id: id, extension_key, quota, values, skipped_expired, .. } = import;
        let entry = NewAuditEntry {
            actor: actor.to_owned(),
            action: "storage.imported".into(),
            target: id.to_string(),
            details: json!({ "extension": extension_key, "imported": values.len(), "skipped": skipped_expired, "replace": replace }),
        };
        let imported = self.store.storage_import(&tenant, id, &values, replace, Some(quota), &entry).await;
        self.storage_cache().invalidate_extension(&alga_ops::storage::cache::StorageCache::scope(tenant.as_str(), id));
        let imported = imported?;
        let bytes: i64 = values.iter().map(|v| alga_store::json_size(&v.value)).sum();
        self.storage_audit().record(
            &tenant,
            alga_store::StorageAuditEntry {
                extension_id: id,
                at: Utc::now(),
                actor: actor.to_owned(),
                op: if replace { "import_replace".into() } else { "import".into() },
                namespace: String::new(),
                key: String::new(),
                size_bytes: bytes,
            },
        );
        Ok(ImportReport { imported, skipped_expired, replace })
    }
}
