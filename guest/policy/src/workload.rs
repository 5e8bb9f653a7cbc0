//! ReplicaSets and Services of a Rollout, through the cluster import: one ReplicaSet per pod
//! template, named `<rollout>-<hash>` and labelled `rollouts-pod-template-hash=<hash>`, and the
//! Service selectors that point at one of them.
//!
//! The hash rule (for the ReplicaSets Albatross creates; `adopt` finds those another controller
//! created): FNV-1a (64 bit) over the pod template's canonical JSON (object keys sorted at
//! every level, no whitespace), written as 10 lowercase hex digits (the low 40 bits). It does
//! not equal Argo Rollouts' hash; it is stable across hosts and builds, so a controller that
//! restarts finds its ReplicaSets again.

use serde_json::{Value, json};

use crate::error::{HostError, Result};
use crate::host::{Host, ObjectKind, PatchType};
use crate::rotation::{IN_ROTATION, ROTATION_LABEL, carries_rotation};
use crate::spec::Rollout;

/// The label that ties pods, ReplicaSets and Service selectors to one pod template.
pub const HASH_LABEL: &str = "rollouts-pod-template-hash";
/// A ReplicaSet's revision number (Argo's annotation: `undo` and `get` read it).
pub const REVISION: &str = "rollout.argoproj.io/revision";
/// The revisions a ReplicaSet had before it became the newest again (comma-separated).
pub const REVISION_HISTORY: &str = "rollout.argoproj.io/revision-history";
/// The annotation on an old ReplicaSet: when it may be scaled down (ms since the epoch).
pub const SCALE_DOWN_AT: &str = "albatross.io/scale-down-at";
/// The annotation on a ReplicaSet some of whose pods Albatross took out of rotation (their
/// count), so a pass reads its pods only while that is so.
pub const OUT_OF_ROTATION: &str = "albatross.io/out-of-rotation";

/// `apps/v1` ReplicaSet.
pub fn replicaset_kind() -> ObjectKind {
    ObjectKind::new("apps/v1", "ReplicaSet")
}

/// `v1` Service.
pub fn service_kind() -> ObjectKind {
    ObjectKind::new("v1", "Service")
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The pod-template hash (see the module docs for the rule).
pub fn pod_template_hash(template: &Value) -> String {
    let mut text = String::new();
    canonical(template, &mut text);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:010x}", h & 0xff_ffff_ffff)
}

/// A ReplicaSet of the Rollout, as far as the strategy reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSet {
    /// Its name.
    pub name: String,
    /// Its pod-template hash.
    pub hash: String,
    /// spec.replicas.
    pub replicas: u32,
    /// status.availableReplicas.
    pub available: u32,
    /// The scale-down time set on it, if any.
    pub scale_down_at: Option<u64>,
    /// Whether some of its pods were taken out of rotation (and may still be).
    pub rotating: bool,
    /// spec.template, as the API server stores it.
    pub template: Value,
    /// Its revision (0 when it has none).
    pub revision: u64,
    /// Its revision history annotation, if any.
    pub revision_history: Option<String>,
}

/// A ReplicaSet's revision (its `rollout.argoproj.io/revision`; 0 without one).
pub fn revision_of(rs: &Value) -> u64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn count(v: &Value) -> u32 {
    v.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
}

/// The Rollout's namespace.
pub fn namespace(rollout: &Rollout) -> &str {
    rollout.metadata.namespace_or_default()
}

