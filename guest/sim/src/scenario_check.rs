//! What a scenario file says that the simulator would otherwise pass over in silence: fields
//! it does not know (`durationSecond`), with the nearest it does, in the scenario and in its
//! Rollouts (`scaleDownDelaySecond`); events that name a Rollout
//! or Ingress the manifests do not hold, or that fall after the run ends; a run longer
//! than a day of simulated time; and a `replicate:` block of no copies or a pattern without
//! `{i}`. Each is an error that names the field.

use albatross_policy::rollout_fields::{FieldNote, check_fields};
use albatross_policy::suggest::{did_you_mean, unknown_keys};
use serde_json::Value;

use crate::runner::{Action, Scenario};

/// The longest run a scenario may ask for: a day of simulated seconds.
pub const MAX_DURATION_SECONDS: u64 = 86_400;

impl Action {
    /// The Rollout the action is on, if it is on one.
    pub fn rollout(&self) -> Option<&str> {
        match self {
            Action::SetImage { rollout, .. }
            | Action::Promote { rollout }
            | Action::Pause { rollout }
            | Action::Unpause { rollout }
            | Action::PromoteFull { rollout }
            | Action::Abort { rollout }
            | Action::Retry { rollout }
            | Action::DeleteRollout { rollout, .. } => Some(rollout),
            Action::PatchIngress { .. } | Action::RestartController { .. } => None,
        }
    }
}

/// The names of the manifests of `kind`.
fn names<'a>(scenario: &'a Scenario, kind: &str) -> Vec<&'a str> {
    scenario
        .manifests
        .iter()
        .filter(|m| m["kind"] == kind)
        .filter_map(|m| m["metadata"]["name"].as_str())
        .collect()
}

/// Every problem of `scenario`, read from `raw` (the file as JSON), one sentence each naming
/// the field; empty when there is none.
pub fn check_scenario(raw: &Value, scenario: &Scenario) -> Vec<String> {
    let mut problems = Vec::new();
    match serde_json::to_value(scenario) {
        Ok(known) => {
            problems.extend(unknown_keys(raw, &known).iter().map(ToString::to_string));
        }
        Err(e) => problems.push(format!("the scenario could not be read back: {e}")),
    }
    for (i, m) in scenario.manifests.iter().enumerate() {
        if m["kind"] != "Rollout" {
            continue;
        }
        for note in check_fields(m) {
            if let FieldNote::Unknown { .. } = note {
                problems.push(format!(
                    "manifests[{i}] (Rollout {}): {}: {}",
                    m["metadata"]["name"].as_str().unwrap_or_default(),
                    note.path(),
                    note.message()
                ));
            }
        }
    }
    if scenario.duration_seconds > MAX_DURATION_SECONDS {
        problems.push(format!(
            "durationSeconds: {} is more than a day ({MAX_DURATION_SECONDS})",
            scenario.duration_seconds
        ));
    }
    if let Some(problem) = scenario.replicate.as_ref().and_then(|r| r.problem()) {
        problems.push(problem);
    }
    let rollouts = names(scenario, "Rollout");
    let ingresses = names(scenario, "Ingress");
    for (i, e) in scenario.events.iter().enumerate() {
        if e.at >= scenario.duration_seconds {
            problems.push(format!(
                "events[{i}].at: {} is not before the end of the run (durationSeconds {})",
                e.at, scenario.duration_seconds
            ));
        }
        if let Some(r) = e.action.rollout()
            && !rollouts.contains(&r)
        {
            problems.push(format!(
                "events[{i}].rollout: no Rollout {r:?} among the manifests{}",
                did_you_mean(r, rollouts.iter().copied())
            ));
        }
        if let Action::PatchIngress { ingress, .. } = &e.action
            && !ingresses.contains(&ingress.as_str())
        {
            problems.push(format!(
                "events[{i}].ingress: no Ingress {ingress:?} among the manifests{}",
                did_you_mean(ingress, ingresses.iter().copied())
            ));
        }
    }
    problems
}
