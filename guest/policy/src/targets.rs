//! What the target groups hold for a Rollout's pods, through the imports: which of a
//! ReplicaSet's pod IPs are not yet registered or not yet healthy in them at the target port (target IP
//! verification, the blue-green switch), and whether any is still registered on any port
//! (the scale-down gate, which errs towards waiting).

use crate::elb::{TargetHealth, TargetHealthState};
use crate::error::Result;
use crate::host::Host;
use crate::target_port::{PortLookup, target_port};
use crate::verify::verify_ips;
use crate::workload::pod_ips;

/// The pod IPs of `hash` that some target group of `arns` does not list as registered at the
/// target port of `lookup`'s Service. Only `ip` target groups hold pod IPs; `instance` ones
/// (node ports) are not checked, as in Argo Rollouts. A target port that cannot be resolved
/// is an error naming the object and field.
pub fn unregistered_pod_ips<H: Host>(
    host: &mut H,
    lookup: &PortLookup<'_>,
    hash: &str,
    arns: &[String],
) -> Result<Vec<String>> {
    pod_ips_lacking(host, lookup, hash, arns, |ips, port, targets| {
        verify_ips(ips, port, targets).missing
    })
}

/// The pod IPs of `hash` that some `ip` target group of `arns` does not list as `healthy` at
/// the target port of `lookup`'s Service.
pub fn unhealthy_pod_ips<H: Host>(
    host: &mut H,
    lookup: &PortLookup<'_>,
    hash: &str,
    arns: &[String],
) -> Result<Vec<String>> {
    pod_ips_lacking(host, lookup, hash, arns, |ips, port, targets| {
        ips.iter()
            .filter(|ip| {
                !targets.iter().any(|t| {
                    &t.id == *ip && t.port == Some(port) && t.state == TargetHealthState::Healthy
                })
            })
            .cloned()
            .collect()
    })
}

/// The pod IPs of `hash` that `lacking` finds wanting in some `ip` target group of `arns`, at
/// its target port.
fn pod_ips_lacking<H: Host>(
    host: &mut H,
    lookup: &PortLookup<'_>,
    hash: &str,
    arns: &[String],
    lacking: impl Fn(&[String], u32, &[TargetHealth]) -> Vec<String>,
) -> Result<Vec<String>> {
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let ips = pod_ips(host, lookup.namespace, hash)?;
    let mut missing = Vec::new();
    let ip_groups: Vec<String> = host
        .describe_target_groups(None, arns)?
        .into_iter()
        .filter(|tg| tg.target_type == "ip")
        .map(|tg| tg.arn)
        .collect();
    for arn in &ip_groups {
        let port = target_port(host, lookup, arn)??;
        let targets = host.describe_target_health(arn)?;
        for ip in lacking(&ips, port, &targets) {
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
