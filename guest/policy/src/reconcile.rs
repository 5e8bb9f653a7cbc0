//! One reconcile pass over one canary Rollout's traffic: write the action annotation (and the
//! header routes in force) on every Ingress of the Rollout when it differs, verify on the load
//! balancer that the weights took effect, and only then advance through the steps (setWeight,
//! pause with a duration or until promoted, setCanaryScale, setHeaderRoute). Abort puts traffic
//! back on the stable; deletion resets the annotation to stable 100 and drops the Rollout's
//! bookkeeping entry. ReplicaSet scaling and pod gates belong to the state machine that builds
//! on this pass.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::action::{Annotation, action_key, build_action};
use crate::conditions::build_header_route;
use crate::duration::duration_millis;
use crate::error::{HostError, Result, StrategyError};
use crate::host::{Event, EventType, Host, Level, ObjectKind, PatchType};
use crate::ingress::Ingress;
use crate::lookup::observe_alb;
use crate::managed::{read_managed, update_managed};
use crate::pingpong::{decide_swap, service_roles};
use crate::plan::weight_at;
use crate::spec::Rollout;
use crate::status::{
    AlbStatus, AwsResourceRef, PauseCondition, RolloutStatus, TrafficWeights, WeightDestination,
    parse_rfc3339, rfc3339,
};
use crate::validate::validate;
use crate::verify::{DEFAULT_RESOURCE_TAG, WeightCheck, WeightVerdict, verify_weights};

/// How long to wait before looking at the load balancer again while a weight is unverified.
pub const VERIFY_RETRY_MS: u64 = 5_000;

/// The pause reason of a canary pause step.
pub const CANARY_PAUSE: &str = "CanaryPauseStep";

/// What one pass decided (the WIT `outcome`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The new status as JSON, or None when unchanged.
    pub status_json: Option<String>,
    /// Come back after this many milliseconds.
    pub requeue_after_ms: Option<u64>,
    /// Events to record.
    pub events: Vec<Event>,
}

/// One reconcile pass for the Rollout given as JSON.
pub fn reconcile<H: Host>(host: &mut H, rollout_json: &str) -> Result<Outcome> {
    let rollout = Rollout::from_json(rollout_json)?;
    let mut pass = Pass {
        status: rollout.status.clone(),
        events: Vec::new(),
        requeue: None,
    };
    if let Err(e) = validate(&rollout) {
        let message = e.to_string();
        pass.degrade("InvalidSpec", &message);
        return Ok(pass.finish(&rollout));
    }
    if rollout.spec.strategy.canary.is_none() {
        return Err(StrategyError::field(
            &rollout.display_name(),
            "spec.strategy.blueGreen",
            "this strategy version shifts ALB traffic for canary Rollouts; blue-green is not reconciled by it",
        ));
    }
    if rollout.metadata.deletion_timestamp.is_some() {
        release_ingresses(host, &rollout)?;
        return Ok(Outcome {
            status_json: None,
            requeue_after_ms: None,
            events: vec![Event {
                event_type: EventType::Normal,
                reason: "TrafficReleased".into(),
                message: "Rollout deleted: action reset to stable 100 on its Ingresses".into(),
            }],
        });
    }
    pass.canary(host, &rollout)?;
    Ok(pass.finish(&rollout))
}

struct Pass {
    status: RolloutStatus,
    events: Vec<Event>,
    requeue: Option<u64>,
}

impl Pass {
    fn event(&mut self, event_type: EventType, reason: &str, message: String) {
        self.events.push(Event {
            event_type,
            reason: reason.to_string(),
            message,
        });
    }

    fn degrade(&mut self, reason: &str, message: &str) {
        if self.status.phase.as_deref() != Some("Degraded")
            || self.status.message.as_deref() != Some(message)
        {
            self.event(EventType::Warning, reason, message.to_string());
        }
        self.status.phase = Some("Degraded".into());
        self.status.message = Some(message.to_string());
    }

    fn wait(&mut self, ms: u64) {
        self.requeue = Some(self.requeue.map_or(ms, |r| r.min(ms)));
    }

    fn finish(self, rollout: &Rollout) -> Outcome {
        let status_json = (self.status != rollout.status)
            .then(|| serde_json::to_string(&self.status).unwrap_or_default());
        Outcome {
            status_json,
            requeue_after_ms: self.requeue,
            events: self.events,
        }
    }

