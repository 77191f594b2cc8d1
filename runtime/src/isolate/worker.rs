//! An isolate on its own thread with a `current_thread` tokio runtime, fed requests over a
//! bounded channel. Requests run one at a time, so CPU time is always the request's own.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use alga_bundle::Files;
use alga_ops::ExtensionIdentity;
use tokio::sync::{mpsc, oneshot};

use super::{Blank, HandlerResponse, Invocation, Isolate, IsolateError, IsolateLimits, Services};

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
    /// Calls queued or running now.
    in_flight: AtomicUsize,
    /// When a call last arrived, in ms since `EPOCH`: the pool's least-recently-used order.
    last_used_ms: AtomicU64,
    /// The share of the pool's memory budget this isolate holds, given back when it goes.
    reservation: std::sync::Mutex<Option<Reservation>>,
}

/// Bytes of a memory budget held by one isolate; dropping it gives them back.
pub struct Reservation {
    budget: Arc<AtomicUsize>,
    bytes: usize,
}

impl Reservation {
    /// Takes `bytes` from `used` if that stays within `limit`.
    pub fn take(used: &Arc<AtomicUsize>, bytes: usize, limit: usize) -> Option<Self> {
        used.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| now.checked_add(bytes).filter(|total| *total <= limit)).ok()?;
        Some(Self { budget: used.clone(), bytes })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The pool's clock for least-recently-used order.
static EPOCH: std::sync::LazyLock<std::time::Instant> = std::sync::LazyLock::new(std::time::Instant::now);

fn now_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64
}

/// Isolate starts that run at once: one per core. A burst of first requests to many
/// extensions then completes in waves of that many, each start taking its usual couple of
/// milliseconds, instead of every start sharing the cores with all the others (and faulting
/// in its own thread's memory meanwhile) so that all of them finish late together.
static START_TURNS: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Longest a start keeps its turn: a module that evaluates slowly (up to its own limit)
/// must not hold up other tenants' starts behind it.
const START_TURN: std::time::Duration = std::time::Duration::from_millis(20);

impl IsolateHandle {
    /// Starts a thread, builds the isolate there and evaluates the main module; returns once
    /// it is ready to serve, or with the error that prevented it.
    pub async fn start(
        identity: ExtensionIdentity,
        limits: IsolateLimits,
        files: Arc<Files>,
        main: String,
        services: Services,
    ) -> Result<Self, IsolateError> {
        let (jobs, queue) = mpsc::channel(limits.queue_depth.max(1));
        let (ready_tx, mut ready_rx) = oneshot::channel();
        // The semaphore is never closed; were it, the start would simply not wait its turn.
        let turn = START_TURNS.acquire().await.ok();
        let retired = Arc::new(AtomicBool::new(false));
        let retired_flag = retired.clone();
        super::threads::run(Box::new(move |prepared| {
            let taken = prepared.and_then(|p| p.take_if_fits(&limits));
            let from = if taken.is_some() { "blank" } else { "snapshot" };
            metrics::counter!("alga_isolate_starts_total", "from" => from).increment(1);
            let (runtime, blank) = match taken {
                Some((runtime, blank)) => (runtime, Some(blank)),
                None => match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => (runtime, None),
                    Err(e) => {
                        let _ = ready_tx.send(Err(IsolateError::Script(format!("cannot start the isolate thread's runtime: {e}"))));
                        return;
                    }
                },
            };
            runtime.block_on(serve(identity, limits, files, main, services, blank, queue, ready_tx, retired_flag));
        }))
        .map_err(|e| IsolateError::Script(format!("cannot start an isolate thread: {e}")))?;
        let ready = tokio::select! {
            ready = &mut ready_rx => Some(ready),
            () = tokio::time::sleep(START_TURN) => None,
        };
        drop(turn);
        let ready = match ready {
            Some(ready) => ready,
            None => ready_rx.await,
        };
        ready.unwrap_or(Err(IsolateError::Discarded))?;
        Ok(Self {
            jobs,
            retired,
            queue_depth: limits.queue_depth,
            in_flight: AtomicUsize::new(0),
            last_used_ms: AtomicU64::new(now_ms()),
            reservation: std::sync::Mutex::new(None),
        })
    }

    /// Holds `reservation` for as long as this isolate lives (or until `release`).
    pub fn hold(&self, reservation: Reservation) {
        *self.reservation.lock().unwrap_or_else(|e| e.into_inner()) = Some(reservation);
    }

    /// Gives the reservation back now: the isolate is leaving the pool.
    pub fn release(&self) {
        self.reservation.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    /// Whether no call is queued or running.
    pub fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0
    }

    /// When a call last arrived (ms on the pool's clock).
    pub fn last_used(&self) -> u64 {
        self.last_used_ms.load(Ordering::Relaxed)
    }

    /// Whether new requests should go to a fresh isolate instead.
    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::SeqCst) || self.jobs.is_closed()
    }

    /// Queues a call and waits for its answer; refuses at once when the queue is full.
    pub async fn call(&self, invocation: Invocation) -> Result<HandlerResponse, IsolateError> {
        self.last_used_ms.store(now_ms(), Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        // Counted down however the call ends, its caller going away included.
        let _in_flight = InFlight(&self.in_flight);
        self.call_inner(invocation).await
    }

    async fn call_inner(&self, invocation: Invocation) -> Result<HandlerResponse, IsolateError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.try_send(Job { invocation, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => IsolateError::Overloaded { queued: self.queue_depth },
            mpsc::error::TrySendError::Closed(_) => IsolateError::Discarded,
        })?;
        answer.await.unwrap_or(Err(IsolateError::Discarded))
    }
}

