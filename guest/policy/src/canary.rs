//! The canary state machine with Argo Rollouts' behaviour behind an ALB:
//!
//! - one ReplicaSet per pod template; the first template deployed is stable, a new one is the
//!   canary and restarts the steps;
//! - at rest both services (and both ping-pong services) select the stable pods and the action
//!   carries canary 0;
//! - during an update the canary ReplicaSet has ceil(weight × replicas / 100) pods (or what
//!   setCanaryScale says) and the stable keeps its pods (fewer with dynamicStableScale, never
//!   fewer than the stable weight last verified on the load balancer needs); a ReplicaSet a
//!   Service selects loses pods only after they are out of rotation (see `rotation`); the
//!   canary service selects the new pods only once some are ready;
//! - before the canary weight rises to W, the canary has its pods for the step and the stable
//!   has at least floor((100 − W) × replicas / 100) available;
//! - after each weight change, nothing moves until weight verification passes;
//! - when every step is done and canary 100 is verified: the stable service moves to the new
//!   pods (or, with ping-pong, the hats swap), the new pods' IPs must be registered in the
//!   stable target group (IP verification), and then the new ReplicaSet is stable;
//! - an old ReplicaSet is scaled down only when no service selects it, after
//!   scaleDownDelaySeconds (abortScaleDownDelaySeconds for an aborted canary), and once none of
//!   its pods' IPs is still registered in the Rollout's target groups;
//! - abort puts the canary at 0, walking the setWeight steps back as fast as the stable's
//!   available pods allow; once 0 is verified, the canary service goes back to the stable pods
//!   and the canary ReplicaSet is scaled down after its delay.

use crate::adopt::revision_hash;
use crate::error::Result;
use crate::health::Side;
use crate::host::{EventType, Host};
use crate::pingpong::{decide_swap, service_roles};
use crate::plan::{plan_step, replicas_for_weight};
use crate::reconcile::{PODS_RETRY_MS, Pass, VERIFY_RETRY_MS};
use crate::shift::walk_back;
use crate::spec::Rollout;
use crate::target_port::{PortLookup, service_port_fallback};
use crate::targets::unregistered_pod_ips;
use crate::workload::{
    ReplicaSet, endpoint_ips, ensure_replicaset, namespace, note_revision, pod_ips, replicasets,
    select, selected_hash,
};

/// Argo's default scaleDownDelaySeconds and abortScaleDownDelaySeconds.
pub const DEFAULT_SCALE_DOWN_DELAY_SECONDS: i64 = 30;

fn available(sets: &[ReplicaSet], hash: &str) -> u32 {
    sets.iter()
        .find(|r| r.hash == hash)
        .map_or(0, |r| r.available)
}

/// The services whose selectors this Rollout manages.
fn services(rollout: &Rollout) -> Result<Vec<String>> {
    let canary = rollout.canary()?;
    Ok(match &canary.ping_pong {
        Some(pp) => vec![pp.ping_service.clone(), pp.pong_service.clone()],
        None => canary
            .canary_service
            .iter()
            .chain(canary.stable_service.iter())
            .cloned()
            .collect(),
    })
}

impl Pass {
    /// One pass of the canary state machine.
    pub(crate) fn canary<H: Host>(&mut self, host: &mut H, rollout: &Rollout) -> Result<()> {
        let template = rollout.spec.template.clone().unwrap_or_default();
        let sets = replicasets(host, rollout)?;
        let hash = revision_hash(&template, self.status.stable_rs.as_deref(), &sets);
        self.record_pods(rollout, &sets, &hash);
        note_revision(host, rollout, &sets, &hash)?;
        if self.status.current_pod_hash.as_deref() != Some(hash.as_str()) {
            if let Some(old) = &self.status.current_pod_hash {
                self.event(
                    EventType::Normal,
                    "NewRevision",
                    format!("pod template changed ({old} → {hash}): the steps start again"),
                );
            }
            self.status.current_pod_hash = Some(hash.clone());
            self.status.current_step_index = Some(0);
            self.status.pause_conditions.clear();
            self.status.controller_pause = false;
            self.status.abort = false;
            self.status.promote_full = false;
        }
        let stable = self
            .status
            .stable_rs
            .clone()
            .unwrap_or_else(|| hash.clone());
        self.status.stable_rs = Some(stable.clone());
        if stable == hash {
            self.steady(host, rollout, &sets, &hash)
        } else {
            self.update(host, rollout, &sets, &stable, &hash)
        }
    }

