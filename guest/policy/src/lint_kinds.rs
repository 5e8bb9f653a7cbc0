//! What `lint` could not check: a set of manifests with no Rollout at all (nothing was checked,
//! which is an error, never "no findings"), and objects of a kind nobody serves (`kind: Rolout`),
//! which lint names with the nearest kind it knows. The kinds of a usual application manifest
//! (Deployments, ConfigMaps, RBAC...) pass without a finding: they are not lint's to check.

use serde_json::Value;

use crate::lint::{Finding, Severity};
use crate::suggest::did_you_mean;

/// The kinds lint reads.
pub const CHECKED_KINDS: [&str; 3] = ["Rollout", "Ingress", "Service"];

/// Kinds an application's manifests commonly hold beside those lint reads; they get no
/// finding.
const OTHER_KNOWN_KINDS: [&str; 43] = [
    "APIService",
    "AnalysisRun",
    "AnalysisTemplate",
    "ClusterAnalysisTemplate",
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "CronJob",
    "CustomResourceDefinition",
    "DaemonSet",
    "Deployment",
    "EndpointSlice",
    "Endpoints",
    "Experiment",
    "HorizontalPodAutoscaler",
    "IngressClass",
    "IngressClassParams",
    "Job",
    "Kustomization",
    "Lease",
    "LimitRange",
    "List",
    "MutatingWebhookConfiguration",
    "Namespace",
    "NetworkPolicy",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Pod",
    "PodDisruptionBudget",
    "PodMonitor",
    "PriorityClass",
    "ReplicaSet",
    "ResourceQuota",
    "Role",
    "RoleBinding",
    "Secret",
    "ServiceAccount",
    "ServiceMonitor",
    "StatefulSet",
    "StorageClass",
    "TargetGroupBinding",
    "ValidatingWebhookConfiguration",
    "VerticalPodAutoscaler",
];

/// The findings of what could not be checked in `objects`, read from `source` (e.g. `the
/// files`, `namespace shop`).
pub fn lint_coverage(objects: &[Value], source: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut rollouts = 0;
    for (i, object) in objects.iter().enumerate() {
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        if kind == "Rollout" {
            rollouts += 1;
            continue;
        }
        if CHECKED_KINDS.contains(&kind) || OTHER_KNOWN_KINDS.contains(&kind) {
            continue;
        }
        let known = CHECKED_KINDS
            .iter()
            .chain(OTHER_KNOWN_KINDS.iter())
            .copied();
        let (object, message) = if kind.is_empty() {
            (
                format!("object {} of {source}", i + 1),
                "has no kind: it is not checked".to_string(),
            )
        } else {
            (
                format!("{kind} {name}"),
                format!(
                    "kind {kind} is not one lint knows, so it is not checked{}",
                    did_you_mean(kind, known)
                ),
            )
        };
        findings.push(Finding {
            severity: Severity::Warning,
            object,
            field: "kind".into(),
            message,
        });
    }
    if rollouts == 0 {
        findings.insert(
            0,
            Finding {
                severity: Severity::Error,
                object: source.to_string(),
                field: String::new(),
                message: format!(
                    "no Rollout (kind: Rollout, apiVersion: argoproj.io/v1alpha1) among {} objects: nothing was checked",
                    objects.len()
                ),
            },
        );
    }
    findings
}
