//! One extension's V8 isolate: explicit heap, ArrayBuffer and CPU limits, the ops
//! extensions, identity in OpState, the bundle's modules, and handler dispatch.
//!
//! An isolate lives on one thread (see `worker`), inside a tokio runtime there. Once a
//! limit terminates it, it is poisoned and never runs code again.

mod allocator;
pub mod limits;
mod loader;
pub mod pool;
mod worker;

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use alga_bundle::Files;
use alga_ops::ExtensionIdentity;
use deno_core::{v8, JsRuntime, PollEventLoopOptions, RuntimeOptions};
use serde::Deserialize;

pub use limits::IsolateLimits;
pub use worker::{IsolateHandle, Invocation};

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
    #[error("extension code threw: {0}")]
    Script(String),
    #[error("result is not JSON-representable: {0}")]
    Result(String),
    /// deno_core hands V8's delayed tasks (such as GC work) to tokio; without a runtime on
    /// this thread the first such task would abort the process.
    #[error("isolates must be created inside a tokio runtime context")]
    NoAsyncRuntime,
    #[error("extension is overloaded: {queued} requests are already waiting")]
    Overloaded { queued: usize },
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
            Self::Overloaded { .. } | Self::Discarded => "EXTENSION_OVERLOADED",
            Self::Script(_) | Self::Result(_) | Self::NoAsyncRuntime => "EXTENSION_ERROR",
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

/// A handler's answer, normalized by the dispatcher.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HandlerResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
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
    namespace: Option<v8::Global<v8::Object>>,
    /// CPU time of the last request passed the soft limit: retire after draining.
    soft_limit_hit: bool,
}

const DISPATCH_JS: &str = include_str!("dispatch.js");

/// V8 startup snapshot with deno_core and the ops' JS glue, made by `build.rs`.
static SNAPSHOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ALGA_SNAPSHOT.bin"));