    fn steady<H: Host>(
        &mut self,
        host: &mut H,
        rollout: &Rollout,
        sets: &[ReplicaSet],
        hash: &str,
    ) -> Result<()> {
        let ns = namespace(rollout).to_string();
        let replicas = rollout.spec.replicas_or_default();
        ensure_replicaset(host, rollout, sets, hash, replicas)?;
        let ready = available(sets, hash);
        if ready > 0 {
            for svc in services(rollout)? {
                select(host, &ns, &svc, hash, sets)?;
            }
        }
        let steps = rollout.canary()?.steps.len();
        self.status.current_step_index = Some(i64::try_from(steps).unwrap_or(i64::MAX));
        let view = self.view(rollout);
        let side = Side {
            hash,
            available: ready,
        };
        if !self.shift(host, &view, 0, steps, (side, side))? {
            return Ok(());
        }
        self.scale_down_canary_old(host, rollout, sets, &[hash])?;
        if ready < replicas {
            self.waiting(
                format!("{ready}/{replicas} pods of {hash} available"),
                PODS_RETRY_MS,
            );
            return Ok(());
        }
        if self.status.phase.as_deref() != Some("Healthy") {
            self.event(
                EventType::Normal,
                "RolloutHealthy",
                format!("{hash} is stable with {replicas} pods"),
            );
        }
        self.status.phase = Some("Healthy".into());
        self.status.message = None;
        Ok(())
    }

