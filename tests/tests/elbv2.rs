//! Weight and target IP verification against a real ELBv2 API: moto_server on loopback, an
//! ALB built through the AWS SDK as the AWS Load Balancer Controller builds it, and the
//! built-in module's `verify` export with the host's SDK-backed `elbv2` import.

use std::time::Duration;

use albatross::aws::cache::DEFAULT_TTL;
use albatross::aws::config::AwsOptions;
use albatross::backend::manifests::read_manifests;
use albatross::commands::verify::{VerifyRequest, format_report, verify_manifests};
use albatross_policy::reconcile::Settings;
use albatross_policy::{HostError, StrategyError};
use albatross_tests::alb::{self, Alb};
use albatross_tests::default_module;
use albatross_tests::throttle::{Mode, Proxy};
use albatross_tests::verify_env::{Env, ingress, quick, rollout, service, verify};
use serde_json::Value;

const CANARY_IPS: &[&str] = &["10.0.1.10", "10.0.1.11"];
const STABLE_IPS: &[&str] = &["10.0.2.10", "10.0.2.11"];

/// One Rollout `app` behind Ingress `web` with its ALB at `weights`, its pods registered.
fn guestbook(env: &Env, weights: (i32, i32)) -> (Alb, Vec<Value>) {
    let alb = env.run(alb::build(
        &env.admin,
        (&env.vpc, &env.subnets),
        ("shop", "web"),
        ("app-canary", "app-stable"),
        weights,
    ));
    env.run(alb::register(&env.admin, &alb.canary_tg, CANARY_IPS));
    env.run(alb::register(&env.admin, &alb.stable_tg, STABLE_IPS));
    let manifests = vec![
        rollout("app", &["web"], 10),
        ingress("web", "app-stable", &alb.dns_name),
        service("app-canary"),
        service("app-stable"),
    ];
    (alb, manifests)
}

const ENDPOINTS: &[(&str, &[&str])] = &[("app-canary", CANARY_IPS), ("app-stable", STABLE_IPS)];

#[test]
fn weights_and_ips_are_verified_when_the_alb_carries_them() {
    let env = Env::start();
    let (alb, manifests) = guestbook(&env, (10, 90));
    let elbv2 = env.elbv2(None, quick(), DEFAULT_TTL);
    let v = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(v.verified, "{v:#?}");
    assert_eq!(v.desired_canary_weight, 10);
    let verdict = &v.ingresses[0].verdict;
    assert_eq!(verdict.load_balancer_arn, alb.arn);
    assert_eq!(
        verdict.canary_target_group_arn.as_deref(),
        Some(alb.canary_tg.as_str())
    );
    assert_eq!(
        verdict.stable_target_group_arn.as_deref(),
        Some(alb.stable_tg.as_str())
    );
    assert_eq!(verdict.rules.len(), 1);
    assert_eq!(verdict.rules[0].rule_arn, alb.rule_arn);
    assert_eq!(
        (
            verdict.rules[0].observed_canary,
            verdict.rules[0].observed_stable
        ),
        (Some(10), Some(90))
    );
    assert_eq!(v.targets.len(), 2);
    for t in &v.targets {
        let ip = t
            .verdict
            .as_ref()
            .unwrap_or_else(|| panic!("no ip verdict: {t:?}"));
        assert!(ip.verified, "{t:?}");
        assert_eq!(t.targets.len(), 2);
    }
}

#[test]
fn a_lagging_rule_is_not_verified_and_the_difference_is_reported() {
    let env = Env::start();
    let (alb, manifests) = guestbook(&env, (0, 100));
    let elbv2 = env.elbv2(None, quick(), Duration::ZERO);
    let v = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, Some(10))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!v.verified);
    let verdict = &v.ingresses[0].verdict;
    assert!(!verdict.rules[0].matches);
    assert_eq!(
        verdict.differences,
        vec!["listener rule 1 of k8s-shop-web-5eed carries canary 0 / stable 100 (of 100), desired 10 / 90".to_string()]
    );
    env.run(alb::set_weights(&env.admin, &alb, (10, 90)));
    let v = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, Some(10))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(v.verified, "{v:#?}");
}

#[test]
fn ip_verification_fails_once_an_endpoint_ip_is_deregistered() {
    let env = Env::start();
    let (alb, manifests) = guestbook(&env, (10, 90));
    let elbv2 = env.elbv2(None, quick(), Duration::ZERO);
    let v = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(v.verified, "{v:#?}");
    env.run(alb::deregister(&env.admin, &alb.canary_tg, &["10.0.1.11"]));
    let v = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!v.verified);
    assert!(v.ingresses[0].verdict.verified, "weights still match");
    let canary = v
        .targets
        .iter()
        .find(|t| t.role == "canary")
        .and_then(|t| t.verdict.clone())
        .unwrap_or_else(|| panic!("no canary verdict: {v:#?}"));
    assert_eq!(canary.missing, vec!["10.0.1.11".to_string()]);
}

