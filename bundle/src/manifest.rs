//! The `manifest.json` types. The published JSON Schema is generated from these, so the
//! schema and the parser cannot drift apart.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An extension's `manifest.json`, at the root of its bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "Alga extension manifest")]
pub struct Manifest {
    /// Editors may point this at the published schema; ignored by the runtime.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Reverse-domain id, `[a-z0-9.-]`, 3 to 128 characters, e.g. `com.example.ticket-tags`.
    #[schemars(length(min = 3, max = 128), regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"))]
    pub id: String,
    /// Display name shown to admins and users.
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 2000))]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// SPDX license expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Semantic version of this release, e.g. `1.2.0`.
    pub version: String,
    #[serde(default, skip_serializing_if = "Engines::is_empty")]
    pub engines: Engines,
    /// ES module holding the handlers: a `.js`, `.mjs` or `.ts` file in the bundle.
    pub main: String,
    /// Capabilities asked of the host, `resource:action`, e.g. `tickets:read`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// Permissions this extension defines for the tenant's users.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_permissions: Vec<UserPermission>,
    #[serde(default, skip_serializing_if = "ExtensionPoints::is_empty")]
    pub extension_points: ExtensionPoints,
    /// Settings a tenant admin can edit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<SettingDef>,
    /// Globs of static files served to pages, e.g. `ui/**`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<String>,
    /// How the extension's own key-value storage is checked.
    #[serde(default, skip_serializing_if = "StorageSpec::is_empty")]
    pub storage: StorageSpec,
    /// Alga PSA manifest v2's iframe UI, accepted as an alias: `hooks.appMenu` shows as a
    /// navigation item opening `entry`, a static page at `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<AlgaUi>,
}

/// Alga PSA's `ui` block (manifest v2): one iframe app and where the host links to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlgaUi {
    /// Only `iframe`.
    #[serde(rename = "type", default)]
    pub kind: AlgaUiKind,
    /// The app's HTML page in the bundle (covered by `assets`), e.g. `ui/index.html`.
    pub entry: String,
    #[serde(default)]
    pub hooks: AlgaUiHooks,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlgaUiKind {
    #[default]
    Iframe,
}

/// Where the host links to the app. Alga's other hooks (`clientPortalMenu`, …) are accepted
/// and not shown yet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlgaUiHooks {
    /// An item of the host's main menu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_menu: Option<AppMenuHook>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppMenuHook {
    #[schemars(length(min = 1, max = 100))]
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
}

/// Storage rules of an extension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StorageSpec {
    /// A JSON Schema per namespace (`""` is the default namespace). Writes of values that
    /// do not match fail with `VALIDATION_FAILED`, naming the path at fault.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub schemas: BTreeMap<String, serde_json::Value>,
}

impl StorageSpec {
    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty()
    }
}

/// Runtime versions the extension works with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Engines {
    /// Semver range of the runtime's host API version, e.g. `^1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alga: Option<String>,
}

impl Engines {
    fn is_empty(&self) -> bool {
        self.alga.is_none()
    }
}

/// A permission the extension defines, registered in the tenant's RBAC on approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPermission {
    /// `[a-z][a-z0-9_-]*`, e.g. `view`.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Roles that receive the permission when the extension is approved.
    #[serde(default)]
    pub default_roles: Vec<String>,
}

/// Where the extension plugs into the host app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtensionPoints {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub navigation: Vec<NavigationItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dashboard_widgets: Vec<DashboardWidget>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<Page>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
}

