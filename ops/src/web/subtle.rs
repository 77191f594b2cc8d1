//! The ops behind `crypto.subtle`: SHA digests and HMAC, on bytes the JS side has copied.
//! They run synchronously on the isolate's thread, so their time counts as the request's CPU.

use deno_core::op2;
use deno_error::JsErrorBox;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

fn unsupported(name: &str) -> JsErrorBox {
    JsErrorBox::type_error(format!("unsupported hash {name:?}; expected SHA-1, SHA-256, SHA-384 or SHA-512"))
}

#[op2]
#[buffer]
pub fn op_crypto_digest(#[string] algorithm: &str, #[buffer] data: &[u8]) -> Result<Vec<u8>, JsErrorBox> {
    Ok(match algorithm {
        "SHA-1" => Sha1::digest(data).to_vec(),
        "SHA-256" => Sha256::digest(data).to_vec(),
        "SHA-384" => Sha384::digest(data).to_vec(),
        "SHA-512" => Sha512::digest(data).to_vec(),
        other => return Err(unsupported(other)),
    })
}

/// Runs `f` with an HMAC over `hash` keyed by `key` that has absorbed `data`.
fn with_hmac<T>(hash: &str, key: &[u8], data: &[u8], f: impl FnOnce(HmacAny) -> T) -> Result<T, JsErrorBox> {
    // Any key length is valid for HMAC; `new_from_slice` cannot fail for it.
    let invalid = |_| JsErrorBox::type_error("invalid HMAC key");
    let mac = match hash {
        "SHA-1" => HmacAny::Sha1(Hmac::<Sha1>::new_from_slice(key).map_err(invalid)?),
        "SHA-256" => HmacAny::Sha256(Hmac::<Sha256>::new_from_slice(key).map_err(invalid)?),
        "SHA-384" => HmacAny::Sha384(Hmac::<Sha384>::new_from_slice(key).map_err(invalid)?),
        "SHA-512" => HmacAny::Sha512(Hmac::<Sha512>::new_from_slice(key).map_err(invalid)?),
        other => return Err(unsupported(other)),
    };
    Ok(f(mac.absorb(data)))
}

enum HmacAny {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

impl HmacAny {
    fn absorb(mut self, data: &[u8]) -> Self {
        match &mut self {
            Self::Sha1(m) => m.update(data),
            Self::Sha256(m) => m.update(data),
            Self::Sha384(m) => m.update(data),
            Self::Sha512(m) => m.update(data),
        }
        self
    }

    fn tag(self) -> Vec<u8> {
        match self {
            Self::Sha1(m) => m.finalize().into_bytes().to_vec(),
            Self::Sha256(m) => m.finalize().into_bytes().to_vec(),
            Self::Sha384(m) => m.finalize().into_bytes().to_vec(),
            Self::Sha512(m) => m.finalize().into_bytes().to_vec(),
        }
    }

    /// Constant-time comparison with `expected`.
    fn matches(self, expected: &[u8]) -> bool {
        match self {
            Self::Sha1(m) => m.verify_slice(expected).is_ok(),
            Self::Sha256(m) => m.verify_slice(expected).is_ok(),
            Self::Sha384(m) => m.verify_slice(expected).is_ok(),
            Self::Sha512(m) => m.verify_slice(expected).is_ok(),
        }
    }
}

#[op2]
#[buffer]
pub fn op_crypto_hmac_sign(#[string] hash: &str, #[buffer] key: &[u8], #[buffer] data: &[u8]) -> Result<Vec<u8>, JsErrorBox> {
    with_hmac(hash, key, data, HmacAny::tag)
}

#[op2(fast)]
pub fn op_crypto_hmac_verify(
    #[string] hash: &str,
    #[buffer] key: &[u8],
    #[buffer] signature: &[u8],
    #[buffer] data: &[u8],
) -> Result<bool, JsErrorBox> {
    with_hmac(hash, key, data, |mac| mac.matches(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn digests_and_hmacs_match_published_vectors() {
        assert_eq!(hex(&Sha256::digest(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        // RFC 4231, test case 2.
        let tag = with_hmac("SHA-256", b"Jefe", b"what do ya want for nothing?", HmacAny::tag).unwrap();
        assert_eq!(hex(&tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(with_hmac("SHA-256", b"Jefe", b"what do ya want for nothing?", |m| m.matches(&tag)).unwrap());
        assert!(!with_hmac("SHA-256", b"Jefe", b"what do ya want for nothing!", |m| m.matches(&tag)).unwrap());
        assert!(with_hmac("MD5", b"k", b"d", HmacAny::tag).is_err());
    }
}
