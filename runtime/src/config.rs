//! Turns command-line settings into ready parts (store, token keys), with errors that name the setting.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use alga_store::{redact_url, ConnectOptions, Store};

use crate::auth::{TokenKeys, MIN_SECRET_BYTES};
use crate::cli::DatabaseArgs;

/// A setting that cannot be used. Each message names the flag and its environment variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--fetch-* (ALGA_EXT_FETCH_*): {0}")]
    Fetch(String),
    #[error("--database-url (ALGA_EXT_DATABASE_URL) {url:?}: {reason}")]
    Database { url: String, reason: String },
    #[error("--data-dir (ALGA_EXT_DATA_DIR) {path:?}: {reason}")]
    DataDir { path: PathBuf, reason: String },
    #[error("--pg-app-role (ALGA_EXT_PG_APP_ROLE) {role:?}: {reason}")]
    PgAppRole { role: String, reason: String },
    #[error("--jwt-secret (ALGA_EXT_JWT_SECRET) is required; pass --dev to generate one for local use")]
    JwtSecretMissing,
    #[error("--jwt-secret (ALGA_EXT_JWT_SECRET) must be at least {MIN_SECRET_BYTES} bytes, got {0}")]
    JwtSecretTooShort(usize),
    #[error("--trusted-keys / --trusted-keys-file (ALGA_EXT_TRUSTED_KEYS[_FILE]): {0}")]
    TrustedKeys(String),
    #[error("--require-signatures (ALGA_EXT_REQUIRE_SIGNATURES) needs at least one trusted key in --trusted-keys or --trusted-keys-file")]
    NoTrustedKeys,
    #[error("--host-api-url (ALGA_EXT_HOST_API_URL) {url:?}: {reason}")]
    HostApiUrl { url: String, reason: String },
    #[error("--host-api-secret (ALGA_EXT_HOST_API_SECRET) must be at least {MIN_SECRET_BYTES} bytes, got {0}")]
    HostApiSecretTooShort(usize),
    #[error("--page-url-secret (ALGA_EXT_PAGE_URL_SECRET) must be at least {MIN_SECRET_BYTES} bytes, got {0}")]
    PageUrlSecretTooShort(usize),
    #[error("--page-url-secret (ALGA_EXT_PAGE_URL_SECRET) is required when tokens are verified with --jwt-public-key and no --jwt-secret is set: handler pages' URLs need a secret to be signed with")]
    PageUrlSecretMissing,
    #[error("--encryption-keys (ALGA_EXT_ENCRYPTION_KEYS): {0}")]
    EncryptionKeys(String),
    #[error("--data-dir (ALGA_EXT_DATA_DIR) {path:?}: cannot keep the local encryption key: {reason}")]
    LocalKey { path: PathBuf, reason: String },
    #[error("--log (ALGA_EXT_LOG) {filter:?}: {reason}")]
    LogFilter { filter: String, reason: String },
    #[error("--ui-frame-ancestors (ALGA_EXT_UI_FRAME_ANCESTORS) {0}")]
    UiFrameAncestors(String),
    #[error("--ui-csp (ALGA_EXT_UI_CSP) {0}")]
    UiCsp(String),
    #[error("--jwt-public-key (ALGA_EXT_JWT_PUBLIC_KEY) {path:?}: {reason}")]
    JwtPublicKey { path: PathBuf, reason: String },
    #[error("--host-api-secret (ALGA_EXT_HOST_API_SECRET) is required with --host-api-url when tokens are verified with --jwt-public-key and no --jwt-secret is set")]
    HostApiSecretMissing,
    #[error("--cors-origins (ALGA_EXT_CORS_ORIGINS): {0}")]
    CorsOrigins(String),
    #[error("--endpoint-max-body-bytes (ALGA_EXT_ENDPOINT_MAX_BODY_BYTES) {default} is above --max-endpoint-body-bytes (ALGA_EXT_MAX_ENDPOINT_BODY_BYTES) {ceiling}")]
    BodyLimitAboveCeiling { default: u64, ceiling: u64 },
}

