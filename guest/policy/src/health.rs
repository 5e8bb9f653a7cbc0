//! The healthy-target gate: before a shift gives a Service's target groups a bigger share of
//! traffic, each of them must have enough `healthy` targets. An ALB routes only to healthy
//! targets, fails open to all registered ones only when every one is unhealthy, and answers
//! 503 when a group has only `initial` (still in health checks) or `draining` ones, so a
//! registered target is not yet a target that serves.
//!
//! The rule: for a share `s` percent of a Rollout of `r` replicas, whose Service selects a
//! ReplicaSet with `a` available pods, an `ip` target group needs
//! max(1, min(ceil(s × r / 100), a)) healthy targets that are pods of that ReplicaSet (a
//! target group whose Service just moved may still hold the old pods, healthy but leaving); an `instance` one (its targets are nodes)
//! needs one. The target groups are the Service's TargetGroupBindings (every ALB that uses it)
//! and the one the last weight verification found for its role.

use crate::bindings::bound_target_groups;
use crate::elb::TargetHealthState;
use crate::error::Result;
use crate::host::Host;
use crate::plan::replicas_for_weight;
use crate::reconcile::Pass;
use crate::workload::pod_ips;

/// The ReplicaSet behind one side of a shift: its pod-template hash and available pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Side<'a> {
    /// The pod-template hash the side's Service selects.
    pub hash: &'a str,
    /// Its available pods.
    pub available: u32,
}

/// What the gate asks of one Service: the share it is about to get, and the pods behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Growing<'a> {
    /// The Service.
    pub service: &'a str,
    /// Its share after the shift, percent.
    pub share: u32,
    /// The ReplicaSet it selects.
    pub side: Side<'a>,
    /// The target group the last weight verification found for its role, if any.
    pub verified_group: Option<String>,
}

/// Healthy targets an `ip` target group needs for `share` percent (see the module docs).
pub fn healthy_needed(replicas: u32, share: u32, available: u32) -> u32 {
    replicas_for_weight(replicas, share).min(available).max(1)
}

impl Pass {
    /// The target groups of `growing.service`: its TargetGroupBindings' and the one the last
    /// weight verification found for its role.
    fn target_groups_of<H: Host>(
        &self,
        host: &mut H,
        ns: &str,
        growing: &Growing<'_>,
    ) -> Result<Vec<String>> {
        let mut groups = bound_target_groups(
            host,
            &self.settings.target_group_binding_api_version,
            ns,
            growing.service,
        )?;
        if let Some(arn) = &growing.verified_group
            && !groups.contains(arn)
        {
            groups.push(arn.clone());
        }
        Ok(groups)
    }

    /// Why the shift must wait, if it must: a target group of `growing.service` with fewer
    /// healthy targets than its new share needs. An ELBv2 failure waits too. A Service with
    /// no target group yet is not gated (the ALB builds it from the action being written, and
    /// weight verification then checks it).
    pub(crate) fn unhealthy_for<H: Host>(
        &self,
        host: &mut H,
        ns: &str,
        replicas: u32,
        growing: Growing<'_>,
    ) -> Result<Option<String>> {
        if growing.share == 0 {
            return Ok(None);
        }
        let groups = self.target_groups_of(host, ns, &growing)?;
        if groups.is_empty() {
            return Ok(None);
        }
        let described = match host.describe_target_groups(None, &groups) {
            Ok(d) => d,
            Err(e) => {
                return Ok(Some(format!(
                    "ELBv2 did not describe the target groups of {}: {e}",
                    growing.service
                )));
            }
        };
        let ips = pod_ips(host, ns, growing.side.hash)?;
        for tg in described {
            let ip = tg.target_type == "ip";
            let needed = if ip {
                healthy_needed(replicas, growing.share, growing.side.available)
            } else {
                1
            };
            let healthy = match host.describe_target_health(&tg.arn) {
                Ok(targets) => targets
                    .iter()
                    .filter(|t| t.state == TargetHealthState::Healthy)
                    .filter(|t| !ip || ips.contains(&t.id))
                    .count(),
                Err(e) => {
                    return Ok(Some(format!(
                        "ELBv2 did not describe the health of target group {}: {e}",
                        tg.name
                    )));
                }
            };
            if u32::try_from(healthy).unwrap_or(u32::MAX) < needed {
                return Ok(Some(format!(
                    "target group {} of {} has {healthy} healthy targets of {}, {needed} needed before it gets {}% of traffic",
                    tg.name, growing.service, growing.side.hash, growing.share
                )));
            }
        }
        Ok(None)
    }
}