#[test]
fn each_ingress_is_verified_against_its_own_alb() {
    let env = Env::start();
    let public = env.run(alb::build(
        &env.admin,
        (&env.vpc, &env.subnets),
        ("shop", "web"),
        ("app-canary", "app-stable"),
        (10, 90),
    ));
    let internal = env.run(alb::build(
        &env.admin,
        (&env.vpc, &env.subnets),
        ("shop", "web-int"),
        ("app-canary", "app-stable"),
        (0, 100),
    ));
    for lb in [&public, &internal] {
        env.run(alb::register(&env.admin, &lb.canary_tg, CANARY_IPS));
        env.run(alb::register(&env.admin, &lb.stable_tg, STABLE_IPS));
    }
    let manifests = vec![
        rollout("app", &["web", "web-int"], 10),
        ingress("web", "app-stable", &public.dns_name),
        ingress("web-int", "app-stable", &internal.dns_name),
        service("app-canary"),
        service("app-stable"),
    ];
    let elbv2 = env.elbv2(None, quick(), Duration::ZERO);
    let v = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!v.verified);
    let by_name = |n: &str| {
        v.ingresses
            .iter()
            .find(|i| i.ingress == n)
            .unwrap_or_else(|| panic!("no verdict for {n}: {v:#?}"))
    };
    assert!(by_name("web").verdict.verified);
    assert_eq!(by_name("web").verdict.load_balancer_arn, public.arn);
    assert!(!by_name("web-int").verdict.verified);
    assert_eq!(by_name("web-int").verdict.load_balancer_arn, internal.arn);
    env.run(alb::set_weights(&env.admin, &internal, (10, 90)));
    let v = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(v.verified, "{v:#?}");
}

#[test]
fn describe_calls_follow_every_page_and_batch_tags_by_twenty() {
    let env = Env::start();
    for i in 0..5 {
        env.run(alb::build(
            &env.admin,
            (&env.vpc, &env.subnets),
            ("shop", &format!("web{i}")),
            ("app-canary", "app-stable"),
            (10, 90),
        ));
    }
    let paged = env.elbv2(
        None,
        AwsOptions {
            page_size: Some(2),
            ..quick()
        },
        Duration::ZERO,
    );
    let cache = paged.cache().clone();
    let all = env
        .runtime
        .block_on(cache.describe_load_balancers(&[], &[]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 5);
    assert_eq!(
        cache.metrics().requests("DescribeLoadBalancers"),
        3,
        "pages of 2"
    );
    let tgs = env
        .runtime
        .block_on(cache.describe_target_groups(None, &[]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tgs.len(), 10);
    let mut arns: Vec<String> = tgs.iter().map(|t| t.arn.clone()).collect();
    let extra: Vec<String> = (0..15)
        .map(|i| {
            env.run(alb::target_group(
                &env.admin,
                &env.vpc,
                &format!("extra-{i}"),
                ("shop", "extra", &format!("svc{i}"), 80),
                "albatross-test",
            ))
        })
        .collect();
    arns.extend(extra);
    let tags = env
        .runtime
        .block_on(cache.describe_tags(&arns))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tags.len(), 25);
    assert_eq!(
        cache.metrics().requests("DescribeTags"),
        2,
        "25 ARNs in batches of 20"
    );
    let listener = env
        .runtime
        .block_on(cache.describe_listeners(&all[0].arn))
        .unwrap_or_else(|e| panic!("{e}"));
    let rules = env
        .runtime
        .block_on(cache.describe_rules(&listener[0].arn))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.len(), 2, "the weighted rule and the default rule");
    assert_eq!(cache.metrics().requests("DescribeRules"), 1);
}

#[test]
fn throttling_and_dropped_connections_are_typed_errors_and_verification_resumes() {
    let env = Env::start();
    let (_alb, manifests) = guestbook(&env, (10, 90));
    let proxy = Proxy::start(env.moto.port);
    let retrying = AwsOptions {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        ..AwsOptions::default()
    };
    let elbv2 = env.elbv2(Some(&proxy.url), retrying, Duration::ZERO);
    proxy.set(Mode::Throttle);
    let before = proxy.seen();
    let err = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, None)
        .err()
        .unwrap_or_else(|| panic!("verified through a throttled API"));
    assert!(
        matches!(err, StrategyError::Host(HostError::Throttled(ref m)) if m.contains("Throttling")),
        "{err:?}"
    );
    assert_eq!(
        proxy.seen() - before,
        3,
        "the SDK retried up to its 3 attempts"
    );
    proxy.set(Mode::Drop);
    let err = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, None)
        .err()
        .unwrap_or_else(|| panic!("verified through a dead connection"));
    assert!(
        matches!(err, StrategyError::Host(HostError::Transient(_))),
        "{err:?}"
    );
    proxy.set(Mode::Pass);
    let v = verify(&manifests, ENDPOINTS, &manifests[0], &elbv2, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(v.verified, "{v:#?}");
}

