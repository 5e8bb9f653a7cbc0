//! Which Rollouts an object concerns, so a change to a Service, an Ingress, an EndpointSlice
//! or a TargetGroupBinding wakes exactly the Rollouts that reference it (in its namespace):
//! the Services a Rollout names (canary, stable, root, ping, pong, active, preview) and the
//! Ingresses its ALB routing names.

use std::sync::Arc;

use kube::api::{ApiResource, DynamicObject};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::Value;

/// The Services and Ingresses a Rollout references, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// Service names.
    pub services: Vec<String>,
    /// Ingress names.
    pub ingresses: Vec<String>,
}

/// What a Rollout references, from its JSON (or a DynamicObject's `data`: anything with
/// `spec`).
pub fn references(rollout: &Value) -> References {
    let strategy = &rollout["spec"]["strategy"];
    let canary = &strategy["canary"];
    let alb = &canary["trafficRouting"]["alb"];
    let names = |values: &[&Value]| -> Vec<String> {
        values
            .iter()
            .filter_map(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let services = names(&[
        &canary["canaryService"],
        &canary["stableService"],
        &alb["rootService"],
        &canary["pingPong"]["pingService"],
        &canary["pingPong"]["pongService"],
        &strategy["blueGreen"]["activeService"],
        &strategy["blueGreen"]["previewService"],
    ]);
    let mut ingresses = names(&[&alb["ingress"]]);
    if let Some(list) = alb["ingresses"].as_array() {
        ingresses.extend(names(&list.iter().collect::<Vec<_>>()));
    }
    References {
        services,
        ingresses,
    }
}

/// The Rollouts of `store` in `namespace` for which `wants` holds of their references.
fn rollouts_where(
    store: &Store<DynamicObject>,
    ar: &ApiResource,
    namespace: &str,
    wants: impl Fn(&References) -> bool,
) -> Vec<ObjectRef<DynamicObject>> {
    store
        .state()
        .iter()
        .filter(|r| r.metadata.namespace.as_deref() == Some(namespace))
        .filter(|r| wants(&references(&r.data)))
        .map(|r| {
            ObjectRef::new_with(r.metadata.name.as_deref().unwrap_or_default(), ar.clone())
                .within(namespace)
        })
        .collect()
}

/// The Rollouts an object of `kind` concerns: a Service by its name, an Ingress by its name,
/// an EndpointSlice by its `kubernetes.io/service-name` label, a TargetGroupBinding by its
/// `spec.serviceRef.name`.
pub fn rollouts_for(
    store: &Store<DynamicObject>,
    ar: &ApiResource,
    kind: &str,
    object: &Arc<DynamicObject>,
) -> Vec<ObjectRef<DynamicObject>> {
    let Some(namespace) = object.metadata.namespace.as_deref() else {
        return Vec::new();
    };
    let name = object.metadata.name.clone().unwrap_or_default();
    let service = match kind {
        "Ingress" => {
            return rollouts_where(store, ar, namespace, |r| r.ingresses.contains(&name));
        }
        "EndpointSlice" => object
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/service-name"))
            .cloned(),
        "TargetGroupBinding" => object.data["spec"]["serviceRef"]["name"]
            .as_str()
            .map(str::to_string),
        _ => Some(name),
    };
    match service {
        Some(service) => rollouts_where(store, ar, namespace, |r| r.services.contains(&service)),
        None => Vec::new(),
    }
}
