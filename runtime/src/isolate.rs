//! Building V8 isolates for extension code: explicit heap limits, the ops extensions, identity in OpState.
//!
//! This is the seed of the isolate runtime (pooling, snapshots, CPU limits and dispatch come
//! with it); what exists already holds the invariants: every isolate has an explicit heap
//! limit, running out of it terminates the script instead of aborting the process, and the
//! tenant and extension identity live in OpState.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use alga_ops::ExtensionIdentity;
use deno_core::{v8, JsRuntime, RuntimeOptions};

/// Resource limits applied to one isolate.
#[derive(Debug, Clone, Copy)]
pub struct IsolateLimits {
    /// Most bytes the V8 heap may grow to.
    pub heap_max_bytes: usize,
}

impl Default for IsolateLimits {
    fn default() -> Self {
        Self { heap_max_bytes: 64 * 1024 * 1024 }
    }
}

/// Why a script did not produce a value.
#[derive(Debug, thiserror::Error)]
pub enum IsolateError {
    #[error("extension exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit { limit_bytes: usize },
    #[error("extension code threw: {0}")]
    Script(String),
    #[error("result is not JSON-representable: {0}")]
    Result(String),
    /// deno_core hands V8's delayed tasks (such as GC work) to tokio; without a runtime on
    /// this thread the first such task would abort the process.
    #[error("isolates must be created inside a tokio runtime context")]
    NoAsyncRuntime,
}

/// One extension's JavaScript runtime together with the flag its heap guard raises.
pub struct Isolate {
    runtime: JsRuntime,
    limits: IsolateLimits,
    heap_exhausted: Arc<AtomicBool>,
}

impl Isolate {
    /// Builds an isolate for `identity` under `limits`. Must be called inside a tokio
    /// runtime context (the isolate threads each run a `current_thread` runtime).
    pub fn new(identity: ExtensionIdentity, limits: IsolateLimits) -> Result<Self, IsolateError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(IsolateError::NoAsyncRuntime);
        }
        let params = v8::CreateParams::default().heap_limits(0, limits.heap_max_bytes);
        let mut runtime = JsRuntime::new(RuntimeOptions {
            extensions: vec![alga_ops::console::alga_console::init(identity)],
            create_params: Some(params),
            ..Default::default()
        });
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
        Ok(Self { runtime, limits, heap_exhausted })
    }

    /// Whether the heap guard fired; such an isolate must be dropped, never reused.
    pub fn is_poisoned(&self) -> bool {
        self.heap_exhausted.load(Ordering::SeqCst)
    }

    /// Runs a classic script and returns its completion value as JSON.
    pub fn eval_json(&mut self, name: &'static str, code: String) -> Result<serde_json::Value, IsolateError> {
        if self.is_poisoned() {
            return Err(IsolateError::MemoryLimit { limit_bytes: self.limits.heap_max_bytes });
        }
        let outcome = self.runtime.execute_script(name, code);
        if self.is_poisoned() {
            return Err(IsolateError::MemoryLimit { limit_bytes: self.limits.heap_max_bytes });
        }
        let global = outcome.map_err(|e| IsolateError::Script(e.to_string()))?;
        deno_core::scope!(scope, &mut self.runtime);
        let local = v8::Local::new(scope, global);
        deno_core::serde_v8::from_v8::<serde_json::Value>(scope, local).map_err(|e| IsolateError::Result(e.to_string()))
    }
}
