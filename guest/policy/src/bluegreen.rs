//! The blue-green state machine with Argo Rollouts' behaviour:
//!
//! - the first template deployed is active; both services select it;
//! - a new template gets its own ReplicaSet (previewReplicaCount pods, else all) and the
//!   preview service selects it once those pods are available;
//! - promotion is automatic (after autoPromotionSeconds) unless autoPromotionEnabled is false,
//!   in which case the Rollout pauses until promoted;
//! - on promotion the new ReplicaSet gets all its pods; the active service selects the old
//!   and the new pods together until every new pod IP is `healthy` in its target groups, then
//!   the new ones alone (so the target group always has healthy targets), and target IP
//!   verification must see every new pod IP registered in the active service's
//!   target groups (found through the TargetGroupBindings that bind the service) before the new
//!   ReplicaSet becomes stable;
//! - the old ReplicaSet is scaled down after scaleDownDelaySeconds (Argo's default 30), once no
//!   service selects it and its IPs have left those target groups.

use crate::adopt::revision_hash;
use crate::bindings::bound_target_groups;
use crate::error::Result;
use crate::host::{EventType, Host};
use crate::reconcile::{PODS_RETRY_MS, Pass, VERIFY_RETRY_MS};
use crate::spec::{BlueGreenStrategy, Rollout};
use crate::status::{PauseCondition, parse_rfc3339, rfc3339};
use crate::target_port::PortLookup;
use crate::targets::{unhealthy_pod_ips, unregistered_pod_ips};
use crate::workload::{
    ReplicaSet, ensure_replicaset, namespace, note_revision, replicasets, select, select_all,
    selected_hash,
};

/// The pause reason while a blue-green Rollout waits to be promoted.
pub const BLUE_GREEN_PAUSE: &str = "BlueGreenPause";
/// Argo's default scaleDownDelaySeconds for blue-green.
pub const DEFAULT_BLUE_GREEN_SCALE_DOWN_SECONDS: i64 = 30;

fn available(sets: &[ReplicaSet], hash: &str) -> u32 {
    sets.iter()
        .find(|r| r.hash == hash)
        .map_or(0, |r| r.available)
}

fn services(bg: &BlueGreenStrategy) -> Vec<String> {
    std::iter::once(bg.active_service.clone())
        .chain(bg.preview_service.clone())
        .collect()
}

impl Pass {
    /// One pass of the blue-green state machine.
    pub(crate) fn blue_green<H: Host>(
        &mut self,
        host: &mut H,
        rollout: &Rollout,
        bg: &BlueGreenStrategy,
    ) -> Result<()> {
        let ns = namespace(rollout).to_string();
        let replicas = rollout.spec.replicas_or_default();
        let sets = replicasets(host, rollout)?;
        let hash = revision_hash(
            &rollout.spec.template.clone().unwrap_or_default(),
            self.status.stable_rs.as_deref(),
            &sets,
        );
        self.record_pods(rollout, &sets, &hash);
        note_revision(host, rollout, &sets, &hash)?;
        if self.status.current_pod_hash.as_deref() != Some(hash.as_str()) {
            if let Some(old) = &self.status.current_pod_hash {
                self.event(
                    EventType::Normal,
                    "NewRevision",
                    format!("pod template changed ({old} → {hash})"),
                );
            }
            self.status.current_pod_hash = Some(hash.clone());
            self.status.pause_conditions.clear();
            self.status.controller_pause = false;
        }
        let active = self
            .status
            .stable_rs
            .clone()
            .unwrap_or_else(|| hash.clone());
        self.status.stable_rs = Some(active.clone());
        let target_groups = bound_target_groups(
            host,
            &self.settings.target_group_binding_api_version,
            &ns,
            &bg.active_service,
        )?;
        let delay = bg
            .scale_down_delay_seconds
            .unwrap_or(DEFAULT_BLUE_GREEN_SCALE_DOWN_SECONDS);
        if active == hash {
            ensure_replicaset(host, rollout, &sets, &hash, replicas)?;
            if available(&sets, &hash) > 0 {
                for svc in services(bg) {
                    select(host, &ns, &svc, &hash, &sets)?;
                }
            }
            self.scale_down_unselected(
                host,
                rollout,
                &sets,
                &[&hash],
                &services(bg),
                &target_groups,
                |_| delay,
            )?;
            let ready = available(&sets, &hash);
            if ready < replicas {
                self.waiting(
                    format!("{ready}/{replicas} pods of {hash} available"),
                    PODS_RETRY_MS,
                );
            } else {
                if self.status.phase.as_deref() != Some("Healthy") {
                    self.event(
                        EventType::Normal,
                        "RolloutHealthy",
                        format!("{hash} is active with {replicas} pods"),
                    );
                }
                self.status.phase = Some("Healthy".into());
                self.status.message = None;
            }
            return Ok(());
        }
        let preview_count = bg.preview_replica_count.map_or(replicas, |n| {
            u32::try_from(n.max(0)).unwrap_or(u32::MAX).min(replicas)
        });
        let promoting = self.promotion_due(host, bg, &sets, &hash, preview_count);
        ensure_replicaset(
            host,
            rollout,
            &sets,
            &hash,
            if promoting { replicas } else { preview_count },
        )?;
        ensure_replicaset(host, rollout, &sets, &active, replicas)?;
        let ready = available(&sets, &hash);
        if let Some(preview) = &bg.preview_service
            && ready >= preview_count.max(1)
        {
            select(host, &ns, preview, &hash, &sets)?;
        }
        if !promoting {
            return Ok(());
        }
        if ready < replicas {
            self.waiting(
                format!("promoting: {ready}/{replicas} pods of {hash} available"),
                PODS_RETRY_MS,
            );
            return Ok(());
        }
        if self.settings.verify {
            if !self.active_switched(host, &ns, bg, &sets, &active, &hash, &target_groups)? {
                return Ok(());
            }
        } else {
            select(host, &ns, &bg.active_service, &hash, &sets)?;
        }
        if self.settings.verify {
            if target_groups.is_empty() {
                self.waiting(
                    format!(
                        "waiting for a TargetGroupBinding of service {} for IP verification",
                        bg.active_service
                    ),
                    VERIFY_RETRY_MS,
                );
                return Ok(());
            }
            let lookup = PortLookup {
                api_version: &self.settings.target_group_binding_api_version,
                namespace: &ns,
                service: &bg.active_service,
                fallback: None,
            };
            match unregistered_pod_ips(host, &lookup, &hash, &target_groups) {
                Ok(missing) if missing.is_empty() => {}
                Ok(missing) => {
                    self.waiting(
                        format!("waiting for {} new pod IPs to be registered in the active target group: {}", missing.len(), missing.join(", ")),
                        VERIFY_RETRY_MS,
                    );
                    return Ok(());
                }
                Err(e) => {
                    self.waiting(
                        format!("waiting to verify target IPs: {e}"),
                        VERIFY_RETRY_MS,
                    );
                    return Ok(());
                }
            }
        }
        self.status.stable_rs = Some(hash.clone());
        self.status.pause_conditions.clear();
        self.status.controller_pause = false;
        self.event(EventType::Normal, "Promoted", format!("{hash} is active"));
        self.waiting(format!("{hash} promoted"), 0);
        Ok(())
    }

