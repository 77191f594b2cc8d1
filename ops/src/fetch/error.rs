//! What `fetch()` throws when the runtime refuses or a request fails: a `FetchError` (a `TypeError`, as `fetch` rejections are in browsers) with a stable `code`.

#[derive(Debug, thiserror::Error)]
pub enum FetchOpError {
    #[error("fetch() is not available in this isolate")]
    Unavailable,
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    HostNotAllowed(String),
    #[error("{0}")]
    AddressRefused(String),
    #[error("{0}")]
    RedirectRefused(String),
    #[error("the request body exceeds {max_bytes} bytes")]
    RequestTooLarge { max_bytes: usize },
    #[error("the response from {host} exceeds {max_bytes} bytes")]
    ResponseTooLarge { host: String, max_bytes: usize },
    #[error("{host} did not answer within {ms} ms")]
    Timeout { host: String, ms: u64 },
    #[error("cannot reach {host}: {reason}")]
    Network { host: String, reason: String },
    /// The cause is logged where it happened.
    #[error("{0}")]
    Internal(&'static str),
}

impl FetchOpError {
    /// The stable code JS sees as `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable => "UNAVAILABLE",
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::HostNotAllowed(_) => "HOST_NOT_ALLOWED",
            Self::AddressRefused(_) => "ADDRESS_REFUSED",
            Self::RedirectRefused(_) => "REDIRECT_REFUSED",
            Self::RequestTooLarge { .. } => "REQUEST_TOO_LARGE",
            Self::ResponseTooLarge { .. } => "RESPONSE_TOO_LARGE",
            Self::Timeout { .. } => "TIMEOUT",
            Self::Network { .. } => "NETWORK_ERROR",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

// Registered by `00_fetch.js`: the error is built as its `FetchError`.
crate::coded_js_error!(FetchOpError, "FetchError");