    fn update<H: Host>(
        &mut self,
        host: &mut H,
        rollout: &Rollout,
        sets: &[ReplicaSet],
        stable: &str,
        hash: &str,
    ) -> Result<()> {
        let ns = namespace(rollout).to_string();
        let canary = rollout.canary()?;
        let steps = canary.steps.len();
        let replicas = rollout.spec.replicas_or_default();
        let mut idx = self
            .status
            .current_step_index
            .map(|i| usize::try_from(i.max(0)).unwrap_or(usize::MAX).min(steps))
            .unwrap_or(0);
        if self.status.promote_full {
            idx = steps;
        }
        self.status.current_step_index = Some(i64::try_from(idx).unwrap_or(i64::MAX));
        let aborted = self.status.abort;
        let current = self
            .status
            .canary
            .weights
            .as_ref()
            .map_or(0, |w| w.canary.weight);
        let verified_stable = self.status.canary.verified_stable_weight.unwrap_or(100);
        let view = self.view(rollout);
        let plan = plan_step(
            &view,
            u32::try_from(idx).unwrap_or(u32::MAX),
            Some(verified_stable),
        )?;
        let roles = service_roles(&view)?;
        if !aborted {
            let service = roles.canary_service.clone();
            self.scale_serving(host, rollout, sets, hash, plan.canary_replicas, &service)?;
        }
        if sets.iter().any(|r| r.hash == stable) {
            let service = roles.stable_service.clone();
            self.scale_serving(host, rollout, sets, stable, plan.stable_replicas, &service)?;
        }
        let canary_ready = available(sets, hash);
        let stable_ready = available(sets, stable);
        if aborted && stable_ready > 0 {
            // An abort during promotion, after the stable service moved to the new pods.
            select(host, &ns, &roles.stable_service, stable, sets)?;
        }
        // The canary service moves to the new pods only while the load balancer sends it
        // nothing (canary 0, verified): moving it under traffic (a new revision in the middle
        // of a rollout) would drain the old canary pods while the new ones are in health
        // checks.
        let canary_idle = self
            .status
            .canary
            .weights
            .as_ref()
            .is_none_or(|w| w.canary.weight == 0 && w.verified == Some(true));
        if !aborted && canary_ready > 0 && canary_idle {
            select(host, &ns, &roles.canary_service, hash, sets)?;
        }
        let canary_selected =
            selected_hash(host, &ns, &roles.canary_service)?.as_deref() == Some(hash);
        let mut weight = if canary_selected || aborted {
            plan.canary_weight
        } else {
            0
        };
        let mut held = None;
        if weight > current {
            let stable_needed = u32::try_from(u64::from(100 - weight) * u64::from(replicas) / 100)
                .unwrap_or(u32::MAX);
            if canary_ready < plan.canary_replicas || stable_ready < stable_needed {
                held = Some(format!(
                    "before canary weight {weight}: canary {canary_ready} of {} pods available, stable {stable_ready} available ({stable_needed} needed)",
                    plan.canary_replicas
                ));
                weight = current;
            }
        }
        if weight < current {
            let stable_needed = replicas_for_weight(replicas, 100 - weight);
            if stable_ready < stable_needed {
                let back = walk_back(canary, idx, current, weight, |w| {
                    stable_ready >= replicas_for_weight(replicas, 100 - w)
                });
                held = Some(format!(
                    "canary weight {back} on the way back to {weight}: stable {stable_ready} of {stable_needed} pods available"
                ));
                weight = back;
            }
        }
        if !canary_selected && !aborted && plan.canary_weight > 0 {
            held = Some(if canary_ready == 0 {
                format!("waiting for a ready pod of {hash} before the canary service selects it")
            } else {
                format!(
                    "canary weight to 0 (verified) before {} moves to {hash}",
                    roles.canary_service
                )
            });
        }
        let view = self.view(rollout);
        let sides = (
            Side {
                hash,
                available: canary_ready,
            },
            Side {
                hash: stable,
                available: stable_ready,
            },
        );
        if !self.shift(host, &view, weight, idx, sides)? {
            if aborted {
                self.status.phase = Some("Degraded".into());
                let message = self.status.message.take().unwrap_or_default();
                self.status.message = Some(format!("RolloutAborted: {message}"));
            }
            return Ok(());
        }
        if aborted {
            if let Some(message) = held {
                let message = format!("RolloutAborted: {message}");
                if self.status.phase.as_deref() != Some("Degraded") {
                    self.event(EventType::Warning, "RolloutAborted", message.clone());
                }
                self.status.phase = Some("Degraded".into());
                self.status.message = Some(message);
                self.wait(PODS_RETRY_MS);
                return Ok(());
            }
            if stable_ready > 0 {
                select(host, &ns, &roles.canary_service, stable, sets)?;
            }
            self.scale_down_canary_old(host, rollout, sets, &[stable])?;
            self.degrade(
                "RolloutAborted",
                if self.settings.verify {
                    "RolloutAborted: traffic is back on the stable (verified)"
                } else {
                    "RolloutAborted: traffic is back on the stable (not verified: verification is off)"
                },
            );
            return Ok(());
        }
        if let Some(message) = held {
            self.waiting(message, PODS_RETRY_MS);
            return Ok(());
        }
        self.scale_down_canary_old(host, rollout, sets, &[stable, hash])?;
        let now = host.now_millis();
        if !self.advance(&view, idx, weight, now)? {
            return Ok(());
        }
        self.promote(host, rollout, sets, hash)
    }