    /// Moves the active service from the `active` pods to the `hash` ones with no moment
    /// when its target groups have no healthy target: first it selects both, and only once
    /// every new pod IP is healthy there does it select the new pods alone. Returns whether it
    /// selects the new pods alone.
    #[allow(clippy::too_many_arguments)]
    fn active_switched<H: Host>(
        &mut self,
        host: &mut H,
        ns: &str,
        bg: &BlueGreenStrategy,
        sets: &[ReplicaSet],
        active: &str,
        hash: &str,
        target_groups: &[String],
    ) -> Result<bool> {
        let service = &bg.active_service;
        if selected_hash(host, ns, service)?.as_deref() == Some(hash) {
            return Ok(true);
        }
        select_all(host, ns, service, &[active, hash], sets)?;
        let lookup = PortLookup {
            api_version: &self.settings.target_group_binding_api_version,
            namespace: ns,
            service,
            fallback: None,
        };
        let unhealthy = match unhealthy_pod_ips(host, &lookup, hash, target_groups) {
            Ok(u) => u,
            Err(e) => {
                self.waiting(
                    format!(
                        "waiting to check the new pods' health in the active target group: {e}"
                    ),
                    VERIFY_RETRY_MS,
                );
                return Ok(false);
            }
        };
        if target_groups.is_empty() || !unhealthy.is_empty() {
            self.waiting(
                format!(
                    "{service} selects {active} and {hash} until every new pod is healthy in its target groups; not yet: {}",
                    if target_groups.is_empty() { "no TargetGroupBinding found".to_string() } else { unhealthy.join(", ") }
                ),
                VERIFY_RETRY_MS,
            );
            return Ok(false);
        }
        select(host, ns, service, hash, sets)?;
        Ok(true)
    }

    /// Whether the new ReplicaSet is to be promoted now: its preview pods are up and either
    /// auto-promotion's delay is over or a person promoted the pause.
    fn promotion_due<H: Host>(
        &mut self,
        host: &mut H,
        bg: &BlueGreenStrategy,
        sets: &[ReplicaSet],
        hash: &str,
        preview_count: u32,
    ) -> bool {
        let now = host.now_millis();
        let paused = self
            .status
            .pause_conditions
            .iter()
            .find(|p| p.reason == BLUE_GREEN_PAUSE)
            .cloned();
        if paused.is_none() && self.status.controller_pause {
            return true;
        }
        if available(sets, hash) < preview_count {
            self.waiting(
                format!(
                    "preview: {}/{preview_count} pods of {hash} available",
                    available(sets, hash)
                ),
                PODS_RETRY_MS,
            );
            return false;
        }
        let Some(pause) = paused else {
            self.status.pause_conditions.push(PauseCondition {
                reason: BLUE_GREEN_PAUSE.into(),
                start_time: rfc3339(now),
            });
            self.status.controller_pause = true;
            self.status.phase = Some("Paused".into());
            let message = if bg.auto_promotion_enabled == Some(false) {
                format!("{hash} in preview: paused until promoted")
            } else {
                format!(
                    "{hash} in preview: promoting in {}s",
                    bg.auto_promotion_seconds.unwrap_or(0)
                )
            };
            self.status.message = Some(message.clone());
            self.event(EventType::Normal, "RolloutPaused", message);
            self.wait(
                u64::try_from(bg.auto_promotion_seconds.unwrap_or(0).max(0)).unwrap_or(0) * 1000,
            );
            return false;
        };
        if bg.auto_promotion_enabled == Some(false) {
            return false;
        }
        let started = parse_rfc3339(&pause.start_time).unwrap_or(now);
        let due = started
            + u64::try_from(bg.auto_promotion_seconds.unwrap_or(0).max(0)).unwrap_or(0) * 1000;
        if now < due {
            self.wait(due - now);
            return false;
        }
        true
    }
}
