//! ELBv2 records as the `elbv2` import returns them (load balancers, listeners, rules, target
//! groups, tags, target health): the native mirror of the WIT records, field for field.

use serde::{Deserialize, Serialize};

/// A load balancer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancer {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its DNS name.
    pub dns_name: String,
    /// `application`, `network` or `gateway`.
    pub load_balancer_type: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its state.
    pub state: String,
}

/// A listener.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// Its ARN.
    pub arn: String,
    /// Its load balancer's ARN.
    pub load_balancer_arn: String,
    /// The port.
    pub port: u32,
    /// The protocol.
    pub protocol: String,
}

/// A target group inside a weighted forward action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedTargetGroup {
    /// The target group's ARN.
    pub target_group_arn: String,
    /// Its weight; absent means 1.
    pub weight: Option<u32>,
}

/// The forward configuration of a rule action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardConfig {
    /// The weighted target groups.
    pub target_groups: Vec<WeightedTargetGroup>,
    /// Stickiness on?
    pub stickiness_enabled: bool,
    /// Stickiness duration.
    pub stickiness_duration_seconds: Option<u32>,
}

/// One action of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAction {
    /// The action type.
    pub action_type: String,
    /// Its order.
    pub order: Option<u32>,
    /// The single target group of a simple forward.
    pub target_group_arn: Option<String>,
    /// The weighted forward configuration.
    pub forward: Option<ForwardConfig>,
}

/// One rule condition, flattened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCondition {
    /// The condition field.
    pub field: String,
    /// The header name for `http-header`.
    pub http_header_name: Option<String>,
    /// The values.
    pub values: Vec<String>,
}

/// A listener rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Its ARN.
    pub arn: String,
    /// Its priority or `default`.
    pub priority: String,
    /// The default rule?
    pub is_default: bool,
    /// Its conditions.
    pub conditions: Vec<RuleCondition>,
    /// Its actions.
    pub actions: Vec<RuleAction>,
}

/// A target group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroup {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `ip` or `instance` (or `lambda`, `alb`).
    pub target_type: String,
    /// Its port.
    pub port: Option<u32>,
    /// Its protocol.
    pub protocol: Option<String>,
    /// Its VPC.
    pub vpc_id: Option<String>,
    /// The load balancers routing to it.
    pub load_balancer_arns: Vec<String>,
}

/// One tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// The tags of one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceTags {
    /// The resource's ARN.
    pub resource_arn: String,
    /// Its tags.
    pub tags: Vec<Tag>,
}

/// A registered target's health state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetHealthState {
    /// Registering.
    Initial,
    /// Healthy.
    Healthy,
    /// Unhealthy.
    Unhealthy,
    /// Unhealthy and being deregistered.
    UnhealthyDraining,
    /// No rule forwards to its target group.
    Unused,
    /// Being deregistered.
    Draining,
    /// Health checks disabled.
    Unavailable,
}

impl TargetHealthState {
    /// Whether a target in this state is on its way out of the target group.
    pub fn is_leaving(self) -> bool {
        matches!(
            self,
            TargetHealthState::Draining | TargetHealthState::UnhealthyDraining
        )
    }
}

/// A registered target and its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealth {
    /// The IP or instance id.
    pub id: String,
    /// The port.
    pub port: Option<u32>,
    /// The health state.
    pub state: TargetHealthState,
    /// The reason code.
    pub reason: Option<String>,
}