/// How static UI assets are served, from the `--ui-*` flags.
pub fn ui_settings(args: &crate::cli::UiArgs) -> Result<crate::http::ui_assets::UiSettings, ConfigError> {
    use crate::http::ui_assets::{UiSettings, UiSettingsError};
    UiSettings::new(&args.ui_frame_ancestors, args.ui_csp.as_deref(), args.ui_assets_require_token).map_err(|e| match e {
        UiSettingsError::FrameAncestors(reason) => ConfigError::UiFrameAncestors(reason.to_owned()),
        UiSettingsError::Csp(reason) => ConfigError::UiCsp(reason.to_owned()),
    })
}

/// The store options the settings describe; for the default SQLite file this creates the
/// data directory.
pub fn connect_options(args: &DatabaseArgs) -> Result<ConnectOptions, ConfigError> {
    let url = match &args.database_url {
        Some(url) if url.trim().is_empty() => return Err(ConfigError::Database { url: url.clone(), reason: "is empty".into() }),
        Some(url) => url.clone(),
        None => default_sqlite_url(&args.data_dir)?,
    };
    let mut options = ConnectOptions::new(url);
    options.pg_app_role = (!args.pg_app_role.is_empty()).then(|| args.pg_app_role.clone());
    options.max_connections = args.db_max_connections;
    options.connect_timeout = args.db_connect_timeout;
    Ok(options)
}

fn default_sqlite_url(data_dir: &Path) -> Result<String, ConfigError> {
    let fail = |reason: String| ConfigError::DataDir { path: data_dir.to_owned(), reason };
    std::fs::create_dir_all(data_dir).map_err(|e| fail(format!("cannot create it: {e}")))?;
    let dir = data_dir.canonicalize().map_err(|e| fail(e.to_string()))?;
    let file = dir.join("alga-ext.db");
    let file = file.to_str().ok_or_else(|| fail("path is not valid UTF-8".into()))?;
    Ok(format!("sqlite://{file}"))
}

/// Connects to the configured database; migrations are left to the caller.
pub async fn open_store(options: &ConnectOptions) -> Result<Arc<dyn Store>, ConfigError> {
    alga_store::connect(options).await.map_err(|err| match err {
        alga_store::StoreError::Invalid { field: "pg_app_role", message } => {
            ConfigError::PgAppRole { role: options.pg_app_role.clone().unwrap_or_default(), reason: message }
        }
        other => ConfigError::Database { url: redact_url(&options.url), reason: crate::diagnostics::error_chain(&other) },
    })
}

/// Applies pending migrations, reporting failures against the database setting.
pub async fn migrate(store: &dyn Store, options: &ConnectOptions) -> Result<(), ConfigError> {
    store.migrate().await.map_err(|err| ConfigError::Database {
        url: redact_url(&options.url),
        reason: format!("cannot apply migrations: {}", crate::diagnostics::error_chain(&err)),
    })
}

/// Token keys from the configured public key (EdDSA, verify only) or secret (HS256), or a
/// generated secret in development mode. Returns the generated secret too, so the caller
/// can tell the developer how to mint tokens.
pub fn token_keys(secret: Option<&str>, public_key: Option<&Path>, dev: bool) -> Result<(TokenKeys, Option<String>), ConfigError> {
    if let Some(path) = public_key {
        let fail = |reason: String| ConfigError::JwtPublicKey { path: path.to_owned(), reason };
        let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        let keys = TokenKeys::from_ed_public_pem(&pem)
            .map_err(|_| fail("not an Ed25519 public key in PEM form (`openssl pkey -pubout` writes one)".into()))?;
        return Ok((keys, None));
    }
    match secret {
        Some(secret) => Ok((checked_keys(secret)?, None)),
        None if dev => {
            let secret = crate::auth::generate_secret();
            Ok((checked_keys(&secret)?, Some(secret)))
        }
        None => Err(ConfigError::JwtSecretMissing),
    }
}

/// Token keys from a secret that must meet the minimum length.
pub fn checked_keys(secret: &str) -> Result<TokenKeys, ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::JwtSecretTooShort(secret.len()));
    }
    Ok(TokenKeys::from_secret(secret.as_bytes()))
}

