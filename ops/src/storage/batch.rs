//! Many keys at once: `getBatch`, `setBatch`, `deleteBatch` (at most `MAX_BATCH` keys, one
//! transaction each), `clear` and `count` of a namespace.

use std::cell::RefCell;
use std::rc::Rc;

use deno_core::{op2, OpState};

use super::{
    audit, check_names, check_schema, check_value, context, on_server, reveal_all, to_store, wrote, Entry, SetArgs, StorageOpError, MAX_BATCH,
};

fn check_batch(namespace: &str, keys: impl Iterator<Item = impl AsRef<str>>, len: usize) -> Result<(), StorageOpError> {
    if len > MAX_BATCH {
        return Err(StorageOpError::Validation(format!("batches hold at most {MAX_BATCH} keys, not {len}")));
    }
    check_names(namespace, None)?;
    for key in keys {
        check_names(namespace, Some(key.as_ref()))?;
    }
    Ok(())
}

#[op2]
#[serde]
pub(super) async fn op_storage_get_many(
    state: Rc<RefCell<OpState>>,
    #[string] namespace: String,
    #[serde] keys: Vec<String>,
) -> Result<Vec<Entry>, StorageOpError> {
    let ctx = context(&state, false)?;
    check_batch(&namespace, keys.iter(), keys.len())?;
    let (store, tenant, id) = (ctx.store.clone(), ctx.tenant.clone(), ctx.extension_id);
    let ns = namespace.clone();
    let found = on_server(&ctx, "get_many", async move { store.storage_get_many(&tenant, id, &ns, &keys).await }).await?;
    reveal_all(&ctx, &namespace, found)
}

#[op2]
#[serde]
pub(super) async fn op_storage_set_many(
    state: Rc<RefCell<OpState>>,
    #[string] namespace: String,
    #[serde] entries: Vec<(String, serde_json::Value)>,
    #[serde] options: Option<SetArgs>,
) -> Result<Vec<Entry>, StorageOpError> {
    let ctx = context(&state, true)?;
    check_batch(&namespace, entries.iter().map(|(k, _)| k), entries.len())?;
    for (_, value) in &entries {
        check_value(value)?;
        check_schema(&ctx, &namespace, value)?;
    }
    let args = options.unwrap_or_default();
    let sensitive = args.sensitive;
    let options = args.options(&ctx)?;
    let entries = entries
        .into_iter()
        .map(|(key, value)| Ok::<_, StorageOpError>((key.clone(), to_store(&ctx, &namespace, &key, value, sensitive)?)))
        .collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
    let (store, tenant, id, ns) = (ctx.store.clone(), ctx.tenant.clone(), ctx.extension_id, namespace.clone());
    let stored = on_server(&ctx, "set_many", async move { store.storage_set_many(&tenant, id, &ns, &entries, options).await }).await;
    ctx.forget(&namespace, &keys.iter().map(String::as_str).collect::<Vec<_>>());
    let stored = stored?;
    wrote(&ctx);
    audit(&state, &ctx, "set", &namespace, &stored.iter().map(|v| (v.key.as_str(), v.size_bytes)).collect::<Vec<_>>());
    reveal_all(&ctx, &namespace, stored)
}

#[op2]
#[bigint]
pub(super) async fn op_storage_delete_many(
    state: Rc<RefCell<OpState>>,
    #[string] namespace: String,
    #[serde] keys: Vec<String>,
) -> Result<u64, StorageOpError> {
    let ctx = context(&state, true)?;
    check_batch(&namespace, keys.iter(), keys.len())?;
    let (store, tenant, id, ns, ks) = (ctx.store.clone(), ctx.tenant.clone(), ctx.extension_id, namespace.clone(), keys.clone());
    let deleted = on_server(&ctx, "delete_many", async move { store.storage_delete_many(&tenant, id, &ns, &ks).await }).await;
    ctx.forget(&namespace, &keys.iter().map(String::as_str).collect::<Vec<_>>());
    if matches!(deleted, Ok(n) if n > 0) {
        audit(&state, &ctx, "delete", &namespace, &keys.iter().map(|k| (k.as_str(), 0)).collect::<Vec<_>>());
    }
    deleted
}

#[op2]
#[bigint]
pub(super) async fn op_storage_clear(state: Rc<RefCell<OpState>>, #[string] namespace: String) -> Result<u64, StorageOpError> {
    let ctx = context(&state, true)?;
    check_names(&namespace, None)?;
    let (store, tenant, id, ns) = (ctx.store.clone(), ctx.tenant.clone(), ctx.extension_id, namespace.clone());
    let cleared = on_server(&ctx, "clear", async move { store.storage_clear(&tenant, id, &ns).await }).await;
    if let Some(cache) = &ctx.cache {
        cache.invalidate_namespace(&ctx.cache_scope, &namespace);
    }
    if matches!(cleared, Ok(n) if n > 0) {
        audit(&state, &ctx, "clear", &namespace, &[("", 0)]);
    }
    cleared
}

#[op2]
#[bigint]
pub(super) async fn op_storage_count(state: Rc<RefCell<OpState>>, #[string] namespace: String) -> Result<u64, StorageOpError> {
    let ctx = context(&state, false)?;
    check_names(&namespace, None)?;
    let (store, tenant, id) = (ctx.store.clone(), ctx.tenant.clone(), ctx.extension_id);
    on_server(&ctx, "count", async move { store.storage_count(&tenant, id, &namespace).await }).await
}
