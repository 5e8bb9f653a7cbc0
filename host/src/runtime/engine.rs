//! The wasmtime side: one sandboxed engine, a linker with the host imports, and strategy
//! components loaded from bytes (the built-in default or a file), instantiated fresh from an
//! `InstancePre` for each call so no state leaks between calls.
//!
//! The sandbox: every call runs under a deadline (epoch interruption, the epoch advanced by a
//! ticker thread every millisecond; the deadline counts the module's own running time, not the
//! time the host spends answering its imports) and a memory cap (a store limiter, and the pooling
//! allocator's per-memory limit). A module that loops or allocates without end is stopped with
//! a trap that names the limit, and the host goes on.
//!
//! Two ways in. [`StrategyModule::instantiate`] links the real imports, with `cluster` and
//! `elbv2` asynchronous: its calls are made with `call_async`, wasmtime runs them on a fiber, a
//! call waiting on Kubernetes or AWS is suspended rather than blocking its thread, and a module
//! computing for long yields to the executor every [`YIELD_SLICE`].
//! [`StrategyModule::instantiate_pure`] is for the pure functions: the clock and the log are
//! answered, any cluster or ELBv2 call traps, and calls are plain synchronous ones.

use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter,
    Store, Trap, UpdateDeadline,
};

use crate::backend::Backend;
use crate::backend::offline::OfflineHost;
use crate::runtime::bindings::albatross::strategy::{clock, log};
use crate::runtime::bindings::{HostState, Strategy, StrategyPre, wit_reconciler};
use crate::runtime::call_clock::{CallClock, WALL_BOUND_FACTOR};

/// The default strategy component, built by `cargo xtask guest` and embedded at build time.
pub static DEFAULT_COMPONENT: &[u8] = include_bytes!(env!("ALBATROSS_DEFAULT_COMPONENT"));

/// The name of the built-in default strategy.
pub const DEFAULT_MODULE_NAME: &str = "albatross-default";

/// The interface-name prefix of every import a strategy may have.
pub const CONTRACT_PREFIX: &str = "albatross:strategy/";

/// The version of the `albatross:strategy` contract this host speaks (`wit/strategy.wit`).
pub const CONTRACT_VERSION: &str = "0.2.0";

/// Refuses a component whose contract imports or exports carry another version than
/// [`CONTRACT_VERSION`], saying which it was built against and what to do.
fn check_contract_version(engine: &Engine, name: &str, component: &Component) -> Result<()> {
    let ty = component.component_type();
    let names: Vec<String> = ty
        .imports(engine)
        .map(|(n, _)| n.to_string())
        .chain(ty.exports(engine).map(|(n, _)| n.to_string()))
        .collect();
    for n in &names {
        let Some((_, version)) = n
            .strip_prefix(CONTRACT_PREFIX)
            .and_then(|r| r.split_once('@'))
        else {
            continue;
        };
        if version != CONTRACT_VERSION {
            anyhow::bail!(
                "strategy module {name:?} was built against albatross:strategy@{version} \
                 ({n}); this host speaks albatross:strategy@{CONTRACT_VERSION} (0.2.0 verifies \
                 target IPs by address and port): rebuild the module against this release's \
                 wit/strategy.wit"
            );
        }
    }
    Ok(())
}

/// A compiled strategy module, linked against the host imports and ready to instantiate.
pub struct StrategyModule {
    engine: Engine,
    component: Component,
    io: StrategyPre<HostState>,
    /// Where the `reconciler` exports are, so an I/O instance looks up (and type-checks) only
    /// those, not the whole world's.
    reconciler: wit_reconciler::GuestIndices,
    pure: StrategyPre<HostState>,
    name: String,
    limits: Limits,
}

/// How long one call may run, and how much memory an instance may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The module's own running time one call may take (time in imports and suspended at
    /// yields is not counted).
    pub deadline: Duration,
    /// Bytes of linear memory one instance may grow to.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_millis(100),
            memory_bytes: 64 << 20,
        }
    }
}

impl Limits {
    /// The wall-clock outer bound on a call's running stretches: [`WALL_BOUND_FACTOR`] times
    /// the deadline.
    pub fn wall_bound(&self) -> Duration {
        self.deadline.saturating_mul(WALL_BOUND_FACTOR)
    }
}

