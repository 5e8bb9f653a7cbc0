//! Fixtures shared by the policy tests: a canary Rollout as JSON, edited per test.

#![allow(dead_code)]

use serde_json::{Value, json};

/// A valid canary Rollout behind one Ingress, with rootService, 10 replicas and the
/// 10 / pause / 50 / pause steps.
pub fn canary() -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "guestbook", "namespace": "shop"},
        "spec": {
            "replicas": 10,
            "strategy": {"canary": {
                "canaryService": "canary-svc",
                "stableService": "stable-svc",
                "trafficRouting": {"alb": {
                    "ingress": "web", "rootService": "root-svc", "servicePort": 80
                }},
                "steps": [
                    {"setWeight": 10},
                    {"pause": {"duration": "30s"}},
                    {"setWeight": 50},
                    {"pause": {}}
                ]
            }}
        }
    })
}

/// A ping-pong canary Rollout.
pub fn ping_pong() -> Value {
    let mut r = canary();
    let c = &mut r["spec"]["strategy"]["canary"];
    if let Some(o) = c.as_object_mut() {
        o.remove("canaryService");
        o.remove("stableService");
    }
    c["pingPong"] = json!({"pingService": "ping-svc", "pongService": "pong-svc"});
    r
}

/// Sets the value at a JSON pointer, creating objects on the way.
pub fn set(mut v: Value, pointer: &str, value: Value) -> Value {
    let mut cur = &mut v;
    for part in pointer.trim_start_matches('/').split('/') {
        if cur.is_null() {
            *cur = json!({});
        }
        cur = match cur {
            Value::Array(a) => &mut a[part.parse::<usize>().unwrap()],
            other => &mut other[part],
        };
    }
    *cur = value;
    v
}

/// Removes the field at a JSON pointer.
pub fn remove(mut v: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if let Some(obj) = v.pointer_mut(parent).and_then(Value::as_object_mut) {
        obj.remove(key);
    }
    v
}

/// An Ingress with annotations.
pub fn ingress(annotations: Value) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations},
        "spec": {"ingressClassName": "alb"}
    })
}
