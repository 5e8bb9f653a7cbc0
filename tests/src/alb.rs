//! Building, through the AWS SDK, what the AWS Load Balancer Controller builds for an Ingress:
//! an ALB, an HTTP listener, a rule that forwards to the weighted canary and stable target
//! groups, target groups tagged as the controller tags them, and registered pod IPs. Used
//! against moto_server.

use albatross::aws::config::{AwsOptions, elbv2_client};
use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig, LoadBalancerTypeEnum,
    ProtocolEnum, RuleCondition, Tag, TargetDescription, TargetGroupTuple, TargetTypeEnum,
};

use crate::moto::Moto;

/// What was built for one Ingress.
#[derive(Debug, Clone)]
pub struct Alb {
    /// The load balancer's ARN.
    pub arn: String,
    /// Its DNS name: what the Ingress's status carries.
    pub dns_name: String,
    /// Its listener.
    pub listener_arn: String,
    /// The rule forwarding to the canary and stable target groups.
    pub rule_arn: String,
    /// The canary target group.
    pub canary_tg: String,
    /// The stable target group.
    pub stable_tg: String,
}

/// An SDK client for the emulator in `region`, with the given page size for describe calls.
pub async fn client(moto: &Moto, region: &str) -> Client {
    elbv2_client(&AwsOptions {
        region: Some(region.to_string()),
        endpoint_url: Some(moto.url.clone()),
        max_attempts: 1,
        ..AwsOptions::default()
    })
    .await
}

fn fail<E: std::fmt::Debug>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

/// A forward action splitting between two target groups.
pub fn forward(canary_tg: &str, stable_tg: &str, canary: i32, stable: i32) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(canary_tg)
                        .weight(canary)
                        .build(),
                )
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(stable_tg)
                        .weight(stable)
                        .build(),
                )
                .build(),
        )
        .build()
}

/// A tag.
pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// Creates a target group of `target_type` in `vpc`, tagged as the controller tags the
/// backend `service` of Ingress `ns/ingress`.
pub async fn target_group(
    client: &Client,
    vpc: &str,
    name: &str,
    (ns, ingress, service, port): (&str, &str, &str, u32),
    cluster: &str,
) -> Result<String, String> {
    let tg = client
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id(vpc)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .map_err(fail("CreateTargetGroup"))?;
    let arn = tg
        .target_groups()
        .first()
        .and_then(|t| t.target_group_arn())
        .ok_or("CreateTargetGroup returned no ARN")?
        .to_string();
    client
        .add_tags()
        .resource_arns(&arn)
        .tags(tag("elbv2.k8s.aws/cluster", cluster))
        .tags(tag("ingress.k8s.aws/stack", &format!("{ns}/{ingress}")))
        .tags(tag(
            "ingress.k8s.aws/resource",
            &format!("{ns}/{ingress}-{service}:{port}"),
        ))
        .send()
        .await
        .map_err(fail("AddTags"))?;
    Ok(arn)
}

/// Builds the ALB of Ingress `ns/ingress` whose action splits `weights` (canary, stable)
/// between the target groups of `canary` and `stable` on port 80.
pub async fn build(
    client: &Client,
    (vpc, subnets): (&str, &[String]),
    (ns, ingress): (&str, &str),
    (canary, stable): (&str, &str),
    weights: (i32, i32),
) -> Result<Alb, String> {
    let name = format!("k8s-{ns}-{ingress}-5eed");
    let lb = client
        .create_load_balancer()
        .name(&name)
        .set_subnets(Some(subnets.to_vec()))
        .r#type(LoadBalancerTypeEnum::Application)
        .send()
        .await
        .map_err(fail("CreateLoadBalancer"))?;
    let lb = lb
        .load_balancers()
        .first()
        .ok_or("CreateLoadBalancer returned nothing")?;
    let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    let dns_name = lb.dns_name().unwrap_or_default().to_string();
    let canary_tg = target_group(
        client,
        vpc,
        &format!("{ingress}-{canary}"),
        (ns, ingress, canary, 80),
        "albatross-test",
    )
    .await?;
    let stable_tg = target_group(
        client,
        vpc,
        &format!("{ingress}-{stable}"),
        (ns, ingress, stable, 80),
        "albatross-test",
    )
    .await?;
    let listener = client
        .create_listener()
        .load_balancer_arn(&arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("404")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(fail("CreateListener"))?;
    let listener_arn = listener
        .listeners()
        .first()
        .and_then(|l| l.listener_arn())
        .ok_or("CreateListener returned no ARN")?
        .to_string();
    let rule = client
        .create_rule()
        .listener_arn(&listener_arn)
        .priority(1)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .values("/*")
                .build(),
        )
        .actions(forward(&canary_tg, &stable_tg, weights.0, weights.1))
        .send()
        .await
        .map_err(fail("CreateRule"))?;
    let rule_arn = rule
        .rules()
        .first()
        .and_then(|r| r.rule_arn())
        .ok_or("CreateRule returned no ARN")?
        .to_string();
    Ok(Alb {
        arn,
        dns_name,
        listener_arn,
        rule_arn,
        canary_tg,
        stable_tg,
    })
}

/// Puts `weights` (canary, stable) on the ALB's rule.
pub async fn set_weights(client: &Client, alb: &Alb, weights: (i32, i32)) -> Result<(), String> {
    client
        .modify_rule()
        .rule_arn(&alb.rule_arn)
        .actions(forward(
            &alb.canary_tg,
            &alb.stable_tg,
            weights.0,
            weights.1,
        ))
        .send()
        .await
        .map_err(fail("ModifyRule"))?;
    Ok(())
}

/// The port the test Services' pods serve on (their `targetPort`).
pub const TARGET_PORT: i32 = 8080;

fn targets(ips: &[&str], port: i32) -> Vec<TargetDescription> {
    ips.iter()
        .map(|ip| TargetDescription::builder().id(*ip).port(port).build())
        .collect()
}

/// Registers pod IPs in a target group, on [`TARGET_PORT`].
pub async fn register(client: &Client, tg: &str, ips: &[&str]) -> Result<(), String> {
    register_on(client, tg, ips, TARGET_PORT).await
}

/// Registers pod IPs in a target group on `port`.
pub async fn register_on(client: &Client, tg: &str, ips: &[&str], port: i32) -> Result<(), String> {
    client
        .register_targets()
        .target_group_arn(tg)
        .set_targets(Some(targets(ips, port)))
        .send()
        .await
        .map_err(fail("RegisterTargets"))?;
    Ok(())
}

/// Deregisters pod IPs from a target group.
pub async fn deregister(client: &Client, tg: &str, ips: &[&str]) -> Result<(), String> {
    client
        .deregister_targets()
        .target_group_arn(tg)
        .set_targets(Some(targets(ips, TARGET_PORT)))
        .send()
        .await
        .map_err(fail("DeregisterTargets"))?;
    Ok(())
}
