//! The six ELBv2 describe calls verification needs, over the SDK: each pages through every
//! result (Marker / NextMarker), batches what the API caps (20 names or ARNs per
//! DescribeLoadBalancers / DescribeTags / DescribeTargetGroups request), counts every request
//! it sends, and converts the SDK's shapes into the contract's records.

use std::sync::Arc;

use albatross_policy::HostError;
use albatross_policy::elb::{
    ForwardConfig, Listener, LoadBalancer, ResourceTags, Rule, RuleAction, RuleCondition, Tag,
    TargetGroup, TargetHealth, TargetHealthState, WeightedTargetGroup,
};
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types as sdk;

use super::errors::host_error;
use super::metrics::Elbv2Metrics;

/// The most names or ARNs one request may carry (DescribeTags, DescribeLoadBalancers and
/// DescribeTargetGroups all cap at 20).
pub const BATCH: usize = 20;

/// The names or ARNs of one request, if it filters by them.
type Batch = Option<Vec<String>>;

/// The ELBv2 describe calls, uncached.
#[derive(Clone)]
pub struct Elbv2Api {
    client: Client,
    page_size: Option<i32>,
    metrics: Arc<Elbv2Metrics>,
}

fn u32_of(n: Option<i32>) -> Option<u32> {
    n.and_then(|n| u32::try_from(n).ok())
}

fn text(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
}

fn load_balancer(lb: &sdk::LoadBalancer) -> LoadBalancer {
    LoadBalancer {
        arn: text(lb.load_balancer_arn()),
        name: text(lb.load_balancer_name()),
        dns_name: text(lb.dns_name()),
        load_balancer_type: lb
            .r#type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        scheme: lb
            .scheme()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        vpc_id: text(lb.vpc_id()),
        state: lb
            .state()
            .and_then(|s| s.code())
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
    }
}

fn listener(l: &sdk::Listener) -> Listener {
    Listener {
        arn: text(l.listener_arn()),
        load_balancer_arn: text(l.load_balancer_arn()),
        port: u32_of(l.port()).unwrap_or(0),
        protocol: l
            .protocol()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
    }
}

/// A condition's values, from whichever configuration its field uses (the legacy `Values`
/// list when none is given). Query strings flatten to `key=value` (or `value`).
fn condition(c: &sdk::RuleCondition) -> RuleCondition {
    let field = text(c.field());
    let mut header = None;
    let values: Vec<String> = if let Some(h) = c.http_header_config() {
        header = h.http_header_name().map(str::to_string);
        h.values().to_vec()
    } else if let Some(p) = c.path_pattern_config() {
        p.values().to_vec()
    } else if let Some(h) = c.host_header_config() {
        h.values().to_vec()
    } else if let Some(m) = c.http_request_method_config() {
        m.values().to_vec()
    } else if let Some(s) = c.source_ip_config() {
        s.values().to_vec()
    } else if let Some(q) = c.query_string_config() {
        q.values()
            .iter()
            .map(|kv| match kv.key() {
                Some(k) => format!("{k}={}", kv.value().unwrap_or_default()),
                None => text(kv.value()),
            })
            .collect()
    } else {
        Vec::new()
    };
    RuleCondition {
        field,
        http_header_name: header,
        values: if values.is_empty() {
            c.values().to_vec()
        } else {
            values
        },
    }
}

fn action(a: &sdk::Action) -> RuleAction {
    RuleAction {
        action_type: a
            .r#type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        order: u32_of(a.order()),
        target_group_arn: a.target_group_arn().map(str::to_string),
        forward: a.forward_config().map(|f| {
            let sticky = f.target_group_stickiness_config();
            ForwardConfig {
                target_groups: f
                    .target_groups()
                    .iter()
                    .map(|g| WeightedTargetGroup {
                        target_group_arn: text(g.target_group_arn()),
                        weight: u32_of(g.weight()),
                    })
                    .collect(),
                stickiness_enabled: sticky.and_then(|s| s.enabled()).unwrap_or(false),
                stickiness_duration_seconds: u32_of(sticky.and_then(|s| s.duration_seconds())),
            }
        }),
    }
}

fn rule(r: &sdk::Rule) -> Rule {
    Rule {
        arn: text(r.rule_arn()),
        priority: text(r.priority()),
        is_default: r.is_default().unwrap_or(false),
        conditions: r.conditions().iter().map(condition).collect(),
        actions: r.actions().iter().map(action).collect(),
    }
}

fn target_group(t: &sdk::TargetGroup) -> TargetGroup {
    TargetGroup {
        arn: text(t.target_group_arn()),
        name: text(t.target_group_name()),
        target_type: t
            .target_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        port: u32_of(t.port()),
        protocol: t.protocol().map(|p| p.as_str().to_string()),
        vpc_id: t.vpc_id().map(str::to_string),
        load_balancer_arns: t.load_balancer_arns().to_vec(),
    }
}

fn health_state(s: Option<&sdk::TargetHealthStateEnum>) -> TargetHealthState {
    match s.map(|s| s.as_str()) {
        Some("healthy") => TargetHealthState::Healthy,
        Some("unhealthy") => TargetHealthState::Unhealthy,
        Some("unhealthy.draining") => TargetHealthState::UnhealthyDraining,
        Some("unused") => TargetHealthState::Unused,
        Some("draining") => TargetHealthState::Draining,
        Some("unavailable") => TargetHealthState::Unavailable,
        _ => TargetHealthState::Initial,
    }
}

