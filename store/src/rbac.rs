//! Records of the tenant's roles and permissions as admins list them, and the audit rows of their grants and revokes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::{NewAuditEntry, Permission};

/// A role of the tenant with every permission it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRecord {
    pub name: String,
    /// In (resource, action) order.
    pub permissions: Vec<HeldPermission>,
}

/// A permission as a role holds it: `extension` marks one an extension registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldPermission {
    pub permission: Permission,
    pub extension: Option<PermissionOwner>,
}

/// A permission defined in the tenant, held by a role or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRecord {
    pub permission: Permission,
    pub description: String,
    pub extension: Option<PermissionOwner>,
}

/// The extension that registered a permission: its install id and manifest id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PermissionOwner {
    pub id: Uuid,
    pub key: String,
}

/// The columns both backends select for a held or defined permission's owner, joined from
/// `extensions` (a permission's owner always exists: deleting it cascades).
pub(crate) const OWNER_JOIN: &str = "LEFT JOIN extensions e ON e.id = p.extension_id AND e.tenant_id = p.tenant_id";

/// The owner of a permission from its joined columns.
pub(crate) fn owner(id: Option<Uuid>, key: Option<String>) -> Option<PermissionOwner> {
    id.zip(key).map(|(id, key)| PermissionOwner { id, key })
}

/// The columns of the roles listing as a backend decodes them: role name, then resource,
/// action, owner id (`Id` is the backend's uuid column type) and owner manifest id, all
/// `NULL` for a role that holds nothing.
pub(crate) type RoleColumns<Id> = (String, Option<String>, Option<String>, Option<Id>, Option<String>);

/// One row of the roles listing: a role and one permission it holds (none for a role that
/// holds nothing).
pub(crate) type RoleRow = (String, Option<HeldPermission>);

/// Groups listing rows into roles. Sorting happens here, not in SQL, so both backends
/// answer in the same (byte) order whatever their collation.
pub(crate) fn group_roles(rows: impl IntoIterator<Item = RoleRow>) -> Vec<RoleRecord> {
    let mut roles: BTreeMap<String, Vec<HeldPermission>> = BTreeMap::new();
    for (name, held) in rows {
        let permissions = roles.entry(name).or_default();
        permissions.extend(held);
    }
    roles
        .into_iter()
        .map(|(name, mut permissions)| {
            permissions.sort_by(|a, b| a.permission.cmp(&b.permission));
            RoleRecord { name, permissions }
        })
        .collect()
}

/// Sorts defined permissions by (resource, action) in byte order.
pub(crate) fn sort_permissions(mut found: Vec<PermissionRecord>) -> Vec<PermissionRecord> {
    found.sort_by(|a, b| a.permission.cmp(&b.permission));
    found
}

/// The audit row of an admin's grant (`role.permission_granted`) or revoke
/// (`role.permission_revoked`).
pub(crate) fn role_audit(action: &str, role: &str, permission: &Permission, extension_id: Option<Uuid>, actor: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: role.to_owned(),
        details: json!({ "role": role, "permission": permission.to_string(), "extensionId": extension_id }),
    }
}

/// An `extension_id` column as SQLite stores it (text).
pub(crate) fn parse_extension_id(raw: Option<String>) -> crate::Result<Option<Uuid>> {
    raw.map(|raw| {
        Uuid::parse_str(&raw).map_err(|e| crate::StoreError::Corrupt { table: "permissions", message: format!("extension_id {raw:?}: {e}") })
    })
    .transpose()
}
