//! The logs: tracing to standard error, filtered like RUST_LOG, as text for a person or as one
//! JSON object a line for a log pipeline (`--log-format json`). Every event is one line, also
//! when a dependency logs a multi-line message (the AWS SDK's credential-chain warnings): inner
//! line breaks become ` ⏎ `, so the logs stay greppable. Colours only on a terminal.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use tracing_subscriber::fmt::MakeWriter;

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
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(OneLineStderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Writes each log event to standard error as one line.
struct OneLineStderr;

impl<'a> MakeWriter<'a> for OneLineStderr {
    type Writer = OneLine;

    fn make_writer(&'a self) -> OneLine {
        OneLine(Vec::new())
    }
}

/// One event's text, gathered and written as one line when dropped.
pub struct OneLine(Vec<u8>);

impl Write for OneLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for OneLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let line = one_line(&String::from_utf8_lossy(&self.0));
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

/// `text` on one line: trailing line breaks dropped, inner ones (and the blanks ending each
/// line) turned into ` ⏎ `.
pub fn one_line(text: &str) -> String {
    text.trim_end_matches(['\n', '\r'])
        .split('\n')
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ⏎ ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_multi_line_event_becomes_one_line() {
        assert_eq!(
            one_line("WARN failed to load credentials\n  caused by:\n    IMDS timed out\n"),
            "WARN failed to load credentials ⏎   caused by: ⏎     IMDS timed out"
        );
        assert_eq!(one_line("INFO one line\n"), "INFO one line");
    }
}
