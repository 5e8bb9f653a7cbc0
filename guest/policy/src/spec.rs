//! The Rollout model: the subset of Argo Rollouts' `argoproj.io/v1alpha1` Rollout that the
//! default strategy reads, with the same field names, parsed from JSON with errors that name
//! the offending field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Result, StrategyError};
use crate::status::RolloutStatus;

/// The annotation prefix the AWS Load Balancer Controller reads by default.
pub const DEFAULT_ANNOTATION_PREFIX: &str = "alb.ingress.kubernetes.io";

/// A Rollout: metadata, spec and (optional) status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    /// Name, namespace, labels, annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What the user asked for.
    #[serde(default)]
    pub spec: RolloutSpec,
    /// What the controller last wrote.
    #[serde(default)]
    pub status: RolloutStatus,
}

/// The part of Kubernetes object metadata the strategy reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// The object's name.
    #[serde(default)]
    pub name: String,
    /// The object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's uid, set by the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The generation of its spec, set by the API server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// The version the object was read at, set by the API server; a patch that carries it
    /// applies only over that version (409 otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// The object's labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The object's annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Set when the object is being deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
}

impl ObjectMeta {
    /// The namespace, `default` when it has none.
    pub fn namespace_or_default(&self) -> &str {
        self.namespace
            .as_deref()
            .filter(|ns| !ns.is_empty())
            .unwrap_or("default")
    }
}

/// The namespace of a Kubernetes object given as JSON, `default` when it has none.
pub fn namespace_of(value: &Value) -> &str {
    value
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty())
        .unwrap_or("default")
}

/// `spec` of a Rollout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// Desired pods; Kubernetes' default is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    /// The label selector of the Rollout's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Value>,
    /// The pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// canary or blueGreen.
    #[serde(default)]
    pub strategy: Strategy,
    /// Argo's `workloadRef`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_ref: Option<Value>,
    /// Argo's manual pause (`kubectl argo rollouts pause`, `albatross pause`): while set,
    /// nothing of the Rollout moves.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

impl RolloutSpec {
    /// `spec.replicas`, defaulting to 1 as Kubernetes does.
    pub fn replicas_or_default(&self) -> u32 {
        self.replicas
            .map(|r| u32::try_from(r.max(0)).unwrap_or(u32::MAX))
            .unwrap_or(1)
    }
}

/// `spec.strategy`: exactly one of canary or blueGreen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    /// The canary strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryStrategy>,
    /// The blue-green strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenStrategy>,
}

/// `spec.strategy.canary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStrategy {
    /// The service that selects canary pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_service: Option<String>,
    /// The service that selects stable pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_service: Option<String>,
    /// The steps of the rollout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<CanaryStep>,
    /// Argo's `analysis`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Value>,
    /// Argo's `antiAffinity`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<Value>,
    /// Argo's `canaryMetadata`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_metadata: Option<Value>,
    /// Argo's `stableMetadata`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_metadata: Option<Value>,
    /// How traffic is split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_routing: Option<TrafficRouting>,
    /// Two services that swap the stable and canary roles after each rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ping_pong: Option<PingPong>,
    /// Seconds to keep the old ReplicaSet after the switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<i64>,
    /// Seconds to keep the canary ReplicaSet after an abort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_scale_down_delay_seconds: Option<i64>,
    /// Scale the stable down as the canary weight rises.
    #[serde(default)]
    pub dynamic_stable_scale: bool,
    /// The fewest pods a ReplicaSet scaled for a weight keeps once it has any (capped at
    /// `spec.replicas`), so a low weight still has pods in more than one zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_pods_per_replica_set: Option<i64>,
    /// Pods above the desired count during the update (number or percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    /// Pods that may be unavailable during the update (number or percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
}

/// A Kubernetes int-or-string (`3` or `"25%"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// A whole number.
    Int(i64),
    /// A string, usually a percentage.
    String(String),
}

