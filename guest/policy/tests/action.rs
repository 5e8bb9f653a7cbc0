//! The action annotation: Argo's bytes on build, the AWS Load Balancer Controller's leniency on
//! parse, and header routes.

mod common;

use albatross_policy::action::{ActionStickiness, ActionTargetGroup};
use albatross_policy::{StrategyError, api};
use common::{canary, ping_pong, remove, set};
use serde_json::json;

fn value(weight: u32, rollout: &serde_json::Value) -> (String, String) {
    let a = api::build_action(&rollout.to_string(), weight).unwrap();
    (a.key, a.value)
}

#[test]
fn argo_bytes_for_a_weight() {
    let (key, v) = value(10, &canary());
    assert_eq!(key, "alb.ingress.kubernetes.io/actions.root-svc");
    assert_eq!(
        v,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary-svc","ServicePort":"80","Weight":10},{"ServiceName":"stable-svc","ServicePort":"80","Weight":90}]}}"#
    );
}

#[test]
fn weight_0_and_100_keep_both_target_groups() {
    let (_, v0) = value(0, &canary());
    assert!(
        v0.contains(r#"{"ServiceName":"canary-svc","ServicePort":"80","Weight":0}"#),
        "{v0}"
    );
    assert!(
        v0.contains(r#"{"ServiceName":"stable-svc","ServicePort":"80","Weight":100}"#),
        "{v0}"
    );
    let (_, v100) = value(100, &canary());
    assert!(
        v100.contains(
            r#""Weight":100},{"ServiceName":"stable-svc","ServicePort":"80","Weight":0}"#
        ),
        "{v100}"
    );
    assert!(matches!(
        api::build_action(&canary().to_string(), 101),
        Err(StrategyError::InvalidSpec(f)) if f.field == "canaryWeight"
    ));
}

#[test]
fn root_service_omitted_names_the_action_after_stable() {
    let r = remove(
        canary(),
        "/spec/strategy/canary/trafficRouting/alb/rootService",
    );
    assert_eq!(
        value(5, &r).0,
        "alb.ingress.kubernetes.io/actions.stable-svc"
    );
}

#[test]
fn custom_prefix_and_port() {
    let r = set(
        canary(),
        "/spec/strategy/canary/trafficRouting/alb/annotationPrefix",
        json!("custom.alb.ingress.kubernetes.io"),
    );
    let r = set(
        r,
        "/spec/strategy/canary/trafficRouting/alb/servicePort",
        json!(443),
    );
    let (key, v) = value(30, &r);
    assert_eq!(key, "custom.alb.ingress.kubernetes.io/actions.root-svc");
    assert!(v.contains(r#""ServicePort":"443""#));
}

#[test]
fn stickiness_only_when_enabled() {
    let at = "/spec/strategy/canary/trafficRouting/alb/stickinessConfig";
    let on = set(
        canary(),
        at,
        json!({"enabled": true, "durationSeconds": 3600}),
    );
    assert!(value(20, &on).1.ends_with(r#"{"ServiceName":"stable-svc","ServicePort":"80","Weight":80}],"TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":3600}}}"#));
    let off = set(
        canary(),
        at,
        json!({"enabled": false, "durationSeconds": 3600}),
    );
    assert!(!value(20, &off).1.contains("Stickiness"));
}

#[test]
fn ping_pong_roles_decide_the_services() {
    let (key, v) = value(10, &ping_pong());
    assert_eq!(key, "alb.ingress.kubernetes.io/actions.root-svc");
    // stablePingPong empty counts as not-ping: pong is stable, ping is canary.
    assert!(v.starts_with(r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"ping-svc","ServicePort":"80","Weight":10},{"ServiceName":"pong-svc""#), "{v}");
    let ping_stable = set(ping_pong(), "/status/canary/stablePingPong", json!("ping"));
    assert!(value(10, &ping_stable).1.contains(
        r#"[{"ServiceName":"pong-svc","ServicePort":"80","Weight":10},{"ServiceName":"ping-svc""#
    ));
    // Ping-pong beside canaryService/stableService: the pair wins.
    let both = set(
        canary(),
        "/spec/strategy/canary/pingPong",
        json!({"pingService": "ping-svc", "pongService": "pong-svc"}),
    );
    assert!(value(10, &both).1.contains(r#""ServiceName":"ping-svc""#));
}

#[test]
fn several_ingresses_share_one_annotation() {
    let r = remove(canary(), "/spec/strategy/canary/trafficRouting/alb/ingress");
    let r = set(
        r,
        "/spec/strategy/canary/trafficRouting/alb/ingresses",
        json!(["web", "api"]),
    );
    assert_eq!(value(40, &r), value(40, &canary()));
}

#[test]
fn parse_reads_what_argo_writes() {
    let (_, v) = value(
        10,
        &set(
            canary(),
            "/spec/strategy/canary/trafficRouting/alb/stickinessConfig",
            json!({"enabled": true, "durationSeconds": 60}),
        ),
    );
    let a = api::parse_action(&v).unwrap();
    assert_eq!(a.target_groups.len(), 2);
    assert_eq!(
        a.target_groups[0].service_name.as_deref(),
        Some("canary-svc")
    );
    assert_eq!(a.target_groups[0].service_port.as_deref(), Some("80"));
    assert_eq!(a.target_groups[0].weight, Some(10));
    assert_eq!(
        a.stickiness,
        Some(ActionStickiness {
            enabled: true,
            duration_seconds: Some(60)
        })
    );
}

#[test]
fn parse_accepts_the_controllers_forms() {
    let lower = r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"a","servicePort":8080,"weight":3},{"serviceName":"b","servicePort":"http","weight":1}]}}"#;
    let a = api::parse_action(lower).unwrap();
    assert_eq!(a.target_groups[0].service_port.as_deref(), Some("8080"));
    assert_eq!(a.target_groups[1].service_port.as_deref(), Some("http"));
    let by_arn = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/1","Weight":50},{"TargetGroupName":"y","Weight":50}]}}"#;
    let a = api::parse_action(by_arn).unwrap();
    assert_eq!(
        a.target_groups[0],
        ActionTargetGroup {
            target_group_arn: Some(
                "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/1".into()
            ),
            weight: Some(50),
            ..Default::default()
        }
    );
    assert_eq!(a.target_groups[1].target_group_name.as_deref(), Some("y"));
    let single = r#"{"Type":"forward","TargetGroupArn":"arn:tg"}"#;
    assert_eq!(
        api::parse_action(single).unwrap().target_groups[0]
            .target_group_arn
            .as_deref(),
        Some("arn:tg")
    );
}

#[test]
fn parse_follows_the_controllers_rules_where_they_differ_from_a_plain_reading() {
    // Two or more target groups: every one needs a weight (a null one is none).
    for missing in [
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80,"Weight":1},{"ServiceName":"b","ServicePort":80}]}}"#,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80,"Weight":null},{"ServiceName":"b","ServicePort":80,"Weight":1}]}}"#,
    ] {
        assert!(
            matches!(api::parse_action(missing), Err(StrategyError::Malformed(m)) if m.contains("Weight")),
            "accepted {missing}"
        );
    }
    let one = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80}]}}"#;
    assert_eq!(
        api::parse_action(one).unwrap().target_groups[0].weight,
        None
    );
    // The simplified form by name, like the one by ARN.
    let by_name = r#"{"type":"forward","targetGroupName":"my-tg"}"#;
    assert_eq!(
        api::parse_action(by_name).unwrap().target_groups[0]
            .target_group_name
            .as_deref(),
        Some("my-tg")
    );
    // Both an ARN and a name: accepted, the ARN wins.
    let both = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupARN":"arn:tg","TargetGroupName":"n"}]}}"#;
    let g = &api::parse_action(both).unwrap().target_groups[0];
    assert_eq!(g.target_group_arn.as_deref(), Some("arn:tg"));
    assert_eq!(g.target_group_name, None);
    // Keys equal but for case: the last in the text wins, whichever spelling it has.
    let twice = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80,"Weight":10,"weight":90}]}}"#;
    assert_eq!(
        api::parse_action(twice).unwrap().target_groups[0].weight,
        Some(90)
    );
    let twice = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80,"weight":90,"Weight":10}]}}"#;
    assert_eq!(
        api::parse_action(twice).unwrap().target_groups[0].weight,
        Some(10)
    );
}