#[test]
fn albatross_verify_reads_manifest_files_and_endpoint_flags_and_reports() {
    let env = Env::start();
    let alb = env.run(alb::build(
        &env.admin,
        (&env.vpc, &env.subnets),
        ("shop", "web"),
        ("canary-svc", "stable-svc"),
        (0, 100),
    ));
    env.run(alb::register(&env.admin, &alb.canary_tg, &["10.1.0.7"]));
    // 10.1.0.9 is registered, but on a port its Service does not target: it serves nothing.
    env.run(alb::register_on(
        &env.admin,
        &alb.canary_tg,
        &["10.1.0.9"],
        9090,
    ));
    env.run(alb::register(
        &env.admin,
        &alb.stable_tg,
        &["10.1.0.2", "10.1.0.3"],
    ));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/manifests/guestbook.yaml");
    let mut manifests = read_manifests(&path).unwrap_or_else(|e| panic!("{e:#}"));
    // The Ingress as the AWS Load Balancer Controller leaves it: with its hostname.
    manifests.push(ingress("web", "root-svc", &alb.dns_name));
    let endpoints = [
        "canary-svc=10.1.0.7, 10.1.0.8, 10.1.0.9".to_string(),
        "stable-svc=10.1.0.2,10.1.0.3".to_string(),
    ];
    let request = |weight| VerifyRequest {
        manifests: &manifests,
        rollout: None,
        endpoints: &endpoints,
        weight,
        settings: Settings::default(),
    };
    let elbv2 = env.elbv2(None, quick(), Duration::ZERO);
    let v = verify_manifests(default_module(), elbv2.clone(), &request(Some(20)))
        .unwrap_or_else(|e| panic!("{e:#}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!v.verified);
    let report = format_report(&v);
    assert!(
        report.starts_with("Rollout shop/guestbook: desired canary 20 / stable 80\n"),
        "{report}"
    );
    assert!(
        report.contains(
            "  ! listener rule 1 of k8s-shop-web-5eed carries canary 0 / stable 100 (of 100), desired 20 / 80\n"
        ),
        "{report}"
    );
    assert!(
        report.contains("(ip targets, target port 8080)\n"),
        "{report}"
    );
    assert!(report.contains("    ✓ 10.1.0.7:8080 healthy\n"), "{report}");
    assert!(
        report.contains("    ✗ 10.1.0.8:8080 not registered\n"),
        "{report}"
    );
    assert!(
        report.contains("    ✗ 10.1.0.9:8080 not registered (registered on port 9090 instead, which serves nothing of this Service's)\n"),
        "{report}"
    );
    assert!(report.contains("    ✓ 10.1.0.3:8080 healthy\n"), "{report}");
    let canary = v
        .targets
        .iter()
        .find(|t| t.role == "canary")
        .and_then(|t| t.verdict.as_ref())
        .unwrap_or_else(|| panic!("no canary verdict: {v:#?}"));
    assert_eq!(canary.missing, ["10.1.0.8", "10.1.0.9"], "{v:#?}");
    assert!(
        report.ends_with("NOT VERIFIED: see the ✗ and ! lines above\n"),
        "{report}"
    );
    // Only the IPs that are registered: verified. Without the stable's, nothing says its
    // IPs are registered, so it is not.
    let endpoints = [
        "canary-svc=10.1.0.7".to_string(),
        "stable-svc=10.1.0.2,10.1.0.3".to_string(),
    ];
    let only_canary = ["canary-svc=10.1.0.7".to_string()];
    let v = verify_manifests(
        default_module(),
        elbv2.clone(),
        &VerifyRequest {
            endpoints: &only_canary,
            ..request(None)
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!v.verified, "{}", format_report(&v));
    assert!(
        format_report(&v).contains("    ! not checked: Service shop/stable-svc has no ready endpoint IPs: the IP check was not done\n"),
        "{}",
        format_report(&v)
    );
    let v = verify_manifests(
        default_module(),
        elbv2,
        &VerifyRequest {
            endpoints: &endpoints,
            ..request(None)
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(v.verified, "{}", format_report(&v));
    assert!(format_report(&v).ends_with("VERIFIED: the load balancer carries the desired weights and every endpoint IP is registered at its target port\n"));
}
