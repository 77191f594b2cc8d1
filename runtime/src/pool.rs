//! The registry of live isolates: one per (tenant, extension, bundle hash), built once
//! however many first requests arrive together, evicted when idle or over capacity, and
//! retired when the extension is disabled, uninstalled or updated. It joins the registry
//! (what to run) and `isolate` (how to run it), so it sits above both.

use std::sync::Arc;
use std::time::Duration;

use alga_ops::ExtensionIdentity;
use alga_store::{Extension, TenantId, VersionState};
use moka::future::Cache;
use uuid::Uuid;

use crate::isolate::{IsolateError, IsolateHandle, IsolateLimits};
use crate::registry::{LifecycleKind, Registry, RegistryError};

/// How the pool sizes itself.
#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    /// Most isolates alive at once; the least recently used go first.
    pub max_live: u64,
    /// Isolates unused this long are dropped.
    pub idle_ttl: Duration,
    /// Blank isolates kept ready for cold starts (see `threads`).
    pub blanks: usize,
    /// Defaults; an extension's overrides apply on top, within `ceilings`.
    pub limits: IsolateLimits,
    pub ceilings: crate::isolate::limits::LimitCeilings,
    /// Most isolates one tenant may hold; past it the tenant's own least recently used
    /// isolate makes room.
    pub max_per_tenant: u64,
    /// Bytes all isolates together may reserve (each its heap and ArrayBuffer limits).
    pub memory_budget_bytes: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_live: 256,
            idle_ttl: Duration::from_secs(300),
            blanks: 2,
            limits: IsolateLimits::default(),
            ceilings: Default::default(),
            max_per_tenant: 64,
            memory_budget_bytes: default_memory_budget(),
        }
    }
}

/// Half of this machine's physical memory (4 GiB when it cannot be read).
pub fn default_memory_budget() -> usize {
    // SAFETY: sysconf only reads system configuration.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    if pages > 0 && page > 0 {
        (pages as usize).saturating_mul(page as usize) / 2
    } else {
        4 << 30
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct PoolKey {
    tenant: TenantId,
    extension_id: Uuid,
    bundle_hash: String,
    /// The overrides in force: new limits mean a new isolate.
    limits: String,
}

/// Why no isolate could serve a request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PoolError {
    #[error(transparent)]
    Isolate(#[from] IsolateError),
    #[error(transparent)]
    Registry(Arc<RegistryError>),
}

pub struct IsolatePool {
    cache: Cache<PoolKey, Arc<IsolateHandle>>,
    registry: Arc<Registry>,
    config: PoolConfig,
    /// Bytes reserved by live isolates, against `config.memory_budget_bytes`.
    reserved: Arc<std::sync::atomic::AtomicUsize>,
    /// Isolates being built now, by tenant: they count against the tenant's share too.
    building: std::sync::Mutex<std::collections::HashMap<TenantId, u64>>,
}

/// A tenant's place among isolates being built, given back when the build ends.
struct Building<'a> {
    pool: &'a IsolatePool,
    tenant: TenantId,
}

impl Drop for Building<'_> {
    fn drop(&mut self) {
        let mut building = self.pool.building.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = building.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                building.remove(&self.tenant);
            }
        }
    }
}

