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

/// The resource of outbound capabilities: `fetch:<host>` lets the extension's `fetch()`
/// reach that host (`api.example.com`, `*.example.com`, `hooks.example.com:8443`), and
/// nothing else outside the host app. Each host is its own capability, so the review lists
/// every host, an admin may grant some and not others, and an update that adds a host shows
/// it in the permission diff.
pub const FETCH: &str = "fetch";

/// Splits `resource:action` and checks it against the catalog.
pub fn lookup(capability: &str) -> Result<(&str, &str), String> {
    let Some((resource, action)) = capability.split_once(':') else {
        return Err(format!("{capability:?} is not of the form resource:action"));
    };
    if resource == FETCH {
        check_fetch_host(action)?;
        return Ok((resource, action));
    }
    let Some((_, actions)) = CAPABILITIES.iter().find(|(r, _)| *r == resource) else {
        let known: Vec<&str> = CAPABILITIES.iter().map(|(r, _)| *r).collect();
        return Err(format!("unknown resource {resource:?}; known resources: {}", known.join(", ")));
    };
    if !actions.contains(&action) {
        return Err(format!("resource {resource:?} has no action {action:?}; it supports {}", actions.join(", ")));
    }
    Ok((resource, action))
}

/// What granting a capability lets the extension do, in plain words for an admin.
pub fn describe(capability: &str) -> String {
    let Some((resource, action)) = capability.split_once(':') else { return capability.to_owned() };
    let what = resource.replace('_', " ");
    match (resource, action) {
        ("storage", "read") => "read its own saved data in this tenant".into(),
        ("storage", "write") => "save its own data in this tenant".into(),
        (FETCH, host) => match host.strip_prefix("*.") {
            Some(domain) => format!("send requests with fetch() to any host under {domain}, outside the host app"),
            None => format!("send requests with fetch() to {host}, outside the host app"),
        },
        (_, "read") => format!("see {what} in the host app (through its API)"),
        (_, "write") => format!("create and change {what} in the host app (through its API)"),
        (_, "delete") => format!("delete {what} in the host app (through its API)"),
        (_, action) => format!("{action} {what} in the host app (through its API)"),
    }
}

/// A `fetch:` capability's host: `host`, `*.domain` or either with `:port`; lowercase
/// letters, digits, dots and dashes (IDNA names in their `xn--` form), an IPv4 address, or
/// an IPv6 address in brackets. Without a port it allows the scheme's default port only.
pub fn check_fetch_host(pattern: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!("fetch:{pattern}: {why}; expected a host such as fetch:api.example.com, fetch:*.example.com or fetch:api.example.com:8443"))
    };
    if pattern.is_empty() || pattern.len() > 260 {
        return bad("the host must have 1 to 253 characters");
    }
    if pattern != pattern.to_ascii_lowercase() {
        return bad("hosts are written in lowercase");
    }
    let (host, port) = if let Some(rest) = pattern.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else { return bad("an IPv6 address needs its closing ]") };
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return bad("not an IPv6 address");
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return bad("only a :port may follow an IPv6 address"),
            },
        }
    } else {
        match pattern.rsplit_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(pattern), None),
        }
    };
    if let Some(port) = port {
        if !matches!(port.parse::<u16>(), Ok(p) if p > 0) || port.starts_with('0') {
            return bad("the port must be a number from 1 to 65535");
        }
    }
    let Some(host) = host else { return Ok(()) };
    let name = host.strip_prefix("*.").unwrap_or(host);
    if name.contains('*') {
        return bad("a wildcard may only start the host, as *.example.com");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return if host.starts_with("*.") { bad("an IP address cannot take a wildcard") } else { Ok(()) };
    }
    if host.starts_with("*.") && !name.contains('.') {
        return bad("a wildcard needs a domain of at least two labels, as *.example.com");
    }
    if host.starts_with("*.") && name.rsplit('.').next().is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit())) {
        return bad("a wildcard names a domain, and a domain's last label is not a number");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        return bad("not a host name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_fetch_host, describe, lookup};

    #[test]
    fn fetch_hosts_are_capabilities_of_their_own() {
        for good in
            ["api.example.com", "*.example.com", "hooks.example.com:8443", "localhost", "127.0.0.1:9000", "[::1]:8080", "xn--bcher-kva.example"]
        {
            assert_eq!(lookup(&format!("fetch:{good}")), Ok(("fetch", good)), "{good}");
        }
        for bad in [
            "",
            "API.example.com",
            "*.com",
            "a.*.example.com",
            "*.10.0.0.1",
            "example.com:0",
            "example.com:99999",
            "exa mple.com",
            "-x.example.com",
            "[::1",
            "[nope]",
        ] {
            assert!(check_fetch_host(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(lookup("fetch:Example.com").unwrap_err().contains("lowercase"));
        assert_eq!(describe("fetch:*.example.com"), "send requests with fetch() to any host under example.com, outside the host app");
        assert_eq!(describe("time_entries:write"), "create and change time entries in the host app (through its API)");
    }

    #[test]
    fn known_capabilities_pass_and_unknown_ones_explain_why() {
        assert_eq!(lookup("tickets:read"), Ok(("tickets", "read")));
        assert!(lookup("tickets").unwrap_err().contains("resource:action"));
        assert!(lookup("rockets:read").unwrap_err().contains("unknown resource"));
        assert!(lookup("invoices:write").unwrap_err().contains("supports read"));
    }
}
