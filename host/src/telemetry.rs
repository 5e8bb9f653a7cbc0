//! The logs: tracing to standard error, filtered like RUST_LOG, as text for a person or as one
//! JSON object a line for a log pipeline (`--log-format json`).

use clap::ValueEnum;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For a person.
    Text,
    /// One JSON object a line, with every field.
    Json,
}

/// Starts the logs with `filter` (RUST_LOG syntax) in `format`.
pub fn init(filter: &str, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
