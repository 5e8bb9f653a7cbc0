//! The capability checks on their own: what passes to the backend (here the offline host,
//! whose own refusal says "offline") and what the guard refuses first.

use albatross::backend::offline::OfflineHost;
use albatross::backend::{Cluster, Inline, block_on};
use albatross::runtime::capabilities::{Guarded, Scope};
use albatross_policy::HostError;
use albatross_policy::host::{ObjectKind, PatchType};
use albatross_policy::reconcile::Settings;
use serde_json::json;

fn guard(prefix: Option<&str>) -> Guarded {
    let mut rollout = json!({"metadata": {"name": "app", "namespace": "shop"}});
    if let Some(p) = prefix {
        rollout["spec"] =
            json!({"strategy": {"canary": {"trafficRouting": {"alb": {"annotationPrefix": p}}}}});
    }
    Guarded {
        inner: Box::new(Inline(OfflineHost)),
        scope: Scope::for_rollout("test-module", &rollout.to_string(), &Settings::default()),
    }
}

/// "passed" when the guard let the call through to the backend, else the guard's reason.
fn verdict<T>(call: impl Future<Output = Result<T, HostError>>) -> String {
    match block_on(call) {
        Err(HostError::Forbidden(m)) if m.contains("offline") => "passed".into(),
        Err(HostError::Forbidden(m)) => m,
        Err(e) => format!("unexpected: {e}"),
        Ok(_) => "unexpected: Ok".into(),
    }
}

fn ingress() -> ObjectKind {
    ObjectKind::ingress()
}

#[test]
fn kinds_verbs_and_namespaces() {
    let mut g = guard(None);
    let rs = ObjectKind::new("apps/v1", "ReplicaSet");
    assert_eq!(verdict(g.create(&rs, "shop", "{}")), "passed");
    assert_eq!(verdict(g.delete(&rs, "shop", "x")), "passed");
    assert_eq!(
        verdict(g.create(&rs, "prod", "{}")),
        "create ReplicaSet in namespace \"prod\": a module may touch only the namespace of the Rollout it reconciles (\"shop\")"
    );
    let pod = ObjectKind::new("v1", "Pod");
    assert_eq!(verdict(g.list(&pod, "shop", "")), "passed");
    assert_eq!(
        verdict(g.delete(&pod, "shop", "p")),
        "delete Pod in namespace \"shop\": the contract does not allow this verb on this kind"
    );
    assert_eq!(
        verdict(g.list(&pod, "", "")),
        "list Pod in namespace \"\": a module may touch only the namespace of the Rollout it reconciles (\"shop\")"
    );
    assert_eq!(
        verdict(g.get(&ObjectKind::new("v1", "Secret"), "shop", "s")),
        "get Secret in namespace \"shop\": Secrets are never open to a strategy module"
    );
    assert_eq!(
        verdict(g.get(&ObjectKind::new("v1", "ConfigMap"), "shop", "c")),
        "get ConfigMap in namespace \"shop\": v1 is not a kind the contract opens to modules"
    );
    let tgb = ObjectKind::new("elbv2.k8s.aws/v1beta1", "TargetGroupBinding");
    assert_eq!(verdict(g.list(&tgb, "shop", "")), "passed");
    let rollout = ObjectKind::rollout();
    let status = Some("status");
    assert_eq!(
        verdict(g.patch(&rollout, "shop", "app", PatchType::Merge, "{}", status)),
        "passed"
    );
    assert_eq!(
        verdict(g.patch(&rollout, "shop", "app", PatchType::Merge, "{}", None)),
        "patch Rollout in namespace \"shop\": subresource None is not open to modules"
    );
}

