//! Logging: `tracing` with the request id on every line, plain or JSON.

use tracing_subscriber::{fmt, EnvFilter};

use crate::platform::config::LogSettings;

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(settings: &LogSettings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let result = if settings.format == "json" {
        fmt()
            .with_env_filter(filter)
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        fmt().with_env_filter(filter).with_target(false).try_init()
    };
    let _ = result;
}