/// The `ctx.api` client the settings describe, or `None` when no host API URL is set.
/// The keys of signed page URLs: --page-url-secret, else derived from the JWT secret.
pub fn page_links(page_url_secret: Option<&str>, jwt_secret: &str) -> Result<crate::page_links::PageLinks, ConfigError> {
    Ok(crate::page_links::PageLinks::from_secret(link_secret(page_url_secret, jwt_secret)?))
}

/// Admin console sessions, signed under a key derived from the same secret as page URLs
/// (with a label of their own), so every node that shares it accepts a session.
pub fn console_sessions(page_url_secret: Option<&str>, jwt_secret: &str) -> Result<crate::auth::session::ConsoleSessions, ConfigError> {
    Ok(crate::auth::session::ConsoleSessions::from_secret(link_secret(page_url_secret, jwt_secret)?))
}

/// The secret that signs what the server itself hands out (page URLs, console sessions):
/// `--page-url-secret`, else the JWT secret.
fn link_secret<'a>(page_url_secret: Option<&'a str>, jwt_secret: &'a str) -> Result<&'a [u8], ConfigError> {
    match page_url_secret {
        Some(secret) if secret.len() < MIN_SECRET_BYTES => Err(ConfigError::PageUrlSecretTooShort(secret.len())),
        Some(secret) => Ok(secret.as_bytes()),
        // Derived from the JWT secret only when there is one: an empty or short key would let
        // anyone sign page URLs and sessions.
        None if jwt_secret.len() >= MIN_SECRET_BYTES => Ok(jwt_secret.as_bytes()),
        None => Err(ConfigError::PageUrlSecretMissing),
    }
}

/// Tokens are signed with --host-api-secret, else with `jwt_secret`.
pub fn host_api(args: &crate::cli::HostApiArgs, jwt_secret: &str) -> Result<Option<std::sync::Arc<alga_ops::api::HostApi>>, ConfigError> {
    let Some(raw) = args.host_api_url.as_deref() else { return Ok(None) };
    let url_error = |reason: String| ConfigError::HostApiUrl { url: raw.to_owned(), reason };
    let base = deno_core::url::Url::parse(raw).map_err(|e| url_error(e.to_string()))?;
    let secret = args.host_api_secret.as_deref().unwrap_or(jwt_secret);
    if secret.is_empty() {
        return Err(ConfigError::HostApiSecretMissing);
    }
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::HostApiSecretTooShort(secret.len()));
    }
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let signer: alga_ops::api::Signer = std::sync::Arc::new(move |claims| jsonwebtoken::encode(&header, claims, &key).map_err(|e| e.to_string()));
    let config = alga_ops::api::HostApiConfig {
        base,
        timeout: args.host_api_timeout,
        max_response_bytes: args.host_api_max_response_bytes,
        token_ttl: std::time::Duration::from_secs(60),
    };
    alga_ops::api::HostApi::new(config, signer).map(|api| Some(std::sync::Arc::new(api))).map_err(url_error)
}

/// The configured keys for sensitive values and secret settings, checked before anything
/// else starts.
pub fn configured_sealer(keys: Option<&str>) -> Result<Option<Arc<alga_ops::storage::seal::Sealer>>, ConfigError> {
    keys.map(|spec| alga_ops::storage::seal::Sealer::from_spec(spec).map(Arc::new).map_err(|e| ConfigError::EncryptionKeys(e.to_string())))
        .transpose()
}

/// Without configured keys, for local use (default SQLite database, or `dev`): a key
/// generated once into `<data-dir>/encryption.key`. `None` means such values are refused.
pub fn local_sealer(database: &crate::cli::DatabaseArgs, dev: bool) -> Result<Option<Arc<alga_ops::storage::seal::Sealer>>, ConfigError> {
    use alga_ops::storage::seal::Sealer;
    if database.database_url.is_some() && !dev {
        return Ok(None);
    }
    let path = database.data_dir.join("encryption.key");
    let fail = |reason: String| ConfigError::LocalKey { path: path.clone(), reason };
    let spec = match std::fs::read_to_string(&path) {
        Ok(spec) => spec,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&database.data_dir).map_err(|e| fail(e.to_string()))?;
            let spec = Sealer::generate_spec("local");
            let mut file = std::fs::OpenOptions::new();
            file.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
            let mut file = file.open(&path).map_err(|e| fail(e.to_string()))?;
            std::io::Write::write_all(&mut file, spec.as_bytes()).map_err(|e| fail(e.to_string()))?;
            tracing::info!(path = %path.display(), "generated a local encryption key; back it up with the database");
            spec
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    Sealer::from_spec(spec.trim()).map(|s| Some(Arc::new(s))).map_err(|e| fail(e.to_string()))
}

