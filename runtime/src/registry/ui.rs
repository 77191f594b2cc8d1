//! What the host shows of a tenant's extensions — navigation items, dashboard widgets and pages — filtered for the calling user.
//!
//! The tenant's enabled extensions with their parsed manifests are cached per tenant and
//! dropped on this node's lifecycle events (a short TTL bounds changes made by other
//! nodes), so a descriptor request costs one cached role lookup and a filter.

use std::collections::BTreeMap;
use std::sync::Arc;

use alga_bundle::manifest::{DashboardWidget, Page, WidgetSize};
use alga_bundle::Manifest;
use alga_store::{Extension, ExtensionFilter, ExtensionStatus, TenantId};
use moka::future::Cache;
use serde::Serialize;
use uuid::Uuid;

use super::{DispatchTarget, Registry, RegistryError, RouteError, TARGET_TTL};

/// One enabled extension as the UI descriptors need it.
pub(super) struct UiSource {
    extension: Extension,
    manifest: Manifest,
}

pub(super) struct UiCache {
    /// Entries carry the tenant's generation their load started at (`targets::fresh`).
    tenants: Cache<TenantId, (u64, Arc<Vec<UiSource>>)>,
}

impl UiCache {
    pub(super) fn new() -> Self {
        Self { tenants: Cache::builder().max_capacity(10_000).time_to_live(TARGET_TTL).support_invalidation_closures().build() }
    }

    pub(super) fn forget(&self, tenant: &TenantId) {
        let tenant = tenant.clone();
        let _ = self.tenants.invalidate_entries_if(move |t, _| *t == tenant);
    }

    pub(super) fn forget_all(&self) {
        self.tenants.invalidate_all();
    }
}

/// A navigation item the user may see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NavEntry {
    pub extension_id: Uuid,
    pub extension_key: String,
    pub id: String,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    pub order: i32,
    /// The page's route in the extension (`/settings`), for the host's router.
    pub path: String,
    /// The iframe URL that shows the page.
    pub page_url: String,
}

/// Whether a widget's content comes from its handler (JSON the host renders) or from a page (an iframe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WidgetKind {
    Data,
    Frame,
}

/// A dashboard widget the user may see, before its data is fetched.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WidgetSlot {
    pub extension_id: Uuid,
    pub extension_key: String,
    pub id: String,
    pub title: String,
    /// `small`, `medium` or `large`.
    #[schema(value_type = String)]
    pub size: WidgetSize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_seconds: Option<u32>,
    pub kind: WidgetKind,
    /// Frame widgets: the iframe URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Data widgets: the export that produces the data.
    #[serde(skip)]
    pub handler: Option<String>,
    /// What the handler's `ctx` holds: the caller's actions of this extension, then the
    /// extension's granted capabilities (decided with the widget, not looked up again).
    #[serde(skip)]
    pub permissions: Vec<String>,
}

/// Whether a page is a static asset of the bundle or rendered per request by a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PageKind {
    Static,
    Handler,
}

/// A page the user may open: what the host's router needs to embed it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageView {
    pub extension_id: Uuid,
    pub extension_key: String,
    /// The requested path within the extension.
    pub path: String,
    /// The declared route it matched (`/tags/:id`).
    pub route: String,
    pub kind: PageKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The permission of the extension the page needs, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// The iframe URL; for handler pages signed for this user and valid for five minutes.
    pub url: String,
}

/// A handler page to render: its extension, handler and the route parameters.
pub struct PageCall {
    pub target: Arc<DispatchTarget>,
    pub page: Page,
    pub params: BTreeMap<String, String>,
    /// The actions of this extension the user holds, then the extension's granted capabilities.
    pub permissions: Vec<String>,
}

/// The URL of a static asset of the extension's serving version.
pub fn asset_url(ext: &Extension, path: &str) -> String {
    format!("/ext-ui/{}/sha256:{}/{}", ext.id, ext.bundle_hash, path.trim_start_matches('/'))
}

/// The URL of a handler page (without its signature).
pub fn handler_page_url(ext: &Extension, path: &str) -> String {
    format!("/ext-pages/{}{}", ext.id, path)
}

