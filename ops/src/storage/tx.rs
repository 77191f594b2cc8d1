//! Storage transactions (`ctx.storage.transaction`): begun only while a call — a request or
//! a lifecycle hook — runs, counted against the isolate's cap from the moment they are asked
//! for, rolled back by Rust when their call ends and when they pass their maximum duration.
//!
//! A transaction holds a database connection (and on SQLite the single write lock), so one
//! left open is a lock every tenant may wait on: none may outlive the bound, whatever the
//! extension's JavaScript does or fails to do.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alga_store::StorageTx;
use deno_core::{op2, OpState};
use tokio::sync::OwnedSemaphorePermit;

use super::{audit_entry, context, prepare_write, reveal, run_on_server as on_server, wrote, Entry, SetArgs, StorageContext, StorageOpError};

/// Most transactions one isolate may hold open at once, begins in flight included.
pub const MAX_OPEN_TRANSACTIONS: usize = 4;

/// How long a transaction may stay open unless the runtime is told otherwise.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(5);

/// Whether a call runs in the isolate, and which one: odd while a call runs, bumped at its
/// start and its end. Shared with the server runtime, so a begin that completes after its
/// call ended sees it there and rolls back at once, holding no lock meanwhile.
#[derive(Debug, Default, Clone)]
struct CallScope(Arc<AtomicU64>);

impl CallScope {
    fn of(state: &mut OpState) -> Arc<AtomicU64> {
        if !state.has::<CallScope>() {
            state.put(CallScope::default());
        }
        state.borrow::<CallScope>().0.clone()
    }
}

fn is_active(epoch: u64) -> bool {
    epoch % 2 == 1
}

/// A store transaction with the connection share it holds.
type Held = (Box<dyn StorageTx>, Option<OwnedSemaphorePermit>);

/// One open transaction. The store transaction and the connection share it holds are taken
/// together by whoever ends it first: the extension, the end of the call, or the reaper.
struct TxSlot {
    tx: tokio::sync::Mutex<Option<Held>>,
    /// The reaper rolled it back at its maximum duration.
    expired: AtomicBool,
}

struct Open {
    slot: Arc<TxSlot>,
    reaper: tokio::task::JoinHandle<()>,
    /// Audit entries, recorded only if it commits.
    audit: Vec<alga_store::StorageAuditEntry>,
}

/// The isolate's open transactions, by id.
#[derive(Default)]
struct OpenTransactions {
    next: u32,
    open: HashMap<u32, Open>,
    /// Begins still waiting for the database; they count against the cap.
    pending: usize,
}

/// Marks the start of a call (request or lifecycle hook): transactions may begin until it ends.
pub fn call_started(state: &mut OpState) {
    let epoch = CallScope::of(state);
    if !is_active(epoch.load(Ordering::SeqCst)) {
        epoch.fetch_add(1, Ordering::SeqCst);
    }
}

/// Marks the end of a call. Returns the rollback of whatever it left open, which the runtime
/// awaits before it answers; `None` when nothing is open (the common case costs no await).
pub fn call_ended(state: &Rc<RefCell<OpState>>) -> Option<impl std::future::Future<Output = ()>> {
    let mut state = state.borrow_mut();
    let epoch = CallScope::of(&mut state);
    if is_active(epoch.load(Ordering::SeqCst)) {
        // Begins of the ended call still waiting for the database will not register.
        epoch.fetch_add(1, Ordering::SeqCst);
    }
    if let Some(txs) = state.try_borrow_mut::<OpenTransactions>() {
        txs.pending = 0;
    }
    let left: Vec<Open> = state.try_borrow_mut::<OpenTransactions>().map(|t| t.open.drain().map(|(_, o)| o).collect()).unwrap_or_default();
    if left.is_empty() {
        return None;
    }
    let ctx = state.try_borrow::<StorageContext>().cloned()?;
    Some(async move {
        for open in left {
            open.reaper.abort();
            // Rolled back: its changes never happened, so nothing is audited.
            let slot = open.slot;
            let rolled = on_server(&ctx, "tx_abandoned", async move {
                match slot.tx.lock().await.take() {
                    Some((tx, _permit)) => tx.rollback().await,
                    None => Ok(()),
                }
            })
            .await;
            if let Err(e) = rolled {
                tracing::warn!(error = %e, "cannot roll back a transaction left open by a call");
            }
        }
    })
}

