//! Weight planning and replica counts with Argo's traffic-routed rules.

mod common;

use albatross_policy::api;
use albatross_policy::plan::replicas_for_weight;
use common::{canary, set};
use serde_json::json;

fn plan(r: &serde_json::Value, step: u32, observed: Option<u32>) -> (u32, u32, u32) {
    let p = api::plan_step(&r.to_string(), step, observed).unwrap();
    assert_eq!(p.canary_weight + p.stable_weight, 100);
    (p.canary_weight, p.canary_replicas, p.stable_replicas)
}

#[test]
fn weights_follow_the_last_set_weight() {
    let weights: Vec<u32> = api::plan_steps(&canary().to_string())
        .unwrap()
        .iter()
        .map(|p| p.canary_weight)
        .collect();
    assert_eq!(weights, [10, 10, 50, 50, 100]);
    let r = set(
        canary(),
        "/spec/strategy/canary/steps",
        json!([{"pause": {}}, {"setWeight": 20}]),
    );
    let weights: Vec<u32> = api::plan_steps(&r.to_string())
        .unwrap()
        .iter()
        .map(|p| p.canary_weight)
        .collect();
    assert_eq!(weights, [0, 20, 100]);
    assert!(api::plan_step(&canary().to_string(), 5, None).is_err());
}

#[test]
fn canary_is_ceil_and_stable_stays_full() {
    assert_eq!(plan(&canary(), 0, None), (10, 1, 10));
    assert_eq!(plan(&canary(), 2, None), (50, 5, 10));
    assert_eq!(plan(&canary(), 4, None), (100, 10, 10));
    let r = set(canary(), "/spec/replicas", json!(3));
    assert_eq!(plan(&r, 0, None), (10, 1, 3));
    assert_eq!(replicas_for_weight(3, 34), 2);
    assert_eq!(replicas_for_weight(3, 0), 0);
}

#[test]
fn dynamic_stable_scale_never_below_what_the_alb_still_sends() {
    let r = set(
        canary(),
        "/spec/strategy/canary/dynamicStableScale",
        json!(true),
    );
    assert_eq!(plan(&r, 2, None), (50, 5, 5));
    // The ALB still carries stable 90: keep 9 stable pods.
    assert_eq!(plan(&r, 2, Some(90)), (50, 5, 9));
    assert_eq!(plan(&r, 4, Some(0)), (100, 10, 0));
    let aborted = set(r, "/status/abort", json!(true));
    // Aborting from 50/50: weight 0 wanted, but the canary keeps pods for the traffic it still has.
    assert_eq!(plan(&aborted, 2, Some(50)), (0, 5, 10));
}

#[test]
fn set_canary_scale_overrides_the_count() {
    let r = set(
        canary(),
        "/spec/strategy/canary/steps",
        json!([
            {"setCanaryScale": {"replicas": 3}},
            {"setWeight": 10},
            {"setCanaryScale": {"weight": 25}},
            {"setCanaryScale": {"matchTrafficWeight": true}},
            {"setWeight": 60}
        ]),
    );
    let counts: Vec<(u32, u32)> = api::plan_steps(&r.to_string())
        .unwrap()
        .iter()
        .map(|p| (p.canary_weight, p.canary_replicas))
        .collect();
    assert_eq!(
        counts,
        [(0, 3), (10, 3), (10, 3), (10, 1), (60, 6), (100, 10)]
    );
}

#[test]
fn a_shift_needs_healthy_targets_for_its_share_but_never_more_than_the_pods_there() {
    use albatross_policy::health::healthy_needed;
    assert_eq!(healthy_needed(5, 50, 5), 3);
    assert_eq!(healthy_needed(5, 100, 5), 5);
    assert_eq!(
        healthy_needed(5, 100, 2),
        2,
        "setCanaryScale keeps fewer pods"
    );
    assert_eq!(healthy_needed(5, 1, 5), 1);
    assert_eq!(healthy_needed(5, 50, 0), 1, "at least one, always");
}

#[test]
fn min_pods_per_replica_set_raises_a_non_zero_count() {
    let r = set(
        canary(),
        "/spec/strategy/canary/minPodsPerReplicaSet",
        json!(2),
    );
    assert_eq!(plan(&canary(), 0, None), (10, 1, 10));
    assert_eq!(plan(&r, 0, None), (10, 2, 10), "1 pod for 10% raised to 2");
    let capped = set(
        r.clone(),
        "/spec/strategy/canary/minPodsPerReplicaSet",
        json!(50),
    );
    assert_eq!(
        plan(&capped, 0, None),
        (10, 10, 10),
        "never above spec.replicas"
    );
    let before_any_weight = set(
        r.clone(),
        "/spec/strategy/canary/steps",
        json!([{"pause": {}}, {"setWeight": 95}]),
    );
    assert_eq!(plan(&before_any_weight, 0, None), (0, 0, 10), "0 stays 0");
    let dynamic = set(
        before_any_weight,
        "/spec/strategy/canary/dynamicStableScale",
        json!(true),
    );
    assert_eq!(
        plan(&dynamic, 1, Some(5)),
        (95, 10, 2),
        "a dynamically scaled stable too: 1 pod for 5% raised to 2"
    );
}

#[test]
fn set_canary_scale_is_ignored_while_aborted_unless_the_abort_delay_is_zero() {
    let r = set(
        canary(),
        "/spec/strategy/canary/steps",
        json!([{"setCanaryScale": {"replicas": 3}}, {"pause": {}}]),
    );
    assert_eq!(plan(&r, 1, None), (0, 3, 10));
    let aborted = set(r, "/status/abort", json!(true));
    assert_eq!(plan(&aborted, 1, None), (0, 0, 10));
    let zero_delay = set(
        aborted.clone(),
        "/spec/strategy/canary/abortScaleDownDelaySeconds",
        json!(0),
    );
    assert_eq!(plan(&zero_delay, 1, None), (0, 3, 10));
    let other_delay = set(
        aborted,
        "/spec/strategy/canary/abortScaleDownDelaySeconds",
        json!(30),
    );
    assert_eq!(plan(&other_delay, 1, None), (0, 0, 10));
}

#[test]
fn under_dynamic_stable_scale_min_pods_raises_the_final_counts() {
    let r = set(
        canary(),
        "/spec/strategy/canary/steps",
        json!([
            {"setCanaryScale": {"replicas": 1}},
            {"setCanaryScale": {"matchTrafficWeight": true}},
            {"setWeight": 100}
        ]),
    );
    let r = set(r, "/spec/strategy/canary/dynamicStableScale", json!(true));
    let r = set(r, "/spec/strategy/canary/minPodsPerReplicaSet", json!(2));
    // Desired stable 0 at 100%, but the ALB still sends the stable 5%: 1 pod, raised to 2.
    assert_eq!(plan(&r, 2, Some(5)), (100, 10, 2));
    // A setCanaryScale count is raised too (Argo raises the final canary count).
    assert_eq!(plan(&r, 0, None), (0, 2, 10));
}
