//! Tokens: JWTs whose claims name the tenant, the user and their roles, verified with the
//! shared HS256 secret or, when the host keeps its own key, an Ed25519 public key.
//!
//! A crate of its own, apart from the runtime, because a token is the first untrusted input
//! a request brings: without V8 linked in, its parser can be fuzzed (`fuzz/`, target `jwt`).

use std::time::Duration;

use alga_store::TenantId;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

mod claims;

pub use claims::{LEEWAY_SECS, MAX_ROLES, MAX_ROLE_BYTES, MAX_SUB_BYTES, MAX_TENANT_BYTES, TENANT_RULE};

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

/// Why a token was not accepted. Messages are safe to show to the caller: none repeats a
/// claim's value.
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
    #[error("token algorithm (`alg` header) must be {expected}")]
    Algorithm { expected: &'static str },
    #[error("`{claim}` claim {rule}")]
    Claim { claim: &'static str, rule: String },
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// The keys that verify (and, with a shared secret, sign) tokens.
pub struct TokenKeys {
    /// `None` when only a public key is known: such a server verifies, never mints.
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    algorithm: Algorithm,
    /// Tokens already verified, with their expiry: the host sends the same token with every
    /// call of a user's session, and checking the signature again each time is most of the
    /// cost of authentication.
    verified: moka::sync::Cache<String, (Principal, i64)>,
}

/// Most verified tokens remembered, and for how long at most (expiry is still checked on
/// every use).
const VERIFIED_TOKENS: u64 = 10_000;
const VERIFIED_FOR: Duration = Duration::from_secs(60);

impl TokenKeys {
    /// Keys for HS256 tokens signed with the shared `secret`.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self::new(Some(EncodingKey::from_secret(secret)), DecodingKey::from_secret(secret), Algorithm::HS256)
    }

    /// Keys that verify EdDSA (Ed25519) tokens with the host's public key (PEM, as
    /// `openssl pkey -pubout` writes it). Only EdDSA tokens are accepted then: an HS256 token
    /// "signed" with the public key as its secret is refused by its algorithm.
    pub fn from_ed_public_pem(pem: &[u8]) -> Result<Self, AuthError> {
        let decoding = DecodingKey::from_ed_pem(pem).map_err(|_| AuthError::Invalid("not an Ed25519 public key in PEM form".into()))?;
        Ok(Self::new(None, decoding, Algorithm::EdDSA))
    }

    fn new(encoding: Option<EncodingKey>, decoding: DecodingKey, algorithm: Algorithm) -> Self {
        Self {
            encoding,
            decoding,
            algorithm,
            verified: moka::sync::Cache::builder().max_capacity(VERIFIED_TOKENS).time_to_live(VERIFIED_FOR).build(),
        }
    }

    /// The one algorithm tokens must use: `HS256` or `EdDSA`.
    pub fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            Algorithm::EdDSA => "EdDSA",
            _ => "HS256",
        }
    }

    /// Signs a token valid for `ttl` from now.
    pub fn mint(&self, tenant: &TenantId, user: &str, roles: &[String], ttl: Duration) -> Result<String, AuthError> {
        let encoding =
            self.encoding.as_ref().ok_or_else(|| AuthError::Invalid("a server that verifies with a public key cannot mint tokens".into()))?;
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).map_err(|_| AuthError::Invalid("ttl is too long".into()))?;
        let claims = Claims { tenant: tenant.to_string(), sub: user.to_owned(), roles: roles.to_vec(), exp: now.saturating_add(ttl), iat: now };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, encoding).map_err(|e| AuthError::Invalid(e.to_string()))
    }

    /// Checks algorithm, signature, expiry and every claim the runtime relies on.
    ///
    /// jsonwebtoken verifies the signature (`crypto::verify`); the claims are read here, one
    /// by one (`claims::check`), because its own claim checks report a non-numeric `exp` as a
    /// missing one and a wrong-typed claim as bad JSON, and a host developer chasing a 401
    /// deserves to be told which claim is wrong and why.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.verify_expiring(token).map(|(principal, _)| principal)
    }

    /// [`verify`](Self::verify), also answering the token's expiry (seconds since the epoch):
    /// a console session made from a token must not outlive it.
    pub fn verify_expiring(&self, token: &str) -> Result<(Principal, i64), AuthError> {
        let now = chrono::Utc::now().timestamp();
        if let Some((principal, exp)) = self.verified.get(token) {
            if now <= exp.saturating_add(LEEWAY_SECS) {
                return Ok((principal, exp));
            }
            self.verified.invalidate(token);
            return Err(AuthError::Expired);
        }
        self.check_algorithm(token)?;
        let (message, signature) = token.rsplit_once('.').ok_or_else(not_a_jwt)?;
        let (_, payload) = message.split_once('.').filter(|(_, payload)| !payload.contains('.')).ok_or_else(not_a_jwt)?;
        match jsonwebtoken::crypto::verify(signature, message.as_bytes(), &self.decoding, self.algorithm) {
            Ok(true) => {}
            Ok(false) => return Err(AuthError::Invalid("signature does not match".into())),
            Err(_) => return Err(not_a_jwt()),
        }
        let claims = base64_json(payload).ok_or_else(|| AuthError::Invalid("the claims are not base64url-encoded JSON".into()))?;
        let checked = claims::check(&claims, now)?;
        self.verified.insert(token.to_owned(), (checked.principal.clone(), checked.exp));
        Ok((checked.principal, checked.exp))
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

    /// Refuses a token whose header names another algorithm than the configured one, `none`
    /// included, before any key is used. jsonwebtoken refuses those too, but reports an
    /// algorithm it does not know (`none`) as bad JSON.
    fn check_algorithm(&self, token: &str) -> Result<(), AuthError> {
        let header = base64_json(token.split('.').next().unwrap_or_default()).ok_or_else(not_a_jwt)?;
        match header.get("alg").and_then(|alg| alg.as_str()) {
            Some(alg) if alg == self.algorithm_name() => Ok(()),
            _ => Err(AuthError::Algorithm { expected: self.algorithm_name() }),
        }
    }
}

