//! Running a scenario with the simulated world as a component (`albatross-sim.wasm`, the same
//! guest/sim code the native runner uses) and a strategy component, both in wasmtime: the host
//! drives the seconds, calls the strategy for each due Rollout, and answers the strategy's
//! imports by forwarding them to the world's `host-call`. This is how any component runtime
//! (a browser through jco included) runs the simulation.

use std::sync::{Arc, Mutex, MutexGuard};

use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};
use albatross_policy::reconcile::Settings;
use albatross_policy::{HostError, StrategyError};
use albatross_sim::runner::{Scenario, Trace};
use anyhow::{Context, Result, anyhow};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

use crate::backend::Backend;
use crate::runtime::call::call_reconcile;
use crate::runtime::engine::{StrategyModule, WasmtimeContext};

mod generated {
    wasmtime::component::bindgen!({
        world: "simulator",
        path: "../wit",
    });
}

use generated::Simulator;
use generated::albatross::strategy::types::HostError as WitHostError;

/// The simulated world component, built by `cargo xtask guest` and embedded at build time.
pub static SIM_COMPONENT: &[u8] = include_bytes!(env!("ALBATROSS_SIM_COMPONENT"));

struct Instance {
    store: Store<()>,
    sim: Simulator,
}

/// A running simulation component, shared by the driver and the strategy's import backend.
#[derive(Clone)]
pub struct SimComponent(Arc<Mutex<Instance>>);

fn host_error(e: WitHostError) -> HostError {
    match e {
        WitHostError::NotFound(m) => HostError::NotFound(m),
        WitHostError::Conflict(m) => HostError::Conflict(m),
        WitHostError::Forbidden(m) => HostError::Forbidden(m),
        WitHostError::Invalid(m) => HostError::Invalid(m),
        WitHostError::Throttled(m) => HostError::Throttled(m),
        WitHostError::Transient(m) => HostError::Transient(m),
    }
}

impl SimComponent {
    /// Instantiates the embedded world component and loads a scenario into it.
    pub fn load(engine: &Engine, scenario: &Scenario, settings: &Settings) -> Result<Self> {
        let component = Component::from_binary(engine, SIM_COMPONENT)
            .wasm_context(|| "the simulation component is not valid")?;
        let linker: Linker<()> = Linker::new(engine);
        let mut store = Store::new(engine, ());
        // The world is the host's own code, not a module under test: no call deadline (the
        // engine interrupts by epoch, so set one far beyond any run: 2^40 ms, decades).
        store.set_epoch_deadline(1 << 40);
        let sim = Simulator::instantiate(&mut store, &component, &linker)
            .wasm_context(|| "instantiating the simulation component")?;
        let scenario_json = serde_json::to_string(scenario).context("serializing the scenario")?;
        let settings_json = serde_json::to_string(settings).context("serializing the settings")?;
        sim.albatross_strategy_simulation()
            .call_load(&mut store, &scenario_json, &settings_json)
            .wasm_context(|| "simulation load")?
            .map_err(|e| anyhow!("the simulation refused the scenario: {e}"))?;
        Ok(SimComponent(Arc::new(Mutex::new(Instance { store, sim }))))
    }

    fn lock(&self) -> MutexGuard<'_, Instance> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn call<T: DeserializeOwned>(&self, name: &str, args: Value) -> Result<T, HostError> {
        let mut guard = self.lock();
        let Instance { store, sim } = &mut *guard;
        let answer = sim
            .albatross_strategy_simulation()
            .call_host_call(store, name, &args.to_string())
            .map_err(|e| {
                HostError::Transient(format!("the simulation component trapped in {name}: {e}"))
            })?
            .map_err(host_error)?;
        serde_json::from_str(&answer).map_err(|e| HostError::Invalid(format!("{name}: {e}")))
    }
}

fn arg<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

impl Host for SimComponent {
    fn get(&mut self, k: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        self.call("cluster.get", json!([arg(k), ns, name]))
    }
    fn list(&mut self, k: &ObjectKind, ns: &str, sel: &str) -> Result<Vec<String>, HostError> {
        self.call("cluster.list", json!([arg(k), ns, sel]))
    }
    fn create(&mut self, k: &ObjectKind, ns: &str, object: &str) -> Result<String, HostError> {
        self.call("cluster.create", json!([arg(k), ns, object]))
    }
    fn patch(
        &mut self,
        k: &ObjectKind,
        ns: &str,
        name: &str,
        pt: PatchType,
        patch: &str,
        sub: Option<&str>,
    ) -> Result<String, HostError> {
        self.call(
            "cluster.patch",
            json!([arg(k), ns, name, arg(&pt), patch, sub]),
        )
    }
    fn delete(&mut self, k: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        self.call("cluster.delete", json!([arg(k), ns, name]))
    }
    fn record_event(&mut self, e: &Event) -> Result<(), HostError> {
        self.call("cluster.record-event", json!([arg(e)]))
    }
    fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        self.call("elbv2.describe-load-balancers", json!([names, arns]))
    }
    fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        self.call("elbv2.describe-listeners", json!([lb]))
    }
    fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError> {
        self.call("elbv2.describe-rules", json!([listener]))
    }
    fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        self.call("elbv2.describe-target-groups", json!([lb, arns]))
    }
    fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        self.call("elbv2.describe-tags", json!([arns]))
    }
    fn describe_target_health(&mut self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        self.call("elbv2.describe-target-health", json!([tg]))
    }
    fn now_millis(&mut self) -> u64 {
        self.call("clock.now", json!([])).unwrap_or(0)
    }
    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        let _: Result<(), HostError> =
            self.call("log.write", json!([arg(&level), message, fields]));
    }
}

/// Runs a scenario with the world component and a strategy component.
pub fn run(
    engine: &Engine,
    scenario: &Scenario,
    strategy: &StrategyModule,
    settings: &Settings,
) -> Result<Trace> {
    let world = SimComponent::load(engine, scenario, settings)?;
    loop {
        let due = {
            let mut guard = world.lock();
            let Instance { store, sim } = &mut *guard;
            sim.albatross_strategy_simulation()
                .call_begin_second(store)
                .wasm_context(|| "begin-second")?
        };
        let Some(due) = due else { break };
        for d in due {
            let native = call_reconcile(
                strategy,
                Backend::inline(world.clone()),
                &d.rollout_json,
                settings,
            )
            .map_err(StrategyError::from);
            let result_json = serde_json::to_string(&native).context("serializing the outcome")?;
            let mut guard = world.lock();
            let Instance { store, sim } = &mut *guard;
            sim.albatross_strategy_simulation()
                .call_record_outcome(store, &d.namespace, &d.name, &result_json)
                .wasm_context(|| "record-outcome")?
                .map_err(|e| anyhow!("the simulation refused the outcome: {e}"))?;
        }
        let mut guard = world.lock();
        let Instance { store, sim } = &mut *guard;
        sim.albatross_strategy_simulation()
            .call_end_second(store)
            .wasm_context(|| "end-second")?;
    }
    let mut guard = world.lock();
    let Instance { store, sim } = &mut *guard;
    let trace = sim
        .albatross_strategy_simulation()
        .call_trace(store)
        .wasm_context(|| "trace")?
        .map_err(|e| anyhow!("the simulation could not give its trace: {e}"))?;
    serde_json::from_str(&trace).context("the simulation's trace")
}