impl ExtensionPoints {
    fn is_empty(&self) -> bool {
        self.navigation.is_empty() && self.dashboard_widgets.is_empty() && self.pages.is_empty() && self.endpoints.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NavigationItem {
    #[schemars(length(min = 1, max = 64))]
    pub id: String,
    #[schemars(length(min = 1, max = 100))]
    pub label: String,
    /// The `path` of a page declared in `extensionPoints.pages`.
    pub page: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    /// A `userPermissions` name the user must hold to see the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WidgetSize {
    Small,
    Medium,
    Large,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DashboardWidget {
    #[schemars(length(min = 1, max = 64))]
    pub id: String,
    #[schemars(length(min = 1, max = 100))]
    pub title: String,
    /// A data widget: name of an export of the main module that returns the widget's JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// A frame widget: a static HTML asset of the bundle (covered by `assets`) shown in an iframe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    pub size: WidgetSize,
    /// How often the host should refresh the widget, in seconds (10 to 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 86400))]
    pub refresh_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Page {
    /// Route of the page, starting with `/`, e.g. `/settings` or `/tags/:id`.
    pub path: String,
    /// A page rendered per request: name of an export of the main module that returns HTML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// A static page: an HTML asset of the bundle (covered by `assets`), e.g. `ui/index.html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Endpoint {
    pub method: HttpMethod,
    /// Route below the extension's API root, e.g. `/tags/:id`.
    pub path: String,
    /// Name of an export of the main module.
    pub handler: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SettingType {
    String,
    Number,
    Boolean,
    Select,
    Multiselect,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingDef {
    /// `[a-zA-Z][a-zA-Z0-9_]*`, unique within the manifest.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-zA-Z][a-zA-Z0-9_]*$"))]
    pub key: String,
    #[serde(rename = "type")]
    pub kind: SettingType,
    #[schemars(length(min = 1, max = 100))]
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Value used until an admin sets one; must match `type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    #[serde(default)]
    pub required: bool,
    /// Stored encrypted and never shown back to admins.
    #[serde(default)]
    pub secret: bool,
    /// Allowed values of `select` and `multiselect` settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
}

impl Manifest {
    /// The manifest's JSON Schema (draft 2020-12), as published at `/schemas/manifest.json`.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or_default()
    }

    /// All handler names the manifest refers to, with the JSON pointer of each reference.
    pub fn handler_refs(&self) -> Vec<(String, &str)> {
        let ep = &self.extension_points;
        let widgets = ep
            .dashboard_widgets
            .iter()
            .enumerate()
            .filter_map(|(i, w)| Some((format!("/extensionPoints/dashboardWidgets/{i}/handler"), w.handler.as_deref()?)));
        let pages = ep.pages.iter().enumerate().filter_map(|(i, p)| Some((format!("/extensionPoints/pages/{i}/handler"), p.handler.as_deref()?)));
        let endpoints = ep.endpoints.iter().enumerate().map(|(i, e)| (format!("/extensionPoints/endpoints/{i}/handler"), e.handler.as_str()));
        widgets.chain(pages).chain(endpoints).collect()
    }

    /// All static entries (page and frame-widget HTML assets), with the JSON pointer of each.
    pub fn entry_refs(&self) -> Vec<(String, &str)> {
        let ep = &self.extension_points;
        let pages = ep.pages.iter().enumerate().filter_map(|(i, p)| Some((format!("/extensionPoints/pages/{i}/entry"), p.entry.as_deref()?)));
        let widgets = ep
            .dashboard_widgets
            .iter()
            .enumerate()
            .filter_map(|(i, w)| Some((format!("/extensionPoints/dashboardWidgets/{i}/entry"), w.entry.as_deref()?)));
        let ui = self.ui.iter().map(|ui| ("/ui/entry".to_owned(), ui.entry.as_str()));
        pages.chain(widgets).chain(ui).collect()
    }

    /// The extension points with Alga's `ui.hooks.appMenu` alias folded in: a static page at
    /// `/` showing `ui.entry` (unless a declared page has that path) and a navigation item
    /// `app-menu` opening it.
    pub fn points(&self) -> std::borrow::Cow<'_, ExtensionPoints> {
        let Some((ui, menu)) = self.ui.as_ref().and_then(|ui| Some((ui, ui.hooks.app_menu.as_ref()?))) else {
            return std::borrow::Cow::Borrowed(&self.extension_points);
        };
        let mut points = self.extension_points.clone();
        if !points.pages.iter().any(|p| p.path == "/") {
            points.pages.push(Page {
                path: "/".into(),
                handler: None,
                entry: Some(ui.entry.clone()),
                title: Some(menu.label.clone()),
                permission: None,
            });
        }
        if !points.navigation.iter().any(|n| n.id == "app-menu") {
            points.navigation.push(NavigationItem {
                id: "app-menu".into(),
                label: menu.label.clone(),
                page: "/".into(),
                icon: menu.icon.clone(),
                order: menu.order,
                permission: None,
            });
        }
        std::borrow::Cow::Owned(points)
    }
}

/// Summary of a manifest for listings (the review of its extension points is the runtime's `registry::review`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestSummary {
    pub id: String,
    pub name: String,
    pub version: String,
    pub description: String,
    pub publisher: Option<String>,
    pub permissions: Vec<String>,
    pub user_permissions: Vec<String>,
}

impl From<&Manifest> for ManifestSummary {
    fn from(m: &Manifest) -> Self {
        Self {
            id: m.id.clone(),
            name: m.name.clone(),
            version: m.version.clone(),
            description: m.description.clone(),
            publisher: m.publisher.clone(),
            permissions: m.permissions.clone(),
            user_permissions: m.user_permissions.iter().map(|p| p.name.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod doc_tests {
    use serde_json::Value;

    /// Every property name anywhere in the schema, following `$ref`s into `$defs`.
    fn property_names(node: &Value, defs: &Value, out: &mut std::collections::BTreeSet<String>, depth: usize) {
        if depth > 12 {
            return;
        }
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            if let Some(target) = reference.rsplit('/').next().and_then(|name| defs.get(name)) {
                property_names(target, defs, out, depth + 1);
            }
        }
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            for (name, child) in properties {
                out.insert(name.clone());
                property_names(child, defs, out, depth + 1);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(child) = node.get(key).filter(|c| c.is_object()) {
                property_names(child, defs, out, depth + 1);
            }
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            for child in node.get(key).and_then(Value::as_array).into_iter().flatten() {
                property_names(child, defs, out, depth + 1);
            }
        }
    }

    #[test]
    fn docs_manifest_md_describes_every_field_of_the_schema() {
        let schema = super::Manifest::json_schema();
        let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
        let mut names = std::collections::BTreeSet::new();
        property_names(&schema, &defs, &mut names, 0);
        assert!(names.len() > 40, "the schema walk found only {names:?}");
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/manifest.md")).unwrap();
        let missing: Vec<&String> = names.iter().filter(|name| !doc.contains(&format!("`{name}`")) && !doc.contains(&format!(".{name}`"))).collect();
        assert!(missing.is_empty(), "docs/manifest.md does not describe {missing:?}");
    }
}
