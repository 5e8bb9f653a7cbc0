//! What the target groups hold for a Rollout's pods, through the imports: the target groups a
//! Service is bound to (TargetGroupBinding objects, as the AWS Load Balancer Controller creates
//! them for Ingress backends and as users create them by hand), which of a ReplicaSet's pod
//! IPs are not yet registered or not yet healthy in them (target IP verification, the
//! blue-green switch), and whether any is still registered (the scale-down gate).

use serde_json::Value;

use crate::elb::{TargetHealth, TargetHealthState};
use crate::error::{HostError, Result};
use crate::host::{Host, ObjectKind};
use crate::verify::verify_ips;
use crate::workload::pod_ips;

/// The apiVersion of the AWS Load Balancer Controller's TargetGroupBinding (EKS Auto Mode
/// serves its own, `eks.amazonaws.com/v1`).
pub const DEFAULT_TARGET_GROUP_BINDING_API: &str = "elbv2.k8s.aws/v1beta1";

/// The TargetGroupBinding kind at `api_version`.
pub fn target_group_binding_kind(api_version: &str) -> ObjectKind {
    ObjectKind::new(api_version, "TargetGroupBinding")
}

/// The target group ARNs bound to a Service in a namespace, by the TargetGroupBindings of
/// `api_version`.
pub fn bound_target_groups<H: Host>(
    host: &mut H,
    api_version: &str,
    ns: &str,
    service: &str,
) -> Result<Vec<String>> {
    let mut arns = Vec::new();
    for json in host.list(&target_group_binding_kind(api_version), ns, "")? {
        let tgb: Value = serde_json::from_str(&json).map_err(|e| {
            HostError::Invalid(format!("TargetGroupBinding from the host is not JSON: {e}"))
        })?;
        if tgb["spec"]["serviceRef"]["name"].as_str() == Some(service)
            && let Some(arn) = tgb["spec"]["targetGroupARN"].as_str()
        {
            arns.push(arn.to_string());
        }
    }
    Ok(arns)
}

/// The pod IPs of `hash` that some target group of `arns` does not list as registered. Only
/// `ip` target groups hold pod IPs; `instance` ones (node ports) are not checked, as in Argo
/// Rollouts.
pub fn unregistered_pod_ips<H: Host>(
    host: &mut H,
    ns: &str,
    hash: &str,
    arns: &[String],
) -> Result<Vec<String>> {
    pod_ips_lacking(host, ns, hash, arns, |ips, targets| {
        verify_ips(ips, targets).missing
    })
}

/// The pod IPs of `hash` that some `ip` target group of `arns` does not list as `healthy`.
pub fn unhealthy_pod_ips<H: Host>(
    host: &mut H,
    ns: &str,
    hash: &str,
    arns: &[String],
) -> Result<Vec<String>> {
    pod_ips_lacking(host, ns, hash, arns, |ips, targets| {
        ips.iter()
            .filter(|ip| {
                !targets
                    .iter()
                    .any(|t| &t.id == *ip && t.state == TargetHealthState::Healthy)
            })
            .cloned()
            .collect()
    })
}

/// The pod IPs of `hash` that `lacking` finds wanting in some `ip` target group of `arns`.
fn pod_ips_lacking<H: Host>(
    host: &mut H,
    ns: &str,
    hash: &str,
    arns: &[String],
    lacking: impl Fn(&[String], &[TargetHealth]) -> Vec<String>,
) -> Result<Vec<String>> {
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let ips = pod_ips(host, ns, hash)?;
    let mut missing = Vec::new();
    let ip_groups: Vec<String> = host
        .describe_target_groups(None, arns)?
        .into_iter()
        .filter(|tg| tg.target_type == "ip")
        .map(|tg| tg.arn)
        .collect();
    for arn in &ip_groups {
        let targets = host.describe_target_health(arn)?;
        for ip in lacking(&ips, &targets) {
            if !missing.contains(&ip) {
                missing.push(ip);
            }
        }
    }
    Ok(missing)
}

/// Whether a pod of `hash` is still registered, not draining, in one of `target_groups`. An
/// ELBv2 failure counts as "still registered": unverified never scales down.
pub fn still_registered<H: Host>(
    host: &mut H,
    ns: &str,
    hash: &str,
    target_groups: &[String],
) -> Result<bool> {
    let ips = pod_ips(host, ns, hash)?;
    ips_still_registered(host, &ips, target_groups)
}

/// Whether one of `ips` is still registered, not draining, in one of `target_groups`: the
/// load balancer may still send it new requests. An ELBv2 failure counts as "still
/// registered".
pub fn ips_still_registered<H: Host>(
    host: &mut H,
    ips: &[String],
    target_groups: &[String],
) -> Result<bool> {
    if ips.is_empty() {
        return Ok(false);
    }
    for arn in target_groups {
        let Ok(targets) = host.describe_target_health(arn) else {
            return Ok(true);
        };
        if targets
            .iter()
            .any(|t| ips.contains(&t.id) && !t.state.is_leaving())
        {
            return Ok(true);
        }
    }
    Ok(false)
}
