//! Calling a strategy's exported functions by name with JSON input, two ways: through a wasm
//! component, or natively through the albatross-policy crate the default component is built
//! from. Both give the result as the JSON of `{"Ok": value}` or `{"Err": error}`, so the two
//! can be compared byte for byte; `albatross policy` prints it.

use albatross_policy::elb::TargetHealth;
use albatross_policy::verify::WeightCheck;
use albatross_policy::{StrategyError, api};
use anyhow::{Context, Result, anyhow, bail};
use clap::ValueEnum;
use serde::Serialize;
use serde_json::Value;

use crate::runtime::bindings::{convert, wit_elbv2};
use crate::runtime::engine::{StrategyModule, WasmtimeContext};

/// The exported functions `albatross policy` can call; names as in the WIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Function {
    /// The module's name and version. Input: `{}`.
    Info,
    /// Check a Rollout. Input: `{"rollout": {...}}`.
    Validate,
    /// Weights and replicas of one step. Input: `{"rollout", "step_index", "observed_stable_weight"?}`.
    PlanStep,
    /// Weights and replicas of every step. Input: `{"rollout"}`.
    PlanSteps,
    /// The action annotation for a weight. Input: `{"rollout", "canary_weight"}`.
    BuildAction,
    /// Parse an action annotation value. Input: `{"value": "..."}`.
    ParseAction,
    /// The annotations of a header route. Input: `{"rollout", "route_name"}`.
    BuildHeaderRoute,
    /// Parse a conditions annotation value. Input: `{"value": "..."}`.
    ParseConditions,
    /// Read an Ingress's managed-annotation bookkeeping. Input: `{"ingress": {...}}`.
    ReadManaged,
    /// The bookkeeping to write. Input: `{"ingress", "rollout_name", "keys": [...]}`.
    UpdateManaged,
    /// Whether an Ingress's class is served. Input: `{"ingress", "classes": [...]}`.
    IngressClassMatches,
    /// The ping-pong roles. Input: `{"rollout"}`.
    PingPongRoles,
    /// Whether to swap ping-pong now. Input: `{"rollout", "verified_canary_weight"?}`.
    DecidePingPongSwap,
    /// Compare desired and observed weights. Input: `{"check": {...}}` (see the WIT weight-check).
    VerifyWeights,
    /// Compare endpoint IPs with the targets registered at the target port. Input:
    /// `{"endpoint_ips": [...], "port": 8080, "targets": [...]}`.
    VerifyIps,
}

impl Function {
    /// The function's WIT name.
    pub fn wit_name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
}

/// A call with its arguments read from the JSON input. Rollouts and Ingresses are carried as
/// the exact JSON text both backends receive.
#[derive(Debug, Clone)]
pub enum Call {
    /// `info`.
    Info,
    /// `validate`.
    Validate { rollout: String },
    /// `plan-step`.
    PlanStep {
        rollout: String,
        step_index: u32,
        observed_stable_weight: Option<u32>,
    },
    /// `plan-steps`.
    PlanSteps { rollout: String },
    /// `build-action`.
    BuildAction { rollout: String, canary_weight: u32 },
    /// `parse-action`.
    ParseAction { value: String },
    /// `build-header-route`.
    BuildHeaderRoute { rollout: String, route_name: String },
    /// `parse-conditions`.
    ParseConditions { value: String },
    /// `read-managed`.
    ReadManaged { ingress: String },
    /// `update-managed`.
    UpdateManaged {
        ingress: String,
        rollout_name: String,
        keys: Vec<String>,
    },
    /// `ingress-class-matches`.
    IngressClassMatches {
        ingress: String,
        classes: Vec<String>,
    },
    /// `ping-pong-roles`.
    PingPongRoles { rollout: String },
    /// `decide-ping-pong-swap`.
    DecidePingPongSwap {
        rollout: String,
        verified_canary_weight: Option<u32>,
    },
    /// `verify-weights`.
    VerifyWeights { check: Box<WeightCheck> },
    /// `verify-ips`.
    VerifyIps {
        endpoint_ips: Vec<String>,
        port: u32,
        targets: Vec<TargetHealth>,
    },
}

fn field<'a>(input: &'a Value, name: &str, f: Function) -> Result<&'a Value> {
    input
        .get(name)
        .filter(|v| !v.is_null())
        .ok_or_else(|| anyhow!("{}: the input has no {name:?} field", f.wit_name()))
}

