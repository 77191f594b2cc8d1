//! The claims of a token whose signature checked out, read one by one into a `Principal` with a clear reason for each refusal.

use alga_store::TenantId;
use serde_json::{Map, Value};

use super::{AuthError, Principal};

/// Seconds of clock skew allowed for `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 30;
/// Longest `sub` claim accepted, in bytes.
pub const MAX_SUB_BYTES: usize = 256;
/// Most roles, and longest role name in bytes, a token may carry.
pub const MAX_ROLES: usize = 64;
pub const MAX_ROLE_BYTES: usize = 128;
/// Longest `tenant` claim accepted: [`TenantId`]'s limit.
pub const MAX_TENANT_BYTES: usize = 64;

/// The rule a tenant id follows, as told to callers.
pub const TENANT_RULE: &str = "must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit";

/// A verified token's claims as the runtime uses them, with the expiry for the cache.
pub struct Checked {
    pub principal: Principal,
    pub exp: i64,
}

/// Checks every claim the runtime relies on, at `now` (seconds since the Unix epoch).
/// Messages never repeat a claim's value: it is the caller's input, and may be 10 KB of
/// anything.
pub fn check(claims: &Value, now: i64) -> Result<Checked, AuthError> {
    let claims = claims.as_object().ok_or_else(|| AuthError::Invalid("the claims are not a JSON object".into()))?;
    let exp = numeric_date(claims, "exp")?.ok_or(AuthError::Claim { claim: "exp", rule: "is missing".into() })?;
    if now > exp.saturating_add(LEEWAY_SECS) {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")? {
        if nbf > now.saturating_add(LEEWAY_SECS) {
            return Err(AuthError::NotYetValid);
        }
    }
    let tenant = tenant(claims.get("tenant"))?;
    let user = match claims.get("sub") {
        None => return Err(AuthError::Claim { claim: "sub", rule: "is missing".into() }),
        Some(Value::String(sub)) if !sub.is_empty() && sub.len() <= MAX_SUB_BYTES && printable(sub) => sub.clone(),
        Some(_) => {
            return Err(AuthError::Claim { claim: "sub", rule: format!("must be a string of 1-{MAX_SUB_BYTES} bytes of printable characters") })
        }
    };
    let roles = roles(claims.get("roles"))?;
    // A token meant for another service (RFC 7519: a recipient not named in `aud` must
    // refuse it) is not for us; the host's tokens for this runtime carry none.
    if claims.contains_key("aud") {
        return Err(AuthError::Claim { claim: "aud", rule: "is not accepted: tokens for this runtime carry no audience".into() });
    }
    Ok(Checked { principal: Principal { tenant, user, roles }, exp })
}

/// A NumericDate claim (RFC 7519: seconds since the epoch, fractions allowed and dropped).
fn numeric_date(claims: &Map<String, Value>, claim: &'static str) -> Result<Option<i64>, AuthError> {
    let not_numeric = || AuthError::Claim { claim, rule: "must be a number (seconds since the Unix epoch)".into() };
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(secs), _) => Ok(Some(secs)),
            (None, Some(secs)) if secs.is_finite() && secs.abs() < 1e15 => Ok(Some(secs.floor() as i64)),
            _ => Err(not_numeric()),
        },
        Some(_) => Err(not_numeric()),
    }
}

/// The `tenant` claim as a [`TenantId`]; the checks run in order so the message says which
/// part of the rule failed.
fn tenant(claim: Option<&Value>) -> Result<TenantId, AuthError> {
    let refuse = |why: &str| AuthError::Claim { claim: "tenant", rule: format!("{why}: a tenant id {TENANT_RULE}") };
    let raw = match claim {
        None => return Err(refuse("is missing")),
        Some(Value::String(raw)) => raw,
        Some(_) => return Err(refuse("is not a string")),
    };
    if raw.is_empty() {
        return Err(refuse("is empty"));
    }
    // Length first: TenantId's own error would quote the whole value.
    if raw.len() > MAX_TENANT_BYTES {
        return Err(refuse(&format!("is longer than {MAX_TENANT_BYTES} bytes")));
    }
    TenantId::parse(raw).map_err(|_| refuse("has characters outside the allowed set"))
}

