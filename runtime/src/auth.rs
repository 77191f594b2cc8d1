//! Tokens and console sessions: the JWT verifier lives in `alga-auth` (V8-free, so it can be
//! fuzzed) and is re-exported here; the console's cookie sessions and the development-mode
//! secret stay with the runtime that serves them.

pub use alga_auth::{
    AuthError, Claims, Principal, TokenKeys, LEEWAY_SECS, MAX_ROLES, MAX_ROLE_BYTES, MAX_SUB_BYTES, MAX_TENANT_BYTES, MIN_SECRET_BYTES, TENANT_RULE,
};

pub mod session;

/// A fresh random secret for development mode: 32 random bytes as 64 hex characters.
pub fn generate_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
