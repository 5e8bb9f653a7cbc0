//! The `albatross` command line: parses, starts the logs, runs the verb.

use std::process::ExitCode;

use albatross::commands::Command;
use clap::Parser;

/// Albatross: progressive delivery behind an AWS Application Load Balancer, with the rollout
/// logic in a sandboxed WebAssembly strategy module.
#[derive(Parser)]
#[command(version, long_about = None)]
struct Cli {
    /// Log filter, in RUST_LOG syntax (e.g. `info`, `albatross=debug`).
    #[arg(long, global = true, env = "ALBATROSS_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    match cli.command.execute() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
