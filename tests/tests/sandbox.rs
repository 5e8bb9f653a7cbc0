//! The sandbox: modules that spin, hog memory, trap or answer garbage (built from tests/hostile
//! by `cargo xtask guest`) are stopped within their limits; the Rollout they reconcile is marked
//! Degraded with the module's name and the reason, none of their traffic is written, and a
//! well-behaved Rollout reconciled at the same time on the same engine is unaffected.

use std::sync::Arc;
use std::time::Duration;

use albatross::backend::Backend;
use albatross::backend::offline::OfflineHost;
use albatross::runtime::call::{CallError, call_reconcile, reconcile};
use albatross::runtime::capabilities::refusals;
use albatross::runtime::engine::{Limits, StrategyModule, new_engine};
use albatross::simulation::WasmReconciler;
use albatross_policy::reconcile::Settings;
use albatross_sim::runner::{Scenario, Trace, run};
use albatross_tests::delayed::slow_backend;
use albatross_tests::{Way, built_component, scenario, simulate};
use wasmtime::Engine;

fn hostile(engine: &Engine, behaviour: &str) -> StrategyModule {
    let path = built_component(&format!("hostile-{behaviour}.wasm"));
    StrategyModule::from_file(engine, &path)
        .unwrap_or_else(|e| panic!("{e:#} (run `cargo xtask guest`)"))
}

/// A hostile module with the default limits, but for `hog` a deadline so long that only the
/// memory cap can stop it: on a busy machine a debug build may otherwise spend the 100 ms
/// before it has grown to 64 MiB, and the test would see the deadline instead.
fn hostile_alone(engine: &Engine, behaviour: &str) -> StrategyModule {
    let module = hostile(engine, behaviour);
    if behaviour != "hog" {
        return module;
    }
    module.with_limits(Limits {
        deadline: Duration::from_secs(60),
        ..Limits::default()
    })
}

fn short(name: &str, seconds: u64) -> Scenario {
    let mut s = scenario(name);
    s.duration_seconds = seconds;
    s
}

fn with_module(s: &Scenario, module: &StrategyModule) -> Trace {
    run(s, &mut WasmReconciler { module }, &Settings::default())
}

#[test]
fn each_hostile_module_is_stopped_and_its_rollout_degraded() {
    let engine = new_engine().unwrap();
    for (behaviour, reason) in [
        ("spin", "ran past its deadline of 100 ms"),
        ("hog", "exceeded its memory cap of 64 MiB"),
        ("trap", "trapped: wasm `unreachable` instruction executed"),
        (
            "garbage",
            "returned output that does not validate: status_json is not JSON",
        ),
    ] {
        let module = hostile_alone(&engine, behaviour);
        let trace = with_module(&short("basic-canary", 12), &module);
        let failed: Vec<_> = trace
            .events
            .iter()
            .filter(|e| e.reason == "StrategyFailed")
            .collect();
        assert!(
            !failed.is_empty(),
            "{behaviour}: no StrategyFailed event: {:?}",
            trace.events
        );
        assert_eq!(failed[0].event_type, "Warning");
        assert!(
            failed[0].message.contains("hostile-") && failed[0].message.contains(reason),
            "{behaviour}: {}",
            failed[0].message
        );
        let last = trace.timeline.last().unwrap();
        assert_eq!(last.phase, "Degraded", "{behaviour}");
        assert!(
            last.message.contains(reason),
            "{behaviour}: {}",
            last.message
        );
        let annotations = &trace.final_annotations["shop/web"];
        assert!(
            annotations
                .get("alb.ingress.kubernetes.io/actions.root-svc")
                .is_none(),
            "{behaviour} wrote traffic: {annotations}"
        );
        assert!(
            last.replicas.is_empty(),
            "{behaviour} created ReplicaSets: {:?}",
            last.replicas
        );
    }
}

#[test]
fn a_shorter_deadline_is_honoured() {
    let engine = new_engine().unwrap();
    let module = hostile(&engine, "spin").with_limits(Limits {
        deadline: Duration::from_millis(20),
        ..Limits::default()
    });
    let trace = with_module(&short("basic-canary", 2), &module);
    let failed = trace
        .events
        .iter()
        .find(|e| e.reason == "StrategyFailed")
        .unwrap();
    assert!(
        failed.message.contains("deadline of 20 ms"),
        "{}",
        failed.message
    );
}

#[test]
fn a_well_behaved_rollout_is_unaffected_by_a_spinning_neighbour() {
    let engine = new_engine().unwrap();
    let spin = hostile(&engine, "spin");
    let good = StrategyModule::builtin(&engine).unwrap();
    let alone = simulate(&scenario("basic-canary"), Way::Native, true);
    let neighbour = short("basic-canary", 20);
    let beside = std::thread::scope(|scope| {
        let spinning = scope.spawn(|| with_module(&neighbour, &spin));
        let beside = with_module(&scenario("basic-canary"), &good);
        let spun = spinning.join().unwrap();
        assert!(spun.events.iter().any(|e| e.reason == "StrategyFailed"));
        beside
    });
    assert_eq!(
        beside, alone,
        "the well-behaved rollout changed beside a spinning module"
    );
}

