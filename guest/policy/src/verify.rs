//! Verification comparisons: does the load balancer carry the desired weights on every rule
//! of an Ingress, and are a Service's endpoint IPs registered in its target group. Pure: the
//! caller fetches the ELBv2 records; these functions only compare.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::elb::{
    LoadBalancer, ResourceTags, Rule, Tag, TargetGroup, TargetHealth, TargetHealthState,
};

/// The tag the AWS Load Balancer Controller puts on a target group to name its Ingress backend,
/// `<namespace>/<ingress>-<service>:<port>`.
pub const DEFAULT_RESOURCE_TAG: &str = "ingress.k8s.aws/resource";

/// The tag the AWS Load Balancer Controller puts on a target group to name its cluster.
pub const DEFAULT_CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";

/// What weight verification compares for one Ingress (the WIT `weight-check`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightCheck {
    /// The Ingress's namespace.
    pub ingress_namespace: String,
    /// The Ingress's name.
    pub ingress_name: String,
    /// The canary service.
    pub canary_service: String,
    /// The stable service.
    pub stable_service: String,
    /// The service port.
    pub service_port: u32,
    /// The desired canary weight, 0..100.
    pub desired_canary_weight: u32,
    /// The tag key naming a target group's backend.
    pub resource_tag_key: String,
    /// Tags a target group must also carry to count (the cluster tag, when a cluster name is
    /// configured).
    #[serde(default)]
    pub required_tags: Vec<Tag>,
    /// The load balancer.
    pub load_balancer: LoadBalancer,
    /// The rules of all its listeners.
    pub rules: Vec<Rule>,
    /// Its target groups.
    pub target_groups: Vec<TargetGroup>,
    /// Their tags.
    pub tags: Vec<ResourceTags>,
}

/// What one rule carries (the WIT `rule-weights`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleWeights {
    /// The rule's ARN.
    pub rule_arn: String,
    /// The canary target group's weight on the rule, if it is in it.
    pub observed_canary: Option<u32>,
    /// The stable target group's weight on the rule, if it is in it.
    pub observed_stable: Option<u32>,
    /// Whether the rule carries the desired weights.
    pub matches: bool,
}

/// The verdict of weight verification (the WIT `weight-verdict`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightVerdict {
    /// Every rule forwarding to the canary or stable carries the desired weights.
    pub verified: bool,
    /// The load balancer's ARN.
    pub load_balancer_arn: String,
    /// The canary target group, if found by its tag.
    pub canary_target_group_arn: Option<String>,
    /// The stable target group, if found by its tag.
    pub stable_target_group_arn: Option<String>,
    /// The desired canary weight.
    pub desired_canary_weight: u32,
    /// The desired stable weight.
    pub desired_stable_weight: u32,
    /// The rules forwarding to either target group.
    pub rules: Vec<RuleWeights>,
    /// What differs, one sentence each.
    pub differences: Vec<String>,
}

/// One endpoint IP and its registration (the WIT `ip-status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpStatus {
    /// The endpoint IP.
    pub ip: String,
    /// Registered: present at the target port and not draining.
    pub registered: bool,
    /// Its health state at the target port, when present there.
    pub state: Option<TargetHealthState>,
    /// The other ports it is registered on (not draining), which serve nothing of this
    /// Service's.
    pub other_ports: Vec<u32>,
}

/// The verdict of IP verification (the WIT `ip-verdict`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpVerdict {
    /// Every endpoint IP is registered at the target port.
    pub verified: bool,
    /// The target port compared against.
    pub port: u32,
    /// Each endpoint IP.
    pub ips: Vec<IpStatus>,
    /// The endpoint IPs not registered at the target port.
    pub missing: Vec<String>,
}

/// The resource tag value the AWS Load Balancer Controller gives a backend's target group.
pub fn resource_id(namespace: &str, ingress: &str, service: &str, port: u32) -> String {
    format!("{namespace}/{ingress}-{service}:{port}")
}

