//! The simulated AWS Load Balancer Controller on its own: how it tags target groups and binds
//! them, registers pods at the Service's target port (and re-registers them when it changes),
//! keeps a target group no rule uses `unused` (so gated pods never turn Ready), applies an
//! Ingress change only after its lag, and rejects a malformed action with an Event while the
//! ALB keeps its rules.

use albatross_policy::elb::TargetHealthState;
use albatross_policy::host::Host;
use albatross_policy::target_port::PortLookup;
use albatross_policy::targets::unregistered_pod_ips;
use albatross_sim::{World, WorldConfig};
use serde_json::{Value, json};

const KEY: &str = "alb.ingress.kubernetes.io/actions.stable-svc";

fn action(canary: u32) -> String {
    format!(
        r#"{{"Type":"forward","ForwardConfig":{{"TargetGroups":[{{"ServiceName":"canary-svc","ServicePort":"80","Weight":{canary}}},{{"ServiceName":"stable-svc","ServicePort":"80","Weight":{}}}]}}}}"#,
        100 - canary
    )
}

fn service(name: &str, hash: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"},
           "spec": {"selector": {"app": "web", "rollouts-pod-template-hash": hash}, "ports": [{"port": 80, "targetPort": 8080}]}})
}

fn replicaset(hash: &str, replicas: u32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
           "metadata": {"name": format!("web-{hash}"), "namespace": "shop", "ownerReferences": [{"kind": "Rollout", "name": "web"}]},
           "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "web", "rollouts-pod-template-hash": hash}}}}})
}

