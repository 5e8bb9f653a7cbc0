//! One table of cases (tests/cases/policy.json), two ways of calling: every case runs through
//! the native albatross-policy crate and through the built wasm component in wasmtime, and the
//! two results must serialize to the same bytes. Cases with an `expect` also pin the result.

use albatross::runtime::engine::{StrategyModule, new_engine};
use albatross::runtime::pure::{Call, Function, call_native, call_wasm};
use clap::ValueEnum;
use serde_json::Value;

#[test]
fn native_and_wasm_agree_on_every_case() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/cases/policy.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert!(
        cases.len() >= 30,
        "the case table shrank to {}",
        cases.len()
    );
    let engine = new_engine().unwrap();
    let module = StrategyModule::builtin(&engine).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let function = Function::from_str(case["function"].as_str().unwrap(), false).unwrap();
        seen.insert(function.wit_name());
        let call =
            Call::parse(function, &case["input"]).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let native = call_native(&call).unwrap();
        let wasm = call_wasm(&module, &call).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert_eq!(
            serde_json::to_string(&native).unwrap(),
            serde_json::to_string(&wasm).unwrap(),
            "{name}: native and wasm differ"
        );
        assert!(
            native.get("Ok").is_some() || native.get("Err").is_some(),
            "{name}: {native}"
        );
        if let Some(expect) = case.get("expect") {
            assert_eq!(&native, expect, "{name}: unexpected result");
        }
    }
    let all: std::collections::BTreeSet<String> = Function::value_variants()
        .iter()
        .map(|f| f.wit_name())
        .collect();
    assert_eq!(seen, all, "every exported function has at least one case");
}