/// One canary step: exactly one of its fields is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStep {
    /// Send this percentage of traffic to the canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_weight: Option<i64>,
    /// Wait, for a duration or until promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Pause>,
    /// Argo's `analysis`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Value>,
    /// Argo's `experiment`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<Value>,
    /// Argo's `setMirrorRoute` (traffic mirroring, which ALB cannot do; refused by
    /// validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_mirror_route: Option<Value>,
    /// Argo's `plugin` step, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<Value>,
    /// Scale the canary independently of its traffic weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_canary_scale: Option<SetCanaryScale>,
    /// Route requests that match headers to the canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_header_route: Option<SetHeaderRoute>,
}

/// A pause step; without a duration it lasts until the Rollout is promoted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pause {
    /// Seconds as a number, or a duration string such as `30s`, `5m`, `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<IntOrString>,
}

/// A setCanaryScale step: one of weight, replicas or matchTrafficWeight.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetCanaryScale {
    /// Canary pods as a percentage of spec.replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    /// Canary pods as a count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i64>,
    /// Go back to scaling the canary by its traffic weight.
    #[serde(default)]
    pub match_traffic_weight: bool,
}

/// A setHeaderRoute step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetHeaderRoute {
    /// The route's name; it must be listed in trafficRouting.managedRoutes.
    #[serde(default)]
    pub name: String,
    /// The header matches; a request that matches all of them goes to the canary. Empty
    /// removes the route.
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<HeaderMatch>,
}

/// One header match of a setHeaderRoute step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderMatch {
    /// The header name.
    #[serde(default)]
    pub header_name: String,
    /// How the value must match.
    #[serde(default)]
    pub header_value: StringMatch,
}

/// A string match: exactly one of exact, prefix or regex.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StringMatch {
    /// The value, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// The value starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The value matches this regular expression (not expressible on an ALB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
}

/// `spec.strategy.canary.trafficRouting`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficRouting {
    /// The ALB configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alb: Option<AlbTrafficRouting>,
    /// Argo's `nginx`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx: Option<Value>,
    /// Argo's `istio`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub istio: Option<Value>,
    /// Argo's `smi`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smi: Option<Value>,
    /// Argo's `ambassador`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambassador: Option<Value>,
    /// Argo's `appMesh`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_mesh: Option<Value>,
    /// Argo's `traefik`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traefik: Option<Value>,
    /// Argo's `apisix`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apisix: Option<Value>,
    /// Argo's `plugins`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<Value>,
    /// The header routes the steps may set, in priority order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_routes: Vec<ManagedRoute>,
    /// Argo's `maxTrafficWeight` (the total weight is this, not 100): refused with ALB, as
    /// Argo refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_traffic_weight: Option<i64>,
}

/// One entry of trafficRouting.managedRoutes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ManagedRoute {
    /// The route's name.
    #[serde(default)]
    pub name: String,
}

/// `spec.strategy.canary.trafficRouting.alb`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbTrafficRouting {
    /// The one Ingress (exclusive with `ingresses`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<String>,
    /// Several Ingresses (exclusive with `ingress`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingresses: Vec<String>,
    /// The service whose action annotation is written; defaults to the stable service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_service: Option<String>,
    /// The service port the target groups use.
    #[serde(default)]
    pub service_port: i64,
    /// The annotation prefix the AWS Load Balancer Controller reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_prefix: Option<String>,
    /// Target group stickiness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness_config: Option<StickinessConfig>,
}

impl AlbTrafficRouting {
    /// The Ingresses this Rollout routes through, `ingress` or `ingresses`.
    pub fn ingress_names(&self) -> Vec<&str> {
        match &self.ingress {
            Some(one) => vec![one.as_str()],
            None => self.ingresses.iter().map(String::as_str).collect(),
        }
    }

    /// The annotation prefix, or the controller's default.
    pub fn prefix(&self) -> &str {
        self.annotation_prefix
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_ANNOTATION_PREFIX)
    }
}