fn slot(state: &Rc<RefCell<OpState>>, id: u32) -> Result<Arc<TxSlot>, StorageOpError> {
    let state = state.borrow();
    state
        .try_borrow::<OpenTransactions>()
        .and_then(|t| t.open.get(&id).map(|o| o.slot.clone()))
        .ok_or(StorageOpError::TransactionClosed("the transaction has already ended"))
}

fn expired_error(ctx: &StorageContext) -> StorageOpError {
    StorageOpError::TransactionExpired { max_ms: ctx.tx_max_duration.as_millis() as u64 }
}

/// Gives back a begin's place in the cap however the begin ends, unless its call ended
/// first (the count was reset then).
struct PendingBegin<'a> {
    state: &'a Rc<RefCell<OpState>>,
    epoch: Arc<AtomicU64>,
    began_in: u64,
}

impl Drop for PendingBegin<'_> {
    fn drop(&mut self) {
        if self.epoch.load(Ordering::SeqCst) != self.began_in {
            return;
        }
        if let Some(txs) = self.state.borrow_mut().try_borrow_mut::<OpenTransactions>() {
            txs.pending = txs.pending.saturating_sub(1);
        }
    }
}

#[op2]
pub async fn op_storage_tx_begin(state: Rc<RefCell<OpState>>) -> Result<u32, StorageOpError> {
    let ctx = context(&state, true)?;
    let epoch = CallScope::of(&mut state.borrow_mut());
    let began_in = epoch.load(Ordering::SeqCst);
    if !is_active(began_in) {
        return Err(StorageOpError::TransactionOutsideCall);
    }
    {
        let mut state = state.borrow_mut();
        if !state.has::<OpenTransactions>() {
            state.put(OpenTransactions::default());
        }
        let txs = state.borrow_mut::<OpenTransactions>();
        if txs.open.len() + txs.pending >= MAX_OPEN_TRANSACTIONS {
            return Err(StorageOpError::QuotaExceeded(format!("at most {MAX_OPEN_TRANSACTIONS} transactions may be open at once")));
        }
        txs.pending += 1;
    }
    let pending = PendingBegin { state: &state, epoch: epoch.clone(), began_in };
    let permit = match &ctx.shares {
        Some(shares) => Some(shares.acquire(ctx.tenant.as_str()).await?),
        None => None,
    };
    let (store, tenant, id, current) = (ctx.store.clone(), ctx.tenant.clone(), ctx.extension_id, epoch.clone());
    let begun = on_server(&ctx, "tx_begin", async move {
        let tx = store.begin_storage_tx(&tenant, id).await?;
        if current.load(Ordering::SeqCst) == began_in {
            return Ok(Some(tx));
        }
        // Its call ended while the database was answering: nobody may hold it now.
        tx.rollback().await?;
        Ok(None)
    })
    .await?;
    drop(pending);
    let closed = || StorageOpError::TransactionClosed("the call that began this transaction has ended");
    let tx = begun.ok_or_else(closed)?;
    if epoch.load(Ordering::SeqCst) != began_in {
        // Explicitly: a dropped SQLite transaction keeps the write lock until its connection
        // is used again.
        let _ = on_server(&ctx, "tx_abandoned", async move { tx.rollback().await }).await;
        return Err(closed());
    }
    let slot = Arc::new(TxSlot { tx: tokio::sync::Mutex::new(Some((tx, permit))), expired: AtomicBool::new(false) });
    let reaper = {
        let (slot, max, tenant, extension) = (slot.clone(), ctx.tx_max_duration, ctx.tenant.clone(), ctx.extension_id);
        ctx.spawner.spawn(async move {
            tokio::time::sleep(max).await;
            let taken = slot.tx.lock().await.take();
            if let Some((tx, _permit)) = taken {
                slot.expired.store(true, Ordering::SeqCst);
                if let Err(e) = tx.rollback().await {
                    tracing::warn!(%tenant, %extension, error = %e, "cannot roll back an expired transaction");
                }
                tracing::warn!(%tenant, %extension, max_ms = max.as_millis() as u64, "a storage transaction passed its maximum duration and was rolled back");
            }
        })
    };
    let mut state = state.borrow_mut();
    let txs = state.borrow_mut::<OpenTransactions>();
    txs.next = txs.next.wrapping_add(1);
    let tx_id = txs.next;
    txs.open.insert(tx_id, Open { slot, reaper, audit: Vec::new() });
    Ok(tx_id)
}

