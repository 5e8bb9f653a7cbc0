//! The ALB action annotation: `<prefix>/actions.<rootService or stableService>`, written byte
//! for byte as Argo Rollouts writes it (so two controllers diffing one Ingress agree), and read
//! the way the AWS Load Balancer Controller reads it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, StrategyError};
use crate::gojson::{self, get_ci};
use crate::pingpong::service_roles;
use crate::spec::{Rollout, StickinessConfig};

/// One annotation on a Kubernetes object (the WIT `annotation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// The annotation key.
    pub key: String,
    /// The annotation value.
    pub value: String,
}

/// One target group of a parsed forward action (the WIT `action-target-group`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionTargetGroup {
    /// The Kubernetes service, when given by service.
    pub service_name: Option<String>,
    /// The service port (number or name) as a string.
    pub service_port: Option<String>,
    /// A target group given by ARN.
    pub target_group_arn: Option<String>,
    /// A target group given by name.
    pub target_group_name: Option<String>,
    /// Its weight.
    pub weight: Option<u32>,
}

/// Stickiness of a parsed forward action (the WIT `action-stickiness`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionStickiness {
    /// Whether stickiness is on.
    pub enabled: bool,
    /// How long, in seconds.
    pub duration_seconds: Option<u32>,
}

/// A parsed forward action (the WIT `forward-action`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardAction {
    /// The target groups, in annotation order.
    pub target_groups: Vec<ActionTargetGroup>,
    /// Stickiness, if configured.
    pub stickiness: Option<ActionStickiness>,
}

/// The largest weight ELBv2 accepts for a target group in a forward action.
pub const MAX_ELB_WEIGHT: u32 = 999;

// The wire shape Argo Rollouts writes. Field order is the serialization order.
#[derive(Serialize)]
struct ArgoAction<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(rename = "ForwardConfig")]
    forward_config: ArgoForwardConfig<'a>,
}

#[derive(Serialize)]
struct ArgoForwardConfig<'a> {
    #[serde(rename = "TargetGroups")]
    target_groups: Vec<ArgoTargetGroup<'a>>,
    #[serde(
        rename = "TargetGroupStickinessConfig",
        skip_serializing_if = "Option::is_none"
    )]
    stickiness: Option<ArgoStickiness>,
}

#[derive(Serialize)]
struct ArgoTargetGroup<'a> {
    #[serde(rename = "ServiceName")]
    service_name: &'a str,
    #[serde(rename = "ServicePort")]
    service_port: String,
    #[serde(rename = "Weight")]
    weight: u32,
}

#[derive(Serialize)]
struct ArgoStickiness {
    #[serde(rename = "Enabled")]
    enabled: bool,
    #[serde(rename = "DurationSeconds")]
    duration_seconds: i64,
}

/// The weighted destinations of one forward action, in the order they are written.
pub struct Destinations<'a> {
    /// (service, weight) pairs; Argo writes the canary first and the stable last.
    pub services: &'a [(&'a str, u32)],
    /// The service port every destination uses.
    pub port: i64,
    /// The Rollout's stickiness configuration.
    pub stickiness: Option<&'a StickinessConfig>,
}

/// The compact JSON value of a forward action over `dest`, as Argo Rollouts writes it.
pub fn action_value(dest: &Destinations<'_>) -> String {
    let action = ArgoAction {
        kind: "forward",
        forward_config: ArgoForwardConfig {
            target_groups: dest
                .services
                .iter()
                .map(|(service_name, weight)| ArgoTargetGroup {
                    service_name,
                    service_port: dest.port.to_string(),
                    weight: *weight,
                })
                .collect(),
            stickiness: dest
                .stickiness
                .filter(|s| s.enabled)
                .map(|s| ArgoStickiness {
                    enabled: true,
                    duration_seconds: s.duration_seconds,
                }),
        },
    };
    // Serializing plain structs of strings and integers cannot fail.
    serde_json::to_string(&action).unwrap_or_default()
}