/// `trafficRouting.alb.stickinessConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StickinessConfig {
    /// Whether stickiness is on.
    #[serde(default)]
    pub enabled: bool,
    /// How long it lasts, 1..604800 seconds.
    #[serde(default)]
    pub duration_seconds: i64,
}

/// `spec.strategy.canary.pingPong`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PingPong {
    /// The "ping" service.
    #[serde(default)]
    pub ping_service: String,
    /// The "pong" service.
    #[serde(default)]
    pub pong_service: String,
}

/// `spec.strategy.blueGreen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenStrategy {
    /// The service production traffic goes to.
    #[serde(default)]
    pub active_service: String,
    /// The service that reaches the new version before promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_service: Option<String>,
    /// Argo's `prePromotionAnalysis`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_promotion_analysis: Option<Value>,
    /// Argo's `postPromotionAnalysis`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_promotion_analysis: Option<Value>,
    /// Argo's `antiAffinity`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anti_affinity: Option<Value>,
    /// Argo's `activeMetadata`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_metadata: Option<Value>,
    /// Argo's `previewMetadata`, which Albatross does not implement (refused by validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_metadata: Option<Value>,
    /// Promote without a person; Argo's default is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promotion_enabled: Option<bool>,
    /// Seconds to wait before promoting automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promotion_seconds: Option<i64>,
    /// Seconds to keep the old ReplicaSet after the switch (Argo's default is 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down_delay_seconds: Option<i64>,
    /// Pods of the new version before promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_replica_count: Option<i64>,
}

/// Parses a Kubernetes object of `kind` from JSON: a syntax error is `malformed`, a type error
/// an `invalid-spec` that names the field's path.
pub fn parse_object<T: serde::de::DeserializeOwned>(json: &str, kind: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." {
            StrategyError::Malformed(format!("{kind} is not valid JSON: {inner}"))
        } else {
            // The object is named when its metadata reads; the position is left out, since it
            // is one in this JSON text, not in the file the user wrote.
            let object = serde_json::from_str::<Value>(json)
                .ok()
                .map_or(kind.to_string(), |v| {
                    match (
                        v["metadata"]["namespace"].as_str(),
                        v["metadata"]["name"].as_str(),
                    ) {
                        (Some(ns), Some(name)) => format!("{kind} {ns}/{name}"),
                        (None, Some(name)) => format!("{kind} {name}"),
                        _ => kind.to_string(),
                    }
                });
            let message = inner.to_string();
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_string(),
                None => message,
            };
            StrategyError::field(&object, path, message)
        }
    })
}

impl Rollout {
    /// Parses a Rollout from JSON; a type error names the field it is in.
    pub fn from_json(json: &str) -> Result<Self> {
        parse_object(json, "Rollout")
    }

    /// `Rollout namespace/name`, for error messages.
    pub fn display_name(&self) -> String {
        match &self.metadata.namespace {
            Some(ns) if !ns.is_empty() => format!("Rollout {ns}/{}", self.metadata.name),
            _ => format!("Rollout {}", self.metadata.name),
        }
    }

    /// The canary strategy, or an error naming `spec.strategy.canary`.
    pub fn canary(&self) -> Result<&CanaryStrategy> {
        self.spec.strategy.canary.as_ref().ok_or_else(|| {
            StrategyError::field(
                &self.display_name(),
                "spec.strategy.canary",
                "this function needs a canary strategy",
            )
        })
    }

    /// The ALB traffic routing of the canary strategy, or an error naming the field.
    pub fn alb(&self) -> Result<&AlbTrafficRouting> {
        self.canary()?
            .traffic_routing
            .as_ref()
            .and_then(|t| t.alb.as_ref())
            .ok_or_else(|| {
                StrategyError::field(
                    &self.display_name(),
                    "spec.strategy.canary.trafficRouting.alb",
                    "Albatross shifts canary traffic through an ALB: set trafficRouting.alb",
                )
            })
    }
}
