//! Which ReplicaSet carries the Rollout's pod template.
//!
//! Albatross finds its own ReplicaSets by its hash of the template. A ReplicaSet another
//! controller created (Argo Rollouts, before the Rollout moved to Albatross) carries that
//! controller's hash, so it is found by comparing pod templates instead, the way Argo Rollouts
//! finds a Deployment's ReplicaSets: the `rollouts-pod-template-hash` label left out, and what
//! the API server fills in on its own (the pod-spec defaults of `core/v1`) counted as equal to
//! leaving the field out. Such a ReplicaSet is adopted: its name and hash are kept, and only a
//! real template change makes a new revision.
//!
//! A default this module does not know makes the templates differ; the cost is a second
//! ReplicaSet with the same pods and the steps walked again, never a template change missed.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::rotation::ROTATION_LABEL;
use crate::workload::{HASH_LABEL, ReplicaSet, pod_template_hash};

/// The pod-template hash of the Rollout's current revision: Albatross's own hash when a
/// ReplicaSet carries it (or none matches), otherwise the hash of an existing ReplicaSet whose
/// template is the Rollout's (the one named by `stable` first).
pub fn revision_hash(template: &Value, stable: Option<&str>, sets: &[ReplicaSet]) -> String {
    let ours = pod_template_hash(template);
    if sets.iter().any(|rs| rs.hash == ours) {
        return ours;
    }
    let matching: Vec<&ReplicaSet> = sets
        .iter()
        .filter(|rs| same_template(template, &rs.template))
        .collect();
    matching
        .iter()
        .find(|rs| Some(rs.hash.as_str()) == stable)
        .or(matching.first())
        .map_or(ours, |rs| rs.hash.clone())
}

/// Whether a ReplicaSet's live pod template is the Rollout's `desired` one (see the module
/// docs for the rule).
pub fn same_template(desired: &Value, live: &Value) -> bool {
    let mut path = Vec::new();
    equal(
        &mut path,
        Some(&without_hash(desired)),
        Some(&without_hash(live)),
    )
}

fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(HASH_LABEL);
        labels.remove(ROTATION_LABEL);
    }
    t
}

/// Absent, null, `{}`, `[]` and `""` are one value to the API (Go's omitempty).
fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

fn equal(path: &mut Vec<String>, desired: Option<&Value>, live: Option<&Value>) -> bool {
    match (desired, live) {
        (d, l) if is_empty(d) && is_empty(l) => true,
        (Some(Value::Object(d)), Some(Value::Object(l))) => equal_objects(path, d, l),
        (Some(Value::Array(d)), Some(Value::Array(l))) => {
            d.len() == l.len()
                && d.iter().zip(l).all(|(d, l)| {
                    path.push("[]".to_string());
                    let same = equal(path, Some(d), Some(l));
                    path.pop();
                    same
                })
        }
        (Some(Value::Number(d)), Some(Value::Number(l))) => d.as_f64() == l.as_f64(),
        (Some(Value::String(d)), Some(Value::String(l))) if in_resources(path) => {
            d == l || quantity(d).is_some_and(|q| Some(q) == quantity(l))
        }
        (d, l) => d == l,
    }
}

fn equal_objects(
    path: &mut Vec<String>,
    desired: &Map<String, Value>,
    live: &Map<String, Value>,
) -> bool {
    let keys: BTreeSet<&String> = desired.keys().chain(live.keys()).collect();
    keys.into_iter().all(|key| {
        path.push(key.clone());
        let same = match (desired.get(key), live.get(key)) {
            (d, Some(l)) if is_empty(d) && !is_empty(Some(l)) => live_only(path, desired, l),
            (d, l) => equal(path, d, l),
        };
        path.pop();
        same
    })
}

/// A field only the live template has: equal when it is what the API server fills in.
fn live_only(path: &mut Vec<String>, desired_parent: &Map<String, Value>, live: &Value) -> bool {
    match live {
        Value::Object(l) => equal_objects(path, &Map::new(), l),
        v => default_of(path, desired_parent).is_some_and(|d| equal(path, Some(&d), Some(v))),
    }
}

fn ends_with(path: &[String], tail: &[&str]) -> bool {
    path.len() >= tail.len()
        && path[path.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

fn in_container(path: &[String]) -> bool {
    path.len() >= 3
        && path[path.len() - 2] == "[]"
        && matches!(
            path[path.len() - 3].as_str(),
            "containers" | "initContainers" | "ephemeralContainers"
        )
}

/// The value the API server gives a field left out of a pod template (`core/v1` defaults).
fn default_of(path: &[String], desired_parent: &Map<String, Value>) -> Option<Value> {
    let field = path.last()?.as_str();
    if path.len() == 2 && path[0] == "spec" {
        return match field {
            "restartPolicy" => Some(json!("Always")),
            "dnsPolicy" => Some(json!("ClusterFirst")),
            "terminationGracePeriodSeconds" => Some(json!(30)),
            "schedulerName" => Some(json!("default-scheduler")),
            // The deprecated field mirrors serviceAccountName.
            "serviceAccount" => desired_parent.get("serviceAccountName").cloned(),
            _ => None,
        };
    }
    if in_container(path) {
        return match field {
            "terminationMessagePath" => Some(json!("/dev/termination-log")),
            "terminationMessagePolicy" => Some(json!("File")),
            "imagePullPolicy" => Some(json!(pull_policy(desired_parent.get("image")?.as_str()?))),
            _ => None,
        };
    }
    let parent = path.get(path.len().checked_sub(2)?)?.as_str();
    match (parent, field) {
        (
            "livenessProbe" | "readinessProbe" | "startupProbe",
            "timeoutSeconds" | "successThreshold",
        ) => Some(json!(1)),
        ("livenessProbe" | "readinessProbe" | "startupProbe", "periodSeconds") => Some(json!(10)),
        ("livenessProbe" | "readinessProbe" | "startupProbe", "failureThreshold") => Some(json!(3)),
        ("httpGet", "scheme") => Some(json!("HTTP")),
        ("httpGet", "path") => Some(json!("/")),
        ("configMap" | "secret" | "downwardAPI" | "projected", "defaultMode") => Some(json!(420)),
        ("fieldRef", "apiVersion") => Some(json!("v1")),
        ("[]", "protocol") if ends_with(path, &["ports", "[]", "protocol"]) => Some(json!("TCP")),
        _ => None,
    }
}

/// `Always` for an image tagged `latest` or not tagged (and not pinned by digest), else
/// `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let name = image.rsplit('/').next().unwrap_or(image);
    match name.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

fn in_resources(path: &[String]) -> bool {
    path.len() >= 3
        && path[path.len() - 3] == "resources"
        && matches!(path[path.len() - 2].as_str(), "limits" | "requests")
}

/// A resource quantity in millis (`500m`, `0.5`, `1Gi`, `2e3`), for comparing two spellings.
fn quantity(text: &str) -> Option<i128> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, scale) = SUFFIXES
        .iter()
        .find_map(|(s, f)| text.strip_suffix(s).map(|n| (n, *f)))
        .unwrap_or((text, 1.0));
    let value: f64 = number.parse().ok()?;
    let millis = (value * scale * 1000.0).round();
    millis.is_finite().then_some(millis as i128)
}
