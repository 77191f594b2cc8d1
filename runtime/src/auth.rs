//! Tokens: HS256 JWTs whose claims name the tenant, the user and their roles.

use std::time::Duration;

use alga_store::TenantId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Shortest accepted HS256 secret: 256 bits, the size of the MAC itself.
pub const MIN_SECRET_BYTES: usize = 32;

/// Claims of the tokens the host app sends (and `alga-ext token` mints).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub tenant: String,
    /// The user id.
    pub sub: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    #[serde(default)]
    pub iat: i64,
}

/// Who a verified request acts for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Principal {
    pub tenant: TenantId,
    pub user: String,
    pub roles: Vec<String>,
}

/// Why a token was not accepted. Messages are safe to show to the caller.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error("missing Authorization header: expected `Authorization: Bearer <token>`")]
    Missing,
    #[error("malformed Authorization header: expected `Bearer <token>`")]
    Malformed,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet (nbf)")]
    NotYetValid,
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// The signing and verifying halves of the configured secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Tokens already verified, with their expiry: the host sends the same token with every
    /// call of a user's session, and checking the MAC again each time is most of the cost
    /// of authentication.
    verified: moka::sync::Cache<String, (Principal, i64)>,
}

/// Most verified tokens remembered, and for how long at most (expiry is still checked on
/// every use).
const VERIFIED_TOKENS: u64 = 10_000;
const VERIFIED_FOR: Duration = Duration::from_secs(60);

impl TokenKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        // Only HS256 is accepted: a token may not choose its own algorithm ("none", RS256...).
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        // `nbf`, when present, is honoured with the same leeway as `exp`.
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            verified: moka::sync::Cache::builder().max_capacity(VERIFIED_TOKENS).time_to_live(VERIFIED_FOR).build(),
        }
    }

    /// Signs a token valid for `ttl` from now.
    pub fn mint(&self, tenant: &TenantId, user: &str, roles: &[String], ttl: Duration) -> Result<String, AuthError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).map_err(|_| AuthError::Invalid("ttl is too long".into()))?;
        let claims = Claims { tenant: tenant.to_string(), sub: user.to_owned(), roles: roles.to_vec(), exp: now.saturating_add(ttl), iat: now };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// Checks signature, algorithm and expiry, and that the claims name a valid tenant.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if let Some((principal, exp)) = self.verified.get(token) {
            if chrono::Utc::now().timestamp() <= exp.saturating_add(self.validation.leeway as i64) {
                return Ok(principal);
            }
            self.verified.invalidate(token);
            return Err(AuthError::Expired);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| decode_error(&e))?;
        let claims = data.claims;
        let tenant = check_claims(&claims)?;
        let principal = Principal { tenant, user: claims.sub, roles: claims.roles };
        self.verified.insert(token.to_owned(), (principal.clone(), claims.exp));
        Ok(principal)
    }

    /// Reads the token of an `Authorization` header value and verifies it.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::Malformed);
        }
        self.verify(token.trim())
    }
}

/// Longest `sub` claim accepted, in bytes.
pub const MAX_SUB_BYTES: usize = 256;
/// Most roles, and longest role name in bytes, a token may carry.
pub const MAX_ROLES: usize = 64;
pub const MAX_ROLE_BYTES: usize = 128;

/// The claims of a verified token, checked before anything uses them: a tenant id is
/// [`TenantId`]'s 1–64 characters of `[A-Za-z0-9._-]`; `sub` and roles are non-empty,
/// bounded and printable (they reach logs, spans and error details). Messages never repeat
/// the offending value: a claim is the caller's input, and may be 10 KB of anything.
fn check_claims(claims: &Claims) -> Result<TenantId, AuthError> {
    // Length first: TenantId's own error would quote the whole value.
    let tenant = (claims.tenant.len() <= 128)
        .then(|| TenantId::parse(&claims.tenant).ok())
        .flatten()
        .ok_or_else(|| AuthError::Invalid("`tenant` claim must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit".into()))?;
    if claims.sub.is_empty() || claims.sub.len() > MAX_SUB_BYTES || !printable(&claims.sub) {
        return Err(AuthError::Invalid(format!("`sub` claim must be 1-{MAX_SUB_BYTES} bytes of printable characters")));
    }
    if claims.roles.len() > MAX_ROLES || claims.roles.iter().any(|r| r.is_empty() || r.len() > MAX_ROLE_BYTES || !printable(r)) {
        return Err(AuthError::Invalid(format!(
            "`roles` claim must hold at most {MAX_ROLES} names of 1-{MAX_ROLE_BYTES} bytes of printable characters"
        )));
    }
    Ok(tenant)
}

/// No control characters (newlines would forge log lines), no line/paragraph separators
/// and no bidirectional overrides (which make a logged name read as another).
fn printable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
}

/// A fixed message per kind of failure: jsonwebtoken's own text may quote claim values
/// (serde's "invalid type: string \"…\"").
fn decode_error(err: &jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind as K;
    let reason = match err.kind() {
        K::ExpiredSignature => return AuthError::Expired,
        K::ImmatureSignature => return AuthError::NotYetValid,
        K::InvalidSignature => "signature does not match",
        K::InvalidAlgorithm | K::InvalidAlgorithmName => "algorithm must be HS256",
        K::MissingRequiredClaim(claim) if matches!(claim.as_str(), "exp" | "sub" | "nbf") => {
            return AuthError::Invalid(format!("missing `{claim}` claim"));
        }
        K::MissingRequiredClaim(_) => "a required claim is missing",
        K::Json(_) => "claims are not the expected JSON: `tenant` and `sub` strings, `roles` a list of strings, `exp` a number",
        K::InvalidToken | K::Base64(_) | K::Utf8(_) => "not a JWT",
        _ => "token not accepted",
    };
    AuthError::Invalid(reason.into())
}

