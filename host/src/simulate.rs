//! `albatross simulate` and `albatross lint`: scenario and manifest files read from YAML, the
//! preflight lint, a scenario run in the simulated world with a strategy component (through
//! wasmtime) or the native default, and the timeline printed for a person.

use std::fmt::Write as _;
use std::path::Path;

use albatross_policy::StrategyError;
use albatross_policy::lint::{Finding, Severity, lint};
use albatross_policy::reconcile::{Outcome, Settings, validate_outcome};
use albatross_sim::SharedWorld;
use albatross_sim::runner::{Reconciler, Scenario, Trace};
use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::backend::{Backend, block_on};
use crate::bindings::{convert, settings as wit_settings};
use crate::capabilities::Scope;
use crate::engine::{StrategyModule, describe_failure};

/// Reads a scenario file (YAML or JSON).
pub fn read_scenario(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading scenario {}", path.display()))?;
    serde_yaml_ng::from_str(&text)
        .with_context(|| format!("scenario {} is not a valid scenario", path.display()))
}

/// Reads Kubernetes manifests: YAML files with one or more documents (`---`), or JSON.
pub fn read_manifests(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc)
            .with_context(|| format!("{} is not valid YAML", path.display()))?;
        match v {
            Value::Null => {}
            Value::Array(items) => out.extend(items),
            Value::Object(ref o) if o.get("kind").and_then(Value::as_str) == Some("List") => {
                out.extend(
                    o.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The findings, one a line: `error: Ingress shop/web: spec.rules: ...`.
pub fn format_findings(findings: &[Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(s, "{level}: {}: {}: {}", f.object, f.field, f.message);
    }
    s
}

/// Lints the manifests; the findings, and whether any is an error.
pub fn lint_manifests(manifests: &[Value], classes: &[String]) -> (Vec<Finding>, bool) {
    let findings = lint(manifests, classes);
    let errors = findings.iter().any(|f| f.severity == Severity::Error);
    (findings, errors)
}

/// Runs the strategy component, in a fresh instance per pass, against the simulated world.
pub struct WasmReconciler<'a> {
    /// The module.
    pub module: &'a StrategyModule,
}

impl Reconciler for WasmReconciler<'_> {
    fn reconcile(
        &mut self,
        world: &SharedWorld,
        rollout_json: &str,
        settings: &Settings,
    ) -> Result<Outcome, StrategyError> {
        call_reconcile(
            self.module,
            Backend::inline(world.clone()),
            rollout_json,
            settings,
        )
    }
}

/// [`reconcile`] from synchronous code (the simulator's loop), driven by
/// [`crate::backend::block_on`].
pub fn call_reconcile(
    module: &StrategyModule,
    backend: Backend,
    rollout_json: &str,
    settings: &Settings,
) -> Result<Outcome, StrategyError> {
    block_on(reconcile(module, backend, rollout_json, settings))
}

/// One reconcile call into a module, its cluster calls checked against what it may touch
/// ([`crate::capabilities::Guarded`]), contained: a trap, a deadline or memory cap hit, or an
/// outcome that does not validate comes back as a `malformed` error naming the module and the
/// reason, so the caller marks the Rollout degraded and writes nothing else. The call is
/// suspended, not blocked, while an import waits on Kubernetes or AWS.
pub async fn reconcile(
    module: &StrategyModule,
    backend: Backend,
    rollout_json: &str,
    settings: &Settings,
) -> Result<Outcome, StrategyError> {
    let failed = |why: String| {
        StrategyError::Malformed(format!("strategy module {:?} {why}", module.name()))
    };
    let backend = Scope::for_rollout(module.name(), rollout_json, settings).guard(backend);
    let (mut store, reconciler) = module
        .instantiate(backend)
        .await
        .map_err(|e| failed(format!("could not start: {e:#}")))?;
    let result = reconciler
        .call_reconcile(&mut store, rollout_json, &wit_settings(settings))
        .await
        .map_err(|e| failed(describe_failure(&e, module.limits())))?;
    match result {
        Ok(out) => {
            let out: Outcome = convert(&out)
                .map_err(|e| failed(format!("returned an outcome the host cannot read: {e}")))?;
            validate_outcome(&out)
                .map_err(|e| failed(format!("returned output that does not validate: {e}")))?;
            Ok(out)
        }
        Err(e) => Err(convert(&e)
            .unwrap_or_else(|c| failed(format!("returned an error the host cannot read: {c}")))),
    }
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
    let _ = writeln!(
        s,
        "{:>5}  {:<5} {:<11} {:>7}  {:<24} {:<30} {:>5}  waiting for",
        "t(s)", "step", "phase", "desired", "on the ALB", "replicas ready/desired", "lost"
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
        let _ = writeln!(
            s,
            "{:>5}  {:<5} {:<11} {:>7}  {:<24} {:<30} {:>5}  {}",
            r.t,
            step,
            r.phase,
            desired,
            alb,
            replicas(r),
            r.lost.round(),
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
    let calls: u64 = trace.elb_calls.values().sum();
    let _ = writeln!(s, "ELBv2 calls by the strategy: {calls}");
    s
}
