//! The validated tenant id that every store operation is scoped by.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A tenant id: 1-64 characters of `[A-Za-z0-9._-]`, starting with a letter or digit.
///
/// Alga PSA's tenant ids are UUIDs, which fit; the looser rule keeps hand-made ids such as
/// `acme` usable in development. Constructing one is the only way to reach tenant data, so
/// no store method can be called without naming a tenant.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// Validates `raw` as a tenant id.
    pub fn parse(raw: &str) -> Result<Self, StoreError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.as_bytes()[0].is_ascii_alphanumeric()
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(TenantId(raw.to_owned()))
        } else {
            Err(StoreError::InvalidTenant(raw.to_owned()))
        }
    }

    /// The id as text, as stored in `tenant_id` columns.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        TenantId::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_uuids_and_simple_names() {
        for ok in ["acme", "9b1f0c6e-5a7d-4c1e-9a43-2f4d8f8b6a10", "t.1_x-y", "A"] {
            assert_eq!(TenantId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_empty_long_and_odd_characters() {
        let long = "a".repeat(65);
        for bad in ["", "-acme", ".x", "a b", "a/b", "ä", "a'b", long.as_str()] {
            assert!(matches!(TenantId::parse(bad), Err(StoreError::InvalidTenant(_))), "{bad:?}");
        }
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<TenantId>("\"acme\"").is_ok());
        assert!(serde_json::from_str::<TenantId>("\"no way\"").is_err());
    }
}
