//! Web platform globals for extension code: `atob`/`btoa`, `TextEncoder`/`TextDecoder`,
//! `structuredClone`, timers, `crypto` (with `crypto.subtle` digests and HMAC), `URL`/
//! `URLSearchParams`, `Headers`, `Request`, `Response`, events and `AbortController`,
//! `queueMicrotask`, `performance`. Most are JS over deno_core's built-ins; randomness, URL
//! parsing and the crypto primitives are ops.

mod subtle;

use subtle::{op_crypto_digest, op_crypto_hmac_sign, op_crypto_hmac_verify};

use deno_core::op2;
use deno_core::url::Url;
use deno_error::JsErrorBox;
use serde::Serialize;

deno_core::extension!(
    alga_web,
    ops = [op_crypto_random_uuid, op_crypto_get_random_values, op_url_parse, op_crypto_digest, op_crypto_hmac_sign, op_crypto_hmac_verify, op_base64_encode, op_base64_decode],
    esm_entry_point = "ext:alga_web/00_web.js",
    esm = [dir "src/web", "00_web.js", "01_events.js", "02_subtle.js"],
);

/// Base64 of bytes: how binary bodies cross the JSON boundary between Rust and the
/// dispatcher (far faster than doing it in JS).
#[op2]
#[string]
fn op_base64_encode(#[buffer] data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[op2]
#[buffer]
fn op_base64_decode(#[string] text: &str) -> Result<Vec<u8>, JsErrorBox> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| JsErrorBox::type_error(format!("invalid base64: {e}")))
}

/// Largest `getRandomValues` request, as in the Web Crypto spec.
const MAX_RANDOM_BYTES: usize = 65_536;

#[op2]
#[string]
fn op_crypto_random_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[op2(fast)]
fn op_crypto_get_random_values(#[buffer] out: &mut [u8]) -> Result<(), JsErrorBox> {
    if out.len() > MAX_RANDOM_BYTES {
        // The JS side throws the spec's QuotaExceededError first; this guards the op itself.
        return Err(JsErrorBox::range_error(format!("getRandomValues: {} bytes requested; at most {MAX_RANDOM_BYTES}", out.len())));
    }
    rand::RngCore::fill_bytes(&mut rand::rng(), out);
    Ok(())
}

/// The parts of a parsed URL, as the JS `URL` class exposes them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UrlParts {
    href: String,
    origin: String,
    protocol: String,
    username: String,
    password: String,
    host: String,
    hostname: String,
    port: String,
    pathname: String,
    search: String,
    hash: String,
}

#[op2]
#[serde]
fn op_url_parse(#[string] href: &str, #[string] base: Option<String>) -> Result<UrlParts, JsErrorBox> {
    let parsed = match base {
        Some(base) => Url::parse(&base).and_then(|b| b.join(href)),
        None => Url::parse(href),
    }
    .map_err(|e| JsErrorBox::type_error(format!("Invalid URL {href:?}: {e}")))?;
    let prefixed = |prefix: &str, part: Option<&str>| part.filter(|p| !p.is_empty()).map(|p| format!("{prefix}{p}")).unwrap_or_default();
    Ok(UrlParts {
        origin: parsed.origin().ascii_serialization(),
        protocol: format!("{}:", parsed.scheme()),
        username: parsed.username().to_owned(),
        password: parsed.password().unwrap_or_default().to_owned(),
        host: match (parsed.host_str(), parsed.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => String::new(),
        },
        hostname: parsed.host_str().unwrap_or_default().to_owned(),
        port: parsed.port().map(|p| p.to_string()).unwrap_or_default(),
        pathname: parsed.path().to_owned(),
        search: prefixed("?", parsed.query()),
        hash: prefixed("#", parsed.fragment()),
        href: parsed.into(),
    })
}
