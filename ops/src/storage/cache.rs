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

/// Entries are keyed by one string, `scope + namespace + "\0" + key`, where the scope names
/// tenant and extension (see [`StorageCache::scope`]): one allocation per lookup, and
/// prefix matches for invalidating a namespace or an extension.
type CacheKey = String;

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
    /// Known: the value, or known to be absent (shared, not copied).
    Hit(Arc<Option<CachedValue>>),
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

    /// The key prefix of one extension in one tenant; computed once per isolate.
    pub fn scope(tenant: &str, extension: Uuid) -> String {
        format!("{tenant}\0{extension}\0")
    }

    fn key(scope: &str, namespace: &str, key: &str) -> CacheKey {
        let mut k = String::with_capacity(scope.len() + namespace.len() + key.len() + 1);
        k.push_str(scope);
        k.push_str(namespace);
        k.push('\0');
        k.push_str(key);
        k
    }

    pub fn lookup(&self, scope: &str, namespace: &str, key: &str) -> Lookup {
        // Read the generation first: a write after this point makes the fill a no-op.
        let generation = self.generation.load(Ordering::SeqCst);
        match self.entries.get(&Self::key(scope, namespace, key)) {
            Some(found) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("alga_storage_cache_hits_total").increment(1);
                if found.as_ref().as_ref().is_some_and(|v| v.expires_at.is_some_and(|at| at <= Utc::now())) {
                    return Lookup::Hit(Arc::new(None));
                }
                Lookup::Hit(found)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("alga_storage_cache_misses_total").increment(1);
                Lookup::Miss(generation)
            }
        }
    }

    /// Remembers what a read that missed found, unless a write happened since the lookup.
    pub fn fill(&self, generation: u64, scope: &str, namespace: &str, key: &str, found: Option<CachedValue>) {
        if self.generation.load(Ordering::SeqCst) == generation {
            self.entries.insert(Self::key(scope, namespace, key), Arc::new(found));
        }
    }

    /// The current generation, for a read that will fill the cache afterwards.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub fn invalidate(&self, scope: &str, namespace: &str, keys: &[&str]) {
        self.bump();
        for key in keys {
            self.entries.invalidate(&Self::key(scope, namespace, key));
        }
    }

    pub fn invalidate_namespace(&self, scope: &str, namespace: &str) {
        self.bump();
        let prefix = Self::key(scope, namespace, "");
        let _ = self.entries.invalidate_entries_if(move |k, _| k.starts_with(&prefix));
    }

    /// Forgets an extension's values (import, purge, committed transactions).
    pub fn invalidate_extension(&self, scope: &str) {
        self.bump();
        let prefix = scope.to_owned();
        let _ = self.entries.invalidate_entries_if(move |k, _| k.starts_with(&prefix));
    }

    /// Forgets every value (a node that may have missed other nodes' writes).
    pub fn invalidate_all(&self) {
        self.bump();
        self.entries.invalidate_all();
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
        let (t, other) = (StorageCache::scope("t", id), StorageCache::scope("other", id));
        let Lookup::Miss(generation) = cache.lookup(&t, "", "k") else { panic!("empty cache hit") };
        cache.invalidate(&t, "", &["k"]);
        cache.fill(generation, &t, "", "k", v(1));
        assert!(matches!(cache.lookup(&t, "", "k"), Lookup::Miss(_)), "stale fill was kept");
        let Lookup::Miss(generation) = cache.lookup(&t, "", "k") else { unreachable!() };
        cache.fill(generation, &t, "", "k", v(2));
        assert!(matches!(cache.lookup(&t, "", "k"), Lookup::Hit(found) if *found == v(2)));
        assert!(matches!(cache.lookup(&other, "", "k"), Lookup::Miss(_)), "tenants do not share entries");
        cache.invalidate_extension(&t);
        assert!(matches!(cache.lookup(&t, "", "k"), Lookup::Miss(_)));
        assert_eq!(cache.counters(), (1, 5));
    }

    #[test]
    fn expired_values_read_as_absent() {
        let cache = StorageCache::new(100, Duration::from_secs(60));
        let id = Uuid::new_v4();
        let past = Some(CachedValue { value: Value::from(1), revision: 1, expires_at: Some(Utc::now() - chrono::Duration::seconds(1)) });
        let t = StorageCache::scope("t", id);
        cache.fill(0, &t, "", "k", past);
        assert!(matches!(cache.lookup(&t, "", "k"), Lookup::Hit(found) if found.is_none()));
    }
}
