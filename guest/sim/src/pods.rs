//! The ReplicaSet controller (pods for each ReplicaSet, each with an IP and a start-up delay,
//! removed in Kubernetes' order: not running, not Ready, lowest pod-deletion-cost, newest; a
//! removed pod leaves its endpoints at once and serves on for `preStopSeconds`) and the endpoints controller (each Service's ready and
//! not-ready pod IPs). Pods are Ready once running and, with readiness gates in IP mode, once
//! their target is healthy.

use std::collections::{BTreeMap, BTreeSet};

use albatross_policy::rotation::DELETION_COST;
use albatross_policy::spec::namespace_of;
use serde_json::{Value, json};

use crate::labels::{label_map, selector_matches};
use crate::views::Name;
use crate::world::World;

/// What the world knows of a pod beyond its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSim {
    /// Its IP.
    pub ip: String,
    /// The second it was created.
    pub created: u64,
    /// Whether it got a readiness gate: the controller's webhook injects one when, at
    /// creation, a Service that backs a target group selects the pod.
    pub gated: bool,
}

/// A pod's place in the order of removal; see [`World::deletion_rank`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct DeletionRank {
    running: bool,
    ready: bool,
    cost: i64,
    newest_first: std::cmp::Reverse<(u64, u64)>,
}

fn pod_ip(n: u32) -> String {
    format!("10.1.{}.{}", n / 250, n % 250 + 1)
}

impl World {
    /// Whether the pod with this IP has its container running (a deleted one, while its
    /// `preStopSeconds` last).
    pub fn pod_running(&self, ip: &str) -> bool {
        self.stopping
            .get(ip)
            .is_some_and(|until| self.now_s < *until)
            || self
                .pod_ips
                .get(ip)
                .and_then(|key| self.pods.get(key))
                .is_some_and(|p| self.now_s >= p.created + self.config.pod_start_seconds)
    }

    /// The IPs of the pods whose containers run: started ones, and deleted ones still in
    /// their preStop hook.
    pub fn running_ips(&self) -> BTreeSet<String> {
        self.pods
            .values()
            .filter(|p| self.now_s >= p.created + self.config.pod_start_seconds)
            .map(|p| p.ip.clone())
            .chain(
                self.stopping
                    .iter()
                    .filter(|(_, until)| self.now_s < **until)
                    .map(|(ip, _)| ip.clone()),
            )
            .collect()
    }

    /// Deletes a pod: it leaves the API server (so its endpoints go) at once, and its
    /// container keeps serving for `preStopSeconds` (0, the default, is the worst case).
    pub(crate) fn delete_pod(&mut self, ns: &str, name: &str) {
        let _ = self.store.delete("Pod", ns, name);
        let Some(pod) = self.pods.remove(&(ns.to_string(), name.to_string())) else {
            return;
        };
        self.pod_ips.remove(&pod.ip);
        let started = self.now_s >= pod.created + self.config.pod_start_seconds;
        if started && self.config.pre_stop_seconds > 0 {
            self.stopping
                .insert(pod.ip, self.now_s + self.config.pre_stop_seconds);
        }
    }

    /// Makes each ReplicaSet's pods match its replica count, then updates pod readiness and
    /// each ReplicaSet's status. Reads the typed views: a pod is parsed when it changes, not
    /// each second, and a ReplicaSet's pods are found by owner.
    pub(crate) fn reconcile_replicasets(&mut self) {
        let now = self.now_s;
        self.stopping.retain(|_, until| now < *until);
        self.views.sync(&self.store);
        let sets: Vec<(Name, u64)> = self
            .views
            .replicasets
            .iter()
            .map(|(k, rs)| (k.clone(), rs.want))
            .collect();
        for ((ns, name), want) in &sets {
            self.scale_replicaset(ns, name, *want);
        }
        self.update_pod_readiness();
        self.views.sync(&self.store);
        for (key, _) in &sets {
            let (ns, name) = key;
            let owned = self.views.pods_owned_by(ns, name);
            let ready = owned
                .iter()
                .filter(|p| {
                    self.views
                        .pods
                        .get(&(ns.clone(), (*p).clone()))
                        .is_some_and(|v| v.ready)
                })
                .count();
            let wanted = [json!(owned.len()), json!(ready), json!(ready)];
            if self
                .views
                .replicasets
                .get(key)
                .is_some_and(|rs| rs.status == wanted)
            {
                continue;
            }
            let status = json!({"status": {"replicas": owned.len(), "readyReplicas": ready, "availableReplicas": ready}});
            let _ = self.store.patch("ReplicaSet", ns, name, &status);
        }
    }

