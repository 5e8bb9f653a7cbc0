//! Which Rollouts an object concerns, so a change to a Service, an Ingress, an EndpointSlice
//! or a TargetGroupBinding wakes exactly the Rollouts that reference it (in its namespace):
//! the Services a Rollout names (canary, stable, root, ping, pong, active, preview) and the
//! Ingresses its ALB routing names, looked up in a [`ReferenceIndex`] the passes keep.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use kube::api::{ApiResource, DynamicObject};
use kube::runtime::reflector::ObjectRef;
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

/// What each Rollout references, and the inverse: the Rollouts that reference a Service or
/// an Ingress. Kept up to date by the passes (each pass records the Rollout it reconciles), so
/// mapping an event is a lookup, not a scan of every Rollout (a scan made the controller
/// quadratic in the number of Rollouts). A Rollout not recorded yet is about to get its first
/// pass anyway (its own watch event), which reads every object as it is then.
#[derive(Debug, Default)]
pub struct ReferenceIndex {
    inner: Mutex<Index>,
}

#[derive(Debug, Default)]
struct Index {
    /// `(namespace, rollout)` to what it references.
    of: HashMap<(String, String), References>,
    /// `(namespace, service)` to the Rollouts naming it.
    services: HashMap<(String, String), BTreeSet<String>>,
    /// `(namespace, ingress)` to the Rollouts naming it.
    ingresses: HashMap<(String, String), BTreeSet<String>>,
}

impl Index {
    fn unlink(&mut self, ns: &str, rollout: &str) {
        let Some(old) = self.of.remove(&(ns.to_string(), rollout.to_string())) else {
            return;
        };
        for (names, map) in [
            (&old.services, &mut self.services),
            (&old.ingresses, &mut self.ingresses),
        ] {
            for name in names {
                let key = (ns.to_string(), name.clone());
                if let Some(set) = map.get_mut(&key) {
                    set.remove(rollout);
                    if set.is_empty() {
                        map.remove(&key);
                    }
                }
            }
        }
    }
}

impl ReferenceIndex {
    fn index(&self) -> MutexGuard<'_, Index> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records what Rollout `name` in `ns` (its JSON, or a DynamicObject's `data`) references.
    pub fn record(&self, ns: &str, name: &str, rollout: &Value) {
        let refs = references(rollout);
        let mut index = self.index();
        if index.of.get(&(ns.to_string(), name.to_string())) == Some(&refs) {
            return;
        }
        index.unlink(ns, name);
        for s in &refs.services {
            index
                .services
                .entry((ns.to_string(), s.clone()))
                .or_default()
                .insert(name.to_string());
        }
        for i in &refs.ingresses {
            index
                .ingresses
                .entry((ns.to_string(), i.clone()))
                .or_default()
                .insert(name.to_string());
        }
        index.of.insert((ns.to_string(), name.to_string()), refs);
    }

    /// Forgets a Rollout that is gone.
    pub fn forget(&self, ns: &str, name: &str) {
        self.index().unlink(ns, name);
    }

    /// The Rollouts an object of `kind` concerns: a Service by its name, an Ingress by its
    /// name, an EndpointSlice by its `kubernetes.io/service-name` label, a
    /// TargetGroupBinding by its `spec.serviceRef.name`.
    pub fn rollouts_for(
        &self,
        ar: &ApiResource,
        kind: &str,
        object: &DynamicObject,
    ) -> Vec<ObjectRef<DynamicObject>> {
        let Some(namespace) = object.metadata.namespace.as_deref() else {
            return Vec::new();
        };
        let name = object.metadata.name.clone().unwrap_or_default();
        let index = self.index();
        let (map, key) = match kind {
            "Ingress" => (&index.ingresses, Some(name)),
            "EndpointSlice" => (
                &index.services,
                object
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name"))
                    .cloned(),
            ),
            "TargetGroupBinding" => (
                &index.services,
                object.data["spec"]["serviceRef"]["name"]
                    .as_str()
                    .map(str::to_string),
            ),
            _ => (&index.services, Some(name)),
        };
        key.and_then(|k| map.get(&(namespace.to_string(), k)))
            .into_iter()
            .flatten()
            .map(|r| ObjectRef::new_with(r, ar.clone()).within(namespace))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rollout(canary: &str, ingress: &str) -> Value {
        json!({"spec": {"strategy": {"canary": {"canaryService": canary, "stableService": "stable",
            "trafficRouting": {"alb": {"ingress": ingress, "rootService": "root"}}}}}})
    }

    fn object(kind: &str, name: &str, data: Value) -> DynamicObject {
        let ar = crate::backend::kube::resource("v1", kind, "x");
        let mut o = DynamicObject::new(name, &ar).within("shop").data(data);
        if kind == "EndpointSlice" {
            o.metadata.labels = Some(
                [(
                    "kubernetes.io/service-name".to_string(),
                    "stable".to_string(),
                )]
                .into(),
            );
        }
        o
    }

    fn names(v: Vec<ObjectRef<DynamicObject>>) -> Vec<String> {
        v.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn events_map_to_the_rollouts_that_name_the_object_and_follow_their_edits() {
        let index = ReferenceIndex::default();
        let ar = crate::backend::kube::resource("argoproj.io/v1alpha1", "Rollout", "rollouts");
        index.record("shop", "a", &rollout("canary-a", "web"));
        index.record("shop", "b", &rollout("canary-b", "web"));
        index.record("other", "c", &rollout("canary-a", "web"));
        let svc = |n: &str| object("Service", n, json!({}));
        assert_eq!(
            names(index.rollouts_for(&ar, "Service", &svc("canary-a"))),
            ["a"]
        );
        assert_eq!(
            names(index.rollouts_for(&ar, "Service", &svc("stable"))),
            ["a", "b"]
        );
        assert_eq!(
            names(index.rollouts_for(&ar, "Ingress", &object("Ingress", "web", json!({})))),
            ["a", "b"]
        );
        assert_eq!(
            names(index.rollouts_for(
                &ar,
                "EndpointSlice",
                &object("EndpointSlice", "s-1", json!({}))
            )),
            ["a", "b"]
        );
        let tgb = object(
            "TargetGroupBinding",
            "t",
            json!({"spec": {"serviceRef": {"name": "root"}}}),
        );
        assert_eq!(
            names(index.rollouts_for(&ar, "TargetGroupBinding", &tgb)),
            ["a", "b"]
        );
        // An edit moves Rollout a to another canary Service; a deleted b is forgotten.
        index.record("shop", "a", &rollout("canary-new", "web"));
        assert!(
            index
                .rollouts_for(&ar, "Service", &svc("canary-a"))
                .is_empty()
        );
        assert_eq!(
            names(index.rollouts_for(&ar, "Service", &svc("canary-new"))),
            ["a"]
        );
        index.forget("shop", "b");
        assert_eq!(
            names(index.rollouts_for(&ar, "Service", &svc("stable"))),
            ["a"]
        );
        assert!(
            !index
                .index()
                .services
                .contains_key(&("shop".to_string(), "canary-b".to_string()))
        );
    }
}
