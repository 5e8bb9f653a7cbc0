//! The built component imports nothing but the contract: no WASI, so the same bytes run in
//! any component runtime and, transpiled, in a browser.

use albatross::runtime::engine::{StrategyModule, new_engine};

#[test]
fn the_default_component_imports_only_the_contract() {
    let engine = new_engine().unwrap();
    let module = StrategyModule::builtin(&engine).unwrap();
    let mut imports = module.imports();
    imports.sort();
    assert_eq!(
        imports,
        [
            "albatross:strategy/clock@0.2.0",
            "albatross:strategy/cluster@0.2.0",
            "albatross:strategy/elbv2@0.2.0",
            "albatross:strategy/log@0.2.0",
            "albatross:strategy/types@0.2.0",
        ]
    );
    assert!(module.foreign_imports().is_empty());
}

#[test]
fn a_non_component_is_refused_with_its_name() {
    let engine = new_engine().unwrap();
    let err = StrategyModule::load(&engine, "junk.wasm", b"\0asm not really")
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("junk.wasm"), "{err:#}");
}
