//! One reconcile pass over 10,000 Rollouts in the simulated world, and the memory it takes: a
//! plain bench binary (no criterion), so that the peak RSS it reports is the pass's own.
//!
//! Each run builds a fresh world of 10,000 copies of `examples/manifests/guestbook.yaml`, one
//! namespace each, and reconciles every Rollout once, with a fresh instance per Rollout and the
//! capability checks on:
//!
//! - `native`: the albatross-policy crate called directly, one thread;
//! - `wasm, 1 thread`: the component, each call driven by `block_on`;
//! - `wasm, tokio N workers`: the component on a multi-thread tokio runtime, N tasks taking
//!   Rollouts from a shared counter and awaiting `simulate::reconcile`.
//!
//! It prints the median of `ALBATROSS_PASS_RUNS` runs (default 3) of each. Before those runs it
//! measures memory: the RSS the world alone adds, and the peak RSS of the process once one wasm
//! pass has run over that world.
//!
//! Run: `cargo xtask guest && cargo bench -p albatross --bench pass`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use albatross::backend::manifests::read_manifests;
use albatross::backend::{Backend, block_on};
use albatross::runtime::call::reconcile;
use albatross::runtime::engine::{StrategyModule, new_engine};
use albatross_policy::reconcile::Settings;
use albatross_sim::runner::{NativeReconciler, Reconciler};
use albatross_sim::{Faults, SharedWorld, World, WorldConfig};
use serde_json::Value;

const N: usize = 10_000;

/// A world with `n` copies of the guestbook manifests, one namespace each, and the Rollouts'
/// JSON.
fn world_of(n: usize) -> (SharedWorld, Vec<String>) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifests = read_manifests(&root.join("examples/manifests/guestbook.yaml"))
        .unwrap_or_else(|e| panic!("{e:#}"));
    let mut world = World::new(WorldConfig::default(), Faults::default());
    let mut rollouts = Vec::with_capacity(n);
    for i in 0..n {
        for m in &manifests {
            let mut m = m.clone();
            m["metadata"]["namespace"] = Value::String(format!("ns{i}"));
            let kind = m["kind"].as_str().unwrap_or_default().to_string();
            if kind == "Rollout" {
                rollouts.push(m.to_string());
            }
            world.store.put(&kind, m).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    (SharedWorld::new(world), rollouts)
}

/// A line of /proc/self/status, in MiB (`VmRSS`, `VmHWM`).
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn sequential(module: &StrategyModule, world: &SharedWorld, rollouts: &[String]) {
    let settings = Settings::default();
    for r in rollouts {
        let out = block_on(reconcile(
            module,
            Backend::inline(world.clone()),
            r,
            &settings,
        ));
        assert!(out.is_ok(), "{out:?}");
    }
}

fn native(world: &SharedWorld, rollouts: &[String]) {
    let settings = Settings::default();
    for r in rollouts {
        let out = NativeReconciler.reconcile(world, r, &settings);
        assert!(out.is_ok(), "{out:?}");
    }
}

fn on_tokio(
    runtime: &tokio::runtime::Runtime,
    workers: usize,
    module: &Arc<StrategyModule>,
    world: &SharedWorld,
    rollouts: Vec<String>,
) {
    let rollouts = Arc::new(rollouts);
    let next = Arc::new(AtomicUsize::new(0));
    runtime.block_on(async {
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (module, world) = (module.clone(), world.clone());
                let (rollouts, next) = (rollouts.clone(), next.clone());
                tokio::spawn(async move {
                    let settings = Settings::default();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(r) = rollouts.get(i) else { break };
                        let backend = Backend::inline(world.clone());
                        let out = reconcile(&module, backend, r, &settings).await;
                        assert!(out.is_ok(), "{out:?}");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap_or_else(|e| panic!("{e}"));
        }
    });
}

/// Runs `pass` on a fresh world `runs` times; the median time. Only the pass is timed: the
/// world is built before and dropped after.
fn median(runs: usize, mut pass: impl FnMut(&SharedWorld, Vec<String>)) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let (world, rollouts) = world_of(N);
            let t = Instant::now();
            pass(&world, rollouts);
            let elapsed = t.elapsed();
            drop(world);
            elapsed
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let runs = std::env::var("ALBATROSS_PASS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3usize)
        .max(1);
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let module = Arc::new(StrategyModule::builtin(&engine).unwrap_or_else(|e| panic!("{e:#}")));
    // Memory first, in a process that has done nothing else yet: the world, then the peak of
    // one wasm pass over it.
    let before_world = status_mib("VmRSS:");
    let (world, rollouts) = world_of(N);
    let world_mib = status_mib("VmRSS:") - before_world;
    sequential(&module, &world, &rollouts);
    let pass_peak = status_mib("VmHWM:");
    drop((world, rollouts));

    println!("one reconcile pass over {N} Rollouts, median of {runs} runs:");
    let t = median(runs, |w, r| native(w, &r));
    println!("  native, 1 thread        {:>8.3} s", t.as_secs_f64());
    let t = median(runs, |w, r| sequential(&module, w, &r));
    println!("  wasm, 1 thread          {:>8.3} s", t.as_secs_f64());
    for workers in [2, 4] {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.min(2))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let t = median(runs, |w, r| on_tokio(&runtime, workers, &module, w, r));
        println!(
            "  wasm, tokio, {workers} tasks on {} workers {:>8.3} s",
            workers.min(2),
            t.as_secs_f64()
        );
    }
    println!(
        "peak RSS of a world and one wasm pass over it: {pass_peak:.0} MiB \
         (the world alone: {world_mib:.0} MiB; the process before it: {before_world:.0} MiB)"
    );
    println!(
        "peak RSS of the process after all runs: {:.0} MiB",
        status_mib("VmHWM:")
    );
}
