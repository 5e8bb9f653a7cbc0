//! `albatross simulate`: a scenario run in the simulated world with a strategy component
//! (through wasmtime) or the native default, and its timeline printed for a person.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use albatross_policy::reconcile::Settings;
use albatross_sim::expect;
use albatross_sim::runner::{NativeReconciler, Trace, run_with_progress};
use anyhow::{Result, bail};
use clap::{ArgAction, Args};

use crate::commands::lint::{format_findings, lint_manifests};
use crate::commands::options::{ClassArgs, ModuleChoice};
use crate::runtime::engine::{DEFAULT_MODULE_NAME, new_engine};
use crate::simulation::{WasmReconciler, read_scenario};

/// Run a rollout scenario in the simulated world and print its timeline.
///
/// The scenario file (YAML) holds the manifests (Rollout, Services, Ingress), the events
/// (setImage, promote, promoteFull, pause, unpause, abort, retry, restartController,
/// deleteRollout, patchIngress at a second) and the faults (lbControllerDown,
/// registrationDelay, elbThrottling, lbcThrottling, apiConflicts). The world
/// has a ReplicaSet controller, an endpoints controller and an AWS Load Balancer Controller
/// with lags; the strategy runs as a wasm component against it with a simulated clock.
/// The timeline shows, per change (and per Rollout, in a column of its own when there are
/// several): the step, the canary weight wanted (✓ once verified on the ALB), what the
/// Rollout's own ALB sends where, the ReplicaSets, the requests lost that second on its ALBs
/// (in parentheses when lost before the first pods served, which the total does not count),
/// and what the Rollout waits for. The manifests are linted first; a scenario with an unknown
/// field, or an event on an object it does not hold, is refused. A scenario's `expect:`
/// block is checked at the end: exit code 1 when an expectation fails.
///
/// Examples:
///   albatross simulate examples/scenarios/basic-canary.yaml
///   albatross simulate examples/scenarios/lb-controller-outage.yaml --verify=false
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct SimulateArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub module: ModuleChoice,
    /// Run the native build of the default strategy instead of its wasm component.
    #[arg(long, conflicts_with = "module")]
    pub native: bool,
    /// Gate every step on weight and target IP verification; `--verify=false` shows what
    /// happens without the gates.
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub verify: bool,
    /// Print the whole trace as JSON instead of the table: the timeline, the Events, the
    /// ELBv2 calls, and `albs`, a row per ALB whenever its shares, losses or targets' health
    /// states changed.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub classes: ClassArgs,
}

