//! A whole rollout whose verification goes to a real ELBv2 API: the basic-canary scenario runs
//! in the simulated cluster, its ALB is copied into moto_server every second, and the built-in
//! module reconciles with the SDK-backed `elbv2` import through a proxy that throttles every
//! ELBv2 request for a while. The rollout must wait while AWS does not answer (no step, no
//! promotion, no scale-down on an unverified state) and finish once it answers again.

use std::ops::Range;
use std::time::Duration;

use albatross::aws::config::AwsOptions;
use albatross::backend::{Backend, Inline};
use albatross::runtime::call::call_reconcile;
use albatross_policy::reconcile::Settings;
use albatross_sim::runner::Simulation;
use albatross_tests::mirror::Mirror;
use albatross_tests::throttle::{Mode, Proxy};
use albatross_tests::verify_env::Env;
use albatross_tests::{default_module, scenario};
use serde_json::json;

/// When ELBv2 answers only `Throttling`: from just before the 100% step until after the
/// scale-down would have happened.
const THROTTLED: Range<u64> = 205..265;
const OLD: &str = "5c74ca211c";

#[test]
fn a_rollout_waits_out_throttling_and_never_scales_down_unverified() {
    let env = Env::start();
    let proxy = Proxy::start(env.moto.port);
    // Standard retry: the adaptive client-side rate limiter would stretch the throttled minute
    // into minutes of real time; what is tested here is what the module does.
    let options = AwsOptions {
        max_attempts: 2,
        adaptive: false,
        initial_backoff: Duration::from_millis(5),
        ..AwsOptions::default()
    };
    let elbv2 = env.elbv2(Some(&proxy.url), options, Duration::ZERO);
    let settings = Settings::default();
    let mut sim = Simulation::new(&scenario("basic-canary"), &settings);
    let mut mirror = Mirror::default();
    while let Some(due) = sim.begin_second() {
        let t = sim.world().lock().now_s;
        let elb = sim.world().lock().elb.clone();
        env.run(mirror.sync(&env.admin, (&env.vpc, &env.subnets), &elb));
        {
            // The Ingress's status names moto's load balancer from now on, and each
            // TargetGroupBinding moto's target group.
            let mut world = sim.world().lock();
            for alb in elb.albs.values() {
                if let Some(dns) = mirror.moto(&alb.lb.dns_name) {
                    let status =
                        json!({"status": {"loadBalancer": {"ingress": [{"hostname": dns}]}}});
                    let _ = world.store.patch("Ingress", "shop", "web", &status);
                }
            }
            let bindings: Vec<(String, String)> = world
                .store
                .list("TargetGroupBinding", "shop")
                .filter_map(|b| {
                    let name = b["metadata"]["name"].as_str()?.to_string();
                    let arn = b["spec"]["targetGroupARN"].as_str()?;
                    Some((name, mirror.to_moto(arn)))
                })
                .collect();
            for (name, arn) in bindings {
                let spec = json!({"spec": {"targetGroupARN": arn}});
                let _ = world
                    .store
                    .patch("TargetGroupBinding", "shop", &name, &spec);
            }
        }
        proxy.set(if THROTTLED.contains(&t) {
            Mode::Throttle
        } else {
            Mode::Pass
        });
        for d in due {
            let backend = Backend {
                cluster: Box::new(Inline(sim.world().clone())),
                elbv2: Box::new(elbv2.clone()),
            };
            let result = call_reconcile(default_module(), backend, &d.rollout_json, &settings);
            sim.record(&d.namespace, &d.name, result.map_err(Into::into));
        }
        sim.end_second();
    }
    let trace = sim.trace();
    let rows = &trace.timeline;
    let in_window: Vec<_> = rows.iter().filter(|r| THROTTLED.contains(&r.t)).collect();
    assert!(!in_window.is_empty());
    assert!(
        in_window
            .iter()
            .any(|r| r.message.contains("ELBv2 did not answer") && r.message.contains("Throttling")),
        "{in_window:#?}"
    );
    for r in &in_window {
        assert_ne!(
            r.phase, "Healthy",
            "promoted while ELBv2 was throttled: {r:#?}"
        );
        assert_eq!(
            r.replicas.get(OLD).map(|x| x.1),
            Some(5),
            "the old ReplicaSet was scaled while nothing could be verified: {r:#?}"
        );
    }
    let last = rows.last().unwrap_or_else(|| panic!("empty timeline"));
    assert_eq!(last.phase, "Healthy", "{last:#?}");
    assert_eq!(last.replicas.get(OLD).map(|x| x.1), Some(0), "{last:#?}");
    assert_eq!(trace.requests_lost, 0.0, "requests were lost");
    let promoted = trace
        .events
        .iter()
        .find(|e| e.reason == "Promoted")
        .unwrap_or_else(|| panic!("never promoted: {:#?}", trace.events));
    assert!(promoted.t >= THROTTLED.end, "{promoted:?}");
}
