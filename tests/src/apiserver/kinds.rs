//! The resources the emulator knows by name: the kind of each plural, and which have the
//! `status` subresource.

/// The kind of a well-known plural, for list kinds and new collections.
pub fn kind_of_plural(plural: &str) -> String {
    let known = [
        ("rollouts", "Rollout"),
        ("replicasets", "ReplicaSet"),
        ("services", "Service"),
        ("ingresses", "Ingress"),
        ("pods", "Pod"),
        ("endpoints", "Endpoints"),
        ("endpointslices", "EndpointSlice"),
        ("targetgroupbindings", "TargetGroupBinding"),
        ("events", "Event"),
        ("leases", "Lease"),
        ("namespaces", "Namespace"),
        ("configmaps", "ConfigMap"),
    ];
    known
        .iter()
        .find(|(p, _)| *p == plural)
        .map(|(_, k)| k.to_string())
        .unwrap_or_else(|| {
            let mut k = plural.trim_end_matches('s').to_string();
            if let Some(first) = k.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            k
        })
}

/// Whether a collection has the status subresource (writes to the object leave its status
/// alone, and `/status` writes change nothing else).
pub(super) fn has_status(plural: &str) -> bool {
    matches!(
        plural,
        "rollouts"
            | "replicasets"
            | "deployments"
            | "services"
            | "ingresses"
            | "pods"
            | "targetgroupbindings"
    )
}