impl Isolate {
    /// Builds an isolate for `identity` under `limits`, able to load modules from `files`.
    /// Must be called inside a tokio runtime context, on the thread that will run it.
    pub fn new(
        identity: ExtensionIdentity,
        limits: IsolateLimits,
        files: Option<Arc<Files>>,
        storage: Option<alga_ops::storage::StorageContext>,
    ) -> Result<Self, IsolateError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(IsolateError::NoAsyncRuntime);
        }
        let buffers = BufferBudget::new(limits.array_buffer_max_bytes);
        let params = v8::CreateParams::default()
            .heap_limits(0, limits.heap_max_bytes)
            .array_buffer_allocator(allocator::allocator(&buffers));
        let mut runtime = JsRuntime::new(RuntimeOptions {
            extensions: alga_ops::extensions(),
            // The ops' JS glue is already evaluated inside the snapshot.
            startup_snapshot: Some(SNAPSHOT),
            module_loader: files.map(|f| Rc::new(loader::BundleLoader::new(f)) as Rc<dyn deno_core::ModuleLoader>),
            create_params: Some(params),
            ..Default::default()
        });
        {
            let op_state = runtime.op_state();
            let mut op_state = op_state.borrow_mut();
            op_state.put(identity);
            if let Some(storage) = storage {
                op_state.put(storage);
            }
        }
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
        let cpu = CpuGuard::register(runtime.v8_isolate().thread_safe_handle());
        let dispatcher = {
            let value = runtime.execute_script("alga:dispatch.js", DISPATCH_JS).map_err(|e| IsolateError::Script(e.to_string()))?;
            deno_core::scope!(scope, &mut runtime);
            let local = v8::Local::new(scope, value);
            let function = v8::Local::<v8::Function>::try_from(local).map_err(|_| IsolateError::Script("dispatcher is not a function".into()))?;
            v8::Global::new(scope, function)
        };
        Ok(Self { runtime, limits, heap_exhausted, buffers, cpu, poisoned: false, dispatcher, namespace: None, soft_limit_hit: false })
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
        self.cpu.arm(self.limits.cpu_hard);
        let outcome = self.runtime.execute_script(name, code);
        self.cpu.disarm();
        if let Some(err) = self.limit_error(self.limits.cpu_hard) {
            return self.finish(Err(err));
        }
        let global = outcome.map_err(|e| IsolateError::Script(e.to_string()))?;
        deno_core::scope!(scope, &mut self.runtime);
        let local = v8::Local::new(scope, global);
        deno_core::serde_v8::from_v8::<serde_json::Value>(scope, local).map_err(|e| IsolateError::Result(e.to_string()))
    }

    /// Loads and evaluates the bundle's main module under the module-evaluation limit.
    pub async fn load_main(&mut self, main: &str) -> Result<(), IsolateError> {
        let limit = self.limits.module_eval;
        self.cpu.arm(limit);
        let url = loader::module_url(main);
        let evaluated = tokio::time::timeout(limit, async {
            let id = self.runtime.load_main_es_module(&url).await.map_err(|e| IsolateError::Script(e.to_string()))?;
            let evaluation = self.runtime.mod_evaluate(id);
            self.runtime
                .run_event_loop(PollEventLoopOptions::default())
                .await
                .map_err(|e| IsolateError::Script(e.to_string()))?;
            evaluation.await.map_err(|e| IsolateError::Script(e.to_string()))?;
            Ok::<_, IsolateError>(id)
        })
        .await;
        self.cpu.disarm();
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

    /// Calls the exported `handler` with `request` and the context data, under the CPU and
    /// wall-clock limits.
    pub async fn invoke(&mut self, invocation: &Invocation) -> Result<HandlerResponse, IsolateError> {
        if self.is_poisoned() {
            return Err(IsolateError::Discarded);
        }
        let namespace = self.namespace.clone().ok_or_else(|| IsolateError::Script("the main module is not loaded".into()))?;
        let args = {
            deno_core::scope!(scope, &mut self.runtime);
            let to_v8 = |scope: &mut v8::PinScope, value: &serde_json::Value| {
                deno_core::serde_v8::to_v8(scope, value).map(|local| v8::Global::new(scope, local))
            };
            let ns: v8::Local<v8::Value> = v8::Local::new(scope, &namespace).into();
            let ns = v8::Global::new(scope, ns);
            let name = to_v8(scope, &serde_json::Value::String(invocation.handler.clone()));
            let request = to_v8(scope, &invocation.request);
            let ctx = to_v8(scope, &invocation.ctx);
            let page = to_v8(scope, &serde_json::Value::Bool(invocation.is_page));
            match (name, request, ctx, page) {
                (Ok(name), Ok(request), Ok(ctx), Ok(page)) => vec![ns, name, request, ctx, page],
                _ => return Err(IsolateError::Result("request could not be passed to the isolate".into())),
            }
        };
        let start = self.cpu.arm(self.limits.cpu_hard);
        let call = self.runtime.call_with_args(&self.dispatcher, &args);
        let wall = self.limits.wall;
        let outcome = tokio::time::timeout(wall, self.runtime.with_event_loop_promise(call, PollEventLoopOptions::default())).await;
        let used = self.cpu.used(start);
        self.cpu.disarm();
        self.soft_limit_hit = used > self.limits.cpu_soft;
        if let Some(err) = self.limit_error(self.limits.cpu_hard) {
            return self.finish(Err(err));
        }
        let value = match outcome {
            Err(_) => return self.finish(Err(IsolateError::Timeout { limit_ms: wall.as_millis() })),
            Ok(Err(e)) => {
                let message = e.to_string();
                // deno_core notices when nothing is left that could settle the handler's promise.
                if message.contains("Promise resolution is still pending but the event loop has already resolved") {
                    return Err(IsolateError::Script(format!("the handler {:?} returned a promise that can never settle", invocation.handler)));
                }
                return Err(IsolateError::Script(message));
            }
            Ok(Ok(value)) => value,
        };
        deno_core::scope!(scope, &mut self.runtime);
        let local = v8::Local::new(scope, value);
        deno_core::serde_v8::from_v8::<HandlerResponse>(scope, local).map_err(|e| IsolateError::Result(e.to_string()))
    }
}
