//! The sandbox: modules that spin, hog memory, trap or answer garbage (built from tests/hostile
//! by `cargo xtask guest`) are stopped within their limits; the Rollout they reconcile is marked
//! Degraded with the module's name and the reason, none of their traffic is written, and a
//! well-behaved Rollout reconciled at the same time on the same engine is unaffected.

use std::path::PathBuf;
use std::time::Duration;

use albatross::engine::{Limits, StrategyModule, new_engine};
use albatross::simulate::WasmReconciler;
use albatross_policy::reconcile::Settings;
use albatross_sim::runner::{Scenario, Trace, run};
use albatross_tests::{Way, scenario, simulate};
use wasmtime::Engine;

fn hostile(engine: &Engine, behaviour: &str) -> StrategyModule {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = dir.join("wasm").join(format!("hostile-{behaviour}.wasm"));
    StrategyModule::from_file(engine, &path)
        .unwrap_or_else(|e| panic!("{e:#} (run `cargo xtask guest`)"))
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
        let module = hostile(&engine, behaviour);
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
