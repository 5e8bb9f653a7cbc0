//! Spec validation: each invalid Rollout is refused with the field named.

mod common;

use albatross_policy::{StrategyError, api};
use common::{canary, ping_pong, remove, set};
use serde_json::{Value, json};

fn field_of(rollout: &Value) -> String {
    match api::validate(&rollout.to_string()) {
        Err(StrategyError::InvalidSpec(f)) => {
            assert_eq!(f.object, "Rollout shop/guestbook");
            assert!(!f.message.is_empty());
            f.field
        }
        other => panic!("expected invalid-spec, got {other:?}"),
    }
}

#[test]
fn accepts_the_fixtures() {
    api::validate(&canary().to_string()).unwrap();
    let mut pp = ping_pong();
    pp = remove(pp, "/spec/strategy/canary/trafficRouting/alb/rootService");
    assert_eq!(
        field_of(&pp),
        "spec.strategy.canary.trafficRouting.alb.rootService"
    );
    api::validate(&ping_pong().to_string()).unwrap();
}

#[test]
fn weight_outside_0_to_100() {
    for w in [-1, 101, 1000] {
        let r = set(
            canary(),
            "/spec/strategy/canary/steps/2/setWeight",
            json!(w),
        );
        assert_eq!(field_of(&r), "spec.strategy.canary.steps[2].setWeight");
    }
    for w in [0, 100] {
        let r = set(
            canary(),
            "/spec/strategy/canary/steps/2/setWeight",
            json!(w),
        );
        api::validate(&r.to_string()).unwrap();
    }
}

#[test]
fn ingress_and_ingresses_together_or_neither() {
    let both = set(
        canary(),
        "/spec/strategy/canary/trafficRouting/alb/ingresses",
        json!(["a", "b"]),
    );
    assert_eq!(
        field_of(&both),
        "spec.strategy.canary.trafficRouting.alb.ingresses"
    );
    let neither = remove(canary(), "/spec/strategy/canary/trafficRouting/alb/ingress");
    assert_eq!(
        field_of(&neither),
        "spec.strategy.canary.trafficRouting.alb.ingress"
    );
    let many = set(
        neither,
        "/spec/strategy/canary/trafficRouting/alb/ingresses",
        json!(["a", "b"]),
    );
    api::validate(&many.to_string()).unwrap();
}

#[test]
fn missing_services() {
    let r = remove(canary(), "/spec/strategy/canary/canaryService");
    assert_eq!(field_of(&r), "spec.strategy.canary.canaryService");
    let r = remove(canary(), "/spec/strategy/canary/stableService");
    assert_eq!(field_of(&r), "spec.strategy.canary.stableService");
    let r = set(
        canary(),
        "/spec/strategy/canary/stableService",
        json!("canary-svc"),
    );
    assert_eq!(field_of(&r), "spec.strategy.canary.stableService");
    let r = remove(ping_pong(), "/spec/strategy/canary/pingPong/pongService");
    assert_eq!(field_of(&r), "spec.strategy.canary.pingPong.pongService");
}

#[test]
fn ping_pong_beside_canary_and_stable_is_allowed() {
    let r = set(
        canary(),
        "/spec/strategy/canary/pingPong",
        json!({"pingService": "p1", "pongService": "p2"}),
    );
    api::validate(&r.to_string()).unwrap();
}

#[test]
fn stickiness_duration_bounds() {
    let at = "/spec/strategy/canary/trafficRouting/alb/stickinessConfig";
    for d in [0, -5, 604_801] {
        let r = set(canary(), at, json!({"enabled": true, "durationSeconds": d}));
        assert_eq!(
            field_of(&r),
            "spec.strategy.canary.trafficRouting.alb.stickinessConfig.durationSeconds"
        );
    }
    for d in [1, 3600, 604_800] {
        let r = set(canary(), at, json!({"enabled": true, "durationSeconds": d}));
        api::validate(&r.to_string()).unwrap();
    }
    let off = set(
        canary(),
        at,
        json!({"enabled": false, "durationSeconds": 0}),
    );
    api::validate(&off.to_string()).unwrap();
}