/// Runs `work` with the transaction on the server runtime.
async fn with_tx<T: Send + 'static>(
    state: &Rc<RefCell<OpState>>,
    tx_id: u32,
    work: impl for<'a> FnOnce(&'a mut Box<dyn StorageTx>) -> std::pin::Pin<Box<dyn std::future::Future<Output = alga_store::Result<T>> + Send + 'a>>
        + Send
        + 'static,
) -> Result<T, StorageOpError> {
    let ctx = context(state, false)?;
    let slot = slot(state, tx_id)?;
    let running = slot.clone();
    let done = on_server(&ctx, "tx_op", async move {
        let mut guard = running.tx.lock().await;
        match guard.as_mut() {
            Some((tx, _)) => work(tx).await.map(Some),
            None => Ok(None),
        }
    })
    .await?;
    match done {
        Some(value) => Ok(value),
        None if slot.expired.load(Ordering::SeqCst) => Err(expired_error(&ctx)),
        None => Err(StorageOpError::TransactionClosed("the transaction has already ended")),
    }
}

#[op2]
#[serde]
pub async fn op_storage_tx_get(
    state: Rc<RefCell<OpState>>,
    tx_id: u32,
    #[string] namespace: String,
    #[string] key: String,
) -> Result<Option<Entry>, StorageOpError> {
    let ctx = context(&state, false)?;
    super::check_names(&namespace, Some(&key))?;
    let ns = namespace.clone();
    let found = with_tx(&state, tx_id, move |tx| Box::pin(async move { tx.get(&ns, &key).await })).await?;
    found.map(|v| reveal(&ctx, &namespace, v)).transpose()
}

#[op2]
#[serde]
pub async fn op_storage_tx_set(
    state: Rc<RefCell<OpState>>,
    tx_id: u32,
    #[string] namespace: String,
    #[string] key: String,
    #[serde] value: serde_json::Value,
    #[serde] options: Option<SetArgs>,
) -> Result<Entry, StorageOpError> {
    let (ctx, options, value) = prepare_write(&state, &namespace, &key, value, options)?;
    let ns = namespace.clone();
    let stored = with_tx(&state, tx_id, move |tx| Box::pin(async move { tx.set(&ns, &key, &value, options).await })).await?;
    let entry = audit_entry(&state, &ctx, "set", &namespace, &stored.key, stored.size_bytes);
    pend_audit(&state, tx_id, entry);
    reveal(&ctx, &namespace, stored)
}

#[op2]
pub async fn op_storage_tx_delete(
    state: Rc<RefCell<OpState>>,
    tx_id: u32,
    #[string] namespace: String,
    #[string] key: String,
) -> Result<bool, StorageOpError> {
    let ctx = context(&state, true)?;
    super::check_names(&namespace, Some(&key))?;
    let (ns, k) = (namespace.clone(), key.clone());
    let deleted = with_tx(&state, tx_id, move |tx| Box::pin(async move { tx.delete(&ns, &k).await })).await?;
    if deleted {
        let entry = audit_entry(&state, &ctx, "delete", &namespace, &key, 0);
        pend_audit(&state, tx_id, entry);
    }
    Ok(deleted)
}