/// An object given inline (`{...}`) or as its JSON text (`"{...}"`), as the text passed on.
fn object_text(input: &Value, name: &str, f: Function) -> Result<String> {
    match field(input, name, f)? {
        Value::String(s) => Ok(s.clone()),
        other => Ok(other.to_string()),
    }
}

fn string(input: &Value, name: &str, f: Function) -> Result<String> {
    field(input, name, f)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{}: {name:?} must be a string", f.wit_name()))
}

fn number(v: &Value, name: &str, f: Function) -> Result<u32> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            anyhow!(
                "{}: {name:?} must be a whole number ≥ 0, got {v}",
                f.wit_name()
            )
        })
}

fn required_u32(input: &Value, name: &str, f: Function) -> Result<u32> {
    number(field(input, name, f)?, name, f)
}

fn optional_u32(input: &Value, name: &str, f: Function) -> Result<Option<u32>> {
    match input.get(name).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => number(v, name, f).map(Some),
    }
}

fn typed<T: serde::de::DeserializeOwned>(input: &Value, name: &str, f: Function) -> Result<T> {
    serde_json::from_value(field(input, name, f)?.clone())
        .with_context(|| format!("{}: reading {name:?}", f.wit_name()))
}

impl Call {
    /// Reads the arguments of `f` from its JSON input.
    pub fn parse(f: Function, input: &Value) -> Result<Call> {
        if !input.is_object() {
            bail!("{}: the input must be a JSON object", f.wit_name());
        }
        let rollout = || object_text(input, "rollout", f);
        let ingress = || object_text(input, "ingress", f);
        Ok(match f {
            Function::Info => Call::Info,
            Function::Validate => Call::Validate {
                rollout: rollout()?,
            },
            Function::PlanStep => Call::PlanStep {
                rollout: rollout()?,
                step_index: required_u32(input, "step_index", f)?,
                observed_stable_weight: optional_u32(input, "observed_stable_weight", f)?,
            },
            Function::PlanSteps => Call::PlanSteps {
                rollout: rollout()?,
            },
            Function::BuildAction => Call::BuildAction {
                rollout: rollout()?,
                canary_weight: required_u32(input, "canary_weight", f)?,
            },
            Function::ParseAction => Call::ParseAction {
                value: string(input, "value", f)?,
            },
            Function::BuildHeaderRoute => Call::BuildHeaderRoute {
                rollout: rollout()?,
                route_name: string(input, "route_name", f)?,
            },
            Function::ParseConditions => Call::ParseConditions {
                value: string(input, "value", f)?,
            },
            Function::ReadManaged => Call::ReadManaged {
                ingress: ingress()?,
            },
            Function::UpdateManaged => Call::UpdateManaged {
                ingress: ingress()?,
                rollout_name: string(input, "rollout_name", f)?,
                keys: typed(input, "keys", f)?,
            },
            Function::IngressClassMatches => Call::IngressClassMatches {
                ingress: ingress()?,
                classes: typed(input, "classes", f)?,
            },
            Function::PingPongRoles => Call::PingPongRoles {
                rollout: rollout()?,
            },
            Function::DecidePingPongSwap => Call::DecidePingPongSwap {
                rollout: rollout()?,
                verified_canary_weight: optional_u32(input, "verified_canary_weight", f)?,
            },
            Function::VerifyWeights => Call::VerifyWeights {
                check: typed(input, "check", f)?,
            },
            Function::VerifyIps => Call::VerifyIps {
                endpoint_ips: typed(input, "endpoint_ips", f)?,
                port: typed(input, "port", f)?,
                targets: typed(input, "targets", f)?,
            },
        })
    }
}

fn json<T: Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).context("serializing the result")
}

