//! Taking pods out of rotation before a ReplicaSet that a Service still selects is scaled
//! down part of the way (the stable under dynamicStableScale, the canary when its weight comes
//! back down): a pod is removed only once the load balancer no longer sends it requests.
//!
//! The mechanism, without relying on a preStop hook in the application:
//!
//! 1. every ReplicaSet Albatross creates labels its pods `albatross.io/rotation=in`, and the
//!    Services Albatross points at such a ReplicaSet select that label too;
//! 2. to remove k pods, Albatross relabels k of them `albatross.io/rotation=out` and gives them
//!    the lowest `controller.kubernetes.io/pod-deletion-cost`: the Services stop selecting
//!    them, the endpoints drop them, and the AWS Load Balancer Controller deregisters them,
//!    while they keep serving what is in flight;
//! 3. once every one of them is draining or gone from the Service's target groups, the
//!    ReplicaSet is scaled down by k, and the ReplicaSet controller removes those pods first.
//!
//! While pods are out, the ReplicaSet carries `albatross.io/out-of-rotation` (their count), so
//! a pass lists a ReplicaSet's pods only then; a pod still out once the ReplicaSet has its
//! size (the ReplicaSet controller removed another, or the scale-down was called off) goes
//! back in, and the mark goes.
//!
//! A readiness gate of Albatross's own would not do: the AWS Load Balancer Controller keeps
//! registering a pod whose containers are ready even when the pod is not Ready. A ReplicaSet
//! Albatross did not create (adopted from Argo Rollouts) has no rotation label; its pods are
//! kept until no Service selects it, when the ordinary scale-down gate applies.

use serde_json::{Value, json};

use crate::bindings::bound_target_groups;
use crate::error::{HostError, Result};
use crate::host::{EventType, Host, Level, ObjectKind, PatchType};
use crate::reconcile::{Pass, VERIFY_RETRY_MS};
use crate::spec::Rollout;
use crate::targets::ips_still_registered;
use crate::workload::{HASH_LABEL, ReplicaSet, ensure_replicaset, mark_rotation, namespace};

/// The label that keeps a pod in its Services' endpoints (`in`) or takes it out (`out`).
pub const ROTATION_LABEL: &str = "albatross.io/rotation";
/// The value of [`ROTATION_LABEL`] on a pod that serves.
pub const IN_ROTATION: &str = "in";
/// The value of [`ROTATION_LABEL`] on a pod that is leaving.
pub const OUT_OF_ROTATION: &str = "out";
/// The annotation the ReplicaSet controller ranks pods by when it scales down (lowest first).
pub const DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";
/// The deletion cost of a pod taken out of rotation: below any a user sets by hand.
pub const LEAVING_COST: &str = "-2147483648";

/// Whether a ReplicaSet's pod template labels its pods with [`ROTATION_LABEL`].
pub fn carries_rotation(template: &Value) -> bool {
    template["metadata"]["labels"][ROTATION_LABEL].as_str() == Some(IN_ROTATION)
}

/// One pod of a ReplicaSet, as the rotation reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PodView {
    name: String,
    ip: Option<String>,
    out: bool,
    ready: bool,
}

fn pod_kind() -> ObjectKind {
    ObjectKind::new("v1", "Pod")
}

fn pods_of<H: Host>(host: &mut H, ns: &str, hash: &str) -> Result<Vec<PodView>> {
    let mut pods = Vec::new();
    for json in host.list(&pod_kind(), ns, &format!("{HASH_LABEL}={hash}"))? {
        let pod: Value = serde_json::from_str(&json)
            .map_err(|e| HostError::Invalid(format!("Pod from the host is not JSON: {e}")))?;
        if pod["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        let ready = pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        pods.push(PodView {
            name: pod["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            ip: pod["status"]["podIP"].as_str().map(str::to_string),
            out: pod["metadata"]["labels"][ROTATION_LABEL].as_str() == Some(OUT_OF_ROTATION),
            ready,
        });
    }
    pods.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(pods)
}

