//! An isolate on its own thread with a `current_thread` tokio runtime, fed requests over a
//! bounded channel. Requests run one at a time, so CPU time is always the request's own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use alga_bundle::Files;
use alga_ops::ExtensionIdentity;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{HandlerResponse, Isolate, IsolateError, IsolateLimits};

/// One handler call: the export to call, the request as the handler sees it, and the
/// context data (tenant, user, extension, settings, permissions).
#[derive(Debug, Clone)]
pub struct Invocation {
    pub handler: String,
    pub request: Value,
    pub ctx: Value,
    /// Pages may answer with a bare HTML string.
    pub is_page: bool,
}

struct Job {
    invocation: Invocation,
    reply: oneshot::Sender<Result<HandlerResponse, IsolateError>>,
}

/// The sending side of a live isolate. Dropping the last handle lets the isolate finish
/// what is queued and exit.
pub struct IsolateHandle {
    jobs: mpsc::Sender<Job>,
    retired: Arc<AtomicBool>,
    queue_depth: usize,
}

/// Stack for isolate threads: V8 sizes its JS stack limit below what the thread has.
const ISOLATE_STACK_BYTES: usize = 8 * 1024 * 1024;

impl IsolateHandle {
    /// Starts a thread, builds the isolate there and evaluates the main module; returns once
    /// it is ready to serve, or with the error that prevented it.
    pub async fn start(
        identity: ExtensionIdentity,
        limits: IsolateLimits,
        files: Arc<Files>,
        main: String,
        storage: Option<alga_ops::storage::StorageContext>,
    ) -> Result<Self, IsolateError> {
        let (jobs, queue) = mpsc::channel(limits.queue_depth.max(1));
        let (ready_tx, ready_rx) = oneshot::channel();
        let retired = Arc::new(AtomicBool::new(false));
        let retired_flag = retired.clone();
        let name = format!("isolate:{}:{}", identity.tenant, identity.extension);
        std::thread::Builder::new()
            .name(name.chars().take(60).collect())
            .stack_size(ISOLATE_STACK_BYTES)
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(IsolateError::Script(format!("cannot start the isolate thread's runtime: {e}"))));
                        return;
                    }
                };
                runtime.block_on(serve(identity, limits, files, main, storage, queue, ready_tx, retired_flag));
            })
            .map_err(|e| IsolateError::Script(format!("cannot start an isolate thread: {e}")))?;
        ready_rx.await.unwrap_or(Err(IsolateError::Discarded))?;
        Ok(Self { jobs, retired, queue_depth: limits.queue_depth })
    }

    /// Whether new requests should go to a fresh isolate instead.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::SeqCst) || self.jobs.is_closed()
    }

    /// Queues a call and waits for its answer; refuses at once when the queue is full.
    pub async fn call(&self, invocation: Invocation) -> Result<HandlerResponse, IsolateError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.try_send(Job { invocation, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => IsolateError::Overloaded { queued: self.queue_depth },
            mpsc::error::TrySendError::Closed(_) => IsolateError::Discarded,
        })?;
        answer.await.unwrap_or(Err(IsolateError::Discarded))
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    identity: ExtensionIdentity,
    limits: IsolateLimits,
    files: Arc<Files>,
    main: String,
    storage: Option<alga_ops::storage::StorageContext>,
    mut queue: mpsc::Receiver<Job>,
    ready: oneshot::Sender<Result<(), IsolateError>>,
    retired: Arc<AtomicBool>,
) {
    let span = tracing::info_span!("isolate", tenant = %identity.tenant, extension = %identity.extension);
    let _entered = span.enter();
    let mut isolate = match Isolate::new(identity, limits, Some(files), storage) {
        Ok(isolate) => isolate,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    if let Err(e) = isolate.load_main(&main).await {
        let _ = ready.send(Err(e));
        return;
    }
    let _ = ready.send(Ok(()));
    while let Some(job) = queue.recv().await {
        if isolate.is_poisoned() {
            // Requests queued behind the one that broke the isolate never reach it.
            let _ = job.reply.send(Err(IsolateError::Discarded));
            continue;
        }
        let started = std::time::Instant::now();
        let outcome = isolate.invoke(&job.invocation).await;
        tracing::debug!(handler = %job.invocation.handler, elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, ok = outcome.is_ok(), "isolate call");
        // Retire before answering, so the caller's next request already sees it.
        if isolate.is_poisoned() {
            tracing::warn!("isolate terminated by a limit; discarding it");
            retired.store(true, Ordering::SeqCst);
            queue.close();
        } else if isolate.soft_limit_hit() && !retired.swap(true, Ordering::SeqCst) {
            tracing::info!("isolate passed the soft CPU limit; retiring it once drained");
        }
        let _ = job.reply.send(outcome);
    }
}
