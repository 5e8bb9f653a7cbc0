//! The `albatross` command line.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use albatross::calls::{Call, Function, call_native, call_wasm};
use albatross::engine::{StrategyModule, new_engine};
use albatross_policy::StrategyError;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use serde_json::Value;

/// Albatross: progressive delivery behind an AWS Application Load Balancer, with the rollout
/// logic in a sandboxed WebAssembly strategy module.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Log filter, in RUST_LOG syntax (e.g. `info`, `albatross=debug`).
    #[arg(long, global = true, env = "ALBATROSS_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call one exported function of a strategy module with JSON input and print its result.
    ///
    /// The input is a JSON object read from --input or standard input; each function's fields
    /// are listed below. Rollouts and Ingresses go in as JSON objects. On success the function's
    /// value is printed as JSON; a strategy error is printed on stderr and the exit code is 1.
    ///
    /// Example:
    ///   albatross policy build-action < examples/policy/build-action.json
    #[command(verbatim_doc_comment)]
    Policy {
        /// The function to call.
        function: Function,
        /// A strategy component to run instead of the built-in default.
        #[arg(long, value_name = "PATH", conflicts_with = "native")]
        module: Option<PathBuf>,
        /// Run the native build of the default strategy instead of its wasm component (to
        /// compare the two).
        #[arg(long)]
        native: bool,
        /// Read the input from this file instead of standard input.
        #[arg(long, short, value_name = "FILE")]
        input: Option<PathBuf>,
        /// Print the whole result, `{"Ok": ...}` or `{"Err": ...}`, and exit 0 either way.
        #[arg(long)]
        raw: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn read_input(path: Option<&PathBuf>) -> Result<Value> {
    let text = match path {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the input from standard input")?;
            s
        }
    };
    serde_json::from_str(&text).context("the input is not JSON")
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Policy {
            function,
            module,
            native,
            input,
            raw,
        } => {
            let call = Call::parse(function, &read_input(input.as_ref())?)?;
            let result = if native {
                call_native(&call)?
            } else {
                let engine = new_engine()?;
                let module = match &module {
                    Some(path) => StrategyModule::from_file(&engine, path)?,
                    None => StrategyModule::builtin(&engine)?,
                };
                call_wasm(&module, &call)?
            };
            print_result(&result, raw)
        }
    }
}

fn print_result(result: &Value, raw: bool) -> Result<ExitCode> {
    if raw {
        println!("{result}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(ok) = result.get("Ok") {
        println!("{}", serde_json::to_string_pretty(ok)?);
        return Ok(ExitCode::SUCCESS);
    }
    let err = result.get("Err").cloned().unwrap_or(Value::Null);
    match serde_json::from_value::<StrategyError>(err.clone()) {
        Ok(e) => eprintln!("error: {e}"),
        Err(_) => eprintln!("error: {err}"),
    }
    Ok(ExitCode::FAILURE)
}
