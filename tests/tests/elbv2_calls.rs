//! What the shared ELBv2 cache saves: N Rollouts behind one ALB (one Ingress each, in one
//! IngressGroup) verified once each, counted with the cache and without it (every Rollout
//! asking for itself, the per-rollout pattern). The counts are asserted as upper bounds and
//! printed; BENCHMARKS.md records them.

use std::time::Duration;

use albatross::aws::metrics::OPERATIONS;
use albatross_tests::alb;
use albatross_tests::verify_env::{Env, ingress, quick, rollout, service, verify};
use serde_json::Value;

/// Builds one ALB with a rule per Rollout `r<i>` (Ingress `ing<i>`), returns the manifests
/// and the endpoint IPs of every Service.
fn shared_alb(env: &Env, n: usize) -> (Vec<Value>, Vec<(String, Vec<String>)>) {
    let first = env.run(alb::build(
        &env.admin,
        (&env.vpc, &env.subnets),
        ("shop", "ing0"),
        ("r0-canary", "r0-stable"),
        (10, 90),
    ));
    let mut manifests = Vec::new();
    let mut endpoints = Vec::new();
    for i in 0..n {
        let name = format!("r{i}");
        let ing = format!("ing{i}");
        let (canary, stable) = (format!("{name}-canary"), format!("{name}-stable"));
        let (canary_tg, stable_tg) = if i == 0 {
            (first.canary_tg.clone(), first.stable_tg.clone())
        } else {
            let tg = |svc: &str| {
                env.run(alb::target_group(
                    &env.admin,
                    &env.vpc,
                    &format!("{ing}-{svc}"),
                    ("shop", &ing, svc, 80),
                    "albatross-test",
                ))
            };
            let pair = (tg(&canary), tg(&stable));
            env.run(async {
                env.admin
                    .create_rule()
                    .listener_arn(&first.listener_arn)
                    .priority(i32::try_from(i + 1).map_err(|e| e.to_string())?)
                    .conditions(
                        aws_sdk_elasticloadbalancingv2::types::RuleCondition::builder()
                            .field("host-header")
                            .values(format!("{ing}.example.com"))
                            .build(),
                    )
                    .actions(alb::forward(&pair.0, &pair.1, 10, 90))
                    .send()
                    .await
                    .map_err(|e| format!("CreateRule: {e:?}"))?;
                Ok(())
            });
            pair
        };
        let ips = (format!("10.1.{i}.1"), format!("10.2.{i}.1"));
        env.run(alb::register(&env.admin, &canary_tg, &[&ips.0]));
        env.run(alb::register(&env.admin, &stable_tg, &[&ips.1]));
        manifests.push(rollout(&name, &[&ing], 10));
        manifests.push(ingress(&ing, &stable, &first.dns_name));
        manifests.push(service(&canary));
        manifests.push(service(&stable));
        endpoints.push((canary, vec![ips.0]));
        endpoints.push((stable, vec![ips.1]));
    }
    (manifests, endpoints)
}

/// Verifies every Rollout once through one `elbv2` host with cache `ttl`; returns the
/// requests per operation.
fn one_poll(
    env: &Env,
    manifests: &[Value],
    endpoints: &[(String, Vec<String>)],
    ttl: Duration,
) -> Vec<(&'static str, u64)> {
    let elbv2 = env.elbv2(None, quick(), ttl);
    let eps: Vec<(&str, Vec<&str>)> = endpoints
        .iter()
        .map(|(s, ips)| (s.as_str(), ips.iter().map(String::as_str).collect()))
        .collect();
    let eps: Vec<(&str, &[&str])> = eps.iter().map(|(s, ips)| (*s, ips.as_slice())).collect();
    for r in manifests.iter().filter(|m| m["kind"] == "Rollout") {
        let v = verify(manifests, &eps, r, &elbv2, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(v.verified, "{v:#?}");
    }
    OPERATIONS
        .iter()
        .map(|op| (*op, elbv2.cache().metrics().requests(op)))
        .collect()
}

fn total(counts: &[(&str, u64)]) -> u64 {
    counts.iter().map(|(_, n)| n).sum()
}

fn count(counts: &[(&str, u64)], op: &str) -> u64 {
    counts.iter().find(|(o, _)| *o == op).map_or(0, |(_, n)| *n)
}

#[test]
fn rollouts_behind_one_alb_share_one_round_of_describe_calls() {
    for n in [1usize, 10, 100] {
        let env = Env::start();
        let (manifests, endpoints) = shared_alb(&env, n);
        let shared = one_poll(&env, &manifests, &endpoints, Duration::from_secs(600));
        let alone = one_poll(&env, &manifests, &endpoints, Duration::ZERO);
        let n64 = n as u64;
        // The ALB-wide questions are asked once per poll, whatever the number of Rollouts.
        assert_eq!(count(&shared, "DescribeLoadBalancers"), 1, "{shared:?}");
        assert_eq!(count(&shared, "DescribeListeners"), 1, "{shared:?}");
        let rule_pages = (n64 + 1).div_ceil(50);
        assert_eq!(count(&shared, "DescribeRules"), rule_pages, "{shared:?}");
        assert_eq!(
            count(&shared, "DescribeTags"),
            (2 * n64).div_ceil(20),
            "{shared:?}"
        );
        // What is each Rollout's own: its two target groups and their health.
        assert!(
            count(&shared, "DescribeTargetGroups") <= 1 + n64,
            "{shared:?}"
        );
        assert_eq!(
            count(&shared, "DescribeTargetHealth"),
            2 * n64,
            "{shared:?}"
        );
        assert!(total(&shared) <= 3 + rule_pages + (2 * n64).div_ceil(20) + 3 * n64);
        // Without the cache every Rollout pays for the ALB-wide questions again.
        assert_eq!(count(&alone, "DescribeLoadBalancers"), n64, "{alone:?}");
        assert_eq!(
            count(&alone, "DescribeRules"),
            n64 * rule_pages,
            "{alone:?}"
        );
        assert!(total(&alone) >= n64 * (6 + rule_pages), "{alone:?}");
        eprintln!(
            "calls per poll, {n} Rollouts on one ALB: shared cache {} {shared:?}; per rollout {} {alone:?}",
            total(&shared),
            total(&alone)
        );
    }
}
