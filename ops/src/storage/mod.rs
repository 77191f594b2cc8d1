//! `ctx.storage`: the extension's own key-value store, scoped to the isolate's tenant and
//! extension from OpState (never from JS arguments), gated by the granted capabilities.
//!
//! Store calls run on the server's runtime (`StorageContext::spawner`), where the database
//! pool lives; the isolate thread only awaits their results.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use alga_store::{KvStore, SetOptions, StorageKey, TenantId};
use deno_core::{op2, OpState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

deno_core::extension!(
    alga_storage,
    ops = [
        op_storage_get,
        op_storage_cached,
        op_storage_set,
        op_storage_delete,
        op_storage_list,
        op_storage_search,
        op_storage_history,
        op_storage_get_many,
        op_storage_set_many,
        op_storage_delete_many,
        op_storage_clear,
        op_storage_count,
        op_storage_tx_begin,
        op_storage_tx_get,
        op_storage_tx_set,
        op_storage_tx_delete,
        op_storage_tx_end,
    ],
    esm_entry_point = "ext:alga_storage/00_storage.js",
    esm = [dir "src/storage", "00_storage.js"],
);

pub mod audit;
mod batch;
pub mod cache;
mod error;
mod query;
pub mod seal;
pub mod tx;

pub use error::StorageOpError;

// What storage refuses before any database sees it lives in the store crate (shared with
// import, and fuzzed there without V8); these are its names as the ops have always had them.
use alga_store::checks::text_problem;
pub use alga_store::checks::{name_problem, value_problem, ValueValidator, MAX_KEY_CHARS, MAX_NAMESPACE_CHARS, MAX_VALUE_BYTES, MAX_VALUE_DEPTH};

use batch::{op_storage_clear, op_storage_count, op_storage_delete_many, op_storage_get_many, op_storage_set_many};
use query::{op_storage_history, op_storage_list, op_storage_search};
pub use tx::{call_ended, call_started, TenantShares, DEFAULT_MAX_DURATION as DEFAULT_TX_MAX_DURATION, MAX_OPEN_TRANSACTIONS};
use tx::{op_storage_tx_begin, op_storage_tx_delete, op_storage_tx_end, op_storage_tx_get, op_storage_tx_set};

/// Most keys in one batch operation.
pub const MAX_BATCH: usize = 100;
/// What the storage ops act for; put into OpState by the runtime when it builds the isolate.
#[derive(Clone)]
pub struct StorageContext {
    pub store: Arc<dyn KvStore>,
    pub tenant: TenantId,
    pub extension_id: Uuid,
    /// The runtime that owns the database pool.
    pub spawner: tokio::runtime::Handle,
    pub can_read: bool,
    pub can_write: bool,
    /// The most this extension may store in this tenant.
    pub quota: alga_store::StorageQuota,
    /// Told after every committed write, to watch usage against the quota.
    pub observer: Option<Arc<dyn UsageObserver>>,
    /// The manifest's per-namespace schemas, checked before every write.
    pub schemas: Option<Arc<dyn ValueValidator>>,
    /// Keys for `{ sensitive: true }` values; without them such writes are refused.
    pub sealer: Option<Arc<seal::Sealer>>,
    /// The process's read cache, shared by all isolates.
    pub cache: Option<Arc<cache::StorageCache>>,
    /// This extension's key prefix in the cache: `StorageCache::scope(tenant, extension)`.
    pub cache_scope: String,
    /// Where committed changes are audited.
    pub audit: Option<Arc<audit::AuditSink>>,
    /// Each tenant's share of the database pool; without it calls are not limited.
    pub shares: Option<Arc<TenantShares>>,
    /// How long a transaction may stay open before Rust rolls it back.
    pub tx_max_duration: std::time::Duration,
}

impl StorageContext {
    /// Forgets cached values of `keys` after a write of them committed.
    fn forget(&self, namespace: &str, keys: &[&str]) {
        if let Some(cache) = &self.cache {
            cache.invalidate(&self.cache_scope, namespace, keys);
        }
    }
}

/// The value as stored: sealed when the write asked for it. Plain values may not look like
/// sealed ones, or reads would try to open them.
fn to_store(ctx: &StorageContext, namespace: &str, key: &str, value: Value, sensitive: bool) -> Result<Value, StorageOpError> {
    if seal::is_sealed(&value) {
        return Err(StorageOpError::Validation(format!("values may not hold a top-level {:?} member", seal::SEALED_MARK)));
    }
    if !sensitive {
        return Ok(value);
    }
    let sealer = ctx.sealer.as_ref().ok_or({
        StorageOpError::EncryptionUnavailable("this runtime has no encryption keys (--encryption-keys), so sensitive values cannot be stored")
    })?;
    Ok(sealer.seal(&value, &seal::storage_aad(ctx.tenant.as_str(), &ctx.extension_id, namespace, key)))
}

/// A stored value as JS sees it: opened when it was sealed.
fn reveal(ctx: &StorageContext, namespace: &str, stored: alga_store::StoredValue) -> Result<Entry, StorageOpError> {
    let mut entry = Entry::from(stored);
    if seal::is_sealed(&entry.value) {
        let sealer =
            ctx.sealer.as_ref().ok_or_else(|| StorageOpError::DecryptionFailed("this runtime has no encryption keys (--encryption-keys)".into()))?;
        let aad = seal::storage_aad(ctx.tenant.as_str(), &ctx.extension_id, namespace, &entry.key);
        entry.value = sealer.open(&entry.value, &aad).map_err(|e| StorageOpError::DecryptionFailed(format!("{}: {e}", entry.key)))?;
    }
    Ok(entry)
}

fn reveal_all(ctx: &StorageContext, namespace: &str, stored: Vec<alga_store::StoredValue>) -> Result<Vec<Entry>, StorageOpError> {
    stored.into_iter().map(|v| reveal(ctx, namespace, v)).collect()
}

fn check_schema(ctx: &StorageContext, namespace: &str, value: &Value) -> Result<(), StorageOpError> {
    match &ctx.schemas {
        Some(schemas) => schemas.check(namespace, value).map_err(StorageOpError::Validation),
        None => Ok(()),
    }
}

/// Hears about committed writes of one extension (the runtime checks usage and warns
/// near the quota). Must return quickly: it runs on the isolate's thread.
pub trait UsageObserver: Send + Sync {
    fn wrote(&self);
}

fn wrote(ctx: &StorageContext) {
    if let Some(observer) = &ctx.observer {
        observer.wrote();
    }
}

/// An audit entry for a change made now by whoever the isolate acts for: the request's
/// user, or the extension itself outside a request.
fn audit_entry(
    state: &Rc<RefCell<OpState>>,
    ctx: &StorageContext,
    op: &str,
    namespace: &str,
    key: &str,
    size_bytes: i64,
) -> alga_store::StorageAuditEntry {
    let state = state.borrow();
    let actor = match state.try_borrow::<crate::api::CallUser>().and_then(|u| u.0.clone()) {
        Some(user) => user,
        None => format!("extension:{}", state.try_borrow::<crate::ExtensionIdentity>().map(|i| i.extension.as_str()).unwrap_or("?")),
    };
    alga_store::StorageAuditEntry {
        extension_id: ctx.extension_id,
        at: chrono::Utc::now(),
        actor,
        op: op.to_owned(),
        namespace: namespace.to_owned(),
        key: key.to_owned(),
        size_bytes,
    }
}

/// Audits committed changes (`(key, size)` each) of one namespace.
fn audit(state: &Rc<RefCell<OpState>>, ctx: &StorageContext, op: &str, namespace: &str, changes: &[(&str, i64)]) {
    if let Some(sink) = &ctx.audit {
        for (key, size) in changes {
            sink.record(&ctx.tenant, audit_entry(state, ctx, op, namespace, key, *size));
        }
    }
}

fn context(state: &Rc<RefCell<OpState>>, write: bool) -> Result<StorageContext, StorageOpError> {
    let state = state.borrow();
    let ctx = state.try_borrow::<StorageContext>().ok_or(StorageOpError::Unavailable)?;
    let (allowed, capability) = if write { (ctx.can_write, "storage:write") } else { (ctx.can_read, "storage:read") };
    if !allowed {
        return Err(StorageOpError::PermissionDenied(capability));
    }
    Ok(ctx.clone())
}

fn check_names(namespace: &str, key: Option<&str>) -> Result<(), StorageOpError> {
    match name_problem(namespace, key) {
        Some(problem) => Err(StorageOpError::Validation(problem)),
        None => Ok(()),
    }
}

/// What one store call needs of its context, owned so that the call can run on the server's
/// runtime: the store, the tenant, the extension and the namespace it acts in.
struct Scope {
    store: Arc<dyn KvStore>,
    tenant: TenantId,
    extension_id: uuid::Uuid,
    namespace: String,
}

impl Scope {
    fn key<'a>(&'a self, key: &'a str) -> StorageKey<'a> {
        StorageKey { extension_id: self.extension_id, namespace: &self.namespace, key }
    }
}

/// Runs the store call `call` builds from the context's [`Scope`] in `namespace`, on the
/// server's runtime within the tenant's share of the pool (see [`on_server`]).
async fn with_store<T: Send + 'static, F>(
    ctx: &StorageContext,
    op: &'static str,
    namespace: &str,
    call: impl FnOnce(Scope) -> F,
) -> Result<T, StorageOpError>
where
    F: std::future::Future<Output = alga_store::Result<T>> + Send + 'static,
{
    let scope = Scope { store: ctx.store.clone(), tenant: ctx.tenant.clone(), extension_id: ctx.extension_id, namespace: namespace.to_owned() };
    on_server(ctx, op, call(scope)).await
}

