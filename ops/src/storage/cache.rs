//! The in-process read cache in front of the store: values by (tenant, extension,
//! namespace, key), absent keys included. Writes through this process invalidate what they
//! touch; a time-to-live bounds how stale a value written by another node can be.
//!
//! A read that missed fills the cache only if no write happened meanwhile (a generation
//! counter), so a slow read can never put back a value a concurrent write replaced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct CacheKey {
    tenant: String,
    extension: Uuid,
    namespace: String,
    key: String,
}

/// A cached value, already opened if it was sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedValue {
    pub value: Value,
    pub revision: i64,
    pub expires_at: Option<DateTime<Utc>>,
}

pub struct StorageCache {
    entries: moka::sync::Cache<CacheKey, Arc<Option<CachedValue>>>,
    generation: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What a read found in the cache.
pub enum Lookup {
    /// Known: the value, or known to be absent.
    Hit(Option<CachedValue>),
    /// Not cached; fill with [`StorageCache::fill`] passing this generation.
    Miss(u64),
}

impl StorageCache {
    pub fn new(max_entries: u64, ttl: Duration) -> Self {
        Self {
            entries: moka::sync::Cache::builder().max_capacity(max_entries).time_to_live(ttl).support_invalidation_closures().build(),
            generation: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn key(tenant: &str, extension: Uuid, namespace: &str, key: &str) -> CacheKey {
        CacheKey { tenant: tenant.to_owned(), extension, namespace: namespace.to_owned(), key: key.to_owned() }
    }

    pub fn lookup(&self, tenant: &str, extension: Uuid, namespace: &str, key: &str) -> Lookup {
        // Read the generation first: a write after this point makes the fill a no-op.
        let generation = self.generation.load(Ordering::SeqCst);
        match self.entries.get(&Self::key(tenant, extension, namespace, key)) {
            Some(found) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                let live = found.as_ref().clone().filter(|v| v.expires_at.is_none_or(|at| at > Utc::now()));
                Lookup::Hit(live)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Miss(generation)
            }
        }
    }

    /// Remembers what a read that missed found, unless a write happened since the lookup.
    pub fn fill(&self, generation: u64, tenant: &str, extension: Uuid, namespace: &str, key: &str, found: Option<CachedValue>) {
        if self.generation.load(Ordering::SeqCst) == generation {
            self.entries.insert(Self::key(tenant, extension, namespace, key), Arc::new(found));
        }
    }

    /// The current generation, for a read that will fill the cache afterwards.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn invalidate(&self, tenant: &str, extension: Uuid, namespace: &str, keys: &[&str]) {
        self.bump();
        for key in keys {
            self.entries.invalidate(&Self::key(tenant, extension, namespace, key));
        }
    }

    pub fn invalidate_namespace(&self, tenant: &str, extension: Uuid, namespace: &str) {
        self.bump();
        let (tenant, namespace) = (tenant.to_owned(), namespace.to_owned());
        let _ = self.entries.invalidate_entries_if(move |k, _| k.extension == extension && k.tenant == tenant && k.namespace == namespace);
    }

    /// Forgets an extension's values (import, purge, committed transactions).
    pub fn invalidate_extension(&self, tenant: &str, extension: Uuid) {
        self.bump();
        let tenant = tenant.to_owned();
        let _ = self.entries.invalidate_entries_if(move |k, _| k.extension == extension && k.tenant == tenant);
    }

    /// Reads served from the cache, and reads that went to the store.
    pub fn counters(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: i64) -> Option<CachedValue> {
        Some(CachedValue { value: Value::from(n), revision: n, expires_at: None })
    }

    #[test]
    fn a_fill_after_a_concurrent_write_is_dropped() {
        let cache = StorageCache::new(100, Duration::from_secs(60));
        let id = Uuid::new_v4();
        let Lookup::Miss(generation) = cache.lookup("t", id, "", "k") else { panic!("empty cache hit") };
        cache.invalidate("t", id, "", &["k"]);
        cache.fill(generation, "t", id, "", "k", v(1));
        assert!(matches!(cache.lookup("t", id, "", "k"), Lookup::Miss(_)), "stale fill was kept");
        let Lookup::Miss(generation) = cache.lookup("t", id, "", "k") else { unreachable!() };
        cache.fill(generation, "t", id, "", "k", v(2));
        assert!(matches!(cache.lookup("t", id, "", "k"), Lookup::Hit(found) if found == v(2)));
        assert!(matches!(cache.lookup("other", id, "", "k"), Lookup::Miss(_)), "tenants do not share entries");
        cache.invalidate_extension("t", id);
        assert!(matches!(cache.lookup("t", id, "", "k"), Lookup::Miss(_)));
        assert_eq!(cache.counters(), (1, 5));
    }

    #[test]
    fn expired_values_read_as_absent() {
        let cache = StorageCache::new(100, Duration::from_secs(60));
        let id = Uuid::new_v4();
        let past = Some(CachedValue { value: Value::from(1), revision: 1, expires_at: Some(Utc::now() - chrono::Duration::seconds(1)) });
        cache.fill(0, "t", id, "", "k", past);
        assert!(matches!(cache.lookup("t", id, "", "k"), Lookup::Hit(None)));
    }
}
