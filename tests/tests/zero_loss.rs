//! The scenarios built from the failures users reported against peers (scale-downs, weight
//! shifts and selector moves that outrun the load balancer): each loses requests with the
//! gates off and none with them on, and the timeline shows the gate that saves it.

use albatross_sim::runner::Trace;
use albatross_tests::{Way, scenario, simulate};

fn run(name: &str, verify: bool) -> Trace {
    simulate(&scenario(name), Way::Wasm, verify)
}

/// The pod-template hash of the ReplicaSet stable at the start of the run.
fn first_stable(trace: &Trace) -> String {
    trace
        .timeline
        .iter()
        .find_map(|r| r.replicas.keys().next().cloned())
        .expect("a ReplicaSet")
}

/// The desired replica counts a ReplicaSet went through, in order, without repeats.
fn desired(trace: &Trace, hash: &str) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for (_, want) in trace.timeline.iter().filter_map(|r| r.replicas.get(hash)) {
        if out.last() != Some(want) {
            out.push(*want);
        }
    }
    out
}

fn events(trace: &Trace, reason: &str) -> Vec<(u64, String)> {
    trace
        .events
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| (e.t, e.message.clone()))
        .collect()
}

/// Seconds in which a Service's target group got a share of traffic bigger than its ready
/// pods could carry: ceil(share × replicas / 100) pods for `share` percent.
fn overloaded(trace: &Trace, service: &str, hash: &str, replicas: f64) -> Vec<u64> {
    trace
        .timeline
        .iter()
        .filter(|r| {
            let share = r.alb_share.get(service).copied().unwrap_or(0.0);
            let ready = r.replicas.get(hash).map_or(0, |(ready, _)| *ready) as f64;
            share > 0.0 && ready < (share * replicas / 100.0).ceil()
        })
        .map(|r| r.t)
        .collect()
}

#[test]
fn dynamic_stable_scale_takes_pods_out_of_rotation_before_it_removes_them() {
    let on = run("dynamic-stable-scale", true);
    assert_eq!(on.requests_lost, 0.0, "lost with the gates on");
    let stable = first_stable(&on);
    assert_eq!(
        desired(&on, &stable),
        [5, 3, 1, 0],
        "the stable follows the verified weight and never grows back"
    );
    let out = events(&on, "OutOfRotation");
    let down: Vec<(u64, String)> = events(&on, "ScaledDown")
        .into_iter()
        .filter(|(_, m)| m.contains(&stable))
        .collect();
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(down.len(), 3, "{down:?}");
    for ((t_out, m_out), (t_down, m_down)) in out.iter().zip(&down) {
        assert!(t_out < t_down, "{m_out} must come before {m_down}");
        assert!(m_down.contains("had left its target groups"), "{m_down}");
    }
    let promoted = events(&on, "Promoted")[0].0;
    let over = overloaded(&on, "stable-svc", &stable, 5.0);
    assert!(
        over.iter().all(|t| *t >= promoted),
        "the ALB sent the stable more than its ready pods carry at {over:?}"
    );

    let off = run("dynamic-stable-scale", false);
    assert!(
        off.requests_lost > 0.0,
        "without the gates the removed stable pods still get requests"
    );
}

#[test]
fn an_abort_with_dynamic_stable_scale_moves_weight_only_as_fast_as_the_stable_serves() {
    let on = run("dynamic-stable-abort", true);
    assert_eq!(on.requests_lost, 0.0, "lost with the gates on");
    let stable = first_stable(&on);
    assert_eq!(
        desired(&on, &stable),
        [5, 3, 1, 0, 5],
        "scaled down by the verified weight, then up first on abort"
    );
    assert!(
        overloaded(&on, "stable-svc", &stable, 5.0).is_empty(),
        "the ALB sent the stable more than its ready pods carry"
    );
    let held = on
        .timeline
        .iter()
        .find(|r| r.message.contains("on the way back to 0"))
        .expect("the weight is held while the stable scales up");
    assert_eq!(held.desired_canary, Some(100), "{}", held.message);
    assert_eq!(
        held.phase, "Degraded",
        "an aborted Rollout is Degraded at once"
    );
    assert!(
        held.message.starts_with("RolloutAborted: "),
        "{}",
        held.message
    );
    let last = on.timeline.last().unwrap();
    assert_eq!(last.phase, "Degraded");
    assert_eq!(last.alb_share.get("stable-svc").copied(), Some(100.0));

    let off = run("dynamic-stable-abort", false);
    assert!(off.requests_lost > 0.0, "without the gates the abort loses");
}

/// The canary weights verified on the ALB, in order, without repeats.
fn verified_weights(trace: &Trace) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for w in trace
        .timeline
        .iter()
        .filter(|r| r.verified)
        .filter_map(|r| r.desired_canary)
    {
        if out.last() != Some(&w) {
            out.push(w);
        }
    }
    out
}

fn said(trace: &Trace, text: &str) -> bool {
    trace.timeline.iter().any(|r| r.message.contains(text))
}

#[test]
fn a_new_revision_under_traffic_takes_the_canary_weight_to_zero_before_the_service_moves() {
    let on = run("revision-under-traffic", true);
    assert_eq!(on.requests_lost, 0.0, "lost with the gates on");
    assert_eq!(
        verified_weights(&on),
        [0, 50, 0, 50, 100, 0],
        "50 for yellow, 0 before the canary service moves to green, 50 and 100 for green, 0 after promotion"
    );
    assert!(
        said(&on, "healthy targets of"),
        "green's weight waits for its targets' health checks"
    );
    let off = run("revision-under-traffic", false);
    assert!(
        off.requests_lost > 0.0,
        "moving the selector under traffic loses"
    );
}

#[test]
fn the_weight_goes_back_to_the_stable_only_onto_healthy_targets() {
    let on = run("health-checks", true);
    assert_eq!(on.requests_lost, 0.0, "lost with the gates on");
    let promoted = events(&on, "Promoted")[0].0;
    let gated = on
        .timeline
        .iter()
        .find(|r| r.t >= promoted && r.message.contains("healthy targets of"))
        .expect("the flip back waits for healthy targets");
    assert!(gated.message.contains("stable-svc"), "{}", gated.message);
    let off = run("health-checks", false);
    assert!(off.requests_lost > 0.0, "registered is not healthy");
}

#[test]
fn a_blue_green_switch_keeps_the_old_pods_selected_until_the_new_are_healthy() {
    let on = run("blue-green-health-checks", true);
    assert_eq!(on.requests_lost, 0.0, "lost with the gates on");
    assert!(said(
        &on,
        "until every new pod is healthy in its target groups"
    ));
    assert_eq!(events(&on, "Promoted").len(), 1);
    let off = run("blue-green-health-checks", false);
    assert!(
        off.requests_lost > 0.0,
        "switching the selector at once loses"
    );
}

#[test]
fn a_pre_stop_hook_longer_than_the_lag_saves_ungated_scale_downs_and_albatross_needs_none() {
    let without_hook = run("dynamic-stable-scale", false);
    let with_hook = run("prestop-hook", false);
    let stable = first_stable(&with_hook);
    assert_eq!(
        desired(&with_hook, &stable),
        desired(&without_hook, &stable),
        "the same scale-downs"
    );
    assert!(
        with_hook.requests_lost < without_hook.requests_lost,
        "the hook saves what the removed pods would have lost: {} vs {}",
        with_hook.requests_lost,
        without_hook.requests_lost
    );
    for name in ["dynamic-stable-scale", "prestop-hook"] {
        assert_eq!(run(name, true).requests_lost, 0.0, "{name} with the gates");
    }
}