/// A fresh random secret for development mode: 32 random bytes as 64 hex characters.
pub fn generate_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::from_secret(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn minted_tokens_verify_with_their_claims() {
        let tenant = TenantId::parse("acme").unwrap();
        let token = keys().mint(&tenant, "alice", &["admin".into()], Duration::from_secs(60)).unwrap();
        let who = keys().verify_header(Some(&format!("Bearer {token}"))).unwrap();
        assert_eq!(who, Principal { tenant, user: "alice".into(), roles: vec!["admin".into()] });
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let keys = keys();
        let tenant = TenantId::parse("acme").unwrap();
        let token = keys.mint(&tenant, "alice", &[], Duration::from_secs(60)).unwrap();
        assert!(keys.verify(&token).is_ok());
        // Pretend it expired (beyond the leeway) after it was verified and remembered.
        let (principal, _) = keys.verified.get(&token).unwrap();
        keys.verified.insert(token.clone(), (principal, chrono::Utc::now().timestamp() - 31));
        assert_eq!(keys.verify(&token), Err(AuthError::Expired));
        // A token differing in one signature character is checked, not looked up.
        let at = token.len() - 10;
        let swapped = if &token[at..at + 1] == "A" { "B" } else { "A" };
        let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
        assert!(matches!(keys.verify(&forged), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn tokens_signed_with_another_secret_are_refused() {
        let other = TokenKeys::from_secret(b"another-secret-another-secret-xx");
        let token = other.mint(&TenantId::parse("acme").unwrap(), "a", &[], Duration::from_secs(60)).unwrap();
        assert!(matches!(keys().verify(&token), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let claims = Claims { tenant: "acme".into(), sub: "a".into(), roles: vec![], exp: 1_000, iat: 0 };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef")).unwrap();
        assert_eq!(keys().verify(&token), Err(AuthError::Expired));
    }

    #[test]
    fn unsigned_tokens_and_bad_headers_are_refused() {
        // {"alg":"none"} . {"tenant":"acme","sub":"a","exp":9999999999} . (no signature)
        let none = "eyJhbGciOiJub25lIn0.eyJ0ZW5hbnQiOiJhY21lIiwic3ViIjoiYSIsImV4cCI6OTk5OTk5OTk5OX0.";
        assert!(matches!(keys().verify(none), Err(AuthError::Invalid(_))));
        assert_eq!(keys().verify_header(None), Err(AuthError::Missing));
        assert_eq!(keys().verify_header(Some("Basic abc")), Err(AuthError::Malformed));
        assert_eq!(keys().verify_header(Some("Bearer ")), Err(AuthError::Malformed));
    }

    #[test]
    fn tokens_with_an_invalid_tenant_are_refused() {
        let token = keys().mint(&TenantId::parse("acme").unwrap(), "a", &[], Duration::from_secs(60)).unwrap();
        assert!(keys().verify(&token).is_ok());
        let claims = Claims { tenant: "../etc".into(), sub: "a".into(), roles: vec![], exp: i64::MAX / 2, iat: 0 };
        let bad =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef")).unwrap();
        assert!(matches!(keys().verify(&bad), Err(AuthError::Invalid(_))));
    }
    fn sign(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef")).unwrap()
    }

    #[test]
    fn tokens_not_valid_yet_are_refused_beyond_the_leeway() {
        let now = chrono::Utc::now().timestamp();
        let claims = |nbf: i64| serde_json::json!({ "tenant": "acme", "sub": "a", "exp": now + 600, "nbf": nbf });
        assert_eq!(keys().verify(&sign(&claims(now + 120))), Err(AuthError::NotYetValid));
        assert!(keys().verify(&sign(&claims(now + 10))).is_ok(), "within the leeway, like exp");
        assert!(keys().verify(&sign(&claims(now - 10))).is_ok());
    }

    #[test]
    fn claims_must_be_bounded_and_printable_and_are_never_echoed() {
        let exp = chrono::Utc::now().timestamp() + 600;
        let huge = "t".repeat(10 * 1024);
        let cases = [
            serde_json::json!({ "tenant": huge, "sub": "a", "exp": exp }),
            serde_json::json!({ "tenant": "acme", "sub": huge, "exp": exp }),
            serde_json::json!({ "tenant": "acme", "sub": "alice\n2024-01-01 INFO forged", "exp": exp }),
            serde_json::json!({ "tenant": "acme", "sub": "a\u{202e}b", "exp": exp }),
            serde_json::json!({ "tenant": "acme", "sub": "", "exp": exp }),
            serde_json::json!({ "tenant": "acme", "sub": "a", "roles": [huge], "exp": exp }),
            serde_json::json!({ "tenant": "acme", "sub": "a", "roles": ["a\rb"], "exp": exp }),
            serde_json::json!({ "tenant": "ac\u{0}me", "sub": "a", "exp": exp }),
            serde_json::json!({ "tenant": "acme", "sub": "a", "roles": huge, "exp": exp }),
            serde_json::json!({ "tenant": 7, "sub": huge, "exp": exp }),
        ];
        for claims in cases {
            match keys().verify(&sign(&claims)) {
                Err(AuthError::Invalid(message)) => assert!(message.len() < 200 && !message.contains("ttttt"), "{message}"),
                other => panic!("{claims}: {other:?}"),
            }
        }
        let ok = serde_json::json!({ "tenant": "9b1f0c6e-5a7d-4c1e-9a43-2f4d8f8b6a10", "sub": "Zoë O'Neil <zoe@x>", "roles": ["admin"], "exp": exp });
        assert!(keys().verify(&sign(&ok)).is_ok());
    }
}
