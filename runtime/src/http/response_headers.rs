//! What an extension's answer may put on the wire: the status range and the allow-list of response headers.
//!
//! An extension runs on the host's origin, so the headers it sets are the host's headers.
//! Connection-level headers (`connection`, `upgrade`, `transfer-encoding`, …) would let it
//! desynchronize or hijack the connection; the security headers (HSTS, CORS, CSP, framing)
//! are the host's policy for the whole origin. Hence an allow-list, not a deny-list: a
//! header nobody thought about is dropped, not passed through.

use axum::http::{HeaderName, HeaderValue, StatusCode};

/// Response headers an extension may set, by exact (lower-case) name. Custom `x-*` names
/// are allowed too unless [`HOST_OWNED`] lists them.
pub const ALLOWED: &[&str] = &[
    "content-type",
    "content-language",
    "content-disposition",
    "content-encoding",
    "cache-control",
    "etag",
    "last-modified",
    "expires",
    "vary",
    "location",
    "link",
    "retry-after",
    "www-authenticate",
    // Only without a `Domain` attribute: a cookie for another (or a parent) domain is refused.
    "set-cookie",
];

/// Headers the host owns even though their names start with `x-`.
pub const HOST_OWNED: &[&str] = &[
    "x-frame-options",
    "x-content-type-options",
    "x-xss-protection",
    "x-permitted-cross-domain-policies",
    "x-dns-prefetch-control",
    "x-download-options",
];

/// Longest header value passed on; longer ones are dropped (hyper would send them, but no
/// legitimate handler needs one, and proxies refuse oversized header blocks).
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// Most headers taken from one answer.
pub const MAX_HEADERS: usize = 100;

/// Why a header of an extension's answer was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not on the allow-list (connection-level, host-owned or unknown).
    NotAllowed,
    /// Empty, too long, not ASCII, or holding a control character.
    BadValue,
    /// A `Set-Cookie` with a `Domain` attribute.
    CookieDomain,
    /// A `Set-Cookie` of the admin console's session cookie: an extension could plant its
    /// own admin's session in a victim's console (which would then act on that tenant).
    ConsoleCookie,
    /// More than [`MAX_HEADERS`].
    TooMany,
}

/// Whether an extension may send a header of this (lower-case) name.
pub fn name_allowed(name: &str) -> bool {
    ALLOWED.contains(&name) || (name.starts_with("x-") && name.len() > 2 && !HOST_OWNED.contains(&name))
}

/// Whether a header may appear more than once (list-valued, or one cookie per header);
/// for the others the first value wins.
pub fn repeatable(name: &str) -> bool {
    matches!(name, "set-cookie" | "vary" | "link" | "cache-control" | "www-authenticate") || name.starts_with("x-")
}

/// Checks one header of an extension's answer; `Ok` carries it ready for the response.
pub fn check(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Refusal> {
    let name = HeaderName::try_from(name.to_ascii_lowercase()).map_err(|_| Refusal::NotAllowed)?;
    if !name_allowed(name.as_str()) {
        return Err(Refusal::NotAllowed);
    }
    // Visible ASCII and spaces only: no CR/LF/NUL (header injection), no tabs or DEL, and no
    // bytes above 0x7f, whose meaning differs between clients.
    if value.is_empty() || value.len() > MAX_VALUE_BYTES || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(Refusal::BadValue);
    }
    if name == axum::http::header::SET_COOKIE && has_domain_attribute(value) {
        return Err(Refusal::CookieDomain);
    }
    if name == axum::http::header::SET_COOKIE && names_console_cookie(value) {
        return Err(Refusal::ConsoleCookie);
    }
    let value = HeaderValue::from_str(value).map_err(|_| Refusal::BadValue)?;
    Ok((name, value))
}

/// Whether a `Set-Cookie` sets the console's session cookie, under any prefix or case.
fn names_console_cookie(cookie: &str) -> bool {
    let name = cookie.split(';').next().and_then(|pair| pair.split_once('=')).map_or("", |(name, _)| name.trim()).to_ascii_lowercase();
    let bare = name.trim_start_matches("__host-").trim_start_matches("__secure-");
    bare == crate::auth::session::COOKIE
}

