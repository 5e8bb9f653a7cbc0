//! The reconcile entry point: one pass over one Rollout, with all I/O through the [`Host`]
//! imports. It validates the spec (an invalid one is marked Degraded and nothing else is
//! written), releases the Ingresses of a deleted canary Rollout, and runs the canary
//! (`canary.rs`) or blue-green (`bluegreen.rs`) state machine. This file holds the pass's bookkeeping: status, Events, when to come back,
//! and the step walk (setWeight, pause, setCanaryScale, setHeaderRoute).

use serde::{Deserialize, Serialize};

use crate::bindings::DEFAULT_TARGET_GROUP_BINDING_API;
use crate::duration::duration_millis;
use crate::error::Result;
use crate::host::{Event, EventType, Host};
use crate::pingpong::service_roles;
use crate::plan::weight_at;
use crate::spec::Rollout;
use crate::status::{
    AlbStatus, AwsResourceRef, PauseCondition, RolloutStatus, TrafficWeights, WeightDestination,
    parse_rfc3339, rfc3339,
};
use crate::traffic::{arn_name, release_ingresses};
use crate::validate::validate;
use crate::verify::{DEFAULT_CLUSTER_TAG, DEFAULT_RESOURCE_TAG, WeightVerdict};
use crate::workload::{ReplicaSet, replicasets, selector_string};

/// How long to wait before looking at the load balancer again while something is unverified.
pub const VERIFY_RETRY_MS: u64 = 5_000;
/// How long to wait before looking again while pods come up.
pub const PODS_RETRY_MS: u64 = 2_000;
/// The pause reason of a canary pause step.
pub const CANARY_PAUSE: &str = "CanaryPauseStep";

/// How the host configures a pass (the WIT `settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Gate weight changes, promotion and scale-down on the load balancer (weight and target IP
    /// verification). Off only to show what the gates prevent.
    pub verify: bool,
    /// The ingress classes served ("" stands for Ingresses without a class).
    pub ingress_classes: Vec<String>,
    /// The tag key that names a target group's Ingress backend.
    pub resource_tag_key: String,
    /// The tag key that names the cluster a target group belongs to.
    pub cluster_tag_key: String,
    /// This cluster's name: when set, a target group counts only if it carries
    /// `cluster_tag_key` with this value (for accounts shared by several clusters).
    pub cluster_name: Option<String>,
    /// The apiVersion of TargetGroupBinding objects.
    pub target_group_binding_api_version: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            verify: true,
            ingress_classes: vec!["alb".to_string()],
            resource_tag_key: DEFAULT_RESOURCE_TAG.to_string(),
            cluster_tag_key: DEFAULT_CLUSTER_TAG.to_string(),
            cluster_name: None,
            target_group_binding_api_version: DEFAULT_TARGET_GROUP_BINDING_API.to_string(),
        }
    }
}

/// What one pass decided (the WIT `outcome`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The new status as JSON, or None when unchanged.
    pub status_json: Option<String>,
    /// Come back after this many milliseconds.
    pub requeue_after_ms: Option<u64>,
    /// Events to record.
    pub events: Vec<Event>,
}

/// The longest requeue a host accepts from a module: a day.
pub const MAX_REQUEUE_MS: u64 = 86_400_000;

/// Checks what a module returned before a host acts on it: the status must be a JSON object,
/// the requeue at most a day, and every Event must have a reason and a message. Hosts call this
/// on every outcome of a module they do not trust.
pub fn validate_outcome(out: &Outcome) -> std::result::Result<(), String> {
    if let Some(status) = &out.status_json {
        match serde_json::from_str::<serde_json::Value>(status) {
            Ok(v) if v.is_object() => {}
            Ok(_) => return Err("status_json is not a JSON object".into()),
            Err(e) => return Err(format!("status_json is not JSON: {e}")),
        }
    }
    if let Some(ms) = out.requeue_after_ms
        && ms > MAX_REQUEUE_MS
    {
        return Err(format!("requeue_after_ms {ms} is more than a day"));
    }
    if let Some(i) = out
        .events
        .iter()
        .position(|e| e.reason.is_empty() || e.message.is_empty())
    {
        return Err(format!("event {i} has no reason or no message"));
    }
    Ok(())
}

/// The reason of the Event that says a deleted Rollout's traffic is given back: the signal a
/// host waits for before it lets the Rollout go.
pub const TRAFFIC_RELEASED: &str = "TrafficReleased";

/// The finalizer a host puts on every Rollout it manages, so that deletion gives the traffic
/// back to the stable version first; it comes off on the [`TRAFFIC_RELEASED`] Event.
pub const FINALIZER: &str = "albatross.io/traffic";

/// The status message of a Rollout paused by hand (`spec.paused`), as Argo writes it.
pub const MANUALLY_PAUSED: &str = "manually paused";