/// Calls the native build of the default strategy.
pub fn call_native(call: &Call) -> Result<Value> {
    match call {
        Call::Info => json(&Ok::<_, StrategyError>(serde_json::json!({
            "name": crate::runtime::engine::DEFAULT_MODULE_NAME,
            "version": env!("CARGO_PKG_VERSION"),
        }))),
        Call::Validate { rollout } => json(&api::validate(rollout)),
        Call::PlanStep {
            rollout,
            step_index,
            observed_stable_weight,
        } => json(&api::plan_step(
            rollout,
            *step_index,
            *observed_stable_weight,
        )),
        Call::PlanSteps { rollout } => json(&api::plan_steps(rollout)),
        Call::BuildAction {
            rollout,
            canary_weight,
        } => json(&api::build_action(rollout, *canary_weight)),
        Call::ParseAction { value } => json(&api::parse_action(value)),
        Call::BuildHeaderRoute {
            rollout,
            route_name,
        } => json(&api::build_header_route(rollout, route_name)),
        Call::ParseConditions { value } => json(&api::parse_conditions(value)),
        Call::ReadManaged { ingress } => json(&api::read_managed(ingress)),
        Call::UpdateManaged {
            ingress,
            rollout_name,
            keys,
        } => json(&api::update_managed(ingress, rollout_name, keys)),
        Call::IngressClassMatches { ingress, classes } => {
            json(&api::ingress_class_matches(ingress, classes))
        }
        Call::PingPongRoles { rollout } => json(&api::ping_pong_roles(rollout)),
        Call::DecidePingPongSwap {
            rollout,
            verified_canary_weight,
        } => json(&api::decide_ping_pong_swap(
            rollout,
            *verified_canary_weight,
        )),
        Call::VerifyWeights { check } => json(&api::verify_weights(check)),
        Call::VerifyIps {
            endpoint_ips,
            port,
            targets,
        } => json(&Ok::<_, StrategyError>(api::verify_ips(
            endpoint_ips,
            *port,
            targets,
        ))),
    }
}

/// Calls a strategy component, in a fresh instance for the pure functions (the clock and the
/// log answered, no cluster or ELBv2).
pub fn call_wasm(module: &StrategyModule, call: &Call) -> Result<Value> {
    let (mut store, bindings) = module.instantiate_pure()?;
    let p = bindings.albatross_strategy_policy();
    let s = &mut store;
    let trap = || format!("strategy module {:?} trapped", module.name());
    match call {
        Call::Info => json(&Ok::<_, StrategyError>(
            bindings
                .albatross_strategy_reconciler()
                .call_info(s)
                .wasm_context(trap)?,
        )),
        Call::Validate { rollout } => json(&p.call_validate(s, rollout).wasm_context(trap)?),
        Call::PlanStep {
            rollout,
            step_index,
            observed_stable_weight,
        } => json(
            &p.call_plan_step(s, rollout, *step_index, *observed_stable_weight)
                .wasm_context(trap)?,
        ),
        Call::PlanSteps { rollout } => json(&p.call_plan_steps(s, rollout).wasm_context(trap)?),
        Call::BuildAction {
            rollout,
            canary_weight,
        } => json(
            &p.call_build_action(s, rollout, *canary_weight)
                .wasm_context(trap)?,
        ),
        Call::ParseAction { value } => json(&p.call_parse_action(s, value).wasm_context(trap)?),
        Call::BuildHeaderRoute {
            rollout,
            route_name,
        } => json(
            &p.call_build_header_route(s, rollout, route_name)
                .wasm_context(trap)?,
        ),
        Call::ParseConditions { value } => {
            json(&p.call_parse_conditions(s, value).wasm_context(trap)?)
        }
        Call::ReadManaged { ingress } => json(&p.call_read_managed(s, ingress).wasm_context(trap)?),
        Call::UpdateManaged {
            ingress,
            rollout_name,
            keys,
        } => json(
            &p.call_update_managed(s, ingress, rollout_name, keys)
                .wasm_context(trap)?,
        ),
        Call::IngressClassMatches { ingress, classes } => json(
            &p.call_ingress_class_matches(s, ingress, classes)
                .wasm_context(trap)?,
        ),
        Call::PingPongRoles { rollout } => {
            json(&p.call_ping_pong_roles(s, rollout).wasm_context(trap)?)
        }
        Call::DecidePingPongSwap {
            rollout,
            verified_canary_weight,
        } => json(
            &p.call_decide_ping_pong_swap(s, rollout, *verified_canary_weight)
                .wasm_context(trap)?,
        ),
        Call::VerifyWeights { check } => {
            let check = convert(check).context("verify-weights: converting the check")?;
            json(&p.call_verify_weights(s, &check).wasm_context(trap)?)
        }
        Call::VerifyIps {
            endpoint_ips,
            port,
            targets,
        } => {
            let targets: Vec<wit_elbv2::TargetHealth> =
                convert(targets).context("verify-ips: converting the targets")?;
            json(&Ok::<_, StrategyError>(
                p.call_verify_ips(s, endpoint_ips, *port, &targets)
                    .wasm_context(trap)?,
            ))
        }
    }
}