/// Whether a `Set-Cookie` value carries a `Domain` attribute (in any case, with or without
/// a value: browsers ignore an empty one, but nothing legitimate sends it).
fn has_domain_attribute(cookie: &str) -> bool {
    cookie.split(';').skip(1).any(|attribute| {
        let name = attribute.split_once('=').map_or(attribute, |(name, _)| name);
        name.trim().eq_ignore_ascii_case("domain")
    })
}

/// The status of an extension's answer when it is one the host sends: 200–599. 1xx would
/// switch or confuse the connection (101 hands it over), and anything else is not HTTP.
pub fn status(code: u16) -> Option<StatusCode> {
    (200..=599).contains(&code).then(|| StatusCode::from_u16(code).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_and_caching_headers_pass() {
        for (name, value) in [
            ("Content-Type", "text/html; charset=utf-8"),
            ("cache-control", "no-store"),
            ("ETag", "\"abc\""),
            ("location", "/elsewhere"),
            ("vary", "accept"),
            ("x-extension", "yes"),
            ("set-cookie", "sid=1; Path=/; HttpOnly; Secure; SameSite=Lax"),
            ("www-authenticate", "Bearer"),
        ] {
            let (n, v) = check(name, value).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!((n.as_str(), v.to_str().unwrap()), (name.to_ascii_lowercase().as_str(), value));
        }
    }

    #[test]
    fn connection_level_headers_are_refused() {
        for name in [
            "connection",
            "upgrade",
            "keep-alive",
            "transfer-encoding",
            "te",
            "trailer",
            "proxy-authenticate",
            "proxy-connection",
            "content-length",
            "host",
            "date",
            "server",
            "alt-svc",
        ] {
            assert_eq!(check(name, "x").unwrap_err(), Refusal::NotAllowed, "{name}");
        }
    }

    #[test]
    fn host_owned_security_headers_are_refused() {
        for name in [
            "strict-transport-security",
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-expose-headers",
            "content-security-policy",
            "content-security-policy-report-only",
            "x-frame-options",
            "X-Content-Type-Options",
            "permissions-policy",
            "cross-origin-opener-policy",
            "cross-origin-resource-policy",
            "cross-origin-embedder-policy",
            "referrer-policy",
            "x-",
        ] {
            assert_eq!(check(name, "x").unwrap_err(), Refusal::NotAllowed, "{name}");
        }
    }

    #[test]
    fn cookies_for_a_domain_are_refused() {
        for cookie in ["sid=1; Domain=evil.example", "sid=1; path=/; domain=.example.com", "sid=1;DOMAIN", "a=b; Domain="] {
            assert_eq!(check("set-cookie", cookie).unwrap_err(), Refusal::CookieDomain, "{cookie}");
        }
        // A cookie *value* that mentions the word is not an attribute.
        assert!(check("set-cookie", "domain=example.com; Path=/").is_ok());
        for planted in ["alga_console=v.s; Path=/admin/v1", "ALGA_CONSOLE=x", " alga_console =x", "__Host-alga_console=x; Path=/; Secure"] {
            assert_eq!(check("set-cookie", planted).unwrap_err(), Refusal::ConsoleCookie, "{planted}");
        }
        assert!(check("set-cookie", "alga_console_prefs=dark; Path=/").is_ok());
    }

    #[test]
    fn values_with_control_characters_or_odd_bytes_are_refused() {
        let long = "a".repeat(MAX_VALUE_BYTES + 1);
        for value in ["a\r\nx-injected: 1", "a\nb", "a\0b", "a\tb", "a\u{7f}", "caf\u{e9}", "", long.as_str()] {
            assert_eq!(check("x-ok", value).unwrap_err(), Refusal::BadValue, "{value:?}");
        }
        assert_eq!(check("bad name", "x").unwrap_err(), Refusal::NotAllowed);
    }

    #[test]
    fn only_final_statuses_are_sent() {
        for code in [200, 201, 204, 301, 404, 418, 500, 599] {
            assert_eq!(status(code).map(|s| s.as_u16()), Some(code));
        }
        for code in [0, 99, 100, 101, 103, 199, 600, 999, 1000, u16::MAX] {
            assert_eq!(status(code), None, "{code}");
        }
    }
}