    fn canary<H: Host>(&mut self, host: &mut H, rollout: &Rollout) -> Result<()> {
        let canary = rollout.canary()?;
        let steps = canary.steps.len();
        let mut idx = self
            .status
            .current_step_index
            .map(|i| usize::try_from(i.max(0)).unwrap_or(usize::MAX).min(steps))
            .unwrap_or(0);
        if self.status.promote_full {
            idx = steps;
        }
        self.status.current_step_index = Some(i64::try_from(idx).unwrap_or(i64::MAX));
        let weight = if self.status.abort {
            0
        } else {
            weight_at(canary, idx)
        };
        let mut view = rollout.clone();
        view.status = self.status.clone();
        write_traffic(host, &view, weight, &header_routes_at(&view, idx))?;
        let verdicts = match verify_all(host, &view, weight) {
            Ok(v) => v,
            Err(e) => {
                self.record_weights(&view, weight, false)?;
                self.status.phase = Some("Progressing".into());
                self.status.message = Some(format!(
                    "waiting to verify canary weight {weight}: ELBv2 did not answer ({e})"
                ));
                host.log(
                    Level::Warn,
                    "weight verification failed",
                    &[("error", &e.to_string())],
                );
                self.wait(VERIFY_RETRY_MS);
                return Ok(());
            }
        };
        let verified = verdicts.iter().all(|v| v.verified);
        self.record_weights(&view, weight, verified)?;
        self.record_alb(&verdicts, host);
        if !verified {
            let why: Vec<&str> = verdicts
                .iter()
                .flat_map(|v| v.differences.iter().map(String::as_str))
                .collect();
            let message = format!(
                "waiting for the load balancer to carry canary weight {weight}: {}",
                why.join("; ")
            );
            if self.status.message.as_deref() != Some(message.as_str()) {
                host.log(
                    Level::Info,
                    "weight not yet verified",
                    &[("weight", &weight.to_string())],
                );
            }
            self.status.phase = Some("Progressing".into());
            self.status.message = Some(message);
            self.wait(VERIFY_RETRY_MS);
            return Ok(());
        }
        if self.status.abort {
            self.status.phase = Some("Degraded".into());
            self.status.message =
                Some("RolloutAborted: traffic is back on the stable (verified)".into());
            return Ok(());
        }
        self.advance(host, rollout, idx, weight)
    }

