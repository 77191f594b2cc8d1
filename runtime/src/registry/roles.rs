//! Role permissions as tenant admins manage them: listing, granting and revoking, with the
//! input rules and the cache invalidation that makes a change hold from the next request.

use std::collections::BTreeMap;

use alga_store::{HeldPermission, Permission, PermissionOwner, StoreError, TenantId};
use serde::Serialize;

use super::{Registry, RegistryError};

/// Longest role name, in bytes: the most a token's `roles` claim may carry per role.
pub const MAX_ROLE_BYTES: usize = crate::auth::MAX_ROLE_BYTES;
/// Longest permission resource (a manifest id is at most 128) and action.
pub const MAX_RESOURCE_BYTES: usize = 128;
pub const MAX_ACTION_BYTES: usize = 64;

/// Why a roles request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("role: {0}")]
    InvalidRole(String),
    #[error("permission: {0}")]
    InvalidPermission(String),
    /// The resource is an installed extension's manifest id, but the extension has not
    /// registered that action.
    #[error("permission: {permission} is not a permission {extension} registered; it registers: {}", list_or_none(.registered))]
    NotDeclared { permission: String, extension: String, registered: Vec<String> },
    #[error("role {role} does not hold {permission}")]
    NotHeld { role: String, permission: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl From<StoreError> for RoleError {
    fn from(err: StoreError) -> Self {
        Self::Registry(err.into())
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none (it may still be waiting for approval)".into()
    } else {
        items.join(", ")
    }
}

/// A permission as a role holds it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeldView {
    /// `resource:action`.
    pub permission: String,
    /// The extension that registered it (`{id, key}`: install id and manifest id); `null`
    /// for the tenant's own permissions.
    pub extension: Option<PermissionOwner>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    pub name: String,
    pub permissions: Vec<HeldView>,
}

/// A permission defined in the tenant and the roles holding it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionView {
    pub permission: String,
    pub description: String,
    pub extension: Option<PermissionOwner>,
    pub roles: Vec<String>,
}

/// `GET /admin/v1/roles`: every role with its permissions, and every defined permission
/// (so one registered by an extension but granted to nobody can be found and granted).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolesView {
    pub roles: Vec<RoleView>,
    pub permissions: Vec<PermissionView>,
}

/// The outcome of a grant or revoke: whether anything changed, and the role as it is now.
#[derive(Debug, Clone)]
pub struct RoleChange {
    pub changed: bool,
    pub role: RoleView,
}

/// Checks a role name: 1–128 bytes, no control characters, no surrounding whitespace (the
/// names tokens carry, which are compared exactly).
pub fn parse_role(raw: &str) -> Result<&str, RoleError> {
    let bad = |why: &str| Err(RoleError::InvalidRole(format!("{:?} {why}", clip(raw))));
    if raw.is_empty() || raw.len() > MAX_ROLE_BYTES {
        return bad(&format!("must be 1-{MAX_ROLE_BYTES} bytes"));
    }
    if raw.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    if raw.trim() != raw {
        return bad("must not start or end with whitespace");
    }
    Ok(raw)
}

/// Checks a permission written `resource:action`: the resource 1–128 characters of
/// `[A-Za-z0-9._-]` starting alphanumeric (a host resource such as `tickets`, or an
/// extension's manifest id), the action 1–64 characters of `[A-Za-z0-9_-]` starting with a
/// letter.
pub fn parse_permission(raw: &str) -> Result<Permission, RoleError> {
    let bad = |why: String| Err(RoleError::InvalidPermission(format!("{:?} {why}", clip(raw))));
    let Some((resource, action)) = raw.split_once(':') else { return bad("is not of the form resource:action".into()) };
    let starts = |s: &str, first: fn(&char) -> bool| s.chars().next().as_ref().is_some_and(first);
    if resource.is_empty()
        || resource.len() > MAX_RESOURCE_BYTES
        || !starts(resource, char::is_ascii_alphanumeric)
        || !resource.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return bad(format!("has a bad resource: expected 1-{MAX_RESOURCE_BYTES} characters of [A-Za-z0-9._-], starting alphanumeric"));
    }
    if action.is_empty()
        || action.len() > MAX_ACTION_BYTES
        || !starts(action, char::is_ascii_alphabetic)
        || !action.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    {
        return bad(format!("has a bad action: expected 1-{MAX_ACTION_BYTES} characters of [A-Za-z0-9_-], starting with a letter"));
    }
    Ok(Permission::new(resource, action))
}

/// Caller input quoted in a message, cut short.
fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

