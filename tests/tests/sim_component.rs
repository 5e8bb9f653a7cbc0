//! The simulated world built as a component gives the same trace as the native world: one
//! implementation, whichever host runs it. Both the world and the strategy run in wasmtime.

use albatross::runtime::engine::new_engine;
use albatross::simulation::component::{SIM_COMPONENT, run};
use albatross_policy::reconcile::Settings;
use albatross_tests::{Way, default_module, scenario, simulate};
use wasmtime::component::Component;

#[test]
fn the_world_component_imports_no_functions() {
    let engine = new_engine().unwrap();
    let component = Component::from_binary(&engine, SIM_COMPONENT).unwrap();
    let imports: Vec<String> = component
        .component_type()
        .imports(&engine)
        .map(|(n, _)| n.to_string())
        .collect();
    // Only the contract's types interface (no functions): no WASI, no host calls.
    assert_eq!(imports, ["albatross:strategy/types@0.2.0"]);
}

#[test]
fn world_component_and_native_world_give_the_same_trace() {
    let engine = new_engine().unwrap();
    for (name, verify) in [
        ("basic-canary", true),
        ("blue-green", true),
        ("ping-pong", true),
        ("lb-controller-outage", false),
    ] {
        let s = scenario(name);
        let settings = Settings {
            verify,
            ..Settings::default()
        };
        let in_component = run(&engine, &s, default_module(), &settings)
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let native = simulate(&s, Way::Native, verify);
        assert_eq!(
            serde_json::to_string(&in_component).unwrap(),
            serde_json::to_string(&native).unwrap(),
            "{name}: the world component and the native world differ"
        );
    }
}
