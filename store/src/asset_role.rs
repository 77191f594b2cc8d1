//! The static-UI-asset role: which tenant and version an (install id, bundle hash) pair names.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{Result, TenantId};

/// The one lookup `/ext-ui/...` needs before it knows a tenant. Asset URLs carry an install
/// id and a bundle hash but (by default) no token, so this is the only read not scoped to a
/// tenant besides the maintenance jobs; it answers ids only, and the files are then read
/// with the tenant-scoped [`crate::RegistryStore::read_file`].
#[async_trait]
pub trait AssetStore: Send + Sync + 'static {
    /// The tenant and version id of install `install_id`'s *active or pending* version whose
    /// bundle hash (lowercase hex, as stored) is `bundle_hash`; `None` for an unknown install,
    /// an unknown hash, or a retired version. The active version wins if both match.
    async fn resolve_ui_version(&self, install_id: Uuid, bundle_hash: &str) -> Result<Option<(TenantId, Uuid)>>;
}
