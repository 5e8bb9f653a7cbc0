//! The timeline events and world rules that make a run inspectable at its critical seconds:
//! `deleteRollout` through Albatross's finalizer (orphaning or cascading), `patchIngress` under
//! a running canary, the LB controller's own throttling (`lbcThrottling`), and the per-ALB rows
//! with target-health states in the trace.

use albatross_policy::elb::TargetHealthState;
use albatross_sim::runner::{Action, Trace};
use albatross_tests::{Way, events_at, partial, scenario, simulate};
use serde_json::{Value, json};

fn root_action(trace: &Trace) -> Value {
    let text = trace.final_annotations["shop/web"]["alb.ingress.kubernetes.io/actions.root-svc"]
        .as_str()
        .expect("the action annotation")
        .to_string();
    serde_json::from_str(&text).expect("the action is JSON")
}

fn weight_of(action: &Value, service: &str) -> Option<u64> {
    action["ForwardConfig"]["TargetGroups"]
        .as_array()?
        .iter()
        .find(|g| g["ServiceName"] == json!(service))?["Weight"]
        .as_u64()
}

#[test]
fn a_deleted_rollout_gives_its_traffic_back_before_it_goes() {
    let mut s = scenario("delete-rollout");
    // The controller is down when the delete comes: the finalizer holds the Rollout.
    s.events.push(albatross_sim::runner::ScenarioEvent {
        at: 175,
        action: Action::RestartController { down_seconds: 15 },
    });
    let trace = simulate(&s, Way::Wasm, true);
    assert_eq!(trace.requests_lost, 0.0);
    let released = events_at(&trace, "TrafficReleased");
    assert_eq!(released.len(), 1, "{released:?}");
    assert!(
        released[0] >= 190,
        "released at {}, with the controller down",
        released[0]
    );
    let action = root_action(&trace);
    assert_eq!(weight_of(&action, "stable-svc"), Some(100), "{action}");
    assert_eq!(weight_of(&action, "canary-svc").unwrap_or(0), 0, "{action}");

    // Marked deleted at 180, held by the finalizer, gone once the traffic went back.
    let marked = partial(&s, Way::Wasm, 185);
    let rollout = marked
        .store
        .get("Rollout", "shop", "guestbook")
        .expect("held by its finalizer");
    assert_eq!(
        rollout["metadata"]["deletionTimestamp"],
        json!("1970-01-01T00:03:00Z")
    );
    assert_eq!(
        rollout["metadata"]["finalizers"],
        json!(["albatross.io/traffic"])
    );
    let after = partial(&s, Way::Wasm, released[0] + 1);
    assert!(after.store.get("Rollout", "shop", "guestbook").is_none());
    assert_eq!(
        after.store.list("ReplicaSet", "shop").count(),
        2,
        "orphaned ReplicaSets stay"
    );
    assert!(
        after
            .store
            .list("ReplicaSet", "shop")
            .all(|rs| rs["metadata"].get("ownerReferences").is_none())
    );
    let last = trace.timeline.last().expect("a timeline");
    assert!(last.message.starts_with("deleted"), "{last:?}");
}

#[test]
fn a_cascading_delete_takes_the_pods_with_the_rollout() {
    let mut s = scenario("delete-rollout");
    for e in &mut s.events {
        if let Action::DeleteRollout { orphan, .. } = &mut e.action {
            *orphan = false;
        }
    }
    let trace = simulate(&s, Way::Wasm, true);
    let released = events_at(&trace, "TrafficReleased")[0];
    let end = partial(&s, Way::Wasm, released + 5);
    assert_eq!(end.store.list("ReplicaSet", "shop").count(), 0, "collected");
    assert_eq!(end.store.list("Pod", "shop").count(), 0, "collected");
    // Nothing serves the Ingress any more: what the user asked for, and the trace says so.
    assert!(trace.requests_lost > 0.0);
    // (Before the first pods are up, at the start, nothing counts as lost.)
    let first_loss = trace
        .albs
        .iter()
        .find(|r| r.t > 60 && r.lost > 0.0)
        .map(|r| r.t)
        .expect("losses");
    assert!(
        first_loss > released,
        "lost at {first_loss}, released at {released}"
    );
}

