//! Weight planning: the canary weight each step asks for, and the canary / stable replica
//! counts for a weight, with Argo Rollouts' rules for traffic-routed canaries.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StrategyError};
use crate::spec::{CanaryStrategy, Rollout};

/// The plan for one canary step (the WIT `step-plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepPlan {
    /// The step index; the number of steps means "all steps done".
    pub step_index: u32,
    /// The canary's share of traffic, 0..100.
    pub canary_weight: u32,
    /// The stable's share, 100 - canary_weight.
    pub stable_weight: u32,
    /// Canary pods wanted.
    pub canary_replicas: u32,
    /// Stable pods wanted.
    pub stable_replicas: u32,
}

/// Pods needed to carry `weight` percent of `replicas`: ceil(weight x replicas / 100).
pub fn replicas_for_weight(replicas: u32, weight: u32) -> u32 {
    let w = u64::from(weight.min(100));
    u32::try_from((w * u64::from(replicas)).div_ceil(100)).unwrap_or(u32::MAX)
}

/// The canary weight in force at `step_index`: the last setWeight at or before it, 0 before
/// any, and 100 once every step is done (Argo's GetCurrentSetWeight without abort).
pub fn weight_at(canary: &CanaryStrategy, step_index: usize) -> u32 {
    if step_index >= canary.steps.len() {
        return 100;
    }
    canary.steps[..=step_index]
        .iter()
        .rev()
        .find_map(|s| s.set_weight)
        .map(|w| u32::try_from(w.clamp(0, 100)).unwrap_or(0))
        .unwrap_or(0)
}

/// The canary pod count a setCanaryScale step fixes at `step_index`, if one is in force.
pub fn canary_scale_at(canary: &CanaryStrategy, step_index: usize, replicas: u32) -> Option<u32> {
    if step_index >= canary.steps.len() {
        return None;
    }
    let scale = canary.steps[..=step_index]
        .iter()
        .rev()
        .find_map(|s| s.set_canary_scale.as_ref())?;
    if scale.match_traffic_weight {
        return None;
    }
    if let Some(r) = scale.replicas {
        return Some(u32::try_from(r.max(0)).unwrap_or(u32::MAX));
    }
    scale
        .weight
        .map(|w| replicas_for_weight(replicas, u32::try_from(w.clamp(0, 100)).unwrap_or(0)))
}

/// A pod count for a weight, raised to `minPodsPerReplicaSet` (capped at `replicas`) when it is
/// not 0, as Argo Rollouts raises it for a traffic-routed canary.
pub fn with_min_pods(canary: &CanaryStrategy, replicas: u32, count: u32) -> u32 {
    match canary.min_pods_per_replica_set {
        Some(min) if count > 0 => {
            count.max(u32::try_from(min.max(0)).unwrap_or(u32::MAX).min(replicas))
        }
        _ => count,
    }
}

/// The plan for `step_index` of a canary Rollout. `observed_stable_weight` is the stable
/// weight on the load balancer now; with dynamicStableScale the stable never scales below
/// what it carries. An aborted Rollout plans canary weight 0, and ignores setCanaryScale
/// unless `abortScaleDownDelaySeconds` is explicitly 0 (Argo's rule). Counts derived from a
/// weight respect `minPodsPerReplicaSet`.
pub fn plan_step(
    rollout: &Rollout,
    step_index: u32,
    observed_stable_weight: Option<u32>,
) -> Result<StepPlan> {
    let canary = rollout.canary()?;
    let idx = usize::try_from(step_index).unwrap_or(usize::MAX);
    if idx > canary.steps.len() {
        return Err(StrategyError::field(
            &rollout.display_name(),
            "stepIndex",
            format!(
                "step {step_index} is past the last step ({} steps; {} means done)",
                canary.steps.len(),
                canary.steps.len()
            ),
        ));
    }
    let replicas = rollout.spec.replicas_or_default();
    let aborted = rollout.status.abort;
    let canary_weight = if aborted { 0 } else { weight_at(canary, idx) };
    let stable_weight = 100 - canary_weight;
    let honour_scale = !aborted || canary.abort_scale_down_delay_seconds == Some(0);
    let mut canary_replicas = honour_scale
        .then(|| canary_scale_at(canary, idx, replicas))
        .flatten()
        .unwrap_or_else(|| {
            with_min_pods(
                canary,
                replicas,
                replicas_for_weight(replicas, canary_weight),
            )
        });
    let stable_replicas = if canary.dynamic_stable_scale {
        let wanted = replicas_for_weight(replicas, stable_weight);
        let observed = observed_stable_weight.map(|w| replicas_for_weight(replicas, w.min(100)));
        if aborted && let Some(obs) = observed_stable_weight {
            canary_replicas =
                canary_replicas.max(replicas_for_weight(replicas, 100 - obs.min(100)));
        }
        // Argo raises both final counts, a setCanaryScale one included, under dynamicStableScale.
        canary_replicas = with_min_pods(canary, replicas, canary_replicas);
        with_min_pods(canary, replicas, wanted.max(observed.unwrap_or(0)))
    } else {
        replicas
    };
    Ok(StepPlan {
        step_index,
        canary_weight,
        stable_weight,
        canary_replicas,
        stable_replicas,
    })
}

/// The plan of every step, then the "all done" state (index = number of steps).
pub fn plan_steps(rollout: &Rollout) -> Result<Vec<StepPlan>> {
    let steps = rollout.canary()?.steps.len();
    (0..=steps)
        .map(|i| plan_step(rollout, u32::try_from(i).unwrap_or(u32::MAX), None))
        .collect()
}
