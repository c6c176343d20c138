//! Logging: one JSON object per line, which CloudWatch Logs (and Lambda's JSON log format)
//! index by field.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber. The level comes from `RUST_LOG`, else from Lambda's
/// `AWS_LAMBDA_LOG_LEVEL` (set by the function's `LoggingConfig`), else `info`.
pub fn init() {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .ok()
        .or_else(|| {
            let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok()?;
            EnvFilter::try_new(level.to_ascii_lowercase()).ok()
        })
        .unwrap_or_else(|| EnvFilter::new("info"));
    // `try_init`: a test binary may call this more than once.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}
