//! Reading many values: `list` (by key order and prefix), `search` (by JSON fields) and
//! `history` (earlier revisions of one key), a page at a time.

use std::cell::RefCell;
use std::rc::Rc;

use alga_store::ListQuery;
use deno_core::{op2, OpState};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{check_names, check_text, context, reveal_all, seal, with_store, Entry, StorageOpError};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListArgs {
    prefix: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Serialize)]
struct Page {
    items: Vec<Entry>,
    cursor: Option<String>,
}

/// The page size of `list` and `search`: 100 unless given, at most 100.
fn page_limit(limit: Option<u32>) -> Result<u32, StorageOpError> {
    let value = limit.unwrap_or(100);
    if !(1..=100).contains(&value) {
        return Err(StorageOpError::Validation(format!("limit {value} is outside 1..=100")));
    }
    Ok(value)
}

#[op2]
#[serde]
pub(super) async fn op_storage_list(
    state: Rc<RefCell<OpState>>,
    #[string] namespace: String,
    #[serde] options: Option<ListArgs>,
) -> Result<Page, StorageOpError> {
    let ctx = context(&state, false)?;
    check_names(&namespace, None)?;
    let options = options.unwrap_or_default();
    let limit = page_limit(options.limit)?;
    check_text("prefix", options.prefix.as_deref())?;
    check_text("cursor", options.cursor.as_deref())?;
    let (prefix, after) = (options.prefix.unwrap_or_default(), options.cursor);
    let items = with_store(&ctx, "list", &namespace, |s| async move {
        s.store.storage_list(&s.tenant, s.extension_id, &s.namespace, ListQuery { prefix: &prefix, after: after.as_deref(), limit }).await
    })
    .await?;
    // A full page may have more behind it; the cursor is the last key (keys are unique).
    let cursor = (items.len() == limit as usize).then(|| items.last().map(|v| v.key.clone())).flatten();
    Ok(Page { items: reveal_all(&ctx, &namespace, items)?, cursor })
}

/// An earlier revision as JS sees it (opened when it was sealed).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Revision {
    revision: i64,
    value: Value,
    written_at: String,
}

/// The earlier revisions of a key, newest first (at most 10 are kept).
#[op2]
#[serde]
pub(super) async fn op_storage_history(
    state: Rc<RefCell<OpState>>,
    #[string] namespace: String,
    #[string] key: String,
    limit: Option<u32>,
) -> Result<Vec<Revision>, StorageOpError> {
    let ctx = context(&state, false)?;
    check_names(&namespace, Some(&key))?;
    let limit = limit.unwrap_or(alga_store::HISTORY_KEPT);
    if !(1..=alga_store::HISTORY_KEPT).contains(&limit) {
        return Err(StorageOpError::Validation(format!("limit {limit} is outside 1..={}", alga_store::HISTORY_KEPT)));
    }
    let k = key.clone();
    let found = with_store(&ctx, "history", &namespace, |s| async move { s.store.storage_history(&s.tenant, s.key(&k), limit).await }).await?;
    let aad = seal::storage_aad(ctx.tenant.as_str(), &ctx.extension_id, &namespace, &key);
    found
        .into_iter()
        .map(|h| {
            let value = match (&ctx.sealer, seal::is_sealed(&h.value)) {
                (_, false) => h.value,
                (Some(sealer), true) => sealer.open(&h.value, &aad).map_err(|e| StorageOpError::DecryptionFailed(format!("{key}: {e}")))?,
                (None, true) => return Err(StorageOpError::DecryptionFailed("this runtime has no encryption keys (--encryption-keys)".into())),
            };
            Ok(Revision { revision: h.revision, value, written_at: h.written_at.to_rfc3339() })
        })
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    cursor: Option<String>,
    limit: Option<u32>,
}

/// Values of one namespace matching every filter, a page at a time in key order.
#[op2]
#[serde]
pub(super) async fn op_storage_search(
    state: Rc<RefCell<OpState>>,
    #[string] namespace: String,
    #[serde] filters: Vec<alga_store::checks::FilterArg>,
    #[serde] options: Option<SearchArgs>,
) -> Result<Page, StorageOpError> {
    let ctx = context(&state, false)?;
    check_names(&namespace, None)?;
    let options = options.unwrap_or_default();
    let limit = page_limit(options.limit)?;
    check_text("cursor", options.cursor.as_deref())?;
    let filters = alga_store::checks::parse_filters(filters).map_err(StorageOpError::Validation)?;
    let after = options.cursor;
    let items = with_store(&ctx, "search", &namespace, |s| async move {
        s.store.storage_search(&s.tenant, s.extension_id, &s.namespace, &filters, after.as_deref(), limit).await
    })
    .await?;
    let cursor = (items.len() == limit as usize).then(|| items.last().map(|v| v.key.clone())).flatten();
    Ok(Page { items: reveal_all(&ctx, &namespace, items)?, cursor })
}
