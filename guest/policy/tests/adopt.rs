//! Adopting ReplicaSets another controller created: pod templates compared with the hash label
//! left out and the API server's defaults counted as absent, and only real changes told apart.

use albatross_policy::adopt::{revision_hash, same_template};
use albatross_policy::workload::{ReplicaSet, pod_template_hash};
use serde_json::{Value, json};

/// The template as a user writes it in the Rollout.
fn desired() -> Value {
    json!({
        "metadata": {"labels": {"app": "guestbook"}},
        "spec": {
            "containers": [{
                "name": "guestbook",
                "image": "argoproj/rollouts-demo:blue",
                "ports": [{"containerPort": 8080}],
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "readinessProbe": {"httpGet": {"path": "/", "port": 8080}},
                "resources": {"requests": {"cpu": "0.5", "memory": "64Mi"}}
            }],
            "volumes": [{"name": "conf", "configMap": {"name": "guestbook"}}]
        }
    })
}

/// The same template as the API server stores it in the ReplicaSet Argo Rollouts created.
fn as_argo_left_it() -> Value {
    json!({
        "metadata": {
            "creationTimestamp": null,
            "labels": {"app": "guestbook", "rollouts-pod-template-hash": "687d76d795"}
        },
        "spec": {
            "containers": [{
                "name": "guestbook",
                "image": "argoproj/rollouts-demo:blue",
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                "readinessProbe": {
                    "httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"},
                    "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3
                },
                "resources": {"requests": {"cpu": "500m", "memory": "64Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"
            }],
            "volumes": [{"name": "conf", "configMap": {"name": "guestbook", "defaultMode": 420}}],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler"
        }
    })
}

fn edited(mut v: Value, pointer: &str, value: Value) -> Value {
    *v.pointer_mut(pointer).unwrap() = value;
    v
}

#[test]
fn the_template_argo_left_is_the_rollouts_template() {
    assert!(same_template(&desired(), &as_argo_left_it()));
    assert!(same_template(&desired(), &desired()));
}

#[test]
fn a_real_change_is_a_new_revision() {
    let live = as_argo_left_it();
    for (pointer, value) in [
        (
            "/spec/containers/0/image",
            json!("argoproj/rollouts-demo:yellow"),
        ),
        ("/spec/containers/0/ports/0/containerPort", json!(8081)),
        ("/metadata/labels/app", json!("shop")),
        ("/spec/containers/0/resources/requests/cpu", json!("1")),
    ] {
        assert!(
            !same_template(&edited(desired(), pointer, value.clone()), &live),
            "{pointer} = {value} was not seen as a change"
        );
    }
    let mut fewer = desired();
    fewer["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("resources");
    assert!(
        !same_template(&fewer, &live),
        "removing a field is a change"
    );
}

#[test]
fn a_live_field_is_a_default_only_at_its_default_value() {
    let longer = edited(
        as_argo_left_it(),
        "/spec/terminationGracePeriodSeconds",
        json!(60),
    );
    assert!(!same_template(&desired(), &longer));
    let always = edited(
        as_argo_left_it(),
        "/spec/containers/0/imagePullPolicy",
        json!("Always"),
    );
    assert!(
        !same_template(&desired(), &always),
        "a tagged image pulls IfNotPresent"
    );
    let latest = edited(
        desired(),
        "/spec/containers/0/image",
        json!("registry.local:5000/guestbook"),
    );
    let latest_live = edited(
        edited(
            always,
            "/spec/containers/0/image",
            json!("registry.local:5000/guestbook"),
        ),
        "/metadata/labels/app",
        json!("guestbook"),
    );
    assert!(
        same_template(&latest, &latest_live),
        "an untagged image pulls Always (the registry port is not a tag)"
    );
}

fn set(name: &str, hash: &str, template: Value) -> ReplicaSet {
    ReplicaSet {
        name: name.to_string(),
        hash: hash.to_string(),
        replicas: 5,
        available: 5,
        scale_down_at: None,
        rotating: false,
        template,
        revision: 1,
        revision_history: None,
    }
}

#[test]
fn the_revision_keeps_the_adopted_hash_and_prefers_albatrosss_own() {
    let t = desired();
    let ours = pod_template_hash(&t);
    let argo = set("guestbook-687d76d795", "687d76d795", as_argo_left_it());
    assert_eq!(
        revision_hash(&t, None, std::slice::from_ref(&argo)),
        "687d76d795"
    );
    let twin = set("guestbook-5d8f7c9b64", "5d8f7c9b64", as_argo_left_it());
    assert_eq!(
        revision_hash(&t, Some("687d76d795"), &[twin.clone(), argo.clone()]),
        "687d76d795",
        "the stable one first among twins"
    );
    let mine = set(&format!("guestbook-{ours}"), &ours, t.clone());
    assert_eq!(
        revision_hash(&t, Some("687d76d795"), &[argo.clone(), mine]),
        ours
    );
    let other = edited(t.clone(), "/spec/containers/0/image", json!("x:2"));
    assert_eq!(
        revision_hash(&other, None, &[argo]),
        pod_template_hash(&other)
    );
}
