//! [`Host`] over the WIT imports (`cluster`, `elbv2`, `clock`, `log`), and the conversions of
//! the ELBv2 types those imports answer (which the `policy` exports take too) to and from this
//! crate's.

use super::albatross::strategy::{clock, cluster, elbv2 as wit_elb, log, types as wt};
use crate::host::{self, Host};
use crate::{elb, error};

fn host_error(e: wt::HostError) -> error::HostError {
    use error::HostError as H;
    match e {
        wt::HostError::NotFound(m) => H::NotFound(m),
        wt::HostError::Conflict(m) => H::Conflict(m),
        wt::HostError::Forbidden(m) => H::Forbidden(m),
        wt::HostError::Invalid(m) => H::Invalid(m),
        wt::HostError::Throttled(m) => H::Throttled(m),
        wt::HostError::Transient(m) => H::Transient(m),
    }
}

pub(super) fn event_to_wit(e: host::Event) -> wt::Event {
    wt::Event {
        event_type: match e.event_type {
            host::EventType::Normal => wt::EventType::Normal,
            host::EventType::Warning => wt::EventType::Warning,
        },
        reason: e.reason,
        message: e.message,
    }
}

pub(super) fn load_balancer(l: wit_elb::LoadBalancer) -> elb::LoadBalancer {
    elb::LoadBalancer {
        arn: l.arn,
        name: l.name,
        dns_name: l.dns_name,
        load_balancer_type: l.load_balancer_type,
        scheme: l.scheme,
        vpc_id: l.vpc_id,
        state: l.state,
    }
}

pub(super) fn rule(r: wit_elb::Rule) -> elb::Rule {
    elb::Rule {
        arn: r.arn,
        priority: r.priority,
        is_default: r.is_default,
        conditions: r
            .conditions
            .into_iter()
            .map(|c| elb::RuleCondition {
                field: c.field,
                http_header_name: c.http_header_name,
                values: c.values,
            })
            .collect(),
        actions: r
            .actions
            .into_iter()
            .map(|a| elb::RuleAction {
                action_type: a.action_type,
                order: a.order,
                target_group_arn: a.target_group_arn,
                forward: a.forward.map(|f| elb::ForwardConfig {
                    target_groups: f
                        .target_groups
                        .into_iter()
                        .map(|g| elb::WeightedTargetGroup {
                            target_group_arn: g.target_group_arn,
                            weight: g.weight,
                        })
                        .collect(),
                    stickiness_enabled: f.stickiness_enabled,
                    stickiness_duration_seconds: f.stickiness_duration_seconds,
                }),
            })
            .collect(),
    }
}

pub(super) fn target_group(t: wit_elb::TargetGroup) -> elb::TargetGroup {
    elb::TargetGroup {
        arn: t.arn,
        name: t.name,
        target_type: t.target_type,
        port: t.port,
        protocol: t.protocol,
        vpc_id: t.vpc_id,
        load_balancer_arns: t.load_balancer_arns,
    }
}

pub(super) fn resource_tags(t: wit_elb::ResourceTags) -> elb::ResourceTags {
    elb::ResourceTags {
        resource_arn: t.resource_arn,
        tags: t
            .tags
            .into_iter()
            .map(|t| elb::Tag {
                key: t.key,
                value: t.value,
            })
            .collect(),
    }
}

fn state_from_wit(s: wit_elb::TargetHealthState) -> elb::TargetHealthState {
    use elb::TargetHealthState as S;
    use wit_elb::TargetHealthState as W;
    match s {
        W::Initial => S::Initial,
        W::Healthy => S::Healthy,
        W::Unhealthy => S::Unhealthy,
        W::UnhealthyDraining => S::UnhealthyDraining,
        W::Unused => S::Unused,
        W::Draining => S::Draining,
        W::Unavailable => S::Unavailable,
    }
}

pub(super) fn state_to_wit(s: elb::TargetHealthState) -> wit_elb::TargetHealthState {
    use elb::TargetHealthState as S;
    use wit_elb::TargetHealthState as W;
    match s {
        S::Initial => W::Initial,
        S::Healthy => W::Healthy,
        S::Unhealthy => W::Unhealthy,
        S::UnhealthyDraining => W::UnhealthyDraining,
        S::Unused => W::Unused,
        S::Draining => W::Draining,
        S::Unavailable => W::Unavailable,
    }
}

pub(super) fn target_health(t: wit_elb::TargetHealth) -> elb::TargetHealth {
    elb::TargetHealth {
        id: t.id,
        port: t.port,
        state: state_from_wit(t.state),
        reason: t.reason,
    }
}

