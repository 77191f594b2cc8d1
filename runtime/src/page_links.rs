//! Signed page URLs: a handler-rendered page is fetched by the host's iframe without a bearer token, so its URL carries a short-lived signature for one tenant, user and extension.
//!
//! The signature is an HS256 JWT (`?t=`) under a key of its own — derived from the
//! configured secret with a fixed label, or given with `--page-url-secret` — so a page
//! token is never accepted as an API token, nor an API token as a page token.

use std::time::Duration;

use alga_store::TenantId;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

/// How long a signed page URL stays valid.
pub const PAGE_URL_TTL: Duration = Duration::from_secs(300);

/// Audience of page tokens; API tokens carry none, so neither passes for the other.
const AUDIENCE: &str = "alga-ext:page";

/// What a page URL was signed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageClaims {
    pub tenant: String,
    pub sub: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// The install id of the extension whose pages the URL may open.
    pub ext: Uuid,
    pub exp: i64,
    pub aud: String,
}

/// Why a page URL was refused. Messages are safe to show to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageLinkError {
    #[error("the page URL has no signature (`?t=`); ask /api/ui/pages for a fresh URL")]
    Missing,
    #[error("the page URL has expired; ask /api/ui/pages for a fresh URL")]
    Expired,
    #[error("the page URL's signature is not valid")]
    Invalid,
    #[error("the page URL was signed for another extension")]
    OtherExtension,
}

/// Signs and checks page URLs.
pub struct PageLinks {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl PageLinks {
    /// Keys derived from `secret` (the JWT secret or `--page-url-secret`) with a fixed label.
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
        mac.update(b"alga-ext page url signing v1");
        let key = mac.finalize().into_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 5;
        Self { encoding: EncodingKey::from_secret(&key), decoding: DecodingKey::from_secret(&key), validation }
    }

    /// Keys no other node knows: page URLs then open only on this process.
    pub fn random() -> Self {
        Self::from_secret(crate::auth::generate_secret().as_bytes())
    }

    /// A token for `?t=`, valid for [`PAGE_URL_TTL`].
    pub fn sign(&self, tenant: &TenantId, user: &str, roles: &[String], extension: Uuid) -> String {
        let exp = chrono::Utc::now().timestamp() + PAGE_URL_TTL.as_secs() as i64;
        let claims =
            PageClaims { tenant: tenant.to_string(), sub: user.to_owned(), roles: roles.to_vec(), ext: extension, exp, aud: AUDIENCE.to_owned() };
        // Encoding HS256 claims of plain strings cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
    }

    /// Checks a token for the pages of install `extension`.
    pub fn verify(&self, token: Option<&str>, extension: Uuid) -> Result<PageClaims, PageLinkError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(PageLinkError::Missing)?;
        let claims = jsonwebtoken::decode::<PageClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => PageLinkError::Expired,
                _ => PageLinkError::Invalid,
            })?
            .claims;
        if claims.ext != extension {
            return Err(PageLinkError::OtherExtension);
        }
        Ok(claims)
    }
}

/// A query without its `t` pairs (however the name is percent-encoded), the other pairs kept
/// as sent: the host's own `t` must not pass for the signature, and the signature must not
/// reach the page's handler.
pub fn without_signature(query: &str) -> String {
    let signature = |pair: &&str| {
        let name = pair.split('=').next().unwrap_or_default();
        deno_core::url::form_urlencoded::parse(name.as_bytes()).next().is_some_and(|(name, _)| name == "t")
    };
    query.split('&').filter(|pair| !pair.is_empty() && !signature(pair)).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_taken_out_of_a_query_and_the_rest_kept_as_sent() {
        assert_eq!(super::without_signature("q=7&t=abc&x=a%20b"), "q=7&x=a%20b");
        assert_eq!(super::without_signature("t&%74=1&&tt=2"), "tt=2");
        assert_eq!(super::without_signature("t=1"), "");
    }

    use super::*;

    #[test]
    fn a_page_url_opens_only_its_extension_and_only_under_its_key() {
        let links = PageLinks::from_secret(b"0123456789abcdef0123456789abcdef");
        let tenant = TenantId::parse("acme").unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let token = links.sign(&tenant, "u1", &["admin".into()], a);
        let claims = links.verify(Some(&token), a).unwrap();
        assert_eq!((claims.tenant.as_str(), claims.sub.as_str(), claims.roles.as_slice()), ("acme", "u1", &["admin".to_owned()][..]));
        assert_eq!(links.verify(Some(&token), b), Err(PageLinkError::OtherExtension));
        assert_eq!(links.verify(None, a), Err(PageLinkError::Missing));
        let other = PageLinks::from_secret(b"another secret of thirty-two bytes!");
        assert_eq!(other.verify(Some(&token), a), Err(PageLinkError::Invalid));
        let mut tampered = token.clone();
        tampered.push('x');
        assert_eq!(links.verify(Some(&tampered), a), Err(PageLinkError::Invalid));
    }

    #[test]
    fn an_api_token_signed_with_the_same_secret_is_not_a_page_token() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let api = crate::auth::TokenKeys::from_secret(secret);
        let api_token = api.mint(&TenantId::parse("acme").unwrap(), "u1", &[], Duration::from_secs(60)).unwrap();
        let links = PageLinks::from_secret(secret);
        assert_eq!(links.verify(Some(&api_token), Uuid::new_v4()), Err(PageLinkError::Invalid));
        let page_token = links.sign(&TenantId::parse("acme").unwrap(), "u1", &[], Uuid::new_v4());
        assert!(api.verify(&page_token).is_err(), "a page token must not authenticate API calls");
    }

    #[test]
    fn an_expired_page_url_is_refused_as_expired() {
        let links = PageLinks::from_secret(b"0123456789abcdef0123456789abcdef");
        let ext = Uuid::new_v4();
        let claims = PageClaims {
            tenant: "acme".into(),
            sub: "u1".into(),
            roles: vec![],
            ext,
            exp: chrono::Utc::now().timestamp() - 60,
            aud: AUDIENCE.into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &links.encoding).unwrap();
        assert_eq!(links.verify(Some(&token), ext), Err(PageLinkError::Expired));
    }
}