    /// Creates or removes pods of ReplicaSet `ns/name` until it has `want`.
    fn scale_replicaset(&mut self, ns: &str, name: &str, want: u64) {
        let owned = self.views.pods_owned_by(ns, name);
        let mut mine: Vec<(u64, String)> = owned
            .iter()
            .filter_map(|pname| Some((pname.rsplit('-').next()?.parse().ok()?, pname.clone())))
            .collect();
        mine.sort();
        let mut next = mine.last().map_or(0, |(i, _)| i + 1);
        if (mine.len() as u64) > want {
            let excess = mine.len() - usize::try_from(want).unwrap_or(usize::MAX);
            let mut ranked: Vec<(DeletionRank, String)> = owned
                .iter()
                .filter_map(|pname| {
                    let pod = self.store.get("Pod", ns, pname)?;
                    Some((self.deletion_rank(&pod)?, pname.clone()))
                })
                .collect();
            ranked.sort();
            for (_, pname) in ranked.into_iter().take(excess) {
                self.delete_pod(ns, &pname);
                mine.retain(|(_, n)| *n != pname);
            }
        }
        if (mine.len() as u64) >= want {
            return;
        }
        let Some(template) = self
            .views
            .replicasets
            .get(&(ns.to_string(), name.to_string()))
            .map(|rs| rs.object["spec"]["template"].clone())
        else {
            return;
        };
        while (mine.len() as u64) < want {
            let pname = format!("{name}-{next}");
            self.next_ip += 1;
            let ip = pod_ip(self.next_ip);
            let pod = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {
                    "name": pname, "namespace": ns,
                    "labels": template["metadata"]["labels"],
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name}]
                },
                "spec": template["spec"],
                "status": {"phase": "Pending", "podIP": ip, "conditions": [{"type": "Ready", "status": "False"}]}
            });
            let gated = self.readiness_gate_for(ns, &label_map(&pod["metadata"]["labels"]));
            let _ = self.store.put("Pod", pod);
            let key = (ns.to_string(), pname.clone());
            self.pod_ips.insert(ip.clone(), key.clone());
            self.pods.insert(
                key,
                PodSim {
                    ip,
                    created: self.now_s,
                    gated,
                },
            );
            mine.push((next, pname));
            next += 1;
        }
    }

    /// Where a pod stands in the ReplicaSet controller's order of removal (lowest first), as
    /// Kubernetes ranks them: not yet running, then not Ready, then the lowest
    /// `controller.kubernetes.io/pod-deletion-cost`, then the newest.
    fn deletion_rank(&self, pod: &Value) -> Option<DeletionRank> {
        let ns = namespace_of(pod).to_string();
        let name = pod["metadata"]["name"].as_str()?;
        let sim = self.pods.get(&(ns, name.to_string()))?;
        let index: u64 = name.rsplit('-').next()?.parse().ok()?;
        Some(DeletionRank {
            running: self.pod_running(&sim.ip),
            ready: pod["status"]["conditions"][0]["status"] == json!("True"),
            cost: pod["metadata"]["annotations"][DELETION_COST]
                .as_str()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
            newest_first: std::cmp::Reverse((sim.created, index)),
        })
    }

    fn readiness_gate_for(&self, ns: &str, pod_labels: &BTreeMap<String, String>) -> bool {
        self.config.readiness_gates
            && self.config.ip_mode()
            && self.elb.target_groups.values().any(|tg| {
                tg.namespace == ns
                    && self
                        .views
                        .services
                        .get(&(ns.to_string(), tg.service.clone()))
                        .is_some_and(|svc| {
                            !svc.selector.is_empty() && selector_matches(&svc.selector, pod_labels)
                        })
            })
    }

    /// Writes each pod's phase and Ready condition where they changed.
    fn update_pod_readiness(&mut self) {
        self.views.sync(&self.store);
        let pods: Vec<(Name, String, bool)> = self
            .pods
            .iter()
            .map(|(key, p)| (key.clone(), p.ip.clone(), p.gated))
            .collect();
        let mut healthy: Option<BTreeSet<String>> = None;
        for (key, ip, gated) in pods {
            let running = self.pod_running(&ip);
            let view = self.views.pods.get(&key);
            let was_ready = view.is_some_and(|v| v.ready);
            // A readiness gate, once its target turned healthy, stays satisfied.
            let ready = running
                && (!gated
                    || was_ready
                    || healthy
                        .get_or_insert_with(|| self.healthy_target_ids())
                        .contains(&ip));
            let phase = if running { "Running" } else { "Pending" };
            if view
                .and_then(|v| v.written.as_ref())
                .is_some_and(|(p, r)| p == phase && *r == ready)
            {
                continue;
            }
            let patch = json!({"status": {
                "phase": phase,
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]
            }});
            let _ = self.store.patch("Pod", &key.0, &key.1, &patch);
        }
    }

    /// Writes each Service's Endpoints: ready and not-ready IPs of the pods it selects, and
    /// its ports with the numbers they target (see [`endpoint_ports`]). Only the Services
    /// that changed, or whose pods did, are visited; a Service's pods are found through the
    /// label index; Endpoints that would not change are not written.
    pub(crate) fn reconcile_endpoints(&mut self) {
        self.views.sync(&self.store);
        let services = self.views.take_dirty_services();
        for key in services {
            let Some(svc) = self.views.services.get(&key) else {
                continue;
            };
            let (ns, name) = &key;
            let selected = if svc.selector.is_empty() {
                Vec::new()
            } else {
                self.views.pods_selected(ns, &svc.selector)
            };
            let (mut ready, mut not_ready) = (Vec::new(), Vec::new());
            for pname in &selected {
                let Some(pod) = self.views.pods.get(&(ns.clone(), pname.clone())) else {
                    continue;
                };
                let addr = json!({"ip": pod.ip, "targetRef": {"kind": "Pod", "name": pname}});
                if pod.ready {
                    ready.push(addr);
                } else {
                    not_ready.push(addr);
                }
            }
            // Only a port that targets a container port by name needs a pod's spec.
            let first_pod = selected
                .first()
                .filter(|_| svc.named_target_port)
                .and_then(|p| self.store.get("Pod", ns, p));
            let endpoints = json!({
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name, "namespace": ns},
                "subsets": [{"addresses": ready, "notReadyAddresses": not_ready,
                             "ports": endpoint_ports(&svc.object, first_pod.as_ref())}]
            });
            let same = self
                .views
                .endpoints
                .get(&key)
                .is_some_and(|e| e.object["subsets"] == endpoints["subsets"]);
            if !same {
                let _ = self.store.put("Endpoints", endpoints.clone());
                self.views.set_endpoints(key, endpoints);
            }
        }
    }

    /// The IPs of a Service's endpoints: (ready, not ready).
    pub fn endpoint_ips(&self, ns: &str, service: &str) -> (Vec<String>, Vec<String>) {
        self.views
            .endpoints
            .get(&(ns.to_string(), service.to_string()))
            .map(|e| e.ips.clone())
            .unwrap_or_default()
    }
}

/// The ports of a Service's Endpoints, as the endpoints controller writes them: each Service
/// port's name with the number it targets. A numeric `targetPort` is that number (absent, the
/// port itself); a named one is the number of the selected pod's container port of that name,
/// and a port no pod names is left out.
pub fn endpoint_ports(service: &Value, pod: Option<&Value>) -> Vec<Value> {
    let container_port = |name: &str| {
        pod?["spec"]["containers"]
            .as_array()?
            .iter()
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .find(|p| p["name"].as_str() == Some(name))
            .and_then(|p| p["containerPort"].as_u64())
    };
    service["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let target = match &p["targetPort"] {
                Value::Null => p["port"].as_u64(),
                Value::String(name) => container_port(name),
                other => other.as_u64(),
            }?;
            let mut port = json!({"port": target, "protocol": "TCP"});
            if let Some(name) = p["name"].as_str() {
                port["name"] = json!(name);
            }
            Some(port)
        })
        .collect()
}
