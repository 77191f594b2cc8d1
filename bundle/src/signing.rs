//! Optional ed25519 signatures over a bundle's content hash, and the trusted-keys policy.
//!
//! The signed message is `alga-extension-bundle-v1:` followed by the bundle hash (hex), so a
//! signature covers exactly the set of paths and file contents, however the archive was packed.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::BundleError;

const DOMAIN: &[u8] = b"alga-extension-bundle-v1:";

/// A detached signature, as written by `alga-ext sign` (`bundle.zip.sig`, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleSignature {
    pub key_id: String,
    pub algorithm: String,
    /// Base64 of the 64-byte ed25519 signature.
    pub signature: String,
}

/// A publisher's private key file, as written by `alga-ext keygen`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublisherKey {
    pub key_id: String,
    /// Base64 of the 32-byte ed25519 seed.
    pub secret_key: String,
    /// Base64 of the 32-byte public key: what servers list as trusted.
    pub public_key: String,
}

impl PublisherKey {
    pub fn generate(key_id: &str) -> Self {
        let key = SigningKey::generate(&mut rand_core::OsRng);
        Self { key_id: key_id.to_owned(), secret_key: B64.encode(key.to_bytes()), public_key: B64.encode(key.verifying_key().to_bytes()) }
    }

    /// Signs a bundle hash.
    pub fn sign(&self, bundle_hash: &str) -> Result<BundleSignature, String> {
        let seed: [u8; 32] = B64.decode(&self.secret_key).ok().and_then(|b| b.try_into().ok()).ok_or("secretKey must be base64 of 32 bytes")?;
        let key = SigningKey::from_bytes(&seed);
        let signature = key.sign(&message(bundle_hash));
        Ok(BundleSignature { key_id: self.key_id.clone(), algorithm: "ed25519".into(), signature: B64.encode(signature.to_bytes()) })
    }
}

fn message(bundle_hash: &str) -> Vec<u8> {
    [DOMAIN, bundle_hash.as_bytes()].concat()
}

/// Whether unsigned bundles are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignaturePolicy {
    /// Unsigned bundles install; signed ones must verify.
    #[default]
    Optional,
    /// Every bundle must carry a valid signature by a trusted key.
    Required,
}

/// Publisher keys the server trusts, by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys(BTreeMap<String, VerifyingKey>);

impl TrustedKeys {
    /// Parses `keyId=base64PublicKey` entries separated by commas, whitespace or newlines.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = BTreeMap::new();
        for entry in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|e| !e.is_empty()) {
            let (id, key) = entry.split_once('=').ok_or_else(|| format!("{entry:?} is not keyId=base64PublicKey"))?;
            let bytes: [u8; 32] =
                B64.decode(key).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| format!("key {id:?}: public key must be base64 of 32 bytes"))?;
            let key = VerifyingKey::from_bytes(&bytes).map_err(|e| format!("key {id:?}: {e}"))?;
            keys.insert(id.to_owned(), key);
        }
        Ok(Self(keys))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Applies the policy: returns the trusted signer's key id, `None` for an accepted unsigned
/// bundle, and a warning for a valid signature by a key that is not trusted (optional policy).
pub fn check(
    policy: SignaturePolicy,
    keys: &TrustedKeys,
    bundle_hash: &str,
    signature: Option<&BundleSignature>,
) -> Result<(Option<String>, Option<String>), BundleError> {
    let Some(sig) = signature else {
        return match policy {
            SignaturePolicy::Required => Err(BundleError::SignatureRequired),
            SignaturePolicy::Optional => Ok((None, None)),
        };
    };
    if sig.algorithm != "ed25519" {
        return Err(BundleError::SignatureInvalid(format!("unsupported algorithm {:?}", sig.algorithm)));
    }
    let bytes: [u8; 64] = B64
        .decode(&sig.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| BundleError::SignatureInvalid("signature must be base64 of 64 bytes".into()))?;
    let Some(key) = keys.0.get(&sig.key_id) else {
        return match policy {
            SignaturePolicy::Required => Err(BundleError::SignatureUntrusted { key_id: sig.key_id.clone() }),
            SignaturePolicy::Optional => Ok((None, Some(format!("signed by key {:?}, which is not trusted here; treated as unsigned", sig.key_id)))),
        };
    };
    key.verify(&message(bundle_hash), &ed25519_dalek::Signature::from_bytes(&bytes))
        .map_err(|_| BundleError::SignatureInvalid("does not match this bundle (tampered, or signed for another bundle)".into()))?;
    Ok((Some(sig.key_id.clone()), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(key: &PublisherKey) -> TrustedKeys {
        TrustedKeys::parse(&format!("{}={}", key.key_id, key.public_key)).unwrap()
    }

    #[test]
    fn a_signature_verifies_for_its_bundle_only() {
        let key = PublisherKey::generate("acme-2026");
        let sig = key.sign("abc").unwrap();
        let keys = trusted(&key);
        assert_eq!(check(SignaturePolicy::Required, &keys, "abc", Some(&sig)).unwrap().0.as_deref(), Some("acme-2026"));
        let err = check(SignaturePolicy::Optional, &keys, "abd", Some(&sig)).unwrap_err();
        assert_eq!(err.code(), "SIGNATURE_INVALID");
    }

    #[test]
    fn the_policy_decides_about_unsigned_and_untrusted_bundles() {
        let key = PublisherKey::generate("k");
        let sig = key.sign("abc").unwrap();
        let none = TrustedKeys::default();
        assert_eq!(check(SignaturePolicy::Required, &none, "abc", None).unwrap_err().code(), "SIGNATURE_REQUIRED");
        assert_eq!(check(SignaturePolicy::Required, &none, "abc", Some(&sig)).unwrap_err().code(), "SIGNATURE_UNTRUSTED");
        let (signer, warning) = check(SignaturePolicy::Optional, &none, "abc", Some(&sig)).unwrap();
        assert!(signer.is_none() && warning.is_some());
        assert_eq!(check(SignaturePolicy::Optional, &none, "abc", None).unwrap(), (None, None));
    }

    #[test]
    fn trusted_key_lists_are_parsed_strictly() {
        let key = PublisherKey::generate("a");
        assert_eq!(TrustedKeys::parse(&format!("a={}, b={}\n", key.public_key, key.public_key)).unwrap().len(), 2);
        assert!(TrustedKeys::parse("a").is_err());
        assert!(TrustedKeys::parse("a=notbase64!").is_err());
    }
}
