//! deno_core ops and their JS glue: the only ways extension JavaScript reaches the world.
//!
//! One folder per capability, deno `ext/` style: `mod.rs` holds the ops and the
//! `extension!` declaration, numbered JS glue (`00_console.js`) sits beside it. Every op
//! reads the calling extension's identity from `OpState`, never from JS arguments.
//!
//! Invariant: nothing here depends on axum or on the HTTP layer.

pub mod api;
pub mod console;
pub mod fetch;
pub mod sandbox;
pub mod storage;
pub mod web;

/// Implements `JsErrorClass` for an op error whose JS class its glue registers (`$class`)
/// and whose `code()` becomes the thrown error's `code` property; the message is `Display`.
macro_rules! coded_js_error {
    ($ty:ty, $class:literal) => {
        impl deno_error::JsErrorClass for $ty {
            fn get_class(&self) -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($class)
            }

            fn get_message(&self) -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Owned(self.to_string())
            }

            fn get_additional_properties(&self) -> deno_error::AdditionalProperties {
                let code = deno_error::PropertyValue::String(std::borrow::Cow::Borrowed(self.code()));
                Box::new(std::iter::once((std::borrow::Cow::Borrowed("code"), code)))
            }

            fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
                self
            }
        }
    };
}
pub(crate) use coded_js_error;

/// Who a JS isolate runs for. Put into `OpState` when the runtime is built; ops read it from
/// there, so JS code cannot claim to be another tenant or extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionIdentity {
    pub tenant: String,
    /// The manifest id, e.g. `com.example.ticket-tags`.
    pub extension: String,
}

/// Every extension an isolate gets, in the order the startup snapshot was built with.
pub fn extensions() -> Vec<deno_core::Extension> {
    vec![
        sandbox::alga_sandbox::init(),
        console::alga_console::init(),
        web::alga_web::init(),
        storage::alga_storage::init(),
        api::alga_api::init(),
        fetch::alga_fetch::init(),
    ]
}
