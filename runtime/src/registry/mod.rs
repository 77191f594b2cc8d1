//! The extension registry: the install pipeline (upload, review, approve, update, enable,
//! disable, uninstall), settings, and the lifecycle events other modules subscribe to.
//!
//! HTTP handlers and the CLI call these methods; nothing here knows about axum.

pub mod breaker;
mod builder;
mod coherence;
pub mod edition;
mod events;
mod hooks;
pub mod logs;
mod portable;
pub mod review;
pub mod roles;
mod routing;
pub mod sandbox;
pub mod schemas;
pub mod settings;
mod targets;
pub mod ui;
mod ui_assets;
pub mod ui_paths;
mod upload;
mod usage;

use upload::{capabilities_in, capabilities_of, diff};
pub use upload::{PermissionDiff, UploadKind, UploadOutcome};

pub use usage::UsageReport;

use std::sync::Arc;

use alga_bundle::{BundleError, InspectOptions, Manifest, Problem};
use alga_store::{
    Approval, CapabilityGrant, Extension, ExtensionStatus, Permission, Store, StoreError, TenantId, UserPermissionDef, VersionRecord, VersionState,
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

pub use edition::Edition;
pub use events::{EventBus, LifecycleEvent, LifecycleKind};
pub use portable::{ImportError, ImportReport, StorageImport};
pub use routing::{RouteError, RoutedCall};
pub use targets::{DispatchTarget, TARGET_TTL};
pub use ui::{NavEntry, PageCall, PageKind, PageView, WidgetKind, WidgetSlot};
pub use ui_assets::{UiAsset, UiVersion, UI_ASSET_CACHE_MB};

/// Namespace of install ids: an install's id is derived from (tenant, manifest id), so an
/// uninstalled and reinstalled extension finds its kept storage and settings again.
const INSTALL_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6a1c_0e7e_2b5f_4d0e_9c39_7a4f_51e2_d3b8);

pub fn install_id(tenant: &TenantId, key: &str) -> Uuid {
    Uuid::new_v5(&INSTALL_ID_NAMESPACE, format!("{tenant}\0{key}").as_bytes())
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("extension {0} not found")]
    NotFound(String),
    #[error("version {version} of {key} was already uploaded with different content; versions are immutable, bump the version")]
    VersionImmutable { key: String, version: String },
    #[error("{key} {to} is older than the installed {from}; pass force=true to downgrade")]
    Downgrade { key: String, from: String, to: String },
    #[error("extension {0} has no pending version to approve")]
    NothingToApprove(String),
    #[error("extension {0} is waiting for approval; approve it before enabling")]
    NotApproved(String),
    #[error("extension {0} was never approved, so it has no update to discard; uninstall it instead")]
    NeverApproved(String),
    #[error("permissions/{index}: {capability:?} is not requested by the pending version")]
    NotRequested { index: usize, capability: String },
    #[error("the extension's {hook} hook failed, so nothing changed: {message}")]
    HookFailed { hook: &'static str, message: String },
    #[error("settings have {} problem(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Settings(Vec<Problem>),
    #[error("this tenant already has {installed} extensions installed, the most allowed ({max}); uninstall one first")]
    ExtensionLimit { installed: u64, max: u64 },
    /// The bundle declares extension points this node's edition does not serve, by JSON pointer.
    #[error("this node runs the community edition, which does not serve: {}", .0.iter().map(|(p, what)| format!("{p} ({what})")).collect::<Vec<_>>().join(", "))]
    EditionRequired(Vec<(String, String)>),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A lookup that concurrent callers shared (one load, every waiter gets its outcome).
    #[error(transparent)]
    Shared(Arc<RegistryError>),
}

/// The registry and what it needs.
pub struct Registry {
    store: Arc<dyn Store>,
    events: EventBus,
    inspect: InspectOptions,
    breaker: breaker::CircuitBreaker,
    /// What each extension logged and what failed lately, for the admin API and console.
    logs: Arc<logs::ExtensionLogs>,
    /// The outbound client of extensions' `fetch()`.
    fetch: Arc<alga_ops::fetch::FetchClient>,
    hook_limits: crate::isolate::IsolateLimits,
    targets: targets::TargetCache,
    storage_quota: alga_store::StorageQuota,
    host_api: Option<Arc<alga_ops::api::HostApi>>,
    warned: Arc<usage::Warned>,
    sealer: Option<Arc<alga_ops::storage::seal::Sealer>>,
    storage_cache: Arc<alga_ops::storage::cache::StorageCache>,
    /// Started on first use, on the runtime `services` is called from (the server's).
    storage_audit: std::sync::OnceLock<Arc<alga_ops::storage::audit::AuditSink>>,
    sandbox: sandbox::SandboxConfig,
    /// Most extensions one tenant may have installed; updates of installed ones are free.
    max_extensions_per_tenant: u64,
    ui: ui::UiCache,
    edition: Edition,
    page_links: Arc<crate::page_links::PageLinks>,
    /// Resolved `/ext-ui/...` versions and served asset bytes.
    ui_assets: ui_assets::UiAssetCache,
}