    fn advance<H: Host>(
        &mut self,
        host: &mut H,
        rollout: &Rollout,
        mut idx: usize,
        verified_weight: u32,
    ) -> Result<()> {
        let canary = rollout.canary()?;
        let now = host.now_millis();
        while idx < canary.steps.len() {
            let step = &canary.steps[idx];
            if let Some(pause) = &step.pause {
                if !self.pause_done(pause.duration.as_ref().and_then(duration_millis), now, idx) {
                    self.status.current_step_index = Some(i64::try_from(idx).unwrap_or(i64::MAX));
                    return Ok(());
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
            if weight_at(canary, idx) != verified_weight {
                self.status.phase = Some("Progressing".into());
                self.status.message = Some(format!(
                    "step {idx}: setting canary weight {}",
                    weight_at(canary, idx)
                ));
                self.wait(0);
                return Ok(());
            }
        }
        self.complete(host, rollout, verified_weight)
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
                // Paused here before and the pause condition was cleared: promoted.
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
                self.status.message = Some(match duration {
                    Some(ms) => format!("step {idx}: paused for {}s", ms / 1000),
                    None => format!("step {idx}: paused until promoted"),
                });
                self.event(
                    EventType::Normal,
                    "RolloutPaused",
                    self.status.message.clone().unwrap_or_default(),
                );
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

    fn complete<H: Host>(&mut self, host: &mut H, rollout: &Rollout, weight: u32) -> Result<()> {
        let mut view = rollout.clone();
        view.status = self.status.clone();
        if view.canary()?.ping_pong.is_some() {
            let swap = decide_swap(&view, Some(weight))?;
            if swap.swap {
                self.status.canary.stable_ping_pong = Some(swap.roles.stable_ping_pong.clone());
                view.status = self.status.clone();
                write_traffic(host, &view, 0, &[])?;
                self.record_weights(&view, 0, false)?;
                self.event(EventType::Normal, "PingPongSwapped", swap.reason);
                self.wait(0);
                return Ok(());
            }
        }
        if self.status.phase.as_deref() != Some("Healthy") {
            self.event(
                EventType::Normal,
                "RolloutCompleted",
                "every step done and verified".into(),
            );
        }
        self.status.phase = Some("Healthy".into());
        self.status.message = None;
        Ok(())
    }

    fn record_weights(&mut self, rollout: &Rollout, weight: u32, verified: bool) -> Result<()> {
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
        Ok(())
    }

    fn record_alb<H: Host>(&mut self, verdicts: &[WeightVerdict], host: &mut H) {
        let Some(v) = verdicts.first() else { return };
        let named = |arn: &Option<String>| {
            arn.as_ref().map(|arn| AwsResourceRef {
                name: arn_name(arn),
                arn: arn.clone(),
            })
        };
        let alb = AlbStatus {
            load_balancer: (!v.load_balancer_arn.is_empty()).then(|| AwsResourceRef {
                name: arn_name(&v.load_balancer_arn),
                arn: v.load_balancer_arn.clone(),
            }),
            canary_target_group: named(&v.canary_target_group_arn),
            stable_target_group: named(&v.stable_target_group_arn),
        };
        if self.status.alb.as_ref() != Some(&alb) {
            host.log(
                Level::Debug,
                "load balancer found",
                &[("arn", &v.load_balancer_arn)],
            );
        }
        self.status.alb = Some(alb);
    }
}

/// The name part of an ELBv2 ARN (`.../app/<name>/<id>` or `.../targetgroup/<name>/<id>`).
fn arn_name(arn: &str) -> String {
    let mut parts = arn.rsplit('/');
    let _id = parts.next();
    parts.next().unwrap_or(arn).to_string()
}

/// The names of the header routes in force at step `idx`: the last setHeaderRoute of each
/// name at or before it, unless that step removes the route (no matches).
fn header_routes_at(rollout: &Rollout, idx: usize) -> Vec<String> {
    let Ok(canary) = rollout.canary() else {
        return Vec::new();
    };
    if rollout.status.abort || idx >= canary.steps.len() {
        return Vec::new();
    }
    let mut live: BTreeMap<&str, bool> = BTreeMap::new();
    for step in &canary.steps[..=idx] {
        if let Some(route) = &step.set_header_route {
            live.insert(route.name.as_str(), !route.matches.is_empty());
        }
    }
    live.into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name.to_string())
        .collect()
}

fn namespace(rollout: &Rollout) -> &str {
    rollout.metadata.namespace.as_deref().unwrap_or("default")
}

fn get_ingress<H: Host>(host: &mut H, ns: &str, name: &str) -> Result<Ingress> {
    let json = host.get(&ObjectKind::ingress(), ns, name)?;
    Ingress::from_json(&json)
}

/// Writes the action annotation for `weight` and the header routes `routes` on every Ingress of
/// the Rollout, with the bookkeeping entry; writes nothing to an Ingress already as wanted.
fn write_traffic<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    weight: u32,
    routes: &[String],
) -> Result<()> {
    let mut wanted = vec![build_action(rollout, weight)?];
    for route in routes {
        wanted.extend(build_header_route(rollout, route)?);
    }
    let ns = namespace(rollout);
    for name in rollout.alb()?.ingress_names() {
        let ingress = get_ingress(host, ns, name)?;
        patch_annotations(host, rollout, &ingress, &wanted)?;
    }
    Ok(())
}

/// Patches `ingress` so that this Rollout's managed annotations are exactly `wanted`: changed
/// values written, keys it no longer manages removed, the bookkeeping updated. Refuses an
/// annotation another Rollout manages.
fn patch_annotations<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    ingress: &Ingress,
    wanted: &[Annotation],
) -> Result<()> {
    let me = rollout.metadata.name.as_str();
    let entries = read_managed(ingress)?;
    let wanted_keys: BTreeSet<&str> = wanted.iter().map(|a| a.key.as_str()).collect();
    for entry in entries.iter().filter(|e| e.rollout != me) {
        if let Some(key) = entry.keys.iter().find(|k| wanted_keys.contains(k.as_str())) {
            return Err(StrategyError::field(
                &ingress.display_name(),
                format!("metadata.annotations[{key}]"),
                format!(
                    "already managed by Rollout {:?}; two Rollouts cannot share one action",
                    entry.rollout
                ),
            ));
        }
    }
    let mine_before: Vec<String> = entries
        .iter()
        .find(|e| e.rollout == me)
        .map(|e| e.keys.clone())
        .unwrap_or_default();
    let keys: Vec<String> = wanted.iter().map(|a| a.key.clone()).collect();
    let mut patch = Map::new();
    let current = &ingress.metadata.annotations;
    for a in wanted
        .iter()
        .cloned()
        .chain(update_managed(ingress, me, &keys)?)
    {
        if current.get(&a.key) != Some(&a.value) {
            patch.insert(a.key, Value::String(a.value));
        }
    }
    for stale in mine_before
        .iter()
        .filter(|k| !wanted_keys.contains(k.as_str()))
    {
        if current.contains_key(stale) {
            patch.insert(stale.clone(), Value::Null);
        }
    }
    if patch.is_empty() {
        return Ok(());
    }
    let changed: Vec<String> = patch.keys().cloned().collect();
    host.log(
        Level::Info,
        "patching Ingress annotations",
        &[
            ("ingress", &ingress.display_name()),
            ("keys", &changed.join(",")),
        ],
    );
    let body = json!({"metadata": {"annotations": patch}}).to_string();
    let ns = ingress
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_else(|| namespace(rollout));
    host.patch(
        &ObjectKind::ingress(),
        ns,
        &ingress.metadata.name,
        PatchType::Merge,
        &body,
        None,
    )?;
    Ok(())
}