/// The service whose action annotation the Rollout writes: rootService, else stableService.
pub fn action_service(rollout: &Rollout) -> Result<String> {
    let alb = rollout.alb()?;
    if let Some(root) = alb.root_service.as_deref().filter(|r| !r.is_empty()) {
        return Ok(root.to_string());
    }
    rollout
        .canary()?
        .stable_service
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            StrategyError::field(
                &rollout.display_name(),
                "spec.strategy.canary.stableService",
                "the action annotation is named after rootService or stableService; set one",
            )
        })
}

/// `<prefix>/actions.<rootService or stableService>`.
pub fn action_key(rollout: &Rollout) -> Result<String> {
    Ok(format!(
        "{}/actions.{}",
        rollout.alb()?.prefix(),
        action_service(rollout)?
    ))
}

/// The action annotation that puts `canary_weight` percent on the canary and the rest on the
/// stable (ping-pong roles applied).
pub fn build_action(rollout: &Rollout, canary_weight: u32) -> Result<Annotation> {
    if canary_weight > 100 {
        return Err(StrategyError::field(
            &rollout.display_name(),
            "canaryWeight",
            format!("must be 0..100, got {canary_weight}"),
        ));
    }
    let alb = rollout.alb()?;
    let roles = service_roles(rollout)?;
    let value = action_value(&Destinations {
        services: &[
            (roles.canary_service.as_str(), canary_weight),
            (roles.stable_service.as_str(), 100 - canary_weight),
        ],
        port: alb.service_port,
        stickiness: alb.stickiness_config.as_ref(),
    });
    Ok(Annotation {
        key: action_key(rollout)?,
        value,
    })
}

fn malformed(msg: impl Into<String>) -> StrategyError {
    StrategyError::Malformed(msg.into())
}