/// How often the epoch advances: the resolution of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// How long an asynchronous call computes before it yields to the executor, so one busy
/// module never holds a tokio worker thread for its whole deadline.
pub const YIELD_SLICE: Duration = Duration::from_millis(10);

/// Instances the pooling allocator keeps slots for.
const POOL_INSTANCES: u32 = 256;

/// How much of a freed memory, table or fiber stack slot stays resident for the next instance,
/// reset in place instead of returned to the kernel and faulted back in page by page. With
/// Linux's `PAGEMAP_SCAN` (6.7 and later) only the pages the last instance dirtied are reset.
const KEEP_RESIDENT: usize = 4 << 20;

/// The sandboxed engine: component model, epoch interruption with a ticker thread, and the
/// pooling allocator with the memory cap of `limits`.
pub fn new_engine_with(limits: Limits) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 2)
        .total_memories(POOL_INSTANCES * 2)
        .total_tables(POOL_INSTANCES * 2)
        .max_memory_size(limits.memory_bytes)
        .linear_memory_keep_resident(KEEP_RESIDENT.min(limits.memory_bytes))
        .table_keep_resident(KEEP_RESIDENT)
        .async_stack_keep_resident(KEEP_RESIDENT)
        .pagemap_scan(Enabled::Auto);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).wasm_context(|| "creating the wasmtime engine")?;
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("albatross-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .context("starting the epoch ticker")?;
    Ok(engine)
}

/// The sandboxed engine with the default limits (100 ms, 64 MiB).
pub fn new_engine() -> Result<Engine> {
    new_engine_with(Limits::default())
}

/// The magic number every WebAssembly binary starts with.
const WASM_MAGIC: &[u8] = b"\0asm";

/// The layer field (bytes 6 and 7) of a component; a core module has 0.
const COMPONENT_LAYER: [u8; 2] = [1, 0];