#[test]
fn a_module_that_reads_a_secret_or_writes_outside_its_scope_is_refused_and_counted() {
    let engine = new_engine().unwrap();
    let module = hostile(&engine, "snoop");
    let kinds = ["Secret", "Service", "Ingress"];
    let verbs = ["get", "patch"];
    let before = refusals(module.name(), &kinds, &verbs);
    let (trace, world) = run_keeping_world(&short("basic-canary", 3), &module);
    let snooped: Vec<&str> = trace
        .events
        .iter()
        .filter(|e| e.reason == "Snooped")
        .map(|e| e.message.as_str())
        .collect();
    assert!(snooped.len() >= 3, "{:?}", trace.events);
    assert!(
        snooped[0].contains(
            "read a Secret: forbidden: get Secret in namespace \"shop\": Secrets are never open to a strategy module"
        ),
        "{snooped:?}"
    );
    assert!(
        snooped[1].contains("patch a Service in another namespace: forbidden: patch Service in namespace \"kube-system\": a module may touch only the namespace of the Rollout it reconciles (\"shop\")"),
        "{snooped:?}"
    );
    assert!(
        snooped[2].contains("write a foreign Ingress annotation: forbidden: patch Ingress in namespace \"shop\": writes metadata.annotations[nginx.ingress.kubernetes.io/rewrite-target]"),
        "{snooped:?}"
    );
    let refused = refusals(module.name(), &kinds, &verbs) - before;
    assert_eq!(refused, snooped.len() as u64, "each attempt counted once");
    // Nothing of it reached the world.
    let ingress = world
        .store
        .get("Ingress", "shop", "web")
        .unwrap_or_default();
    assert!(
        ingress["metadata"]["annotations"]
            .get("nginx.ingress.kubernetes.io/rewrite-target")
            .is_none()
    );
}

/// A run of `s` with `module`: its trace and the world at the end.
fn run_keeping_world(s: &Scenario, module: &StrategyModule) -> (Trace, albatross_sim::World) {
    let settings = Settings::default();
    let mut sim = albatross_sim::runner::Simulation::new(s, &settings);
    let mut reconciler = WasmReconciler { module };
    while let Some(due) = sim.begin_second() {
        for d in due {
            let result = albatross_sim::runner::Reconciler::reconcile(
                &mut reconciler,
                sim.world(),
                &d.rollout_json,
                &settings,
            );
            sim.record(&d.namespace, &d.name, result);
        }
        sim.end_second();
    }
    let world = sim.world().lock().clone();
    (sim.trace(), world)
}

#[test]
fn time_spent_in_slow_imports_is_not_charged_to_the_module() {
    let engine = new_engine().unwrap();
    let module = StrategyModule::builtin(&engine).unwrap();
    let world = albatross_sim::SharedWorld::new(albatross_tests::partial(
        &scenario("basic-canary"),
        Way::Native,
        150,
    ));
    let rollout = world
        .lock()
        .store
        .get("Rollout", "shop", "guestbook")
        .unwrap_or_default()
        .to_string();
    // A slow API server: every cluster read answers 30 ms late.
    let (slow, _) = slow_backend(world, Duration::from_millis(30), Arc::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let out = runtime.block_on(reconcile(&module, slow, &rollout, &Settings::default()));
    let took = started.elapsed();
    assert!(
        took > Duration::from_millis(100),
        "the imports were not slow enough to matter: {took:?}"
    );
    assert!(
        out.is_ok(),
        "stopped although its own time was short: {out:?}"
    );
}

#[test]
fn each_failure_comes_back_as_its_own_typed_error() {
    let engine = new_engine().unwrap();
    let rollout = r#"{"metadata":{"name":"app","namespace":"shop"}}"#;
    for behaviour in ["spin", "hog", "trap", "garbage"] {
        let module = hostile_alone(&engine, behaviour);
        let err = call_reconcile(
            &module,
            Backend::inline(OfflineHost),
            rollout,
            &Settings::default(),
        )
        .expect_err("a hostile module succeeded");
        let kind = match &err {
            CallError::Deadline { deadline_ms, .. } => format!("deadline {deadline_ms}"),
            CallError::MemoryCap { cap_mib, .. } => format!("memory {cap_mib}"),
            CallError::Trap { .. } => "trap".to_string(),
            CallError::InvalidOutput { what, .. } => format!("invalid {what}"),
            other => format!("other: {other}"),
        };
        let expected = match behaviour {
            "spin" => "deadline 100",
            "hog" => "memory 64",
            "trap" => "trap",
            _ => "invalid output that does not validate",
        };
        assert_eq!(kind, expected, "{behaviour}: {err}");
        assert!(err.is_module_failure(), "{behaviour}");
    }
}