/// On deletion: every Ingress of the Rollout gets its action back to stable 100 and loses the
/// Rollout's bookkeeping entry (and its header routes). A missing Ingress is skipped.
fn release_ingresses<H: Host>(host: &mut H, rollout: &Rollout) -> Result<()> {
    let mut stable_only = rollout.clone();
    stable_only.status.abort = false;
    let action = build_action(&stable_only, 0)?;
    let key = action_key(rollout)?;
    let me = rollout.metadata.name.as_str();
    let ns = namespace(rollout);
    for name in rollout.alb()?.ingress_names() {
        let ingress = match get_ingress(host, ns, name) {
            Ok(i) => i,
            Err(StrategyError::Host(HostError::NotFound(_))) => continue,
            Err(e) => return Err(e),
        };
        let mine = read_managed(&ingress)?
            .into_iter()
            .find(|e| e.rollout == me)
            .map(|e| e.keys)
            .unwrap_or_default();
        let mut patch = Map::new();
        if ingress.metadata.annotations.get(&key) != Some(&action.value) {
            patch.insert(key.clone(), Value::String(action.value.clone()));
        }
        for k in mine.iter().filter(|k| **k != key) {
            if ingress.metadata.annotations.contains_key(k) {
                patch.insert(k.clone(), Value::Null);
            }
        }
        for a in update_managed(&ingress, me, &[])? {
            if ingress.metadata.annotations.get(&a.key) != Some(&a.value) {
                patch.insert(a.key, Value::String(a.value));
            }
        }
        if !patch.is_empty() {
            let body = json!({"metadata": {"annotations": patch}}).to_string();
            host.patch(
                &ObjectKind::ingress(),
                ns,
                name,
                PatchType::Merge,
                &body,
                None,
            )?;
        }
    }
    Ok(())
}

/// Weight verification on every Ingress of the Rollout.
fn verify_all<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    weight: u32,
) -> Result<Vec<WeightVerdict>, HostError> {
    let roles = service_roles(rollout).map_err(|e| HostError::Invalid(e.to_string()))?;
    let alb = rollout
        .alb()
        .map_err(|e| HostError::Invalid(e.to_string()))?;
    let ns = namespace(rollout);
    let port = u32::try_from(alb.service_port).unwrap_or(0);
    let mut verdicts = Vec::new();
    for name in alb.ingress_names() {
        let json = host.get(&ObjectKind::ingress(), ns, name)?;
        let ingress = Ingress::from_json(&json).map_err(|e| HostError::Invalid(e.to_string()))?;
        let unverified = |why: String| WeightVerdict {
            verified: false,
            load_balancer_arn: String::new(),
            canary_target_group_arn: None,
            stable_target_group_arn: None,
            desired_canary_weight: weight,
            desired_stable_weight: 100 - weight,
            rules: Vec::new(),
            differences: vec![why],
        };
        let Some(hostname) = ingress.hostnames().first().map(|h| h.to_string()) else {
            verdicts.push(unverified(format!(
                "{} has no load balancer hostname in its status yet",
                ingress.display_name()
            )));
            continue;
        };
        let Some(observed) = observe_alb(host, &hostname)? else {
            verdicts.push(unverified(format!(
                "no load balancer has the DNS name {hostname}"
            )));
            continue;
        };
        verdicts.push(verify_weights(&WeightCheck {
            ingress_namespace: ns.to_string(),
            ingress_name: name.to_string(),
            canary_service: roles.canary_service.clone(),
            stable_service: roles.stable_service.clone(),
            service_port: port,
            desired_canary_weight: weight,
            resource_tag_key: DEFAULT_RESOURCE_TAG.to_string(),
            load_balancer: observed.load_balancer,
            rules: observed.rules,
            target_groups: observed.target_groups,
            tags: observed.tags,
        }));
    }
    Ok(verdicts)
}