/// The ReplicaSets the Rollout owns. They are listed by the Rollout's `matchLabels` (each
/// carries its pod template's labels, which the selector matches), so a pass reads the
/// Rollout's own ReplicaSets, not every one in the namespace; ownership is then checked.
pub fn replicasets<H: Host>(host: &mut H, rollout: &Rollout) -> Result<Vec<ReplicaSet>> {
    let ns = namespace(rollout);
    let selector = rollout
        .spec
        .selector
        .as_ref()
        .and_then(selector_string)
        .unwrap_or_default();
    let mut out = Vec::new();
    for json in host.list(&replicaset_kind(), ns, &selector)? {
        let rs: Value = serde_json::from_str(&json).map_err(|e| {
            HostError::Invalid(format!("ReplicaSet from the host is not JSON: {e}"))
        })?;
        let owned = rs["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|o| {
                o.iter()
                    .any(|r| r["kind"] == "Rollout" && r["name"] == json!(rollout.metadata.name))
            });
        let Some(hash) = rs["metadata"]["labels"][HASH_LABEL].as_str() else {
            continue;
        };
        if !owned {
            continue;
        }
        out.push(ReplicaSet {
            name: rs["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            hash: hash.to_string(),
            replicas: count(&rs["spec"]["replicas"]),
            available: count(&rs["status"]["availableReplicas"]),
            scale_down_at: rs["metadata"]["annotations"][SCALE_DOWN_AT]
                .as_str()
                .and_then(|s| s.parse().ok()),
            rotating: rs["metadata"]["annotations"][OUT_OF_ROTATION].is_string(),
            template: rs["spec"]["template"].clone(),
            revision: revision_of(&rs),
            revision_history: rs["metadata"]["annotations"][REVISION_HISTORY]
                .as_str()
                .map(str::to_string),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Creates the ReplicaSet for `hash` with `replicas` pods, or scales it; writes nothing when it
/// already has that many.
pub fn ensure_replicaset<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    sets: &[ReplicaSet],
    hash: &str,
    replicas: u32,
) -> Result<()> {
    let ns = namespace(rollout);
    if let Some(rs) = sets.iter().find(|r| r.hash == hash) {
        if rs.replicas != replicas {
            let body = json!({"spec": {"replicas": replicas}, "metadata": {"annotations": {SCALE_DOWN_AT: null}}});
            patch_replicaset(host, ns, &rs.name, &body)?;
        }
        return Ok(());
    }
    let mut template = rollout.spec.template.clone().unwrap_or_else(|| json!({}));
    template["metadata"]["labels"][HASH_LABEL] = json!(hash);
    template["metadata"]["labels"][ROTATION_LABEL] = json!(IN_ROTATION);
    let mut selector = rollout.spec.selector.clone().unwrap_or_else(|| json!({}));
    selector["matchLabels"][HASH_LABEL] = json!(hash);
    let mut owner = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": rollout.metadata.name, "controller": true});
    // A real API server refuses an owner reference without the owner's uid.
    if let Some(uid) = &rollout.metadata.uid {
        owner["uid"] = json!(uid);
        owner["blockOwnerDeletion"] = json!(true);
    }
    let revision = sets.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
    let rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", rollout.metadata.name),
            "namespace": ns,
            "labels": template["metadata"]["labels"],
            "annotations": {REVISION: revision.to_string()},
            "ownerReferences": [owner]
        },
        "spec": {"replicas": replicas, "selector": selector, "template": template}
    });
    host.create(&replicaset_kind(), ns, &rs.to_string())?;
    Ok(())
}

/// Makes the current revision's ReplicaSet (`hash`) the newest, as Argo does on a rollback to
/// an old one: its revision becomes one above every other, the one it had is added to its
/// revision history. Writes nothing when it is the newest already or does not exist yet.
pub fn note_revision<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    sets: &[ReplicaSet],
    hash: &str,
) -> Result<()> {
    let Some(current) = sets.iter().find(|r| r.hash == hash) else {
        return Ok(());
    };
    let others = sets
        .iter()
        .filter(|r| r.hash != hash)
        .map(|r| r.revision)
        .max()
        .unwrap_or(0);
    if current.revision > others {
        return Ok(());
    }
    let mut annotations = json!({REVISION: (others + 1).to_string()});
    if current.revision > 0 {
        let history = match &current.revision_history {
            Some(h) if !h.is_empty() => format!("{h},{}", current.revision),
            _ => current.revision.to_string(),
        };
        annotations[REVISION_HISTORY] = json!(history);
    }
    let body = json!({"metadata": {"annotations": annotations}});
    patch_replicaset(host, namespace(rollout), &current.name, &body)
}

/// Marks a ReplicaSet as having `count` pods out of rotation (0 clears the mark).
pub fn mark_rotation<H: Host>(host: &mut H, ns: &str, rs: &ReplicaSet, count: usize) -> Result<()> {
    let value = (count > 0).then(|| count.to_string());
    let body = json!({"metadata": {"annotations": {OUT_OF_ROTATION: value}}});
    patch_replicaset(host, ns, &rs.name, &body)
}

fn patch_replicaset<H: Host>(host: &mut H, ns: &str, name: &str, body: &Value) -> Result<()> {
    host.patch(
        &replicaset_kind(),
        ns,
        name,
        PatchType::Merge,
        &body.to_string(),
        None,
    )?;
    Ok(())
}

/// Marks an old ReplicaSet to be scaled down at `at_ms`.
pub fn mark_scale_down<H: Host>(host: &mut H, ns: &str, rs: &ReplicaSet, at_ms: u64) -> Result<()> {
    let body = json!({"metadata": {"annotations": {SCALE_DOWN_AT: at_ms.to_string()}}});
    patch_replicaset(host, ns, &rs.name, &body)
}

