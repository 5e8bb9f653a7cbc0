//! How the simulated ALB picks the targets of a target group, as AWS does: `healthy` ones
//! only; every registered one when all are `unhealthy` (fail-open); none (a 503) when the
//! group has only `initial` or `draining` targets, or mixes `initial` with `unhealthy` ones.

use std::collections::BTreeMap;

use albatross_policy::elb::{TargetGroup, TargetHealthState};
use albatross_sim::lbc::{TargetKey, TargetSim, TgSim};
use albatross_sim::traffic::routable;

use TargetHealthState::{Draining, Healthy, Initial, Unhealthy, Unused};

fn group(states: &[TargetHealthState]) -> TgSim {
    let targets: BTreeMap<TargetKey, TargetSim> = states
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                (format!("10.0.0.{i}"), 8080),
                TargetSim {
                    state: *s,
                    since: 0,
                    failing_since: None,
                },
            )
        })
        .collect();
    TgSim {
        tg: TargetGroup {
            arn: "arn:tg".into(),
            name: "tg".into(),
            target_type: "ip".into(),
            port: Some(8080),
            protocol: Some("HTTP".into()),
            vpc_id: None,
            load_balancer_arns: Vec::new(),
        },
        tags: Vec::new(),
        namespace: "shop".into(),
        service: "web".into(),
        service_port: 80,
        targets,
        pending: BTreeMap::new(),
    }
}

fn routed(states: &[TargetHealthState]) -> Vec<String> {
    routable(&group(states)).into_iter().cloned().collect()
}

#[test]
fn only_healthy_targets_get_requests_when_any_is_healthy() {
    assert_eq!(
        routed(&[Healthy, Initial, Unhealthy, Draining]),
        ["10.0.0.0"]
    );
    assert_eq!(
        routed(&[Initial, Healthy, Healthy]),
        ["10.0.0.1", "10.0.0.2"]
    );
}

#[test]
fn a_group_of_only_unhealthy_targets_fails_open() {
    assert_eq!(routed(&[Unhealthy, Unhealthy]), ["10.0.0.0", "10.0.0.1"]);
    assert_eq!(
        routed(&[Unhealthy, Draining]),
        ["10.0.0.0"],
        "a draining target is not registered any more"
    );
}

#[test]
fn initial_draining_or_no_targets_answer_503() {
    assert!(
        routed(&[Initial, Initial]).is_empty(),
        "still in health checks"
    );
    assert!(routed(&[Draining, Draining]).is_empty());
    assert!(
        routed(&[Initial, Draining]).is_empty(),
        "a selector just moved"
    );
    assert!(
        routed(&[Initial, Unhealthy]).is_empty(),
        "not every one is unhealthy"
    );
    assert!(routed(&[Unused]).is_empty());
    assert!(routed(&[]).is_empty());
}