/// The rate limit and CORS policy of the host-facing routes, and a body limit that fits its
/// ceiling.
pub fn host_guards(args: &crate::cli::HostArgs) -> Result<crate::http::HostGuards, ConfigError> {
    if args.endpoint_max_body_bytes > args.max_endpoint_body_bytes {
        return Err(ConfigError::BodyLimitAboveCeiling { default: args.endpoint_max_body_bytes, ceiling: args.max_endpoint_body_bytes });
    }
    let cors = crate::http::cors::CorsPolicy::new(&args.cors_origins).map_err(ConfigError::CorsOrigins)?;
    let rate_limit = crate::rate_limit::TenantRateLimit::new(args.rate_limit_per_second, args.rate_limit_burst);
    Ok(crate::http::HostGuards { rate_limit, cors })
}

/// The bundle checks the settings describe: limits, signature policy and trusted keys.
pub fn inspect_options(bundles: &crate::cli::BundleArgs, signatures: &crate::cli::SignatureArgs) -> Result<alga_bundle::InspectOptions, ConfigError> {
    let mut text = signatures.trusted_keys.clone().unwrap_or_default();
    if let Some(file) = &signatures.trusted_keys_file {
        let content = std::fs::read_to_string(file).map_err(|e| ConfigError::TrustedKeys(format!("cannot read {}: {e}", file.display())))?;
        text.push('\n');
        text.push_str(&content);
    }
    let trusted_keys = alga_bundle::TrustedKeys::parse(&text).map_err(ConfigError::TrustedKeys)?;
    let signature_policy = if signatures.require_signatures {
        if trusted_keys.is_empty() {
            return Err(ConfigError::NoTrustedKeys);
        }
        alga_bundle::SignaturePolicy::Required
    } else {
        alga_bundle::SignaturePolicy::Optional
    };
    Ok(alga_bundle::InspectOptions { limits: bundles.limits(), signature_policy, trusted_keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_missing_secrets_are_refused_with_the_setting_named() {
        let err = token_keys(Some("short"), None, false).err().unwrap().to_string();
        assert!(err.contains("--jwt-secret") && err.contains("ALGA_EXT_JWT_SECRET"), "{err}");
        let err = token_keys(None, None, false).err().unwrap().to_string();
        assert!(err.contains("--dev"), "{err}");
        let (_, generated) = token_keys(None, None, true).unwrap();
        assert!(generated.unwrap().len() >= MIN_SECRET_BYTES);
    }

    #[test]
    fn page_urls_are_never_signed_with_an_empty_or_short_key() {
        // With only --jwt-public-key there is no JWT secret: the page-URL key must be given.
        let err = page_links(None, "").err().unwrap().to_string();
        assert!(err.contains("--page-url-secret") && err.contains("--jwt-public-key"), "{err}");
        assert!(page_links(None, "short").is_err());
        assert!(page_links(Some("short"), "0123456789abcdef0123456789abcdef").is_err());
        assert!(page_links(None, "0123456789abcdef0123456789abcdef").is_ok());
        assert!(page_links(Some("fedcba9876543210fedcba9876543210"), "").is_ok());
    }

    #[test]
    fn a_public_key_replaces_the_secret_and_bad_keys_name_the_flag() {
        let key = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/host-ed25519.pub"));
        let (keys, generated) = token_keys(None, Some(key), true).unwrap();
        assert_eq!((keys.algorithm_name(), generated), ("EdDSA", None));
        let not_a_key = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/keys/README.md"));
        for path in [not_a_key, Path::new("/nonexistent/key.pem")] {
            let err = token_keys(None, Some(path), false).err().unwrap().to_string();
            assert!(err.starts_with("--jwt-public-key (ALGA_EXT_JWT_PUBLIC_KEY)"), "{err}");
        }
    }
}