#[test]
fn an_ingress_edit_under_a_canary_gets_its_weights_back_only_onto_healthy_targets() {
    let trace = simulate(&scenario("ingress-edit"), Way::Wasm, true);
    assert_eq!(
        trace.requests_lost, 0.0,
        "503s from a weight onto `initial` targets"
    );
    let rows: Vec<_> = trace
        .albs
        .iter()
        .filter(|r| (150..240).contains(&r.t))
        .collect();
    let reverted = rows
        .iter()
        .find(|r| r.share.get("stable-svc") == Some(&100.0))
        .map(|r| r.t)
        .expect("the edit reached the ALB while the controller was down");
    let unused = rows
        .iter()
        .find(|r| {
            r.targets
                .get("canary-svc")
                .is_some_and(|t| t.values().all(|s| *s == TargetHealthState::Unused))
        })
        .map(|r| r.t)
        .expect("the canary's targets went unused");
    let restored = rows
        .iter()
        .find(|r| r.t > reverted && r.share.get("canary-svc") == Some(&50.0))
        .expect("the strategy wrote 50% back");
    assert!(
        restored.t > unused && restored.t >= 178,
        "{reverted} → {}",
        restored.t
    );
    let canary = &restored.targets["canary-svc"];
    assert!(
        canary
            .values()
            .filter(|s| **s == TargetHealthState::Healthy)
            .count()
            >= 3,
        "50% went back onto {canary:?}"
    );
    let held: Vec<_> = trace
        .timeline
        .iter()
        .filter(|r| r.message.starts_with("before canary weight 50"))
        .collect();
    assert!(!held.is_empty(), "the gate held the weight");
    assert!(events_at(&trace, "Promoted").iter().all(|t| *t >= 240));
}

#[test]
fn a_throttled_lb_controller_holds_the_step_until_the_weight_lands() {
    let trace = simulate(&scenario("lbc-throttling"), Way::Wasm, true);
    assert_eq!(trace.requests_lost, 0.0);
    assert!(
        events_at(&trace, "FailedDeployModel")
            .iter()
            .any(|t| (62..150).contains(t))
    );
    let verified_20 = trace
        .timeline
        .iter()
        .find(|r| r.desired_canary == Some(20) && r.verified)
        .map(|r| r.t)
        .expect("20% verified");
    assert!(
        verified_20 >= 150,
        "verified at {verified_20}, while throttled"
    );
    let canary_on_alb = trace
        .albs
        .iter()
        .find(|r| r.share.get("canary-svc").is_some_and(|s| *s > 0.0))
        .map(|r| r.t)
        .expect("the canary got traffic");
    assert!(canary_on_alb >= 150, "{canary_on_alb}");
    let asked_50 = trace
        .timeline
        .iter()
        .find(|r| r.desired_canary == Some(50))
        .map(|r| r.t)
        .expect("50% asked");
    assert!(
        asked_50 >= verified_20 + 30,
        "the 30 s pause counts from verification"
    );
}

#[test]
fn the_trace_shows_each_target_and_its_health_when_it_changes() {
    let trace = simulate(&scenario("basic-canary"), Way::Wasm, true);
    assert!(!trace.albs.is_empty());
    // The canary's new targets appear `initial`, then turn `healthy`.
    let canary_states: Vec<(u64, TargetHealthState)> = trace
        .albs
        .iter()
        .filter_map(|r| {
            let targets = r.targets.get("canary-svc")?;
            let first_new = targets.values().next()?;
            Some((r.t, *first_new))
        })
        .collect();
    assert!(
        canary_states
            .iter()
            .any(|(_, s)| *s == TargetHealthState::Initial)
            && canary_states
                .iter()
                .any(|(_, s)| *s == TargetHealthState::Healthy),
        "{canary_states:?}"
    );
    // A row only when something changed.
    for pair in trace.albs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.share != b.share
                || a.lost != b.lost
                || a.targets != b.targets
                || a.requests != b.requests,
            "two identical rows at {} and {}",
            a.t,
            b.t
        );
    }
}