/// Compares the desired weights with every rule of the load balancer that forwards to the
/// Ingress's canary or stable target group. Weights on a rule are relative (ELBv2 allows
/// 0..999 each), so a rule matches when the canary's and the stable's shares of the rule's
/// total weight equal the desired percentages; a target group absent from a rule counts as
/// weight 0 there. Rules with http-header conditions (header routes) are not part of the split
/// and are skipped. Not verified when either target group is missing, or no rule forwards to
/// them.
pub fn verify_weights(check: &WeightCheck) -> WeightVerdict {
    let desired = check.desired_canary_weight.min(100);
    let desired_stable = 100 - desired;
    let tags: HashMap<&str, &ResourceTags> = check
        .tags
        .iter()
        .map(|t| (t.resource_arn.as_str(), t))
        .collect();
    let find = |service: &str| -> (String, Option<String>) {
        let id = resource_id(
            &check.ingress_namespace,
            &check.ingress_name,
            service,
            check.service_port,
        );
        let arn = check
            .target_groups
            .iter()
            .find(|tg| {
                tags.get(tg.arn.as_str()).is_some_and(|t| {
                    let has = |key: &str, value: &str| {
                        t.tags
                            .iter()
                            .any(|tag| tag.key == key && tag.value == value)
                    };
                    has(&check.resource_tag_key, &id)
                        && check.required_tags.iter().all(|r| has(&r.key, &r.value))
                })
            })
            .map(|tg| tg.arn.clone());
        (id, arn)
    };
    let (canary_id, canary_arn) = find(&check.canary_service);
    let (stable_id, stable_arn) = find(&check.stable_service);
    let mut differences = Vec::new();
    for (role, id, arn) in [
        ("canary", &canary_id, &canary_arn),
        ("stable", &stable_id, &stable_arn),
    ] {
        if arn.is_none() {
            let extra: String = check
                .required_tags
                .iter()
                .map(|t| format!(" and {}={}", t.key, t.value))
                .collect();
            differences.push(format!(
                "no {role} target group on {} is tagged {}={id}{extra}",
                check.load_balancer.name, check.resource_tag_key
            ));
        }
    }
    let mut rules = Vec::new();
    for rule in &check.rules {
        if rule.conditions.iter().any(|c| c.field == "http-header") {
            // A header route sends its matching requests to the canary by design; it is not
            // part of the weighted split.
            continue;
        }
        for action in &rule.actions {
            let groups: Vec<(&str, u32)> = match (&action.forward, &action.target_group_arn) {
                (Some(f), _) => f
                    .target_groups
                    .iter()
                    .map(|g| (g.target_group_arn.as_str(), g.weight.unwrap_or(1)))
                    .collect(),
                (None, Some(arn)) => vec![(arn.as_str(), 1)],
                (None, None) => continue,
            };
            let weight_of = |arn: &Option<String>| {
                arn.as_deref()
                    .and_then(|a| groups.iter().find(|(g, _)| *g == a).map(|(_, w)| *w))
            };
            let observed_canary = weight_of(&canary_arn);
            let observed_stable = weight_of(&stable_arn);
            if observed_canary.is_none() && observed_stable.is_none() {
                continue;
            }
            let total: u64 = groups.iter().map(|(_, w)| u64::from(*w)).sum();
            let c = u64::from(observed_canary.unwrap_or(0));
            let s = u64::from(observed_stable.unwrap_or(0));
            let matches = total > 0
                && c * 100 == u64::from(desired) * total
                && s * 100 == u64::from(desired_stable) * total;
            if !matches {
                let which = if rule.is_default {
                    "the default listener rule".to_string()
                } else {
                    format!("listener rule {}", rule.priority)
                };
                differences.push(format!(
                    "{which} of {} carries canary {} / stable {} (of {total}), desired {desired} / {desired_stable}",
                    check.load_balancer.name,
                    observed_canary.map_or("absent".to_string(), |w| w.to_string()),
                    observed_stable.map_or("absent".to_string(), |w| w.to_string()),
                ));
            }
            rules.push(RuleWeights {
                rule_arn: rule.arn.clone(),
                observed_canary,
                observed_stable,
                matches,
            });
        }
    }
    if rules.is_empty() && canary_arn.is_some() && stable_arn.is_some() {
        differences.push(format!(
            "no rule of {} forwards to the canary or stable target group",
            check.load_balancer.name
        ));
    }
    WeightVerdict {
        verified: differences.is_empty(),
        load_balancer_arn: check.load_balancer.arn.clone(),
        canary_target_group_arn: canary_arn,
        stable_target_group_arn: stable_arn,
        desired_canary_weight: desired,
        desired_stable_weight: desired_stable,
        rules,
        differences,
    }
}

/// Compares a Service's endpoint IPs with a target group's registered targets: an IP is
/// registered when the target group lists `IP:port` (`port` is the resolved target port) in
/// any state but draining; the same IP on another port does not count. Verified when every
/// endpoint IP is registered (vacuously so for no endpoints).
pub fn verify_ips(endpoint_ips: &[String], port: u32, targets: &[TargetHealth]) -> IpVerdict {
    let mut by_id: HashMap<&str, Vec<&TargetHealth>> = HashMap::new();
    for t in targets {
        by_id.entry(t.id.as_str()).or_default().push(t);
    }
    let ips: Vec<IpStatus> = endpoint_ips
        .iter()
        .map(|ip| {
            let mine = by_id.get(ip.as_str()).map_or(&[][..], Vec::as_slice);
            let state = mine.iter().find(|t| t.port == Some(port)).map(|t| t.state);
            let mut other_ports: Vec<u32> = mine
                .iter()
                .filter(|t| !t.state.is_leaving())
                .filter_map(|t| t.port.filter(|p| *p != port))
                .collect();
            other_ports.sort_unstable();
            other_ports.dedup();
            IpStatus {
                ip: ip.clone(),
                registered: state.is_some_and(|s| !s.is_leaving()),
                state,
                other_ports,
            }
        })
        .collect();
    let missing: Vec<String> = ips
        .iter()
        .filter(|s| !s.registered)
        .map(|s| s.ip.clone())
        .collect();
    IpVerdict {
        verified: missing.is_empty(),
        port,
        ips,
        missing,
    }
}
