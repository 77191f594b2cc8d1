//! Lifecycle hooks: `onInstall`, `onUpdate`, `onEnable`, `onDisable` and `onUninstall`,
//! called in a short-lived isolate of the right version, under the same limits as requests.
//!
//! A hook is called as `hook(event, ctx)`: `event` is `{ hook: "install" }` (and
//! `fromVersion` for updates), `ctx` the request context without a request. Only hooks the
//! main module exports by name run; a bundle without hooks never starts an isolate here.

use std::sync::Arc;

use alga_ops::ExtensionIdentity;
use alga_store::{Extension, TenantId, VersionRecord};
use serde_json::{json, Value};

use super::{settings, Registry, RegistryError};
use crate::isolate::{CtxData, CtxExtension, CtxUser, Invocation, IsolateHandle, IsolateLimits};

/// The lifecycle moments an extension can hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Install,
    Update,
    Enable,
    Disable,
    Uninstall,
}

impl Hook {
    pub fn export_name(self) -> &'static str {
        match self {
            Self::Install => "onInstall",
            Self::Update => "onUpdate",
            Self::Enable => "onEnable",
            Self::Disable => "onDisable",
            Self::Uninstall => "onUninstall",
        }
    }

    fn event_name(self) -> &'static str {
        match self {
            Self::Install => "install",
            Self::Update => "update",
            Self::Enable => "enable",
            Self::Disable => "disable",
            Self::Uninstall => "uninstall",
        }
    }
}

impl Registry {
    /// Runs `hook` of `version` when its main module exports it. `Ok` when it ran and
    /// resolved or is not exported; the hook's error otherwise.
    pub(super) async fn run_hook(
        &self,
        ext: &Extension,
        version: &VersionRecord,
        hook: Hook,
        from_version: Option<&str>,
        granted: &[alga_store::Permission],
        actor: &str,
    ) -> Result<(), RegistryError> {
        let tenant = &ext.tenant_id;
        let files = self.load_version_files(tenant, version.id).await?;
        let Some(main) = files.get(&version.main_entry_point) else { return Ok(()) };
        let exported = std::str::from_utf8(&main.bytes)
            .ok()
            .and_then(|source| alga_bundle::js::analyze(&version.main_entry_point, source).ok())
            .is_some_and(|info| info.exports.contains(hook.export_name()));
        if !exported {
            return Ok(());
        }
        let defs: Vec<alga_bundle::manifest::SettingDef> =
            version.manifest.get("settings").and_then(|s| serde_json::from_value(s.clone()).ok()).unwrap_or_default();
        let saved = self.open_settings(tenant, ext.id, self.store.get_settings(tenant, ext.id).await?);
        let identity = ExtensionIdentity { tenant: tenant.to_string(), extension: ext.key.clone() };
        let failed = |message: String| RegistryError::HookFailed { hook: hook.export_name(), message };
        let services = self.services(ext, granted.iter());
        let handle = IsolateHandle::start(identity, self.hook_limits, Arc::new(files), version.main_entry_point.clone(), services)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let mut event = json!({ "hook": hook.event_name() });
        if let Some(from) = from_version {
            event["fromVersion"] = Value::String(from.to_owned());
        }
        let invocation = Invocation {
            handler: hook.export_name().to_owned(),
            request: event.to_string(),
            ctx: Arc::new(CtxData {
                tenant: tenant.to_string(),
                user: CtxUser { id: actor.to_owned(), roles: vec![] },
                extension: CtxExtension {
                    id: ext.id.to_string(),
                    key: ext.key.clone(),
                    version: version.version.clone(),
                    assets_url: format!("/ext-ui/{}/sha256:{}/", ext.id, version.bundle_hash),
                },
                settings: Arc::new(settings::effective(&defs, saved.as_ref(), false)),
                permissions: vec![],
            }),
            is_page: false,
        };
        handle.call(invocation).await.map(|_| ()).map_err(|e| failed(e.to_string()))
    }

    /// Runs a hook whose failure must not stop the operation (enable, disable, uninstall):
    /// a failure is logged and audited.
    pub(super) async fn run_hook_best_effort(&self, tenant: &TenantId, ext: &Extension, hook: Hook, actor: &str) {
        let versions = match self.store.list_versions(tenant, ext.id).await {
            Ok(versions) => versions,
            Err(e) => return tracing::warn!(error = %e, "cannot find the version to run {} on", hook.export_name()),
        };
        let Some(active) = versions.iter().find(|v| v.state == alga_store::VersionState::Active) else { return };
        let granted: Vec<alga_store::Permission> = match self.store.capabilities(tenant, ext.id).await {
            Ok(caps) => caps.into_iter().filter(|c| c.granted).map(|c| c.permission).collect(),
            Err(_) => Vec::new(),
        };
        if let Err(err) = self.run_hook(ext, active, hook, None, &granted, actor).await {
            tracing::warn!(tenant = %tenant, extension = %ext.key, error = %err, "lifecycle hook failed");
            let entry = alga_store::NewAuditEntry {
                actor: "runtime".into(),
                action: "extension.hook_failed".into(),
                target: ext.id.to_string(),
                details: json!({ "hook": hook.export_name(), "error": err.to_string() }),
            };
            if let Err(e) = self.store.append_audit(tenant, &entry).await {
                tracing::error!(error = %e, "cannot audit a failed hook");
            }
        }
    }
}

/// Limits hooks run under: the request defaults.
pub fn default_hook_limits() -> IsolateLimits {
    IsolateLimits::default()
}
