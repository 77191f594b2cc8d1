//! One extension's V8 isolate: explicit heap, ArrayBuffer and CPU limits, the ops
//! extensions, identity in OpState, the bundle's modules, and handler dispatch.
//!
//! An isolate lives on one thread (see `worker`), inside a tokio runtime there. Once a
//! limit terminates it, it is poisoned and never runs code again.

mod allocator;
mod invocation;
pub mod limits;
mod loader;
#[cfg(test)]
mod op_fuzz;
mod threads;
mod thrown;
mod worker;

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alga_bundle::Files;
use alga_ops::ExtensionIdentity;
use deno_core::{v8, JsRuntime, PollEventLoopOptions, RuntimeOptions};
use serde::Deserialize;

pub use invocation::{CtxData, CtxExtension, CtxUser, Invocation};
pub use limits::IsolateLimits;
pub use threads::{blank_counts, prepare_blanks};
pub use worker::{IsolateHandle, Reservation};

use allocator::BufferBudget;
use limits::CpuGuard;

/// Why a script or request did not produce a result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IsolateError {
    #[error("extension exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit { limit_bytes: usize },
    #[error("extension exceeded its CPU time limit of {limit_ms} ms")]
    CpuLimit { limit_ms: u128 },
    #[error("extension did not answer within {limit_ms} ms")]
    Timeout { limit_ms: u128 },
    /// Code that could not run: a module that does not resolve or parse, an isolate that
    /// could not be set up.
    #[error("extension code threw: {0}")]
    Script(String),
    /// An exception the extension's code threw and did not catch: `message` is its first
    /// line (`TypeError: no tags today`), `stack` that line and the frames in the
    /// extension's own files, for its log and, in development, its caller.
    #[error("extension code threw {stack}")]
    Threw { message: String, stack: String },
    /// A handler threw the SDK's `HttpError`: an answer in the runtime's error shape, not a
    /// failure (never logged as one, never counted by the circuit breaker).
    #[error("the handler threw HttpError {} {}: {}", .0.status, .0.code, .0.message)]
    HttpError(Box<HttpErrorAnswer>),
    /// The extension's code let a storage call's `StorageError` with code
    /// `STORE_UNAVAILABLE` escape: the runtime's database was out of reach, no fault of the
    /// extension's, so its caller is answered as the runtime's own store failures are.
    #[error("the database cannot be reached right now; try again shortly")]
    StoreUnavailable,
    #[error("result is not JSON-representable: {0}")]
    Result(String),
    /// deno_core hands V8's delayed tasks (such as GC work) to tokio; without a runtime on
    /// this thread the first such task would abort the process.
    #[error("isolates must be created inside a tokio runtime context")]
    NoAsyncRuntime,
    #[error("extension is overloaded: {queued} requests are already waiting")]
    Overloaded { queued: usize },
    /// Starting one more isolate would pass the process-wide isolate memory budget, and no
    /// idle isolate could make room.
    #[error("the server is at its isolate memory budget ({budget_mb} MiB); try again shortly")]
    MemoryBudget { budget_mb: usize },
    /// The tenant's share of isolates is all being built right now.
    #[error("this tenant already has {max} isolates starting; try again shortly")]
    TenantShare { max: usize },
    #[error("the extension's isolate was discarded before it could answer")]
    Discarded,
}

impl IsolateError {
    /// The error code of the HTTP API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MemoryLimit { .. } => "EXTENSION_MEMORY_LIMIT",
            Self::CpuLimit { .. } => "EXTENSION_CPU_LIMIT",
            Self::Timeout { .. } => "EXTENSION_TIMEOUT",
            Self::Overloaded { .. } | Self::MemoryBudget { .. } | Self::TenantShare { .. } | Self::Discarded => "EXTENSION_OVERLOADED",
            Self::Script(_) | Self::Threw { .. } | Self::Result(_) | Self::NoAsyncRuntime => "EXTENSION_ERROR",
            Self::HttpError(_) => "HTTP_ERROR",
            Self::StoreUnavailable => "STORE_UNAVAILABLE",
        }
    }

    /// Whether the circuit breaker counts this failure: limits hit, or code that cannot load.
    pub fn counts_against_breaker(&self) -> bool {
        self.poisons() || matches!(self, Self::Discarded)
    }

    /// Whether the isolate that produced this error must be thrown away.
    fn poisons(&self) -> bool {
        matches!(self, Self::MemoryLimit { .. } | Self::CpuLimit { .. } | Self::Timeout { .. })
    }
}

