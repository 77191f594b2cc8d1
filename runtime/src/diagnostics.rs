//! Text for operators: an error with its causes on one line, and the warning about
//! cross-tenant functions that cannot bypass row-level security. Depends on nothing else in
//! the crate, so the HTTP layer and the configuration can both use it.

/// The error and its causes on one line, for messages meant to fit a terminal line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// What an operator should know when cross-tenant functions cannot bypass row-level
/// security (see `SchemaStatus::rls_bound_functions`).
pub fn rls_bound_warning(functions: &[String]) -> String {
    format!(
        "{} run as a role without BYPASSRLS, so they see no rows: expired storage is not swept, \
         orphaned storage and file blobs are not removed, prewarm finds nothing, and static UI \
         assets (/ext-ui/...) answer 404. Run the \
         migrations as a superuser, or grant BYPASSRLS to the role that owns them",
        functions.join(", ")
    )
}