/// Runs a store call on the server's runtime within the tenant's share of the pool, and
/// waits for it here.
async fn on_server<T: Send + 'static>(
    ctx: &StorageContext,
    op: &'static str,
    work: impl std::future::Future<Output = alga_store::Result<T>> + Send + 'static,
) -> Result<T, StorageOpError> {
    let _permit = match &ctx.shares {
        Some(shares) => Some(shares.acquire(ctx.tenant.as_str()).await?),
        None => None,
    };
    run_on_server(ctx, op, work).await
}

/// Runs a store call on the server's runtime and waits for it here, holding no share (a
/// transaction's calls use the one it holds).
/// Every call is timed and counted by operation and outcome (`alga_storage_op_*` metrics).
async fn run_on_server<T: Send + 'static>(
    ctx: &StorageContext,
    op: &'static str,
    work: impl std::future::Future<Output = alga_store::Result<T>> + Send + 'static,
) -> Result<T, StorageOpError> {
    let started = std::time::Instant::now();
    let joined = ctx.spawner.spawn(work).await.map_err(|e| {
        tracing::error!(error = %e, "storage call did not complete on the server runtime");
        StorageOpError::Internal("storage operation failed")
    })?;
    let outcome = match &joined {
        Ok(_) => "ok",
        Err(alga_store::StoreError::RevisionMismatch { .. }) => "revision_mismatch",
        Err(alga_store::StoreError::QuotaExceeded { .. }) => "quota_exceeded",
        Err(alga_store::StoreError::Invalid { .. }) => "invalid",
        Err(alga_store::StoreError::Unavailable(_)) => "unavailable",
        Err(_) => "error",
    };
    metrics::histogram!("alga_storage_op_duration_seconds", "op" => op, "outcome" => outcome).record(started.elapsed().as_secs_f64());
    joined.map_err(|e| match e {
        alga_store::StoreError::Invalid { field, message } => StorageOpError::Validation(format!("{field}: {message}")),
        alga_store::StoreError::RevisionMismatch { expected, current } => StorageOpError::RevisionMismatch { expected, found: current },
        alga_store::StoreError::QuotaExceeded { keys, bytes, max_keys, max_bytes } => StorageOpError::QuotaExceeded(format!(
            "the write would bring storage to {keys} keys and {bytes} bytes; the limits are {max_keys} keys and {max_bytes} bytes"
        )),
        alga_store::StoreError::Unavailable(cause) => {
            // One line per failed call while the database is away: a warning, not an error,
            // since nothing is wrong with the call.
            tracing::warn!(error = %cause, "storage operation failed: the database cannot be reached");
            StorageOpError::StoreUnavailable
        }
        other => {
            tracing::error!(error = %other, "storage operation failed");
            StorageOpError::Internal("storage operation failed")
        }
    })
}

