//! The `albatross` command line: parses, starts the logs, runs the verb.

use std::process::ExitCode;

use albatross::commands::Command;
use albatross::telemetry::{self, LogFormat};
use clap::Parser;

/// Albatross: progressive delivery behind an AWS Application Load Balancer, with the rollout
/// logic in a sandboxed WebAssembly strategy module.
#[derive(Parser)]
#[command(version, long_about = None)]
struct Cli {
    /// Log filter, in RUST_LOG syntax (e.g. `info`, `albatross=debug`).
    #[arg(long, global = true, env = "ALBATROSS_LOG", default_value = "warn")]
    log: String,
    /// `text` for a person, `json` for a log pipeline (one object a line).
    #[arg(long, global = true, env = "ALBATROSS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// Restores the default action of SIGPIPE (Rust ignores it, so a write to a closed pipe is an
/// error that `println!` turns into a panic): `albatross ... | head` then ends quietly, as
/// other command-line tools do.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is a valid disposition
    // for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    telemetry::init(&cli.log, cli.log_format);
    match cli.command.execute() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