impl Registry {
    /// The tenant's roles and permissions, extension-owned ones marked with their extension.
    pub async fn roles(&self, tenant: &TenantId) -> Result<RolesView, RegistryError> {
        let roles = self.store.list_roles(tenant).await?;
        let mut holders: BTreeMap<Permission, Vec<String>> = BTreeMap::new();
        for role in &roles {
            for held in &role.permissions {
                holders.entry(held.permission.clone()).or_default().push(role.name.clone());
            }
        }
        let permissions = self
            .store
            .list_permissions(tenant)
            .await?
            .into_iter()
            .map(|p| PermissionView {
                permission: p.permission.to_string(),
                description: p.description,
                extension: p.extension,
                roles: holders.remove(&p.permission).unwrap_or_default(),
            })
            .collect();
        let roles = roles.into_iter().map(|r| role_view(r.name, r.permissions)).collect();
        Ok(RolesView { roles, permissions })
    }

    /// Grants `permission` to `role` (both created when missing), audited; takes effect on
    /// the caller's next request. Granting what the role holds changes nothing.
    pub async fn grant_role_permission(&self, tenant: &TenantId, role: &str, permission: &str, actor: &str) -> Result<RoleChange, RoleError> {
        let role = parse_role(role)?;
        let permission = parse_permission(permission)?;
        let changed = match self.store.grant_role_permission_audited(tenant, role, &permission, actor).await {
            Err(StoreError::NotFound { entity: "permission", .. }) => return Err(self.not_declared(tenant, &permission).await),
            other => other?,
        };
        if changed {
            self.targets.forget_roles(tenant);
            tracing::info!(%tenant, role, permission = %permission, actor, "role permission granted");
        }
        Ok(RoleChange { changed, role: self.role(tenant, role).await? })
    }

    /// Revokes `permission` from `role`, audited; takes effect on the next request.
    /// `NotHeld` when the role does not hold it.
    pub async fn revoke_role_permission(&self, tenant: &TenantId, role: &str, permission: &str, actor: &str) -> Result<RoleChange, RoleError> {
        let role = parse_role(role)?;
        let permission = parse_permission(permission)?;
        if !self.store.revoke_role_permission(tenant, role, &permission, actor).await? {
            return Err(RoleError::NotHeld { role: role.to_owned(), permission: permission.to_string() });
        }
        self.targets.forget_roles(tenant);
        tracing::info!(%tenant, role, permission = %permission, actor, "role permission revoked");
        Ok(RoleChange { changed: true, role: self.role(tenant, role).await? })
    }

    async fn role(&self, tenant: &TenantId, name: &str) -> Result<RoleView, RegistryError> {
        let held = self.store.get_role(tenant, name).await?.map(|r| r.permissions).unwrap_or_default();
        Ok(role_view(name.to_owned(), held))
    }

    /// The refusal of a permission in an extension's namespace that it did not register,
    /// listing the ones it did.
    async fn not_declared(&self, tenant: &TenantId, permission: &Permission) -> RoleError {
        let registered = match self.store.list_permissions(tenant).await {
            Ok(all) => all
                .into_iter()
                .filter(|p| p.extension.is_some() && p.permission.resource == permission.resource)
                .map(|p| p.permission.to_string())
                .collect(),
            Err(err) => return err.into(),
        };
        RoleError::NotDeclared { permission: permission.to_string(), extension: permission.resource.clone(), registered }
    }
}

fn role_view(name: String, held: Vec<HeldPermission>) -> RoleView {
    let permissions = held.into_iter().map(|h| HeldView { permission: h.permission.to_string(), extension: h.extension }).collect();
    RoleView { name, permissions }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_what_tokens_carry() {
        assert_eq!(parse_role("technician").unwrap(), "technician");
        assert_eq!(parse_role("Project Manager").unwrap(), "Project Manager");
        for bad in ["", " admin", "admin ", "a\nb", &"r".repeat(MAX_ROLE_BYTES + 1)] {
            assert!(matches!(parse_role(bad), Err(RoleError::InvalidRole(_))), "{bad:?}");
        }
    }

    #[test]
    fn permissions_are_resource_colon_action() {
        assert_eq!(parse_permission("tickets:read").unwrap(), Permission::new("tickets", "read"));
        assert_eq!(parse_permission("com.alga.samples.ticket-tags:view").unwrap(), Permission::new("com.alga.samples.ticket-tags", "view"));
        for bad in ["tickets", ":read", "tickets:", "tick ets:read", "tickets:re:ad", "-x:read", "x:1read", "x:read\0"] {
            let err = parse_permission(bad).unwrap_err();
            assert!(matches!(err, RoleError::InvalidPermission(_)), "{bad:?}: {err}");
            assert!(err.to_string().starts_with("permission: "), "{err}");
        }
    }
}
