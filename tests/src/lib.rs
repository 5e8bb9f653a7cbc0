//! Test support for the end-to-end tests: the built-in strategy compiled once per test binary,
//! scenarios from examples/scenarios run in the simulated world through the wasm component or
//! natively, and single reconcile passes either way.

pub mod alb;
pub mod apiserver;
pub mod argo;
pub mod cli;
pub mod cluster;
pub mod delayed;
pub mod kubelet;
pub mod mirror;
pub mod moto;
pub mod throttle;
pub mod verify_env;

use std::path::PathBuf;
use std::sync::OnceLock;

use albatross::runtime::engine::{StrategyModule, new_engine};
use albatross::simulation::{WasmReconciler, read_scenario};
use albatross_policy::reconcile::Settings;
use albatross_sim::SharedWorld;
use albatross_sim::runner::{NativeReconciler, Reconciler, Scenario, Simulation, Trace, run};
use serde_json::Value;

/// The built-in default strategy, compiled once per test binary.
pub fn default_module() -> &'static StrategyModule {
    static MODULE: OnceLock<StrategyModule> = OnceLock::new();
    MODULE.get_or_init(|| {
        let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
        StrategyModule::builtin(&engine).unwrap_or_else(|e| panic!("{e:#}"))
    })
}

/// Which way the strategy is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// The native albatross-policy crate.
    Native,
    /// The built-in wasm component, through wasmtime.
    Wasm,
}

/// The path of a component built by `cargo xtask guest` (`target/wasm/<file>`).
pub fn built_component(file: &str) -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("wasm")
        .join(file)
}

/// A fresh empty directory under the system's temporary directory, for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("albatross-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// The path of an example scenario.
pub fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/scenarios")
        .join(format!("{name}.yaml"))
}

/// Reads an example scenario.
pub fn scenario(name: &str) -> Scenario {
    read_scenario(&scenario_path(name)).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Runs a scenario the given way, with verification on or off.
pub fn simulate(scenario: &Scenario, way: Way, verify: bool) -> Trace {
    let settings = Settings {
        verify,
        ..Settings::default()
    };
    match way {
        Way::Native => run(scenario, &mut NativeReconciler, &settings),
        Way::Wasm => run(
            scenario,
            &mut WasmReconciler {
                module: default_module(),
            },
            &settings,
        ),
    }
}

/// The seconds at which Events with this reason were recorded.
pub fn events_at(trace: &Trace, reason: &str) -> Vec<u64> {
    trace
        .events
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| e.t)
        .collect()
}

/// The world of a scenario run the given way (verification on) up to and including second
/// `until`.
pub fn partial(scenario: &Scenario, way: Way, until: u64) -> albatross_sim::World {
    let settings = Settings::default();
    let mut sim = Simulation::new(scenario, &settings);
    let mut native = NativeReconciler;
    let mut wasm = WasmReconciler {
        module: default_module(),
    };
    let reconciler: &mut dyn Reconciler = match way {
        Way::Native => &mut native,
        Way::Wasm => &mut wasm,
    };
    while let Some(due) = sim.begin_second() {
        for d in due {
            let result = reconciler.reconcile(sim.world(), &d.rollout_json, &settings);
            sim.record(&d.namespace, &d.name, result);
        }
        sim.end_second();
        if sim.world().lock().now_s >= until {
            break;
        }
    }
    sim.world().lock().clone()
}

/// One reconcile pass over the Rollout `ns/name` of `world`, the given way, with default
/// settings; the result as JSON (`{"Ok": outcome}` or `{"Err": error}`), and the status it
/// returns applied to the stored Rollout.
pub fn reconcile_once(world: &SharedWorld, way: Way, ns: &str, name: &str) -> Value {
    let rollout = world
        .lock()
        .store
        .get_json("Rollout", ns, name)
        .unwrap_or("null")
        .to_string();
    let settings = Settings::default();
    let result = match way {
        Way::Native => NativeReconciler.reconcile(world, &rollout, &settings),
        Way::Wasm => WasmReconciler {
            module: default_module(),
        }
        .reconcile(world, &rollout, &settings),
    };
    let json = serde_json::to_value(&result).unwrap_or(Value::Null);
    if let Ok(out) = &result
        && let Some(status) = out
            .status_json
            .as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        let mut w = world.lock();
        if let Some(mut r) = w.store.get("Rollout", ns, name) {
            r["status"] = status;
            let _ = w.store.put("Rollout", r);
        }
    }
    json
}