/// The `roles` claim: absent means no roles; otherwise an array of bounded, printable strings.
fn roles(claim: Option<&Value>) -> Result<Vec<String>, AuthError> {
    let rule = || AuthError::Claim {
        claim: "roles",
        rule: format!("must be an array of at most {MAX_ROLES} strings of 1-{MAX_ROLE_BYTES} bytes of printable characters"),
    };
    let Some(claim) = claim else { return Ok(Vec::new()) };
    let list = claim.as_array().filter(|list| list.len() <= MAX_ROLES).ok_or_else(rule)?;
    list.iter()
        .map(|role| match role {
            Value::String(role) if !role.is_empty() && role.len() <= MAX_ROLE_BYTES && printable(role) => Ok(role.clone()),
            _ => Err(rule()),
        })
        .collect()
}

/// No control characters (newlines would forge log lines), no line/paragraph separators
/// and no bidirectional overrides (which make a logged name read as another).
fn printable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn refused(claims: Value) -> (Option<&'static str>, String) {
        match check(&claims, NOW) {
            Err(AuthError::Claim { claim, rule }) => (Some(claim), rule),
            Err(other) => (None, other.to_string()),
            Ok(_) => panic!("accepted: {claims}"),
        }
    }

    #[test]
    fn each_bad_claim_is_named_with_its_rule() {
        let base = |extra: Value| {
            let mut claims = json!({ "tenant": "acme", "sub": "alice", "roles": ["admin"], "exp": NOW + 60 });
            for (k, v) in extra.as_object().unwrap() {
                match v {
                    Value::Null if k.starts_with('-') => {
                        claims.as_object_mut().unwrap().remove(&k[1..]);
                    }
                    v => {
                        claims[k] = v.clone();
                    }
                }
            }
            claims
        };
        let cases: &[(Value, &str, &str)] = &[
            (json!({ "-exp": null }), "exp", "missing"),
            (json!({ "exp": "tomorrow" }), "exp", "must be a number"),
            (json!({ "exp": [1] }), "exp", "must be a number"),
            (json!({ "exp": true }), "exp", "must be a number"),
            (json!({ "exp": 1e300 }), "exp", "must be a number"),
            (json!({ "nbf": "now" }), "nbf", "must be a number"),
            (json!({ "-tenant": null }), "tenant", "missing"),
            (json!({ "tenant": "" }), "tenant", "is empty"),
            (json!({ "tenant": 7 }), "tenant", "not a string"),
            (json!({ "tenant": "t".repeat(129) }), "tenant", "longer than 64 bytes"),
            (json!({ "tenant": "t".repeat(65) }), "tenant", "longer than 64 bytes"),
            (json!({ "tenant": "../etc" }), "tenant", "outside the allowed set"),
            (json!({ "tenant": "acme corp" }), "tenant", "outside the allowed set"),
            (json!({ "tenant": "ácme" }), "tenant", "outside the allowed set"),
            (json!({ "-sub": null }), "sub", "missing"),
            (json!({ "sub": "" }), "sub", "1-256 bytes"),
            (json!({ "sub": 42 }), "sub", "1-256 bytes"),
            (json!({ "roles": "admin" }), "roles", "array"),
            (json!({ "roles": null }), "roles", "array"),
            (json!({ "roles": ["admin", 7] }), "roles", "array"),
            (json!({ "roles": [["admin"]] }), "roles", "array"),
            (json!({ "roles": [""] }), "roles", "array"),
            (json!({ "roles": vec!["r"; 65] }), "roles", "array"),
            (json!({ "aud": "billing" }), "aud", "not accepted"),
        ];
        for (extra, claim, words) in cases {
            let (named, rule) = refused(base(extra.clone()));
            assert_eq!(named, Some(*claim), "{extra}: {rule}");
            assert!(rule.contains(words), "{extra}: {rule}");
            assert!(!rule.contains("ttttt"), "never echoed: {rule}");
        }
        assert!(matches!(check(&base(json!({ "exp": NOW - 31 })), NOW), Err(AuthError::Expired)));
        assert!(matches!(check(&base(json!({ "nbf": NOW + 31 })), NOW), Err(AuthError::NotYetValid)));
        assert!(matches!(check(&json!([1, 2]), NOW), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn good_claims_become_a_principal() {
        let ok = check(&json!({ "tenant": "acme", "sub": "alice", "exp": NOW - 10, "nbf": NOW + 10, "iat": "whatever" }), NOW).unwrap();
        assert_eq!((ok.principal.tenant.as_str(), ok.principal.user.as_str(), ok.principal.roles.len(), ok.exp), ("acme", "alice", 0, NOW - 10));
        let fractional = check(&json!({ "tenant": "a", "sub": "b", "exp": (NOW as f64) + 0.5 }), NOW).unwrap();
        assert_eq!(fractional.exp, NOW);
        assert!(check(&json!({ "tenant": "t".repeat(64), "sub": "b", "exp": NOW }), NOW).is_ok());
    }
}
