//! Copies the simulated world's ELBv2 state into moto_server through the AWS SDK: the same
//! load balancers (same names), listeners, target groups (same names, types, ports, tags),
//! rules (same priorities, conditions, weighted forwards) and healthy targets (moto calls every
//! registered target healthy). Resources get moto's own ARNs and DNS names; [`Mirror::to_moto`]
//! rewrites any text from the simulated world (an Ingress, a verification) into moto's names.
//! Syncing again applies what changed.

use std::collections::{BTreeMap, BTreeSet};

use albatross_policy::elb::{Rule, RuleAction, RuleCondition, TargetHealthState};
use albatross_sim::lbc::{Elb, TargetKey};
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig,
    HttpHeaderConditionConfig, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum,
    RuleCondition as SdkCondition, TargetDescription, TargetGroupStickinessConfig,
    TargetGroupTuple, TargetTypeEnum,
};

use crate::alb::tag;

/// What has been copied, by the simulated world's identifiers.
#[derive(Debug, Default)]
pub struct Mirror {
    /// Simulated ARN or DNS name → moto's.
    names: BTreeMap<String, String>,
    /// Simulated listener ARN → the rules last written, by priority (moto rule ARN, rule).
    rules: BTreeMap<String, BTreeMap<String, (String, Rule)>>,
    /// Moto target group ARN → the target ids registered.
    targets: BTreeMap<String, BTreeSet<TargetKey>>,
}

fn fail<E: std::fmt::Debug>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

fn condition(c: &RuleCondition) -> SdkCondition {
    let b = SdkCondition::builder().field(&c.field);
    match &c.http_header_name {
        Some(name) => b
            .http_header_config(
                HttpHeaderConditionConfig::builder()
                    .http_header_name(name)
                    .set_values(Some(c.values.clone()))
                    .build(),
            )
            .build(),
        None => b.set_values(Some(c.values.clone())).build(),
    }
}

impl Mirror {
    /// Rewrites simulated ARNs and DNS names in `text` into moto's.
    pub fn to_moto(&self, text: &str) -> String {
        let mut names: Vec<(&String, &String)> = self.names.iter().collect();
        // Longer names first: a rule ARN contains its load balancer's ARN.
        names.sort_by_key(|(sim, _)| std::cmp::Reverse(sim.len()));
        names.into_iter().fold(text.to_string(), |t, (sim, moto)| {
            t.replace(sim.as_str(), moto)
        })
    }

    /// The moto name of a simulated ARN or DNS name.
    pub fn moto(&self, sim: &str) -> Option<&str> {
        self.names.get(sim).map(String::as_str)
    }

