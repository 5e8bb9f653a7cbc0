//! Keeps the simulator honest: the ALB the simulated AWS Load Balancer Controller built for a
//! scenario is copied into moto_server (same names, rules, weights, tags, targets), and then
//! every describe record the simulated ELBv2 API returns must equal what moto returns for the
//! same question, field for field (up to moto's own ARNs and DNS names), and the built-in
//! module's verification must reach the same verdict on both.

use std::time::Duration;

use albatross::backend::manifests::ManifestHost;
use albatross::backend::{Backend, Elbv2, Inline, block_on};
use albatross::runtime::call::call_verify;
use albatross_policy::host::Host;
use albatross_policy::reconcile::Settings;
use albatross_sim::SharedWorld;
use albatross_tests::mirror::{Mirror, settled};
use albatross_tests::verify_env::{Env, quick};
use albatross_tests::{Way, default_module, partial, scenario};
use serde::Serialize;
use serde_json::Value;

/// The JSON of `v` with every array sorted, so that record sets compare regardless of order.
fn normalized<T: Serialize>(v: &T) -> Value {
    fn sort(v: Value) -> Value {
        match v {
            Value::Array(items) => {
                let mut items: Vec<Value> = items.into_iter().map(sort).collect();
                items.sort_by_key(|i| i.to_string());
                Value::Array(items)
            }
            Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, sort(v))).collect()),
            other => other,
        }
    }
    sort(serde_json::to_value(v).unwrap_or(Value::Null))
}

/// The answer, or a panic naming the error.
fn ok<T>(r: Result<T, albatross_policy::HostError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// The simulated answer in moto's names, and moto's answer, normalized.
fn both<T: Serialize>(mirror: &Mirror, sim: &T, moto: &T) -> (Value, Value) {
    let sim = serde_json::to_string(&normalized(sim)).unwrap_or_default();
    let sim: Value = serde_json::from_str(&mirror.to_moto(&sim)).unwrap_or(Value::Null);
    (normalized(&sim), normalized(moto))
}

#[test]
fn the_simulated_elbv2_api_and_moto_agree_on_records_and_verdicts() {
    let env = Env::start();
    // basic-canary at t=150: the canary at 50%, paused, every target registered and healthy.
    let world = partial(&scenario("basic-canary"), Way::Native, 150);
    assert!(settled(&world.elb), "the scenario has not settled at t=150");
    assert_eq!(world.elb.albs.len(), 1);
    let mut mirror = Mirror::default();
    env.run(mirror.sync(&env.admin, (&env.vpc, &env.subnets), &world.elb));
    let mut sim = SharedWorld::new(world.clone());
    let elbv2 = env.elbv2(None, quick(), Duration::ZERO);
    let mut moto = elbv2.clone();

    for alb in world.elb.albs.values() {
        let names = [alb.lb.name.clone()];
        let (s, m) = both(
            &mirror,
            &ok(sim.describe_load_balancers(&names, &[])),
            &ok(block_on(moto.describe_load_balancers(&names, &[]))),
        );
        assert_eq!(s, m, "DescribeLoadBalancers");
        let lb = |arn: &str| mirror.moto(arn).unwrap_or(arn).to_string();
        let (s, m) = both(
            &mirror,
            &ok(sim.describe_listeners(&alb.lb.arn)),
            &ok(block_on(moto.describe_listeners(&lb(&alb.lb.arn)))),
        );
        assert_eq!(s, m, "DescribeListeners");
        let (s, m) = both(
            &mirror,
            &ok(sim.describe_rules(&alb.listener.arn)),
            &ok(block_on(moto.describe_rules(&lb(&alb.listener.arn)))),
        );
        assert_eq!(s, m, "DescribeRules");
        let sim_groups = ok(sim.describe_target_groups(Some(&alb.lb.arn), &[]));
        let (s, m) = both(
            &mirror,
            &sim_groups,
            &ok(block_on(
                moto.describe_target_groups(Some(&lb(&alb.lb.arn)), &[]),
            )),
        );
        assert_eq!(s, m, "DescribeTargetGroups");
        assert!(!sim_groups.is_empty());
        let sim_arns: Vec<String> = sim_groups.iter().map(|t| t.arn.clone()).collect();
        let moto_arns: Vec<String> = sim_arns.iter().map(|a| lb(a)).collect();
        let (s, m) = both(
            &mirror,
            &ok(sim.describe_tags(&sim_arns)),
            &ok(block_on(moto.describe_tags(&moto_arns))),
        );
        assert_eq!(s, m, "DescribeTags");
        for (sim_arn, moto_arn) in sim_arns.iter().zip(&moto_arns) {
            let (s, m) = both(
                &mirror,
                &ok(sim.describe_target_health(sim_arn)),
                &ok(block_on(moto.describe_target_health(moto_arn))),
            );
            assert_eq!(s, m, "DescribeTargetHealth {sim_arn}");
        }
    }

    let rollout = world
        .store
        .get("Rollout", "shop", "guestbook")
        .unwrap_or(Value::Null)
        .to_string();
    let settings = Settings::default();
    let on_sim = call_verify(
        default_module(),
        Backend::inline(sim.clone()),
        &rollout,
        &settings,
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let manifests: Vec<Value> = [
        "Rollout",
        "Ingress",
        "Service",
        "Endpoints",
        "TargetGroupBinding",
    ]
    .iter()
    .flat_map(|kind| world.store.list(kind, "shop").collect::<Vec<_>>())
    .map(|o| serde_json::from_str(&mirror.to_moto(&o.to_string())).unwrap_or(Value::Null))
    .collect();
    let cluster = ManifestHost::new(&manifests).unwrap_or_else(|e| panic!("{e}"));
    let on_moto = call_verify(
        default_module(),
        Backend {
            cluster: Box::new(Inline(cluster)),
            elbv2: Box::new(elbv2),
        },
        &rollout,
        &settings,
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(on_sim.verified, "{on_sim:#?}");
    assert_eq!(on_sim.desired_canary_weight, 50);
    assert_eq!(on_moto.ingresses[0].verdict.rules.len(), 1);
    assert_eq!(
        on_moto.targets.len(),
        2,
        "the canary and the stable target group"
    );
    assert!(on_moto.targets.iter().all(|t| !t.targets.is_empty()));
    let (s, m) = both(&mirror, &on_sim, &on_moto);
    assert_eq!(s, m, "the verifications differ");
}