/// Compiles a component's bytes (Cranelift). A file that is not WebAssembly, or is a core
/// module rather than a component, is refused in one sentence saying which.
pub fn compile(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Component> {
    if !bytes.starts_with(WASM_MAGIC) {
        anyhow::bail!(
            "strategy module {name:?} is not a WebAssembly file (it does not start with \\0asm; \
             a text-format .wat must be assembled first)"
        );
    }
    if bytes.get(6..8) != Some(&COMPONENT_LAYER[..]) {
        anyhow::bail!(
            "strategy module {name:?} is a core WebAssembly module, not a component: encode it \
             as a component against wit/strategy.wit (wasm-tools component new, or the \
             wit-component crate)"
        );
    }
    Component::from_binary(engine, bytes).map_err(|e| {
        anyhow::anyhow!(
            "strategy module {name:?} is not a valid component: {}",
            crate::telemetry::one_line(&format!("{e:#}"))
        )
    })
}

/// Epoch ticks in `d` (at least one).
fn ticks(d: Duration) -> u64 {
    u64::try_from(d.as_millis() / EPOCH_TICK.as_millis().max(1))
        .unwrap_or(u64::MAX)
        .max(1)
}

/// The memory cap of one instance: refuses any growth past `cap` bytes (the call then traps)
/// and remembers that it did, so a failed call is known to have hit the cap without reading
/// the trap's message.
#[derive(Debug, Clone)]
pub struct MemoryCap {
    cap: usize,
    hit: bool,
}

impl MemoryCap {
    /// A cap of `limits.memory_bytes`.
    pub fn new(limits: Limits) -> Self {
        MemoryCap {
            cap: limits.memory_bytes,
            hit: false,
        }
    }

    /// Whether the instance tried to grow past the cap.
    pub fn hit(&self) -> bool {
        self.hit
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.hit = true;
            return Err(wasmtime::Error::msg(format!(
                "memory growth to {desired} bytes refused: the cap is {} bytes",
                self.cap
            )));
        }
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.hit = true;
        Err(error)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

impl StrategyModule {
    /// Compiles and links a component. `name` is how logs and errors call it.
    pub fn load(engine: &Engine, name: &str, bytes: &[u8]) -> Result<Self> {
        Self::link(engine, name, compile(engine, name, bytes)?)
    }

    /// Links a compiled component against the host imports and checks that it exports the
    /// `strategy` world.
    pub fn link(engine: &Engine, name: &str, component: Component) -> Result<Self> {
        check_contract_version(engine, name, &component)?;
        let mut linker: Linker<HostState> = Linker::new(engine);
        Strategy::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .wasm_context(|| "adding the host imports to the linker")?;
        let io = Self::pre(name, &linker, &component)?;
        let reconciler = wit_reconciler::GuestIndices::new(io.instance_pre())
            .wasm_context(|| format!("strategy module {name:?} does not export the reconciler"))?;
        let mut linker: Linker<HostState> = Linker::new(engine);
        clock::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .and_then(|()| log::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))
            .and_then(|()| linker.define_unknown_imports_as_traps(&component))
            .wasm_context(|| "adding the pure functions' imports to the linker")?;
        let pure = Self::pre(name, &linker, &component)?;
        Ok(StrategyModule {
            engine: engine.clone(),
            component,
            io,
            reconciler,
            pure,
            name: name.to_string(),
            limits: Limits::default(),
        })
    }

    fn pre(
        name: &str,
        linker: &Linker<HostState>,
        component: &Component,
    ) -> Result<StrategyPre<HostState>> {
        let pre = linker.instantiate_pre(component).wasm_context(|| {
            format!(
                "strategy module {name:?} does not link against the albatross:strategy contract"
            )
        })?;
        StrategyPre::new(pre).wasm_context(|| {
            format!("strategy module {name:?} does not export the albatross:strategy world")
        })
    }

    /// The compiled component.
    pub fn component(&self) -> &Component {
        &self.component
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

    /// The same module under other limits (the engine's pool caps memory at its own limit).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits each call runs under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The names of the interfaces the component exports, e.g.
    /// `albatross:strategy/reconciler@0.2.0`.
    pub fn exports(&self) -> Vec<String> {
        self.component
            .component_type()
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// The names of the interfaces the component imports, e.g.
    /// `albatross:strategy/cluster@0.2.0`.
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

    /// A fresh instance whose imports are answered by `backend`, with the deadline and memory
    /// cap of the module's limits. The deadline covers the instance's whole life: one call,
    /// made with `call_async` (`reconcile` or `verify`). Only the `reconciler` exports are
    /// looked up: each lookup type-checks its function, and these calls need no other.
    pub async fn instantiate(
        &self,
        backend: Backend,
    ) -> Result<(Store<HostState>, wit_reconciler::Guest)> {
        let mut store = self.store(backend, true);
        let context = || format!("instantiating strategy module {:?}", self.name);
        let instance = self
            .io
            .instance_pre()
            .instantiate_async(&mut store)
            .await
            .wasm_context(context)?;
        let reconciler = self
            .reconciler
            .load(&mut store, &instance)
            .wasm_context(context)?;
        Ok((store, reconciler))
    }

    /// A fresh instance for the pure functions, called synchronously: the clock and the log
    /// are answered, a cluster or ELBv2 call traps. Same deadline and memory cap.
    pub fn instantiate_pure(&self) -> Result<(Store<HostState>, Strategy)> {
        let mut store = self.store(Backend::inline(OfflineHost), false);
        let bindings = self
            .pure
            .instantiate(&mut store)
            .wasm_context(|| format!("instantiating strategy module {:?}", self.name))?;
        Ok((store, bindings))
    }

    /// A store with the module's limits. With `yields`, the deadline callback yields to the
    /// executor every [`YIELD_SLICE`] of running time (async calls only).
    fn store(&self, backend: Backend, yields: bool) -> Store<HostState> {
        let mut store = Store::new(
            &self.engine,
            HostState {
                backend,
                module: self.name.clone(),
                memory: MemoryCap::new(self.limits),
                clock: CallClock::start(),
            },
        );
        store.limiter(|s| &mut s.memory);
        let deadline = self.limits.deadline;
        let wall_bound = self.limits.wall_bound();
        store.set_epoch_deadline(ticks(deadline.min(YIELD_SLICE)));
        store.epoch_deadline_callback(move |ctx| {
            let clock = &ctx.data().clock;
            let Ok(left) = clock.left(deadline, wall_bound) else {
                return Err(Trap::Interrupt.into());
            };
            if !yields {
                return Ok(UpdateDeadline::Continue(ticks(left)));
            }
            let clock = clock.clone();
            clock.suspend();
            Ok(UpdateDeadline::YieldCustom(
                ticks(left.min(YIELD_SLICE)),
                Box::pin(async move {
                    tokio::task::yield_now().await;
                    clock.resume();
                }),
            ))
        });
        store
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