/// What the ops of an isolate act on, beyond its identity; a missing service makes its ops
/// fail with `UNAVAILABLE`.
#[derive(Default, Clone)]
pub struct Services {
    pub storage: Option<alga_ops::storage::StorageContext>,
    pub api: Option<alga_ops::api::ApiContext>,
    pub fetch: Option<alga_ops::fetch::FetchContext>,
    /// Where the extension's log lines go; `None` is the server's `tracing` log.
    pub log: Option<Arc<dyn alga_ops::console::LogSink>>,
}

/// A handler's answer, normalized by the dispatcher.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Text bodies as their UTF-8 bytes, binary ones as they were.
    pub body: Option<Vec<u8>>,
}

/// What a thrown `HttpError` answers, checked by the dispatcher: `status` 400–599 and `code`
/// SCREAMING_SNAKE_CASE.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HttpErrorAnswer {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// The author's `details`, `null` when none were given.
    #[serde(default)]
    pub details: serde_json::Value,
    /// The author's `init.headers`, unchecked: the HTTP layer keeps the allowed ones.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

/// The dispatcher's JSON answer: a binary body comes base64-encoded, as JSON has no bytes;
/// a thrown `HttpError` comes as `httpError` alone.
#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    status: u16,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default, rename = "bodyBase64")]
    body_base64: Option<String>,
    #[serde(default, rename = "httpError")]
    http_error: Option<Box<HttpErrorAnswer>>,
}

impl HandlerResponse {
    fn from_wire(text: &str) -> Result<Self, IsolateError> {
        let wire: WireResponse = serde_json::from_str(text).map_err(|e| IsolateError::Result(e.to_string()))?;
        if let Some(answer) = wire.http_error {
            return Err(IsolateError::HttpError(answer));
        }
        let body = match (wire.body, wire.body_base64) {
            (_, Some(encoded)) => {
                use base64::Engine;
                Some(base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|e| IsolateError::Result(format!("binary body: {e}")))?)
            }
            (text, None) => text.map(String::into_bytes),
        };
        Ok(Self { status: wire.status, headers: wire.headers, body })
    }
}

/// One extension's JavaScript runtime with its limits.
pub struct Isolate {
    runtime: JsRuntime,
    limits: IsolateLimits,
    heap_exhausted: Arc<AtomicBool>,
    buffers: Arc<BufferBudget>,
    cpu: Arc<CpuGuard>,
    poisoned: bool,
    dispatcher: v8::Global<v8::Function>,
    /// Hands the evaluated `@alga/sdk` module to the dispatcher (see `load_sdk`).
    bind_sdk: v8::Global<v8::Function>,
    /// Whether `load_sdk` has run.
    sdk_loaded: bool,
    namespace: Option<v8::Global<v8::Object>>,
    /// CPU time of the last request passed the soft limit: retire after draining.
    soft_limit_hit: bool,
    contexts: invocation::CtxTable,
}

const DISPATCH_JS: &str = include_str!("dispatch.js");

/// An isolate built ahead of need: V8 from the snapshot, the ops, the limits fixed at
/// creation and the dispatcher, but no identity, services or bundle. It has run no code an
/// extension supplied, so any extension may be given it (`assign`); that skips most of a
/// cold start, since building the isolate is most of it.
pub struct Blank {
    isolate: Isolate,
    loader: Rc<loader::BundleLoader>,
}

