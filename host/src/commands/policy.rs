//! `albatross policy`: one exported pure function of a strategy module called with JSON input,
//! its result printed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use albatross_policy::StrategyError;
use albatross_policy::spec::Rollout;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;

use crate::commands::options::ModuleChoice;
use crate::runtime::engine::new_engine;
use crate::runtime::pure::{Call, Function, call_native, call_wasm};

/// Call one exported function of a strategy module with JSON input and print its result.
///
/// The input is a JSON or YAML object read from --input or standard input; each function's
/// fields are listed below. Rollouts and Ingresses go in as objects; `validate` and
/// `plan-steps` also take a bare Rollout (`kind: Rollout`), as kubectl or a manifest file has
/// it. A field of the wrong type is named with its line in the input. On success the function's
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
        // `info` takes no input: nothing is read for it.
        let input = if matches!(self.function, Function::Info) && self.input.is_none() {
            serde_json::json!({})
        } else {
            let (text, source) = read_text(self.input.as_ref())?;
            parse_input(&text, &source)?
        };
        let call = Call::parse(self.function, &input)?;
        let result = if self.native {
            call_native(&call)?
        } else {
            let engine = new_engine()?;
            call_wasm(&*self.module.load(&engine)?, &call)?
        };
        print_result(&result, self.raw)
    }
}

/// The input text, and where it came from (for errors).
fn read_text(path: Option<&PathBuf>) -> Result<(String, String)> {
    match path {
        Some(p) => Ok((
            crate::input::read_file(p, "input")?,
            p.display().to_string(),
        )),
        None => {
            if std::io::stdin().is_terminal() {
                bail!(
                    "nothing is piped in: the input is a JSON or YAML object on standard input or \
                     in --input FILE, e.g. `albatross policy validate --input rollout.yaml` (see \
                     --help for each function's fields)"
                );
            }
            Ok((crate::input::read_stdin()?, "standard input".to_string()))
        }
    }
}

/// The input as a JSON value: YAML or JSON text, a bare Rollout standing for `{"rollout":
/// ...}`. A Rollout whose fields have the wrong type is refused here, with the field and the
/// line in the user's text (the module would see only its own re-serialization).
pub fn parse_input(text: &str, source: &str) -> Result<Value> {
    if text.trim().is_empty() {
        bail!("{source} is empty: the input is a JSON or YAML object (see --help)");
    }
    let value: Value =
        serde_yaml_ng::from_str(text).with_context(|| format!("{source} is not JSON or YAML"))?;
    let bare = value["kind"] == "Rollout";
    // serde_yaml_ng's message names the field and its line and column in `text`.
    let located = |e: serde_yaml_ng::Error| anyhow::anyhow!("{source}: {e}");
    if bare {
        serde_yaml_ng::from_str::<Rollout>(text).map_err(located)?;
        return Ok(serde_json::json!({ "rollout": value }));
    }
    if value.get("rollout").is_some() {
        serde_yaml_ng::from_str::<RolloutInput>(text).map_err(located)?;
    }
    Ok(value)
}

/// The part of an input that is a Rollout, read only to locate a type error.
#[derive(serde::Deserialize)]
struct RolloutInput {
    #[serde(rename = "rollout")]
    _rollout: Rollout,
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
