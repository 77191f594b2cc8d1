//! The store's role traits, one per capability; a backend implements each role and is a [`Store`] by that alone.

use async_trait::async_trait;
use serde_json::Value;
use uuid::Uuid;

use crate::*;

/// A storage transaction of one extension in one tenant. Reads and writes of a key hold it
/// until commit or rollback, so two transactions doing read-modify-write on the same key
/// run one after the other and never lose an update. Dropping it rolls back.
#[async_trait]
pub trait StorageTx: Send {
    async fn get(&mut self, namespace: &str, key: &str) -> Result<Option<StoredValue>>;

    async fn set(&mut self, namespace: &str, key: &str, value: &Value, options: SetOptions) -> Result<StoredValue>;

    async fn delete(&mut self, namespace: &str, key: &str) -> Result<bool>;

    async fn commit(self: Box<Self>) -> Result<()>;

    async fn rollback(self: Box<Self>) -> Result<()>;
}

/// The tenant's installed extensions: the rows the registry lists, enables, suspends, limits and removes.
#[async_trait]
pub trait ExtensionStore: Send + Sync + 'static {
    /// Registers an extension and writes its `extension.registered` audit row, atomically.
    async fn insert_extension(&self, tenant: &TenantId, new: &NewExtension, actor: &str) -> Result<Extension>;

    async fn get_extension(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Extension>>;

    /// Finds the tenant's install of a manifest id.
    async fn find_extension_by_key(&self, tenant: &TenantId, key: &str) -> Result<Option<Extension>>;

    /// The tenant's extensions matching `filter`, ordered by name.
    async fn list_extensions(&self, tenant: &TenantId, filter: &ExtensionFilter) -> Result<Vec<Extension>>;

    /// One page of the tenant's extensions matching `filter`: at most `page.limit`, in
    /// `page.order` with ties broken by manifest id, after `page.after`.
    async fn list_extensions_page(&self, tenant: &TenantId, filter: &ExtensionFilter, page: &ExtensionPage) -> Result<Vec<Extension>>;

    /// How many extensions the tenant has installed, whatever their status.
    async fn count_extensions(&self, tenant: &TenantId) -> Result<u64>;

    /// Enables or disables an extension together with its audit row; `NotFound` when the
    /// tenant has no such extension.
    async fn set_extension_enabled(&self, tenant: &TenantId, id: Uuid, enabled: bool, actor: &str) -> Result<Extension>;

    /// Sets an installed extension's status and enabled flag together with an audit row
    /// (`entry.target` is filled in); `NotFound` when the tenant has no such extension.
    async fn set_extension_status(
        &self,
        tenant: &TenantId,
        id: Uuid,
        status: ExtensionStatus,
        enabled: bool,
        entry: &NewAuditEntry,
    ) -> Result<Extension>;

    /// Replaces an extension's limit overrides and audits the change.
    async fn set_extension_limits(&self, tenant: &TenantId, id: Uuid, limits: &Value, actor: &str) -> Result<Extension>;

    /// Removes an extension with its versions, files, capabilities and the permissions it
    /// registered (with their role grants), and audits it. Its storage and settings stay
    /// unless `purge`, which deletes them in the same transaction.
    async fn delete_extension(&self, tenant: &TenantId, id: Uuid, purge: bool, actor: &str) -> Result<()>;

    /// Records that an isolate started for the extension (prewarm order).
    async fn touch_extension(&self, tenant: &TenantId, id: Uuid) -> Result<()>;
}

/// The install pipeline: versions with their files, approvals and the capabilities they grant.
#[async_trait]
pub trait InstallStore: Send + Sync + 'static {
    /// Registers a new install with its first (pending) version, that version's files and
    /// its requested capabilities (not granted yet), and audits it — all or nothing.
    async fn create_install(
        &self,
        tenant: &TenantId,
        extension: &NewExtension,
        version: &NewVersion,
        files: &[NewFile],
        requested: &[Permission],
        actor: &str,
    ) -> Result<Extension>;

    /// Records an uploaded update as the pending version (replacing an earlier pending
    /// one), with its files; the active version keeps serving. All or nothing.
    async fn add_pending_version(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        version: &NewVersion,
        files: &[NewFile],
        actor: &str,
    ) -> Result<VersionRecord>;

    /// The extension's versions, newest first.
    async fn list_versions(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Vec<VersionRecord>>;

    /// Drops the update of an approved extension that waits for approval (audited);
    /// `false` when none waits (an install never approved has no update: it is uninstalled).
    async fn discard_pending_version(&self, tenant: &TenantId, extension_id: Uuid, actor: &str) -> Result<bool>;

    /// Every version of the tenant's extensions that waits for approval, as (extension id,
    /// version): the admin list marks updates pending without a query per extension.
    async fn pending_versions(&self, tenant: &TenantId) -> Result<Vec<(Uuid, String)>>;

    /// Makes the pending version active: retires the previous one, records the granted
    /// capabilities, registers user permissions (granting new ones to their default
    /// roles, dropping ones no longer declared), optionally enables — one transaction.
    async fn approve_version(&self, tenant: &TenantId, extension_id: Uuid, version_id: Uuid, approval: &Approval, actor: &str) -> Result<Extension>;

    /// The capabilities of the active (or first pending) version, with their grant state.
    async fn capabilities(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Vec<CapabilityGrant>>;

    /// The files of a version, in path order.
    async fn version_files(&self, tenant: &TenantId, version_id: Uuid) -> Result<Vec<StoredFile>>;

    /// One file of a version with its content.
    async fn read_file(&self, tenant: &TenantId, version_id: Uuid, path: &str) -> Result<Option<(StoredFile, Vec<u8>)>>;
}

/// Tenant admins' saved settings of each extension.
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    /// The tenant's saved settings of an extension, if any were saved.
    async fn get_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Option<Value>>;

    async fn put_settings(&self, tenant: &TenantId, extension_id: Uuid, settings: &Value) -> Result<()>;

    /// Forgets saved settings; `false` when there were none.
    async fn delete_settings(&self, tenant: &TenantId, extension_id: Uuid) -> Result<bool>;
}

