//! The `albatross` command line.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use albatross::calls::{Call, Function, call_native, call_wasm};
use albatross::engine::{DEFAULT_MODULE_NAME, StrategyModule, new_engine};
use albatross::simulate::{
    WasmReconciler, format_findings, format_timeline, lint_manifests, read_manifests, read_scenario,
};
use albatross_policy::StrategyError;
use albatross_policy::reconcile::Settings;
use albatross_sim::runner::{NativeReconciler, run as run_scenario};
use anyhow::{Context, Result, bail};
use clap::{ArgAction, Parser, Subcommand};
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
    /// Run a rollout scenario in the simulated world and print its timeline.
    ///
    /// The scenario file (YAML) holds the manifests (Rollout, Services, Ingress), the events
    /// (setImage, promote, promoteFull, abort, retry, restartController at a second) and the
    /// faults (lbControllerDown, registrationDelay, elbThrottling, apiConflicts). The world
    /// has a ReplicaSet controller, an endpoints controller and an AWS Load Balancer Controller
    /// with lags; the strategy runs as a wasm component against it with a simulated clock.
    /// The timeline shows, per change: the step, the canary weight wanted (✓ once verified on
    /// the ALB), what the ALB really sends where, the ReplicaSets, the requests lost that
    /// second, and what the Rollout waits for. The manifests are linted first.
    ///
    /// Examples:
    ///   albatross simulate examples/scenarios/basic-canary.yaml
    ///   albatross simulate examples/scenarios/lb-controller-outage.yaml --verify=false
    #[command(verbatim_doc_comment)]
    Simulate {
        /// The scenario file.
        scenario: PathBuf,
        /// A strategy component to run instead of the built-in default.
        #[arg(long, value_name = "PATH", conflicts_with = "native")]
        module: Option<PathBuf>,
        /// Run the native build of the default strategy instead of its wasm component.
        #[arg(long)]
        native: bool,
        /// Gate every step on weight and target IP verification; `--verify=false` shows what
        /// happens without the gates.
        #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
        verify: bool,
        /// Print the whole trace as JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// Ingress classes served (repeat for several; "" means Ingresses with no class).
        #[arg(long = "ingress-class", value_name = "CLASS", default_values_t = [String::from("alb")])]
        ingress_classes: Vec<String>,
    },
    /// Check Rollout, Ingress and Service manifests offline, before they reach a cluster.
    ///
    /// Reads YAML (several documents per file allowed) or JSON. Each finding names the object
    /// and the field: the Rollout spec is invalid, an Ingress or Service it names is missing,
    /// the Ingress class is not served, no Ingress path sends the root (or stable) service to
    /// `use-annotation`, a Service lacks the servicePort, ping-pong services double as
    /// canary/stable, another Rollout already manages the action. Exit code 1 on any error.
    Lint {
        /// The manifest files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Ingress classes served (repeat for several; "" means Ingresses with no class).
        #[arg(long = "ingress-class", value_name = "CLASS", default_values_t = [String::from("alb")])]
        ingress_classes: Vec<String>,
    },
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
        Command::Simulate {
            scenario,
            module,
            native,
            verify,
            json,
            ingress_classes,
        } => {
            let scenario = read_scenario(&scenario)?;
            let (findings, errors) = lint_manifests(&scenario.manifests, &ingress_classes);
            eprint!("{}", format_findings(&findings));
            if errors {
                bail!("the scenario's manifests do not pass lint (see above)");
            }
            let settings = Settings {
                verify,
                ingress_classes,
                ..Settings::default()
            };
            let (trace, strategy) = if native {
                (
                    run_scenario(&scenario, &mut NativeReconciler, &settings),
                    "native default".to_string(),
                )
            } else {
                let engine = new_engine()?;
                let module = match &module {
                    Some(path) => StrategyModule::from_file(&engine, path)?,
                    None => StrategyModule::builtin(&engine)?,
                };
                let trace = run_scenario(
                    &scenario,
                    &mut WasmReconciler { module: &module },
                    &settings,
                );
                let name = if module.name() == DEFAULT_MODULE_NAME {
                    format!("{DEFAULT_MODULE_NAME} (wasm)")
                } else {
                    module.name().to_string()
                };
                (trace, name)
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&trace)?);
            } else {
                print!("{}", format_timeline(&trace, &strategy));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Lint {
            files,
            ingress_classes,
        } => {
            let mut manifests = Vec::new();
            for f in &files {
                manifests.extend(read_manifests(f)?);
            }
            let (findings, errors) = lint_manifests(&manifests, &ingress_classes);
            print!("{}", format_findings(&findings));
            if findings.is_empty() {
                println!("{} objects: no findings", manifests.len());
            }
            Ok(if errors {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
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