/// A stored value as JS sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    key: String,
    value: Value,
    revision: i64,
    expires_at: Option<String>,
    #[serde(skip)]
    expires_at_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<alga_store::StoredValue> for Entry {
    fn from(v: alga_store::StoredValue) -> Self {
        Entry { key: v.key, value: v.value, revision: v.revision, expires_at: v.expires_at.map(|t| t.to_rfc3339()), expires_at_time: v.expires_at }
    }
}

#[op2]
#[serde]
async fn op_storage_get(state: Rc<RefCell<OpState>>, #[string] namespace: String, #[string] key: String) -> Result<Option<Entry>, StorageOpError> {
    let ctx = context(&state, false)?;
    check_names(&namespace, Some(&key))?;
    let generation = ctx.cache.as_ref().map(|c| c.generation());
    let k = key.clone();
    let found = with_store(&ctx, "get", &namespace, |s| async move { s.store.storage_get(&s.tenant, s.key(&k)).await }).await?;
    let entry = found.map(|v| reveal(&ctx, &namespace, v)).transpose()?;
    if let (Some(cache), Some(generation)) = (&ctx.cache, generation) {
        let cached = entry.as_ref().map(|e| cache::CachedValue { value: e.value.clone(), revision: e.revision, expires_at: e.expires_at_time });
        cache.fill(generation, &ctx.cache_scope, &namespace, &key, cached);
    }
    Ok(entry)
}

