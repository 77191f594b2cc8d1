//! What this node forgets when the database changed: after its own writes, on another
//! node's change (the store's change feed), and all of it when it may have missed some.

use alga_ops::storage::cache::StorageCache;
use alga_store::changes::Change;
use alga_store::TenantId;
use uuid::Uuid;

use super::Registry;

impl Registry {
    /// Forgets what is cached about one extension: its dispatch target, the tenant's role
    /// permissions (approvals and uninstalls change them) and UI list, and which of its
    /// versions asset URLs name (an update retires one, an upload adds one).
    pub(super) fn forget_extension(&self, tenant: &TenantId, id: Uuid) {
        self.targets.forget(tenant, id);
        self.ui.forget(tenant);
        self.ui_assets.forget(id);
    }

    /// Applies a change another writer committed (see `crate::cluster`).
    pub fn apply_change(&self, change: &Change) {
        match change {
            Change::Extension { tenant, extension, .. } => self.forget_extension(tenant, *extension),
            Change::Roles { tenant } => {
                self.targets.forget_roles(tenant);
                self.ui.forget(tenant);
            }
            Change::Storage { tenant, extension, namespace, key } => {
                let scope = StorageCache::scope(tenant.as_str(), *extension);
                match key {
                    Some(key) => self.storage_cache.invalidate(&scope, namespace, &[key.as_str()]),
                    None => self.storage_cache.invalidate_extension(&scope),
                }
            }
        }
    }

    /// Forgets everything cached about every tenant: the node may have missed changes.
    pub fn forget_everything(&self) {
        self.targets.forget_all();
        self.ui.forget_all();
        self.ui_assets.forget_all();
        self.storage_cache.invalidate_all();
    }
}
