//! One contained call into a strategy module's I/O exports, `reconcile` and `verify`, the way
//! every host makes it (the simulator, the controller, `albatross verify`): the module's
//! cluster calls checked against what it may touch ([`crate::runtime::capabilities::Guarded`]),
//! a fresh instance under the module's deadline and memory cap, and whatever goes wrong
//! returned as one typed [`CallError`]: the module could not start, ran past its deadline (or,
//! far later, its wall-clock outer bound), went over its memory cap, trapped, or returned
//! output the host cannot read or that does not validate; or the strategy itself answered
//! with an error. The call is suspended, not blocked, while an import waits on Kubernetes or
//! AWS.

use albatross_policy::StrategyError;
use albatross_policy::reconcile::{Outcome, Settings, validate_outcome};
use albatross_policy::verification::Verification;
use thiserror::Error;
use wasmtime::{Store, Trap};

use crate::backend::{Backend, block_on};
use crate::runtime::bindings::{
    HostState, convert, settings as wit_settings, wit_reconciler, wit_types,
};
use crate::runtime::call_clock::{Overrun, WALL_BOUND_FACTOR};
use crate::runtime::capabilities::Scope;
use crate::runtime::engine::StrategyModule;

/// Why a call into a strategy module gave no usable answer. Every variant but
/// [`CallError::Strategy`] is a failure of the module itself: the host marks its Rollout
/// Degraded with this text and writes nothing else.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CallError {
    /// The instance could not be created (a pool exhausted, a start function that trapped).
    #[error("strategy module {module:?} could not start: {reason}")]
    Start {
        /// The module.
        module: String,
        /// What wasmtime said.
        reason: String,
    },
    /// The module's own running time passed its deadline.
    #[error("strategy module {module:?} ran past its deadline of {deadline_ms} ms and was stopped")]
    Deadline {
        /// The module.
        module: String,
        /// The deadline, in milliseconds of the module's own time.
        deadline_ms: u128,
    },
    /// The module's running stretches lasted past the wall-clock outer bound while its CPU
    /// time stayed under the deadline: a thread starved far beyond any healthy node, or a CPU
    /// clock that does not advance.
    #[error(
        "strategy module {module:?} ran for more than {bound_ms} ms of wall-clock time (the outer \
         bound, {factor}x its CPU deadline) and was stopped: the node is starved of CPU or its \
         thread CPU clock does not advance"
    )]
    WallBound {
        /// The module.
        module: String,
        /// The bound, in milliseconds of wall-clock time.
        bound_ms: u128,
        /// The bound as a multiple of the deadline.
        factor: u32,
    },
    /// The module tried to grow its memory past the cap.
    #[error("strategy module {module:?} exceeded its memory cap of {cap_mib} MiB and was stopped")]
    MemoryCap {
        /// The module.
        module: String,
        /// The cap, in MiB.
        cap_mib: usize,
    },
    /// The module trapped (an `unreachable`, a panic, an out-of-bounds access).
    #[error("strategy module {module:?} trapped: {trap}")]
    Trap {
        /// The module.
        module: String,
        /// The trap, without the wasm backtrace.
        trap: String,
    },
    /// The call failed in some other way (a host import that returned an error to wasmtime).
    #[error("strategy module {module:?} failed: {reason}")]
    Failed {
        /// The module.
        module: String,
        /// The first line of the error.
        reason: String,
    },
    /// The module returned something the host cannot read, or an outcome that does not
    /// validate.
    #[error("strategy module {module:?} returned {what}: {reason}")]
    InvalidOutput {
        /// The module.
        module: String,
        /// What was wrong with it, e.g. "output that does not validate".
        what: &'static str,
        /// The details.
        reason: String,
    },
    /// The strategy ran and answered with an error of its own (an invalid spec, a conflict, an
    /// ELBv2 call that failed).
    #[error(transparent)]
    Strategy(StrategyError),
}

impl CallError {
    /// Whether the module itself failed (as opposed to answering with a strategy error).
    pub fn is_module_failure(&self) -> bool {
        !matches!(self, CallError::Strategy(_))
    }

