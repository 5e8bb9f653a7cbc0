//! Ping-pong roles and the swap decision.

mod common;

use albatross_policy::api;
use common::{canary, ping_pong, set};
use serde_json::json;

#[test]
fn roles_from_stable_ping_pong() {
    let roles = api::ping_pong_roles(&ping_pong().to_string())
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            roles.stable_service.as_str(),
            roles.canary_service.as_str(),
            roles.stable_ping_pong.as_str()
        ),
        ("pong-svc", "ping-svc", "pong")
    );
    let ping = set(ping_pong(), "/status/canary/stablePingPong", json!("ping"));
    let roles = api::ping_pong_roles(&ping.to_string()).unwrap().unwrap();
    assert_eq!(
        (roles.stable_service.as_str(), roles.canary_service.as_str()),
        ("ping-svc", "pong-svc")
    );
    assert!(
        api::ping_pong_roles(&canary().to_string())
            .unwrap()
            .is_none()
    );
}

#[test]
fn swap_only_after_full_promotion_verified_at_100() {
    let done = set(ping_pong(), "/status/currentStepIndex", json!(4));
    let d = api::decide_ping_pong_swap(&done.to_string(), Some(100)).unwrap();
    assert!(d.swap, "{}", d.reason);
    assert_eq!(d.roles.stable_service, "ping-svc");
    assert_eq!(d.roles.stable_ping_pong, "ping");
    assert_eq!(d.annotations.len(), 1);
    assert_eq!(
        d.annotations[0].key,
        "alb.ingress.kubernetes.io/actions.root-svc"
    );
    assert_eq!(
        d.annotations[0].value,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"pong-svc","ServicePort":"80","Weight":0},{"ServiceName":"ping-svc","ServicePort":"80","Weight":100}]}}"#
    );

    for (case, rollout, verified) in [
        (
            "steps remain",
            set(ping_pong(), "/status/currentStepIndex", json!(2)),
            Some(100),
        ),
        ("not verified", done.clone(), None),
        ("verified below 100", done.clone(), Some(50)),
        (
            "aborted",
            set(done.clone(), "/status/abort", json!(true)),
            Some(100),
        ),
        (
            "already stable",
            set(
                set(done.clone(), "/status/stableRS", json!("abc")),
                "/status/currentPodHash",
                json!("abc"),
            ),
            Some(100),
        ),
    ] {
        let d = api::decide_ping_pong_swap(&rollout.to_string(), verified).unwrap();
        assert!(!d.swap, "{case}: swapped");
        assert!(d.annotations.is_empty(), "{case}");
        assert_eq!(d.roles.stable_service, "pong-svc", "{case}");
    }
    let promoted_full = set(ping_pong(), "/status/promoteFull", json!(true));
    assert!(
        api::decide_ping_pong_swap(&promoted_full.to_string(), Some(100))
            .unwrap()
            .swap
    );
    assert!(api::decide_ping_pong_swap(&canary().to_string(), Some(100)).is_err());
}
