//! The world's typed views of the objects its own controllers and the runner watch
//! (Rollouts, ReplicaSets, Pods, Services, Endpoints, Ingresses), the way informers keep them: each object parsed once per
//! change, read from the store's change log ([`Store::changed_since`]), and the pods indexed
//! by owner and by label so a controller looks up what it needs instead of listing and parsing
//! a namespace. The strategy still reads the store's JSON text through its imports.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::labels::{label_map, selector_matches};
use crate::store::Store;

/// A namespace and a name.
pub type Name = (String, String);

/// What the ReplicaSet controller reads of a ReplicaSet.
#[derive(Debug, Clone, PartialEq)]
pub struct RsView {
    /// `spec.replicas`.
    pub want: u64,
    /// The name of its first owner (empty without one).
    pub owner: String,
    /// `status.replicas`, `status.readyReplicas`, `status.availableReplicas` as stored.
    pub status: [Value; 3],
    /// The whole object, for what is read rarely (the pod template, at pod creation).
    pub object: Value,
}

/// What the controllers read of a pod.
#[derive(Debug, Clone, PartialEq)]
pub struct PodView {
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The name of its first owner.
    pub owner: Option<String>,
    /// `status.podIP`.
    pub ip: Value,
    /// Whether its first condition is `Ready: True`.
    pub ready: bool,
    /// `(status.phase, ready)` when its status is exactly what the world writes (a phase and
    /// the one Ready condition): a readiness write that would change nothing is skipped.
    pub written: Option<(String, bool)>,
}

/// A Service, parsed, with its selector.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceView {
    /// `spec.selector`.
    pub selector: BTreeMap<String, String>,
    /// Whether a port targets a container port by name (the Endpoints then need a pod).
    pub named_target_port: bool,
    /// The whole object.
    pub object: Value,
}

/// Endpoints, parsed, with their IPs.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointsView {
    /// The ready and the not-ready addresses' IPs.
    pub ips: (Vec<String>, Vec<String>),
    /// The whole object.
    pub object: Value,
}

/// Every view, and the store version they are up to date with.
#[derive(Debug, Clone, Default)]
pub struct Views {
    seen: u64,
    /// Rollouts.
    pub rollouts: BTreeMap<Name, Value>,
    /// ReplicaSets.
    pub replicasets: BTreeMap<Name, RsView>,
    /// ReplicaSet names by (namespace, owner).
    rs_by_owner: BTreeMap<Name, BTreeSet<String>>,
    /// Pods.
    pub pods: BTreeMap<Name, PodView>,
    /// Services.
    pub services: BTreeMap<Name, ServiceView>,
    /// Endpoints.
    pub endpoints: BTreeMap<Name, EndpointsView>,
    /// Ingresses.
    pub ingresses: BTreeMap<Name, Value>,
    /// Pod names by (namespace, owner).
    by_owner: BTreeMap<Name, BTreeSet<String>>,
    /// Pod names by (namespace, label key, label value).
    by_label: BTreeMap<(String, String, String), BTreeSet<String>>,
    /// Service names by (namespace, selector key, selector value).
    services_by_selector: BTreeMap<(String, String, String), BTreeSet<String>>,
    /// The Services whose Endpoints may have changed since [`Views::take_dirty_services`]:
    /// the Service changed, or a pod it selects (before or after) did.
    dirty_services: BTreeSet<Name>,
}

fn ready_of(pod: &Value) -> bool {
    pod["status"]["conditions"][0]["status"] == "True"
}

fn pod_view(pod: &Value) -> PodView {
    let conditions = &pod["status"]["conditions"];
    let only_ready = conditions.as_array().is_some_and(|c| {
        c.len() == 1
            && c[0].as_object().is_some_and(|o| o.len() == 2)
            && c[0]["type"] == "Ready"
            && (c[0]["status"] == "True" || c[0]["status"] == "False")
    });
    let written = pod["status"]["phase"]
        .as_str()
        .filter(|_| only_ready)
        .map(|phase| (phase.to_string(), ready_of(pod)));
    PodView {
        labels: label_map(&pod["metadata"]["labels"]),
        owner: pod["metadata"]["ownerReferences"][0]["name"]
            .as_str()
            .map(str::to_string),
        ip: pod["status"]["podIP"].clone(),
        ready: ready_of(pod),
        written,
    }
}