fn opt_string(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>> {
    match get_ci(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(malformed(format!(
            "{at}.{key} must be a string, got {other}"
        ))),
    }
}

fn opt_u32(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<u32>> {
    match get_ci(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| malformed(format!("{at}.{key} must be a whole number ≥ 0, got {v}"))),
    }
}

/// Parses an `actions.<name>` value of type forward, accepting what the AWS Load Balancer
/// Controller accepts and refusing what it refuses: keys in any case (of keys that differ only
/// in case, the last in the text wins), ServicePort as number or string, a target group by
/// TargetGroupARN or TargetGroupName instead of a service (with both, the ARN wins), the
/// single-target-group forms `{"Type":"forward","TargetGroupArn":"..."}` and
/// `{"Type":"forward","TargetGroupName":"..."}`; with two or more target groups each one needs
/// a weight.
pub fn parse_action(value: &str) -> Result<ForwardAction> {
    let root: Value = gojson::parse(value)
        .map_err(|e| malformed(format!("action annotation is not JSON: {e}")))?;
    let obj = root
        .as_object()
        .ok_or_else(|| malformed("action annotation must be a JSON object"))?;
    let kind = opt_string(obj, "Type", "action")?
        .ok_or_else(|| malformed("action annotation has no Type"))?;
    if kind != "forward" {
        return Err(malformed(format!(
            "action Type is {kind:?}; only forward actions split traffic"
        )));
    }
    let single = match (
        opt_string(obj, "TargetGroupARN", "action")?,
        opt_string(obj, "TargetGroupName", "action")?,
    ) {
        (Some(arn), _) => Some(ActionTargetGroup {
            target_group_arn: Some(arn),
            ..Default::default()
        }),
        (None, Some(name)) => Some(ActionTargetGroup {
            target_group_name: Some(name),
            ..Default::default()
        }),
        (None, None) => None,
    };
    let forward = match get_ci(obj, "ForwardConfig") {
        None => None,
        Some(Value::Object(f)) => Some(f),
        Some(other) => {
            return Err(malformed(format!(
                "action.ForwardConfig must be an object, got {other}"
            )));
        }
    };
    match (single, forward) {
        (Some(_), Some(_)) => Err(malformed(
            "action sets both TargetGroupARN/TargetGroupName and ForwardConfig; set one",
        )),
        (None, None) => Err(malformed(
            "forward action needs ForwardConfig or TargetGroupARN/TargetGroupName",
        )),
        (Some(group), None) => Ok(ForwardAction {
            target_groups: vec![group],
            stickiness: None,
        }),
        (None, Some(f)) => parse_forward_config(f),
    }
}

fn parse_forward_config(f: &Map<String, Value>) -> Result<ForwardAction> {
    let groups = match get_ci(f, "TargetGroups") {
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(malformed(format!(
                "ForwardConfig.TargetGroups must be a list, got {other}"
            )));
        }
        None => return Err(malformed("ForwardConfig has no TargetGroups")),
    };
    let target_groups = groups
        .iter()
        .enumerate()
        .map(|(i, g)| parse_target_group(i, g))
        .collect::<Result<Vec<_>>>()?;
    if target_groups.len() > 1
        && let Some(i) = target_groups.iter().position(|g| g.weight.is_none())
    {
        return Err(malformed(format!(
            "ForwardConfig.TargetGroups[{i}] has no Weight: every target group needs one when \
             the action forwards to {} of them",
            target_groups.len()
        )));
    }
    let stickiness = match get_ci(f, "TargetGroupStickinessConfig") {
        None => None,
        Some(Value::Object(s)) => {
            let at = "ForwardConfig.TargetGroupStickinessConfig";
            let enabled = match get_ci(s, "Enabled") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(malformed(format!(
                        "{at}.Enabled must be true or false, got {other}"
                    )));
                }
            };
            Some(ActionStickiness {
                enabled,
                duration_seconds: opt_u32(s, "DurationSeconds", at)?,
            })
        }
        Some(other) => {
            return Err(malformed(format!(
                "ForwardConfig.TargetGroupStickinessConfig must be an object, got {other}"
            )));
        }
    };
    Ok(ForwardAction {
        target_groups,
        stickiness,
    })
}

fn parse_target_group(i: usize, g: &Value) -> Result<ActionTargetGroup> {
    let at = format!("ForwardConfig.TargetGroups[{i}]");
    let g = g
        .as_object()
        .ok_or_else(|| malformed(format!("{at} must be an object, got {g}")))?;
    let service_port = match get_ci(g, "ServicePort") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) if n.as_u64().is_some() => Some(n.to_string()),
        Some(other) => {
            return Err(malformed(format!(
                "{at}.ServicePort must be a port number or name, got {other}"
            )));
        }
    };
    let target_group_arn = opt_string(g, "TargetGroupARN", &at)?;
    let tg = ActionTargetGroup {
        service_name: opt_string(g, "ServiceName", &at)?,
        service_port,
        // With both an ARN and a name the ARN wins, as the controller resolves it.
        target_group_name: match target_group_arn {
            Some(_) => None,
            None => opt_string(g, "TargetGroupName", &at)?,
        },
        target_group_arn,
        weight: opt_u32(g, "Weight", &at)?,
    };
    let by_group = tg.target_group_arn.is_some() || tg.target_group_name.is_some();
    if tg.service_name.is_some() == by_group {
        return Err(malformed(format!(
            "{at} must name either ServiceName or TargetGroupARN/TargetGroupName"
        )));
    }
    if tg.service_name.is_some() && tg.service_port.is_none() {
        return Err(malformed(format!(
            "{at} has ServiceName but no ServicePort"
        )));
    }
    if let Some(w) = tg.weight
        && w > MAX_ELB_WEIGHT
    {
        return Err(malformed(format!(
            "{at}.Weight must be 0..{MAX_ELB_WEIGHT}, got {w}"
        )));
    }
    Ok(tg)
}