/// One reconcile pass for the Rollout given as JSON.
pub fn reconcile<H: Host>(
    host: &mut H,
    rollout_json: &str,
    settings: &Settings,
) -> Result<Outcome> {
    let rollout = Rollout::from_json(rollout_json)?;
    let mut pass = Pass {
        status: rollout.status.clone(),
        events: Vec::new(),
        requeue: None,
        settings: settings.clone(),
    };
    // Deletion first, whatever the spec says now: the traffic goes back before the Rollout
    // does. A host removes its finalizer only on the TrafficReleased Event.
    if rollout.metadata.deletion_timestamp.is_some() {
        let message = if rollout.spec.strategy.canary.is_some() {
            release_ingresses(host, &rollout)?;
            "Rollout deleted: action reset to stable 100 on its Ingresses"
        } else {
            "Rollout deleted: blue-green writes no weights, nothing to give back"
        };
        return Ok(Outcome {
            status_json: None,
            requeue_after_ms: None,
            events: vec![Event {
                event_type: EventType::Normal,
                reason: TRAFFIC_RELEASED.into(),
                message: message.into(),
            }],
        });
    }
    if let Err(e) = validate(&rollout) {
        let message = e.to_string();
        pass.degrade("InvalidSpec", &message);
        return Ok(pass.finish(&rollout));
    }
    // Argo's manual pause holds everything but an abort, which gives traffic back.
    if rollout.spec.paused && !rollout.status.abort {
        pass.hold(host, &rollout)?;
        return Ok(pass.finish(&rollout));
    }
    if let Some(bg) = &rollout.spec.strategy.blue_green {
        pass.blue_green(host, &rollout, bg)?;
        return Ok(pass.finish(&rollout));
    }
    pass.canary(host, &rollout)?;
    Ok(pass.finish(&rollout))
}

/// The state of one pass: the status being built, Events, and when to come back.
pub(crate) struct Pass {
    pub(crate) status: RolloutStatus,
    pub(crate) events: Vec<Event>,
    pub(crate) requeue: Option<u64>,
    pub(crate) settings: Settings,
}

impl Pass {
    pub(crate) fn event(&mut self, event_type: EventType, reason: &str, message: String) {
        self.events.push(Event {
            event_type,
            reason: reason.to_string(),
            message,
        });
    }

    pub(crate) fn degrade(&mut self, reason: &str, message: &str) {
        if self.status.phase.as_deref() != Some("Degraded")
            || self.status.message.as_deref() != Some(message)
        {
            self.event(EventType::Warning, reason, message.to_string());
        }
        self.status.phase = Some("Degraded".into());
        self.status.message = Some(message.to_string());
    }

    /// `spec.paused`: no ReplicaSet, Service or weight is written and no step advances until
    /// the Rollout is unpaused; the status says so (Argo's phase and message) and keeps the
    /// pod counts current.
    fn hold<H: Host>(&mut self, host: &mut H, rollout: &Rollout) -> Result<()> {
        let sets = replicasets(host, rollout)?;
        let hash = self.status.current_pod_hash.clone().unwrap_or_default();
        self.record_pods(rollout, &sets, &hash);
        if self.status.message.as_deref() != Some(MANUALLY_PAUSED) {
            self.event(
                EventType::Normal,
                "RolloutPaused",
                "spec.paused is set: nothing moves until the Rollout is unpaused (albatross promote)"
                    .into(),
            );
        }
        self.status.phase = Some("Paused".into());
        self.status.message = Some(MANUALLY_PAUSED.into());
        Ok(())
    }

    /// Come back in `ms` (the earliest of all asks in this pass wins).
    pub(crate) fn wait(&mut self, ms: u64) {
        self.requeue = Some(self.requeue.map_or(ms, |r| r.min(ms)));
    }

    /// Progressing, waiting for what `message` says; come back in `ms`.
    pub(crate) fn waiting(&mut self, message: String, ms: u64) {
        self.status.phase = Some("Progressing".into());
        self.status.message = Some(message);
        self.wait(ms);
    }

    /// The Rollout as this pass sees it: the spec, with the status built so far.
    pub(crate) fn view(&self, rollout: &Rollout) -> Rollout {
        let mut view = rollout.clone();
        view.status = self.status.clone();
        view
    }

    fn finish(mut self, rollout: &Rollout) -> Outcome {
        // Argo's form: the generation this status was made from, as a string.
        if let Some(g) = rollout.metadata.generation {
            self.status.other.insert(
                "observedGeneration".into(),
                serde_json::json!(g.to_string()),
            );
        }
        let status_json = (self.status != rollout.status)
            .then(|| serde_json::to_string(&self.status).unwrap_or_default());
        Outcome {
            status_json,
            requeue_after_ms: self.requeue,
            events: self.events,
        }
    }

    /// The pod counts of the Rollout's ReplicaSets (`hash` is the current revision) and its
    /// selector, in Argo's status fields.
    pub(crate) fn record_pods(&mut self, rollout: &Rollout, sets: &[ReplicaSet], hash: &str) {
        let replicas = sets.iter().map(|rs| rs.replicas).sum();
        self.status.replicas = Some(replicas);
        self.status.hpa_replicas = Some(replicas);
        self.status.updated_replicas = Some(
            sets.iter()
                .filter(|rs| rs.hash == hash)
                .map(|rs| rs.replicas)
                .sum(),
        );
        self.status.available_replicas = Some(sets.iter().map(|rs| rs.available).sum());
        self.status.selector = rollout.spec.selector.as_ref().and_then(selector_string);
    }