/// Scales a ReplicaSet to zero.
pub fn scale_to_zero<H: Host>(host: &mut H, ns: &str, rs: &ReplicaSet) -> Result<()> {
    let body = json!({"spec": {"replicas": 0}, "metadata": {"annotations": {SCALE_DOWN_AT: null}}});
    patch_replicaset(host, ns, &rs.name, &body)
}

/// A label selector's matchLabels as a selector string (`app=guestbook,tier=web`); None
/// without matchLabels.
pub fn selector_string(selector: &Value) -> Option<String> {
    selector["matchLabels"].as_object().map(|m| {
        m.iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// A Service's selector, as JSON (`null` when it has none).
fn selector_of<H: Host>(host: &mut H, ns: &str, service: &str) -> Result<Value> {
    let svc: Value = serde_json::from_str(&host.get(&service_kind(), ns, service)?)
        .map_err(|e| HostError::Invalid(format!("Service from the host is not JSON: {e}")))?;
    Ok(svc["spec"]["selector"].clone())
}

/// The pod-template hash a Service selects, if any.
pub fn selected_hash<H: Host>(host: &mut H, ns: &str, service: &str) -> Result<Option<String>> {
    Ok(selector_of(host, ns, service)?[HASH_LABEL]
        .as_str()
        .map(str::to_string))
}

/// Points a Service at the pods of `hash`, and at those of them in rotation when their
/// ReplicaSet (in `sets`) labels its pods for it; writes nothing when it already does.
pub fn select<H: Host>(
    host: &mut H,
    ns: &str,
    service: &str,
    hash: &str,
    sets: &[ReplicaSet],
) -> Result<bool> {
    write_selector(host, ns, service, Some(hash), rotation_of(sets, &[hash]))
}

/// Points a Service at the pods of every ReplicaSet in `hashes` at once, for a switch with no
/// gap: its selector loses the pod-template hash (and keeps the rotation label only when all
/// of them carry it); writes nothing when it already does.
pub fn select_all<H: Host>(
    host: &mut H,
    ns: &str,
    service: &str,
    hashes: &[&str],
    sets: &[ReplicaSet],
) -> Result<bool> {
    write_selector(host, ns, service, None, rotation_of(sets, hashes))
}

/// `in` when every ReplicaSet of `hashes` labels its pods for rotation.
fn rotation_of(sets: &[ReplicaSet], hashes: &[&str]) -> Option<&'static str> {
    hashes
        .iter()
        .all(|h| {
            sets.iter()
                .find(|r| r.hash == *h)
                .is_some_and(|r| carries_rotation(&r.template))
        })
        .then_some(IN_ROTATION)
}

/// Sets the hash and rotation keys of a Service's selector (None removes one); writes nothing
/// when they already are so.
fn write_selector<H: Host>(
    host: &mut H,
    ns: &str,
    service: &str,
    hash: Option<&str>,
    rotation: Option<&str>,
) -> Result<bool> {
    let selector = selector_of(host, ns, service)?;
    if selector[HASH_LABEL].as_str() == hash && selector[ROTATION_LABEL].as_str() == rotation {
        return Ok(false);
    }
    let body = json!({"spec": {"selector": {HASH_LABEL: hash, ROTATION_LABEL: rotation}}});
    host.patch(
        &service_kind(),
        ns,
        service,
        PatchType::Merge,
        &body.to_string(),
        None,
    )?;
    Ok(true)
}

/// The ready endpoint IPs of a Service.
pub fn endpoint_ips<H: Host>(host: &mut H, ns: &str, service: &str) -> Result<Vec<String>> {
    let json = match host.get(&ObjectKind::new("v1", "Endpoints"), ns, service) {
        Ok(j) => j,
        Err(HostError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let e: Value = serde_json::from_str(&json)
        .map_err(|e| HostError::Invalid(format!("Endpoints from the host is not JSON: {e}")))?;
    Ok(e["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["ip"].as_str().map(str::to_string))
        .collect())
}

/// The IPs of the pods of one pod-template hash.
pub fn pod_ips<H: Host>(host: &mut H, ns: &str, hash: &str) -> Result<Vec<String>> {
    Ok(host
        .list(
            &ObjectKind::new("v1", "Pod"),
            ns,
            &format!("{HASH_LABEL}={hash}"),
        )?
        .iter()
        .filter_map(|p| serde_json::from_str::<Value>(p).ok())
        .filter_map(|p| p["status"]["podIP"].as_str().map(str::to_string))
        .collect())
}
