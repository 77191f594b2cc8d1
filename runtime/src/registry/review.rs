//! The review an admin reads before approving: every extension point the manifest declares,
//! each with the permission a user needs to reach it, and the capabilities it asks for.

use alga_bundle::Manifest;
use serde::Serialize;
use serde_json::Value;

/// What `access` says about an extension point no permission guards.
pub const OPEN_TO_EVERY_USER: &str = "open to every user of the tenant";

/// Who may reach an extension point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Access {
    /// The `resource:action` permission a user's roles must hold (`<manifest id>:<name>`),
    /// or `null` when none is needed.
    pub permission: Option<String>,
    /// The same in words: `needs <permission>` or [`OPEN_TO_EVERY_USER`].
    pub access: String,
}

impl Access {
    fn of(key: &str, permission: Option<&String>) -> Self {
        match permission {
            Some(name) => {
                let permission = format!("{key}:{name}");
                Self { access: format!("needs {permission}"), permission: Some(permission) }
            }
            None => Self { permission: None, access: OPEN_TO_EVERY_USER.into() },
        }
    }
}

/// One extension point, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ExtensionPoint {
    /// `GET /api/extensions/<id><path>` and the like.
    Endpoint {
        method: &'static str,
        path: String,
        #[serde(flatten)]
        access: Access,
    },
    Page {
        path: String,
        title: Option<String>,
        #[serde(flatten)]
        access: Access,
    },
    Navigation {
        id: String,
        label: String,
        /// The page it opens.
        page: String,
        #[serde(flatten)]
        access: Access,
    },
    DashboardWidget {
        id: String,
        title: String,
        #[serde(flatten)]
        access: Access,
    },
}

/// A capability the version asks the host for, with what granting it allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CapabilityRequest {
    /// `resource:action`.
    pub capability: String,
    pub description: String,
}

/// The whole review of one version's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    /// Endpoints, pages, navigation items and dashboard widgets, in manifest order.
    pub extension_points: Vec<ExtensionPoint>,
    pub capabilities: Vec<CapabilityRequest>,
    /// The permissions the extension defines for users (`<manifest id>:<name>`), and the
    /// roles that receive each when it is first registered.
    pub user_permissions: Vec<UserPermissionReview>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPermissionReview {
    pub permission: String,
    pub description: String,
    pub default_roles: Vec<String>,
}

impl Review {
    pub fn of(m: &Manifest) -> Self {
        let ep = &m.extension_points;
        let key = m.id.as_str();
        let endpoints = ep.endpoints.iter().map(|e| ExtensionPoint::Endpoint {
            method: e.method.as_str(),
            path: e.path.clone(),
            access: Access::of(key, e.permission.as_ref()),
        });
        let pages = ep.pages.iter().map(|p| ExtensionPoint::Page {
            path: p.path.clone(),
            title: p.title.clone(),
            access: Access::of(key, p.permission.as_ref()),
        });
        let navigation = ep.navigation.iter().map(|n| ExtensionPoint::Navigation {
            id: n.id.clone(),
            label: n.label.clone(),
            page: n.page.clone(),
            access: Access::of(key, n.permission.as_ref()),
        });
        let widgets = ep.dashboard_widgets.iter().map(|w| ExtensionPoint::DashboardWidget {
            id: w.id.clone(),
            title: w.title.clone(),
            access: Access::of(key, w.permission.as_ref()),
        });
        let capabilities =
            m.permissions.iter().map(|c| CapabilityRequest { capability: c.clone(), description: alga_bundle::catalog::describe(c) }).collect();
        let user_permissions = m
            .user_permissions
            .iter()
            .map(|u| UserPermissionReview {
                permission: format!("{key}:{}", u.name),
                description: u.description.clone(),
                default_roles: u.default_roles.clone(),
            })
            .collect();
        Self { extension_points: endpoints.chain(pages).chain(navigation).chain(widgets).collect(), capabilities, user_permissions }
    }

    /// The review of a stored manifest; `None` when it no longer parses (it did when uploaded).
    pub fn of_stored(manifest: &Value) -> Option<Self> {
        serde_json::from_value::<Manifest>(manifest.clone()).ok().map(|m| Self::of(&m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_point_is_listed_with_its_permission_or_as_open() {
        let m: Manifest = serde_json::from_value(json!({
            "id": "com.example.x", "name": "X", "version": "1.0.0", "main": "index.js",
            "permissions": ["storage:read", "time_entries:write"],
            "userPermissions": [{ "name": "use", "description": "Use it", "defaultRoles": ["admin"] }],
            "extensionPoints": {
                "endpoints": [{ "method": "POST", "path": "/a/:id", "handler": "a", "permission": "use" }, { "method": "GET", "path": "/b", "handler": "b" }]
            }
        }))
        .unwrap();
        let review = serde_json::to_value(Review::of(&m)).unwrap();
        assert_eq!(
            review["extensionPoints"],
            json!([
                { "kind": "endpoint", "method": "POST", "path": "/a/:id", "permission": "com.example.x:use", "access": "needs com.example.x:use" },
                { "kind": "endpoint", "method": "GET", "path": "/b", "permission": null, "access": OPEN_TO_EVERY_USER },
            ])
        );
        assert_eq!(
            review["capabilities"][1],
            json!({ "capability": "time_entries:write", "description": "create and change time entries in the host app (through its API)" })
        );
        assert_eq!(review["userPermissions"], json!([{ "permission": "com.example.x:use", "description": "Use it", "defaultRoles": ["admin"] }]));
    }
}
