//! Scenarios in the simulated world (guest/sim) with a strategy component: scenario files read
//! from YAML, and the runner's [`Reconciler`] over a module in wasmtime. [`component`] runs
//! the world itself as a component too.

pub mod component;

use std::path::Path;

use albatross_policy::StrategyError;
use albatross_policy::reconcile::{Outcome, Settings};
use albatross_sim::SharedWorld;
use albatross_sim::runner::{Reconciler, Scenario};
use albatross_sim::scenario_check::check_scenario;
use anyhow::{Context, Result};

use crate::backend::Backend;
use crate::runtime::call::call_reconcile;
use crate::runtime::engine::StrategyModule;

/// Reads a scenario file (YAML or JSON).
///
/// A field the simulator does not know, an event on a Rollout or Ingress the manifests do not
/// hold or after the run ends, and a run longer than a day are errors that list every one.
pub fn read_scenario(path: &Path) -> Result<Scenario> {
    let text = crate::input::read_file(path, "scenario")?;
    let scenario: Scenario = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("scenario {} is not a valid scenario", path.display()))?;
    let raw: serde_json::Value = serde_yaml_ng::from_str(&text)
        .with_context(|| format!("scenario {} is not a valid scenario", path.display()))?;
    let problems = check_scenario(&raw, &scenario);
    if !problems.is_empty() {
        anyhow::bail!(
            "scenario {} is not a valid scenario:\n  {}",
            path.display(),
            problems.join("\n  ")
        );
    }
    Ok(scenario)
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
        .map_err(StrategyError::from)
    }
}
