//! The Argo Rollouts quirks Albatross fixes (README, "Where Albatross differs from Argo
//! Rollouts"): a pass updates every Ingress of the Rollout even when the first needs no change,
//! and deleting a Rollout whose action is named after rootService, or that uses ping-pong,
//! still puts the action back to the stable at 100.

use albatross_tests::{Way, partial, reconcile_once, scenario};
use serde_json::{Value, json};

fn action(world: &albatross_sim::World, ingress: &str, key: &str) -> Option<String> {
    world.store.get("Ingress", "shop", ingress)?["metadata"]["annotations"][key]
        .as_str()
        .map(str::to_string)
}

fn weights(action: &str) -> Vec<(String, u64)> {
    let v: Value = serde_json::from_str(action).expect("JSON");
    v["ForwardConfig"]["TargetGroups"]
        .as_array()
        .expect("target groups")
        .iter()
        .map(|g| {
            (
                g["ServiceName"].as_str().unwrap_or("").to_string(),
                g["Weight"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn a_pass_updates_the_second_ingress_when_the_first_needs_nothing() {
    const KEY: &str = "alb.ingress.kubernetes.io/actions.stable-svc";
    let world = partial(&scenario("multiple-ingresses"), Way::Wasm, 100);
    let wanted = action(&world, "web", KEY).expect("the action on web");
    assert!(
        weights(&wanted)
            .iter()
            .any(|(s, w)| s == "canary-svc" && *w > 0),
        "{wanted}"
    );
    let stale = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary-svc","ServicePort":"80","Weight":0},{"ServiceName":"stable-svc","ServicePort":"80","Weight":100}]}}"#;
    let shared = albatross_sim::SharedWorld::new(world);
    shared
        .lock()
        .store
        .patch(
            "Ingress",
            "shop",
            "web-internal",
            &json!({"metadata": {"annotations": {KEY: stale}}}),
        )
        .expect("patch");
    reconcile_once(&shared, Way::Wasm, "shop", "guestbook");
    let w = shared.lock();
    assert_eq!(action(&w, "web", KEY).as_deref(), Some(wanted.as_str()));
    assert_eq!(
        action(&w, "web-internal", KEY).as_deref(),
        Some(wanted.as_str()),
        "the second Ingress was left behind"
    );
}

#[test]
fn deleting_a_ping_pong_rollout_puts_the_root_action_back_to_the_stable() {
    const KEY: &str = "alb.ingress.kubernetes.io/actions.root-svc";
    let world = partial(&scenario("ping-pong"), Way::Wasm, 140);
    let during = weights(&action(&world, "web", KEY).expect("the action"));
    assert!(
        during.iter().all(|(_, w)| *w < 100),
        "mid-rollout: {during:?}"
    );
    // Argo's rule: `ping` makes ping-svc the stable, anything else (unset included) pong-svc.
    let rollout = world
        .store
        .get("Rollout", "shop", "guestbook")
        .expect("the Rollout");
    let stable = match rollout["status"]["canary"]["stablePingPong"].as_str() {
        Some("ping") => "ping-svc",
        _ => "pong-svc",
    };
    let shared = albatross_sim::SharedWorld::new(world);
    shared
        .lock()
        .store
        .delete("Rollout", "shop", "guestbook")
        .expect("delete");
    let out = reconcile_once(&shared, Way::Wasm, "shop", "guestbook");
    assert_eq!(
        out["Ok"]["events"][0]["reason"],
        json!("TrafficReleased"),
        "{out}"
    );
    let after = weights(&action(&shared.lock(), "web", KEY).expect("the action"));
    for (service, weight) in &after {
        let want = if service == stable { 100 } else { 0 };
        assert_eq!(*weight, want, "{service} in {after:?}");
    }
}
