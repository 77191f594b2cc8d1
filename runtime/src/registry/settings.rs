//! Extension settings as admins see them: manifest defaults merged with saved values,
//! validated against the manifest's settings schema, secrets never shown back.

use alga_store::{Extension, StoreError, TenantId};
use uuid::Uuid;

use super::{LifecycleKind, Registry, RegistryError, SettingsView};
use alga_bundle::manifest::SettingDef;
use alga_bundle::validate::check_setting_value;
use alga_bundle::Problem;
use alga_ops::storage::seal::{self, Sealer};
use serde_json::{Map, Value};

/// What a secret's value is shown as once set.
pub const SECRET_MASK: &str = "********";

/// Defaults merged with `saved`; secrets replaced by [`SECRET_MASK`] when `mask_secrets`.
pub fn effective(defs: &[SettingDef], saved: Option<&Value>, mask_secrets: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for def in defs {
        let value = saved.and_then(|s| s.get(&def.key)).cloned().or_else(|| def.default.clone());
        let value = match value {
            Some(_) if def.secret && mask_secrets => Value::String(SECRET_MASK.into()),
            Some(v) => v,
            None => Value::Null,
        };
        out.insert(def.key.clone(), value);
    }
    out
}

/// Seals every secret in `saved` that is still in clear, bound to its tenant, extension
/// and name. Without keys, a secret cannot be saved at all.
pub fn seal_secrets(
    defs: &[SettingDef],
    saved: &mut Value,
    sealer: Option<&Sealer>,
    tenant: &str,
    extension_id: &uuid::Uuid,
) -> Result<(), Vec<Problem>> {
    let Some(values) = saved.as_object_mut() else { return Ok(()) };
    for def in defs.iter().filter(|d| d.secret) {
        let Some(value) = values.get_mut(&def.key) else { continue };
        if seal::is_sealed(value) {
            continue;
        }
        let Some(sealer) = sealer else {
            return Err(vec![Problem::new(
                format!("/{}", def.key),
                "encryption_unavailable",
                "secret settings are stored encrypted, and this runtime has no encryption keys (--encryption-keys)",
            )]);
        };
        *value = sealer.seal(value, &seal::setting_aad(tenant, extension_id, &def.key));
    }
    Ok(())
}

/// `saved` with its secrets opened, for the isolate only. A secret that cannot be opened
/// (a key removed from the configuration) is left out and logged, so its default applies.
pub fn open_secrets(saved: Option<Value>, sealer: Option<&Sealer>, tenant: &str, extension_id: &uuid::Uuid) -> Option<Value> {
    let mut saved = saved?;
    if let Some(values) = saved.as_object_mut() {
        values.retain(|name, value| {
            if !seal::is_sealed(value) {
                return true;
            }
            match sealer.map(|s| s.open(value, &seal::setting_aad(tenant, extension_id, name))) {
                Some(Ok(open)) => {
                    *value = open;
                    true
                }
                Some(Err(e)) => {
                    tracing::error!(tenant, setting = %name, error = %e, "cannot open a secret setting");
                    false
                }
                None => {
                    tracing::error!(tenant, setting = %name, "a secret setting is sealed but no encryption keys are configured");
                    false
                }
            }
        });
    }
    Some(saved)
}

/// Applies an update to the saved values: keys present are set (`null` resets one to its
/// default), keys absent are kept. Returns the new saved object or every problem found.
pub fn apply_update(defs: &[SettingDef], saved: Option<&Value>, update: &Value) -> Result<Value, Vec<Problem>> {
    let Some(update) = update.as_object() else {
        return Err(vec![Problem::new("", "type", "settings must be a JSON object of key to value")]);
    };
    let mut next = saved.and_then(Value::as_object).cloned().unwrap_or_default();
    let mut problems = Vec::new();
    for (key, value) in update {
        let pointer = format!("/{}", key.replace('~', "~0").replace('/', "~1"));
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            problems.push(Problem::new(pointer, "unknown_setting", format!("the extension has no setting {key:?}")));
            continue;
        };
        if value.is_null() {
            next.remove(key);
            continue;
        }
        if def.secret && value.as_str() == Some(SECRET_MASK) {
            // The console sent the mask back unchanged: keep the stored secret.
            continue;
        }
        if let Some(problem) = alga_ops::storage::value_problem(value) {
            // The database could not hold it (NUL), or it nests absurdly deep.
            problems.push(Problem::new(pointer, "type", problem));
            continue;
        }
        match check_setting_value(def, value) {
            Ok(()) => {
                next.insert(key.clone(), value.clone());
            }
            Err(message) => problems.push(Problem::new(pointer, "type", message)),
        }
    }
    for def in defs.iter().filter(|d| d.required && d.default.is_none()) {
        if !next.contains_key(&def.key) {
            problems.push(Problem::new(format!("/{}", def.key), "required", format!("setting {:?} is required", def.key)));
        }
    }
    if problems.is_empty() {
        Ok(Value::Object(next))
    } else {
        problems.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        Err(problems)
    }
}

