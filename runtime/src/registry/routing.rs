//! Which declared endpoint a request reaches, and whether its caller may call it: the route
//! matched on the raw path, the RBAC check, and the permissions the handler's `ctx` holds.
//! Decided here once, for every extension point an HTTP route exposes; handlers only map
//! the answer to HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use alga_bundle::manifest::Endpoint;
use alga_store::{ExtensionStatus, TenantId};

use super::{DispatchTarget, Registry, RegistryError};

/// A call the caller may make: the extension, the endpoint, its decoded parameters, and
/// the permissions its handler sees (the caller's permissions of this extension, then the
/// capabilities the extension was granted).
#[derive(Debug)]
pub struct RoutedCall {
    pub target: Arc<DispatchTarget>,
    pub endpoint: Endpoint,
    pub params: BTreeMap<String, String>,
    pub permissions: Vec<String>,
}

/// Why a request reaches no endpoint (or page, or widget) it may call.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// No extension by that id or key in the tenant, or no such endpoint. Another tenant's
    /// extensions answer this too, so nothing leaks about them.
    #[error("no such endpoint")]
    NotFound,
    /// The caller's tenant installed it, but nobody approved it yet.
    #[error("extension {extension} is waiting for an admin's approval")]
    Pending { extension: String },
    /// The caller's tenant installed it and switched it off.
    #[error("extension {extension} is disabled in this tenant")]
    Disabled { extension: String },
    /// The circuit breaker switched it off in the caller's tenant.
    #[error("extension {extension} was suspended{}: {}", .since.map(|t| format!(" at {}", t.to_rfc3339())).unwrap_or_default(), .reason.as_deref().unwrap_or("it kept failing"))]
    Suspended { extension: String, reason: Option<String>, since: Option<chrono::DateTime<chrono::Utc>> },
    /// This node runs the community edition, which does not serve this kind of extension point.
    #[error("{feature} need the enterprise edition; this node runs the community edition")]
    EditionRequired { feature: &'static str },
    /// The path is declared, for other methods only.
    #[error("the method is not declared for this path")]
    MethodNotAllowed,
    /// The endpoint needs a permission the caller's roles do not hold.
    #[error("this endpoint needs the {required:?} permission of {extension}")]
    Forbidden { required: String, extension: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl Registry {
    /// Routes `method raw_path` (still percent-encoded: parameters are decoded once, by the
    /// match) to an endpoint of the tenant's enabled extension `id_or_key`, for a caller
    /// holding `roles`.
    pub async fn route(&self, tenant: &TenantId, roles: &[String], id_or_key: &str, method: &str, raw_path: &str) -> Result<RoutedCall, RouteError> {
        let target = self.routable(tenant, id_or_key).await?;
        if !self.edition.serves_endpoints() {
            return Err(RouteError::EditionRequired { feature: "custom endpoints" });
        }
        let endpoints = &target.manifest.extension_points.endpoints;
        let matched = endpoints
            .iter()
            .find_map(|e| (e.method.as_str() == method).then(|| alga_bundle::validate::match_route(&e.path, raw_path).map(|p| (e, p))).flatten());
        let Some((endpoint, params)) = matched else {
            let other_methods = endpoints.iter().any(|e| alga_bundle::validate::match_route(&e.path, raw_path).is_some());
            return Err(if other_methods { RouteError::MethodNotAllowed } else { RouteError::NotFound });
        };
        let mut permissions = self.require(tenant, roles, &target, &endpoint.permission).await?;
        permissions.extend(target.granted.iter().cloned());
        let endpoint = endpoint.clone();
        Ok(RoutedCall { target, endpoint, params, permissions })
    }

    /// The tenant's enabled, approved extension `id_or_key`, or why the caller cannot reach it.
    pub async fn routable(&self, tenant: &TenantId, id_or_key: &str) -> Result<Arc<DispatchTarget>, RouteError> {
        if let Some(target) = self.dispatch_target(tenant, id_or_key).await? {
            return Ok(target);
        }
        let ext = match uuid::Uuid::parse_str(id_or_key) {
            Ok(id) => self.store.get_extension(tenant, id).await.map_err(RegistryError::from)?,
            Err(_) => self.store.find_extension_by_key(tenant, id_or_key).await.map_err(RegistryError::from)?,
        };
        let Some(ext) = ext else { return Err(RouteError::NotFound) };
        let extension = ext.key.clone();
        Err(match ext.status {
            ExtensionStatus::PendingApproval => RouteError::Pending { extension },
            ExtensionStatus::Suspended => {
                let (reason, since) = self.suspension(tenant, &ext).await?;
                RouteError::Suspended { extension, reason, since }
            }
            _ if !ext.is_enabled => RouteError::Disabled { extension },
            ExtensionStatus::Failed => RouteError::NotFound,
            // Serving now, by the database: the cached "not serving" is older than a change
            // this node has not heard of yet (another node's enable before its announcement
            // arrives, or this node's own enable before it dropped the entry). Load it again.
            _ => {
                self.forget_extension(tenant, ext.id);
                return self.dispatch_target(tenant, id_or_key).await?.ok_or(RouteError::NotFound);
            }
        })
    }

    /// Why and when the circuit breaker suspended `ext`, from the audit log (the newest
    /// suspension among the tenant's recent lifecycle actions).
    pub async fn suspension(
        &self,
        tenant: &TenantId,
        ext: &alga_store::Extension,
    ) -> Result<(Option<String>, Option<chrono::DateTime<chrono::Utc>>), RegistryError> {
        let target = ext.id.to_string();
        let recent = self.store.list_audit(tenant, 500).await?;
        Ok(recent
            .into_iter()
            .find(|e| e.action == "extension.suspended" && e.target == target)
            .map(|e| (e.details.get("reason").and_then(|r| r.as_str()).map(str::to_owned), Some(e.at)))
            .unwrap_or((None, Some(ext.updated_at))))
    }

    /// Checks `permission` of the target's extension for `roles`; returns the actions they hold.
    pub(super) async fn require(
        &self,
        tenant: &TenantId,
        roles: &[String],
        target: &DispatchTarget,
        permission: &Option<String>,
    ) -> Result<Vec<String>, RouteError> {
        let held = self.extension_permissions(tenant, roles, &target.extension.key).await?;
        match permission {
            Some(required) if !held.contains(required) => {
                Err(RouteError::Forbidden { required: required.clone(), extension: target.extension.key.clone() })
            }
            _ => Ok(held),
        }
    }

    /// The actions of extension `key` that `roles` hold in the tenant (`use`, `view`, …).
    pub async fn extension_permissions(&self, tenant: &TenantId, roles: &[String], key: &str) -> Result<Vec<String>, RegistryError> {
        let held = self.role_permissions(tenant, roles).await?;
        Ok(held.iter().filter(|p| p.resource == key).map(|p| p.action.clone()).collect())
    }
}
