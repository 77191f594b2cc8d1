//! Admin console sessions: one-time sign-in codes and the signed `HttpOnly` cookie that stands in for a bearer token in the browser.
//!
//! The cookie carries its own claims (tenant, user, roles, expiry) under an HMAC-SHA256 of a
//! key derived from the server's secret, so every node that shares the secret accepts it and
//! no session table is needed. Browser script never sees a token: the console posts a pasted
//! token once, or opens a one-time link, and from then on only the cookie travels.

use std::time::Duration;

use alga_store::TenantId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Principal;

/// The cookie's name.
pub const COOKIE: &str = "alga_console";
/// The header every cookie-authenticated request must carry. A cross-origin page cannot
/// send it: it is not in the CORS allowlist, so the browser would need a preflight we refuse.
pub const CSRF_HEADER: &str = "x-alga-console";
/// The longest a console session lasts, whatever the token it came from allowed.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// How long a sign-in link printed by `serve --dev` stays usable.
pub const LOGIN_CODE_TTL: Duration = Duration::from_secs(15 * 60);
/// Browsers drop cookies above ~4 KB; a principal that does not fit is refused up front.
const MAX_COOKIE_BYTES: usize = 3800;
/// Outstanding sign-in codes kept at most (each start of `serve --dev` makes one).
const MAX_LOGIN_CODES: u64 = 1000;

/// What the cookie says, in short field names to keep it small.
#[derive(Debug, Serialize, Deserialize)]
struct SessionClaims {
    t: String,
    u: String,
    r: Vec<String>,
    exp: i64,
}

/// A signed-in console user and when their session ends (seconds since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub principal: Principal,
    pub expires_at: i64,
}

/// Why a cookie or a sign-in code was not accepted. Messages are safe to show.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("the console session has expired; sign in again")]
    Expired,
    #[error("the console session cookie is not valid; sign in again")]
    Invalid,
    #[error("the user has too many roles to fit in a console session cookie")]
    TooLarge,
}

/// Signs and checks console session cookies; keeps the one-time sign-in codes.
pub struct ConsoleSessions {
    key: Vec<u8>,
    codes: moka::sync::Cache<String, Principal>,
}

impl ConsoleSessions {
    /// Sessions signed with a key derived from `secret` under a label of its own, so a
    /// session cookie is never a valid token or page URL signature, nor the reverse.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
        mac.update(b"alga-ext console session v1");
        Self::with_key(mac.finalize().into_bytes().to_vec())
    }

    /// Sessions under a random key: valid only for this process (tests, embedded servers).
    pub fn ephemeral() -> Self {
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::with_key(key)
    }

    fn with_key(key: Vec<u8>) -> Self {
        let codes = moka::sync::Cache::builder().max_capacity(MAX_LOGIN_CODES).time_to_live(LOGIN_CODE_TTL).build();
        Self { key, codes }
    }

    /// A fresh single-use code that signs `principal` in, valid for [`LOGIN_CODE_TTL`].
    pub fn issue_login_code(&self, principal: Principal) -> String {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let code = URL_SAFE_NO_PAD.encode(raw);
        self.codes.insert(code.clone(), principal);
        code
    }

    /// The principal a code signs in; the code is spent whether or not it is used further.
    pub fn redeem_login_code(&self, code: &str) -> Option<Principal> {
        self.codes.remove(code)
    }

    /// The cookie value of a session for `principal` ending at `expires_at`.
    pub fn seal(&self, principal: &Principal, expires_at: i64) -> Result<String, SessionError> {
        let claims = SessionClaims { t: principal.tenant.to_string(), u: principal.user.clone(), r: principal.roles.clone(), exp: expires_at };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).map_err(|_| SessionError::Invalid)?);
        let value = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes())));
        if value.len() > MAX_COOKIE_BYTES {
            return Err(SessionError::TooLarge);
        }
        Ok(value)
    }

    /// Checks a cookie value's signature and expiry at `now` (seconds since the epoch).
    pub fn open(&self, value: &str, now: i64) -> Result<Session, SessionError> {
        let (payload, signature) = value.split_once('.').ok_or(SessionError::Invalid)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| SessionError::Invalid)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(payload.as_bytes());
        // Constant-time comparison: the signature check must not leak how much of it matched.
        mac.verify_slice(&signature).map_err(|_| SessionError::Invalid)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| SessionError::Invalid)?;
        let claims: SessionClaims = serde_json::from_slice(&bytes).map_err(|_| SessionError::Invalid)?;
        if claims.exp <= now {
            return Err(SessionError::Expired);
        }
        let tenant = TenantId::parse(&claims.t).map_err(|_| SessionError::Invalid)?;
        Ok(Session { principal: Principal { tenant, user: claims.u, roles: claims.r }, expires_at: claims.exp })
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
}

/// The value of the cookie named [`COOKIE`] in a `Cookie` request header, if any.
pub fn cookie_value(header: &str) -> Option<&str> {
    header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(name, _)| *name == COOKIE).map(|(_, value)| value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Principal {
        Principal { tenant: TenantId::parse("acme").unwrap(), user: "alice".into(), roles: vec!["admin".into()] }
    }

    #[test]
    fn a_sealed_session_opens_until_it_expires() {
        let sessions = ConsoleSessions::from_secret(b"0123456789abcdef0123456789abcdef");
        let cookie = sessions.seal(&alice(), 1_000).unwrap();
        assert_eq!(sessions.open(&cookie, 999).unwrap(), Session { principal: alice(), expires_at: 1_000 });
        assert_eq!(sessions.open(&cookie, 1_000), Err(SessionError::Expired));
    }

    #[test]
    fn a_changed_or_foreign_cookie_is_refused() {
        let sessions = ConsoleSessions::from_secret(b"0123456789abcdef0123456789abcdef");
        let cookie = sessions.seal(&alice(), 1_000).unwrap();
        let (payload, signature) = cookie.split_once('.').unwrap();
        // The same signature over other claims (roles widened) does not verify.
        let forged = URL_SAFE_NO_PAD.encode(br#"{"t":"acme","u":"alice","r":["admin","owner"],"exp":1000}"#);
        assert_eq!(sessions.open(&format!("{forged}.{signature}"), 0), Err(SessionError::Invalid));
        assert_eq!(sessions.open(payload, 0), Err(SessionError::Invalid));
        let other = ConsoleSessions::from_secret(b"another secret of thirty-two bytes!");
        assert_eq!(other.open(&cookie, 0), Err(SessionError::Invalid));
    }

    #[test]
    fn a_login_code_works_once() {
        let sessions = ConsoleSessions::ephemeral();
        let code = sessions.issue_login_code(alice());
        assert_eq!(sessions.redeem_login_code(&code), Some(alice()));
        assert_eq!(sessions.redeem_login_code(&code), None);
        assert_eq!(sessions.redeem_login_code("made-up"), None);
    }

    #[test]
    fn a_principal_too_large_for_a_cookie_is_refused() {
        let mut big = alice();
        big.roles = (0..64).map(|i| format!("{i:0>120}")).collect();
        assert_eq!(ConsoleSessions::ephemeral().seal(&big, 1_000), Err(SessionError::TooLarge));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        assert_eq!(cookie_value("a=1; alga_console=xyz.abc; b=2"), Some("xyz.abc"));
        assert_eq!(cookie_value("alga_console_x=1"), None);
    }
}
