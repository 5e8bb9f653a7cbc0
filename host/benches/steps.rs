//! A reconcile's cost against the number of steps in its Rollout, measured with criterion:
//!
//! - `steps/parse/N`: reading the Rollout's JSON into the spec (what any reconcile must do);
//! - `steps/reconcile-native/N` and `steps/reconcile-wasm/N`: one whole reconcile of that
//!   Rollout in a world built from `examples/manifests/guestbook.yaml`, natively and through
//!   the component (a fresh instance per call, as the controller makes it).
//!
//! N is 10, 100, 1,000 and 10,000 steps (setWeight and pause in turn). What a reconcile adds
//! to reading the spec should not grow with N: the steps are validated without allocating,
//! and the pass looks only at the steps around the current one.
//!
//! Run: `cargo xtask guest && cargo bench -p albatross --bench steps`.

use std::hint::black_box;
use std::time::Duration;

use albatross::backend::manifests::read_manifests;
use albatross::backend::{Backend, block_on};
use albatross::runtime::call::reconcile;
use albatross::runtime::engine::{Limits, StrategyModule, new_engine};
use albatross_policy::reconcile::Settings;
use albatross_policy::spec::Rollout;
use albatross_sim::runner::{NativeReconciler, Reconciler};
use albatross_sim::{Faults, SharedWorld, World, WorldConfig};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

/// `n` canary steps: setWeight and a timed pause in turn, the weights rising to 90.
fn steps(n: usize) -> Value {
    let half = (n / 2).max(1);
    let steps: Vec<Value> = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                json!({"setWeight": 10 + (i / 2) * 80 / half})
            } else {
                json!({"pause": {"duration": "30s"}})
            }
        })
        .collect();
    Value::Array(steps)
}

/// A world holding the guestbook manifests, its Rollout given `n` steps; and that Rollout's
/// JSON.
fn world_of(n: usize) -> (SharedWorld, String) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifests = read_manifests(&root.join("examples/manifests/guestbook.yaml"))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let mut world = World::new(WorldConfig::default(), Faults::default());
    let mut rollout = String::new();
    for mut m in manifests {
        let kind = m["kind"].as_str().unwrap_or_default().to_string();
        if kind == "Rollout" {
            m["spec"]["strategy"]["canary"]["steps"] = steps(n);
            rollout = m.to_string();
        }
        world.store.put(&kind, m).unwrap_or_else(|e| panic!("{e}"));
    }
    (SharedWorld::new(world), rollout)
}

fn by_steps(c: &mut Criterion) {
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    // The bench measures cost, not the sandbox: no deadline in the way of a slow sample.
    let module = StrategyModule::builtin(&engine)
        .unwrap_or_else(|e| panic!("{e:#}"))
        .with_limits(Limits {
            deadline: Duration::from_secs(3600),
            ..Limits::default()
        });
    let settings = Settings::default();
    let mut g = c.benchmark_group("steps");
    g.sample_size(20);
    for n in [10usize, 100, 1_000, 10_000] {
        let (world, rollout) = world_of(n);
        g.bench_with_input(BenchmarkId::new("parse", n), &rollout, |b, r| {
            b.iter(|| Rollout::from_json(black_box(r)).unwrap_or_else(|e| panic!("{e}")))
        });
        g.bench_with_input(BenchmarkId::new("reconcile-native", n), &rollout, |b, r| {
            b.iter(|| {
                let out = NativeReconciler.reconcile(&world, black_box(r), &settings);
                assert!(out.is_ok(), "{out:?}");
            })
        });
        g.bench_with_input(BenchmarkId::new("reconcile-wasm", n), &rollout, |b, r| {
            b.iter(|| {
                let backend = Backend::inline(world.clone());
                let out = block_on(reconcile(&module, backend, black_box(r), &settings));
                assert!(out.is_ok(), "{out:?}");
            })
        });
    }
    g.finish();
}

criterion_group!(benches, by_steps);
criterion_main!(benches);
