//! Weight and IP verification comparisons.

use albatross_policy::elb::*;
use albatross_policy::verify::{DEFAULT_RESOURCE_TAG, WeightCheck, verify_ips, verify_weights};

const LB: &str = "arn:aws:elasticloadbalancing:us-west-2:1:loadbalancer/app/k8s-shop-web-abc/1";
const CANARY_TG: &str = "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/k8s-shop-canary/1";
const STABLE_TG: &str = "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/k8s-shop-stable/2";

fn rule(arn: &str, canary: Option<u32>, stable: Option<u32>) -> Rule {
    let priority = arn.trim_start_matches('r').to_string();
    let mut groups = Vec::new();
    if let Some(w) = canary {
        groups.push(WeightedTargetGroup {
            target_group_arn: CANARY_TG.into(),
            weight: Some(w),
        });
    }
    if let Some(w) = stable {
        groups.push(WeightedTargetGroup {
            target_group_arn: STABLE_TG.into(),
            weight: Some(w),
        });
    }
    Rule {
        arn: arn.into(),
        priority,
        actions: vec![RuleAction {
            action_type: "forward".into(),
            forward: Some(ForwardConfig {
                target_groups: groups,
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn tg(arn: &str, service: &str) -> (TargetGroup, ResourceTags) {
    (
        TargetGroup {
            arn: arn.into(),
            name: service.into(),
            target_type: "ip".into(),
            load_balancer_arns: vec![LB.into()],
            ..Default::default()
        },
        ResourceTags {
            resource_arn: arn.into(),
            tags: vec![
                Tag {
                    key: "ingress.k8s.aws/stack".into(),
                    value: "shop/web".into(),
                },
                Tag {
                    key: DEFAULT_RESOURCE_TAG.into(),
                    value: format!("shop/web-{service}:80"),
                },
            ],
        },
    )
}

fn check(desired: u32, rules: Vec<Rule>) -> WeightCheck {
    let (c, ct) = tg(CANARY_TG, "canary-svc");
    let (s, st) = tg(STABLE_TG, "stable-svc");
    WeightCheck {
        ingress_namespace: "shop".into(),
        ingress_name: "web".into(),
        canary_service: "canary-svc".into(),
        stable_service: "stable-svc".into(),
        service_port: 80,
        desired_canary_weight: desired,
        resource_tag_key: DEFAULT_RESOURCE_TAG.into(),
        required_tags: Vec::new(),
        load_balancer: LoadBalancer {
            arn: LB.into(),
            name: "k8s-shop-web-abc".into(),
            ..Default::default()
        },
        rules,
        target_groups: vec![c, s],
        tags: vec![ct, st],
    }
}

#[test]
fn verified_when_every_rule_matches() {
    let v = verify_weights(&check(
        10,
        vec![
            rule("r1", Some(10), Some(90)),
            rule("r2", Some(10), Some(90)),
        ],
    ));
    assert!(v.verified, "{:?}", v.differences);
    assert_eq!(v.canary_target_group_arn.as_deref(), Some(CANARY_TG));
    assert_eq!(v.stable_target_group_arn.as_deref(), Some(STABLE_TG));
    assert_eq!(v.rules.len(), 2);
}

#[test]
fn a_lagging_rule_is_reported() {
    let v = verify_weights(&check(
        10,
        vec![
            rule("r1", Some(10), Some(90)),
            rule("r2", Some(0), Some(100)),
        ],
    ));
    assert!(!v.verified);
    assert_eq!(v.rules[1].observed_canary, Some(0));
    assert_eq!(v.rules[1].observed_stable, Some(100));
    assert!(!v.rules[1].matches);
    assert_eq!(v.differences.len(), 1);
    assert_eq!(
        v.differences[0],
        "listener rule 2 of k8s-shop-web-abc carries canary 0 / stable 100 (of 100), desired 10 / 90"
    );
}

#[test]
fn a_lagging_default_rule_is_named_as_the_default_rule() {
    let mut default = rule("r9", Some(0), Some(100));
    default.is_default = true;
    default.priority = "default".into();
    let v = verify_weights(&check(10, vec![default]));
    assert_eq!(
        v.differences,
        [
            "the default listener rule of k8s-shop-web-abc carries canary 0 / stable 100 (of 100), desired 10 / 90"
        ]
    );
}

#[test]
fn absent_canary_counts_as_zero_and_shares_are_relative() {
    assert!(verify_weights(&check(0, vec![rule("r1", None, Some(1))])).verified);
    assert!(!verify_weights(&check(10, vec![rule("r1", None, Some(100))])).verified);
    assert!(verify_weights(&check(25, vec![rule("r1", Some(250), Some(750))])).verified);
    assert!(!verify_weights(&check(25, vec![rule("r1", Some(0), Some(0))])).verified);
}

#[test]
fn missing_target_groups_or_rules_are_not_verified() {
    let mut c = check(10, vec![rule("r1", Some(10), Some(90))]);
    c.tags[0].tags[1].value = "shop/other-canary-svc:80".into();
    let v = verify_weights(&c);
    assert!(!v.verified);
    assert!(
        v.differences[0].contains("shop/web-canary-svc:80"),
        "{:?}",
        v.differences
    );
    let v = verify_weights(&check(10, vec![]));
    assert!(!v.verified);
    assert!(v.differences[0].contains("no rule"));
}

fn target(ip: &str, state: TargetHealthState) -> TargetHealth {
    TargetHealth {
        id: ip.into(),
        port: Some(8080),
        state,
        reason: None,
    }
}

#[test]
fn ip_verification() {
    let ips: Vec<String> = ["10.0.0.1", "10.0.0.2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let all = [
        target("10.0.0.1", TargetHealthState::Healthy),
        target("10.0.0.2", TargetHealthState::Initial),
        target("10.0.0.9", TargetHealthState::Healthy),
    ];
    let v = verify_ips(&ips, 8080, &all);
    assert!(v.verified);
    assert_eq!(v.port, 8080);
    assert_eq!(v.ips[1].state, Some(TargetHealthState::Initial));
    let draining = [
        target("10.0.0.1", TargetHealthState::Healthy),
        target("10.0.0.2", TargetHealthState::Draining),
    ];
    let v = verify_ips(&ips, 8080, &draining);
    assert!(!v.verified);
    assert_eq!(v.missing, vec!["10.0.0.2".to_string()]);
    let v = verify_ips(&ips, 8080, &all[..1]);
    assert_eq!(v.missing, vec!["10.0.0.2".to_string()]);
    assert!(!v.ips[1].registered && v.ips[1].state.is_none());
    assert!(verify_ips(&[], 8080, &[]).verified);
}

#[test]
fn a_target_counts_only_at_the_target_port() {
    let ips = vec!["10.0.0.1".to_string(), "10.0.0.2".to_string()];
    let on = |ip: &str, port: u32, state| TargetHealth {
        port: Some(port),
        ..target(ip, state)
    };
    let targets = [
        on("10.0.0.1", 8080, TargetHealthState::Healthy),
        on("10.0.0.2", 9090, TargetHealthState::Healthy),
        on("10.0.0.2", 7070, TargetHealthState::Draining),
    ];
    let v = verify_ips(&ips, 8080, &targets);
    assert!(!v.verified, "10.0.0.2 serves on 9090, not the target port");
    assert_eq!(v.missing, ["10.0.0.2"]);
    assert!(!v.ips[1].registered && v.ips[1].state.is_none());
    assert_eq!(
        v.ips[1].other_ports,
        [9090],
        "a draining port is not listed"
    );
    assert!(v.ips[0].other_ports.is_empty());
    let v = verify_ips(&ips, 9090, &targets);
    assert_eq!(v.missing, ["10.0.0.1"]);
    let no_port = [TargetHealth {
        port: None,
        ..target("10.0.0.1", TargetHealthState::Healthy)
    }];
    assert!(!verify_ips(&ips[..1], 8080, &no_port).verified);
}

#[test]
fn header_route_rules_are_not_part_of_the_split() {
    let mut header = rule("r9", Some(100), None);
    header.conditions.push(RuleCondition {
        field: "http-header".into(),
        http_header_name: Some("X-Canary".into()),
        values: vec!["yes".into()],
    });
    let v = verify_weights(&check(20, vec![rule("r1", Some(20), Some(80)), header]));
    assert!(v.verified, "{:?}", v.differences);
    assert_eq!(v.rules.len(), 1);
}

#[test]
fn a_required_cluster_tag_excludes_another_clusters_target_groups() {
    let rules = vec![rule("r1", Some(10), Some(90))];
    let mut c = check(10, rules);
    c.required_tags = vec![Tag {
        key: "elbv2.k8s.aws/cluster".into(),
        value: "prod".into(),
    }];
    let v = verify_weights(&c);
    assert!(!v.verified);
    assert_eq!(v.canary_target_group_arn, None);
    assert_eq!(
        v.differences[0],
        "no canary target group on k8s-shop-web-abc is tagged \
         ingress.k8s.aws/resource=shop/web-canary-svc:80 and elbv2.k8s.aws/cluster=prod"
    );
    for tags in &mut c.tags {
        tags.tags.push(Tag {
            key: "elbv2.k8s.aws/cluster".into(),
            value: "prod".into(),
        });
    }
    assert!(verify_weights(&c).verified);
}
