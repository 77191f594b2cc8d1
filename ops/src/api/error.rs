//! What `op_api_request` answers when it refuses or fails: an `ApiError` in JS whose `code`
//! is a property set from Rust (the glue adds `status` and `body` for `HTTP_ERROR`).

/// Every way a host API call can be refused or fail before an HTTP answer comes back.
#[derive(Debug, thiserror::Error)]
pub enum ApiOpError {
    #[error("ctx.api is not available in this isolate")]
    Unavailable,
    #[error("this runtime has no host API URL (--host-api-url)")]
    NotConfigured,
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    RedirectRefused(String),
    #[error("{0}")]
    InvalidResponse(String),
    #[error("the host API response exceeds {max_bytes} bytes")]
    ResponseTooLarge { max_bytes: usize },
    #[error("the host API did not answer within {ms} ms")]
    Timeout { ms: u64 },
    #[error("cannot reach the host API: {0}")]
    Network(String),
    /// The cause is logged where it happened.
    #[error("{0}")]
    Internal(&'static str),
}

impl ApiOpError {
    /// The stable code JS sees as `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable => "UNAVAILABLE",
            Self::NotConfigured => "NOT_CONFIGURED",
            Self::InvalidPath(_) => "INVALID_PATH",
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::RedirectRefused(_) => "REDIRECT_REFUSED",
            Self::InvalidResponse(_) => "INVALID_RESPONSE",
            Self::ResponseTooLarge { .. } => "RESPONSE_TOO_LARGE",
            Self::Timeout { .. } => "TIMEOUT",
            Self::Network(_) => "NETWORK_ERROR",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

// Registered by `00_api.js`: the error is built as its `ApiError`.
crate::coded_js_error!(ApiOpError, "ApiError");
