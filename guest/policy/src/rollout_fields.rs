//! The fields of an Argo Rollouts `Rollout` spec, as Argo's CRD has them, and what Albatross
//! does with each: reads it, refuses it by name (a feature it does not implement, see
//! [`crate::validate::unimplemented`]), or accepts it without effect (not yet implemented).
//! [`check_fields`] walks a Rollout's JSON against this table and names every key Argo does
//! not know (a typo: `scaleDownDelaySecond`, with the nearest known name) and every key it
//! accepts without effect; lint reports both as warnings (a Kubernetes object may carry
//! fields of a newer version), a scenario as errors.

use serde_json::Value;

use crate::suggest::nearest;

/// What Albatross does with an Argo Rollouts field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// Read, with Argo's meaning; its value is not looked into here.
    Read,
    /// Read; an object whose keys are those of the named type.
    Object(&'static str),
    /// Read; a list of objects of the named type.
    List(&'static str),
    /// Refused by validation, by name.
    Refused,
    /// Accepted, without effect (not implemented yet).
    Ignored,
}

use Field::{Ignored, List, Object, Read, Refused};

/// The keys of each object type of a Rollout spec, after Argo's `types.go`.
const TYPES: &[(&str, &[(&str, Field)])] = &[
    (
        "RolloutSpec",
        &[
            ("replicas", Read),
            ("selector", Read),
            ("template", Read),
            ("workloadRef", Refused),
            ("minReadySeconds", Ignored),
            ("rollbackWindow", Ignored),
            ("strategy", Object("RolloutStrategy")),
            ("revisionHistoryLimit", Ignored),
            ("paused", Read),
            ("progressDeadlineSeconds", Ignored),
            ("progressDeadlineAbort", Ignored),
            ("restartAt", Ignored),
            ("analysis", Ignored),
        ],
    ),
    (
        "RolloutStrategy",
        &[
            ("canary", Object("CanaryStrategy")),
            ("blueGreen", Object("BlueGreenStrategy")),
        ],
    ),
    (
        "CanaryStrategy",
        &[
            ("canaryService", Read),
            ("stableService", Read),
            ("steps", List("CanaryStep")),
            ("trafficRouting", Object("RolloutTrafficRouting")),
            ("maxUnavailable", Read),
            ("maxSurge", Read),
            ("analysis", Refused),
            ("antiAffinity", Refused),
            ("canaryMetadata", Refused),
            ("stableMetadata", Refused),
            ("scaleDownDelaySeconds", Read),
            ("scaleDownDelayRevisionLimit", Ignored),
            ("abortScaleDownDelaySeconds", Read),
            ("dynamicStableScale", Read),
            ("pingPong", Object("PingPongSpec")),
            ("minPodsPerReplicaSet", Read),
            ("replicaProgressThreshold", Ignored),
        ],
    ),
    (
        "BlueGreenStrategy",
        &[
            ("activeService", Read),
            ("previewService", Read),
            ("previewReplicaCount", Read),
            ("autoPromotionEnabled", Read),
            ("autoPromotionSeconds", Read),
            ("maxUnavailable", Ignored),
            ("scaleDownDelaySeconds", Read),
            ("scaleDownDelayRevisionLimit", Ignored),
            ("prePromotionAnalysis", Refused),
            ("antiAffinity", Refused),
            ("postPromotionAnalysis", Refused),
            ("previewMetadata", Refused),
            ("activeMetadata", Refused),
            ("abortScaleDownDelaySeconds", Ignored),
        ],
    ),
    (
        "RolloutTrafficRouting",
        &[
            ("alb", Object("ALBTrafficRouting")),
            ("istio", Refused),
            ("nginx", Refused),
            ("smi", Refused),
            ("ambassador", Refused),
            ("appMesh", Refused),
            ("traefik", Refused),
            ("apisix", Refused),
            ("plugins", Refused),
            ("managedRoutes", List("MangedRoutes")),
            ("maxTrafficWeight", Refused),
        ],
    ),
    (
        "ALBTrafficRouting",
        &[
            ("ingress", Read),
            ("ingresses", Read),
            ("servicePort", Read),
            ("rootService", Read),
            ("annotationPrefix", Read),
            ("stickinessConfig", Object("StickinessConfig")),
        ],
    ),
    (
        "CanaryStep",
        &[
            ("setWeight", Read),
            ("pause", Object("RolloutPause")),
            ("experiment", Refused),
            ("analysis", Refused),
            ("setCanaryScale", Object("SetCanaryScale")),
            ("setHeaderRoute", Object("SetHeaderRoute")),
            ("setMirrorRoute", Refused),
            ("plugin", Refused),
        ],
    ),
    ("RolloutPause", &[("duration", Read)]),
    (
        "SetCanaryScale",
        &[
            ("weight", Read),
            ("replicas", Read),
            ("matchTrafficWeight", Read),
        ],
    ),
    (
        "SetHeaderRoute",
        &[("name", Read), ("match", List("HeaderRoutingMatch"))],
    ),
    (
        "HeaderRoutingMatch",
        &[("headerName", Read), ("headerValue", Object("StringMatch"))],
    ),
    (
        "StringMatch",
        &[("exact", Read), ("prefix", Read), ("regex", Read)],
    ),
    (
        "StickinessConfig",
        &[("enabled", Read), ("durationSeconds", Read)],
    ),
    (
        "PingPongSpec",
        &[("pingService", Read), ("pongService", Read)],
    ),
    ("MangedRoutes", &[("name", Read)]),
];

/// What [`check_fields`] found at one path of a Rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldNote {
    /// A key Argo Rollouts does not have there, with the nearest one it has.
    Unknown {
        /// The path, e.g. `spec.strategy.canary.scaleDownDelaySecond`.
        path: String,
        /// The nearest known key, if one is close.
        nearest: Option<String>,
    },
    /// An Argo Rollouts field Albatross accepts without effect.
    Ignored {
        /// The path.
        path: String,
    },
}

