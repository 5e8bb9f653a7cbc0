//! The pure exports of the `policy` interface, natively: the same names, inputs and outputs as
//! the WIT functions, Rollouts and Ingresses as JSON. The wasm component forwards to these, so
//! a native call and a wasm call run the same code. Every function that takes a Rollout
//! validates it first, so an invalid spec is refused the same way everywhere.

use crate::action::{self, Annotation, ForwardAction};
use crate::conditions::{self, HeaderCondition};
use crate::elb::TargetHealth;
use crate::error::Result;
use crate::ingress::{self, Ingress};
use crate::managed::{self, ManagedEntry};
use crate::pingpong::{self, PingPongRoles, PingPongSwap};
use crate::plan::{self, StepPlan};
use crate::spec::Rollout;
use crate::validate;
use crate::verify::{self, IpVerdict, WeightCheck, WeightVerdict};

/// Parses and validates a Rollout.
pub fn parse_rollout(rollout_json: &str) -> Result<Rollout> {
    let rollout = Rollout::from_json(rollout_json)?;
    validate::validate(&rollout)?;
    Ok(rollout)
}

/// Checks a Rollout spec (WIT `validate`).
pub fn validate(rollout_json: &str) -> Result<()> {
    parse_rollout(rollout_json).map(|_| ())
}

/// The plan for one step (WIT `plan-step`).
pub fn plan_step(
    rollout_json: &str,
    step_index: u32,
    observed_stable_weight: Option<u32>,
) -> Result<StepPlan> {
    plan::plan_step(
        &parse_rollout(rollout_json)?,
        step_index,
        observed_stable_weight,
    )
}

/// The plan for every step (WIT `plan-steps`).
pub fn plan_steps(rollout_json: &str) -> Result<Vec<StepPlan>> {
    plan::plan_steps(&parse_rollout(rollout_json)?)
}

/// The action annotation for a canary weight (WIT `build-action`).
pub fn build_action(rollout_json: &str, canary_weight: u32) -> Result<Annotation> {
    action::build_action(&parse_rollout(rollout_json)?, canary_weight)
}

/// Parses an action annotation value (WIT `parse-action`).
pub fn parse_action(value: &str) -> Result<ForwardAction> {
    action::parse_action(value)
}

/// The header-route annotations (WIT `build-header-route`).
pub fn build_header_route(rollout_json: &str, route_name: &str) -> Result<Vec<Annotation>> {
    conditions::build_header_route(&parse_rollout(rollout_json)?, route_name)
}

/// Parses a conditions annotation value (WIT `parse-conditions`).
pub fn parse_conditions(value: &str) -> Result<Vec<HeaderCondition>> {
    conditions::parse_conditions(value)
}

/// Reads an Ingress's managed-annotation bookkeeping (WIT `read-managed`).
pub fn read_managed(ingress_json: &str) -> Result<Vec<ManagedEntry>> {
    managed::read_managed(&Ingress::from_json(ingress_json)?)
}

/// The bookkeeping annotations to write (WIT `update-managed`).
pub fn update_managed(
    ingress_json: &str,
    rollout: &str,
    keys: &[String],
) -> Result<Vec<Annotation>> {
    managed::update_managed(&Ingress::from_json(ingress_json)?, rollout, keys)
}

/// Whether an Ingress's class is one of `classes` (WIT `ingress-class-matches`).
pub fn ingress_class_matches(ingress_json: &str, classes: &[String]) -> Result<bool> {
    Ok(ingress::class_matches(
        &Ingress::from_json(ingress_json)?,
        classes,
    ))
}

/// The ping-pong roles (WIT `ping-pong-roles`).
pub fn ping_pong_roles(rollout_json: &str) -> Result<Option<PingPongRoles>> {
    pingpong::ping_pong_roles(&parse_rollout(rollout_json)?)
}

/// The ping-pong swap decision (WIT `decide-ping-pong-swap`).
pub fn decide_ping_pong_swap(
    rollout_json: &str,
    verified_canary_weight: Option<u32>,
) -> Result<PingPongSwap> {
    pingpong::decide_swap(&parse_rollout(rollout_json)?, verified_canary_weight)
}

/// Weight verification (WIT `verify-weights`).
pub fn verify_weights(check: &WeightCheck) -> Result<WeightVerdict> {
    Ok(verify::verify_weights(check))
}

/// IP verification (WIT `verify-ips`).
pub fn verify_ips(endpoint_ips: &[String], port: u32, targets: &[TargetHealth]) -> IpVerdict {
    verify::verify_ips(endpoint_ips, port, targets)
}
