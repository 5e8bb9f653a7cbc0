//! The wasmtime side: one engine, a linker with the host imports, and strategy components
//! loaded from bytes (the built-in default or a file), instantiated fresh for each call so no
//! state leaks between calls.

use anyhow::{Context, Result};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store};

use crate::bindings::{HostState, Strategy, StrategyPre};

/// The default strategy component, built by `cargo xtask guest` and embedded at build time.
pub static DEFAULT_COMPONENT: &[u8] = include_bytes!(env!("ALBATROSS_DEFAULT_COMPONENT"));

/// The name of the built-in default strategy.
pub const DEFAULT_MODULE_NAME: &str = "albatross-default";

/// The interface-name prefix of every import a strategy may have.
pub const CONTRACT_PREFIX: &str = "albatross:strategy/";

/// A compiled strategy module, linked against the host imports and ready to instantiate.
pub struct StrategyModule {
    engine: Engine,
    component: Component,
    pre: StrategyPre<HostState>,
    name: String,
}

/// Creates the wasmtime engine the host uses.
pub fn new_engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    Engine::new(&config).wasm_context(|| "creating the wasmtime engine")
}

impl StrategyModule {
    /// Compiles and links a component. `name` is how logs and errors call it.
    pub fn load(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Self> {
        let component = Component::from_binary(engine, bytes)
            .wasm_context(|| format!("strategy module {name:?} is not a valid component"))?;
        let mut linker: Linker<HostState> = Linker::new(engine);
        Strategy::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .wasm_context(|| "adding the host imports to the linker")?;
        let pre = linker.instantiate_pre(&component).wasm_context(|| {
            format!(
                "strategy module {name:?} does not link against the albatross:strategy contract"
            )
        })?;
        let pre = StrategyPre::new(pre).wasm_context(|| {
            format!("strategy module {name:?} does not export the albatross:strategy world")
        })?;
        Ok(StrategyModule {
            engine: engine.clone(),
            component,
            pre,
            name: name.to_string(),
        })
    }

    /// The built-in default strategy.
    pub fn builtin(engine: &Engine) -> Result<Self> {
        Self::load(engine, DEFAULT_MODULE_NAME, DEFAULT_COMPONENT)
    }

    /// Loads a component file.
    pub fn from_file(engine: &Engine, path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading strategy module {}", path.display()))?;
        Self::load(engine, &path.display().to_string(), &bytes)
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The names of the interfaces the component imports, e.g.
    /// `albatross:strategy/cluster@0.1.0`.
    pub fn imports(&self) -> Vec<String> {
        self.component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// The imports outside the contract (any WASI interface, say); empty for a good module.
    pub fn foreign_imports(&self) -> Vec<String> {
        self.imports()
            .into_iter()
            .filter(|i| !i.starts_with(CONTRACT_PREFIX))
            .collect()
    }

    /// A fresh instance whose imports are answered by `backend`.
    pub fn instantiate(
        &self,
        backend: Box<dyn albatross_policy::host::Host + Send>,
    ) -> Result<(Store<HostState>, Strategy)> {
        let mut store = Store::new(
            &self.engine,
            HostState {
                backend,
                module: self.name.clone(),
            },
        );
        let bindings = self
            .pre
            .instantiate(&mut store)
            .wasm_context(|| format!("instantiating strategy module {:?}", self.name))?;
        Ok((store, bindings))
    }
}

/// Attaches context to a `wasmtime::Result`, turning it into an `anyhow::Result` (wasmtime 48
/// has its own error type).
pub trait WasmtimeContext<T> {
    /// Wraps the error with the message `f` gives.
    fn wasm_context<C: std::fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T> WasmtimeContext<T> for wasmtime::Result<T> {
    fn wasm_context<C: std::fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| anyhow::anyhow!("{}: {e:#}", f()))
    }
}