/// Settings and limit overrides of an install, as tenant admins read and change them.
impl Registry {
    fn settings_defs(ext: &Extension) -> Vec<alga_bundle::manifest::SettingDef> {
        ext.manifest.get("settings").and_then(|s| serde_json::from_value(s.clone()).ok()).unwrap_or_default()
    }

    /// Settings as an admin sees them (secrets masked) with their definitions.
    pub async fn settings(&self, tenant: &TenantId, id: Uuid) -> Result<SettingsView, RegistryError> {
        let ext = self.get(tenant, id).await?;
        let defs = Self::settings_defs(&ext);
        let saved = self.store.get_settings(tenant, id).await?;
        Ok(SettingsView { values: effective(&defs, saved.as_ref(), true), schema: defs })
    }

    pub async fn update_settings(&self, tenant: &TenantId, id: Uuid, update: &Value, actor: &str) -> Result<SettingsView, RegistryError> {
        let ext = self.get(tenant, id).await?;
        let defs = Self::settings_defs(&ext);
        let saved = self.store.get_settings(tenant, id).await?;
        let mut next = apply_update(&defs, saved.as_ref(), update).map_err(RegistryError::Settings)?;
        seal_secrets(&defs, &mut next, self.sealer.as_deref(), tenant.as_str(), &id).map_err(RegistryError::Settings)?;
        self.store.put_settings(tenant, id, &next).await?;
        let keys: Vec<&String> = update.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        self.audit(tenant, actor, "extension.settings_updated", &ext, serde_json::json!({ "keys": keys })).await?;
        self.publish(&ext, LifecycleKind::SettingsChanged);
        Ok(SettingsView { values: effective(&defs, Some(&next), true), schema: defs })
    }

    /// Replaces an extension's limit overrides (validated by the caller against ceilings).
    pub async fn set_limits(
        &self,
        tenant: &TenantId,
        id: Uuid,
        overrides: &crate::isolate::limits::LimitOverrides,
        actor: &str,
    ) -> Result<Extension, RegistryError> {
        self.get(tenant, id).await?;
        let value = serde_json::to_value(overrides).map_err(|e| StoreError::Invalid { field: "limits", message: e.to_string() })?;
        let ext = self.store.set_extension_limits(tenant, id, &value, actor).await?;
        self.publish(&ext, LifecycleKind::LimitsChanged);
        Ok(ext)
    }

    pub async fn reset_settings(&self, tenant: &TenantId, id: Uuid, actor: &str) -> Result<SettingsView, RegistryError> {
        let ext = self.get(tenant, id).await?;
        self.store.delete_settings(tenant, id).await?;
        self.audit(tenant, actor, "extension.settings_reset", &ext, Value::Null).await?;
        self.publish(&ext, LifecycleKind::SettingsChanged);
        let defs = Self::settings_defs(&ext);
        Ok(SettingsView { values: effective(&defs, None, true), schema: defs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Vec<SettingDef> {
        serde_json::from_value(json!([
            { "key": "color", "type": "select", "label": "Color", "options": ["red", "blue"], "default": "red" },
            { "key": "limit", "type": "number", "label": "Limit" },
            { "key": "apiKey", "type": "string", "label": "API key", "secret": true, "required": true }
        ]))
        .unwrap()
    }

    #[test]
    fn effective_settings_merge_defaults_and_mask_secrets() {
        let saved = json!({ "limit": 3, "apiKey": "s3cret" });
        let shown = effective(&defs(), Some(&saved), true);
        assert_eq!(Value::Object(shown), json!({ "color": "red", "limit": 3, "apiKey": SECRET_MASK }));
        assert_eq!(effective(&defs(), Some(&saved), false)["apiKey"], "s3cret");
    }

    #[test]
    fn updates_are_validated_and_merged() {
        let saved = json!({ "apiKey": "s3cret" });
        let next = apply_update(&defs(), Some(&saved), &json!({ "color": "blue", "apiKey": SECRET_MASK })).unwrap();
        assert_eq!(next, json!({ "color": "blue", "apiKey": "s3cret" }));
        let problems = apply_update(&defs(), Some(&saved), &json!({ "color": "green", "nope": 1, "limit": "x" })).unwrap_err();
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(pointers, ["/color", "/limit", "/nope"]);
        let missing = apply_update(&defs(), None, &json!({})).unwrap_err();
        assert_eq!(missing[0].rule, "required");
    }
}