impl SimulateArgs {
    /// Lints the scenario's manifests, runs it, prints the timeline.
    pub fn execute(self) -> Result<ExitCode> {
        let scenario = read_scenario(&self.scenario)?;
        let classes = self.classes.ingress_classes;
        let (findings, errors) = lint_manifests(&scenario.manifests, &classes);
        eprint!("{}", format_findings(&findings));
        if errors {
            bail!("the scenario's manifests do not pass lint (see above)");
        }
        let settings = Settings {
            verify: self.verify,
            ingress_classes: classes,
            ..Settings::default()
        };
        let mut progress = Progress::new(scenario.duration_seconds);
        let (trace, strategy) = if self.native {
            (
                run_with_progress(&scenario, &mut NativeReconciler, &settings, &mut |t| {
                    progress.at(t)
                }),
                "native default".to_string(),
            )
        } else {
            let engine = new_engine()?;
            let module = self.module.load(&engine)?;
            let trace = run_with_progress(
                &scenario,
                &mut WasmReconciler { module: &module },
                &settings,
                &mut |t| progress.at(t),
            );
            let name = if module.name() == DEFAULT_MODULE_NAME {
                format!("{DEFAULT_MODULE_NAME} (wasm)")
            } else {
                module.name().to_string()
            };
            (trace, name)
        };
        if self.json {
            println!("{}", serde_json::to_string_pretty(&trace)?);
        } else {
            print!("{}", format_timeline(&trace, &strategy));
        }
        let verdicts = expect::check(&scenario, &trace);
        let (text, met) = format_verdicts(&verdicts, &expect::warnings(&scenario, &trace));
        if self.json {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
        Ok(if met {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// Runs of at least this many simulated seconds report their progress on stderr.
pub const PROGRESS_FROM_SECONDS: u64 = 3600;

/// Progress of a long run on stderr: a line at every tenth of the simulated time.
struct Progress {
    total: u64,
    next: u64,
}

impl Progress {
    fn new(total: u64) -> Self {
        Progress {
            total,
            next: if total >= PROGRESS_FROM_SECONDS {
                total / 10
            } else {
                u64::MAX
            },
        }
    }

    fn at(&mut self, t: u64) {
        if t >= self.next {
            eprintln!("simulated {t} of {} s", self.total);
            self.next = self.next.saturating_add(self.total / 10);
        }
    }
}

/// The closing lines: each expectation with ✓ or ✗ and why, then one line that says whether
/// they all held; without expectations, what went wrong (a Rollout ended Degraded, requests
/// were lost), if anything. Returns the text and whether every expectation held.
pub fn format_verdicts(verdicts: &[expect::Verdict], warnings: &[String]) -> (String, bool) {
    let mut s = String::new();
    if verdicts.is_empty() {
        if !warnings.is_empty() {
            let _ = writeln!(s, "NOTE (no expectations set): {}", warnings.join("; "));
        }
        return (s, true);
    }
    let _ = writeln!(s, "\nExpectations:");
    let mut failed = 0;
    for v in verdicts {
        match &v.failure {
            None => {
                let _ = writeln!(s, "  ✓ {}", v.expectation);
            }
            Some(why) => {
                failed += 1;
                let _ = writeln!(s, "  ✗ {}: {why}", v.expectation);
            }
        }
    }
    if failed == 0 {
        let _ = writeln!(s, "all {} expectations met", verdicts.len());
    } else {
        let _ = writeln!(
            s,
            "EXPECTATIONS FAILED: {failed} of {} (see the ✗ lines above)",
            verdicts.len()
        );
    }
    (s, failed == 0)
}

fn replicas(r: &albatross_sim::runner::TimelineRow) -> String {
    r.replicas
        .iter()
        .map(|(h, (ready, want))| format!("{h}:{ready}/{want}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The trace as a table a person reads.
pub fn format_timeline(trace: &Trace, strategy: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario {}  (strategy {strategy}, verification {})",
        trace.scenario,
        if trace.verify { "on" } else { "OFF" }
    );
    let several = trace
        .timeline
        .iter()
        .any(|r| r.rollout != trace.timeline[0].rollout);
    let width = trace
        .timeline
        .iter()
        .map(|r| r.rollout.len())
        .max()
        .unwrap_or(0)
        .max("rollout".len());
    let rollout_column = |name: &str| {
        if several {
            format!("{name:<width$}  ")
        } else {
            String::new()
        }
    };
    let _ = writeln!(
        s,
        "{:>5}  {}{:<5} {:<11} {:>7}  {:<24} {:<30} {:>5}  waiting for",
        "t(s)",
        rollout_column("rollout"),
        "step",
        "phase",
        "desired",
        "on the ALB",
        "replicas ready/desired",
        "lost"
    );
    for r in &trace.timeline {
        let desired = r.desired_canary.map_or("-".to_string(), |w| {
            format!("{w}%{}", if r.verified { " ✓" } else { "  " })
        });
        let alb = r
            .alb_share
            .iter()
            .map(|(svc, share)| format!("{svc} {share}"))
            .collect::<Vec<_>>()
            .join(" / ");
        let step = r.step.map_or("-".to_string(), |i| i.to_string());
        let lost = if r.lost_before_serving > 0.0 && r.lost == 0.0 {
            format!("({})", r.lost_before_serving.round())
        } else {
            r.lost.round().to_string()
        };
        let _ = writeln!(
            s,
            "{:>5}  {}{:<5} {:<11} {:>7}  {:<24} {:<30} {:>5}  {}",
            r.t,
            rollout_column(&r.rollout),
            step,
            r.phase,
            desired,
            alb,
            replicas(r),
            lost,
            r.message
        );
    }
    let _ = writeln!(s, "\nEvents:");
    for e in &trace.events {
        let _ = writeln!(
            s,
            "{:>5}  {:<7} {:<18} {}: {}",
            e.t, e.event_type, e.reason, e.object, e.message
        );
    }
    let pct = if trace.requests > 0.0 {
        100.0 * trace.requests_lost / trace.requests
    } else {
        0.0
    };
    let _ = writeln!(
        s,
        "\nrequests lost: {} of {} ({pct:.2}%)",
        trace.requests_lost.round(),
        trace.requests.round()
    );
    if trace.requests_lost_before_serving > 0.0 {
        let _ = writeln!(
            s,
            "requests lost before the first pods served, not counted: {} (the \"(n)\" rows)",
            trace.requests_lost_before_serving.round()
        );
    }
    let calls: u64 = trace.elb_calls.values().sum();
    let _ = writeln!(s, "ELBv2 calls by the strategy: {calls}");
    s
}
