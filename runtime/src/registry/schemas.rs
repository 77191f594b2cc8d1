//! The manifest's per-namespace storage schemas, compiled once per isolate and checked by
//! the storage ops (and by storage import) before anything is written.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

/// Errors reported per refused value, at most.
const MAX_REPORTED: usize = 5;

pub struct NamespaceSchemas(HashMap<String, jsonschema::Validator>);

impl NamespaceSchemas {
    /// The validators of a stored manifest; `None` when it declares no schemas. Schemas
    /// were checked at install, so one that fails to compile now is skipped with a log line.
    pub fn from_manifest(manifest: &Value) -> Option<Arc<Self>> {
        let schemas = manifest.get("storage")?.get("schemas")?.as_object()?;
        let compiled: HashMap<String, jsonschema::Validator> = schemas
            .iter()
            .filter_map(|(namespace, schema)| match jsonschema::validator_for(schema) {
                Ok(validator) => Some((namespace.clone(), validator)),
                Err(e) => {
                    tracing::error!(namespace, error = %e, "stored storage schema does not compile; not enforced");
                    None
                }
            })
            .collect();
        (!compiled.is_empty()).then(|| Arc::new(Self(compiled)))
    }
}

impl alga_ops::storage::ValueValidator for NamespaceSchemas {
    fn check(&self, namespace: &str, value: &Value) -> Result<(), String> {
        let Some(validator) = self.0.get(namespace) else { return Ok(()) };
        let problems: Vec<String> = validator
            .iter_errors(value)
            .take(MAX_REPORTED)
            .map(|e| {
                let path = e.instance_path().to_string();
                format!("{}: {e}", if path.is_empty() { "/" } else { &path })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("value does not match the schema of namespace {namespace:?}: {}", problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alga_ops::storage::ValueValidator;
    use serde_json::json;

    #[test]
    fn values_are_checked_against_their_namespace_only() {
        let manifest = json!({ "storage": { "schemas": { "tags": { "type": "object", "required": ["name"],
            "properties": { "name": { "type": "string" }, "color": { "type": "string" } } } } } });
        let schemas = NamespaceSchemas::from_manifest(&manifest).unwrap();
        assert!(schemas.check("tags", &json!({ "name": "urgent" })).is_ok());
        let err = schemas.check("tags", &json!({ "name": 5 })).unwrap_err();
        assert!(err.contains("/name") && err.contains("\"tags\""), "{err}");
        assert!(schemas.check("other", &json!(5)).is_ok(), "namespaces without a schema take anything");
        assert!(NamespaceSchemas::from_manifest(&json!({})).is_none());
    }
}