impl FieldNote {
    /// The path the note is about.
    pub fn path(&self) -> &str {
        match self {
            FieldNote::Unknown { path, .. } | FieldNote::Ignored { path } => path,
        }
    }

    /// What to tell the user.
    pub fn message(&self) -> String {
        match self {
            FieldNote::Unknown { nearest, .. } => format!(
                "Argo Rollouts has no such field, so it is ignored{}",
                nearest
                    .as_ref()
                    .map_or(String::new(), |n| format!(" (did you mean {n}?)"))
            ),
            FieldNote::Ignored { .. } => {
                "Albatross does not implement this Argo Rollouts field yet: it has no effect".into()
            }
        }
    }
}

fn keys_of(type_name: &str) -> &'static [(&'static str, Field)] {
    TYPES
        .iter()
        .find(|(t, _)| *t == type_name)
        .map_or(&[], |(_, keys)| keys)
}

/// Every unknown and every ignored key of a Rollout's `spec`, in document order.
pub fn check_fields(rollout: &Value) -> Vec<FieldNote> {
    let mut notes = Vec::new();
    walk(&rollout["spec"], "RolloutSpec", "spec", &mut notes);
    notes
}

fn walk(value: &Value, type_name: &str, at: &str, out: &mut Vec<FieldNote>) {
    let Some(object) = value.as_object() else {
        return;
    };
    let keys = keys_of(type_name);
    for (key, child) in object {
        let path = format!("{at}.{key}");
        match keys.iter().find(|(k, _)| k == key).map(|(_, f)| *f) {
            None => out.push(FieldNote::Unknown {
                nearest: nearest(key, keys.iter().map(|(k, _)| *k)).map(str::to_string),
                path,
            }),
            Some(Ignored) => out.push(FieldNote::Ignored { path }),
            Some(Object(t)) => walk(child, t, &path, out),
            Some(List(t)) => {
                for (i, item) in child.as_array().into_iter().flatten().enumerate() {
                    walk(item, t, &format!("{path}[{i}]"), out);
                }
            }
            Some(Read | Refused) => {}
        }
    }
}
