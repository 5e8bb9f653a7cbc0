//! One verification of a Rollout against its load balancer, with everything it compared (the
//! WIT `verify` export, and `albatross verify`): for each Ingress, the desired weights against
//! every listener rule of the ALB its hostname names; for the canary and stable Services, their
//! endpoint IPs against the targets registered in their target groups (found by tag on the ALB
//! and by TargetGroupBinding) at the resolved target port, with each target's health. Nothing
//! is written.

use serde::{Deserialize, Serialize};

use crate::bindings::bound_target_groups;
use crate::elb::TargetHealth;
use crate::error::{HostError, Result, StrategyError};
use crate::host::Host;
use crate::pingpong::service_roles;
use crate::reconcile::Settings;
use crate::spec::Rollout;
use crate::target_port::{PortLookup, service_port_fallback, target_port};
use crate::traffic::verify_ingresses;
use crate::verify::{IpVerdict, WeightVerdict, verify_ips};
use crate::workload::{endpoint_ips, namespace};

/// Weight verification of one Ingress (the WIT `ingress-verification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressVerification {
    /// The Ingress's name.
    pub ingress: String,
    /// Its load balancer hostname, from its status.
    pub hostname: Option<String>,
    /// What its load balancer carries against what is desired.
    pub verdict: WeightVerdict,
}

/// Target IP verification of one target group of one Service (the WIT
/// `target-verification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetVerification {
    /// `canary` or `stable`.
    pub role: String,
    /// The Service.
    pub service: String,
    /// The target group.
    pub target_group_arn: String,
    /// Its target type (`ip` or `instance`).
    pub target_type: String,
    /// The Service's ready endpoint IPs.
    pub endpoint_ips: Vec<String>,
    /// The targets registered in the target group, with their health.
    pub targets: Vec<TargetHealth>,
    /// The comparison, for an `ip` target group whose target port resolved (instance targets
    /// are nodes, not pod IPs).
    pub verdict: Option<IpVerdict>,
    /// Why the IPs of an `ip` target group were not compared: its target port could not be
    /// resolved (naming the object and field), or the Service has no ready endpoint IPs, so
    /// there was nothing to compare. Such a target group is not verified.
    pub not_checked: Option<String>,
}

/// Everything one verification compared (the WIT `verification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The Rollout, as `namespace/name`.
    pub rollout: String,
    /// The canary weight compared against.
    pub desired_canary_weight: u32,
    /// Every Ingress carries the desired weights and every endpoint IP is registered.
    pub verified: bool,
    /// One entry per Ingress of the Rollout.
    pub ingresses: Vec<IngressVerification>,
    /// One entry per target group of the canary and stable Services.
    pub targets: Vec<TargetVerification>,
}

/// The canary weight a Rollout wants on its load balancer now: the weight its status records
/// as set (`status.canary.weights.canary.weight`), else 0.
pub fn current_canary_weight(rollout: &Rollout) -> u32 {
    rollout
        .status
        .canary
        .weights
        .as_ref()
        .map_or(0, |w| w.canary.weight)
}

/// Verifies the Rollout given as JSON (validated first); see [`verify_rollout`].
pub fn verify_rollout_json<H: Host>(
    host: &mut H,
    rollout_json: &str,
    settings: &Settings,
    desired: Option<u32>,
) -> Result<Verification> {
    let rollout = crate::api::parse_rollout(rollout_json)?;
    verify_rollout(host, &rollout, settings, desired)
}

/// Verifies `rollout` against its load balancer at `desired` canary weight (default: the
/// weight its status records). ELBv2 and cluster failures are returned as errors: a
/// verification that could not look is not a verdict.
pub fn verify_rollout<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    settings: &Settings,
    desired: Option<u32>,
) -> Result<Verification> {
    let weight = desired
        .unwrap_or_else(|| current_canary_weight(rollout))
        .min(100);
    let ns = namespace(rollout).to_string();
    let roles = service_roles(rollout)?;
    let ingresses = verify_ingresses(host, rollout, weight, settings)?;
    let mut wanted: Vec<(&str, &String, Vec<String>)> = Vec::new();
    for (role, service) in [
        ("canary", &roles.canary_service),
        ("stable", &roles.stable_service),
    ] {
        let mut arns: Vec<String> = ingresses
            .iter()
            .filter_map(|i| match role {
                "canary" => i.verdict.canary_target_group_arn.clone(),
                _ => i.verdict.stable_target_group_arn.clone(),
            })
            .collect();
        match bound_target_groups(
            host,
            &settings.target_group_binding_api_version,
            &ns,
            service,
        ) {
            Ok(bound) => arns.extend(bound),
            Err(crate::StrategyError::Host(HostError::NotFound(_))) => {}
            Err(e) => return Err(e),
        }
        arns.sort();
        arns.dedup();
        wanted.push((role, service, arns));
    }
    let all: Vec<String> = wanted.iter().flat_map(|(_, _, a)| a.clone()).collect();
    let groups = if all.is_empty() {
        Vec::new()
    } else {
        host.describe_target_groups(None, &all)?
    };
    let mut targets = Vec::new();
    for (role, service, arns) in wanted {
        if arns.is_empty() {
            continue;
        }
        let ips = endpoint_ips(host, &ns, service)?;
        let lookup = PortLookup {
            api_version: &settings.target_group_binding_api_version,
            namespace: &ns,
            service,
            fallback: service_port_fallback(rollout),
        };
        for tg in groups.iter().filter(|g| arns.contains(&g.arn)) {
            let registered = host.describe_target_health(&tg.arn)?;
            let (verdict, not_checked) = if tg.target_type != "ip" {
                (None, None)
            } else if ips.is_empty() {
                let why = format!(
                    "Service {ns}/{service} has no ready endpoint IPs: the IP check was not done"
                );
                (None, Some(why))
            } else {
                match target_port(host, &lookup, &tg.arn)? {
                    Ok(port) => (Some(verify_ips(&ips, port, &registered)), None),
                    Err(u) => (
                        None,
                        Some(format!(
                            "target port unresolved: {}",
                            StrategyError::from(u)
                        )),
                    ),
                }
            };
            targets.push(TargetVerification {
                role: role.to_string(),
                service: service.clone(),
                target_group_arn: tg.arn.clone(),
                target_type: tg.target_type.clone(),
                endpoint_ips: ips.clone(),
                targets: registered,
                verdict,
                not_checked,
            });
        }
    }
    let verified = ingresses.iter().all(|i| i.verdict.verified)
        && targets
            .iter()
            .all(|t| t.not_checked.is_none() && t.verdict.as_ref().is_none_or(|v| v.verified));
    Ok(Verification {
        rollout: format!("{ns}/{}", rollout.metadata.name),
        desired_canary_weight: weight,
        verified,
        ingresses,
        targets,
    })
}