impl Blank {
    /// Builds a blank isolate under `limits`. Must be called inside a tokio runtime
    /// context, on the thread that will run it.
    pub fn new(limits: IsolateLimits) -> Result<Self, IsolateError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(IsolateError::NoAsyncRuntime);
        }
        let buffers = BufferBudget::new(limits.array_buffer_max_bytes);
        let params = v8::CreateParams::default().heap_limits(0, limits.heap_max_bytes).array_buffer_allocator(allocator::allocator(&buffers));
        let loader = Rc::new(loader::BundleLoader::default());
        let mut runtime = JsRuntime::new(RuntimeOptions {
            extensions: alga_ops::extensions(),
            // The ops' JS glue is already evaluated inside the snapshot.
            startup_snapshot: Some(SNAPSHOT),
            module_loader: Some(loader.clone()),
            create_params: Some(params),
            ..Default::default()
        });
        runtime.op_state().borrow_mut().put(alga_ops::api::CallUser(None));
        let heap_exhausted = Arc::new(AtomicBool::new(false));
        let flag = heap_exhausted.clone();
        let handle = runtime.v8_isolate().thread_safe_handle();
        // V8 aborts the whole process when a heap hits its limit. Terminate the script first
        // and grant headroom so termination can unwind; the isolate is not used again.
        runtime.add_near_heap_limit_callback(move |current, _initial| {
            flag.store(true, Ordering::SeqCst);
            handle.terminate_execution();
            current.saturating_mul(2)
        });
        // `Atomics.wait` blocks the thread without using CPU, so neither the CPU budget nor
        // a timer on this thread could end it; refused outright (it throws a TypeError).
        runtime.v8_isolate().set_allow_atomics_wait(false);
        let cpu = CpuGuard::register(runtime.v8_isolate().thread_safe_handle());
        let (dispatcher, bind_sdk) = {
            let value = runtime.execute_script("alga:dispatch.js", DISPATCH_JS).map_err(|e| IsolateError::Script(e.to_string()))?;
            deno_core::scope!(scope, &mut runtime);
            let local = v8::Local::new(scope, value);
            let object = v8::Local::<v8::Object>::try_from(local).map_err(|_| IsolateError::Script("dispatch.js did not answer an object".into()))?;
            let function = |name: &str| {
                let key = v8::String::new(scope, name)?;
                let value = object.get(scope, key.into())?;
                let function = v8::Local::<v8::Function>::try_from(value).ok()?;
                Some(v8::Global::new(scope, function))
            };
            match (function("dispatch"), function("bindSdk")) {
                (Some(dispatch), Some(bind)) => (dispatch, bind),
                _ => return Err(IsolateError::Script("dispatch.js did not answer { dispatch, bindSdk }".into())),
            }
        };
        let isolate = Isolate {
            runtime,
            limits,
            heap_exhausted,
            buffers,
            cpu,
            poisoned: false,
            dispatcher,
            bind_sdk,
            sdk_loaded: false,
            namespace: None,
            soft_limit_hit: false,
            contexts: Default::default(),
        };
        Ok(Self { isolate, loader })
    }

    /// Evaluates the `@alga/sdk` module now (see `Isolate::load_sdk`), so that a blank
    /// built ahead of need spares the first request that too.
    pub async fn load_sdk(&mut self) -> Result<(), IsolateError> {
        self.isolate.load_sdk().await
    }

    /// Whether this blank was built with the creation-time limits `limits` asks for (the
    /// per-call limits are taken from `limits` on assignment).
    pub fn fits(&self, limits: &IsolateLimits) -> bool {
        let own = &self.isolate.limits;
        own.heap_max_bytes == limits.heap_max_bytes && own.array_buffer_max_bytes == limits.array_buffer_max_bytes
    }

    /// Turns the blank into `identity`'s isolate under `limits` (whose creation-time part
    /// it must `fit`), loading modules from `files`.
    pub fn assign(self, identity: ExtensionIdentity, limits: IsolateLimits, files: Option<Arc<Files>>, services: Services) -> Isolate {
        debug_assert!(self.fits(&limits));
        let Self { mut isolate, loader } = self;
        isolate.limits = limits;
        isolate.cpu.demote_after(limits.cpu_soft);
        if let Some(files) = files {
            // A fresh loader is always unbound; the result cannot be an error.
            let _ = loader.bind(files);
        }
        let op_state = isolate.runtime.op_state();
        let mut op_state = op_state.borrow_mut();
        op_state.put(identity);
        op_state.put(limits.log);
        if let Some(sink) = services.log {
            op_state.put(alga_ops::console::LogSinkRef(sink));
        }
        if let Some(storage) = services.storage {
            op_state.put(storage);
        }
        if let Some(api) = services.api {
            op_state.put(api);
        }
        if let Some(fetch) = services.fetch {
            op_state.put(fetch);
        }
        drop(op_state);
        isolate
    }
}

