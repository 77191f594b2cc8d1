//! The storage write audit: committed writes are queued here and appended in batches on
//! the server runtime, off the request path. The queue is bounded; if the database cannot
//! keep up, entries are dropped and counted (`alga_storage_audit_dropped_total`) rather
//! than slowing every write or growing memory without bound.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alga_store::{KvStore, StorageAuditEntry, TenantId};
use tokio::sync::{mpsc, oneshot};

/// Entries that may wait for the writer.
const QUEUE: usize = 10_000;
/// Most entries written in one statement.
const BATCH: usize = 500;
/// How long the writer gathers entries after the first of a batch arrives.
const GATHER: Duration = Duration::from_millis(50);

enum Message {
    Entry(TenantId, StorageAuditEntry),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

pub struct AuditSink {
    queue: mpsc::Sender<Message>,
}

impl AuditSink {
    /// Starts the writer on `runtime`.
    pub fn start(store: Arc<dyn KvStore>, runtime: &tokio::runtime::Handle) -> Arc<Self> {
        let (queue, incoming) = mpsc::channel(QUEUE);
        runtime.spawn(write_batches(store, incoming));
        Arc::new(Self { queue })
    }

    pub fn record(&self, tenant: &TenantId, entry: StorageAuditEntry) {
        if self.queue.try_send(Message::Entry(tenant.clone(), entry)).is_err() {
            metrics::counter!("alga_storage_audit_dropped_total").increment(1);
            tracing::warn!(tenant = %tenant, "storage audit queue full; an entry was dropped");
        }
    }

    /// Waits until everything recorded so far is written (for tests and shutdown).
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn write_batches(store: Arc<dyn KvStore>, mut incoming: mpsc::Receiver<Message>) {
    while let Some(first) = incoming.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + GATHER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, incoming.recv()).await {
                Ok(Some(message)) => {
                    let flush = matches!(message, Message::Flush(_));
                    batch.push(message);
                    if flush {
                        break;
                    }
                }
                _ => break,
            }
        }
        let mut by_tenant: HashMap<TenantId, Vec<StorageAuditEntry>> = HashMap::new();
        let mut waiting = Vec::new();
        for message in batch {
            match message {
                Message::Entry(tenant, entry) => by_tenant.entry(tenant).or_default().push(entry),
                Message::Flush(done) => waiting.push(done),
            }
        }
        for (tenant, entries) in by_tenant {
            if let Err(e) = store.append_storage_audit(&tenant, &entries).await {
                metrics::counter!("alga_storage_audit_dropped_total").increment(entries.len() as u64);
                tracing::error!(tenant = %tenant, error = %e, lost = entries.len(), "cannot write the storage audit");
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}
