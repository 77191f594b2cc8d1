//! Which host API paths each capability opens, and the path normalization that runs before
//! any check, so that `..`, encoded dots or doubled slashes cannot reach past it.

/// Capability resources and the path segment under `/api/v1/` that serves each.
pub const HOST_PATHS: &[(&str, &str)] = &[
    ("tickets", "tickets"),
    ("companies", "companies"),
    ("contacts", "contacts"),
    ("projects", "projects"),
    ("time_entries", "time-entries"),
    ("invoices", "invoices"),
    ("assets", "assets"),
    ("documents", "documents"),
    ("users", "users"),
];

const PREFIX: &str = "/api/v1/";
const MAX_PATH: usize = 2048;

/// Checks a path (with optional query) and returns it unchanged when it is plain: absolute,
/// no dot segments, no empty segments, no encoded `.`, `/` or `\`, no fragment, no
/// whitespace or control characters.
pub fn normalize(path: &str) -> Result<String, String> {
    if path.len() > MAX_PATH {
        return Err(format!("paths are limited to {MAX_PATH} bytes"));
    }
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(format!("{path:?} must be an absolute path on the host API, such as /api/v1/tickets"));
    }
    if let Some(c) = path.chars().find(|c| c.is_whitespace() || c.is_control() || matches!(c, '\\' | '#')) {
        return Err(format!("{path:?} contains {c:?}"));
    }
    let (route, _query) = path.split_once('?').unwrap_or((path, ""));
    let lowered = route.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%00"].iter().any(|e| lowered.contains(e)) {
        return Err(format!("{path:?} contains an encoded '.', '/', '\\' or NUL"));
    }
    let segments: Vec<&str> = route[1..].split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if *segment == "." || *segment == ".." || (segment.is_empty() && !last) {
            return Err(format!("{path:?} has an empty or dot segment"));
        }
    }
    Ok(path.to_owned())
}

/// The capability a call needs: `resource:read` for GET/HEAD, `:write` for POST, PUT and
/// PATCH, `:delete` for DELETE, on a path under `/api/v1/<resource>`.
pub fn capability_for(method: &str, normalized: &str) -> Result<String, String> {
    let route = normalized.split_once('?').map_or(normalized, |(r, _)| r);
    let rest = route.strip_prefix(PREFIX).ok_or_else(|| format!("{route} is outside the host API ({PREFIX}...)"))?;
    let segment = rest.split('/').next().unwrap_or("");
    let (resource, _) = HOST_PATHS.iter().find(|(_, s)| *s == segment).ok_or_else(|| format!("no capability covers {PREFIX}{segment}"))?;
    let action = match method {
        "GET" | "HEAD" => "read",
        "POST" | "PUT" | "PATCH" => "write",
        "DELETE" => "delete",
        other => return Err(format!("method {other} is not allowed on the host API")),
    };
    Ok(format!("{resource}:{action}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_capabilities_by_method() {
        let cases = [
            ("GET", "/api/v1/tickets", "tickets:read"),
            ("HEAD", "/api/v1/tickets/42?x=1", "tickets:read"),
            ("POST", "/api/v1/tickets", "tickets:write"),
            ("PATCH", "/api/v1/tickets/42", "tickets:write"),
            ("DELETE", "/api/v1/tickets/42", "tickets:delete"),
            ("GET", "/api/v1/time-entries/", "time_entries:read"),
        ];
        for (method, path, want) in cases {
            assert_eq!(capability_for(method, &normalize(path).unwrap()).as_deref(), Ok(want), "{method} {path}");
        }
        for (method, path) in [("GET", "/api/v1/ticketsx"), ("GET", "/api/v2/tickets"), ("OPTIONS", "/api/v1/tickets"), ("GET", "/healthz")] {
            assert!(capability_for(method, path).is_err(), "{method} {path}");
        }
    }

    #[test]
    fn tricky_paths_are_refused_before_any_check() {
        for path in [
            "api/v1/tickets",
            "//evil.example/api/v1/tickets",
            "/api/v1/tickets/../users",
            "/api/v1/tickets/./1",
            "/api/v1//tickets",
            "/api/v1/tickets/%2e%2e/users",
            "/api/v1/tickets%2F..%2Fusers",
            "/api/v1/tickets\\..\\users",
            "/api/v1/tickets#frag",
            "/api/v1/tickets /x",
            "/api/v1/tickets\n",
        ] {
            assert!(normalize(path).is_err(), "{path:?} was accepted");
        }
        assert_eq!(normalize("/api/v1/tickets/1?q=a..b").as_deref(), Ok("/api/v1/tickets/1?q=a..b"));
    }
}
