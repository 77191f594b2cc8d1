//! Uploads: a bundle checked completely, then recorded as a new install, a pending update
//! of an installed extension, or nothing when the same bundle is there already.

use alga_bundle::{BundleError, BundleSignature, Inspection, Manifest, ManifestSummary};
use alga_store::{Extension, ExtensionStatus, NewExtension, NewFile, NewVersion, Permission, StoreError, TenantId, VersionRecord, VersionState};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::review::Review;
use super::{install_id, LifecycleKind, Registry, RegistryError};

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadKind {
    /// A new install, waiting for approval.
    Installed,
    /// A new version of an installed extension, waiting for approval.
    Update,
    /// The same bundle was uploaded before: nothing changed.
    Unchanged,
}

/// Capabilities an update adds or drops compared with what is granted now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PermissionDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: Vec<String>,
}

/// The result of an upload: what the admin reviews before approving.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadOutcome {
    pub kind: UploadKind,
    pub extension: Extension,
    pub version: VersionRecord,
    /// The manifest's id, name, version, description, publisher, permissions and user permissions.
    #[schema(value_type = Object)]
    pub manifest: ManifestSummary,
    pub requested_permissions: Vec<String>,
    pub permission_diff: PermissionDiff,
    /// Every extension point with who may reach it, and the capabilities asked for.
    pub review: Review,
    pub warnings: Vec<String>,
}

impl Registry {
    /// Checks an uploaded bundle and records it: a new install, a pending update, or
    /// nothing when the same bundle is already there. Every step is one transaction, so a
    /// refused bundle leaves nothing behind.
    pub async fn upload(
        &self,
        tenant: &TenantId,
        actor: &str,
        bytes: Vec<u8>,
        signature: Option<BundleSignature>,
        allow_downgrade: bool,
    ) -> Result<UploadOutcome, RegistryError> {
        let options = self.inspect.clone();
        // Parsing every module is CPU work: keep it off the async workers.
        let mut inspection = tokio::task::spawn_blocking(move || alga_bundle::inspect_archive(&bytes, signature.as_ref(), &options))
            .await
            .map_err(|e| BundleError::Format(format!("inspection failed: {e}")))??;
        if self.sealer.is_none() {
            // Only this server knows it cannot seal: say so before an admin tries to save one.
            for (i, setting) in inspection.manifest.settings.iter().enumerate().filter(|(_, s)| s.secret) {
                inspection.warnings.push(format!(
                    "/settings/{i} ({}) is secret, and this server has no encryption keys: it cannot be saved until the operator sets --encryption-keys",
                    setting.key
                ));
            }
        }
        let unsupported = self.edition.unsupported(&inspection.manifest);
        if !unsupported.is_empty() {
            return Err(RegistryError::EditionRequired(unsupported.into_iter().map(|(pointer, what)| (pointer, what.to_owned())).collect()));
        }
        // Concurrent first uploads race on the install row; the loser sees the winner's
        // install on its second pass and reports it unchanged.
        match self.record_upload(tenant, actor, &inspection, allow_downgrade).await {
            Err(RegistryError::Store(StoreError::Conflict(_))) => self.record_upload(tenant, actor, &inspection, allow_downgrade).await,
            other => other,
        }
    }

