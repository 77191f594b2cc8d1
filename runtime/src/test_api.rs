//! Whether this process offers `@alga/test` to its isolates. Only `alga-ext test` switches it
//! on (`test_runner::run`); the module loader asks here, so a server never resolves the test
//! API. A leaf module: the loader depends on it without depending on the test runner.

use std::sync::OnceLock;

/// The specifier test files import the test API from.
pub const SPECIFIER: &str = "@alga/test";

static SOURCE: OnceLock<&'static str> = OnceLock::new();

/// Makes `@alga/test` (with this source) importable for the rest of the process.
pub fn offer(source: &'static str) {
    let _ = SOURCE.set(source);
}

/// The source of `@alga/test` once offered; `None` in every process but `alga-ext test`.
pub fn offered() -> Option<&'static str> {
    SOURCE.get().copied()
}