impl Registry {
    async fn ui_sources(&self, tenant: &TenantId) -> Result<Arc<Vec<UiSource>>, RegistryError> {
        super::targets::fresh(&self.ui.tenants, &self.targets.generations, tenant, tenant.clone(), || async {
            let filter = ExtensionFilter { status: Some(ExtensionStatus::Installed), name_contains: None };
            let mut sources = Vec::new();
            for extension in self.store.list_extensions(tenant, &filter).await? {
                if !extension.is_enabled {
                    continue;
                }
                match serde_json::from_value::<Manifest>(extension.manifest.clone()) {
                    Ok(manifest) => sources.push(UiSource { extension, manifest }),
                    // One unreadable manifest must not hide every other extension's UI.
                    Err(e) => tracing::error!(%tenant, extension = %extension.key, error = %e, "stored manifest does not parse; its UI is hidden"),
                }
            }
            Ok::<_, RegistryError>(Arc::new(sources))
        })
        .await
    }

    /// Actions per extension key that `roles` hold in the tenant.
    async fn held_actions(&self, tenant: &TenantId, roles: &[String]) -> Result<BTreeMap<String, Vec<String>>, RegistryError> {
        let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in self.role_permissions(tenant, roles).await?.iter() {
            held.entry(p.resource.clone()).or_default().push(p.action.clone());
        }
        Ok(held)
    }

    /// The navigation items of the tenant's enabled extensions that `roles` may see, by
    /// `order` then label. An item is hidden when the user lacks its permission or its page's.
    pub async fn navigation(&self, tenant: &TenantId, user: &str, roles: &[String]) -> Result<Vec<NavEntry>, RegistryError> {
        // Every navigation item opens a page, and pages need the enterprise edition.
        if !self.edition.serves_pages() {
            return Ok(Vec::new());
        }
        let (sources, held) = (self.ui_sources(tenant).await?, self.held_actions(tenant, roles).await?);
        let mut items = Vec::new();
        for source in sources.iter() {
            let points = source.manifest.points();
            let (ext, points) = (&source.extension, &*points);
            let may = |permission: &Option<String>| allowed(&held, &ext.key, permission);
            for nav in points.navigation.iter().filter(|n| may(&n.permission)) {
                let Some(page) = points.pages.iter().find(|p| p.path == nav.page).filter(|p| may(&p.permission)) else { continue };
                items.push(NavEntry {
                    extension_id: ext.id,
                    extension_key: ext.key.clone(),
                    id: nav.id.clone(),
                    label: nav.label.clone(),
                    icon: nav.icon.clone(),
                    order: nav.order.unwrap_or(0),
                    path: nav.page.clone(),
                    page_url: self.page_url(tenant, user, roles, ext, page, &page.path),
                });
            }
        }
        items.sort_by(|a, b| (a.order, a.label.to_lowercase(), &a.extension_key).cmp(&(b.order, b.label.to_lowercase(), &b.extension_key)));
        Ok(items)
    }

    /// The dashboard widgets of the tenant's enabled extensions that `roles` may see.
    pub async fn dashboard(&self, tenant: &TenantId, roles: &[String]) -> Result<Vec<(Arc<DispatchTarget>, WidgetSlot)>, RegistryError> {
        let (sources, held) = (self.ui_sources(tenant).await?, self.held_actions(tenant, roles).await?);
        let mut slots = Vec::new();
        for source in sources.iter() {
            let ext = &source.extension;
            let widgets: Vec<&DashboardWidget> =
                source.manifest.extension_points.dashboard_widgets.iter().filter(|w| allowed(&held, &ext.key, &w.permission)).collect();
            if widgets.is_empty() {
                continue;
            }
            // Data widgets run in the isolate, which needs the dispatch target (settings,
            // granted capabilities); it is cached as for endpoint calls.
            let Some(target) = self.dispatch_target(tenant, &ext.id.to_string()).await? else { continue };
            let actions = held.get(&ext.key).cloned().unwrap_or_default();
            for widget in widgets {
                slots.push((target.clone(), widget_slot(&target, widget, actions.clone())));
            }
        }
        Ok(slots)
    }

