//! The simulated ReplicaSet and endpoints controllers on their own: a scale-down removes pods
//! in Kubernetes' order (lowest pod-deletion-cost first among Ready pods, else the newest), and
//! a pod whose labels a Service no longer selects leaves the Service's endpoints and then its
//! target group, while it keeps running; a deleted pod serves through its preStop hook; and a
//! selector move is not symmetric: the old targets drain while the new ones are `initial`.

use albatross_policy::elb::TargetHealthState;
use albatross_sim::{World, WorldConfig};
use serde_json::{Value, json};

fn world(replicas: u32) -> World {
    let mut w = World::new(WorldConfig::default(), Default::default());
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web", "albatross.io/rotation": "in"}, "ports": [{"port": 80, "targetPort": 8080}]}});
    w.store.put("Service", service).unwrap();
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-a", "namespace": "shop", "ownerReferences": [{"kind": "Rollout", "name": "web"}]},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "web", "albatross.io/rotation": "in"}}}}});
    w.store.put("ReplicaSet", rs).unwrap();
    let ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {}},
        "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [{"path": "/*", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}});
    w.store.put("Ingress", ingress).unwrap();
    w
}

fn run(w: &mut World, seconds: u64) {
    let until = w.now_s + seconds;
    while w.now_s < until {
        w.now_s += 1;
        w.tick();
    }
}

fn pods(w: &World) -> Vec<String> {
    let mut names: Vec<String> = w
        .store
        .list("Pod", "shop")
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

fn ip(w: &World, pod: &str) -> String {
    w.store.get("Pod", "shop", pod).unwrap()["status"]["podIP"]
        .as_str()
        .unwrap()
        .to_string()
}

fn state(w: &World, ip: &str) -> Option<TargetHealthState> {
    let tg = w.elb.target_groups.values().next()?;
    tg.targets
        .iter()
        .find(|((id, _), _)| id == ip)
        .map(|(_, t)| t.state)
}

fn scale(w: &mut World, replicas: u32) {
    w.store
        .patch(
            "ReplicaSet",
            "shop",
            "web-a",
            &json!({"spec": {"replicas": replicas}}),
        )
        .unwrap();
}

fn patch_pod(w: &mut World, pod: &str, body: Value) {
    w.store.patch("Pod", "shop", pod, &body).unwrap();
}

#[test]
fn a_scale_down_removes_the_newest_pod_unless_a_deletion_cost_says_otherwise() {
    let mut w = world(3);
    run(&mut w, 30);
    assert_eq!(pods(&w), ["web-a-0", "web-a-1", "web-a-2"]);
    scale(&mut w, 2);
    run(&mut w, 1);
    assert_eq!(pods(&w), ["web-a-0", "web-a-1"], "the newest goes first");
    patch_pod(
        &mut w,
        "web-a-0",
        json!({"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": "-5"}}}),
    );
    scale(&mut w, 1);
    run(&mut w, 1);
    assert_eq!(pods(&w), ["web-a-1"], "the lowest deletion cost goes first");
}

#[test]
fn a_pod_not_ready_goes_before_a_ready_one_whatever_its_cost() {
    let mut w = world(2);
    run(&mut w, 30);
    patch_pod(
        &mut w,
        "web-a-1",
        json!({"metadata": {"annotations": {"controller.kubernetes.io/pod-deletion-cost": "100"}}}),
    );
    scale(&mut w, 3);
    run(&mut w, 1);
    assert_eq!(pods(&w), ["web-a-0", "web-a-1", "web-a-2"]);
    scale(&mut w, 2);
    run(&mut w, 1);
    assert_eq!(
        pods(&w),
        ["web-a-0", "web-a-1"],
        "web-a-2 is not running yet, so it goes first"
    );
}

#[test]
fn a_pod_out_of_rotation_drains_from_its_target_group_and_keeps_running() {
    let mut w = world(2);
    run(&mut w, 40);
    let leaving = ip(&w, "web-a-1");
    assert_eq!(state(&w, &leaving), Some(TargetHealthState::Healthy));
    patch_pod(
        &mut w,
        "web-a-1",
        json!({"metadata": {"labels": {"albatross.io/rotation": "out"}}}),
    );
    run(&mut w, 1);
    let (ready, not_ready) = w.endpoint_ips("shop", "web");
    assert!(!ready.contains(&leaving) && !not_ready.contains(&leaving));
    run(&mut w, 5);
    assert_eq!(state(&w, &leaving), Some(TargetHealthState::Draining));
    assert!(
        w.pod_running(&leaving),
        "the pod still serves what is in flight"
    );
    run(&mut w, 60);
    assert_eq!(state(&w, &leaving), None, "drained and gone");
    assert_eq!(pods(&w), ["web-a-0", "web-a-1"]);
    assert_eq!(w.requests_lost(), 0.0);
}

#[test]
fn a_deleted_pod_leaves_its_endpoints_at_once_and_serves_through_its_pre_stop_hook() {
    for pre_stop in [0, 10] {
        let mut w = world(2);
        w.config.pre_stop_seconds = pre_stop;
        run(&mut w, 40);
        let leaving = ip(&w, "web-a-1");
        scale(&mut w, 1);
        run(&mut w, 1);
        let (ready, not_ready) = w.endpoint_ips("shop", "web");
        assert!(!ready.contains(&leaving) && !not_ready.contains(&leaving));
        assert_eq!(w.pod_running(&leaving), pre_stop > 0, "preStop {pre_stop}");
        run(&mut w, pre_stop);
        assert!(!w.pod_running(&leaving), "stopped after {pre_stop} s");
    }
}

#[test]
fn a_selector_move_drains_the_old_targets_while_the_new_are_in_health_checks() {
    let mut w = world(2);
    let rs_b = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-b", "namespace": "shop", "ownerReferences": [{"kind": "Rollout", "name": "web"}]},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web", "v": "b"}}}}});
    w.store.put("ReplicaSet", rs_b).unwrap();
    run(&mut w, 40);
    let old = ip(&w, "web-a-0");
    let new = ip(&w, "web-b-0");
    assert_eq!(state(&w, &old), Some(TargetHealthState::Healthy));
    assert_eq!(state(&w, &new), None, "not selected, not registered");
    w.store
        .patch(
            "Service",
            "shop",
            "web",
            &json!({"spec": {"selector": {"albatross.io/rotation": null, "v": "b"}}}),
        )
        .unwrap();
    let lost_before = w.requests_lost();
    let (lag, hc, drain) = (
        w.config.registration_lag_seconds,
        w.config.health_check_seconds,
        w.config.deregistration_delay_seconds,
    );
    run(&mut w, lag + 1);
    assert_eq!(state(&w, &old), Some(TargetHealthState::Draining));
    assert_eq!(state(&w, &new), Some(TargetHealthState::Initial));
    run(&mut w, hc);
    assert_eq!(state(&w, &new), Some(TargetHealthState::Healthy));
    assert!(
        w.requests_lost() > lost_before,
        "between the two, the group had no target to route to: 503s"
    );
    run(&mut w, drain);
    assert_eq!(state(&w, &old), None, "drained and gone");
}