fn set_rotation<H: Host>(host: &mut H, ns: &str, pod: &str, out: bool) -> Result<()> {
    let body = if out {
        json!({"metadata": {"labels": {ROTATION_LABEL: OUT_OF_ROTATION}, "annotations": {DELETION_COST: LEAVING_COST}}})
    } else {
        json!({"metadata": {"labels": {ROTATION_LABEL: IN_ROTATION}, "annotations": {DELETION_COST: null}}})
    };
    host.patch(
        &pod_kind(),
        ns,
        pod,
        PatchType::Merge,
        &body.to_string(),
        None,
    )?;
    Ok(())
}

impl Pass {
    /// Scales the ReplicaSet of `hash`, which `service` selects, to `want` pods. Up at once
    /// (pods taken out of rotation go back in first); down only after the pods that leave are
    /// out of the Service's target groups (see the module docs). With verification off it
    /// scales at once either way, as peers do.
    pub(crate) fn scale_serving<H: Host>(
        &mut self,
        host: &mut H,
        rollout: &Rollout,
        sets: &[ReplicaSet],
        hash: &str,
        want: u32,
        service: &str,
    ) -> Result<()> {
        let Some(rs) = sets.iter().find(|r| r.hash == hash) else {
            return ensure_replicaset(host, rollout, sets, hash, want);
        };
        let ns = namespace(rollout).to_string();
        let leaving = usize::try_from(rs.replicas.saturating_sub(want)).unwrap_or(usize::MAX);
        if !self.settings.verify || (leaving > 0 && !carries_rotation(&rs.template)) {
            if leaving > 0 && self.settings.verify {
                host.log(
                    Level::Warn,
                    "keeping pods that cannot leave rotation",
                    &[("replicaset", &rs.name), ("label", ROTATION_LABEL)],
                );
                return Ok(());
            }
            return ensure_replicaset(host, rollout, sets, hash, want);
        }
        if leaving == 0 && !rs.rotating {
            return ensure_replicaset(host, rollout, sets, hash, want);
        }
        let pods = pods_of(host, &ns, hash)?;
        let out: Vec<&PodView> = pods.iter().filter(|p| p.out).collect();
        for pod in out.iter().skip(leaving) {
            set_rotation(host, &ns, &pod.name, false)?;
        }
        if leaving == 0 {
            mark_rotation(host, &ns, rs, 0)?;
            return ensure_replicaset(host, rollout, sets, hash, want);
        }
        let mut candidates: Vec<&PodView> = pods.iter().filter(|p| !p.out).collect();
        candidates.sort_by_key(|p| p.ready);
        let taken: Vec<&PodView> = candidates
            .into_iter()
            .take(leaving.saturating_sub(out.len()))
            .collect();
        if !taken.is_empty() {
            mark_rotation(host, &ns, rs, leaving)?;
            for pod in &taken {
                set_rotation(host, &ns, &pod.name, true)?;
            }
            let names: Vec<&str> = taken.iter().map(|p| p.name.as_str()).collect();
            self.event(
                EventType::Normal,
                "OutOfRotation",
                format!(
                    "{} leave {service} before {} scales {} → {want}: {}",
                    names.len(),
                    rs.name,
                    rs.replicas,
                    names.join(", ")
                ),
            );
            self.wait(VERIFY_RETRY_MS);
            return Ok(());
        }
        let ips: Vec<String> = out
            .iter()
            .take(leaving)
            .filter_map(|p| p.ip.clone())
            .collect();
        let mut groups = bound_target_groups(
            host,
            &self.settings.target_group_binding_api_version,
            &ns,
            service,
        )?;
        groups.extend(
            self.status
                .alb
                .iter()
                .flat_map(|a| [&a.canary_target_group, &a.stable_target_group])
                .flatten()
                .map(|g| g.arn.clone())
                .filter(|arn| !groups.contains(arn))
                .collect::<Vec<_>>(),
        );
        if ips_still_registered(host, &ips, &groups)? {
            self.wait(VERIFY_RETRY_MS);
            return Ok(());
        }
        ensure_replicaset(host, rollout, sets, hash, want)?;
        self.event(
            EventType::Normal,
            "ScaledDown",
            format!(
                "{} scaled {} → {want} once {} had left its target groups",
                rs.name,
                rs.replicas,
                ips.join(", ")
            ),
        );
        Ok(())
    }
}
