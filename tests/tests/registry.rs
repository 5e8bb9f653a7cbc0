//! The module registry: live swap under load, digest pinning, the compiled-code cache, which
//! module serves a Rollout, and a module built against another contract version refused by
//! name. Uses the calm module in two versions (`calm-1.wasm`,
//! `calm-2.wasm`, built by `cargo xtask guest` from tests/hostile), which report their version
//! through `info`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use albatross::backend::Backend;
use albatross::backend::offline::OfflineHost;
use albatross::commands::module::{format_inspection, inspect, precompile};
use albatross::runtime::call::call_reconcile;
use albatross::runtime::engine::{
    CONTRACT_VERSION, DEFAULT_MODULE_NAME, StrategyModule, new_engine,
};
use albatross::runtime::pure::{Call, call_wasm};
use albatross::runtime::registry::{Registry, RegistryConfig, STRATEGY_ANNOTATION, digest};
use albatross_policy::reconcile::Settings;
use albatross_tests::{built_component, scratch_dir};
use serde_json::json;

fn bytes(file: &str) -> Vec<u8> {
    let path = built_component(file);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask guest`)", path.display()))
}

fn put(dir: &Path, name: &str, content: &[u8]) {
    // Written beside and renamed, as a deployment tool (or a ConfigMap update) does.
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, content).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
}

fn version(registry: &Registry, name: &str) -> String {
    let loaded = registry
        .get(name)
        .unwrap_or_else(|| panic!("no module {name}"));
    let info = call_wasm(&loaded.module, &Call::Info).unwrap_or_else(|e| panic!("{e:#}"));
    info["Ok"]["version"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_module_swapped_while_reconciles_run_fails_none_and_serves_the_next_ones() {
    let dir = scratch_dir("swap");
    put(&dir, "calm.wasm", &bytes("calm-1.wasm"));
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let registry = Arc::new(
        Registry::new(
            &engine,
            RegistryConfig {
                module_dir: Some(dir.clone()),
                ..RegistryConfig::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e:#}")),
    );
    assert_eq!(version(&registry, "calm"), "calm-1");
    let rollout = json!({
        "metadata": {"name": "app", "namespace": "shop", "annotations": {STRATEGY_ANNOTATION: "calm"}}
    });
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (registry, stop, rollout) = (registry.clone(), stop.clone(), rollout.to_string());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) || seen.len() < 50 {
                let loaded = registry
                    .select(&serde_json::from_str(&rollout).unwrap_or_default())
                    .unwrap_or_else(|e| panic!("{e:#}"));
                let outcome = call_reconcile(
                    &loaded.module,
                    Backend::inline(OfflineHost),
                    &rollout,
                    &Settings::default(),
                );
                assert!(
                    outcome.is_ok(),
                    "a reconcile failed during the swap: {outcome:?}"
                );
                let info =
                    call_wasm(&loaded.module, &Call::Info).unwrap_or_else(|e| panic!("{e:#}"));
                seen.push(
                    info["Ok"]["version"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            seen
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    put(&dir, "calm.wasm", &bytes("calm-2.wasm"));
    let swapped = registry.rescan();
    assert_eq!(swapped.len(), 1);
    assert!(swapped[0].1.is_ok(), "{:?}", swapped[0].1.as_ref().err());
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    let seen = worker
        .join()
        .unwrap_or_else(|_| panic!("the reconcile loop panicked"));
    let first_new = seen
        .iter()
        .position(|v| v == "calm-2")
        .unwrap_or_else(|| panic!("never saw calm-2: {seen:?}"));
    assert!(first_new > 0, "the old version never served: {seen:?}");
    assert!(seen[..first_new].iter().all(|v| v == "calm-1"));
    assert!(
        seen[first_new..].iter().all(|v| v == "calm-2"),
        "went back to the old version: {seen:?}"
    );

    // A new version that is not a component is refused, and calm-2 keeps serving.
    put(&dir, "calm.wasm", b"not a component");
    let refused = registry.rescan();
    let err = refused[0]
        .1
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("garbage was accepted"));
    assert!(
        format!("{err:#}").contains("is not a WebAssembly file"),
        "{err:#}"
    );
    assert_eq!(version(&registry, "calm"), "calm-2");
}

#[test]
fn digest_pinning_refuses_a_tampered_file_and_the_pinned_version_keeps_serving() {
    let dir = scratch_dir("pin");
    let good = bytes("calm-1.wasm");
    put(&dir, "calm.wasm", &good);
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let pinned = digest(&good);
    let registry = Registry::new(
        &engine,
        RegistryConfig {
            module_dir: Some(dir.clone()),
            pins: [("calm".to_string(), pinned.clone())].into(),
            ..RegistryConfig::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        registry.get("calm").map(|m| m.digest.clone()),
        Some(pinned.clone())
    );
    let mut tampered = good.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    put(&dir, "calm.wasm", &tampered);
    let tried = registry.rescan();
    let err = tried[0]
        .1
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("the tampered file was accepted"));
    let text = format!("{err:#}");
    assert!(
        text.contains(&format!(
            "its digest {} does not match the pinned {pinned}",
            digest(&tampered)
        )),
        "{text}"
    );
    assert_eq!(registry.get("calm").map(|m| m.digest.clone()), Some(pinned));
    assert_eq!(version(&registry, "calm"), "calm-1");
}

#[test]
fn the_compiled_code_cache_serves_the_second_start() {
    let dir = scratch_dir("cache-modules");
    let cache = scratch_dir("cache");
    put(&dir, "calm.wasm", &bytes("calm-1.wasm"));
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let config = RegistryConfig {
        module_dir: Some(dir),
        cache_dir: Some(cache.clone()),
        ..RegistryConfig::default()
    };
    let first = Registry::new(&engine, config.clone()).unwrap_or_else(|e| panic!("{e:#}"));
    let cold = first.get("calm").unwrap_or_else(|| panic!("no calm"));
    assert!(!cold.from_cache);
    let second = Registry::new(&engine, config).unwrap_or_else(|e| panic!("{e:#}"));
    let warm = second.get("calm").unwrap_or_else(|| panic!("no calm"));
    assert!(warm.from_cache, "the second start compiled again");
    assert_eq!(version(&second, "calm"), "calm-1");
    assert!(
        second
            .get(DEFAULT_MODULE_NAME)
            .is_some_and(|m| m.from_cache)
    );
    // albatross module compile: both times, the cache entry where the registry looks.
    let times = precompile(&engine, &built_component("calm-2.wasm"), &cache)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(times.load_from_cache < times.compile, "{times:?}");
}

#[test]
fn a_rollout_is_served_by_its_annotation_else_its_namespace_else_the_cluster_default() {
    let dir = scratch_dir("select");
    put(&dir, "calm.wasm", &bytes("calm-1.wasm"));
    put(&dir, "calm-next.wasm", &bytes("calm-2.wasm"));
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let registry = Registry::new(
        &engine,
        RegistryConfig {
            module_dir: Some(dir),
            namespace_defaults: [("staging".to_string(), "calm-next".to_string())].into(),
            ..RegistryConfig::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let rollout = |ns: &str, annotation: Option<&str>| {
        let mut r = json!({"metadata": {"name": "app", "namespace": ns}});
        if let Some(a) = annotation {
            r["metadata"]["annotations"] = json!({ STRATEGY_ANNOTATION: a });
        }
        r
    };
    let served = |r: serde_json::Value| {
        registry
            .select(&r)
            .map(|m| m.module.name().to_string())
            .unwrap_or_else(|e| panic!("{e:#}"))
    };
    assert_eq!(served(rollout("shop", Some("calm"))), "calm");
    assert_eq!(served(rollout("staging", Some("calm"))), "calm");
    assert_eq!(served(rollout("staging", None)), "calm-next");
    assert_eq!(served(rollout("shop", None)), DEFAULT_MODULE_NAME);
    let err = registry
        .select(&rollout("shop", Some("nope")))
        .err()
        .unwrap_or_else(|| panic!("an unknown module was served"));
    assert!(
        format!("{err:#}").starts_with(
            "Rollout shop/app: no strategy module named \"nope\" (named by its annotation albatross.io/strategy); loaded: albatross-default, calm, calm-next"
        ),
        "{err:#}"
    );
}

#[test]
fn inspect_names_the_world_the_version_and_the_imports() {
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let path = built_component("albatross-default.wasm");
    let i = inspect(&engine, &path).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(i.digest, digest(&bytes("albatross-default.wasm")));
    assert_eq!(
        i.reports,
        Some(("albatross-default".into(), env!("CARGO_PKG_VERSION").into()))
    );
    assert!(
        i.imports
            .iter()
            .all(|n| n.starts_with("albatross:strategy/")),
        "{:?}",
        i.imports
    );
    assert!(
        i.exports
            .contains(&"albatross:strategy/reconciler@0.2.0".to_string())
    );
    let text = format_inspection(&i);
    assert!(
        text.contains("world:    albatross:strategy/strategy@0.2.0 (implemented)"),
        "{text}"
    );
    let sim = inspect(&engine, &built_component("albatross-sim.wasm"))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(sim.reports.is_none());
    assert!(
        format_inspection(&sim).contains("does not implement albatross:strategy/strategy@0.2.0")
    );
}

/// `component` as if built against contract `0.1.0`: every `@0.2.0` of its interface names
/// rewritten (same length, so the binary stays valid). What an operator holds after
/// upgrading Albatross without rebuilding a module of their own.
fn built_against_0_1(component: &[u8]) -> Vec<u8> {
    let (new, old) = (b"@0.2.0", b"@0.1.0");
    let mut out = component.to_vec();
    let mut i = 0;
    while i + new.len() <= out.len() {
        if &out[i..i + new.len()] == new {
            out[i..i + new.len()].copy_from_slice(old);
            i += new.len();
        } else {
            i += 1;
        }
    }
    assert_ne!(out, component, "no contract version found to rewrite");
    out
}

#[test]
fn a_module_built_against_the_old_contract_is_refused_by_version_and_the_loaded_one_serves() {
    assert_eq!(CONTRACT_VERSION, "0.2.0");
    let engine = new_engine().unwrap_or_else(|e| panic!("{e:#}"));
    let old = built_against_0_1(&bytes("calm-2.wasm"));
    let err = StrategyModule::load(&engine, "calm", &old)
        .err()
        .unwrap_or_else(|| panic!("a 0.1.0 module was linked"));
    let text = format!("{err:#}");
    assert!(
        text.contains("was built against albatross:strategy@0.1.0")
            && text.contains("this host speaks albatross:strategy@0.2.0")
            && text.contains("rebuild the module"),
        "{text}"
    );
    let dir = scratch_dir("old-contract");
    put(&dir, "calm.wasm", &bytes("calm-1.wasm"));
    let registry = Registry::new(
        &engine,
        RegistryConfig {
            module_dir: Some(dir.clone()),
            ..RegistryConfig::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    put(&dir, "calm.wasm", &old);
    let refused = registry.rescan();
    let err = refused[0]
        .1
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("the 0.1.0 module was accepted"));
    assert!(
        format!("{err:#}").contains("was built against albatross:strategy@0.1.0"),
        "{err:#}"
    );
    assert_eq!(version(&registry, "calm"), "calm-1");
    let path = dir.join("calm.wasm");
    let i = inspect(&engine, &path).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        i.not_a_strategy
            .as_deref()
            .is_some_and(|r| r.contains("was built against albatross:strategy@0.1.0")),
        "{i:?}"
    );
}