#[test]
fn parse_refuses_malformed_annotations() {
    for bad in [
        "",
        "not json",
        "[]",
        r#"{"ForwardConfig":{"TargetGroups":[]}}"#,
        r#"{"Type":"redirect","RedirectConfig":{}}"#,
        r#"{"Type":"forward"}"#,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a"}]}}"#,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80,"TargetGroupName":"b"}]}}"#,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80,"Weight":1000}]}}"#,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80,"Weight":-1}]}}"#,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80.5}]}}"#,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":"x"}}"#,
    ] {
        assert!(
            matches!(api::parse_action(bad), Err(StrategyError::Malformed(_))),
            "accepted {bad:?}"
        );
    }
}

/// The canary fixture with a managed route "beta" set by step 1 with these matches.
fn with_beta_route(matches: serde_json::Value) -> serde_json::Value {
    let r = set(
        canary(),
        "/spec/strategy/canary/trafficRouting/managedRoutes",
        json!([{"name": "beta"}]),
    );
    set(
        r,
        "/spec/strategy/canary/steps/1",
        json!({"setHeaderRoute": {"name": "beta", "match": matches}}),
    )
}

#[test]
fn matches_on_one_header_make_one_condition_with_every_value() {
    let r = with_beta_route(json!([
        {"headerName": "X-Group", "headerValue": {"exact": "a"}},
        {"headerName": "X-Beta", "headerValue": {"exact": "yes"}},
        {"headerName": "X-Group", "headerValue": {"exact": "b"}}
    ]));
    let a = api::build_header_route(&r.to_string(), "beta").unwrap();
    // ALB ANDs conditions: two conditions on X-Group (a, then b) could never both match.
    assert_eq!(
        a[1].value,
        r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Group","values":["a","b"]}},{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Beta","values":["yes"]}}]"#
    );
}