fn ips(endpoints: &Value, field: &str) -> Vec<String> {
    endpoints["subsets"][0][field]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["ip"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Takes `name` out of the index entry `key`, dropping the entry once empty.
fn remove_from<K: Ord>(index: &mut BTreeMap<K, BTreeSet<String>>, key: K, name: &str) {
    if let Some(set) = index.get_mut(&key) {
        set.remove(name);
        if set.is_empty() {
            index.remove(&key);
        }
    }
}

impl Views {
    /// Brings every view up to date with the store: each object written since the last sync
    /// is parsed again, each removed one dropped.
    pub fn sync(&mut self, store: &Store) {
        if store.version() == self.seen {
            return;
        }
        let changed: Vec<_> = store.changed_since(self.seen).cloned().collect();
        self.seen = store.version();
        for (kind, ns, name) in changed {
            let object = store.get(&kind, &ns, &name);
            let key = (ns, name);
            match kind.as_str() {
                "Rollout" => match object {
                    Some(r) => {
                        self.rollouts.insert(key, r);
                    }
                    None => {
                        self.rollouts.remove(&key);
                    }
                },
                "ReplicaSet" => {
                    if let Some(old) = self.replicasets.remove(&key) {
                        remove_from(&mut self.rs_by_owner, (key.0.clone(), old.owner), &key.1);
                    }
                    if let Some(rs) = object {
                        let status = ["replicas", "readyReplicas", "availableReplicas"]
                            .map(|f| rs["status"][f].clone());
                        let want = rs["spec"]["replicas"].as_u64().unwrap_or(0);
                        let owner = rs["metadata"]["ownerReferences"][0]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        self.rs_by_owner
                            .entry((key.0.clone(), owner.clone()))
                            .or_default()
                            .insert(key.1.clone());
                        self.replicasets.insert(
                            key,
                            RsView {
                                want,
                                owner,
                                status,
                                object: rs,
                            },
                        );
                    }
                }
                "Pod" => {
                    if let Some(old) = self.unindex_pod(&key) {
                        self.mark_services_selecting(&key.0, &old.labels);
                    }
                    if let Some(pod) = object {
                        let view = pod_view(&pod);
                        self.mark_services_selecting(&key.0, &view.labels);
                        self.index_pod(&key, &view);
                        self.pods.insert(key, view);
                    }
                }
                "Service" => {
                    if let Some(old) = self.services.remove(&key) {
                        for (k, v) in old.selector {
                            remove_from(
                                &mut self.services_by_selector,
                                (key.0.clone(), k, v),
                                &key.1,
                            );
                        }
                    }
                    self.dirty_services.insert(key.clone());
                    let Some(svc) = object else {
                        continue;
                    };
                    let named_target_port = svc["spec"]["ports"]
                        .as_array()
                        .is_some_and(|ps| ps.iter().any(|p| p["targetPort"].is_string()));
                    let selector = label_map(&svc["spec"]["selector"]);
                    for (k, v) in &selector {
                        self.services_by_selector
                            .entry((key.0.clone(), k.clone(), v.clone()))
                            .or_default()
                            .insert(key.1.clone());
                    }
                    self.services.insert(
                        key,
                        ServiceView {
                            selector,
                            named_target_port,
                            object: svc,
                        },
                    );
                }
                "Endpoints" => {
                    // Endpoints written by anyone are checked against their Service again.
                    self.dirty_services.insert(key.clone());
                    match object {
                        Some(e) => self.set_endpoints(key, e),
                        None => {
                            self.endpoints.remove(&key);
                        }
                    }
                }
                "Ingress" => match object {
                    Some(i) => {
                        self.ingresses.insert(key, i);
                    }
                    None => {
                        self.ingresses.remove(&key);
                    }
                },
                _ => {}
            }
        }
    }

    /// Records Endpoints the world has just written (so the view does not wait for a sync).
    pub fn set_endpoints(&mut self, key: Name, endpoints: Value) {
        let view = EndpointsView {
            ips: (
                ips(&endpoints, "addresses"),
                ips(&endpoints, "notReadyAddresses"),
            ),
            object: endpoints,
        };
        self.endpoints.insert(key, view);
    }

    fn index_pod(&mut self, (ns, name): &Name, view: &PodView) {
        if let Some(owner) = &view.owner {
            self.by_owner
                .entry((ns.clone(), owner.clone()))
                .or_default()
                .insert(name.clone());
        }
        for (k, v) in &view.labels {
            self.by_label
                .entry((ns.clone(), k.clone(), v.clone()))
                .or_default()
                .insert(name.clone());
        }
    }

    /// Takes a pod out of the views and its indexes; what it was.
    fn unindex_pod(&mut self, key: &Name) -> Option<PodView> {
        let old = self.pods.remove(key)?;
        let (ns, name) = key;
        if let Some(owner) = &old.owner {
            remove_from(&mut self.by_owner, (ns.clone(), owner.clone()), name);
        }
        for (lk, lv) in &old.labels {
            remove_from(
                &mut self.by_label,
                (ns.clone(), lk.clone(), lv.clone()),
                name,
            );
        }
        Some(old)
    }

    /// Marks dirty each Service of `ns` whose selector a pod with `labels` matches.
    fn mark_services_selecting(&mut self, ns: &str, labels: &BTreeMap<String, String>) {
        let candidates: BTreeSet<&String> = labels
            .iter()
            .filter_map(|(k, v)| {
                self.services_by_selector
                    .get(&(ns.to_string(), k.clone(), v.clone()))
            })
            .flatten()
            .collect();
        for name in candidates {
            let key = (ns.to_string(), name.clone());
            if self
                .services
                .get(&key)
                .is_some_and(|s| selector_matches(&s.selector, labels))
            {
                self.dirty_services.insert(key);
            }
        }
    }

    /// The Services whose Endpoints may have changed since the last call (see
    /// `dirty_services`), in name order; the set is emptied.
    pub fn take_dirty_services(&mut self) -> Vec<Name> {
        std::mem::take(&mut self.dirty_services)
            .into_iter()
            .filter(|k| self.services.contains_key(k))
            .collect()
    }

    /// The ReplicaSets in `ns` whose first owner is `owner`, in name order.
    pub fn replicasets_owned_by<'a>(
        &'a self,
        ns: &str,
        owner: &str,
    ) -> impl Iterator<Item = &'a RsView> + 'a {
        let ns = ns.to_string();
        self.rs_by_owner
            .get(&(ns.clone(), owner.to_string()))
            .into_iter()
            .flatten()
            .filter_map(move |name| self.replicasets.get(&(ns.clone(), name.clone())))
    }

    /// The names of the pods in `ns` whose first owner is `owner`, in name order.
    pub fn pods_owned_by(&self, ns: &str, owner: &str) -> Vec<String> {
        self.by_owner
            .get(&(ns.to_string(), owner.to_string()))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The names of the pods in `ns` that carry every label of `selector` (none for an empty
    /// selector), in name order.
    pub fn pods_selected(&self, ns: &str, selector: &BTreeMap<String, String>) -> Vec<String> {
        let sets: Option<Vec<&BTreeSet<String>>> = selector
            .iter()
            .map(|(k, v)| self.by_label.get(&(ns.to_string(), k.clone(), v.clone())))
            .collect();
        let Some(mut sets) = sets.filter(|s| !s.is_empty()) else {
            return Vec::new();
        };
        sets.sort_by_key(|s| s.len());
        let (first, rest) = sets.split_at(1);
        first[0]
            .iter()
            .filter(|name| rest.iter().all(|s| s.contains(*name)))
            .cloned()
            .collect()
    }
}