#[test]
fn steps_set_exactly_one_thing() {
    let r = set(
        canary(),
        "/spec/strategy/canary/steps/0",
        json!({"setWeight": 5, "pause": {}}),
    );
    assert_eq!(field_of(&r), "spec.strategy.canary.steps[0]");
    let r = set(canary(), "/spec/strategy/canary/steps/0", json!({}));
    assert_eq!(field_of(&r), "spec.strategy.canary.steps[0]");
    let r = set(
        canary(),
        "/spec/strategy/canary/steps/1/pause/duration",
        json!("ten minutes"),
    );
    assert_eq!(field_of(&r), "spec.strategy.canary.steps[1].pause.duration");
    let r = set(
        canary(),
        "/spec/strategy/canary/steps/0",
        json!({"setCanaryScale": {"weight": 10, "replicas": 2}}),
    );
    assert_eq!(field_of(&r), "spec.strategy.canary.steps[0].setCanaryScale");
    let r = set(
        canary(),
        "/spec/strategy/canary/steps/0",
        json!({"setCanaryScale": {"weight": 150}}),
    );
    assert_eq!(
        field_of(&r),
        "spec.strategy.canary.steps[0].setCanaryScale.weight"
    );
}

#[test]
fn header_routes_must_be_managed_and_not_regex() {
    let step = json!({"setHeaderRoute": {"name": "beta", "match": [{"headerName": "X-Beta", "headerValue": {"exact": "1"}}]}});
    let r = set(canary(), "/spec/strategy/canary/steps/0", step.clone());
    assert_eq!(
        field_of(&r),
        "spec.strategy.canary.steps[0].setHeaderRoute.name"
    );
    let r = set(
        r,
        "/spec/strategy/canary/trafficRouting/managedRoutes",
        json!([{"name": "beta"}]),
    );
    api::validate(&r.to_string()).unwrap();
    let r = set(
        r,
        "/spec/strategy/canary/steps/0/setHeaderRoute/match/0/headerValue",
        json!({"regex": "1.*"}),
    );
    assert_eq!(
        field_of(&r),
        "spec.strategy.canary.steps[0].setHeaderRoute.match[0].headerValue.regex"
    );
}

#[test]
fn strategy_and_numbers() {
    let r = set(
        canary(),
        "/spec/strategy/blueGreen",
        json!({"activeService": "a"}),
    );
    assert_eq!(field_of(&r), "spec.strategy");
    let r = set(canary(), "/spec/replicas", json!(-1));
    assert_eq!(field_of(&r), "spec.replicas");
    let r = set(
        canary(),
        "/spec/strategy/canary/trafficRouting/alb/servicePort",
        json!(0),
    );
    assert_eq!(
        field_of(&r),
        "spec.strategy.canary.trafficRouting.alb.servicePort"
    );
    let r = set(
        canary(),
        "/spec/strategy/canary/scaleDownDelaySeconds",
        json!(-3),
    );
    assert_eq!(field_of(&r), "spec.strategy.canary.scaleDownDelaySeconds");
    let r = set(canary(), "/spec/strategy/canary/maxSurge", json!("abc"));
    assert_eq!(field_of(&r), "spec.strategy.canary.maxSurge");
    let r = set(
        set(canary(), "/spec/strategy/canary/maxSurge", json!(0)),
        "/spec/strategy/canary/maxUnavailable",
        json!("0%"),
    );
    assert_eq!(field_of(&r), "spec.strategy.canary.maxUnavailable");
    let r = set(
        canary(),
        "/spec/strategy/canary/trafficRouting/alb/annotationPrefix",
        json!("bad/prefix"),
    );
    assert_eq!(
        field_of(&r),
        "spec.strategy.canary.trafficRouting.alb.annotationPrefix"
    );
    let r = remove(canary(), "/spec/strategy/canary/trafficRouting");
    assert_eq!(field_of(&r), "spec.strategy.canary.trafficRouting.alb");
}

