//! The op allow-list: every op an extension isolate registers that is neither ours nor on
//! the short list of deno_core ops the event loop and the glue need is disabled.
//!
//! deno_core registers ~120 builtin ops in every isolate (`op_panic`, `op_print`, resource
//! reads and writes, `op_eval_context`, …). Extension code cannot reach `Deno.core` (the
//! dispatcher removes every path to it), but if a path were ever found again, a disabled
//! op only throws "op is disabled": `op_panic` would otherwise abort the whole process
//! (deno_core calls ops across a non-unwinding boundary) and `op_print` writes raw lines to
//! the server's stdout.

/// Prefixes of this crate's own ops; each is listed in an `extension!` of `ops/src/<area>`.
const OWN_PREFIXES: &[&str] = &["op_console_", "op_storage_", "op_api_", "op_fetch_", "op_crypto_", "op_url_", "op_base64_"];

/// deno_core ops that deno_core's own JS calls: at bootstrap (extras binding, the
/// `import.meta` prototype, the captured bootstrap), and while it serves our glue (event
/// loop, timers, promise rejections, error formatting, `structuredClone`, `TextEncoder`).
pub const CORE_OPS_KEPT: &[&str] = &[
    "op_decode",
    "op_deserialize",
    "op_destructure_error",
    "op_dispatch_exception",
    "op_drain_pending_rejections",
    "op_encode",
    "op_event_loop_has_more_work",
    "op_get_ext_import_meta_proto",
    "op_get_extras_binding_object",
    "op_immediate_check",
    "op_ref_op",
    "op_run_microtasks",
    "op_serialize",
    "op_set_captured_bootstrap",
    "op_set_handled_promise_rejection_handler",
    "op_structured_clone",
    "op_timer_now",
    "op_timer_schedule",
    "op_timer_track",
    "op_timer_untrack",
    "op_unref_op",
];

// Not kept, though deno_core's JS names them: `op_current_user_call_site` (it slices the
// buffer it is given without checking its length: a short one panics, which aborts the
// process; found by `isolate::op_fuzz`) and the debugging, resource, eval and WebAssembly
// ops, which nothing of ours calls.

/// Whether an isolate keeps the op `name` enabled.
pub fn op_allowed(name: &str) -> bool {
    OWN_PREFIXES.iter().any(|p| name.starts_with(p)) || CORE_OPS_KEPT.contains(&name)
}

fn restrict(op: deno_core::OpDecl) -> deno_core::OpDecl {
    if op_allowed(op.name) {
        op
    } else {
        op.disable()
    }
}

// An extension with no ops of its own: it carries the middleware, which deno_core applies
// to every op of every extension, its builtins included.
deno_core::extension!(alga_sandbox, middleware = restrict);

#[cfg(test)]
mod tests {
    use super::op_allowed;

    #[test]
    fn dangerous_core_ops_are_not_allowed_and_ours_are() {
        for name in [
            "op_panic",
            "op_print",
            "op_current_user_call_site",
            "op_read",
            "op_write",
            "op_resources",
            "op_eval_context",
            "op_import_sync",
            "op_memory_usage",
            "op_op_names",
        ] {
            assert!(!op_allowed(name), "{name} must be disabled");
        }
        for name in ["op_storage_get", "op_console_write", "op_timer_schedule", "op_base64_encode"] {
            assert!(op_allowed(name), "{name} must stay enabled");
        }
    }
}
