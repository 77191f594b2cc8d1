//! Fuzz target: host tokens through `TokenKeys`, the verifier every host request meets. The
//! first byte picks how the rest is used: as a raw `Authorization` header (HS256), as a raw
//! token for the EdDSA verifier, or — since a fuzzer cannot forge an HMAC — as the claims (and
//! header) of a token this target signs with the fixed secret, so the parsing and the claim
//! checks behind the signature see fuzzed bytes too.
#![no_main]

use std::sync::LazyLock;

use alga_auth::{AuthError, Principal, TokenKeys, MAX_ROLES, MAX_ROLE_BYTES, MAX_SUB_BYTES, MAX_TENANT_BYTES};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

static HS256: LazyLock<TokenKeys> = LazyLock::new(|| TokenKeys::from_secret(SECRET));
static EDDSA: LazyLock<TokenKeys> =
    LazyLock::new(|| TokenKeys::from_ed_public_pem(include_bytes!("../../tests/keys/host-ed25519.pub")).expect("the test key parses"));
static SIGNING: LazyLock<EncodingKey> = LazyLock::new(|| EncodingKey::from_secret(SECRET));

/// `header.claims.signature` with both parts as given, signed with the fixed secret.
fn signed(header: &[u8], claims: &[u8]) -> String {
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &SIGNING, Algorithm::HS256).expect("HMAC signing cannot fail");
    format!("{message}.{signature}")
}

/// What every answer must satisfy: an accepted principal keeps the claim limits, and a
/// refusal's message stays short (it never repeats a claim's value, which may be 10 KB).
fn check(result: Result<Principal, AuthError>) {
    match result {
        Ok(who) => {
            assert!(!who.tenant.as_str().is_empty() && who.tenant.as_str().len() <= MAX_TENANT_BYTES);
            assert!(!who.user.is_empty() && who.user.len() <= MAX_SUB_BYTES, "sub of {} bytes", who.user.len());
            assert!(who.roles.len() <= MAX_ROLES && who.roles.iter().all(|r| !r.is_empty() && r.len() <= MAX_ROLE_BYTES));
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.len() < 256, "a {}-byte message: {message:.300}", message.len());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 => check(HS256.verify_header(Some(&String::from_utf8_lossy(rest)))),
        1 => check(EDDSA.verify(&String::from_utf8_lossy(rest))),
        2 => {
            let token = signed(br#"{"alg":"HS256","typ":"JWT"}"#, rest);
            let first = HS256.verify(&token);
            // The second answer may come from the verified-token cache: it must agree.
            assert_eq!(HS256.verify(&token).is_ok(), first.is_ok());
            check(first);
        }
        _ => {
            // The header and the claims, split at the first NUL.
            let (header, claims) = match rest.iter().position(|b| *b == 0) {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &b"{}"[..]),
            };
            check(HS256.verify(&signed(header, claims)));
        }
    }
});
