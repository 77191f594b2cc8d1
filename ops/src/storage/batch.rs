//! Many keys at once: `getBatch`, `setBatch`, `deleteBatch` (at most `MAX_BATCH` keys, one
//! transaction each), `clear` and `count` of a namespace.

use std::cell::RefCell;
use std::rc::Rc;

use deno_core::{op2, OpState};

use super::{
    audit, check_names, check_schema, check_value, context, reveal_all, to_store, with_store, wrote, Entry, SetArgs, StorageOpError, MAX_BATCH,
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
    let found =
        with_store(&ctx, "get_many", &namespace, |s| async move { s.store.storage_get_many(&s.tenant, s.extension_id, &s.namespace, &keys).await })
            .await?;
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
    let stored = with_store(&ctx, "set_many", &namespace, |s| async move {
        s.store.storage_set_many(&s.tenant, s.extension_id, &s.namespace, &entries, options).await
    })
    .await;
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
    let ks = keys.clone();
    let deleted =
        with_store(
            &ctx,
            "delete_many",
            &namespace,
            |s| async move { s.store.storage_delete_many(&s.tenant, s.extension_id, &s.namespace, &ks).await },
        )
        .await;
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
    let cleared =
        with_store(&ctx, "clear", &namespace, |s| async move { s.store.storage_clear(&s.tenant, s.extension_id, &s.namespace).await }).await;
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
    with_store(&ctx, "count", &namespace, |s| async move { s.store.storage_count(&s.tenant, s.extension_id, &s.namespace).await }).await
}