fn target_health(d: &sdk::TargetHealthDescription) -> TargetHealth {
    let health = d.target_health();
    TargetHealth {
        id: text(d.target().and_then(|t| t.id())),
        port: u32_of(d.target().and_then(|t| t.port())),
        state: health_state(health.and_then(|h| h.state())),
        reason: health
            .and_then(|h| h.reason())
            .map(|r| r.as_str().to_string()),
    }
}

impl Elbv2Api {
    /// The calls over `client`; `page_size` None uses the API's default page size.
    pub fn new(client: Client, page_size: Option<i32>, metrics: Arc<Elbv2Metrics>) -> Self {
        Elbv2Api {
            client,
            page_size,
            metrics,
        }
    }

    /// The counters every request is counted in.
    pub fn metrics(&self) -> &Arc<Elbv2Metrics> {
        &self.metrics
    }

    /// DescribeLoadBalancers: by names, by ARNs (each in batches of 20), or every load
    /// balancer when both are empty; every page.
    pub async fn describe_load_balancers(
        &self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        let mut out = Vec::new();
        let mut requests: Vec<(Batch, Batch)> = names
            .chunks(BATCH)
            .map(|c| (Some(c.to_vec()), None))
            .chain(arns.chunks(BATCH).map(|c| (None, Some(c.to_vec()))))
            .collect();
        if requests.is_empty() {
            requests.push((None, None));
        }
        for (names, arns) in requests {
            let mut marker = None;
            loop {
                self.metrics.call("DescribeLoadBalancers");
                let page = self
                    .client
                    .describe_load_balancers()
                    .set_names(names.clone())
                    .set_load_balancer_arns(arns.clone())
                    .set_page_size(self.page_size)
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| host_error("DescribeLoadBalancers", &e))?;
                out.extend(page.load_balancers().iter().map(load_balancer));
                marker = page.next_marker().map(str::to_string);
                if marker.is_none() {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// DescribeListeners of one load balancer, every page.
    pub async fn describe_listeners(&self, lb: &str) -> Result<Vec<Listener>, HostError> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            self.metrics.call("DescribeListeners");
            let page = self
                .client
                .describe_listeners()
                .load_balancer_arn(lb)
                .set_page_size(self.page_size)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| host_error("DescribeListeners", &e))?;
            out.extend(page.listeners().iter().map(listener));
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    /// DescribeRules of one listener, default rule included, every page.
    pub async fn describe_rules(&self, listener_arn: &str) -> Result<Vec<Rule>, HostError> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            self.metrics.call("DescribeRules");
            let page = self
                .client
                .describe_rules()
                .listener_arn(listener_arn)
                .set_page_size(self.page_size)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| host_error("DescribeRules", &e))?;
            out.extend(page.rules().iter().map(rule));
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    /// DescribeTargetGroups of a load balancer and/or by ARNs (in batches of 20), every page.
    pub async fn describe_target_groups(
        &self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        let mut requests: Vec<(Option<String>, Batch)> = arns
            .chunks(BATCH)
            .map(|c| (None, Some(c.to_vec())))
            .collect();
        if lb.is_some() || requests.is_empty() {
            requests.insert(0, (lb.map(str::to_string), None));
        }
        let mut out: Vec<TargetGroup> = Vec::new();
        for (lb, arns) in requests {
            let mut marker = None;
            loop {
                self.metrics.call("DescribeTargetGroups");
                let page = self
                    .client
                    .describe_target_groups()
                    .set_load_balancer_arn(lb.clone())
                    .set_target_group_arns(arns.clone())
                    .set_page_size(self.page_size)
                    .set_marker(marker)
                    .send()
                    .await
                    .map_err(|e| host_error("DescribeTargetGroups", &e))?;
                for tg in page.target_groups().iter().map(target_group) {
                    if !out.iter().any(|t| t.arn == tg.arn) {
                        out.push(tg);
                    }
                }
                marker = page.next_marker().map(str::to_string);
                if marker.is_none() {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// DescribeTags of any number of resources, 20 ARNs per request.
    pub async fn describe_tags(&self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        let mut out = Vec::new();
        for batch in arns.chunks(BATCH) {
            self.metrics.call("DescribeTags");
            let page = self
                .client
                .describe_tags()
                .set_resource_arns(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| host_error("DescribeTags", &e))?;
            out.extend(page.tag_descriptions().iter().map(|d| {
                ResourceTags {
                    resource_arn: text(d.resource_arn()),
                    tags: d
                        .tags()
                        .iter()
                        .map(|t| Tag {
                            key: text(t.key()),
                            value: text(t.value()),
                        })
                        .collect(),
                }
            }));
        }
        Ok(out)
    }

    /// DescribeTargetHealth of one target group (not paged by the API).
    pub async fn describe_target_health(&self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        self.metrics.call("DescribeTargetHealth");
        let out = self
            .client
            .describe_target_health()
            .target_group_arn(tg)
            .send()
            .await
            .map_err(|e| host_error("DescribeTargetHealth", &e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(target_health)
            .collect())
    }
}
