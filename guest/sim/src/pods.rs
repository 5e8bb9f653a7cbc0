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
                .pods
                .values()
                .any(|p| p.ip == ip && self.now_s >= p.created + self.config.pod_start_seconds)
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
        let started = self.now_s >= pod.created + self.config.pod_start_seconds;
        if started && self.config.pre_stop_seconds > 0 {
            self.stopping
                .insert(pod.ip, self.now_s + self.config.pre_stop_seconds);
        }
    }

    /// Makes each ReplicaSet's pods match its replica count, then updates pod readiness and
    /// each ReplicaSet's status.
    pub(crate) fn reconcile_replicasets(&mut self) {
        let now = self.now_s;
        self.stopping.retain(|_, until| now < *until);
        let sets: Vec<Value> = self.store.list("ReplicaSet", "").collect();
        for rs in &sets {
            let ns = namespace_of(rs).to_string();
            let name = rs["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let want = rs["spec"]["replicas"].as_u64().unwrap_or(0);
            let owned: Vec<Value> = self
                .store
                .list("Pod", &ns)
                .filter(|p| p["metadata"]["ownerReferences"][0]["name"] == json!(name))
                .collect();
            let mut mine: Vec<(u64, String)> = owned
                .iter()
                .filter_map(|p| {
                    let pname = p["metadata"]["name"].as_str()?.to_string();
                    let idx = pname.rsplit('-').next()?.parse().ok()?;
                    Some((idx, pname))
                })
                .collect();
            mine.sort();
            let mut next = mine.last().map_or(0, |(i, _)| i + 1);
            if (mine.len() as u64) > want {
                let excess = mine.len() - usize::try_from(want).unwrap_or(usize::MAX);
                let mut ranked: Vec<(DeletionRank, String)> = owned
                    .iter()
                    .filter_map(|p| {
                        Some((
                            self.deletion_rank(p)?,
                            p["metadata"]["name"].as_str()?.to_string(),
                        ))
                    })
                    .collect();
                ranked.sort();
                for (_, pname) in ranked.into_iter().take(excess) {
                    self.delete_pod(&ns, &pname);
                    mine.retain(|(_, n)| *n != pname);
                }
            }
            while (mine.len() as u64) < want {
                let pname = format!("{name}-{next}");
                self.next_ip += 1;
                let ip = pod_ip(self.next_ip);
                let pod = json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {
                        "name": pname, "namespace": ns,
                        "labels": rs["spec"]["template"]["metadata"]["labels"],
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name}]
                    },
                    "spec": rs["spec"]["template"]["spec"],
                    "status": {"phase": "Pending", "podIP": ip, "conditions": [{"type": "Ready", "status": "False"}]}
                });
                let gated = self.readiness_gate_for(&ns, &label_map(&pod["metadata"]["labels"]));
                let _ = self.store.put("Pod", pod);
                self.pods.insert(
                    (ns.clone(), pname.clone()),
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
        self.update_pod_readiness();
        for rs in &sets {
            let ns = namespace_of(rs);
            let name = rs["metadata"]["name"].as_str().unwrap_or_default();
            let pods: Vec<Value> = self
                .store
                .list("Pod", ns)
                .filter(|p| p["metadata"]["ownerReferences"][0]["name"] == json!(name))
                .collect();
            let ready = pods
                .iter()
                .filter(|p| p["status"]["conditions"][0]["status"] == json!("True"))
                .count();
            let status = json!({"status": {"replicas": pods.len(), "readyReplicas": ready, "availableReplicas": ready}});
            let _ = self.store.patch("ReplicaSet", ns, name, &status);
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
                        .store
                        .get("Service", ns, &tg.service)
                        .is_some_and(|svc| {
                            let selector = label_map(&svc["spec"]["selector"]);
                            !selector.is_empty() && selector_matches(&selector, pod_labels)
                        })
            })
    }

    fn update_pod_readiness(&mut self) {
        let pods: Vec<(String, String, String, bool)> = self
            .pods
            .iter()
            .map(|((ns, name), p)| (ns.clone(), name.clone(), p.ip.clone(), p.gated))
            .collect();
        for (ns, name, ip, gated) in pods {
            let running = self.pod_running(&ip);
            let was_ready = self
                .store
                .get("Pod", &ns, &name)
                .is_some_and(|p| p["status"]["conditions"][0]["status"] == json!("True"));
            // A readiness gate, once its target turned healthy, stays satisfied.
            let ready = running && (!gated || was_ready || self.target_healthy(&ip));
            let patch = json!({"status": {
                "phase": if running { "Running" } else { "Pending" },
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]
            }});
            let _ = self.store.patch("Pod", &ns, &name, &patch);
        }
    }

    /// Writes each Service's Endpoints: ready and not-ready IPs of the pods it selects, and
    /// its ports with the numbers they target (see [`endpoint_ports`]).
    pub(crate) fn reconcile_endpoints(&mut self) {
        let services: Vec<Value> = self.store.list("Service", "").collect();
        for svc in services {
            let ns = namespace_of(&svc).to_string();
            let name = svc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let selector = label_map(&svc["spec"]["selector"]);
            let (mut ready, mut not_ready) = (Vec::new(), Vec::new());
            let mut first_pod = None;
            for pod in self.store.list("Pod", &ns) {
                if selector.is_empty()
                    || !selector_matches(&selector, &label_map(&pod["metadata"]["labels"]))
                {
                    continue;
                }
                if first_pod.is_none() {
                    first_pod = Some(pod.clone());
                }
                let addr = json!({"ip": pod["status"]["podIP"], "targetRef": {"kind": "Pod", "name": pod["metadata"]["name"]}});
                if pod["status"]["conditions"][0]["status"] == json!("True") {
                    ready.push(addr);
                } else {
                    not_ready.push(addr);
                }
            }
            let endpoints = json!({
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name, "namespace": ns},
                "subsets": [{"addresses": ready, "notReadyAddresses": not_ready,
                             "ports": endpoint_ports(&svc, first_pod.as_ref())}]
            });
            let same = self
                .store
                .get("Endpoints", &ns, &name)
                .is_some_and(|e| e["subsets"] == endpoints["subsets"]);
            if !same {
                let _ = self.store.put("Endpoints", endpoints);
            }
        }
    }

    /// The IPs of a Service's endpoints: (ready, not ready).
    pub fn endpoint_ips(&self, ns: &str, service: &str) -> (Vec<String>, Vec<String>) {
        let Some(e) = self.store.get("Endpoints", ns, service) else {
            return (Vec::new(), Vec::new());
        };
        let ips = |field: &str| {
            e["subsets"][0][field]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x["ip"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        (ips("addresses"), ips("notReadyAddresses"))
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