/// Default of `--max-extensions-per-tenant`.
pub const MAX_EXTENSIONS_PER_TENANT: u64 = 100;

/// Default size and staleness bound of the storage read cache.
pub const STORAGE_CACHE_ENTRIES: u64 = 100_000;
pub const STORAGE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl Registry {
    /// Counts a limit hit or crash of an extension; suspends it in that tenant when they
    /// repeat. Returns the suspended extension when the breaker tripped.
    pub async fn record_failure(&self, ext: &Extension, code: &str) -> Result<Option<Extension>, RegistryError> {
        if !self.breaker.record(&ext.tenant_id, ext.id) {
            return Ok(None);
        }
        let reason = format!("repeated {code} failures");
        self.logs.record_failure(&ext.tenant_id, ext.id, "EXTENSION_SUSPENDED", &format!("suspended by the circuit breaker after {reason}"));
        let entry = alga_store::NewAuditEntry {
            actor: "runtime:circuit-breaker".into(),
            action: "extension.suspended".into(),
            target: String::new(),
            details: serde_json::json!({ "extension": ext.key, "version": ext.version, "reason": reason }),
        };
        let suspended = self.store.set_extension_status(&ext.tenant_id, ext.id, ExtensionStatus::Suspended, false, &entry).await?;
        tracing::warn!(tenant = %ext.tenant_id, extension = %ext.key, %reason, "extension suspended by the circuit breaker");
        self.publish(&suspended, LifecycleKind::Suspended { reason });
        Ok(Some(suspended))
    }

    /// The recent log of extensions served by this node: console output and failures.
    pub fn logs(&self) -> &logs::ExtensionLogs {
        &self.logs
    }

    pub fn events(&self) -> &EventBus {
        &self.events
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn inspect_options(&self) -> &InspectOptions {
        &self.inspect
    }

    fn publish(&self, ext: &Extension, kind: LifecycleKind) {
        self.forget_extension(&ext.tenant_id, ext.id);
        self.events.publish(LifecycleEvent { tenant: ext.tenant_id.clone(), extension_id: ext.id, key: ext.key.clone(), kind });
    }

    async fn granted(&self, tenant: &TenantId, id: Uuid) -> Result<Vec<Permission>, RegistryError> {
        let caps = self.store.capabilities(tenant, id).await?;
        Ok(caps.into_iter().filter(|c| c.granted).map(|c| c.permission).collect())
    }

    async fn pending_version(&self, tenant: &TenantId, id: Uuid) -> Result<VersionRecord, RegistryError> {
        let versions = self.store.list_versions(tenant, id).await?;
        versions.into_iter().find(|v| v.state == VersionState::Pending).ok_or_else(|| RegistryError::NothingToApprove(id.to_string()))
    }

    pub async fn get(&self, tenant: &TenantId, id: Uuid) -> Result<Extension, RegistryError> {
        self.store.get_extension(tenant, id).await?.ok_or_else(|| RegistryError::NotFound(id.to_string()))
    }

    /// The install id an admin route names by install id or manifest id: the one place both
    /// are accepted. An install id passes as it is (the operation itself finds out whether
    /// it exists); a manifest id is looked up. `NotFound` names what was asked for.
    pub async fn resolve_id(&self, tenant: &TenantId, id_or_key: &str) -> Result<Uuid, RegistryError> {
        if let Ok(id) = Uuid::parse_str(id_or_key) {
            return Ok(id);
        }
        let found = self.store.find_extension_by_key(tenant, id_or_key).await?;
        found.map(|ext| ext.id).ok_or_else(|| RegistryError::NotFound(id_or_key.chars().take(128).collect()))
    }

    /// Everything an admin sees about one extension.
    pub async fn detail(&self, tenant: &TenantId, id: Uuid) -> Result<ExtensionDetail, RegistryError> {
        let extension = self.get(tenant, id).await?;
        let capabilities = self.store.capabilities(tenant, id).await?;
        let versions = self.store.list_versions(tenant, id).await?;
        let pending_update = match versions.iter().find(|v| v.state == VersionState::Pending) {
            Some(pending) if extension.status != ExtensionStatus::PendingApproval => {
                let granted: Vec<Permission> = capabilities.iter().filter(|c| c.granted).map(|c| c.permission.clone()).collect();
                let requested = capabilities_in(&pending.manifest);
                Some(PendingUpdate {
                    version: pending.version.clone(),
                    version_id: pending.id,
                    permission_diff: diff(&granted, &requested),
                    review: review::Review::of_stored(&pending.manifest),
                })
            }
            _ => None,
        };
        let suspension = match extension.status {
            ExtensionStatus::Suspended => {
                let (reason, since) = self.suspension(tenant, &extension).await?;
                Some(Suspension { reason, since })
            }
            _ => None,
        };
        let review = review::Review::of_stored(&extension.manifest);
        Ok(ExtensionDetail { extension, capabilities, versions, pending_update, review, suspension })
    }

    /// Approves the pending version (first install or update), granting `permissions`
    /// (default: all it requests) and optionally enabling it.
    pub async fn approve(
        &self,
        tenant: &TenantId,
        id: Uuid,
        permissions: Option<Vec<String>>,
        enable: bool,
        actor: &str,
    ) -> Result<Extension, RegistryError> {
        let before = self.get(tenant, id).await?;
        let pending = self.pending_version(tenant, id).await?;
        let manifest: Manifest = serde_json::from_value(pending.manifest.clone())
            .map_err(|e| StoreError::Corrupt { table: "extension_versions", message: e.to_string() })?;
        let requested = capabilities_of(&manifest);
        let granted = match permissions {
            None => requested.clone(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(index, cap)| {
                    requested
                        .iter()
                        .find(|p| p.to_string() == *cap)
                        .cloned()
                        .ok_or_else(|| RegistryError::NotRequested { index, capability: cap.clone() })
                })
                .collect::<Result<_, _>>()?,
        };
        let user_permissions = manifest
            .user_permissions
            .iter()
            .map(|u| UserPermissionDef { name: u.name.clone(), description: u.description.clone(), default_roles: u.default_roles.clone() })
            .collect();
        let approval = Approval { requested, granted, user_permissions, enable };
        // A failing onInstall/onUpdate aborts the approval: the previous state stays.
        if before.status == ExtensionStatus::PendingApproval {
            self.run_hook(&before, &pending, hooks::Hook::Install, None, &approval.granted, actor).await?;
        } else {
            self.run_hook(&before, &pending, hooks::Hook::Update, Some(&before.version), &approval.granted, actor).await?;
        }
        let ext = self.store.approve_version(tenant, id, pending.id, &approval, actor).await?;
        if before.status == ExtensionStatus::PendingApproval {
            self.publish(&ext, LifecycleKind::Approved { version: ext.version.clone() });
        } else {
            self.publish(&ext, LifecycleKind::Updated { from_version: before.version.clone(), to_version: ext.version.clone() });
        }
        if ext.is_enabled && !before.is_enabled {
            self.run_hook_best_effort(tenant, &ext, hooks::Hook::Enable, actor).await;
            self.publish(&ext, LifecycleKind::Enabled);
        }
        Ok(ext)
    }

    /// Drops the update that waits for approval; the serving version goes on serving.
    pub async fn discard_update(&self, tenant: &TenantId, id: Uuid, actor: &str) -> Result<(), RegistryError> {
        let ext = self.get(tenant, id).await?;
        if ext.status == ExtensionStatus::PendingApproval {
            return Err(RegistryError::NeverApproved(ext.key));
        }
        if !self.store.discard_pending_version(tenant, id, actor).await? {
            return Err(RegistryError::NothingToApprove(id.to_string()));
        }
        // Its asset URLs were reachable while it waited; they are not any more.
        self.publish(&ext, LifecycleKind::UpdateDiscarded);
        if let Err(err) = self.store.gc_file_blobs().await {
            tracing::warn!(error = %err, "collecting unused file blobs failed");
        }
        Ok(())
    }

    pub async fn set_enabled(&self, tenant: &TenantId, id: Uuid, enabled: bool, actor: &str) -> Result<Extension, RegistryError> {
        let current = self.get(tenant, id).await?;
        if enabled && current.status == ExtensionStatus::PendingApproval {
            return Err(RegistryError::NotApproved(id.to_string()));
        }
        let ext = if enabled && current.status == ExtensionStatus::Suspended {
            // An admin re-enabling a suspended extension lifts the suspension.
            let entry = alga_store::NewAuditEntry {
                actor: actor.into(),
                action: "extension.enabled".into(),
                target: String::new(),
                details: serde_json::json!({ "extension": current.key, "version": current.version, "resumed": true }),
            };
            self.store.set_extension_status(tenant, id, ExtensionStatus::Installed, true, &entry).await?
        } else {
            self.store.set_extension_enabled(tenant, id, enabled, actor).await?
        };
        if enabled != current.is_enabled {
            let hook = if enabled { hooks::Hook::Enable } else { hooks::Hook::Disable };
            self.run_hook_best_effort(tenant, &ext, hook, actor).await;
        }
        self.publish(&ext, if enabled { LifecycleKind::Enabled } else { LifecycleKind::Disabled });
        Ok(ext)
    }

    /// Uninstalls; `purge` also deletes storage and settings. Blobs no other install uses
    /// are collected afterwards.
    pub async fn uninstall(&self, tenant: &TenantId, id: Uuid, purge: bool, actor: &str) -> Result<(), RegistryError> {
        let ext = self.get(tenant, id).await?;
        // An extension cannot block its own removal: a failing onUninstall is only recorded.
        if ext.status != ExtensionStatus::PendingApproval {
            self.run_hook_best_effort(tenant, &ext, hooks::Hook::Uninstall, actor).await;
        }
        self.store.delete_extension(tenant, id, purge, actor).await?;
        if purge {
            self.storage_cache.invalidate_extension(&alga_ops::storage::cache::StorageCache::scope(tenant.as_str(), id));
        }
        self.publish(&ext, LifecycleKind::Uninstalled { purged: purge });
        self.logs.forget(tenant, id);
        // Collection is housekeeping: failing it must not fail the uninstall.
        if let Err(err) = self.store.gc_file_blobs().await {
            tracing::warn!(error = %err, "collecting unused file blobs failed");
        }
        Ok(())
    }

    /// Loads every file of a version, checking each against the sha256 recorded at install:
    /// content changed in the database since then is refused, never run or served.
    pub async fn load_version_files(&self, tenant: &TenantId, version_id: Uuid) -> Result<alga_bundle::Files, RegistryError> {
        let mut files = alga_bundle::Files::new();
        for stored in self.store.version_files(tenant, version_id).await? {
            let (_, bytes) = self
                .store
                .read_file(tenant, version_id, &stored.path)
                .await?
                .ok_or_else(|| RegistryError::NotFound(format!("{version_id}/{}", stored.path)))?;
            let file = alga_bundle::BundleFile::new(bytes);
            if file.sha256 != stored.content_hash {
                return Err(BundleError::HashMismatch { path: stored.path, expected: stored.content_hash, actual: file.sha256 }.into());
            }
            files.insert(stored.path, file);
        }
        Ok(files)
    }

    async fn audit(&self, tenant: &TenantId, actor: &str, action: &str, ext: &Extension, details: Value) -> Result<(), RegistryError> {
        let entry = alga_store::NewAuditEntry { actor: actor.into(), action: action.into(), target: ext.id.to_string(), details };
        Ok(self.store.append_audit(tenant, &entry).await?)
    }
}

/// An extension with its capabilities, versions and any update waiting for approval.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionDetail {
    pub extension: Extension,
    pub capabilities: Vec<CapabilityGrant>,
    pub versions: Vec<VersionRecord>,
    pub pending_update: Option<PendingUpdate>,
    /// The review of the version the install shows (the serving one, or the one waiting
    /// for its first approval).
    pub review: Option<review::Review>,
    /// Why and since when the circuit breaker keeps it switched off, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suspension {
    pub reason: Option<String>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingUpdate {
    pub version: String,
    pub version_id: Uuid,
    pub permission_diff: PermissionDiff,
    /// The review of the pending version.
    pub review: Option<review::Review>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    pub values: serde_json::Map<String, Value>,
    /// The manifest's `settings` declarations (`/schemas/manifest.json` describes them).
    #[schema(value_type = Vec<Object>)]
    pub schema: Vec<alga_bundle::manifest::SettingDef>,
}
