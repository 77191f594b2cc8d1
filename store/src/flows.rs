//! The multi-step registry and import flows, written once above each backend's statement layer so the backends cannot drift apart.
//!
//! A backend implements [`RegistryTx`] and [`ImportTx`] on its own transaction type with
//! hand-written SQL of its dialect, one method per statement (or per small group of
//! statements that always run together). The order of the steps, the checks between them
//! and the audit rows they write live only here: the approve flow once read the previous
//! state at different points on the two backends, which is the drift this layer prevents.

use async_trait::async_trait;
use serde_json::Value;
use uuid::Uuid;

use crate::{rbac, rows};
use crate::{
    Approval, Extension, ExtensionStatus, NewAuditEntry, NewExtension, NewFile, NewVersion, Permission, PortableValue, Result, StorageQuota,
    StoreError, TenantId, VersionRecord,
};

/// The registry statements one transaction can run; every statement names its tenant.
#[async_trait]
pub(crate) trait RegistryTx: Send + Sized {
    /// The extension row as it is now.
    async fn extension(&mut self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>>;

    /// The extension's status, locking its row (where the database locks rows) so that
    /// concurrent uploads of updates queue up behind each other.
    async fn lock_extension(&mut self, tenant: &TenantId, id: Uuid) -> Result<Option<ExtensionStatus>>;

    async fn insert_extension(&mut self, tenant: &TenantId, new: &NewExtension) -> Result<Extension>;

    /// Inserts a pending version with its files (file contents are shared by hash).
    async fn insert_version(&mut self, tenant: &TenantId, extension_id: Uuid, version: &NewVersion, files: &[NewFile]) -> Result<VersionRecord>;

    /// Answers how many versions went (zero or one).
    async fn delete_pending_versions(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<u64>;

    async fn retire_active_version(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<()>;

    /// Turns the pending version `version_id` active; `None` when it is not pending.
    async fn activate_version(&mut self, tenant: &TenantId, extension_id: Uuid, version_id: Uuid) -> Result<Option<VersionRecord>>;

    /// Copies a version's fields onto the install row, which shows the serving version.
    async fn mirror_version(&mut self, tenant: &TenantId, extension_id: Uuid, version: &NewVersion) -> Result<()>;

    /// Marks a pending install installed (an update keeps its status) and enables it when
    /// `enable`.
    async fn mark_approved(&mut self, tenant: &TenantId, extension_id: Uuid, enable: bool) -> Result<Extension>;

    /// Replaces the capabilities the extension asks for, each with its grant state.
    async fn set_capabilities(&mut self, tenant: &TenantId, extension_id: Uuid, requested: &[Permission], granted: &[Permission]) -> Result<()>;

    /// Drops the permissions the extension registered that are not in `declared` (their
    /// role grants go with them).
    async fn drop_undeclared_permissions(&mut self, tenant: &TenantId, extension_id: Uuid, declared: &[&str]) -> Result<()>;

    /// Updates the description of a permission the extension registered earlier; `false`
    /// when it has no such permission yet.
    async fn describe_permission(&mut self, tenant: &TenantId, ext: &Extension, name: &str, description: &str) -> Result<bool>;

    /// Creates a tenant permission when missing (an existing one keeps its description).
    async fn ensure_permission(&mut self, tenant: &TenantId, permission: &Permission, description: &str, extension_id: Option<Uuid>) -> Result<()>;

    /// Grants a permission to a role, creating both when missing; `false` when the role held
    /// it already. An existing permission no extension owns is claimed by `extension_id`.
    async fn grant(&mut self, tenant: &TenantId, role: &str, permission: &Permission, extension_id: Option<Uuid>) -> Result<bool>;

    /// Takes a permission from a role; `false` when the role did not hold it.
    async fn revoke(&mut self, tenant: &TenantId, role: &str, permission: &Permission) -> Result<bool>;

    /// The install id of the tenant's extension with manifest id `key`, if any, locking its
    /// row against a concurrent uninstall (where the database locks rows) until commit.
    async fn extension_id_by_key(&mut self, tenant: &TenantId, key: &str) -> Result<Option<Uuid>>;

    /// Whether the permission exists, and which extension registered it: `None` when it
    /// does not exist, `Some(None)` for one of the tenant's own.
    async fn permission_owner(&mut self, tenant: &TenantId, permission: &Permission) -> Result<Option<Option<Uuid>>>;

    /// Sets status and enabled flag; `None` when the tenant has no such extension.
    async fn update_status(&mut self, tenant: &TenantId, id: Uuid, status: ExtensionStatus, enabled: bool) -> Result<Option<Extension>>;

    /// Replaces the limit overrides; `None` when the tenant has no such extension.
    async fn update_limits(&mut self, tenant: &TenantId, id: Uuid, limits: &Value) -> Result<Option<Extension>>;

    /// Deletes the extension row; versions, files, capabilities and extension-owned
    /// permissions with their grants go with it (`ON DELETE CASCADE`).
    async fn delete_extension(&mut self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>>;

    /// Deletes the extension's storage, usage counters and settings.
    async fn purge_data(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<()>;

    async fn audit(&mut self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()>;

    async fn commit(self) -> Result<()>;
}

/// The storage statements an import runs in its one transaction.
#[async_trait]
pub(crate) trait ImportTx: Send + Sized {
    /// Appends the import's row to the lifecycle audit log.
    async fn audit(&mut self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()>;

    /// Deletes every value the extension stored and credits its usage.
    async fn clear_extension(&mut self, tenant: &TenantId, extension_id: Uuid) -> Result<()>;

    /// Writes one exported value (charging usage within `quota`) with its revision and expiry.
    async fn restore(&mut self, tenant: &TenantId, extension_id: Uuid, value: &PortableValue, quota: Option<StorageQuota>) -> Result<()>;

    async fn commit(self) -> Result<()>;
}

fn not_found(entity: &'static str, id: Uuid) -> StoreError {
    StoreError::NotFound { entity, id: id.to_string() }
}

pub(crate) async fn register(mut tx: impl RegistryTx, tenant: &TenantId, new: &NewExtension, actor: &str) -> Result<Extension> {
    let ext = tx.insert_extension(tenant, new).await?;
    tx.audit(tenant, &rows::registered_audit(new, actor)).await?;
    tx.commit().await?;
    Ok(ext)
}

pub(crate) async fn create_install(
    mut tx: impl RegistryTx,
    tenant: &TenantId,
    new: &NewExtension,
    version: &NewVersion,
    files: &[NewFile],
    requested: &[Permission],
    actor: &str,
) -> Result<Extension> {
    let ext = tx.insert_extension(tenant, new).await?;
    tx.insert_version(tenant, ext.id, version, files).await?;
    tx.set_capabilities(tenant, ext.id, requested, &[]).await?;
    tx.audit(tenant, &rows::registered_audit(new, actor)).await?;
    tx.commit().await?;
    Ok(ext)
}

pub(crate) async fn add_pending_version(
    mut tx: impl RegistryTx,
    tenant: &TenantId,
    extension_id: Uuid,
    version: &NewVersion,
    files: &[NewFile],
    actor: &str,
) -> Result<VersionRecord> {
    let status = tx.lock_extension(tenant, extension_id).await?.ok_or_else(|| not_found("extension", extension_id))?;
    tx.delete_pending_versions(tenant, extension_id).await?;
    let record = tx.insert_version(tenant, extension_id, version, files).await?;
    if status == ExtensionStatus::PendingApproval {
        // Never approved: the install shows the version waiting for review.
        tx.mirror_version(tenant, extension_id, version).await?;
        let requested = rows::requested_capabilities(&version.manifest);
        tx.set_capabilities(tenant, extension_id, &requested, &[]).await?;
    }
    tx.audit(tenant, &rows::update_uploaded_audit(extension_id, version, actor)).await?;
    tx.commit().await?;
    Ok(record)
}

/// Drops the update that waits for approval, with its audit row; `false` when none waits.
/// An install that was never approved has no other version to fall back to (it is
/// uninstalled instead): its pending version is no update, and stays.
pub(crate) async fn discard_pending_version(mut tx: impl RegistryTx, tenant: &TenantId, extension_id: Uuid, actor: &str) -> Result<bool> {
    let status = tx.lock_extension(tenant, extension_id).await?.ok_or_else(|| not_found("extension", extension_id))?;
    if status == ExtensionStatus::PendingApproval {
        return Ok(false);
    }
    let discarded = tx.delete_pending_versions(tenant, extension_id).await? > 0;
    if discarded {
        tx.audit(tenant, &rows::update_discarded_audit(extension_id, actor)).await?;
    }
    tx.commit().await?;
    Ok(discarded)
}

pub(crate) async fn approve(
    mut tx: impl RegistryTx,
    tenant: &TenantId,
    extension_id: Uuid,
    version_id: Uuid,
    approval: &Approval,
    actor: &str,
) -> Result<Extension> {
    // The extension as it was, read before anything changes: the audit rows compare with it.
    let before = tx.extension(tenant, extension_id).await?.ok_or_else(|| not_found("pending version", version_id))?;
    tx.retire_active_version(tenant, extension_id).await?;
    let version = tx.activate_version(tenant, extension_id, version_id).await?.ok_or_else(|| not_found("pending version", version_id))?;
    let serving = NewVersion {
        id: version.id,
        version: version.version,
        bundle_hash: version.bundle_hash,
        manifest: version.manifest,
        main_entry_point: version.main_entry_point,
        signer: version.signer,
    };
    tx.mirror_version(tenant, extension_id, &serving).await?;
    let ext = tx.mark_approved(tenant, extension_id, approval.enable).await?;
    tx.set_capabilities(tenant, extension_id, &approval.requested, &approval.granted).await?;

    // User permissions: drop the ones no longer declared, register new ones with grants to
    // their default roles, and keep existing ones (and admins' changes to their grants).
    let declared: Vec<&str> = approval.user_permissions.iter().map(|u| u.name.as_str()).collect();
    tx.drop_undeclared_permissions(tenant, extension_id, &declared).await?;
    for up in &approval.user_permissions {
        if !tx.describe_permission(tenant, &ext, &up.name, &up.description).await? {
            let permission = Permission::new(ext.key.clone(), up.name.clone());
            tx.ensure_permission(tenant, &permission, &up.description, Some(extension_id)).await?;
            for role in &up.default_roles {
                tx.grant(tenant, role, &permission, Some(extension_id)).await?;
            }
        }
    }

    let from = (before.status != ExtensionStatus::PendingApproval).then_some(before.version.as_str());
    tx.audit(tenant, &rows::approved_audit(&ext, from, approval, actor)).await?;
    if ext.is_enabled && !before.is_enabled {
        tx.audit(tenant, &rows::enabled_audit(&ext, true, actor)).await?;
    }
    tx.commit().await?;
    Ok(ext)
}

pub(crate) async fn set_status(
    mut tx: impl RegistryTx,
    tenant: &TenantId,
    id: Uuid,
    status: ExtensionStatus,
    enabled: bool,
    entry: &NewAuditEntry,
) -> Result<Extension> {
    let ext = tx.update_status(tenant, id, status, enabled).await?.ok_or_else(|| not_found("extension", id))?;
    tx.audit(tenant, &NewAuditEntry { target: ext.id.to_string(), ..entry.clone() }).await?;
    tx.commit().await?;
    Ok(ext)
}

pub(crate) async fn set_limits(mut tx: impl RegistryTx, tenant: &TenantId, id: Uuid, limits: &Value, actor: &str) -> Result<Extension> {
    let ext = tx.update_limits(tenant, id, limits).await?.ok_or_else(|| not_found("extension", id))?;
    let entry = NewAuditEntry {
        actor: actor.to_owned(),
        action: "extension.limits_updated".into(),
        target: ext.id.to_string(),
        details: serde_json::json!({ "extension": ext.key, "limits": limits }),
    };
    tx.audit(tenant, &entry).await?;
    tx.commit().await?;
    Ok(ext)
}

pub(crate) async fn uninstall(mut tx: impl RegistryTx, tenant: &TenantId, id: Uuid, purge: bool, actor: &str) -> Result<()> {
    let ext = tx.delete_extension(tenant, id).await?.ok_or_else(|| not_found("extension", id))?;
    if purge {
        tx.purge_data(tenant, id).await?;
    }
    tx.audit(tenant, &rows::uninstalled_audit(&ext, purge, actor)).await?;
    tx.commit().await
}

pub(crate) async fn grant_role_permission(
    mut tx: impl RegistryTx,
    tenant: &TenantId,
    role: &str,
    permission: &Permission,
    extension_id: Option<Uuid>,
) -> Result<()> {
    tx.grant(tenant, role, permission, extension_id).await?;
    tx.commit().await
}

/// An admin's grant with its audit row. A permission in an extension's namespace (its
/// resource is the extension's manifest id) must be one the extension registered: an admin
/// creating one would outlive the extension's uninstall.
pub(crate) async fn grant_audited(mut tx: impl RegistryTx, tenant: &TenantId, role: &str, permission: &Permission, actor: &str) -> Result<bool> {
    // The extension first: its row lock keeps an uninstall from removing the permission
    // between the check and the grant.
    let extension = tx.extension_id_by_key(tenant, &permission.resource).await?;
    let owner = tx.permission_owner(tenant, permission).await?;
    if let Some(extension_id) = extension {
        if owner != Some(Some(extension_id)) {
            return Err(StoreError::NotFound { entity: "permission", id: permission.to_string() });
        }
    }
    if !tx.grant(tenant, role, permission, None).await? {
        // Nothing changed; committing ends the transaction (and SQLite's write lock) now.
        tx.commit().await?;
        return Ok(false);
    }
    tx.audit(tenant, &rbac::role_audit("role.permission_granted", role, permission, owner.flatten(), actor)).await?;
    tx.commit().await?;
    Ok(true)
}

/// An admin's revoke with its audit row; nothing is written when the role did not hold it.
pub(crate) async fn revoke_audited(mut tx: impl RegistryTx, tenant: &TenantId, role: &str, permission: &Permission, actor: &str) -> Result<bool> {
    let owner = tx.permission_owner(tenant, permission).await?;
    if !tx.revoke(tenant, role, permission).await? {
        tx.commit().await?;
        return Ok(false);
    }
    tx.audit(tenant, &rbac::role_audit("role.permission_revoked", role, permission, owner.flatten(), actor)).await?;
    tx.commit().await?;
    Ok(true)
}

/// Checks the values, then writes them and the import's audit row in one transaction
/// (opened only once they passed): a server killed half way leaves neither.
pub(crate) async fn import<T: ImportTx>(
    begin: impl std::future::Future<Output = Result<T>> + Send,
    tenant: &TenantId,
    extension_id: Uuid,
    values: &[PortableValue],
    replace: bool,
    quota: Option<StorageQuota>,
    audit: &NewAuditEntry,
) -> Result<u64> {
    rows::check_portable(values)?;
    let mut tx = begin.await?;
    if replace {
        tx.clear_extension(tenant, extension_id).await?;
    }
    for value in values {
        tx.restore(tenant, extension_id, value, quota).await?;
    }
    tx.audit(tenant, audit).await?;
    tx.commit().await?;
    Ok(values.len() as u64)
}