/// Holds an audit entry until its transaction ends: recorded on commit, dropped on rollback.
fn pend_audit(state: &Rc<RefCell<OpState>>, tx_id: u32, entry: alga_store::StorageAuditEntry) {
    if let Some(open) = state.borrow_mut().try_borrow_mut::<OpenTransactions>().and_then(|t| t.open.get_mut(&tx_id)) {
        open.audit.push(entry);
    }
}

#[op2]
pub async fn op_storage_tx_end(state: Rc<RefCell<OpState>>, tx_id: u32, commit: bool) -> Result<(), StorageOpError> {
    let ctx = context(&state, false)?;
    let open = state.borrow_mut().try_borrow_mut::<OpenTransactions>().and_then(|t| t.open.remove(&tx_id));
    let open = open.ok_or(StorageOpError::TransactionClosed("the transaction has already ended"))?;
    open.reaper.abort();
    let slot = open.slot.clone();
    let ended = on_server(&ctx, "tx_end", async move {
        let Some((tx, _permit)) = slot.tx.lock().await.take() else { return Ok(false) };
        if commit {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(true)
    })
    .await?;
    if !ended {
        return match (commit, open.slot.expired.load(Ordering::SeqCst)) {
            (true, true) => Err(expired_error(&ctx)),
            (true, false) => Err(StorageOpError::TransactionClosed("the transaction has already ended")),
            (false, _) => Ok(()),
        };
    }
    if commit {
        if let Some(cache) = &ctx.cache {
            cache.invalidate_extension(&ctx.cache_scope);
        }
        wrote(&ctx);
        if let Some(sink) = &ctx.audit {
            for entry in open.audit {
                sink.record(&ctx.tenant, entry);
            }
        }
    }
    Ok(())
}

/// A share of the database pool per tenant: storage calls of one tenant's isolates wait
/// for one of its permits, so no tenant can take every connection (transactions hold theirs
/// until they end). Semaphores exist while a permit of theirs is held, and are made anew
/// after, so the table holds only tenants with calls in flight.
pub struct TenantShares {
    per_tenant: usize,
    wait: Duration,
    semaphores: std::sync::Mutex<HashMap<String, std::sync::Weak<tokio::sync::Semaphore>>>,
}

impl TenantShares {
    /// `per_tenant` connections at most for each tenant; a call waits up to `wait` for one.
    pub fn new(per_tenant: usize, wait: Duration) -> Arc<Self> {
        Arc::new(Self { per_tenant: per_tenant.max(1), wait, semaphores: Default::default() })
    }

    fn semaphore(&self, tenant: &str) -> Arc<tokio::sync::Semaphore> {
        let mut map = self.semaphores.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(live) = map.get(tenant).and_then(std::sync::Weak::upgrade) {
            return live;
        }
        if map.len() >= 1024 {
            map.retain(|_, weak| weak.strong_count() > 0);
        }
        let fresh = Arc::new(tokio::sync::Semaphore::new(self.per_tenant));
        map.insert(tenant.to_owned(), Arc::downgrade(&fresh));
        fresh
    }

    /// A permit of `tenant`'s share, or `BUSY` once `wait` has passed without one.
    pub async fn acquire(&self, tenant: &str) -> Result<OwnedSemaphorePermit, StorageOpError> {
        let semaphore = self.semaphore(tenant);
        match tokio::time::timeout(self.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(StorageOpError::Busy(format!(
                "this tenant's {} database connections stayed busy for {} ms",
                self.per_tenant,
                self.wait.as_millis()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TenantShares;
    use std::time::Duration;

    #[tokio::test]
    async fn a_tenant_waits_for_its_own_share_only() {
        let shares = TenantShares::new(2, Duration::from_millis(50));
        let a1 = shares.acquire("a").await.unwrap();
        let _a2 = shares.acquire("a").await.unwrap();
        assert!(shares.acquire("a").await.is_err(), "a third permit of a waits and gives up");
        assert!(shares.acquire("b").await.is_ok(), "another tenant is not held up");
        drop(a1);
        assert!(shares.acquire("a").await.is_ok());
    }
}
