//! A stand-in for the ReplicaSet controller, the kubelet and the endpoints controller, for the
//! controller tests: every 200 ms, each ReplicaSet of one namespace gets its pods (named
//! `<rs>-<i>`), all ready at once, and each Service an Endpoints and an EndpointSlice of the
//! ready pods it selects. A tick costs about the number of objects, not their product
//! (Services find their pods through a label index), and writes only what changed, so it keeps
//! up with 10,000 Rollouts.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::apiserver::ApiServer;

/// The stand-in, running on its own thread until dropped.
pub struct Kubelet {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A pod this tick: its name and IP.
struct Pod {
    name: String,
    ip: String,
}

/// The pods of one ReplicaSet, all carrying its template's labels.
struct Group {
    labels: serde_json::Map<String, Value>,
    pods: Vec<Pod>,
}

/// The IP of pod `i` of the `n`-th ReplicaSet: 10.0.1.10 for the first pod of the first;
/// always a valid address, whatever `n`.
fn pod_ip(n: usize, i: u64) -> String {
    let n = n + 1;
    format!("10.{}.{}.{}", (n / 256) % 256, n % 256, i + 10)
}

/// Whether a Service's selector (non-empty) selects pods with `labels`.
fn selects(
    selector: &serde_json::Map<String, Value>,
    labels: &serde_json::Map<String, Value>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

impl Kubelet {
    /// Starts it on `server`'s objects in `namespace`.
    pub fn start(server: Arc<ApiServer>, namespace: &str) -> Kubelet {
        let stop = Arc::new(AtomicBool::new(false));
        let ns = namespace.to_string();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                Kubelet::tick(&server, &ns);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Kubelet {
            stop,
            thread: Some(thread),
        }
    }

    fn tick(server: &ApiServer, ns: &str) {
        let groups = Kubelet::pods(server, ns);
        // Label pair → the groups carrying it, so a Service looks only at the groups that
        // carry its selector's first pair.
        let mut index: HashMap<(&str, String), Vec<usize>> = HashMap::new();
        for (g, group) in groups.iter().enumerate() {
            for (k, v) in &group.labels {
                index
                    .entry((k.as_str(), v.to_string()))
                    .or_default()
                    .push(g);
            }
        }
        let services = server.map_objects("v1", "services", ns, |svc| {
            let name = svc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (
                name,
                svc["spec"]["selector"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
        });
        let mut wanted: HashMap<String, Published> = HashMap::new();
        for (name, selector) in services {
            let candidates = selector
                .iter()
                .next()
                .and_then(|(k, v)| index.get(&(k.as_str(), v.to_string())))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let selected: Vec<&Pod> = candidates
                .iter()
                .map(|&g| &groups[g])
                .filter(|group| selects(&selector, &group.labels))
                .flat_map(|group| &group.pods)
                .collect();
            let published = Published::of(ns, &selected);
            wanted.insert(name, published);
        }
        // Each stored Endpoints and EndpointSlice by name: whether it differs from what its
        // Service wants (compared in place).
        let endpoints = server.map_objects("v1", "endpoints", ns, |e| {
            let name = e["metadata"]["name"].as_str().unwrap_or_default();
            let stale = wanted
                .get(name)
                .is_some_and(|w| e.get("subsets") != Some(&w.subsets));
            (name.to_string(), stale)
        });
        let endpoints: HashMap<String, bool> = endpoints.into_iter().collect();
        let slices = "endpointslices";
        let stored_slices = server.map_objects("discovery.k8s.io/v1", slices, ns, |e| {
            let slice = e["metadata"]["name"].as_str().unwrap_or_default();
            let service = slice.strip_suffix("-slice").unwrap_or_default();
            let stale = wanted
                .get(service)
                .is_some_and(|w| e.get("endpoints") != Some(&w.slice_endpoints));
            (slice.to_string(), stale)
        });
        let stored_slices: HashMap<String, bool> = stored_slices.into_iter().collect();
        for (name, w) in &wanted {
            match endpoints.get(name) {
                None => {
                    let _ = server.put(
                        "endpoints",
                        &json!({"apiVersion": "v1", "kind": "Endpoints",
                            "metadata": {"name": name, "namespace": ns}, "subsets": w.subsets}),
                    );
                }
                Some(true) => {
                    let at = ("v1", "endpoints", ns, name.as_str());
                    merge(server, at, json!({"subsets": w.subsets}));
                }
                Some(false) => {}
            }
            let slice = format!("{name}-slice");
            match stored_slices.get(&slice) {
                None => {
                    let _ = server.put(
                        slices,
                        &json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                            "metadata": {"name": slice, "namespace": ns,
                                         "labels": {"kubernetes.io/service-name": name}},
                            "addressType": "IPv4", "endpoints": w.slice_endpoints,
                            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}),
                    );
                }
                Some(true) => {
                    let at = ("discovery.k8s.io/v1", slices, ns, slice.as_str());
                    merge(server, at, json!({"endpoints": w.slice_endpoints}));
                }
                Some(false) => {}
            }
        }
    }

    /// Makes every ReplicaSet's pods exist and be ready, deletes the pods of none, and gives
    /// each ReplicaSet the status of all its pods ready; the pods, by ReplicaSet.
    fn pods(server: &ApiServer, ns: &str) -> Vec<Group> {
        let existing: BTreeMap<String, String> = server
            .map_objects("v1", "pods", ns, |p| {
                let name = p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                (
                    name,
                    p["status"]["podIP"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .into_iter()
            .collect();
        let replicasets = server.map_objects("apps/v1", "replicasets", ns, |rs| {
            let name = rs["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let want = rs["spec"]["replicas"].as_u64().unwrap_or(0);
            let status = json!({"replicas": want, "readyReplicas": want,
                "availableReplicas": want, "observedGeneration": rs["metadata"]["generation"]});
            let current = &rs["status"];
            let stale = [
                "replicas",
                "readyReplicas",
                "availableReplicas",
                "observedGeneration",
            ]
            .iter()
            .any(|f| current[f] != status[f]);
            let labels = rs["spec"]["template"]["metadata"]["labels"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            (name, want, stale.then_some(status), labels)
        });
        let mut wanted = HashSet::new();
        let mut groups = Vec::new();
        for (n, (name, want, status, labels)) in replicasets.into_iter().enumerate() {
            if let Some(status) = status {
                let patch = json!({ "status": status });
                let _ = server.merge("apps/v1", "replicasets", ns, &name, &patch, Some("status"));
            }
            let mut pods = Vec::new();
            for i in 0..want {
                let pod = format!("{name}-{i}");
                let ip = match existing.get(&pod) {
                    Some(ip) => ip.clone(),
                    None => {
                        let ip = pod_ip(n, i);
                        let _ = server.put(
                            "pods",
                            &json!({"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": pod, "namespace": ns, "labels": labels},
                            "status": {"phase": "Running", "podIP": ip,
                                       "conditions": [{"type": "Ready", "status": "True"}]}}),
                        );
                        ip
                    }
                };
                wanted.insert(pod.clone());
                pods.push(Pod { name: pod, ip });
            }
            groups.push(Group { labels, pods });
        }
        for name in existing.keys().filter(|p| !wanted.contains(*p)) {
            let _ = server.remove("v1", "pods", ns, name);
        }
        groups
    }
}

/// What one Service's Endpoints and EndpointSlice should hold.
struct Published {
    subsets: Value,
    slice_endpoints: Value,
}

impl Published {
    fn of(ns: &str, pods: &[&Pod]) -> Published {
        let target = |pod: &Pod| json!({"kind": "Pod", "name": pod.name, "namespace": ns});
        let addresses: Vec<Value> = pods
            .iter()
            .map(|p| json!({"ip": p.ip, "targetRef": target(p)}))
            .collect();
        let subsets = if addresses.is_empty() {
            json!([])
        } else {
            json!([{"addresses": addresses,
                    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}])
        };
        let slice_endpoints = pods
            .iter()
            .map(|p| json!({"addresses": [p.ip], "conditions": {"ready": true}, "targetRef": target(p)}))
            .collect();
        Published {
            subsets,
            slice_endpoints: Value::Array(slice_endpoints),
        }
    }
}

/// Merge-patches the object at (apiVersion, plural, namespace, name).
fn merge(
    server: &ApiServer,
    (api_version, plural, ns, name): (&str, &str, &str, &str),
    patch: Value,
) {
    let _ = server.merge(api_version, plural, ns, name, &patch, None);
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