    /// The weights last written, and whether the load balancer carries them.
    pub(crate) fn record_weights(
        &mut self,
        rollout: &Rollout,
        weight: u32,
        verified: bool,
    ) -> Result<()> {
        let roles = service_roles(rollout)?;
        self.status.canary.weights = Some(TrafficWeights {
            canary: WeightDestination {
                weight,
                service_name: roles.canary_service,
            },
            stable: WeightDestination {
                weight: 100 - weight,
                service_name: roles.stable_service,
            },
            verified: Some(verified),
        });
        let newly = verified && self.status.canary.verified_stable_weight != Some(100 - weight);
        if newly {
            self.status.canary.verified_stable_weight = Some(100 - weight);
            if rollout.canary().is_ok_and(|c| c.dynamic_stable_scale) {
                // The stable's size follows the verified weight: resize it now, not after a pause.
                self.wait(1);
            }
        }
        Ok(())
    }

    /// The load balancer and target groups verification found (Argo's status.alb).
    pub(crate) fn record_alb(&mut self, verdicts: &[WeightVerdict]) {
        let Some(v) = verdicts.iter().find(|v| !v.load_balancer_arn.is_empty()) else {
            return;
        };
        let named = |arn: &Option<String>| {
            arn.as_ref().map(|arn| AwsResourceRef {
                name: arn_name(arn),
                arn: arn.clone(),
            })
        };
        self.status.alb = Some(AlbStatus {
            load_balancer: Some(AwsResourceRef {
                name: arn_name(&v.load_balancer_arn),
                arn: v.load_balancer_arn.clone(),
            }),
            canary_target_group: named(&v.canary_target_group_arn),
            stable_target_group: named(&v.stable_target_group_arn),
        });
    }

    /// Walks the steps from `idx` once `verified_weight` is on the load balancer. Stops at a
    /// pause that is not over, or at the first step that needs another weight. Returns true
    /// when every step is done.
    pub(crate) fn advance(
        &mut self,
        rollout: &Rollout,
        mut idx: usize,
        verified_weight: u32,
        now: u64,
    ) -> Result<bool> {
        let canary = rollout.canary()?;
        while idx < canary.steps.len() {
            let step = &canary.steps[idx];
            if let Some(pause) = &step.pause {
                if !self.pause_done(pause.duration.as_ref().and_then(duration_millis), now, idx) {
                    self.status.current_step_index = Some(i64::try_from(idx).unwrap_or(i64::MAX));
                    return Ok(false);
                }
            } else if step.set_weight.is_some() {
                self.event(
                    EventType::Normal,
                    "WeightVerified",
                    format!(
                        "step {idx}: canary weight {verified_weight} verified on the load balancer"
                    ),
                );
            }
            idx += 1;
            self.status.current_step_index = Some(i64::try_from(idx).unwrap_or(i64::MAX));
            if let Some(route) = &step.set_header_route {
                // The route changes what the Ingresses carry: write it before going on.
                self.waiting(format!("step {idx}: header route {} set", route.name), 0);
                return Ok(false);
            }
            if weight_at(canary, idx) != verified_weight {
                self.waiting(
                    format!(
                        "step {idx}: setting canary weight {}",
                        weight_at(canary, idx)
                    ),
                    0,
                );
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn pause_done(&mut self, duration: Option<u64>, now: u64, idx: usize) -> bool {
        let existing = self
            .status
            .pause_conditions
            .iter()
            .find(|p| p.reason == CANARY_PAUSE)
            .cloned();
        match existing {
            None if self.status.controller_pause => {
                // Paused here before, and the pause condition was cleared: promoted.
                self.status.controller_pause = false;
                self.event(
                    EventType::Normal,
                    "Resumed",
                    format!("step {idx}: pause promoted"),
                );
                true
            }
            None => {
                self.status.pause_conditions.push(PauseCondition {
                    reason: CANARY_PAUSE.into(),
                    start_time: rfc3339(now),
                });
                self.status.controller_pause = true;
                self.status.phase = Some("Paused".into());
                let message = match duration {
                    Some(ms) => format!("step {idx}: paused for {}s", ms / 1000),
                    None => format!("step {idx}: paused until promoted"),
                };
                self.status.message = Some(message.clone());
                self.event(EventType::Normal, "RolloutPaused", message);
                if let Some(ms) = duration {
                    self.wait(ms);
                }
                false
            }
            Some(cond) => {
                let Some(ms) = duration else {
                    return false;
                };
                let started = parse_rfc3339(&cond.start_time).unwrap_or(now);
                let ends = started.saturating_add(ms);
                if now >= ends {
                    self.status
                        .pause_conditions
                        .retain(|p| p.reason != CANARY_PAUSE);
                    self.status.controller_pause = false;
                    self.event(
                        EventType::Normal,
                        "Resumed",
                        format!("step {idx}: pause of {}s elapsed", ms / 1000),
                    );
                    true
                } else {
                    self.wait(ends - now);
                    false
                }
            }
        }
    }
}
