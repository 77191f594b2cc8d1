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

/// A cached value with the tenant's generation its load started at (see `Generations`).
type Stamped<V> = (u64, V);
/// A tenant and the sorted roles whose permissions are cached.
type RolesKey = (TenantId, Vec<String>);

pub(super) struct TargetCache {
    targets: Cache<(TenantId, String), Stamped<Option<Arc<DispatchTarget>>>>,
    roles: Cache<RolesKey, Stamped<Arc<Vec<Permission>>>>,
    pub(super) generations: Generations,
}

/// A counter per tenant, bumped whenever something cached about the tenant is forgotten.
/// Invalidation only drops entries already cached: a load that read the database before
/// a revoke or disable committed could insert its old answer afterwards. An entry whose
/// load started before the tenant's latest bump is therefore not trusted, and loaded again.
/// A bump of every tenant at once (a resynchronisation) moves the shared count, which each
/// tenant's generation includes.
#[derive(Default)]
pub(super) struct Generations {
    tenants: std::sync::Mutex<std::collections::HashMap<TenantId, u64>>,
    all: std::sync::atomic::AtomicU64,
}

impl Generations {
    pub(super) fn of(&self, tenant: &TenantId) -> u64 {
        let own = self.tenants.lock().unwrap_or_else(|e| e.into_inner()).get(tenant).copied().unwrap_or(0);
        own + self.all.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(super) fn bump(&self, tenant: &TenantId) {
        *self.tenants.lock().unwrap_or_else(|e| e.into_inner()).entry(tenant.clone()).or_default() += 1;
    }

    pub(super) fn bump_all(&self) {
        self.all.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Gets `key` from `cache`, loading it when missing or when it was loaded before the
/// tenant's latest invalidation (then loaded once more, not through the shared load).
pub(super) async fn fresh<K, V, F, Fut>(
    cache: &Cache<K, (u64, V)>,
    generations: &Generations,
    tenant: &TenantId,
    key: K,
    load: F,
) -> Result<V, RegistryError>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<V, RegistryError>>,
{
    let started = generations.of(tenant);
    let (loaded_at, value) = cache
        .try_get_with(key.clone(), async {
            let value = load().await?;
            Ok::<_, RegistryError>((started, value))
        })
        .await
        .map_err(RegistryError::Shared)?;
    if loaded_at >= generations.of(tenant) {
        return Ok(value);
    }
    let again = generations.of(tenant);
    let value = load().await?;
    if generations.of(tenant) == again {
        cache.insert(key, (again, value.clone())).await;
    }
    Ok(value)
}

impl TargetCache {
    pub(super) fn new() -> Self {
        Self {
            targets: Cache::builder().max_capacity(10_000).time_to_live(TARGET_TTL).support_invalidation_closures().build(),
            roles: Cache::builder().max_capacity(10_000).time_to_live(TARGET_TTL).support_invalidation_closures().build(),
            generations: Generations::default(),
        }
    }

    /// Forgets everything cached, for every tenant.
    pub(super) fn forget_all(&self) {
        self.generations.bump_all();
        self.targets.invalidate_all();
        self.roles.invalidate_all();
    }

    /// Forgets the tenant's cached role permissions, so a grant or revoke holds from the
    /// next request on.
    pub(super) fn forget_roles(&self, tenant: &TenantId) {
        self.generations.bump(tenant);
        let roles_of = tenant.clone();
        let _ = self.roles.invalidate_entries_if(move |(t, _), _| *t == roles_of);
    }

    /// Forgets what is cached about one extension of a tenant, and the tenant's role
    /// permissions (the extension's own permissions come and go with it).
    pub(super) fn forget(&self, tenant: &TenantId, id: Uuid) {
        self.forget_roles(tenant);
        let tenant = tenant.clone();
        let _ = self
            .targets
            .invalidate_entries_if(move |(t, _), (_, target)| *t == tenant && target.as_ref().is_none_or(|target| target.extension.id == id));
    }
}

impl Registry {
    /// The tenant's enabled, approved extension named by install id or manifest id.
    pub async fn dispatch_target(&self, tenant: &TenantId, id_or_key: &str) -> Result<Option<Arc<DispatchTarget>>, RegistryError> {
        let key = (tenant.clone(), id_or_key.to_owned());
        fresh(&self.targets.targets, &self.targets.generations, tenant, key, || self.load_target(tenant, id_or_key)).await
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
        fresh(&self.targets.roles, &self.targets.generations, tenant, key, || async {
            Ok::<_, RegistryError>(Arc::new(self.store.role_permissions(tenant, roles).await?))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_load_that_an_invalidation_overtook_is_not_served_from_the_cache() {
        let cache: Cache<&'static str, Stamped<&'static str>> = Cache::builder().build();
        let generations = Generations::default();
        let tenant = TenantId::parse("acme").unwrap();
        let loads = AtomicUsize::new(0);
        // The first load reads the old state, and a revoke commits (bumping the generation)
        // before it returns; the second load sees the new state.
        let load = || async {
            match loads.fetch_add(1, Ordering::SeqCst) {
                0 => {
                    generations.bump(&tenant);
                    Ok("old")
                }
                _ => Ok("new"),
            }
        };
        assert_eq!(fresh(&cache, &generations, &tenant, "k", load).await.unwrap(), "new");
        assert_eq!(fresh(&cache, &generations, &tenant, "k", load).await.unwrap(), "new", "the fresh answer is the cached one now");
        assert_eq!(loads.load(Ordering::SeqCst), 2, "loaded twice, then served from the cache");
    }
}
