//! The `albatross:strategy` component: wit-bindgen glue that exports the native functions of
//! this crate through the WIT `reconciler` and `policy` interfaces; [`imports`] implements
//! [`crate::host::Host`] over the WIT imports. Only conversions live here; every decision is
//! in the native modules.

mod imports;

use crate::{
    action, api, conditions, elb, error, managed, pingpong, plan, reconcile, verification, verify,
};

wit_bindgen::generate!({
    world: "strategy",
    path: "../../wit",
});

use albatross::strategy::{elbv2 as wit_elb, types as wt};
use exports::albatross::strategy::{policy as wp, reconciler as wr};
use imports::{
    WitHost, event_to_wit, load_balancer, resource_tags, rule, state_to_wit, target_group,
    target_health, target_health_to_wit,
};

struct Component;

export!(Component);

/// The name this module reports.
pub const MODULE_NAME: &str = "albatross-default";

impl wr::Guest for Component {
    fn info() -> wr::ModuleInfo {
        wr::ModuleInfo {
            name: MODULE_NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    fn reconcile(
        rollout_json: String,
        settings: wr::Settings,
    ) -> Result<wr::Outcome, wt::StrategyError> {
        let out = reconcile::reconcile(&mut WitHost, &rollout_json, &settings_from_wit(settings))
            .map_err(strategy_error)?;
        Ok(wr::Outcome {
            status_json: out.status_json,
            requeue_after_ms: out.requeue_after_ms,
            events: out.events.into_iter().map(event_to_wit).collect(),
        })
    }

    fn verify(
        rollout_json: String,
        settings: wr::Settings,
        desired_canary_weight: Option<u32>,
    ) -> Result<wr::Verification, wt::StrategyError> {
        let v = verification::verify_rollout_json(
            &mut WitHost,
            &rollout_json,
            &settings_from_wit(settings),
            desired_canary_weight,
        )
        .map_err(strategy_error)?;
        Ok(wr::Verification {
            rollout: v.rollout,
            desired_canary_weight: v.desired_canary_weight,
            verified: v.verified,
            ingresses: v
                .ingresses
                .into_iter()
                .map(|i| wr::IngressVerification {
                    ingress: i.ingress,
                    hostname: i.hostname,
                    verdict: weight_verdict_to_wit(i.verdict),
                })
                .collect(),
            targets: v
                .targets
                .into_iter()
                .map(|t| wr::TargetVerification {
                    role: t.role,
                    service: t.service,
                    target_group_arn: t.target_group_arn,
                    target_type: t.target_type,
                    endpoint_ips: t.endpoint_ips,
                    targets: t.targets.into_iter().map(target_health_to_wit).collect(),
                    verdict: t.verdict.map(ip_verdict_to_wit),
                    not_checked: t.not_checked,
                })
                .collect(),
        })
    }
}

fn settings_from_wit(s: wr::Settings) -> reconcile::Settings {
    reconcile::Settings {
        verify: s.verify,
        ingress_classes: s.ingress_classes,
        resource_tag_key: s.resource_tag_key,
        cluster_tag_key: s.cluster_tag_key,
        cluster_name: s.cluster_name,
        target_group_binding_api_version: s.target_group_binding_api_version,
    }
}

fn weight_verdict_to_wit(v: verify::WeightVerdict) -> wp::WeightVerdict {
    wp::WeightVerdict {
        verified: v.verified,
        load_balancer_arn: v.load_balancer_arn,
        canary_target_group_arn: v.canary_target_group_arn,
        stable_target_group_arn: v.stable_target_group_arn,
        desired_canary_weight: v.desired_canary_weight,
        desired_stable_weight: v.desired_stable_weight,
        rules: v
            .rules
            .into_iter()
            .map(|r| wp::RuleWeights {
                rule_arn: r.rule_arn,
                observed_canary: r.observed_canary,
                observed_stable: r.observed_stable,
                matches: r.matches,
            })
            .collect(),
        differences: v.differences,
    }
}

fn ip_verdict_to_wit(v: verify::IpVerdict) -> wp::IpVerdict {
    wp::IpVerdict {
        verified: v.verified,
        port: v.port,
        ips: v
            .ips
            .into_iter()
            .map(|s| wp::IpStatus {
                ip: s.ip,
                registered: s.registered,
                state: s.state.map(state_to_wit),
                other_ports: s.other_ports,
            })
            .collect(),
        missing: v.missing,
    }
}

impl wp::Guest for Component {
    fn validate(rollout_json: String) -> Result<(), wt::StrategyError> {
        api::validate(&rollout_json).map_err(strategy_error)
    }

    fn plan_step(
        rollout_json: String,
        step_index: u32,
        observed_stable_weight: Option<u32>,
    ) -> Result<wp::StepPlan, wt::StrategyError> {
        api::plan_step(&rollout_json, step_index, observed_stable_weight)
            .map(step_plan)
            .map_err(strategy_error)
    }

    fn plan_steps(rollout_json: String) -> Result<Vec<wp::StepPlan>, wt::StrategyError> {
        api::plan_steps(&rollout_json)
            .map(|v| v.into_iter().map(step_plan).collect())
            .map_err(strategy_error)
    }

    fn build_action(
        rollout_json: String,
        canary_weight: u32,
    ) -> Result<wt::Annotation, wt::StrategyError> {
        api::build_action(&rollout_json, canary_weight)
            .map(annotation)
            .map_err(strategy_error)
    }

    fn parse_action(value: String) -> Result<wp::ForwardAction, wt::StrategyError> {
        let a = api::parse_action(&value).map_err(strategy_error)?;
        Ok(wp::ForwardAction {
            target_groups: a
                .target_groups
                .into_iter()
                .map(action_target_group)
                .collect(),
            stickiness: a
                .stickiness
                .map(|s: action::ActionStickiness| wp::ActionStickiness {
                    enabled: s.enabled,
                    duration_seconds: s.duration_seconds,
                }),
        })
    }

    fn build_header_route(
        rollout_json: String,
        route_name: String,
    ) -> Result<Vec<wt::Annotation>, wt::StrategyError> {
        api::build_header_route(&rollout_json, &route_name)
            .map(|v| v.into_iter().map(annotation).collect())
            .map_err(strategy_error)
    }

    fn parse_conditions(value: String) -> Result<Vec<wp::HeaderCondition>, wt::StrategyError> {
        api::parse_conditions(&value)
            .map(|v| {
                v.into_iter()
                    .map(|c: conditions::HeaderCondition| wp::HeaderCondition {
                        header_name: c.header_name,
                        values: c.values,
                    })
                    .collect()
            })
            .map_err(strategy_error)
    }

    fn read_managed(ingress_json: String) -> Result<Vec<wp::ManagedEntry>, wt::StrategyError> {
        api::read_managed(&ingress_json)
            .map(|v| {
                v.into_iter()
                    .map(|e: managed::ManagedEntry| wp::ManagedEntry {
                        rollout: e.rollout,
                        keys: e.keys,
                    })
                    .collect()
            })
            .map_err(strategy_error)
    }

    fn update_managed(
        ingress_json: String,
        rollout_name: String,
        keys: Vec<String>,
    ) -> Result<Vec<wt::Annotation>, wt::StrategyError> {
        api::update_managed(&ingress_json, &rollout_name, &keys)
            .map(|v| v.into_iter().map(annotation).collect())
            .map_err(strategy_error)
    }

    fn ingress_class_matches(
        ingress_json: String,
        classes: Vec<String>,
    ) -> Result<bool, wt::StrategyError> {
        api::ingress_class_matches(&ingress_json, &classes).map_err(strategy_error)
    }

    fn ping_pong_roles(
        rollout_json: String,
    ) -> Result<Option<wp::PingPongState>, wt::StrategyError> {
        api::ping_pong_roles(&rollout_json)
            .map(|r| r.map(roles))
            .map_err(strategy_error)
    }

    fn decide_ping_pong_swap(
        rollout_json: String,
        verified_canary_weight: Option<u32>,
    ) -> Result<wp::PingPongSwap, wt::StrategyError> {
        let s = api::decide_ping_pong_swap(&rollout_json, verified_canary_weight)
            .map_err(strategy_error)?;
        Ok(wp::PingPongSwap {
            swap: s.swap,
            reason: s.reason,
            roles: roles(s.roles),
            annotations: s.annotations.into_iter().map(annotation).collect(),
        })
    }

    fn verify_weights(check: wp::WeightCheck) -> Result<wp::WeightVerdict, wt::StrategyError> {
        let native = verify::WeightCheck {
            ingress_namespace: check.ingress_namespace,
            ingress_name: check.ingress_name,
            canary_service: check.canary_service,
            stable_service: check.stable_service,
            service_port: check.service_port,
            desired_canary_weight: check.desired_canary_weight,
            resource_tag_key: check.resource_tag_key,
            required_tags: check
                .required_tags
                .into_iter()
                .map(|t| elb::Tag {
                    key: t.key,
                    value: t.value,
                })
                .collect(),
            load_balancer: load_balancer(check.load_balancer),
            rules: check.rules.into_iter().map(rule).collect(),
            target_groups: check.target_groups.into_iter().map(target_group).collect(),
            tags: check.tags.into_iter().map(resource_tags).collect(),
        };
        api::verify_weights(&native)
            .map(weight_verdict_to_wit)
            .map_err(strategy_error)
    }

    fn verify_ips(
        endpoint_ips: Vec<String>,
        port: u32,
        targets: Vec<wit_elb::TargetHealth>,
    ) -> wp::IpVerdict {
        let targets: Vec<elb::TargetHealth> = targets.into_iter().map(target_health).collect();
        ip_verdict_to_wit(api::verify_ips(&endpoint_ips, port, &targets))
    }
}

fn strategy_error(e: error::StrategyError) -> wt::StrategyError {
    match e {
        error::StrategyError::InvalidSpec(f) => wt::StrategyError::InvalidSpec(wt::FieldError {
            object: f.object,
            field: f.field,
            message: f.message,
        }),
        error::StrategyError::Malformed(m) => wt::StrategyError::Malformed(m),
        error::StrategyError::Host(h) => wt::StrategyError::Host(host_error_to_wit(h)),
    }
}

fn host_error_to_wit(e: error::HostError) -> wt::HostError {
    use error::HostError as H;
    match e {
        H::NotFound(m) => wt::HostError::NotFound(m),
        H::Conflict(m) => wt::HostError::Conflict(m),
        H::Forbidden(m) => wt::HostError::Forbidden(m),
        H::Invalid(m) => wt::HostError::Invalid(m),
        H::Throttled(m) => wt::HostError::Throttled(m),
        H::Transient(m) => wt::HostError::Transient(m),
    }
}

fn annotation(a: action::Annotation) -> wt::Annotation {
    wt::Annotation {
        key: a.key,
        value: a.value,
    }
}

fn step_plan(p: plan::StepPlan) -> wp::StepPlan {
    wp::StepPlan {
        step_index: p.step_index,
        canary_weight: p.canary_weight,
        stable_weight: p.stable_weight,
        canary_replicas: p.canary_replicas,
        stable_replicas: p.stable_replicas,
    }
}

fn roles(r: pingpong::PingPongRoles) -> wp::PingPongState {
    wp::PingPongState {
        stable_service: r.stable_service,
        canary_service: r.canary_service,
        stable_ping_pong: r.stable_ping_pong,
    }
}

fn action_target_group(t: action::ActionTargetGroup) -> wp::ActionTargetGroup {
    wp::ActionTargetGroup {
        service_name: t.service_name,
        service_port: t.service_port,
        target_group_arn: t.target_group_arn,
        target_group_name: t.target_group_name,
        weight: t.weight,
    }
}
