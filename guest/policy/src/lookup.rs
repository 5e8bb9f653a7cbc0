//! Finding what the AWS Load Balancer Controller built for an Ingress: the load balancer its
//! status hostname names, that load balancer's listener rules, target groups and their tags —
//! everything weight verification compares, fetched through the `elbv2` import.

use crate::elb::{LoadBalancer, ResourceTags, Rule, TargetGroup};
use crate::error::HostError;
use crate::host::Host;

/// What one load balancer carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedAlb {
    /// The load balancer.
    pub load_balancer: LoadBalancer,
    /// The rules of all its listeners.
    pub rules: Vec<Rule>,
    /// Its target groups.
    pub target_groups: Vec<TargetGroup>,
    /// Their tags.
    pub tags: Vec<ResourceTags>,
}

/// The load balancer name an ELB hostname carries: the first DNS label without a leading
/// `internal-` and without the trailing `-<id>` (`k8s-ns-app-1a2b3c-123456789.eu-west-1.elb.
/// amazonaws.com` names `k8s-ns-app-1a2b3c`). None when the hostname has no such shape.
pub fn load_balancer_name(hostname: &str) -> Option<String> {
    let label = hostname.split('.').next()?;
    let label = label.strip_prefix("internal-").unwrap_or(label);
    let (name, id) = label.rsplit_once('-')?;
    (!name.is_empty() && !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| name.to_string())
}

/// The load balancer whose DNS name is `hostname`: asked by name when the hostname gives one,
/// else (or when that finds nothing) among all load balancers.
pub fn find_load_balancer<H: Host>(
    host: &mut H,
    hostname: &str,
) -> Result<Option<LoadBalancer>, HostError> {
    let is_it = |lb: &LoadBalancer| lb.dns_name.eq_ignore_ascii_case(hostname);
    if let Some(name) = load_balancer_name(hostname) {
        match host.describe_load_balancers(&[name], &[]) {
            Ok(found) => {
                if let Some(lb) = found.into_iter().find(is_it) {
                    return Ok(Some(lb));
                }
            }
            Err(HostError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(host
        .describe_load_balancers(&[], &[])?
        .into_iter()
        .find(is_it))
}

/// Everything weight verification needs about the load balancer named by `hostname`; None when
/// no load balancer has that DNS name.
pub fn observe_alb<H: Host>(
    host: &mut H,
    hostname: &str,
) -> Result<Option<ObservedAlb>, HostError> {
    let Some(load_balancer) = find_load_balancer(host, hostname)? else {
        return Ok(None);
    };
    let mut rules = Vec::new();
    for listener in host.describe_listeners(&load_balancer.arn)? {
        rules.extend(host.describe_rules(&listener.arn)?);
    }
    let target_groups = host.describe_target_groups(Some(&load_balancer.arn), &[])?;
    let arns: Vec<String> = target_groups.iter().map(|t| t.arn.clone()).collect();
    let tags = if arns.is_empty() {
        Vec::new()
    } else {
        host.describe_tags(&arns)?
    };
    Ok(Some(ObservedAlb {
        load_balancer,
        rules,
        target_groups,
        tags,
    }))
}