    /// One widget of one extension, when `roles` may see it.
    pub async fn widget(
        &self,
        tenant: &TenantId,
        roles: &[String],
        id_or_key: &str,
        widget_id: &str,
    ) -> Result<(Arc<DispatchTarget>, WidgetSlot), RouteError> {
        let target = self.routable(tenant, id_or_key).await?;
        let widget = target.manifest.extension_points.dashboard_widgets.iter().find(|w| w.id == widget_id).ok_or(RouteError::NotFound)?;
        let actions = self.require(tenant, roles, &target, &widget.permission).await?;
        let slot = widget_slot(&target, widget, actions);
        Ok((target, slot))
    }

    /// The page of an extension that `path` (percent-encoded, as sent) reaches, when `roles`
    /// may open it; `query` is passed on to the page's URL.
    pub async fn page(
        &self,
        tenant: &TenantId,
        user: &str,
        roles: &[String],
        id_or_key: &str,
        raw_path: &str,
        query: Option<&str>,
    ) -> Result<PageView, RouteError> {
        let call = self.page_call(tenant, roles, id_or_key, raw_path).await?;
        let ext = &call.target.extension;
        let path = raw_path.to_owned();
        let kind = if call.page.entry.is_some() { PageKind::Static } else { PageKind::Handler };
        let mut url = self.page_url(tenant, user, roles, ext, &call.page, &path);
        // The host's own `t` pairs would be taken for the signature: they are not passed on.
        let query = query.map(crate::page_links::without_signature);
        if let Some(query) = query.as_deref().filter(|q| !q.is_empty()) {
            // The signature stays last, so the page's own parameters read first.
            url = match url.split_once("?t=") {
                Some((base, token)) => format!("{base}?{query}&t={token}"),
                None => format!("{url}?{query}"),
            };
        }
        Ok(PageView {
            extension_id: ext.id,
            extension_key: ext.key.clone(),
            url,
            path,
            route: call.page.path.clone(),
            kind,
            title: call.page.title.clone(),
            permission: call.page.permission.clone(),
        })
    }

    /// The page `raw_path` reaches and what its handler may do, when `roles` may open it.
    pub async fn page_call(&self, tenant: &TenantId, roles: &[String], id_or_key: &str, raw_path: &str) -> Result<PageCall, RouteError> {
        let target = self.routable(tenant, id_or_key).await?;
        if !self.edition.serves_pages() {
            return Err(RouteError::EditionRequired { feature: "custom pages" });
        }
        let (page, params) = target
            .manifest
            .points()
            .pages
            .iter()
            .find_map(|p| alga_bundle::validate::match_route(&p.path, raw_path).map(|params| (p.clone(), params)))
            .ok_or(RouteError::NotFound)?;
        let mut permissions = self.require(tenant, roles, &target, &page.permission).await?;
        permissions.extend(target.granted.iter().cloned());
        Ok(PageCall { target, page, params, permissions })
    }

    fn page_url(&self, tenant: &TenantId, user: &str, roles: &[String], ext: &Extension, page: &Page, path: &str) -> String {
        match &page.entry {
            Some(entry) => asset_url(ext, entry),
            None => format!("{}?t={}", handler_page_url(ext, path), self.page_links.sign(tenant, user, roles, ext.id)),
        }
    }
}

fn allowed(held: &BTreeMap<String, Vec<String>>, key: &str, permission: &Option<String>) -> bool {
    permission.as_ref().is_none_or(|p| held.get(key).is_some_and(|actions| actions.contains(p)))
}

fn widget_slot(target: &DispatchTarget, widget: &DashboardWidget, mut permissions: Vec<String>) -> WidgetSlot {
    let ext = &target.extension;
    permissions.extend(target.granted.iter().cloned());
    WidgetSlot {
        extension_id: ext.id,
        extension_key: ext.key.clone(),
        id: widget.id.clone(),
        title: widget.title.clone(),
        size: widget.size,
        refresh_seconds: widget.refresh_seconds,
        kind: if widget.entry.is_some() { WidgetKind::Frame } else { WidgetKind::Data },
        url: widget.entry.as_ref().map(|entry| asset_url(ext, entry)),
        handler: widget.handler.clone(),
        permissions,
    }
}