    async fn record_upload(
        &self,
        tenant: &TenantId,
        actor: &str,
        inspection: &Inspection,
        allow_downgrade: bool,
    ) -> Result<UploadOutcome, RegistryError> {
        let m = &inspection.manifest;
        let requested = capabilities_of(m);
        let version = NewVersion {
            id: Uuid::new_v4(),
            version: m.version.clone(),
            bundle_hash: inspection.bundle_hash.clone(),
            manifest: inspection.manifest_json.clone(),
            main_entry_point: m.main.trim_start_matches("./").to_owned(),
            signer: inspection.signer.clone(),
        };
        let outcome = |kind, extension, version, diff| UploadOutcome {
            kind,
            extension,
            version,
            manifest: ManifestSummary::from(m),
            requested_permissions: m.permissions.clone(),
            permission_diff: diff,
            review: Review::of(m),
            warnings: inspection.warnings.clone(),
        };

        let Some(existing) = self.store.find_extension_by_key(tenant, &m.id).await? else {
            // Checked before the insert, outside its transaction: uploads racing for the
            // last slot may pass together, so the cap can be overshot by that many at most.
            let installed = self.store.count_extensions(tenant).await?;
            if installed >= self.max_extensions_per_tenant {
                return Err(RegistryError::ExtensionLimit { installed, max: self.max_extensions_per_tenant });
            }
            let new = NewExtension {
                id: install_id(tenant, &m.id),
                key: m.id.clone(),
                name: m.name.clone(),
                description: m.description.clone(),
                version: m.version.clone(),
                manifest: inspection.manifest_json.clone(),
                main_entry_point: version.main_entry_point.clone(),
                bundle_hash: inspection.bundle_hash.clone(),
                status: ExtensionStatus::PendingApproval,
            };
            let ext = self.store.create_install(tenant, &new, &version, &new_files(inspection), &requested, actor).await?;
            let record = self.pending_version(tenant, ext.id).await?;
            self.publish(&ext, LifecycleKind::Registered { version: m.version.clone() });
            let diff = diff(&[], &requested);
            return Ok(outcome(UploadKind::Installed, ext, record, diff));
        };

        let versions = self.store.list_versions(tenant, existing.id).await?;
        if let Some(same) = versions.iter().find(|v| v.version == m.version) {
            if same.bundle_hash != inspection.bundle_hash {
                return Err(RegistryError::VersionImmutable { key: m.id.clone(), version: m.version.clone() });
            }
            let granted = self.granted(tenant, existing.id).await?;
            return Ok(outcome(UploadKind::Unchanged, existing, same.clone(), diff(&granted, &requested)));
        }
        if let Some(active) = versions.iter().find(|v| v.state == VersionState::Active) {
            let older = match (semver::Version::parse(&m.version), semver::Version::parse(&active.version)) {
                (Ok(new), Ok(current)) => new < current,
                _ => false,
            };
            if older && !allow_downgrade {
                return Err(RegistryError::Downgrade { key: m.id.clone(), from: active.version.clone(), to: m.version.clone() });
            }
        }
        let record = self.store.add_pending_version(tenant, existing.id, &version, &new_files(inspection), actor).await?;
        let ext = self.get(tenant, existing.id).await?;
        let granted = self.granted(tenant, existing.id).await?;
        self.publish(&ext, LifecycleKind::UpdateUploaded { version: m.version.clone() });
        Ok(outcome(UploadKind::Update, ext, record, diff(&granted, &requested)))
    }
}

fn new_files(inspection: &Inspection) -> Vec<NewFile> {
    inspection.files.iter().map(|(path, f)| NewFile { path: path.clone(), content_hash: f.sha256.clone(), bytes: f.bytes.clone() }).collect()
}

pub(super) fn capabilities_of(m: &Manifest) -> Vec<Permission> {
    m.permissions.iter().filter_map(|c| c.split_once(':')).map(|(r, a)| Permission::new(r, a)).collect()
}

pub(super) fn capabilities_in(manifest: &Value) -> Vec<Permission> {
    serde_json::from_value::<Manifest>(manifest.clone()).map(|m| capabilities_of(&m)).unwrap_or_default()
}

pub(super) fn diff(granted: &[Permission], requested: &[Permission]) -> PermissionDiff {
    let show = |p: &Permission| p.to_string();
    PermissionDiff {
        added: requested.iter().filter(|p| !granted.contains(p)).map(show).collect(),
        removed: granted.iter().filter(|p| !requested.contains(p)).map(show).collect(),
        unchanged: requested.iter().filter(|p| granted.contains(p)).map(show).collect(),
    }
}