/// How long an isolate thread keeps looking for its next request before it sleeps. Under
/// load the next one is rarely further away, and waking a sleeping thread costs two
/// syscalls and a context switch per request.
const SPIN: std::time::Duration = std::time::Duration::from_micros(30);

fn next_soon(queue: &mut mpsc::Receiver<Job>) -> Result<Job, mpsc::error::TryRecvError> {
    let until = std::time::Instant::now() + SPIN;
    loop {
        match queue.try_recv() {
            // Yielding, not spinning: on a small machine the sender may need this very core.
            Err(mpsc::error::TryRecvError::Empty) if std::time::Instant::now() < until => std::thread::yield_now(),
            other => return other,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    identity: ExtensionIdentity,
    limits: IsolateLimits,
    files: Arc<Files>,
    main: String,
    services: Services,
    blank: Option<Blank>,
    mut queue: mpsc::Receiver<Job>,
    ready: oneshot::Sender<Result<(), IsolateError>>,
    retired: Arc<AtomicBool>,
) {
    let span = tracing::info_span!("isolate", tenant = %identity.tenant, extension = %identity.extension);
    let _entered = span.enter();
    let built = match blank {
        Some(blank) => Ok(blank.assign(identity, limits, Some(files), services)),
        None => Isolate::new(identity, limits, Some(files), services),
    };
    let mut isolate = match built {
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
    // After a request, timers and promises it left running get the thread until the next
    // request arrives; otherwise they would only advance while later requests run.
    let mut background = false;
    loop {
        let next = match next_soon(&mut queue) {
            Ok(job) => Some(job),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            Err(mpsc::error::TryRecvError::Empty) if background => {
                let interrupted = isolate.run_background(queue.recv()).await;
                retire_if_spent(&isolate, &retired, &mut queue);
                match interrupted {
                    Some(job) => job,
                    None => {
                        background = false;
                        continue;
                    }
                }
            }
            Err(mpsc::error::TryRecvError::Empty) => queue.recv().await,
        };
        let Some(job) = next else { break };
        background = true;
        if isolate.is_poisoned() {
            // Requests queued behind the one that broke the isolate never reach it.
            let _ = job.reply.send(Err(IsolateError::Discarded));
            continue;
        }
        let started = std::time::Instant::now();
        let outcome = isolate.invoke(&job.invocation).await;
        tracing::debug!(handler = %job.invocation.handler, elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, ok = outcome.is_ok(), "isolate call");
        // Retire before answering, so the caller's next request already sees it.
        retire_if_spent(&isolate, &retired, &mut queue);
        let _ = job.reply.send(outcome);
    }
}

/// Marks the isolate for replacement once a limit poisoned it (nothing queued reaches it
/// any more) or it passed the soft CPU limit (what is queued still runs).
fn retire_if_spent(isolate: &Isolate, retired: &AtomicBool, queue: &mut mpsc::Receiver<Job>) {
    if isolate.is_poisoned() {
        if !retired.swap(true, Ordering::SeqCst) {
            tracing::warn!("isolate terminated by a limit; discarding it");
        }
        queue.close();
    } else if isolate.soft_limit_hit() && !retired.swap(true, Ordering::SeqCst) {
        tracing::info!("isolate passed the soft CPU limit; retiring it once drained");
    }
}
