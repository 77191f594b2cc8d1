//! The capability catalog: which `resource:action` pairs an extension may ask the host for.

/// Version of the host API this runtime offers; `engines.alga` ranges are checked against it.
pub const HOST_API_VERSION: &str = "1.0.0";

/// Resources and the actions each supports. `storage` is the extension's own key-value
/// store; the rest are host app resources reached through `ctx.api`.
pub const CAPABILITIES: &[(&str, &[&str])] = &[
    ("storage", &["read", "write"]),
    ("tickets", &["read", "write", "delete"]),
    ("companies", &["read", "write", "delete"]),
    ("contacts", &["read", "write", "delete"]),
    ("projects", &["read", "write", "delete"]),
    ("time_entries", &["read", "write", "delete"]),
    ("invoices", &["read"]),
    ("assets", &["read", "write"]),
    ("documents", &["read", "write"]),
    ("users", &["read"]),
];

/// Splits `resource:action` and checks it against the catalog.
pub fn lookup(capability: &str) -> Result<(&str, &str), String> {
    let Some((resource, action)) = capability.split_once(':') else {
        return Err(format!("{capability:?} is not of the form resource:action"));
    };
    let Some((_, actions)) = CAPABILITIES.iter().find(|(r, _)| *r == resource) else {
        let known: Vec<&str> = CAPABILITIES.iter().map(|(r, _)| *r).collect();
        return Err(format!("unknown resource {resource:?}; known resources: {}", known.join(", ")));
    };
    if !actions.contains(&action) {
        return Err(format!("resource {resource:?} has no action {action:?}; it supports {}", actions.join(", ")));
    }
    Ok((resource, action))
}

#[cfg(test)]
mod tests {
    use super::lookup;

    #[test]
    fn known_capabilities_pass_and_unknown_ones_explain_why() {
        assert_eq!(lookup("tickets:read"), Ok(("tickets", "read")));
        assert!(lookup("tickets").unwrap_err().contains("resource:action"));
        assert!(lookup("rockets:read").unwrap_err().contains("unknown resource"));
        assert!(lookup("invoices:write").unwrap_err().contains("supports read"));
    }
}