    /// Every step is done and canary 100 verified: hand the stable role to the new pods.
    fn promote<H: Host>(
        &mut self,
        host: &mut H,
        rollout: &Rollout,
        sets: &[ReplicaSet],
        hash: &str,
    ) -> Result<()> {
        let ns = namespace(rollout).to_string();
        let replicas = rollout.spec.replicas_or_default();
        let ready = available(sets, hash);
        if ready < replicas {
            self.waiting(
                format!("before promotion: {ready}/{replicas} pods of {hash} available"),
                PODS_RETRY_MS,
            );
            return Ok(());
        }
        let view = self.view(rollout);
        if view.canary()?.ping_pong.is_some() {
            let swap = decide_swap(&view, Some(100))?;
            if swap.swap {
                self.status.canary.stable_ping_pong = Some(swap.roles.stable_ping_pong.clone());
                self.event(EventType::Normal, "PingPongSwapped", swap.reason);
            }
        } else {
            let roles = service_roles(&view)?;
            select(host, &ns, &roles.stable_service, hash, sets)?;
            if self.settings.verify
                && !self.new_ips_registered(host, rollout, &roles.stable_service, hash)?
            {
                return Ok(());
            }
        }
        self.status.stable_rs = Some(hash.to_string());
        self.event(
            EventType::Normal,
            "Promoted",
            format!("{hash} is the stable ReplicaSet"),
        );
        self.waiting(format!("{hash} promoted: moving the stable weight back"), 0);
        Ok(())
    }

    /// IP verification: every pod IP of `hash` is registered in the stable target group.
    fn new_ips_registered<H: Host>(
        &mut self,
        host: &mut H,
        rollout: &Rollout,
        service: &str,
        hash: &str,
    ) -> Result<bool> {
        let ns = namespace(rollout);
        let Some(tg) = self
            .status
            .alb
            .as_ref()
            .and_then(|a| a.stable_target_group.clone())
        else {
            self.waiting(
                "waiting to find the stable target group for IP verification".into(),
                VERIFY_RETRY_MS,
            );
            return Ok(false);
        };
        let ips = pod_ips(host, ns, hash)?;
        let endpoints = endpoint_ips(host, ns, service)?;
        if let Some(ip) = ips.iter().find(|ip| !endpoints.contains(ip)) {
            self.waiting(
                format!("waiting for {service}'s endpoints to list {ip}"),
                PODS_RETRY_MS,
            );
            return Ok(false);
        }
        let lookup = PortLookup {
            api_version: &self.settings.target_group_binding_api_version,
            namespace: ns,
            service,
            fallback: service_port_fallback(rollout),
        };
        let missing = match unregistered_pod_ips(host, &lookup, hash, std::slice::from_ref(&tg.arn))
        {
            Ok(m) => m,
            Err(e) => {
                self.waiting(
                    format!("waiting to verify target IPs: {e}"),
                    VERIFY_RETRY_MS,
                );
                return Ok(false);
            }
        };
        if !missing.is_empty() {
            self.waiting(
                format!(
                    "waiting for {} new pod IPs to be registered in target group {}: {}",
                    missing.len(),
                    tg.name,
                    missing.join(", ")
                ),
                VERIFY_RETRY_MS,
            );
        }
        Ok(missing.is_empty())
    }

    /// The old-ReplicaSet scale-down of a canary Rollout: the delay is
    /// abortScaleDownDelaySeconds for an aborted canary, scaleDownDelaySeconds otherwise, and
    /// the target groups are the canary's and the stable's.
    fn scale_down_canary_old<H: Host>(
        &mut self,
        host: &mut H,
        rollout: &Rollout,
        sets: &[ReplicaSet],
        keep: &[&str],
    ) -> Result<()> {
        let canary = rollout.canary()?;
        let delay = |aborted_canary: bool| {
            if aborted_canary {
                canary.abort_scale_down_delay_seconds
            } else {
                canary.scale_down_delay_seconds
            }
            .unwrap_or(DEFAULT_SCALE_DOWN_DELAY_SECONDS)
        };
        let target_groups: Vec<String> = self
            .status
            .alb
            .iter()
            .flat_map(|a| [a.canary_target_group.clone(), a.stable_target_group.clone()])
            .flatten()
            .map(|g| g.arn)
            .collect();
        let services = services(rollout)?;
        let current = self.status.current_pod_hash.clone();
        let aborted = self.status.abort;
        self.scale_down_unselected(host, rollout, sets, keep, &services, &target_groups, |rs| {
            delay(aborted && current.as_deref() == Some(rs.hash.as_str()))
        })
    }
}
