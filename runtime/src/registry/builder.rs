//! Building a registry: its defaults, the operator's settings (`with_*`), and the services each isolate's ops act through.

use std::sync::Arc;

use alga_bundle::InspectOptions;
use alga_store::{Extension, Permission, Store, TenantId};
use serde_json::Value;
use uuid::Uuid;

use super::*;

impl Registry {
    pub fn new(store: Arc<dyn Store>, inspect: InspectOptions) -> Self {
        Self::with_breaker(store, inspect, breaker::BreakerConfig::default())
    }

    pub fn with_breaker(store: Arc<dyn Store>, inspect: InspectOptions, breaker: breaker::BreakerConfig) -> Self {
        Self {
            store,
            events: EventBus::default(),
            inspect,
            breaker: breaker::CircuitBreaker::new(breaker),
            logs: Default::default(),
            fetch: Arc::new(alga_ops::fetch::FetchClient::new(Default::default()).expect("the default fetch client builds")),
            hook_limits: hooks::default_hook_limits(),
            targets: targets::TargetCache::new(),
            storage_quota: Default::default(),
            host_api: None,
            warned: Default::default(),
            sealer: None,
            storage_cache: Arc::new(alga_ops::storage::cache::StorageCache::new(STORAGE_CACHE_ENTRIES, STORAGE_CACHE_TTL)),
            storage_audit: Default::default(),
            sandbox: Default::default(),
            max_extensions_per_tenant: MAX_EXTENSIONS_PER_TENANT,
            ui: ui::UiCache::new(),
            edition: Edition::default(),
            page_links: Arc::new(crate::page_links::PageLinks::random()),
            ui_assets: ui_assets::UiAssetCache::new(UI_ASSET_CACHE_MB * 1024 * 1024),
        }
    }

    /// Sets the edition this node serves (default: enterprise).
    pub fn with_edition(mut self, edition: Edition) -> Self {
        self.edition = edition;
        self
    }

    pub fn edition(&self) -> Edition {
        self.edition
    }

    /// Sets the keys of signed page URLs (default: random, so URLs open on this process only).
    pub fn with_page_links(mut self, links: crate::page_links::PageLinks) -> Self {
        self.page_links = Arc::new(links);
        self
    }

    pub fn page_links(&self) -> &crate::page_links::PageLinks {
        &self.page_links
    }

    /// Sets how many extensions one tenant may have installed (default 100).
    pub fn with_max_extensions_per_tenant(mut self, max: u64) -> Self {
        self.max_extensions_per_tenant = max;
        self
    }

    /// Sets how much each extension may store per tenant (default 10,000 keys, 50 MiB).
    pub fn with_storage_quota(mut self, quota: alga_store::StorageQuota) -> Self {
        self.storage_quota = quota;
        self
    }

    /// How much each extension may store per tenant.
    pub fn storage_quota(&self) -> alga_store::StorageQuota {
        self.storage_quota
    }

    /// Sizes the storage read cache: `max_entries` values, each trusted for `ttl` at most
    /// (the bound on staleness for writes made by other nodes).
    pub fn with_storage_cache(mut self, max_entries: u64, ttl: std::time::Duration) -> Self {
        self.storage_cache = Arc::new(alga_ops::storage::cache::StorageCache::new(max_entries, ttl));
        self
    }

    /// The storage write audit's writer. Must be called on the server's runtime.
    pub fn storage_audit(&self) -> &Arc<alga_ops::storage::audit::AuditSink> {
        self.storage_audit.get_or_init(|| alga_ops::storage::audit::AuditSink::start(self.store.clone(), &tokio::runtime::Handle::current()))
    }

    /// The storage read cache (for invalidation by imports and its hit/miss counters).
    pub fn storage_cache(&self) -> &Arc<alga_ops::storage::cache::StorageCache> {
        &self.storage_cache
    }

    /// Encrypts `{ sensitive: true }` storage values and secret settings at rest. Without
    /// keys both are refused.
    pub fn with_sealer(mut self, sealer: Arc<alga_ops::storage::seal::Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Secret settings opened for the isolate.
    pub(super) fn open_settings(&self, tenant: &TenantId, id: Uuid, saved: Option<Value>) -> Option<Value> {
        settings::open_secrets(saved, self.sealer.as_deref(), tenant.as_str(), &id)
    }

    /// Lets extensions call the host app's API (`ctx.api`); without it their calls fail
    /// with `NOT_CONFIGURED`.
    /// Sets the client extensions' `fetch()` uses (`--fetch-*` flags).
    pub fn with_fetch(mut self, client: alga_ops::fetch::FetchClient) -> Self {
        self.fetch = Arc::new(client);
        self
    }

    pub fn with_host_api(mut self, host_api: Arc<alga_ops::api::HostApi>) -> Self {
        self.host_api = Some(host_api);
        self
    }

    /// What the storage and API ops of `ext`'s isolates act for, given its granted
    /// capabilities. Must be called on the server's runtime: their I/O is sent back to it.
    pub fn services<'a>(&self, ext: &Extension, granted: impl Iterator<Item = &'a Permission>) -> crate::isolate::Services {
        let granted: Vec<&Permission> = granted.collect();
        let has = |action: &str| granted.iter().any(|p| p.resource == "storage" && p.action == action);
        let storage = alga_ops::storage::StorageContext {
            store: self.store.clone(),
            tenant: ext.tenant_id.clone(),
            extension_id: ext.id,
            spawner: tokio::runtime::Handle::current(),
            can_read: has("read"),
            can_write: has("write"),
            quota: self.storage_quota,
            observer: Some(self.usage_observer(&ext.tenant_id, ext.id, &ext.key)),
            schemas: schemas::NamespaceSchemas::from_manifest(&ext.manifest).map(|s| s as Arc<dyn alga_ops::storage::ValueValidator>),
            sealer: self.sealer.clone(),
            cache: Some(self.storage_cache.clone()),
            cache_scope: alga_ops::storage::cache::StorageCache::scope(ext.tenant_id.as_str(), ext.id),
            audit: Some(self.storage_audit().clone()),
            shares: Some(self.sandbox.shares.clone()),
            tx_max_duration: self.sandbox.tx_max_duration,
        };
        let api = alga_ops::api::ApiContext {
            // The host API client is an enterprise feature: on the community edition the
            // extension's `ctx.api` calls answer NOT_CONFIGURED.
            host: self.host_api.clone().filter(|_| self.edition.serves_host_api()),
            tenant: ext.tenant_id.to_string(),
            extension: ext.key.clone(),
            granted: granted.iter().map(|p| p.to_string()).collect(),
            spawner: tokio::runtime::Handle::current(),
        };
        // Lines go to the extension's ring (and the server's log) unless a sink was given.
        let log = self.sandbox.log_sink.clone().unwrap_or_else(|| Arc::new(logs::RingSink { logs: self.logs.clone() }));
        let fetch = alga_ops::fetch::FetchContext {
            client: self.fetch.clone(),
            permits: alga_ops::fetch::FetchContext::isolate_permits(),
            hosts: granted.iter().filter(|p| p.resource == alga_bundle::catalog::FETCH).map(|p| p.action.clone()).collect(),
            tenant: ext.tenant_id.to_string(),
            extension: ext.key.clone(),
            spawner: tokio::runtime::Handle::current(),
        };
        crate::isolate::Services { storage: Some(storage), api: Some(api), fetch: Some(fetch), log: Some(log) }
    }
}