impl IsolatePool {
    /// Builds the pool and subscribes it to the registry's lifecycle events. Must be called
    /// inside a tokio runtime.
    pub fn new(registry: Arc<Registry>, config: PoolConfig) -> Arc<Self> {
        // Least recently used goes first. (moka's default, TinyLFU, may refuse to admit a new
        // entry at capacity: a new extension's isolate would then be built and dropped on
        // every request, with whatever it left running.)
        let cache = Cache::builder()
            .max_capacity(config.max_live)
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .time_to_idle(config.idle_ttl)
            .support_invalidation_closures()
            .build();
        // Idle isolate threads keep blank isolates with these limits ready for cold starts.
        crate::isolate::prepare_blanks((config.blanks > 0).then_some(config.limits), config.blanks);
        let pool = Arc::new(Self { cache, registry, config, reserved: Default::default(), building: Default::default() });
        let mut events = pool.registry.events().subscribe();
        let cache = pool.cache.clone();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match events.recv().await {
                    Ok(event) => {
                        let stale = matches!(
                            event.kind,
                            LifecycleKind::Disabled
                                | LifecycleKind::Suspended { .. }
                                | LifecycleKind::LimitsChanged
                                | LifecycleKind::Uninstalled { .. }
                                | LifecycleKind::Updated { .. }
                        );
                        if stale {
                            retire(&cache, &event.tenant, event.extension_id);
                        }
                    }
                    // Missed events: start over rather than serve a stale version.
                    Err(RecvError::Lagged(_)) => cache.invalidate_all(),
                    Err(RecvError::Closed) => break,
                }
            }
        });
        pool
    }

    /// Lets go of an extension's isolates, for a change made by another node: requests in
    /// flight finish on them, the next one starts on what the registry says now.
    pub fn retire(&self, tenant: &TenantId, id: Uuid) {
        retire(&self.cache, tenant, id);
    }

    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// The limits `ext` runs under: the defaults with its overrides, within the ceilings.
    pub fn limits_for(&self, ext: &Extension) -> IsolateLimits {
        let overrides: crate::isolate::limits::LimitOverrides = serde_json::from_value(ext.limits.clone()).unwrap_or_default();
        self.config.limits.with_overrides(&overrides, &self.config.ceilings)
    }

    /// Isolates alive now (approximate, as moka counts lazily).
    pub async fn live(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }

    /// The live isolate serving `ext`'s active version, building it when there is none.
    pub async fn handle_for(&self, ext: &Extension) -> Result<Arc<IsolateHandle>, PoolError> {
        let key =
            PoolKey { tenant: ext.tenant_id.clone(), extension_id: ext.id, bundle_hash: ext.bundle_hash.clone(), limits: ext.limits.to_string() };
        if let Some(handle) = self.cache.get(&key).await {
            if !handle.is_retired() {
                return Ok(handle);
            }
            self.cache.invalidate(&key).await;
        }
        let build = self.build(ext);
        self.cache.try_get_with(key, build).await.map_err(|e: Arc<PoolError>| (*e).clone())
    }

    /// Runs one call on the extension's isolate. A call that never reached JavaScript
    /// because its isolate was being discarded is retried once on a fresh one.
    pub async fn call(&self, ext: &Extension, invocation: crate::isolate::Invocation) -> Result<crate::isolate::HandlerResponse, PoolError> {
        let started = std::time::Instant::now();
        let outcome = self.call_once_or_twice(ext, invocation).await;
        let label = match &outcome {
            Ok(_) => "ok",
            Err(PoolError::Isolate(e)) => e.code(),
            Err(PoolError::Registry(_)) => "REGISTRY_ERROR",
        };
        metrics::histogram!("alga_isolate_call_duration_seconds", "outcome" => label).record(started.elapsed().as_secs_f64());
        outcome
    }

    async fn call_once_or_twice(
        &self,
        ext: &Extension,
        invocation: crate::isolate::Invocation,
    ) -> Result<crate::isolate::HandlerResponse, PoolError> {
        let handle = self.handle_for(ext).await?;
        match handle.call(invocation.clone()).await {
            Err(IsolateError::Discarded) => {
                drop(handle);
                let fresh = self.handle_for(ext).await?;
                Ok(fresh.call(invocation).await?)
            }
            other => Ok(other?),
        }
    }

    async fn build(&self, ext: &Extension) -> Result<Arc<IsolateHandle>, PoolError> {
        let registry_error = |e: RegistryError| PoolError::Registry(Arc::new(e));
        let versions = self.registry.store().list_versions(&ext.tenant_id, ext.id).await.map_err(|e| registry_error(e.into()))?;
        let active = versions
            .iter()
            .find(|v| v.state == VersionState::Active && v.bundle_hash == ext.bundle_hash)
            .ok_or_else(|| registry_error(RegistryError::NotFound(format!("active version of {}", ext.key))))?;
        let files = self.registry.load_version_files(&ext.tenant_id, active.id).await.map_err(registry_error)?;
        let identity = ExtensionIdentity { tenant: ext.tenant_id.to_string(), extension: ext.key.clone() };
        let limits = self.limits_for(ext);
        let _building = self.make_room_for_tenant(&ext.tenant_id).await?;
        let reservation = self.reserve(limits.heap_max_bytes.saturating_add(limits.array_buffer_max_bytes)).await?;
        let granted = self.registry.store().capabilities(&ext.tenant_id, ext.id).await.map_err(|e| registry_error(e.into()))?;
        let services = self.registry.services(ext, granted.iter().filter(|c| c.granted).map(|c| &c.permission));
        let handle = IsolateHandle::start(identity, limits, Arc::new(files), active.main_entry_point.clone(), services).await?;
        handle.hold(reservation);
        // Bookkeeping for the next start's prewarm; a failure costs only warmth.
        if let Err(e) = self.registry.store().touch_extension(&ext.tenant_id, ext.id).await {
            tracing::debug!(error = %e, "cannot record extension use");
        }
        Ok(Arc::new(handle))
    }

    /// Bytes reserved by live isolates now.
    pub fn reserved_bytes(&self) -> usize {
        self.reserved.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Isolates alive now for `tenant`.
    pub async fn live_for_tenant(&self, tenant: &TenantId) -> usize {
        self.cache.run_pending_tasks().await;
        self.cache.iter().filter(|(k, _)| &k.tenant == tenant).count()
    }

    /// Takes a place in `tenant`'s share for one more isolate, evicting the tenant's own
    /// least recently used isolates (idle ones first) when the share is full, so a tenant's
    /// new isolate never displaces another tenant's. Refused when the share is all isolates
    /// still being built.
    async fn make_room_for_tenant(&self, tenant: &TenantId) -> Result<Building<'_>, PoolError> {
        let max = self.config.max_per_tenant.max(1) as usize;
        let (mine, building) = {
            let mut building = self.building.lock().unwrap_or_else(|e| e.into_inner());
            let count = building.entry(tenant.clone()).or_insert(0);
            let mut mine: Vec<(Arc<PoolKey>, Arc<IsolateHandle>)> = self.cache.iter().filter(|(k, _)| &k.tenant == tenant).collect();
            if *count as usize >= max {
                if *count == 0 {
                    building.remove(tenant);
                }
                return Err(PoolError::Isolate(IsolateError::TenantShare { max }));
            }
            *count += 1;
            let excess = (mine.len() + *count as usize).saturating_sub(max);
            // Idle ones first, then least recently used.
            mine.sort_by_key(|(_, h)| (!h.is_idle(), h.last_used()));
            mine.truncate(excess);
            (mine, Building { pool: self, tenant: tenant.clone() })
        };
        if !mine.is_empty() {
            tracing::info!(tenant = %tenant, evicted = mine.len(), "tenant at its isolate share; evicting its least recently used isolates");
        }
        for (key, handle) in mine {
            handle.release();
            self.cache.invalidate(&*key).await;
        }
        Ok(building)
    }

    /// Reserves `bytes` of the memory budget, evicting idle isolates (least recently used
    /// first) to make room; refuses when only busy isolates are left.
    async fn reserve(&self, bytes: usize) -> Result<crate::isolate::Reservation, PoolError> {
        let budget = self.config.memory_budget_bytes;
        let mut idle: Vec<(Arc<PoolKey>, Arc<IsolateHandle>)> = Vec::new();
        let mut listed = false;
        loop {
            if let Some(reservation) = crate::isolate::Reservation::take(&self.reserved, bytes, budget) {
                return Ok(reservation);
            }
            if !listed {
                idle = self.cache.iter().filter(|(_, h)| h.is_idle()).collect();
                // Most recently used first, so `pop` takes the least recently used.
                idle.sort_by_key(|(_, h)| std::cmp::Reverse(h.last_used()));
                listed = true;
            }
            let Some((key, handle)) = idle.pop() else {
                tracing::warn!(budget_mb = budget >> 20, reserved_mb = self.reserved_bytes() >> 20, "isolate memory budget exhausted");
                return Err(PoolError::Isolate(IsolateError::MemoryBudget { budget_mb: budget >> 20 }));
            };
            tracing::info!(tenant = %key.tenant, "isolate memory budget reached; evicting an idle isolate");
            handle.release();
            self.cache.invalidate(&*key).await;
        }
    }

    /// Builds isolates for the most recently used enabled extensions, `concurrency` at a
    /// time, so the first requests after a start find them warm. Failures are logged.
    pub async fn prewarm(self: &Arc<Self>, count: u32, concurrency: usize) -> usize {
        let recent = match self.registry.store().recently_used_extensions(count).await {
            Ok(recent) => recent,
            Err(e) => {
                tracing::warn!(error = %e, "prewarm: cannot list recently used extensions");
                return 0;
            }
        };
        let gate = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for (tenant, id) in recent {
            let (pool, gate) = (self.clone(), gate.clone());
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await.ok()?;
                let ext = pool.registry.store().get_extension(&tenant, id).await.ok()??;
                match pool.handle_for(&ext).await {
                    Ok(_) => Some(()),
                    Err(e) => {
                        tracing::warn!(tenant = %tenant, extension = %ext.key, error = %e, "prewarm failed");
                        None
                    }
                }
            });
        }
        let mut warmed = 0;
        while let Some(done) = tasks.join_next().await {
            warmed += usize::from(matches!(done, Ok(Some(()))));
        }
        tracing::info!(warmed, "prewarm finished");
        warmed
    }
}

/// Drops the pool's handles of one extension's isolates; in-flight requests keep theirs and
/// finish on the old isolate.
fn retire(cache: &Cache<PoolKey, Arc<IsolateHandle>>, tenant: &TenantId, id: Uuid) {
    let tenant = tenant.clone();
    let _ = cache.invalidate_entries_if(move |k, _| k.tenant == tenant && k.extension_id == id);
}
