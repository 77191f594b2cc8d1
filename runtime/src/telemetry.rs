//! Logging setup: `tracing` to stderr, human-readable or JSON, filtered by `--log`.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;
use crate::config::ConfigError;

/// Installs the global subscriber. Logs go to stderr so that commands such as `token` keep
/// stdout for their output.
pub fn init(format: LogFormat, filter: &str) -> Result<(), ConfigError> {
    let filter = EnvFilter::try_new(filter).map_err(|e| ConfigError::LogFilter { filter: filter.to_owned(), reason: e.to_string() })?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second initialisation (tests calling in twice) keeps the first subscriber.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
    Ok(())
}