/// V8 startup snapshot with deno_core and the ops' JS glue, made by `build.rs`.
static SNAPSHOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ALGA_SNAPSHOT.bin"));

impl Isolate {
    /// Builds an isolate for `identity` under `limits`, able to load modules from `files`.
    /// Must be called inside a tokio runtime context, on the thread that will run it.
    pub fn new(identity: ExtensionIdentity, limits: IsolateLimits, files: Option<Arc<Files>>, services: Services) -> Result<Self, IsolateError> {
        Ok(Blank::new(limits)?.assign(identity, limits, files, services))
    }

    /// Whether a limit terminated this isolate; such an isolate must be dropped, never reused.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned || self.heap_exhausted.load(Ordering::SeqCst)
    }

    /// Whether the last request used more CPU than the soft limit.
    pub fn soft_limit_hit(&self) -> bool {
        self.soft_limit_hit
    }

    /// Bytes of ArrayBuffer memory held now.
    pub fn array_buffer_bytes(&self) -> usize {
        self.buffers.used()
    }

    /// The error a terminated run gets: which limit fired, if one did.
    fn limit_error(&self, cpu_limit: std::time::Duration) -> Option<IsolateError> {
        // A refused ArrayBuffer allocation also makes V8 fire its heap-limit path; the
        // refusal is the more precise cause, so it is reported first.
        if self.buffers.refused() {
            Some(IsolateError::MemoryLimit { limit_bytes: self.limits.array_buffer_max_bytes })
        } else if self.heap_exhausted.load(Ordering::SeqCst) {
            Some(IsolateError::MemoryLimit { limit_bytes: self.limits.heap_max_bytes })
        } else if self.cpu.fired() {
            Some(IsolateError::CpuLimit { limit_ms: cpu_limit.as_millis() })
        } else if self.cpu.wall_fired() {
            Some(IsolateError::Timeout { limit_ms: self.limits.wall.as_millis() })
        } else {
            None
        }
    }

    fn finish<T>(&mut self, outcome: Result<T, IsolateError>) -> Result<T, IsolateError> {
        if let Err(err) = &outcome {
            if err.poisons() {
                self.poisoned = true;
            }
        }
        outcome
    }

    /// Runs a classic script and returns its completion value as JSON (CPU-limited).
    pub fn eval_json(&mut self, name: &'static str, code: String) -> Result<serde_json::Value, IsolateError> {
        if self.is_poisoned() {
            return Err(IsolateError::MemoryLimit { limit_bytes: self.limits.heap_max_bytes });
        }
        self.cpu.arm(self.limits.cpu_hard, self.limits.wall);
        let outcome = self.runtime.execute_script(name, code);
        self.cpu.disarm(Duration::MAX);
        if let Some(err) = self.limit_error(self.limits.cpu_hard) {
            return self.finish(Err(err));
        }
        let global = outcome.map_err(|e| IsolateError::Script(e.to_string()))?;
        deno_core::scope!(scope, &mut self.runtime);
        let local = v8::Local::new(scope, global);
        deno_core::serde_v8::from_v8::<serde_json::Value>(scope, local).map_err(|e| IsolateError::Result(e.to_string()))
    }

    /// Evaluates the `@alga/sdk` module, once, and hands it to the dispatcher: loaded before
    /// any extension module, it is the one instance the extension's imports get too, so a
    /// thrown `HttpError` is the dispatcher's own class. Runs only the runtime's own code.
    async fn load_sdk(&mut self) -> Result<(), IsolateError> {
        if self.sdk_loaded {
            return Ok(());
        }
        let sdk = self.runtime.load_side_es_module(&loader::sdk_url()).await.map_err(thrown::from_core)?;
        let evaluation = self.runtime.mod_evaluate(sdk);
        self.runtime.run_event_loop(PollEventLoopOptions::default()).await.map_err(thrown::from_core)?;
        evaluation.await.map_err(thrown::from_core)?;
        let sdk = self.runtime.get_module_namespace(sdk).map_err(thrown::from_core)?;
        let sdk = {
            deno_core::scope!(scope, &mut self.runtime);
            let local: v8::Local<v8::Value> = v8::Local::new(scope, sdk).into();
            v8::Global::new(scope, local)
        };
        self.runtime.call_with_args(&self.bind_sdk, &[sdk]).await.map_err(|e| thrown::from_js(&e))?;
        self.sdk_loaded = true;
        Ok(())
    }

    /// Loads and evaluates the bundle's main module under the module-evaluation limit, after
    /// the `@alga/sdk` module (unless a blank isolate has it already).
    pub async fn load_main(&mut self, main: &str) -> Result<(), IsolateError> {
        let limit = self.limits.module_eval;
        // The timer below ends a load that waits too long; the watchdog's wall deadline backs
        // it up for a load that blocks, late enough that a spinning load on a busy machine
        // (less than a whole core) is still reported as the CPU limit it is.
        self.cpu.arm(limit, limit.saturating_mul(2));
        let url = loader::module_url(main);
        let evaluated = tokio::time::timeout(limit, async {
            self.load_sdk().await?;
            let id = self.runtime.load_main_es_module(&url).await.map_err(thrown::from_core)?;
            let evaluation = self.runtime.mod_evaluate(id);
            self.runtime.run_event_loop(PollEventLoopOptions::default()).await.map_err(thrown::from_core)?;
            evaluation.await.map_err(thrown::from_core)?;
            Ok::<_, IsolateError>(id)
        })
        .await;
        self.cpu.disarm(Duration::MAX);
        if let Some(err) = self.limit_error(limit) {
            return self.finish(Err(err));
        }
        let id = match evaluated {
            Err(_) => return self.finish(Err(IsolateError::Timeout { limit_ms: limit.as_millis() })),
            Ok(result) => result?,
        };
        let namespace = self.runtime.get_module_namespace(id).map_err(|e| IsolateError::Script(e.to_string()))?;
        self.namespace = Some(namespace);
        Ok(())
    }

    /// Runs what earlier requests left behind (timers, unawaited promises) until it is done
    /// or `interrupt` — the next request — arrives first, under the same CPU limits as a
    /// request. Returns the interrupt's output, or `None` once nothing is left to run.
    /// A limit hit or an uncaught error ends the isolate's service: it is poisoned or must
    /// be retired, which `is_poisoned`/`soft_limit_hit` then tell.
    pub async fn run_background<F: std::future::Future>(&mut self, interrupt: F) -> Option<F::Output> {
        if self.is_poisoned() {
            return None;
        }
        // Waiting for timers between requests is not bounded in wall time; running is, by CPU.
        self.cpu.arm(self.limits.cpu_hard, Duration::MAX);
        let outcome = tokio::select! {
            biased;
            value = interrupt => Ok(value),
            done = self.runtime.run_event_loop(PollEventLoopOptions::default()) => Err(done),
        };
        let used = self.cpu.disarm(self.limits.cpu_soft);
        if let Some(err) = self.limit_error(self.limits.cpu_hard) {
            tracing::warn!(error = %err, "work left behind by a request hit a limit");
            self.poisoned = true;
            return None;
        }
        self.soft_limit_hit |= used > self.limits.cpu_soft;
        match outcome {
            Ok(value) => Some(value),
            Err(Ok(())) => None,
            Err(Err(e)) => {
                // An uncaught exception in a timer callback leaves deno_core's event loop in
                // an error state; a fresh isolate is the reliable way on.
                tracing::error!(target: "extension", error = %e, "uncaught error in work left behind by a request");
                self.soft_limit_hit = true;
                None
            }
        }
    }

    /// Calls the exported `handler` with `request` and the context data, under the CPU and
    /// wall-clock limits.
    pub async fn invoke(&mut self, invocation: &Invocation) -> Result<HandlerResponse, IsolateError> {
        if self.is_poisoned() {
            return Err(IsolateError::Discarded);
        }
        let namespace = self.namespace.as_ref().ok_or_else(|| IsolateError::Script("the main module is not loaded".into()))?;
        let ctx = self.contexts.lookup(&invocation.ctx).map_err(|e| IsolateError::Result(format!("context: {e}")))?;
        let args = {
            deno_core::scope!(scope, &mut self.runtime);
            let string =
                |scope: &mut v8::PinScope, text: &str| v8::String::new(scope, text).map(|s| v8::Global::new(scope, v8::Local::<v8::Value>::from(s)));
            let number = |scope: &mut v8::PinScope, n: Option<u32>| {
                let value: v8::Local<v8::Value> = match n {
                    Some(n) => v8::Integer::new_from_unsigned(scope, n).into(),
                    None => v8::undefined(scope).into(),
                };
                v8::Global::new(scope, value)
            };
            let ns: v8::Local<v8::Value> = v8::Local::new(scope, namespace).into();
            let ns = v8::Global::new(scope, ns);
            let ctx_json = match &ctx.json {
                Some(json) => string(scope, json),
                None => Some(number(scope, None)),
            };
            let page: v8::Local<v8::Value> = v8::Boolean::new(scope, invocation.is_page).into();
            let page = v8::Global::new(scope, page);
            let id = number(scope, Some(ctx.id));
            let evict = number(scope, ctx.evict);
            match (string(scope, &invocation.handler), string(scope, &invocation.request), ctx_json) {
                (Some(name), Some(request), Some(ctx_json)) => vec![ns, name, request, id, ctx_json, evict, page],
                _ => return Err(IsolateError::Result("request could not be passed to the isolate".into())),
            }
        };
        // ctx.api acts for this call's user, and for no one once the call is over; storage
        // transactions may begin only while it runs.
        {
            let op_state = self.runtime.op_state();
            let mut op_state = op_state.borrow_mut();
            op_state.put(alga_ops::api::CallUser(Some(invocation.ctx.user.id.clone())));
            alga_ops::storage::call_started(&mut op_state);
            alga_ops::console::call_started(&mut op_state);
        }
        self.cpu.arm(self.limits.cpu_hard, self.limits.wall);
        let call = self.runtime.call_with_args(&self.dispatcher, &args);
        let wall = self.limits.wall;
        let outcome = tokio::time::timeout(wall, self.runtime.with_event_loop_promise(call, PollEventLoopOptions::default())).await;
        let used = self.cpu.disarm(self.limits.cpu_soft);
        self.runtime.op_state().borrow_mut().put(alga_ops::api::CallUser(None));
        // Whatever the call left open is rolled back before it is answered, however it ended
        // (finished, threw, timed out or was terminated: this needs no JavaScript).
        if let Some(rollback) = alga_ops::storage::call_ended(&self.runtime.op_state()) {
            rollback.await;
        }
        self.soft_limit_hit = used > self.limits.cpu_soft;
        if let Some(err) = self.limit_error(self.limits.cpu_hard) {
            return self.finish(Err(err));
        }
        let value = match outcome {
            Err(_) => {
                self.contexts.reset();
                return self.finish(Err(IsolateError::Timeout { limit_ms: wall.as_millis() }));
            }
            Ok(Err(e)) => {
                self.contexts.reset();
                // deno_core notices when nothing is left that could settle the handler's promise.
                if matches!(e.0.as_ref(), deno_core::error::CoreErrorKind::PendingPromiseResolution) {
                    return Err(IsolateError::Script(format!("the handler {:?} returned a promise that can never settle", invocation.handler)));
                }
                return Err(thrown::from_core(e));
            }
            Ok(Ok(value)) => value,
        };
        // The dispatcher answers with `JSON.stringify({ status, headers, body | bodyBase64 })`.
        let text = {
            deno_core::scope!(scope, &mut self.runtime);
            let local = v8::Local::new(scope, value);
            local.to_rust_string_lossy(scope)
        };
        HandlerResponse::from_wire(&text)
    }
}