#[test]
fn header_route_annotations() {
    let r = with_beta_route(json!([
        {"headerName": "X-Beta", "headerValue": {"exact": "yes"}},
        {"headerName": "User-Agent", "headerValue": {"prefix": "Mozilla"}}
    ]));
    let a = api::build_header_route(&r.to_string(), "beta").unwrap();
    assert_eq!(a[0].key, "alb.ingress.kubernetes.io/actions.beta");
    assert_eq!(
        a[0].value,
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary-svc","ServicePort":"80","Weight":100}]}}"#
    );
    assert_eq!(a[1].key, "alb.ingress.kubernetes.io/conditions.beta");
    assert_eq!(
        a[1].value,
        r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Beta","values":["yes"]}},{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"User-Agent","values":["Mozilla*"]}}]"#
    );
    let parsed = api::parse_conditions(&a[1].value).unwrap();
    assert_eq!(parsed[1].header_name, "User-Agent");
    assert_eq!(parsed[1].values, vec!["Mozilla*".to_string()]);
    assert!(api::build_header_route(&r.to_string(), "nope").is_err());
    let removal = set(
        r,
        "/spec/strategy/canary/steps/1/setHeaderRoute/match",
        json!([]),
    );
    assert!(
        api::build_header_route(&removal.to_string(), "beta")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn conditions_parser_is_lenient_on_case_and_strict_on_shape() {
    let lower =
        r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X","values":["a","b"]}}]"#;
    assert_eq!(api::parse_conditions(lower).unwrap()[0].values.len(), 2);
    for bad in [
        r#"{}"#,
        r#"[{"Field":"path-pattern","PathPatternConfig":{"Values":["/x"]}}]"#,
        r#"[{"Field":"http-header"}]"#,
        r#"[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName":"X","Values":[1]}}]"#,
        r#"[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName":"X","Values":["a"],"RegexValues":["b.*"]}}]"#,
    ] {
        assert!(
            matches!(api::parse_conditions(bad), Err(StrategyError::Malformed(_))),
            "{bad}"
        );
    }
}

#[test]
fn a_repeated_object_key_merges_as_go_decodes_it() {
    let split = r#"{"Type":"forward","forwardConfig":{"TargetGroups":[{"ServiceName":"a","ServicePort":80}]},"ForwardConfig":{"TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":60}}}"#;
    let a = api::parse_action(split).unwrap();
    assert_eq!(a.target_groups.len(), 1, "the target groups survived");
    assert!(a.stickiness.is_some_and(|s| s.enabled));
}