    fn action(&self, a: &RuleAction) -> Action {
        let b = Action::builder().r#type(ActionTypeEnum::from(a.action_type.as_str()));
        let b = match a.order {
            Some(o) => b.order(i32::try_from(o).unwrap_or(1)),
            None => b,
        };
        if let Some(f) = &a.forward {
            let mut config = ForwardActionConfig::builder();
            for g in &f.target_groups {
                config = config.target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(self.to_moto(&g.target_group_arn))
                        .set_weight(g.weight.and_then(|w| i32::try_from(w).ok()))
                        .build(),
                );
            }
            let config = config.target_group_stickiness_config(
                TargetGroupStickinessConfig::builder()
                    .enabled(f.stickiness_enabled)
                    .set_duration_seconds(
                        f.stickiness_duration_seconds
                            .and_then(|d| i32::try_from(d).ok()),
                    )
                    .build(),
            );
            return b.forward_config(config.build()).build();
        }
        if let Some(arn) = &a.target_group_arn {
            return b.target_group_arn(self.to_moto(arn)).build();
        }
        b.fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code("404")
                .build(),
        )
        .build()
    }

    /// Copies what changed in `elb` since the last sync into moto, in the VPC `vpc` with
    /// `subnets`.
    pub async fn sync(
        &mut self,
        client: &Client,
        (vpc, subnets): (&str, &[String]),
        elb: &Elb,
    ) -> Result<(), String> {
        for tg in elb.target_groups.values() {
            if self.names.contains_key(&tg.tg.arn) {
                continue;
            }
            let out = client
                .create_target_group()
                .name(&tg.tg.name)
                .protocol(ProtocolEnum::from(
                    tg.tg.protocol.as_deref().unwrap_or("HTTP"),
                ))
                .set_port(tg.tg.port.and_then(|p| i32::try_from(p).ok()))
                .vpc_id(vpc)
                .target_type(TargetTypeEnum::from(tg.tg.target_type.as_str()))
                .send()
                .await
                .map_err(fail("CreateTargetGroup"))?;
            let arn = out
                .target_groups()
                .first()
                .and_then(|t| t.target_group_arn())
                .ok_or("CreateTargetGroup returned no ARN")?
                .to_string();
            let mut add = client.add_tags().resource_arns(&arn);
            for t in &tg.tags {
                add = add.tags(tag(&t.key, &t.value));
            }
            add.send().await.map_err(fail("AddTags"))?;
            self.names.insert(tg.tg.arn.clone(), arn);
        }
        for alb in elb.albs.values() {
            if !self.names.contains_key(&alb.lb.arn) {
                let out = client
                    .create_load_balancer()
                    .name(&alb.lb.name)
                    .set_subnets(Some(subnets.to_vec()))
                    .r#type(LoadBalancerTypeEnum::from(
                        alb.lb.load_balancer_type.as_str(),
                    ))
                    .scheme(LoadBalancerSchemeEnum::from(alb.lb.scheme.as_str()))
                    .send()
                    .await
                    .map_err(fail("CreateLoadBalancer"))?;
                let lb = out.load_balancers().first().ok_or("no load balancer")?;
                self.names.insert(
                    alb.lb.arn.clone(),
                    lb.load_balancer_arn().unwrap_or_default().to_string(),
                );
                self.names.insert(
                    alb.lb.dns_name.clone(),
                    lb.dns_name().unwrap_or_default().to_string(),
                );
                self.names.insert(alb.lb.vpc_id.clone(), vpc.to_string());
                let default = alb.rules.iter().find(|r| r.is_default);
                let mut listener = client
                    .create_listener()
                    .load_balancer_arn(self.to_moto(&alb.lb.arn))
                    .protocol(ProtocolEnum::from(alb.listener.protocol.as_str()))
                    .port(i32::try_from(alb.listener.port).unwrap_or(80));
                for a in default.map(|r| r.actions.as_slice()).unwrap_or_default() {
                    listener = listener.default_actions(self.action(a));
                }
                let out = listener.send().await.map_err(fail("CreateListener"))?;
                let arn = out
                    .listeners()
                    .first()
                    .and_then(|l| l.listener_arn())
                    .ok_or("CreateListener returned no ARN")?
                    .to_string();
                self.names.insert(alb.listener.arn.clone(), arn.clone());
                if let Some(d) = default {
                    let rules = client
                        .describe_rules()
                        .listener_arn(&arn)
                        .send()
                        .await
                        .map_err(fail("DescribeRules"))?;
                    if let Some(moto) = rules
                        .rules()
                        .iter()
                        .find(|r| r.is_default() == Some(true))
                        .and_then(|r| r.rule_arn())
                    {
                        self.names.insert(d.arn.clone(), moto.to_string());
                    }
                }
            }
            let listener = self.to_moto(&alb.listener.arn);
            let written = self
                .rules
                .entry(alb.listener.arn.clone())
                .or_default()
                .clone();
            let mut now = BTreeMap::new();
            for rule in alb.rules.iter().filter(|r| !r.is_default) {
                let actions: Vec<Action> = rule.actions.iter().map(|a| self.action(a)).collect();
                let conditions: Vec<SdkCondition> = rule.conditions.iter().map(condition).collect();
                let moto_arn = match written.get(&rule.priority) {
                    Some((arn, old)) if old == rule => arn.clone(),
                    Some((arn, _)) => {
                        client
                            .modify_rule()
                            .rule_arn(arn)
                            .set_actions(Some(actions))
                            .set_conditions(Some(conditions))
                            .send()
                            .await
                            .map_err(fail("ModifyRule"))?;
                        arn.clone()
                    }
                    None => client
                        .create_rule()
                        .listener_arn(&listener)
                        .priority(rule.priority.parse::<i32>().map_err(fail("priority"))?)
                        .set_actions(Some(actions))
                        .set_conditions(Some(conditions))
                        .send()
                        .await
                        .map_err(fail("CreateRule"))?
                        .rules()
                        .first()
                        .and_then(|r| r.rule_arn())
                        .ok_or("CreateRule returned no ARN")?
                        .to_string(),
                };
                self.names.insert(rule.arn.clone(), moto_arn.clone());
                now.insert(rule.priority.clone(), (moto_arn, rule.clone()));
            }
            for (priority, (arn, _)) in &written {
                if !now.contains_key(priority) {
                    client
                        .delete_rule()
                        .rule_arn(arn)
                        .send()
                        .await
                        .map_err(fail("DeleteRule"))?;
                }
            }
            self.rules.insert(alb.listener.arn.clone(), now);
        }
        for tg in elb.target_groups.values() {
            let arn = self.to_moto(&tg.tg.arn);
            // moto reports every registered target healthy: it gets only the world's healthy
            // ones, so a target still in health checks is not one it can route to either.
            let wanted: BTreeSet<TargetKey> = tg
                .targets
                .iter()
                .filter(|(_, t)| t.state == TargetHealthState::Healthy)
                .map(|(key, _)| key.clone())
                .collect();
            let have = self.targets.entry(arn.clone()).or_default().clone();
            let describe = |keys: Vec<&TargetKey>| -> Vec<TargetDescription> {
                keys.into_iter()
                    .map(|(id, port)| {
                        TargetDescription::builder()
                            .id(id)
                            .set_port(i32::try_from(*port).ok())
                            .build()
                    })
                    .collect()
            };
            let add = describe(wanted.difference(&have).collect());
            if !add.is_empty() {
                client
                    .register_targets()
                    .target_group_arn(&arn)
                    .set_targets(Some(add))
                    .send()
                    .await
                    .map_err(fail("RegisterTargets"))?;
            }
            let gone = describe(have.difference(&wanted).collect());
            if !gone.is_empty() {
                client
                    .deregister_targets()
                    .target_group_arn(&arn)
                    .set_targets(Some(gone))
                    .send()
                    .await
                    .map_err(fail("DeregisterTargets"))?;
            }
            self.targets.insert(arn, wanted);
        }
        Ok(())
    }
}

/// Whether every target the world registered is healthy (moto reports registered targets as
/// healthy, so records compare only once the world's are too).
pub fn settled(elb: &Elb) -> bool {
    elb.target_groups
        .values()
        .flat_map(|t| t.targets.values())
        .all(|t| t.state == TargetHealthState::Healthy)
}