pub(super) fn target_health_to_wit(t: elb::TargetHealth) -> wit_elb::TargetHealth {
    wit_elb::TargetHealth {
        id: t.id,
        port: t.port,
        state: state_to_wit(t.state),
        reason: t.reason,
    }
}

fn kind(k: &host::ObjectKind) -> wt::ObjectKind {
    wt::ObjectKind {
        api_version: k.api_version.clone(),
        kind: k.kind.clone(),
    }
}

/// [`Host`] over the WIT imports.
pub(super) struct WitHost;

impl Host for WitHost {
    fn get(
        &mut self,
        k: &host::ObjectKind,
        namespace: &str,
        name: &str,
    ) -> Result<String, error::HostError> {
        cluster::get(&kind(k), namespace, name).map_err(host_error)
    }

    fn list(
        &mut self,
        k: &host::ObjectKind,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<String>, error::HostError> {
        cluster::list(&kind(k), namespace, selector).map_err(host_error)
    }

    fn create(
        &mut self,
        k: &host::ObjectKind,
        namespace: &str,
        object_json: &str,
    ) -> Result<String, error::HostError> {
        cluster::create(&kind(k), namespace, object_json).map_err(host_error)
    }

    fn patch(
        &mut self,
        k: &host::ObjectKind,
        namespace: &str,
        name: &str,
        patch_type: host::PatchType,
        patch_json: &str,
        subresource: Option<&str>,
    ) -> Result<String, error::HostError> {
        let pt = match patch_type {
            host::PatchType::Merge => wt::PatchType::Merge,
            host::PatchType::Json => wt::PatchType::Json,
            host::PatchType::StrategicMerge => wt::PatchType::StrategicMerge,
        };
        cluster::patch(&kind(k), namespace, name, pt, patch_json, subresource).map_err(host_error)
    }

    fn delete(
        &mut self,
        k: &host::ObjectKind,
        namespace: &str,
        name: &str,
    ) -> Result<(), error::HostError> {
        cluster::delete(&kind(k), namespace, name).map_err(host_error)
    }

    fn record_event(&mut self, e: &host::Event) -> Result<(), error::HostError> {
        cluster::record_event(&event_to_wit(e.clone())).map_err(host_error)
    }

    fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<elb::LoadBalancer>, error::HostError> {
        wit_elb::describe_load_balancers(names, arns)
            .map(|v| v.into_iter().map(load_balancer).collect())
            .map_err(host_error)
    }

    fn describe_listeners(
        &mut self,
        load_balancer_arn: &str,
    ) -> Result<Vec<elb::Listener>, error::HostError> {
        wit_elb::describe_listeners(load_balancer_arn)
            .map(|v| {
                v.into_iter()
                    .map(|l| elb::Listener {
                        arn: l.arn,
                        load_balancer_arn: l.load_balancer_arn,
                        port: l.port,
                        protocol: l.protocol,
                    })
                    .collect()
            })
            .map_err(host_error)
    }

    fn describe_rules(&mut self, listener_arn: &str) -> Result<Vec<elb::Rule>, error::HostError> {
        wit_elb::describe_rules(listener_arn)
            .map(|v| v.into_iter().map(rule).collect())
            .map_err(host_error)
    }

    fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<elb::TargetGroup>, error::HostError> {
        wit_elb::describe_target_groups(lb, arns)
            .map(|v| v.into_iter().map(target_group).collect())
            .map_err(host_error)
    }

    fn describe_tags(
        &mut self,
        arns: &[String],
    ) -> Result<Vec<elb::ResourceTags>, error::HostError> {
        wit_elb::describe_tags(arns)
            .map(|v| v.into_iter().map(resource_tags).collect())
            .map_err(host_error)
    }

    fn describe_target_health(
        &mut self,
        arn: &str,
    ) -> Result<Vec<elb::TargetHealth>, error::HostError> {
        wit_elb::describe_target_health(arn)
            .map(|v| v.into_iter().map(target_health).collect())
            .map_err(host_error)
    }

    fn now_millis(&mut self) -> u64 {
        clock::now()
    }

    fn log(&mut self, level: host::Level, message: &str, fields: &[(&str, &str)]) {
        let level = match level {
            host::Level::Trace => log::Level::Trace,
            host::Level::Debug => log::Level::Debug,
            host::Level::Info => log::Level::Info,
            host::Level::Warn => log::Level::Warn,
            host::Level::Error => log::Level::Error,
        };
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        log::write(level, message, &fields);
    }
}