#[test]
fn ingress_writes_stay_under_the_prefix_and_the_bookkeeping() {
    let mut g = guard(None);
    let merge = |g: &mut Guarded, body: serde_json::Value| {
        verdict(g.patch(
            &ingress(),
            "shop",
            "web",
            PatchType::Merge,
            &body.to_string(),
            None,
        ))
    };
    assert_eq!(
        merge(
            &mut g,
            json!({"metadata": {"annotations": {
            "alb.ingress.kubernetes.io/actions.root": "{}",
            "rollouts.argoproj.io/managed-alb-annotations": "{}"
        }}, "spec": {"rules": []}})
        ),
        "passed"
    );
    // The version read, as a precondition of the write, is not a change.
    assert_eq!(
        merge(
            &mut g,
            json!({"metadata": {"resourceVersion": "41", "annotations": {
            "alb.ingress.kubernetes.io/actions.root": "{}"}}})
        ),
        "passed"
    );
    let refused = merge(
        &mut g,
        json!({"metadata": {"labels": {"a": "b"}, "annotations": {"alb.ingress.kubernetes.io.evil/x": "1"}}, "spec": {"tls": []}}),
    );
    assert!(
        refused.starts_with("patch Ingress in namespace \"shop\": writes "),
        "{refused}"
    );
    for part in [
        "metadata.labels",
        "metadata.annotations[alb.ingress.kubernetes.io.evil/x]",
        "spec.tls",
    ] {
        assert!(refused.contains(part), "{refused}");
    }
    let json_patch = |g: &mut Guarded, path: &str| {
        let body = json!([{"op": "add", "path": path, "value": "x"}]).to_string();
        verdict(g.patch(&ingress(), "shop", "web", PatchType::Json, &body, None))
    };
    assert_eq!(
        json_patch(
            &mut g,
            "/metadata/annotations/alb.ingress.kubernetes.io~1actions.root"
        ),
        "passed"
    );
    assert!(json_patch(&mut g, "/status/loadBalancer").contains("writes /status/loadBalancer"));
    let mut custom = guard(Some("custom.example.com"));
    assert_eq!(
        merge(
            &mut custom,
            json!({"metadata": {"annotations": {"custom.example.com/actions.root": "{}"}}})
        ),
        "passed"
    );
    assert!(
        merge(
            &mut custom,
            json!({"metadata": {"annotations": {"alb.ingress.kubernetes.io/actions.root": "{}"}}})
        )
        .contains("annotations under custom.example.com/")
    );
}

#[test]
fn pod_writes_are_only_the_rotation_label_and_the_deletion_cost() {
    let mut g = guard(None);
    let pod = ObjectKind::new("v1", "Pod");
    let patch = |g: &mut Guarded, body: serde_json::Value, pt: PatchType| {
        verdict(g.patch(&pod, "shop", "p", pt, &body.to_string(), None))
    };
    let out = json!({"metadata": {"labels": {"albatross.io/rotation": "out"},
        "annotations": {"controller.kubernetes.io/pod-deletion-cost": "-2147483648"}}});
    assert_eq!(patch(&mut g, out, PatchType::Merge), "passed");
    let back = json!({"metadata": {"labels": {"albatross.io/rotation": "in"},
        "annotations": {"controller.kubernetes.io/pod-deletion-cost": null}}});
    assert_eq!(patch(&mut g, back, PatchType::Merge), "passed");
    for (body, field) in [
        (
            json!({"metadata": {"labels": {"app": "other"}}}),
            "metadata.labels[app]",
        ),
        (
            json!({"metadata": {"annotations": {"x": "y"}}}),
            "metadata.annotations[x]",
        ),
        (
            json!({"metadata": {"finalizers": []}}),
            "metadata.finalizers",
        ),
        (json!({"spec": {"containers": []}}), "spec"),
    ] {
        let said = patch(&mut g, body, PatchType::Merge);
        assert!(
            said.starts_with("patch Pod in namespace \"shop\": writes ") && said.contains(field),
            "{said}"
        );
    }
    let json_patch =
        json!([{"op": "add", "path": "/metadata/labels/albatross.io~1rotation", "value": "out"}]);
    assert!(patch(&mut g, json_patch, PatchType::Json).contains("a JSON patch"));
    assert_eq!(
        verdict(g.patch(&pod, "prod", "p", PatchType::Merge, "{}", None)),
        "patch Pod in namespace \"prod\": a module may touch only the namespace of the Rollout it reconciles (\"shop\")"
    );
}
