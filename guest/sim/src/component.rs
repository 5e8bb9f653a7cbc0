//! The `albatross:strategy/simulator` component: the simulated world behind the WIT
//! `simulation` interface, so a host in any component runtime (wasmtime, a browser through jco)
//! runs scenarios with this same code. The host drives the seconds and calls the strategy; the
//! strategy's imports come back here through `host-call`. Only conversions live here.

use std::cell::RefCell;

use albatross_policy::reconcile::{Outcome, Settings};
use albatross_policy::{HostError, StrategyError};

use crate::dispatch::host_call;
use crate::runner::{Scenario, Simulation};

wit_bindgen::generate!({
    world: "simulator",
    path: "../../wit",
});

use albatross::strategy::types as wt;
use exports::albatross::strategy::simulation as ws;

thread_local! {
    static SIMULATION: RefCell<Option<Simulation>> = const { RefCell::new(None) };
}

struct Component;

export!(Component);

fn to_wit(e: HostError) -> wt::HostError {
    match e {
        HostError::NotFound(m) => wt::HostError::NotFound(m),
        HostError::Conflict(m) => wt::HostError::Conflict(m),
        HostError::Forbidden(m) => wt::HostError::Forbidden(m),
        HostError::Invalid(m) => wt::HostError::Invalid(m),
        HostError::Throttled(m) => wt::HostError::Throttled(m),
        HostError::Transient(m) => wt::HostError::Transient(m),
    }
}

fn with<T>(f: impl FnOnce(&mut Simulation) -> T) -> Result<T, String> {
    SIMULATION.with(|s| {
        s.borrow_mut()
            .as_mut()
            .map(f)
            .ok_or_else(|| "no scenario loaded: call load first".to_string())
    })
}

impl ws::Guest for Component {
    fn load(scenario_json: String, settings_json: String) -> Result<(), String> {
        let scenario: Scenario =
            serde_json::from_str(&scenario_json).map_err(|e| format!("scenario: {e}"))?;
        let settings: Settings =
            serde_json::from_str(&settings_json).map_err(|e| format!("settings: {e}"))?;
        SIMULATION.with(|s| *s.borrow_mut() = Some(Simulation::new(&scenario, &settings)));
        Ok(())
    }

    fn begin_second() -> Option<Vec<ws::DueRollout>> {
        with(|sim| sim.begin_second()).ok().flatten().map(|due| {
            due.into_iter()
                .map(|d| ws::DueRollout {
                    namespace: d.namespace,
                    name: d.name,
                    rollout_json: d.rollout_json,
                })
                .collect()
        })
    }

    fn record_outcome(namespace: String, name: String, result_json: String) -> Result<(), String> {
        let result: Result<Outcome, StrategyError> =
            serde_json::from_str(&result_json).map_err(|e| format!("outcome: {e}"))?;
        with(|sim| sim.record(&namespace, &name, result))
    }

    fn end_second() {
        let _ = with(|sim| sim.end_second());
    }

    fn trace() -> Result<String, String> {
        with(|sim| serde_json::to_string(&sim.trace()).map_err(|e| e.to_string()))?
    }

    fn host_call(name: String, args_json: String) -> Result<String, wt::HostError> {
        with(|sim| {
            let mut world = sim.world().clone();
            host_call(&mut world, &name, &args_json)
        })
        .map_err(wt::HostError::Invalid)?
        .map_err(to_wit)
    }
}
