//! What dispatch needs to know about an extension, cached: the record, its parsed manifest,
//! granted capabilities and effective settings — one lookup instead of four queries a request.
//!
//! Entries drop on this node's lifecycle events at once; a short TTL bounds staleness for
//! changes made by other nodes sharing the database (and for RBAC edits the host app makes
//! directly in the tables; edits through the roles API drop the tenant's entries at once).

use std::sync::Arc;
use std::time::Duration;

use alga_bundle::Manifest;
use alga_store::{Extension, ExtensionStatus, Permission, TenantId};
use moka::future::Cache;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{settings, Registry, RegistryError};

/// How long a cached target or role lookup may serve changes made elsewhere.
pub const TARGET_TTL: Duration = Duration::from_secs(5);

/// An enabled, approved extension ready to dispatch to.
#[derive(Debug)]
pub struct DispatchTarget {
    pub extension: Extension,
    pub manifest: Manifest,
    /// Granted capabilities, `resource:action`.
    pub granted: Vec<String>,
    /// Effective settings with secrets in clear, for the isolate only.
    pub settings: Arc<Map<String, Value>>,
}

pub(super) struct TargetCache {
    targets: Cache<(TenantId, String), Option<Arc<DispatchTarget>>>,
    roles: Cache<(TenantId, Vec<String>), Arc<Vec<Permission>>>,
}

impl TargetCache {
    pub(super) fn new() -> Self {
        Self {
            targets: Cache::builder().max_capacity(10_000).time_to_live(TARGET_TTL).support_invalidation_closures().build(),
            roles: Cache::builder().max_capacity(10_000).time_to_live(TARGET_TTL).support_invalidation_closures().build(),
        }
    }

    /// Forgets the tenant's cached role permissions, so a grant or revoke holds from the
    /// next request on.
    pub(super) fn forget_roles(&self, tenant: &TenantId) {
        let roles_of = tenant.clone();
        let _ = self.roles.invalidate_entries_if(move |(t, _), _| *t == roles_of);
    }

    /// Forgets what is cached about one extension of a tenant, and the tenant's role
    /// permissions (the extension's own permissions come and go with it).
    pub(super) fn forget(&self, tenant: &TenantId, id: Uuid) {
        self.forget_roles(tenant);
        let tenant = tenant.clone();
        let _ =
            self.targets.invalidate_entries_if(move |(t, _), target| *t == tenant && target.as_ref().is_none_or(|target| target.extension.id == id));
    }
}

impl Registry {
    /// The tenant's enabled, approved extension named by install id or manifest id.
    pub async fn dispatch_target(&self, tenant: &TenantId, id_or_key: &str) -> Result<Option<Arc<DispatchTarget>>, RegistryError> {
        let key = (tenant.clone(), id_or_key.to_owned());
        self.targets.targets.try_get_with(key, self.load_target(tenant, id_or_key)).await.map_err(RegistryError::Shared)
    }

    async fn load_target(&self, tenant: &TenantId, id_or_key: &str) -> Result<Option<Arc<DispatchTarget>>, RegistryError> {
        let ext = match Uuid::parse_str(id_or_key) {
            Ok(id) => self.store.get_extension(tenant, id).await?,
            Err(_) => self.store.find_extension_by_key(tenant, id_or_key).await?,
        };
        let Some(ext) = ext.filter(|e| e.is_enabled && e.status == ExtensionStatus::Installed) else { return Ok(None) };
        let manifest: Manifest = serde_json::from_value(ext.manifest.clone())
            .map_err(|e| alga_store::StoreError::Corrupt { table: "extensions", message: e.to_string() })?;
        let granted = self.store.capabilities(tenant, ext.id).await?.into_iter().filter(|c| c.granted).map(|c| c.permission.to_string()).collect();
        let saved = self.open_settings(tenant, ext.id, self.store.get_settings(tenant, ext.id).await?);
        let settings = Arc::new(settings::effective(&manifest.settings, saved.as_ref(), false));
        Ok(Some(Arc::new(DispatchTarget { extension: ext, manifest, granted, settings })))
    }

    /// The permissions `roles` hold in the tenant, cached briefly: the one door for admin
    /// checks, `/v1/me` and routing.
    pub async fn role_permissions(&self, tenant: &TenantId, roles: &[String]) -> Result<Arc<Vec<Permission>>, RegistryError> {
        let mut sorted = roles.to_vec();
        sorted.sort();
        let key = (tenant.clone(), sorted);
        self.targets
            .roles
            .try_get_with(key, async { Ok::<_, RegistryError>(Arc::new(self.store.role_permissions(tenant, roles).await?)) })
            .await
            .map_err(RegistryError::Shared)
    }
}