/// A cached read, synchronous so a hit costs no trip through the event loop. Answers
/// `null` on a miss (then `op_storage_get` reads the store), `false` for a key known to be
/// absent, and `[value, revision, expiresAt]` for a hit (an array: cheaper to build).
#[op2]
#[serde]
fn op_storage_cached(state: &mut OpState, #[string] namespace: &str, #[string] key: &str) -> Result<CachedAnswer, StorageOpError> {
    let Some(ctx) = state.try_borrow::<StorageContext>() else { return Ok(CachedAnswer::Miss) };
    if !ctx.can_read {
        return Err(StorageOpError::PermissionDenied("storage:read"));
    }
    check_names(namespace, Some(key))?;
    let Some(cache) = &ctx.cache else { return Ok(CachedAnswer::Miss) };
    Ok(match cache.lookup(&ctx.cache_scope, namespace, key) {
        cache::Lookup::Miss(_) => CachedAnswer::Miss,
        cache::Lookup::Hit(found) => CachedAnswer::Hit(found),
    })
}

/// What `op_storage_cached` answers, serialized straight from the shared cache entry.
enum CachedAnswer {
    Miss,
    Hit(Arc<Option<cache::CachedValue>>),
}

impl Serialize for CachedAnswer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        match self {
            Self::Miss => serializer.serialize_none(),
            Self::Hit(found) => match found.as_ref() {
                None => serializer.serialize_bool(false),
                Some(v) => {
                    let mut t = serializer.serialize_tuple(3)?;
                    t.serialize_element(&v.value)?;
                    t.serialize_element(&v.revision)?;
                    t.serialize_element(&v.expires_at.map(|at| at.to_rfc3339()))?;
                    t.end()
                }
            },
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetArgs {
    ttl_seconds: Option<u64>,
    if_revision: Option<i64>,
    #[serde(default)]
    sensitive: bool,
}

impl SetArgs {
    fn options(self, ctx: &StorageContext) -> Result<SetOptions, StorageOpError> {
        if self.if_revision.is_some_and(|r| r < 0) {
            return Err(StorageOpError::Validation("ifRevision must be 0 or a revision".into()));
        }
        Ok(SetOptions { ttl_seconds: self.ttl_seconds, if_revision: self.if_revision, quota: Some(ctx.quota) })
    }
}

fn check_value(value: &Value) -> Result<(), StorageOpError> {
    if let Some(problem) = value_problem(value) {
        return Err(StorageOpError::Validation(problem));
    }
    let size = alga_store::json_size(value) as usize;
    if size > MAX_VALUE_BYTES {
        return Err(StorageOpError::QuotaExceeded(format!("value is {size} bytes; the limit is {MAX_VALUE_BYTES}")));
    }
    Ok(())
}

/// Refuses text the database cannot hold (NUL) in a query argument such as a prefix.
fn check_text(field: &str, text: Option<&str>) -> Result<(), StorageOpError> {
    match text.and_then(|t| text_problem(field, t)) {
        Some(problem) => Err(StorageOpError::Validation(problem)),
        None => Ok(()),
    }
}

/// Everything a single-key write checks before touching the database: the write grant,
/// names, value size and options (with the extension's quota).
fn prepare_write(
    state: &Rc<RefCell<OpState>>,
    namespace: &str,
    key: &str,
    value: Value,
    options: Option<SetArgs>,
) -> Result<(StorageContext, SetOptions, Value), StorageOpError> {
    let ctx = context(state, true)?;
    check_names(namespace, Some(key))?;
    check_value(&value)?;
    check_schema(&ctx, namespace, &value)?;
    let args = options.unwrap_or_default();
    let sensitive = args.sensitive;
    let options = args.options(&ctx)?;
    let value = to_store(&ctx, namespace, key, value, sensitive)?;
    Ok((ctx, options, value))
}

#[op2]
#[serde]
async fn op_storage_set(
    state: Rc<RefCell<OpState>>,
    #[string] namespace: String,
    #[string] key: String,
    #[serde] value: serde_json::Value,
    #[serde] options: Option<SetArgs>,
) -> Result<Entry, StorageOpError> {
    let (ctx, options, value) = prepare_write(&state, &namespace, &key, value, options)?;
    let k = key.clone();
    let stored = with_store(&ctx, "set", &namespace, |s| async move { s.store.storage_set(&s.tenant, s.key(&k), &value, options).await }).await;
    // Even a failed conditional write may have raced another: forget the key either way.
    ctx.forget(&namespace, &[&key]);
    let stored = stored?;
    wrote(&ctx);
    audit(&state, &ctx, "set", &namespace, &[(&key, stored.size_bytes)]);
    reveal(&ctx, &namespace, stored)
}

#[op2]
async fn op_storage_delete(state: Rc<RefCell<OpState>>, #[string] namespace: String, #[string] key: String) -> Result<bool, StorageOpError> {
    let ctx = context(&state, true)?;
    check_names(&namespace, Some(&key))?;
    let k = key.clone();
    let deleted = with_store(&ctx, "delete", &namespace, |s| async move { s.store.storage_delete(&s.tenant, s.key(&k)).await }).await;
    ctx.forget(&namespace, &[&key]);
    if matches!(deleted, Ok(true)) {
        audit(&state, &ctx, "delete", &namespace, &[(&key, 0)]);
    }
    deleted
}
