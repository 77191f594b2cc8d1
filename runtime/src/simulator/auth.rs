//! How the simulator checks a call the way the host app would: the per-call HS256 token
//! (`iss`, `aud`, expiry, every claim the runtime sets), the `x-alga-extension` header, and
//! the capability the method and path need against the token's `capabilities`.

use alga_ops::api::ApiClaims;
use axum::http::{HeaderMap, Method, StatusCode};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::SimError;

/// The issuer and audience of the tokens `ctx.api` sends (see `op_api_request`).
pub const ISSUER: &str = "alga-ext";
pub const AUDIENCE: &str = "alga-host-api";

/// Verifies tokens signed with the host API secret.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl Verifier {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        // Tokens live 60 seconds; a few seconds of clock skew is all a host should allow.
        validation.leeway = 5;
        Self { key: DecodingKey::from_secret(secret), validation }
    }

    /// The claims of a call that may go ahead: a valid token whose capabilities cover
    /// `method` on `path`. Refusals are 401 (who is calling is unknown) or 403 (known, not
    /// allowed), in the runtime's error shape.
    pub fn authorize(&self, method: &Method, path: &str, headers: &HeaderMap) -> Result<ApiClaims, SimError> {
        let unauthenticated = |message: String| SimError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
        let header = headers.get("authorization").ok_or_else(|| unauthenticated("the call has no Authorization header".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| unauthenticated("the Authorization header is not \"Bearer <token>\"".into()))?;
        let claims = jsonwebtoken::decode::<ApiClaims>(token, &self.key, &self.validation)
            .map_err(|e| SimError::new(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", format!("the token is not valid here: {e}")))?
            .claims;
        for (name, value) in [("tenant", &claims.tenant), ("sub", &claims.sub), ("extension", &claims.extension)] {
            if value.is_empty() {
                return Err(SimError::new(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", format!("the token's {name} claim is empty")));
            }
        }
        let named = headers.get("x-alga-extension").and_then(|v| v.to_str().ok()).unwrap_or("");
        if named != claims.extension {
            return Err(SimError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_TOKEN",
                format!("the x-alga-extension header ({named:?}) does not name the token's extension ({:?})", claims.extension),
            ));
        }
        let needed = alga_ops::api::capability_for(method.as_str(), path).map_err(|e| SimError::new(StatusCode::NOT_FOUND, "NOT_FOUND", e))?;
        if !claims.capabilities.contains(&needed) {
            return Err(SimError::new(
                StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
                format!("{method} {path} needs the {needed} capability, which the token of {} does not carry", claims.extension),
            )
            .with_details(serde_json::json!({ "capability": needed })));
        }
        Ok(claims)
    }
}