/// The tenant's roles and the permissions they hold (extension-registered ones included).
#[async_trait]
pub trait RoleStore: Send + Sync + 'static {
    /// Grants `permission` to the named role, creating the role and the permission when
    /// missing. `extension_id` marks a permission an extension registered.
    async fn grant_role_permission(&self, tenant: &TenantId, role: &str, permission: &Permission, extension_id: Option<Uuid>) -> Result<()>;

    /// The distinct permissions that any of `roles` holds in the tenant.
    async fn role_permissions(&self, tenant: &TenantId, roles: &[String]) -> Result<Vec<Permission>>;

    /// Every role of the tenant with the permissions it holds, roles by name and
    /// permissions by (resource, action), in byte order.
    async fn list_roles(&self, tenant: &TenantId) -> Result<Vec<RoleRecord>>;

    /// One role of the tenant with the permissions it holds; `None` when it holds nothing and
    /// never did.
    async fn get_role(&self, tenant: &TenantId, name: &str) -> Result<Option<RoleRecord>>;

    /// Every permission defined in the tenant, held by a role or not, by (resource, action).
    async fn list_permissions(&self, tenant: &TenantId) -> Result<Vec<PermissionRecord>>;

    /// An admin's grant: gives `permission` to `role` (creating either when missing) and
    /// writes a `role.permission_granted` audit row, in one transaction. `Ok(false)` when the
    /// role held it already (nothing written). A permission whose resource is the manifest id
    /// of one of the tenant's extensions must be one that extension registered (`NotFound`
    /// otherwise): an extension's permissions come and go with it.
    async fn grant_role_permission_audited(&self, tenant: &TenantId, role: &str, permission: &Permission, actor: &str) -> Result<bool>;

    /// An admin's revoke: takes `permission` from `role` and writes a
    /// `role.permission_revoked` audit row, in one transaction. `Ok(false)` when the role did
    /// not hold it (nothing written). The role and the permission themselves stay.
    async fn revoke_role_permission(&self, tenant: &TenantId, role: &str, permission: &Permission, actor: &str) -> Result<bool>;
}