fn not_a_jwt() -> AuthError {
    AuthError::Invalid("not a JWT (header.claims.signature, base64url)".into())
}

/// One base64url segment of a token, decoded and parsed as JSON.
fn base64_json(segment: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
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
        assert_eq!(keys().verify(none), Err(AuthError::Algorithm { expected: "HS256" }));
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
        assert!(matches!(keys().verify(&bad), Err(AuthError::Claim { claim: "tenant", .. })));
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
                Err(err @ AuthError::Claim { .. }) => assert!(err.to_string().len() < 200 && !err.to_string().contains("ttttt"), "{err}"),
                other => panic!("{claims}: {other:?}"),
            }
        }
        let ok = serde_json::json!({ "tenant": "9b1f0c6e-5a7d-4c1e-9a43-2f4d8f8b6a10", "sub": "Zoë O'Neil <zoe@x>", "roles": ["admin"], "exp": exp });
        assert!(keys().verify(&sign(&ok)).is_ok());
    }

    const HOST_KEY: &str = include_str!("../../tests/keys/host-ed25519.key");
    const HOST_PUB: &str = include_str!("../../tests/keys/host-ed25519.pub");
    const OTHER_KEY: &str = include_str!("../../tests/keys/other-ed25519.key");

    fn sign_ed(private_pem: &str, claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &EncodingKey::from_ed_pem(private_pem.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn with_a_public_key_only_eddsa_tokens_of_that_key_are_accepted() {
        let ed = TokenKeys::from_ed_public_pem(HOST_PUB.as_bytes()).unwrap();
        assert_eq!(ed.algorithm_name(), "EdDSA");
        let claims = serde_json::json!({ "tenant": "acme", "sub": "alice", "roles": ["admin"], "exp": chrono::Utc::now().timestamp() + 600 });
        let who = ed.verify(&sign_ed(HOST_KEY, &claims)).unwrap();
        assert_eq!((who.tenant.as_str(), who.user.as_str()), ("acme", "alice"));
        assert_eq!(ed.verify(&sign_ed(OTHER_KEY, &claims)), Err(AuthError::Invalid("signature does not match".into())));
        // The classic confusion: an HS256 token whose "secret" is the public key itself.
        let confused = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(HOST_PUB.as_bytes())).unwrap();
        assert_eq!(ed.verify(&confused), Err(AuthError::Algorithm { expected: "EdDSA" }));
        assert_eq!(ed.verify(&sign(&claims)), Err(AuthError::Algorithm { expected: "EdDSA" }));
        assert!(ed.mint(&TenantId::parse("acme").unwrap(), "a", &[], Duration::from_secs(60)).is_err(), "verifies only");
        // And an HS256 server refuses EdDSA tokens.
        assert_eq!(keys().verify(&sign_ed(HOST_KEY, &claims)), Err(AuthError::Algorithm { expected: "HS256" }));
        assert!(TokenKeys::from_ed_public_pem(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n").is_err());
    }
}
