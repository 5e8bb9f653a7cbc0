//! The strategy runtime's costs, measured with criterion:
//!
//! - `pure/<fn>/native` vs `pure/<fn>/wasm`: the same export of the default strategy, natively
//!   and through wasmtime on a warm instance, same inputs;
//! - `instantiate/{pure,io}`: a fresh instance from the module's `InstancePre` (pooling
//!   allocator), for the pure functions (synchronous) and for a reconcile (async imports, so
//!   instantiated with `instantiate_async` on a fiber);
//! - `load/compile` vs `load/cache`: a module compiled from its bytes vs loaded from the
//!   compiled-code cache (both linked);
//!
//! The 10,000-Rollout pass and its memory are measured by `benches/pass.rs`, a process of its
//! own.
//!
//! Run: `cargo xtask guest && cargo bench -p albatross --bench strategy`.

use std::hint::black_box;
use std::time::Duration;

use albatross::backend::offline::OfflineHost;
use albatross::backend::{Backend, block_on};
use albatross::runtime::bindings::{convert, wit_elbv2, wit_policy};
use albatross::runtime::engine::{DEFAULT_COMPONENT, Limits, StrategyModule, new_engine};
use albatross::runtime::registry::{Registry, RegistryConfig};
use albatross_policy::api;
use albatross_policy::elb::{TargetHealth, TargetHealthState};
use albatross_policy::verify::WeightCheck;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rollout_json() -> String {
    let text = std::fs::read_to_string(root().join("examples/policy/build-action.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    v["rollout"].to_string()
}

fn weight_check() -> WeightCheck {
    let text = std::fs::read_to_string(root().join("tests/cases/policy.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let case = cases
        .into_iter()
        .find(|c| c["name"] == "verify-weights match")
        .unwrap_or_else(|| panic!("no verify-weights case"));
    serde_json::from_value(case["input"]["check"].clone()).unwrap_or_else(|e| panic!("{e}"))
}

fn pure(c: &mut Criterion) {
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let module = StrategyModule::builtin(&engine)
        .unwrap_or_else(|e| panic!("{e:#}"))
        .with_limits(Limits {
            deadline: Duration::from_secs(3600),
            ..Limits::default()
        });
    let (mut store, bindings) = module
        .instantiate_pure()
        .unwrap_or_else(|e| panic!("{e:#}"));
    let p = bindings.albatross_strategy_policy();
    let rollout = rollout_json();
    let action = api::build_action(&rollout, 20)
        .unwrap_or_else(|e| panic!("{e}"))
        .value;
    let check = weight_check();
    let wit_check: wit_policy::WeightCheck = convert(&check).unwrap_or_else(|e| panic!("{e}"));
    let targets: Vec<TargetHealth> = (0..50)
        .map(|i| TargetHealth {
            id: format!("10.0.{}.{}", i / 250, i % 250),
            port: Some(8080),
            state: TargetHealthState::Healthy,
            reason: None,
        })
        .collect();
    let ips: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
    let wit_targets: Vec<wit_elbv2::TargetHealth> =
        convert(&targets).unwrap_or_else(|e| panic!("{e}"));

    let mut g = c.benchmark_group("pure");
    g.bench_function("build-action/native", |b| {
        b.iter(|| api::build_action(black_box(&rollout), 20))
    });
    g.bench_function("build-action/wasm", |b| {
        b.iter(|| p.call_build_action(&mut store, black_box(&rollout), 20))
    });
    g.bench_function("plan-steps/native", |b| {
        b.iter(|| api::plan_steps(black_box(&rollout)))
    });
    g.bench_function("plan-steps/wasm", |b| {
        b.iter(|| p.call_plan_steps(&mut store, black_box(&rollout)))
    });
    g.bench_function("parse-action/native", |b| {
        b.iter(|| api::parse_action(black_box(&action)))
    });
    g.bench_function("parse-action/wasm", |b| {
        b.iter(|| p.call_parse_action(&mut store, black_box(&action)))
    });
    g.bench_function("verify-weights/native", |b| {
        b.iter(|| api::verify_weights(black_box(&check)))
    });
    g.bench_function("verify-weights/wasm", |b| {
        b.iter(|| p.call_verify_weights(&mut store, black_box(&wit_check)))
    });
    g.bench_function("verify-ips/native", |b| {
        b.iter(|| api::verify_ips(black_box(&ips), 8080, black_box(&targets)))
    });
    g.bench_function("verify-ips/wasm", |b| {
        b.iter(|| p.call_verify_ips(&mut store, black_box(&ips), 8080, black_box(&wit_targets)))
    });
    g.finish();
}

fn instantiate(c: &mut Criterion) {
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let module = StrategyModule::builtin(&engine).unwrap_or_else(|e| panic!("{e:#}"));
    let mut g = c.benchmark_group("instantiate");
    g.bench_function("pure", |b| b.iter(|| module.instantiate_pure()));
    g.bench_function("io", |b| {
        b.iter(|| block_on(module.instantiate(Backend::inline(OfflineHost))))
    });
    g.finish();
}

fn load(c: &mut Criterion) {
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let cache = std::env::temp_dir().join(format!("albatross-bench-cache-{}", std::process::id()));
    let registry = Registry::new(
        &engine,
        RegistryConfig {
            cache_dir: Some(cache.clone()),
            ..RegistryConfig::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let mut g = c.benchmark_group("load");
    g.sample_size(10);
    g.bench_function("compile", |b| {
        b.iter(|| StrategyModule::load(&engine, "bench", DEFAULT_COMPONENT))
    });
    g.bench_function("cache", |b| {
        b.iter(|| {
            let loaded = registry
                .load_bytes("bench", "bench", DEFAULT_COMPONENT)
                .unwrap_or_else(|e| panic!("{e:#}"));
            assert!(loaded.from_cache);
            loaded
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(cache);
}

criterion_group!(benches, pure, instantiate, load);
criterion_main!(benches);
