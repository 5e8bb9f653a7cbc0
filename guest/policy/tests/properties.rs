//! Property tests: actions always carry weights summing to 100, parse inverts build, and
//! canary replicas grow with the weight.

mod common;

use albatross_policy::action::ActionStickiness;
use albatross_policy::api;
use albatross_policy::plan::replicas_for_weight;
use common::{canary, set};
use proptest::prelude::*;
use serde_json::json;

fn service() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,20}[a-z0-9]"
}

proptest! {
    #[test]
    fn action_weights_sum_to_100_and_parse_inverts_build(
        weight in 0u32..=100,
        canary_svc in service(),
        stable_svc in service(),
        port in 1i64..=65535,
        sticky in proptest::option::of(1i64..=604_800),
    ) {
        prop_assume!(canary_svc != stable_svc);
        let mut r = set(canary(), "/spec/strategy/canary/canaryService", json!(canary_svc));
        r = set(r, "/spec/strategy/canary/stableService", json!(stable_svc));
        r = set(r, "/spec/strategy/canary/trafficRouting/alb/servicePort", json!(port));
        if let Some(d) = sticky {
            r = set(r, "/spec/strategy/canary/trafficRouting/alb/stickinessConfig", json!({"enabled": true, "durationSeconds": d}));
        }
        let a = api::build_action(&r.to_string(), weight).unwrap();
        let parsed = api::parse_action(&a.value).unwrap();
        let weights: Vec<u32> = parsed.target_groups.iter().map(|t| t.weight.unwrap()).collect();
        prop_assert_eq!(weights.iter().sum::<u32>(), 100);
        prop_assert!(weights.iter().all(|w| *w <= 100));
        prop_assert_eq!(weights, vec![weight, 100 - weight]);
        prop_assert_eq!(parsed.target_groups[0].service_name.as_deref(), Some(canary_svc.as_str()));
        prop_assert_eq!(parsed.target_groups[1].service_name.as_deref(), Some(stable_svc.as_str()));
        let port_text = port.to_string();
        prop_assert!(parsed.target_groups.iter().all(|t| t.service_port.as_deref() == Some(port_text.as_str())));
        prop_assert_eq!(parsed.stickiness, sticky.map(|d| ActionStickiness { enabled: true, duration_seconds: Some(u32::try_from(d).unwrap()) }));
    }

    #[test]
    fn canary_replicas_never_decrease_and_reach_spec_replicas(replicas in 0u32..=500, a in 0u32..=100, b in 0u32..=100) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(replicas_for_weight(replicas, lo) <= replicas_for_weight(replicas, hi));
        prop_assert_eq!(replicas_for_weight(replicas, 100), replicas);
        prop_assert!(replicas_for_weight(replicas, hi) <= replicas);
    }

    #[test]
    fn planned_steps_are_monotone_for_rising_weights(replicas in 1i64..=200, mut weights in proptest::collection::vec(0i64..=100, 1..8)) {
        weights.sort();
        let steps: Vec<_> = weights.iter().map(|w| json!({"setWeight": w})).collect();
        let r = set(set(canary(), "/spec/replicas", json!(replicas)), "/spec/strategy/canary/steps", json!(steps));
        let plans = api::plan_steps(&r.to_string()).unwrap();
        for pair in plans.windows(2) {
            prop_assert!(pair[0].canary_replicas <= pair[1].canary_replicas);
        }
        let last = plans.last().unwrap();
        prop_assert_eq!(last.canary_weight, 100);
        prop_assert_eq!(i64::from(last.canary_replicas), replicas);
    }
}
