//! Encryption at rest for `{ sensitive: true }` values and secret settings: AES-256-GCM
//! under keys from configuration. A sealed value is a JSON envelope naming its key id, so
//! keys can rotate: the first configured key seals, every configured key opens.
//!
//! The associated data binds a sealed value to where it belongs (tenant, extension,
//! namespace and key, or setting name): copied anywhere else it does not open.

use std::collections::HashMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

/// The member that marks an envelope; writes of plain values holding it are refused.
pub const SEALED_MARK: &str = "$alga.sealed";

/// Why a value could not be sealed or opened. Messages never contain the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("encryption keys: {0}")]
    Config(String),
    #[error("the value was sealed with key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("the sealed value is damaged or belongs elsewhere")]
    Damaged,
}

/// The configured keys.
pub struct Sealer {
    current: String,
    keys: HashMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key material stays out of logs.
        f.debug_struct("Sealer").field("current", &self.current).field("keys", &self.keys.len()).finish()
    }
}

impl Sealer {
    /// Keys from `id:base64key` entries separated by commas; the first one seals.
    pub fn from_spec(spec: &str) -> Result<Self, SealError> {
        let mut keys = HashMap::new();
        let mut current = None;
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, material) = entry.split_once(':').ok_or_else(|| SealError::Config("each key is id:base64 (32 bytes)".into()))?;
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return Err(SealError::Config(format!("key id {id:?} must be letters, digits, '.', '_' or '-'")));
            }
            let bytes = B64.decode(material).map_err(|e| SealError::Config(format!("key {id}: not base64: {e}")))?;
            if bytes.len() != 32 {
                return Err(SealError::Config(format!("key {id}: {} bytes, AES-256 needs 32", bytes.len())));
            }
            if keys.insert(id.to_owned(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes))).is_some() {
                return Err(SealError::Config(format!("key id {id:?} appears twice")));
            }
            current.get_or_insert_with(|| id.to_owned());
        }
        let current = current.ok_or_else(|| SealError::Config("no key given".into()))?;
        Ok(Self { current, keys })
    }

    /// A fresh key entry `id:base64` for [`Self::from_spec`].
    pub fn generate_spec(id: &str) -> String {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        format!("{id}:{}", B64.encode(bytes))
    }

    /// Seals `value` for the place `aad` names.
    pub fn seal(&self, value: &Value, aad: &[u8]) -> Value {
        let plaintext = serde_json::to_vec(value).unwrap_or_default();
        let mut nonce = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
        let cipher = &self.keys[&self.current];
        // Encryption with a valid key and nonce cannot fail for in-memory input.
        let data = cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: &plaintext, aad }).unwrap_or_default();
        json!({ SEALED_MARK: 1, "kid": self.current, "nonce": B64.encode(nonce), "data": B64.encode(data) })
    }

    /// Opens a sealed value, or returns a plain one as it is.
    pub fn open(&self, value: &Value, aad: &[u8]) -> Result<Value, SealError> {
        if !is_sealed(value) {
            return Ok(value.clone());
        }
        let field = |name: &str| value.get(name).and_then(Value::as_str).ok_or(SealError::Damaged);
        let kid = field("kid")?;
        let cipher = self.keys.get(kid).ok_or_else(|| SealError::UnknownKey(kid.to_owned()))?;
        let nonce = B64.decode(field("nonce")?).map_err(|_| SealError::Damaged)?;
        let data = B64.decode(field("data")?).map_err(|_| SealError::Damaged)?;
        if nonce.len() != 12 {
            return Err(SealError::Damaged);
        }
        let plaintext = cipher.decrypt(Nonce::from_slice(&nonce), Payload { msg: &data, aad }).map_err(|_| SealError::Damaged)?;
        serde_json::from_slice(&plaintext).map_err(|_| SealError::Damaged)
    }
}

/// Whether `value` is a sealed envelope.
pub fn is_sealed(value: &Value) -> bool {
    value.as_object().is_some_and(|o| o.contains_key(SEALED_MARK))
}

/// Associated data of a stored value.
pub fn storage_aad(tenant: &str, extension_id: &uuid::Uuid, namespace: &str, key: &str) -> Vec<u8> {
    format!("storage\0{tenant}\0{extension_id}\0{namespace}\0{key}").into_bytes()
}

/// Associated data of a secret setting.
pub fn setting_aad(tenant: &str, extension_id: &uuid::Uuid, name: &str) -> Vec<u8> {
    format!("setting\0{tenant}\0{extension_id}\0{name}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_place_and_with_a_configured_key() {
        let old = Sealer::generate_spec("k1");
        let new = Sealer::generate_spec("k2");
        let before = Sealer::from_spec(&old).unwrap();
        let secret = json!({ "token": "hunter2" });
        let sealed = before.seal(&secret, b"here");
        assert!(is_sealed(&sealed) && !sealed.to_string().contains("hunter2"));
        assert_eq!(before.open(&sealed, b"here").unwrap(), secret);
        assert_eq!(before.open(&sealed, b"elsewhere"), Err(SealError::Damaged));
        // Rotation: the new key seals, the old one still opens what it sealed.
        let rotated = Sealer::from_spec(&format!("{new},{old}")).unwrap();
        assert_eq!(rotated.open(&sealed, b"here").unwrap(), secret);
        assert_eq!(rotated.seal(&secret, b"x")["kid"], "k2");
        let only_new = Sealer::from_spec(&new).unwrap();
        assert_eq!(only_new.open(&sealed, b"here"), Err(SealError::UnknownKey("k1".into())));
        assert_eq!(before.open(&json!(5), b"here").unwrap(), json!(5), "plain values pass through");
        for bad in ["", "k1", "k1:short", "bad id:AAAA", &format!("{old},{old}")] {
            assert!(Sealer::from_spec(bad).is_err(), "{bad:?}");
        }
    }
}