fn world(annotation: Option<String>) -> World {
    let mut w = World::new(WorldConfig::default(), Default::default());
    for s in [service("stable-svc", "a"), service("canary-svc", "b")] {
        w.store.put("Service", s).unwrap();
    }
    w.store.put("ReplicaSet", replicaset("a", 2)).unwrap();
    let mut ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {}},
        "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [{"path": "/*", "backend": {"service": {"name": "stable-svc", "port": {"name": "use-annotation"}}}}]}}]}});
    if let Some(a) = annotation {
        ingress["metadata"]["annotations"][KEY] = json!(a);
    }
    w.store.put("Ingress", ingress).unwrap();
    w
}

fn run(w: &mut World, until: u64) {
    while w.now_s < until {
        w.now_s += 1;
        w.tick();
    }
}

fn canary_weight(w: &World) -> Option<u32> {
    let alb = w.elb.albs.values().next()?;
    let canary = w
        .elb
        .target_groups
        .values()
        .find(|t| t.service == "canary-svc")?;
    alb.rules[0].actions[0]
        .forward
        .as_ref()?
        .target_groups
        .iter()
        .find(|g| g.target_group_arn == canary.tg.arn)?
        .weight
}

fn set_canary(w: &mut World, weight: u32) {
    w.store
        .patch(
            "Ingress",
            "shop",
            "web",
            &json!({"metadata": {"annotations": {KEY: action(weight)}}}),
        )
        .unwrap();
}

#[test]
fn target_groups_are_tagged_bound_and_their_pods_gated() {
    let mut w = world(Some(action(0)));
    run(&mut w, 30);
    let stable = w
        .elb
        .target_groups
        .values()
        .find(|t| t.service == "stable-svc")
        .unwrap();
    let tag = |k: &str| {
        stable
            .tags
            .iter()
            .find(|t| t.key == k)
            .map(|t| t.value.clone())
    };
    assert_eq!(
        tag("ingress.k8s.aws/resource").as_deref(),
        Some("shop/web-stable-svc:80")
    );
    assert_eq!(tag("ingress.k8s.aws/stack").as_deref(), Some("shop/web"));
    assert_eq!(tag("elbv2.k8s.aws/cluster").as_deref(), Some("sim"));
    let binding = w
        .store
        .get("TargetGroupBinding", "shop", &stable.tg.name)
        .unwrap();
    assert_eq!(binding["spec"]["targetGroupARN"], json!(stable.tg.arn));
    assert_eq!(binding["spec"]["serviceRef"]["name"], json!("stable-svc"));
    assert_eq!(stable.targets.len(), 2);
    assert!(
        stable
            .targets
            .values()
            .all(|t| t.state == TargetHealthState::Healthy)
    );
    let hostname = w.store.get("Ingress", "shop", "web").unwrap()["status"]["loadBalancer"]["ingress"][0]["hostname"].clone();
    assert_eq!(
        hostname,
        json!(w.elb.albs.values().next().unwrap().lb.dns_name)
    );
    let ready = w
        .store
        .list("Pod", "shop")
        .filter(|p| p["status"]["conditions"][0]["status"] == json!("True"))
        .count();
    assert_eq!(ready, 2);
}

#[test]
fn a_target_group_no_rule_uses_stays_unused_and_its_gated_pods_never_ready() {
    // The action forwards to stable-svc only: canary-svc's pods have no rule behind them.
    let only_stable = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"stable-svc","ServicePort":"80","Weight":100}]}}"#;
    let mut w = world(Some(only_stable.to_string()));
    run(&mut w, 5);
    // canary-svc becomes a backend only through a second Ingress path (so it has a target group).
    w.store
        .patch("Ingress", "shop", "web", &json!({"spec": {"rules": [{"http": {"paths": [
            {"path": "/*", "backend": {"service": {"name": "stable-svc", "port": {"name": "use-annotation"}}}},
            {"path": "/canary/*", "backend": {"service": {"name": "canary-svc", "port": {"number": 80}}}}]}}]}}))
        .unwrap();
    run(&mut w, 10);
    let arn = w
        .elb
        .target_groups
        .values()
        .find(|t| t.service == "canary-svc")
        .unwrap()
        .tg
        .arn
        .clone();
    assert!(w.elb.referenced(&arn));
    w.store
        .patch("Ingress", "shop", "web", &json!({"spec": {"rules": [{"http": {"paths": [
            {"path": "/*", "backend": {"service": {"name": "stable-svc", "port": {"name": "use-annotation"}}}}]}}]}}))
        .unwrap();
    w.store.put("ReplicaSet", replicaset("b", 1)).unwrap();
    run(&mut w, 60);
    let canary = &w.elb.target_groups[&arn];
    assert!(!canary.targets.is_empty());
    assert!(
        canary
            .targets
            .values()
            .all(|t| t.state == TargetHealthState::Unused),
        "{:?}",
        canary.targets
    );
    let gated_ready = w
        .store
        .list("Pod", "shop")
        .filter(|p| p["metadata"]["labels"]["rollouts-pod-template-hash"] == json!("b"))
        .any(|p| p["status"]["conditions"][0]["status"] == json!("True"));
    assert!(
        !gated_ready,
        "a gated pod behind an unused target group turned Ready"
    );
}

#[test]
fn changes_apply_after_the_lag_and_a_malformed_action_is_rejected() {
    let mut w = world(Some(action(0)));
    run(&mut w, 20);
    assert_eq!(canary_weight(&w), Some(0));
    set_canary(&mut w, 30);
    run(&mut w, 21);
    assert_eq!(
        canary_weight(&w),
        Some(0),
        "applied before the controller's lag"
    );
    run(&mut w, 25);
    assert_eq!(canary_weight(&w), Some(30));
    w.store
        .patch("Ingress", "shop", "web", &json!({"metadata": {"annotations": {KEY: r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary-svc"}]}}"#}}}))
        .unwrap();
    run(&mut w, 40);
    assert_eq!(
        canary_weight(&w),
        Some(30),
        "the ALB lost its rules to a malformed action"
    );
    let rejected = w
        .events
        .iter()
        .find(|e| e.reason == "FailedBuildModel")
        .unwrap();
    assert_eq!(rejected.object, "Ingress shop/web");
    assert_eq!(rejected.event_type, "Warning");
    assert!(
        rejected.message.contains("ServicePort"),
        "{}",
        rejected.message
    );
}

#[test]
fn a_throttled_controller_applies_the_change_only_once_throttling_ends() {
    let mut w = world(Some(action(0)));
    w.faults = albatross_sim::Faults(vec![albatross_sim::Fault::LbcThrottling {
        from: 20,
        to: 50,
    }]);
    run(&mut w, 19);
    assert_eq!(canary_weight(&w), Some(0));
    set_canary(&mut w, 30);
    run(&mut w, 49);
    assert_eq!(
        canary_weight(&w),
        Some(0),
        "ModifyRule went through while throttled"
    );
    let warnings: Vec<_> = w
        .events
        .iter()
        .filter(|e| e.reason == "FailedDeployModel")
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one Warning per throttled change: {warnings:?}"
    );
    assert!(warnings[0].message.contains("ThrottlingException"));
    assert_eq!(warnings[0].event_type, "Warning");
    run(&mut w, 50);
    assert_eq!(canary_weight(&w), Some(30), "applied once throttling ended");
}

/// The `(ip, port, state)` of every target of the stable Service's target group.
fn stable_targets(w: &mut World) -> Vec<(String, Option<u32>, TargetHealthState)> {
    let arn = w
        .elb
        .target_groups
        .values()
        .find(|t| t.service == "stable-svc")
        .map(|t| t.tg.arn.clone())
        .unwrap();
    w.describe_target_health(&arn)
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.port, t.state))
        .collect()
}

#[test]
fn pods_are_registered_at_the_target_port_and_follow_a_target_port_change() {
    let mut w = world(Some(action(0)));
    w.store
        .patch(
            "Service",
            "shop",
            "stable-svc",
            &json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}}),
        )
        .unwrap();
    run(&mut w, 30);
    let targets = stable_targets(&mut w);
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert!(
        targets
            .iter()
            .all(|(_, port, s)| *port == Some(9090) && *s == TargetHealthState::Healthy),
        "registered at the Service's targetPort, not the target group's port: {targets:?}"
    );
    let endpoints = w.store.get("Endpoints", "shop", "stable-svc").unwrap();
    assert_eq!(endpoints["subsets"][0]["ports"][0]["port"], json!(9090));
    let arns: Vec<String> = w
        .elb
        .target_groups
        .values()
        .filter(|t| t.service == "stable-svc")
        .map(|t| t.tg.arn.clone())
        .collect();
    let lookup = PortLookup {
        api_version: "elbv2.k8s.aws/v1beta1",
        namespace: "shop",
        service: "stable-svc",
        fallback: None,
    };
    assert_eq!(
        unregistered_pod_ips(&mut w, &lookup, "a", &arns).unwrap(),
        Vec::<String>::new()
    );
    // The Service now targets 7070: until the controller re-registers, every pod is
    // registered only at 9090, where nothing of the Service's is served any more.
    w.store
        .patch(
            "Service",
            "shop",
            "stable-svc",
            &json!({"spec": {"ports": [{"port": 80, "targetPort": 7070}]}}),
        )
        .unwrap();
    run(&mut w, 31);
    assert_eq!(
        unregistered_pod_ips(&mut w, &lookup, "a", &arns)
            .unwrap()
            .len(),
        2,
        "a pod registered on the old port is not registered: {:?}",
        stable_targets(&mut w)
    );
    run(&mut w, 40);
    let targets = stable_targets(&mut w);
    assert!(
        targets
            .iter()
            .filter(|(_, port, _)| *port == Some(7070))
            .count()
            == 2
            && targets
                .iter()
                .filter(|(_, port, _)| *port == Some(9090))
                .all(|(_, _, s)| *s == TargetHealthState::Draining),
        "{targets:?}"
    );
    assert!(
        unregistered_pod_ips(&mut w, &lookup, "a", &arns)
            .unwrap()
            .is_empty()
    );
}
