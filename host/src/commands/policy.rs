//! `albatross policy`: one exported pure function of a strategy module called with JSON input,
//! its result printed.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use albatross_policy::StrategyError;
use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;

use crate::commands::options::ModuleChoice;
use crate::runtime::engine::new_engine;
use crate::runtime::pure::{Call, Function, call_native, call_wasm};

/// Call one exported function of a strategy module with JSON input and print its result.
///
/// The input is a JSON object read from --input or standard input; each function's fields
/// are listed below. Rollouts and Ingresses go in as JSON objects. On success the function's
/// value is printed as JSON; a strategy error is printed on stderr and the exit code is 1.
///
/// Example:
///   albatross policy build-action < examples/policy/build-action.json
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct PolicyArgs {
    /// The function to call.
    pub function: Function,
    #[command(flatten)]
    pub module: ModuleChoice,
    /// Run the native build of the default strategy instead of its wasm component (to
    /// compare the two).
    #[arg(long, conflicts_with = "module")]
    pub native: bool,
    /// Read the input from this file instead of standard input.
    #[arg(long, short, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Print the whole result, `{"Ok": ...}` or `{"Err": ...}`, and exit 0 either way.
    #[arg(long)]
    pub raw: bool,
}

impl PolicyArgs {
    /// Calls the function and prints what it returned.
    pub fn execute(self) -> Result<ExitCode> {
        let call = Call::parse(self.function, &read_input(self.input.as_ref())?)?;
        let result = if self.native {
            call_native(&call)?
        } else {
            let engine = new_engine()?;
            call_wasm(&self.module.load(&engine)?, &call)?
        };
        print_result(&result, self.raw)
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