    /// Classifies what wasmtime returned from a call, with what the store saw during it.
    fn from_wasmtime(e: &wasmtime::Error, module: &StrategyModule, state: &HostState) -> Self {
        let name = module.name().to_string();
        let limits = module.limits();
        if state.memory_cap_hit() {
            return CallError::MemoryCap {
                module: name,
                cap_mib: limits.memory_bytes >> 20,
            };
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) if state.clock.overrun() == Some(Overrun::WallBound) => {
                CallError::WallBound {
                    module: name,
                    bound_ms: limits.wall_bound().as_millis(),
                    factor: WALL_BOUND_FACTOR,
                }
            }
            Some(Trap::Interrupt) => CallError::Deadline {
                module: name,
                deadline_ms: limits.deadline.as_millis(),
            },
            Some(trap) => CallError::Trap {
                module: name,
                trap: trap
                    .to_string()
                    .trim_start_matches("wasm trap: ")
                    .to_string(),
            },
            None => CallError::Failed {
                module: name,
                reason: format!("{e:#}")
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            },
        }
    }
}

/// The strategy error a host records for a failed call: a strategy error as it is, a module
/// failure as `malformed` with the sentence that names the module and the reason.
impl From<CallError> for StrategyError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Strategy(s) => s,
            other => StrategyError::Malformed(other.to_string()),
        }
    }
}

fn invalid(module: &StrategyModule, what: &'static str, reason: impl ToString) -> CallError {
    CallError::InvalidOutput {
        module: module.name().to_string(),
        what,
        reason: reason.to_string(),
    }
}

/// A fresh instance of `module` for a call about the Rollout `rollout_json`, its cluster calls
/// behind the capability checks of the Rollout's scope.
async fn start(
    module: &StrategyModule,
    backend: Backend,
    rollout_json: &str,
    settings: &Settings,
) -> Result<(Store<HostState>, wit_reconciler::Guest), CallError> {
    let backend = Scope::for_rollout(module.name(), rollout_json, settings).guard(backend);
    module
        .instantiate(backend)
        .await
        .map_err(|e| CallError::Start {
            module: module.name().to_string(),
            reason: format!("{e:#}"),
        })
}

/// The strategy error a module answered with, or an invalid-output error if the host cannot
/// read it.
fn strategy_error(module: &StrategyModule, e: &wit_types::StrategyError) -> CallError {
    match convert(e) {
        Ok(e) => CallError::Strategy(e),
        Err(c) => invalid(module, "an error the host cannot read", c),
    }
}

/// One `reconcile` call into `module` for the Rollout `rollout_json`, its imports answered by
/// `backend` behind the capability checks.
pub async fn reconcile(
    module: &StrategyModule,
    backend: Backend,
    rollout_json: &str,
    settings: &Settings,
) -> Result<Outcome, CallError> {
    let (mut store, reconciler) = start(module, backend, rollout_json, settings).await?;
    let result = reconciler
        .call_reconcile(&mut store, rollout_json, &wit_settings(settings))
        .await
        .map_err(|e| CallError::from_wasmtime(&e, module, store.data()))?;
    match result {
        Ok(out) => {
            let out: Outcome =
                convert(&out).map_err(|e| invalid(module, "an outcome the host cannot read", e))?;
            validate_outcome(&out)
                .map_err(|e| invalid(module, "output that does not validate", e))?;
            Ok(out)
        }
        Err(e) => Err(strategy_error(module, &e)),
    }
}

/// One `verify` call into `module`: everything it compared, for the weight in the Rollout's
/// status or `desired_canary_weight`. Writes nothing.
pub async fn verify(
    module: &StrategyModule,
    backend: Backend,
    rollout_json: &str,
    settings: &Settings,
    desired_canary_weight: Option<u32>,
) -> Result<Verification, CallError> {
    let (mut store, reconciler) = start(module, backend, rollout_json, settings).await?;
    let result = reconciler
        .call_verify(
            &mut store,
            rollout_json,
            &wit_settings(settings),
            desired_canary_weight,
        )
        .await
        .map_err(|e| CallError::from_wasmtime(&e, module, store.data()))?;
    match result {
        Ok(v) => convert(&v).map_err(|e| invalid(module, "a verification the host cannot read", e)),
        Err(e) => Err(strategy_error(module, &e)),
    }
}

/// [`reconcile`] from synchronous code (the simulator's loop), driven by [`block_on`].
pub fn call_reconcile(
    module: &StrategyModule,
    backend: Backend,
    rollout_json: &str,
    settings: &Settings,
) -> Result<Outcome, CallError> {
    block_on(reconcile(module, backend, rollout_json, settings))
}

/// [`verify`] from synchronous code, driven by [`block_on`].
pub fn call_verify(
    module: &StrategyModule,
    backend: Backend,
    rollout_json: &str,
    settings: &Settings,
    desired_canary_weight: Option<u32>,
) -> Result<Verification, CallError> {
    block_on(verify(
        module,
        backend,
        rollout_json,
        settings,
        desired_canary_weight,
    ))
}