#[test]
fn blue_green_rules() {
    let bg = |v: Value| {
        set(
            remove(canary(), "/spec/strategy/canary"),
            "/spec/strategy/blueGreen",
            v,
        )
    };
    api::validate(&bg(json!({"activeService": "active", "previewService": "preview", "autoPromotionSeconds": 30})).to_string()).unwrap();
    assert_eq!(
        field_of(&bg(json!({"previewService": "preview"}))),
        "spec.strategy.blueGreen.activeService"
    );
    assert_eq!(
        field_of(&bg(json!({"activeService": "a", "previewService": "a"}))),
        "spec.strategy.blueGreen.previewService"
    );
    assert_eq!(
        field_of(&bg(
            json!({"activeService": "a", "previewReplicaCount": -1})
        )),
        "spec.strategy.blueGreen.previewReplicaCount"
    );
}

#[test]
fn type_errors_name_the_field_and_junk_is_malformed() {
    let r = set(
        canary(),
        "/spec/strategy/canary/steps/0/setWeight",
        json!("ten"),
    );
    let f = match api::validate(&r.to_string()) {
        Err(StrategyError::InvalidSpec(f)) => f.field,
        other => panic!("{other:?}"),
    };
    assert!(f.contains("steps[0].setWeight"), "{f}");
    assert!(matches!(
        api::validate("{not json"),
        Err(StrategyError::Malformed(_))
    ));
}

#[test]
fn argo_features_albatross_does_not_implement_are_refused_by_name() {
    for (pointer, field) in [
        (
            "/spec/strategy/canary/analysis",
            "spec.strategy.canary.analysis",
        ),
        (
            "/spec/strategy/canary/steps/1/analysis",
            "spec.strategy.canary.steps[1].analysis",
        ),
        (
            "/spec/strategy/canary/steps/0/experiment",
            "spec.strategy.canary.steps[0].experiment",
        ),
        (
            "/spec/strategy/canary/antiAffinity",
            "spec.strategy.canary.antiAffinity",
        ),
        (
            "/spec/strategy/canary/canaryMetadata",
            "spec.strategy.canary.canaryMetadata",
        ),
        (
            "/spec/strategy/canary/trafficRouting/nginx",
            "spec.strategy.canary.trafficRouting.nginx",
        ),
        (
            "/spec/strategy/canary/trafficRouting/plugins",
            "spec.strategy.canary.trafficRouting.plugins",
        ),
        ("/spec/workloadRef", "spec.workloadRef"),
    ] {
        let r = set(
            canary(),
            pointer,
            json!({"templates": [{"templateName": "x"}]}),
        );
        assert_eq!(field_of(&r), field, "{pointer}");
        match api::validate(&r.to_string()) {
            Err(StrategyError::InvalidSpec(f)) => {
                assert!(f.message.contains("does not implement"), "{}", f.message)
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_empty_root_service_means_unset() {
    let r = set(
        canary(),
        "/spec/strategy/canary/trafficRouting/alb/rootService",
        json!(""),
    );
    api::validate(&r.to_string()).unwrap();
    let rollout = albatross_policy::spec::Rollout::from_json(&r.to_string()).unwrap();
    assert_eq!(
        albatross_policy::action::action_key(&rollout).unwrap(),
        "alb.ingress.kubernetes.io/actions.stable-svc",
        "the action is named after stableService"
    );
}

#[test]
fn max_traffic_weight_is_refused_with_alb() {
    let r = set(
        canary(),
        "/spec/strategy/canary/trafficRouting/maxTrafficWeight",
        json!(1000),
    );
    assert_eq!(
        field_of(&r),
        "spec.strategy.canary.trafficRouting.maxTrafficWeight"
    );
}
