//! Which declared endpoint a request reaches, and whether its caller may call it: the route
//! matched on the raw path, the RBAC check, and the permissions the handler's `ctx` holds.
//! Decided here once, for every extension point an HTTP route exposes; handlers only map
//! the answer to HTTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use alga_bundle::manifest::Endpoint;
use alga_store::TenantId;

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

/// Why a request reaches no endpoint it may call.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// No enabled extension by that id or key in the tenant, or no such endpoint.
    #[error("no such endpoint")]
    NotFound,
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
        let target = self.dispatch_target(tenant, id_or_key).await?.ok_or(RouteError::NotFound)?;
        let endpoints = &target.manifest.extension_points.endpoints;
        let matched = endpoints
            .iter()
            .find_map(|e| (e.method.as_str() == method).then(|| alga_bundle::validate::match_route(&e.path, raw_path).map(|p| (e, p))).flatten());
        let Some((endpoint, params)) = matched else {
            let other_methods = endpoints.iter().any(|e| alga_bundle::validate::match_route(&e.path, raw_path).is_some());
            return Err(if other_methods { RouteError::MethodNotAllowed } else { RouteError::NotFound });
        };
        let mut permissions = self.extension_permissions(tenant, roles, &target.extension.key).await?;
        if let Some(required) = &endpoint.permission {
            if !permissions.contains(required) {
                return Err(RouteError::Forbidden { required: required.clone(), extension: target.extension.key.clone() });
            }
        }
        permissions.extend(target.granted.iter().cloned());
        let endpoint = endpoint.clone();
        Ok(RoutedCall { target, endpoint, params, permissions })
    }

    /// The actions of extension `key` that `roles` hold in the tenant (`use`, `view`, …).
    pub async fn extension_permissions(&self, tenant: &TenantId, roles: &[String], key: &str) -> Result<Vec<String>, RegistryError> {
        let held = self.role_permissions(tenant, roles).await?;
        Ok(held.iter().filter(|p| p.resource == key).map(|p| p.action.clone()).collect())
    }
}
