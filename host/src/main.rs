//! The `albatross` command line.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use albatross::aws::cache::{DEFAULT_TTL, Elbv2Cache};
use albatross::aws::config::{AwsOptions, elbv2_client};
use albatross::aws::describe::Elbv2Api;
use albatross::aws::host::Elbv2Tasks;
use albatross::aws::metrics::Elbv2Metrics;
use albatross::calls::{Call, Function, call_native, call_wasm};
use albatross::engine::{DEFAULT_MODULE_NAME, StrategyModule, new_engine};
use albatross::module_cmd::{format_inspection, format_list, inspect, precompile};
use albatross::registry::{Registry, RegistryConfig};
use albatross::simulate::{
    WasmReconciler, format_findings, format_timeline, lint_manifests, read_manifests, read_scenario,
};
use albatross::verify_report::{VerifyRequest, format_report, verify_manifests};
use albatross_policy::StrategyError;
use albatross_policy::reconcile::Settings;
use albatross_sim::runner::{NativeReconciler, run as run_scenario};
use anyhow::{Context, Result, bail};
use clap::{ArgAction, Args, Parser, Subcommand};
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
    /// Verify a Rollout against the real ELBv2 API once, and print everything compared.
    ///
    /// Reads the Rollout, its Ingresses (with `status.loadBalancer.ingress[].hostname`, as the
    /// AWS Load Balancer Controller writes it), Services, and optionally Endpoints and
    /// TargetGroupBindings from manifest files (YAML or JSON, several documents per file).
    /// Endpoint IPs can also be given with --endpoints. The strategy module's `verify` export
    /// then finds the load balancer the hostname names, its listener rules and the target groups
    /// tagged for the canary and stable Services, and compares: the desired weights (from the
    /// Rollout's status, or --weight) against every rule, and the endpoint IPs against the
    /// registered targets and their health. Nothing is written anywhere.
    ///
    /// Credentials and region come from the AWS default chain (environment, profile, IRSA, instance
    /// metadata). Exit code 0 when verified, 1 when not, 2 when it could not look.
    ///
    /// Examples:
    ///   albatross verify rollout.yaml ingress.yaml services.yaml --endpoints guestbook-canary=10.0.1.7,10.0.1.8
    ///   albatross verify manifests.yaml --weight 10 --aws-endpoint-url http://127.0.0.1:5000 --region us-east-1
    #[command(verbatim_doc_comment)]
    Verify(Box<VerifyArgs>),
    /// Strategy modules: inspect a file, list what a registry serves, precompile into the cache.
    ///
    /// A module is a WebAssembly component implementing the albatross:strategy world. The
    /// registry serves the built-in default and every *.wasm file of a module directory (named
    /// by file stem), each identified by its sha256 digest; a config file can pin digests and
    /// choose defaults (see README, "The module registry").
    ///
    /// Examples:
    ///   albatross module inspect target/wasm/albatross-default.wasm
    ///   albatross module list --modules /etc/albatross/modules
    ///   albatross module compile my-strategy.wasm --cache-dir /var/cache/albatross
    #[command(verbatim_doc_comment)]
    Module {
        #[command(subcommand)]
        command: ModuleCommand,
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

/// `albatross module` subcommands.
#[derive(Subcommand)]
enum ModuleCommand {
    /// What a module file is: its digest, the world it implements (or why not), the name and
    /// version it reports, its imports and exports.
    Inspect {
        /// The component file.
        path: PathBuf,
    },
    /// The modules a registry serves: name, digest, version, source.
    List {
        /// A registry config file (YAML: moduleDir, cacheDir, clusterDefault,
        /// namespaceDefaults, pins).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The module directory (overrides the config's moduleDir).
        #[arg(long, value_name = "DIR")]
        modules: Option<PathBuf>,
    },
    /// Compile a module into the compiled-code cache, then load it back from there, and print
    /// both times.
    Compile {
        /// The component file.
        path: PathBuf,
        /// The cache directory.
        #[arg(long, value_name = "DIR", default_value = ".albatross-cache")]
        cache_dir: PathBuf,
    },
}

/// The arguments of `albatross verify`.
#[derive(Args)]
struct VerifyArgs {
    /// Manifest files holding the Rollout, its Ingresses, Services, Endpoints, TargetGroupBindings.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The Rollout to verify, when the files hold several.
    #[arg(long, value_name = "NAME")]
    rollout: Option<String>,
    /// A Service's ready endpoint IPs, as SERVICE=IP,IP,... (repeat per Service); replaces
    /// an Endpoints object from the files.
    #[arg(long, value_name = "SERVICE=IPS")]
    endpoints: Vec<String>,
    /// The canary weight to verify instead of the one in the Rollout's status.
    #[arg(long, value_name = "PERCENT")]
    weight: Option<u32>,
    /// A strategy component to run instead of the built-in default.
    #[arg(long, value_name = "PATH")]
    module: Option<PathBuf>,
    /// Print the whole verification as JSON instead of the report.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    tags: TagArgs,
}

/// How to reach ELBv2.
#[derive(Args)]
struct AwsArgs {
    /// The AWS region (default: from AWS_REGION or the profile).
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    region: Option<String>,
    /// Another ELBv2 endpoint: an emulator, a VPC endpoint, another partition.
    #[arg(long, env = "ALBATROSS_AWS_ENDPOINT_URL", value_name = "URL")]
    aws_endpoint_url: Option<String>,
    /// Attempts per ELBv2 call (retry on throttling and 5xx) before it is given up.
    #[arg(long, default_value_t = 3, value_name = "N")]
    aws_max_attempts: u32,
    /// `adaptive` backs off and also slows the client down after throttling; `standard`
    /// only backs off.
    #[arg(long, default_value = "adaptive", value_parser = ["adaptive", "standard"], value_name = "MODE")]
    aws_retry_mode: String,
}

impl AwsArgs {
    fn options(&self) -> AwsOptions {
        AwsOptions {
            region: self.region.clone(),
            endpoint_url: self.aws_endpoint_url.clone(),
            max_attempts: self.aws_max_attempts,
            adaptive: self.aws_retry_mode == "adaptive",
            ..AwsOptions::default()
        }
    }
}

/// How target groups and their bindings are recognised (the AWS Load Balancer Controller's
/// defaults; EKS Auto Mode uses other keys and `eks.amazonaws.com/v1`).
#[derive(Args)]
struct TagArgs {
    /// The tag naming a target group's Ingress backend, `<namespace>/<ingress>-<service>:<port>`.
    #[arg(long, default_value = albatross_policy::verify::DEFAULT_RESOURCE_TAG, value_name = "KEY")]
    resource_tag_key: String,
    /// The tag naming a target group's cluster.
    #[arg(long, default_value = albatross_policy::verify::DEFAULT_CLUSTER_TAG, value_name = "KEY")]
    cluster_tag_key: String,
    /// Count only target groups tagged with this cluster name.
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,
    /// The apiVersion of TargetGroupBinding objects.
    #[arg(long, default_value = albatross_policy::targets::DEFAULT_TARGET_GROUP_BINDING_API, value_name = "API")]
    target_group_binding_api_version: String,
}

impl TagArgs {
    fn settings(&self) -> Settings {
        Settings {
            resource_tag_key: self.resource_tag_key.clone(),
            cluster_tag_key: self.cluster_tag_key.clone(),
            cluster_name: self.cluster_name.clone(),
            target_group_binding_api_version: self.target_group_binding_api_version.clone(),
            ..Settings::default()
        }
    }
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
        Command::Verify(args) => verify(&args),
        Command::Module { command } => module(command),
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

fn verify(args: &VerifyArgs) -> Result<ExitCode> {
    let VerifyArgs {
        files,
        rollout,
        endpoints,
        weight,
        module,
        json,
        aws,
        tags,
    } = args;
    let mut manifests = Vec::new();
    for f in files {
        manifests.extend(read_manifests(f)?);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let options = aws.options();
    let client = runtime.block_on(elbv2_client(&options));
    let metrics = Arc::new(Elbv2Metrics::new());
    let api = Elbv2Api::new(client, options.page_size, metrics);
    let elbv2 = Elbv2Tasks::new(
        Arc::new(Elbv2Cache::new(api, DEFAULT_TTL)),
        runtime.handle().clone(),
    );
    let engine = new_engine()?;
    let module = match module {
        Some(path) => StrategyModule::from_file(&engine, path)?,
        None => StrategyModule::builtin(&engine)?,
    };
    let request = VerifyRequest {
        manifests: &manifests,
        rollout: rollout.as_deref(),
        endpoints,
        weight: *weight,
        settings: tags.settings(),
    };
    let verification = verify_manifests(&module, elbv2, &request)?;
    let v = match verification {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: verification could not complete: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if *json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", format_report(&v));
    }
    Ok(if v.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn module(command: ModuleCommand) -> Result<ExitCode> {
    let engine = new_engine()?;
    match command {
        ModuleCommand::Inspect { path } => {
            let inspection = inspect(&engine, &path)?;
            print!("{}", format_inspection(&inspection));
            Ok(if inspection.reports.is_some() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        ModuleCommand::List { config, modules } => {
            let mut config = match config {
                Some(path) => RegistryConfig::from_file(&path)?,
                None => RegistryConfig::default(),
            };
            if modules.is_some() {
                config.module_dir = modules;
            }
            let registry = Registry::new(&engine, config)?;
            print!("{}", format_list(&registry));
            Ok(ExitCode::SUCCESS)
        }
        ModuleCommand::Compile { path, cache_dir } => {
            let times = precompile(&engine, &path, &cache_dir)?;
            println!(
                "{}: compiled in {:.1} ms; loaded from the cache ({}) in {:.3} ms",
                path.display(),
                times.compile.as_secs_f64() * 1000.0,
                cache_dir.display(),
                times.load_from_cache.as_secs_f64() * 1000.0
            );
            Ok(ExitCode::SUCCESS)
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
