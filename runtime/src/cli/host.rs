//! Flags that harden the host-facing surface: the per-tenant rate limit, request body and
//! header limits, CORS for browser callers, and the public key that verifies host tokens.

use std::path::PathBuf;

use clap::Args;

/// Limits and policies of the routes the host app calls for its users.
#[derive(Debug, Clone, Args)]
pub struct HostArgs {
    /// Requests per second one tenant may make, sustained, to host-facing routes (extension
    /// endpoints, /v1/me); past its burst a tenant gets 429 RATE_LIMITED with Retry-After.
    /// Counted by each node on its own. 0 turns the limit off.
    #[arg(long, env = "ALGA_EXT_RATE_LIMIT_PER_SECOND", default_value_t = 100)]
    pub rate_limit_per_second: u32,

    /// Requests one tenant may make at once before the sustained rate applies (the size of
    /// its token bucket). 0: the same as --rate-limit-per-second.
    #[arg(long, env = "ALGA_EXT_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,

    /// Largest request body of an extension endpoint call, in bytes; a bigger one gets
    /// 413 BODY_TOO_LARGE before the extension runs. Tenant admins may set another limit
    /// per extension (`maxBodyBytes` in PUT /admin/v1/extensions/{id}/limits).
    #[arg(long, env = "ALGA_EXT_ENDPOINT_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub endpoint_max_body_bytes: u64,

    /// Highest body limit a tenant admin may set for one extension, in bytes.
    #[arg(long, env = "ALGA_EXT_MAX_ENDPOINT_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_endpoint_body_bytes: u64,

    /// Largest request head (request line and all headers), in bytes; a bigger one gets
    /// 431 and the connection is closed. At least 8192.
    #[arg(long, env = "ALGA_EXT_HTTP_MAX_HEADER_BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(8192..=16 * 1024 * 1024))]
    pub http_max_header_bytes: u64,

    /// Most header lines in one request; more get 431 and the connection is closed.
    #[arg(long, env = "ALGA_EXT_HTTP_MAX_HEADERS", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub http_max_headers: u16,

    /// Browser origins allowed to call the API directly (CORS), comma-separated, e.g.
    /// `https://psa.example.com`. Empty: no CORS headers at all, for hosts that proxy.
    #[arg(long, env = "ALGA_EXT_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// An Ed25519 public key (PEM file) that verifies the host's tokens, so the host need
    /// not share a secret: only EdDSA tokens signed by its private key are accepted then.
    #[arg(long, env = "ALGA_EXT_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,
}

impl HostArgs {
    /// Applies the endpoint body limit and its ceiling to the pool's configuration (they
    /// travel with the other per-extension limits, which tenant admins override together).
    pub fn apply(&self, pool: &mut crate::pool::PoolConfig) {
        pool.limits.body_max_bytes = self.endpoint_max_body_bytes;
        pool.ceilings.max_body_bytes = self.max_endpoint_body_bytes;
    }
}