/// Extensions' key-value storage as their code uses it: values, batches, transactions, listing, search, history and the write audit. The only role the storage ops see.
#[async_trait]
pub trait KvStore: Send + Sync + 'static {
    /// Reads a live (not expired) value.
    async fn storage_get(&self, tenant: &TenantId, key: StorageKey<'_>) -> Result<Option<StoredValue>>;

    /// Writes a value, bumping its revision.
    async fn storage_set(&self, tenant: &TenantId, key: StorageKey<'_>, value: &Value, options: SetOptions) -> Result<StoredValue>;

    /// Starts a storage transaction for one extension.
    async fn begin_storage_tx(&self, tenant: &TenantId, extension_id: Uuid) -> Result<Box<dyn StorageTx>>;

    /// Live values of several keys of one namespace (missing keys are left out).
    async fn storage_get_many(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: &[String]) -> Result<Vec<StoredValue>>;

    /// Writes several values of one namespace in one transaction: all or nothing.
    async fn storage_set_many(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        namespace: &str,
        entries: &[(String, Value)],
        options: SetOptions,
    ) -> Result<Vec<StoredValue>>;

    /// Deletes several keys of one namespace in one transaction; returns how many were live.
    async fn storage_delete_many(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, keys: &[String]) -> Result<u64>;

    /// Deletes every value of one namespace; returns how many were live.
    async fn storage_clear(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str) -> Result<u64>;

    /// How many live values one namespace holds.
    async fn storage_count(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str) -> Result<u64>;

    /// Deletes a value; `false` when there was none.
    async fn storage_delete(&self, tenant: &TenantId, key: StorageKey<'_>) -> Result<bool>;

    /// A page of live values in one namespace, in key order.
    async fn storage_list(&self, tenant: &TenantId, extension_id: Uuid, namespace: &str, query: ListQuery<'_>) -> Result<Vec<StoredValue>>;

    /// A page of live values of one namespace whose fields match every filter, in key order
    /// after `after`.
    async fn storage_search(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        namespace: &str,
        filters: &[Filter],
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredValue>>;

    /// The earlier revisions of a key (at most [`HISTORY_KEPT`]), newest first.
    async fn storage_history(&self, tenant: &TenantId, key: StorageKey<'_>, limit: u32) -> Result<Vec<HistoryEntry>>;

    /// Appends audited storage changes of one tenant (batched by the caller).
    async fn append_storage_audit(&self, tenant: &TenantId, entries: &[StorageAuditEntry]) -> Result<()>;
}

/// Operators' side of the key-value storage: export/import, usage accounting and the write audit as admins read it.
#[async_trait]
pub trait KvAdminStore: Send + Sync + 'static {
    /// A page of an extension's live values across namespaces, in (namespace, key) byte
    /// order, after the given (namespace, key).
    async fn storage_export(&self, tenant: &TenantId, extension_id: Uuid, after: Option<(&str, &str)>, limit: u32) -> Result<Vec<PortableValue>>;

    /// Writes exported values back in one transaction, keeping their revisions and expiry,
    /// with the import's row of the audit log; `replace` first deletes everything the
    /// extension stored. All or nothing, within `quota`.
    async fn storage_import(
        &self,
        tenant: &TenantId,
        extension_id: Uuid,
        values: &[PortableValue],
        replace: bool,
        quota: Option<StorageQuota>,
        audit: &NewAuditEntry,
    ) -> Result<u64>;

    /// An extension's storage usage as counted (values stored, expired ones until swept).
    async fn storage_usage(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage>;

    /// Recomputes and records an extension's storage usage from its rows (expired values
    /// count until the sweep removes them, as they do for quotas).
    async fn recount_storage_usage(&self, tenant: &TenantId, extension_id: Uuid) -> Result<StorageUsage>;

    /// An extension's audited storage changes, newest first.
    async fn list_storage_audit(&self, tenant: &TenantId, extension_id: Uuid, limit: u32) -> Result<Vec<StorageAuditEntry>>;
}

/// The append-only audit log of lifecycle actions.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn append_audit(&self, tenant: &TenantId, entry: &NewAuditEntry) -> Result<()>;

    /// The tenant's newest audit rows first.
    async fn list_audit(&self, tenant: &TenantId, limit: u32) -> Result<Vec<AuditEntry>>;
}

/// Schema, migrations and the jobs that look across tenants (sweeps, recounts, garbage collection, prewarm order).
#[async_trait]
pub trait MaintenanceStore: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Other writers' committed changes, for a node sharing the database to apply to its
    /// caches; `None` where the backend serves one node (SQLite).
    async fn change_feed(&self) -> Result<Option<crate::changes::ChangeFeed>> {
        Ok(None)
    }

    /// Applies the embedded migrations that are not applied yet.
    async fn migrate(&self) -> Result<()>;

    /// Reaches the database and reports whether its schema is current.
    async fn schema_status(&self) -> Result<SchemaStatus>;

    /// Maintenance, not tenant-scoped: the enabled extensions of all tenants most recently
    /// used, newest first, as (tenant, id) — for warming isolates at start.
    async fn recently_used_extensions(&self, limit: u32) -> Result<Vec<(TenantId, Uuid)>>;

    /// Maintenance, not tenant-scoped: removes file blobs that no file row refers to any
    /// more and returns how many. Touches nothing else.
    async fn gc_file_blobs(&self) -> Result<u64>;

    /// Maintenance, not tenant-scoped: deletes up to `limit` expired values of all tenants,
    /// crediting their usage; returns how many.
    async fn sweep_expired_storage(&self, limit: u32) -> Result<u64>;

    /// Maintenance, not tenant-scoped: deletes the values (and usage rows) of uninstalled
    /// extensions whose storage has not changed for `retention`; returns how many values.
    async fn delete_orphaned_storage(&self, retention: std::time::Duration) -> Result<u64>;

    /// Maintenance, not tenant-scoped: recounts every extension's usage from its rows;
    /// returns how many counters had drifted.
    async fn recount_all_storage_usage(&self) -> Result<u64>;
}

/// The registry's persistence: installs, versions, settings and role permissions.
pub trait RegistryStore: ExtensionStore + InstallStore + SettingsStore + RoleStore {}

impl<T: ExtensionStore + InstallStore + SettingsStore + RoleStore> RegistryStore for T {}

/// The persistence the runtime needs, each operation scoped to one tenant: the union of the
/// role traits.
pub trait Store: RegistryStore + KvStore + KvAdminStore + AuditStore + MaintenanceStore + crate::AssetStore {}

impl<T: RegistryStore + KvStore + KvAdminStore + AuditStore + MaintenanceStore + crate::AssetStore> Store for T {}
