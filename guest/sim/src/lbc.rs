//! The simulated AWS Load Balancer Controller and the ALBs it builds. For each Ingress of class
//! `alb` it makes one load balancer with one HTTP listener; each path becomes a rule that
//! forwards to its Service's target group or, for `use-annotation`, to the weighted target
//! groups of the `actions.<service>` annotation (with `conditions.<service>` as header
//! conditions). A malformed action is rejected as the real controller rejects it: a Warning
//! Event, and the ALB keeps its previous rules. Target groups are tagged as the real controller
//! tags them; pod IPs (IP mode) or nodes (instance mode) are registered after a lag, turn
//! healthy after health checks, drain when deregistered, and a target group no rule forwards to
//! stays `unused` (see `registration`). Each target group gets a TargetGroupBinding object, as
//! the real controller creates one. While its own ELBv2 calls are throttled (`lbcThrottling`),
//! rule changes wait.

use std::collections::BTreeMap;

use albatross_policy::action::parse_action;
use albatross_policy::conditions::parse_conditions;
use albatross_policy::elb::{
    ForwardConfig, Listener, LoadBalancer, Rule, RuleAction, RuleCondition, Tag, TargetGroup,
    TargetHealthState, WeightedTargetGroup,
};
use albatross_policy::ingress::Ingress;
use serde_json::{Value, json};

use crate::world::World;

/// The ARN prefix of every simulated ELBv2 resource.
pub const ARN_PREFIX: &str = "arn:aws:elasticloadbalancing:us-west-2:123456789012";
/// The cluster name the controller tags with.
pub const CLUSTER: &str = "sim";
/// The nodes targets are registered on in instance mode.
pub const NODES: [&str; 2] = ["i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002"];

/// One ALB built for one Ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbSim {
    /// The load balancer.
    pub lb: LoadBalancer,
    /// Its one listener.
    pub listener: Listener,
    /// The listener's rules.
    pub rules: Vec<Rule>,
    /// The Ingress resourceVersion last applied (or rejected).
    pub applied_version: Option<String>,
    /// A newer resourceVersion and the second it was first seen.
    pub seen: Option<(String, u64)>,
    /// Whether the controller's ModifyRule for the change waiting is being throttled (its
    /// Warning Event is recorded once).
    pub throttled: bool,
}

/// A registered target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSim {
    /// Its health state.
    pub state: TargetHealthState,
    /// The second it entered that state.
    pub since: u64,
    /// The second its pod stopped serving, if it did.
    pub failing_since: Option<u64>,
}

/// A target group and its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgSim {
    /// The target group.
    pub tg: TargetGroup,
    /// Its tags.
    pub tags: Vec<Tag>,
    /// The Service's namespace.
    pub namespace: String,
    /// The Service it targets.
    pub service: String,
    /// The Service port its TargetGroupBinding names (`spec.serviceRef.port`).
    pub service_port: u32,
    /// Registered targets by id and port.
    pub targets: BTreeMap<TargetKey, TargetSim>,
    /// Targets waiting to be registered (true) or deregistered (false), since when.
    pub pending: BTreeMap<TargetKey, (bool, u64)>,
}

/// A registered target: its id (a pod IP, or an instance id) and the port it receives
/// traffic on, as ELBv2 keys targets.
pub type TargetKey = (String, u32);

/// The port instance-mode targets (nodes) receive traffic on: the Service's node port.
pub const NODE_PORT: u32 = 30080;

/// Every ALB and target group in the simulated account.
#[derive(Debug, Clone, Default)]
pub struct Elb {
    /// ALBs by (namespace, ingress).
    pub albs: BTreeMap<(String, String), AlbSim>,
    /// Target groups by ARN.
    pub target_groups: BTreeMap<String, TgSim>,
    counter: u64,
}

/// The first `n` letters and digits of `s`: the part of a name the AWS Load Balancer
/// Controller takes from a namespace or a Service (ELBv2 names allow only letters, digits and
/// single hyphens).
fn short(s: &str, n: usize) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(n)
        .collect()
}

impl Elb {
    fn next_id(&mut self) -> String {
        self.counter += 1;
        format!("{:016x}", 0x5eed_0000_0000_0000_u64 + self.counter)
    }

    /// Whether any rule of any ALB forwards to the target group.
    pub fn referenced(&self, arn: &str) -> bool {
        self.albs.values().any(|a| {
            a.rules.iter().any(|r| {
                r.actions.iter().any(|act| {
                    act.target_group_arn.as_deref() == Some(arn)
                        || act.forward.as_ref().is_some_and(|f| {
                            f.target_groups.iter().any(|g| g.target_group_arn == arn)
                        })
                })
            })
        })
    }
}

/// Whether the controller builds this Ingress, by its own rule: the class annotation, when
/// present at all (empty included), decides; else `spec.ingressClassName` must be `alb`.
fn lbc_serves(ingress: &Ingress) -> bool {
    match ingress.class_annotation() {
        Some(class) => class == "alb",
        None => ingress.class_name() == Some("alb"),
    }
}

fn service_port(world: &World, ns: &str, service: &str, port: &str) -> Option<u32> {
    if let Ok(n) = port.parse::<u32>() {
        return Some(n);
    }
    let svc = world.store.get("Service", ns, service)?;
    svc["spec"]["ports"]
        .as_array()?
        .iter()
        .find(|p| p["name"].as_str() == Some(port))
        .and_then(|p| p["port"].as_u64())
        .and_then(|p| u32::try_from(p).ok())
}

impl World {
    fn target_group_for(
        &mut self,
        ns: &str,
        ingress: &str,
        service: &str,
        port: u32,
        lb_arn: &str,
    ) -> String {
        let resource = format!("{ns}/{ingress}-{service}:{port}");
        if let Some((arn, _)) = self.elb.target_groups.iter().find(|(_, t)| {
            t.tags
                .iter()
                .any(|tag| tag.key == "ingress.k8s.aws/resource" && tag.value == resource)
        }) {
            return arn.clone();
        }
        let id = self.elb.next_id();
        let name = format!("k8s-{}-{}-{}", short(ns, 7), short(service, 7), &id[6..16]);
        let arn = format!("{ARN_PREFIX}:targetgroup/{name}/{id}");
        let ip_mode = self.config.ip_mode();
        let tg = TgSim {
            tg: TargetGroup {
                arn: arn.clone(),
                name,
                target_type: if ip_mode { "ip" } else { "instance" }.to_string(),
                port: Some(if ip_mode { 8080 } else { NODE_PORT }),
                protocol: Some("HTTP".into()),
                vpc_id: Some("vpc-0sim".into()),
                load_balancer_arns: vec![lb_arn.to_string()],
            },
            tags: vec![
                Tag {
                    key: "elbv2.k8s.aws/cluster".into(),
                    value: CLUSTER.into(),
                },
                Tag {
                    key: "ingress.k8s.aws/stack".into(),
                    value: format!("{ns}/{ingress}"),
                },
                Tag {
                    key: "ingress.k8s.aws/resource".into(),
                    value: resource,
                },
            ],
            namespace: ns.to_string(),
            service: service.to_string(),
            service_port: port,
            targets: BTreeMap::new(),
            pending: BTreeMap::new(),
        };
        let binding = json!({
            "apiVersion": "elbv2.k8s.aws/v1beta1",
            "kind": "TargetGroupBinding",
            "metadata": {"name": tg.tg.name, "namespace": ns, "labels": {"ingress.k8s.aws/stack-name": ingress, "ingress.k8s.aws/stack-namespace": ns}},
            "spec": {"serviceRef": {"name": service, "port": port}, "targetGroupARN": arn, "targetType": tg.tg.target_type}
        });
        let _ = self.store.put("TargetGroupBinding", binding);
        self.elb.target_groups.insert(arn.clone(), tg);
        arn
    }

    fn ensure_alb(&mut self, ns: &str, name: &str) -> String {
        if let Some(a) = self.elb.albs.get(&(ns.to_string(), name.to_string())) {
            return a.lb.arn.clone();
        }
        let id = self.elb.next_id();
        let lb_name = format!("k8s-{}-{}-{}", short(ns, 8), short(name, 8), &id[6..16]);
        let arn = format!("{ARN_PREFIX}:loadbalancer/app/{lb_name}/{id}");
        let dns = format!(
            "{lb_name}-{}.us-west-2.elb.amazonaws.com",
            1_000_000_000 + self.elb.counter
        );
        let listener = Listener {
            arn: format!(
                "{ARN_PREFIX}:listener/app/{lb_name}/{id}/{}",
                self.elb.next_id()
            ),
            load_balancer_arn: arn.clone(),
            port: 80,
            protocol: "HTTP".into(),
        };
        self.elb.albs.insert(
            (ns.to_string(), name.to_string()),
            AlbSim {
                lb: LoadBalancer {
                    arn: arn.clone(),
                    name: lb_name,
                    dns_name: dns.clone(),
                    load_balancer_type: "application".into(),
                    scheme: "internet-facing".into(),
                    vpc_id: "vpc-0sim".into(),
                    state: "active".into(),
                },
                listener,
                rules: Vec::new(),
                applied_version: None,
                seen: None,
                throttled: false,
            },
        );
        let status = json!({"status": {"loadBalancer": {"ingress": [{"hostname": dns}]}}});
        let _ = self.store.patch("Ingress", ns, name, &status);
        arn
    }

    fn build_rules(
        &mut self,
        ingress: &Ingress,
        raw: &Value,
        lb_arn: &str,
    ) -> Result<Vec<Rule>, String> {
        let ns = ingress.metadata.namespace_or_default().to_string();
        let name = ingress.metadata.name.clone();
        let prefix = self.config.annotation_prefix.clone();
        let mut rules = Vec::new();
        let paths: Vec<Value> = raw["spec"]["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["http"]["paths"].as_array().cloned().unwrap_or_default())
            .collect();
        for (i, path) in paths.iter().enumerate() {
            let svc = path["backend"]["service"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let port = &path["backend"]["service"]["port"];
            let mut conditions = vec![RuleCondition {
                field: "path-pattern".into(),
                http_header_name: None,
                values: vec![path["path"].as_str().unwrap_or("/*").to_string()],
            }];
            let action = if port["name"].as_str() == Some("use-annotation") {
                let key = format!("{prefix}/actions.{svc}");
                let value = ingress
                    .metadata
                    .annotations
                    .get(&key)
                    .ok_or_else(|| format!("path {i} uses {key}, which is not set"))?;
                let parsed = parse_action(value).map_err(|e| format!("{key}: {e}"))?;
                if let Some(cond) = ingress
                    .metadata
                    .annotations
                    .get(&format!("{prefix}/conditions.{svc}"))
                {
                    for c in parse_conditions(cond).map_err(|e| format!("conditions.{svc}: {e}"))? {
                        conditions.push(RuleCondition {
                            field: "http-header".into(),
                            http_header_name: Some(c.header_name),
                            values: c.values,
                        });
                    }
                }
                let mut groups = Vec::new();
                for g in &parsed.target_groups {
                    let arn = match (&g.service_name, &g.target_group_arn) {
                        (Some(s), _) => {
                            let p = g.service_port.as_deref().unwrap_or_default();
                            let port = service_port(self, &ns, s, p)
                                .ok_or_else(|| format!("{key}: service {s} has no port {p}"))?;
                            self.target_group_for(&ns, &name, s, port, lb_arn)
                        }
                        (None, Some(arn)) => arn.clone(),
                        (None, None) => {
                            return Err(format!("{key}: target group by name is not simulated"));
                        }
                    };
                    groups.push(WeightedTargetGroup {
                        target_group_arn: arn,
                        weight: Some(g.weight.unwrap_or(1)),
                    });
                }
                RuleAction {
                    action_type: "forward".into(),
                    order: Some(1),
                    target_group_arn: None,
                    forward: Some(ForwardConfig {
                        target_groups: groups,
                        stickiness_enabled: parsed.stickiness.as_ref().is_some_and(|s| s.enabled),
                        stickiness_duration_seconds: parsed
                            .stickiness
                            .and_then(|s| s.duration_seconds),
                    }),
                }
            } else {
                let p = port["number"]
                    .as_u64()
                    .map(|n| n.to_string())
                    .or_else(|| port["name"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let port = service_port(self, &ns, &svc, &p)
                    .ok_or_else(|| format!("service {svc} has no port {p}"))?;
                let arn = self.target_group_for(&ns, &name, &svc, port, lb_arn);
                RuleAction {
                    action_type: "forward".into(),
                    order: Some(1),
                    target_group_arn: Some(arn),
                    forward: None,
                }
            };
            rules.push(Rule {
                arn: format!("{lb_arn}/rule/{}", i + 1)
                    .replace(":loadbalancer/", ":listener-rule/"),
                priority: (i + 1).to_string(),
                is_default: false,
                conditions,
                actions: vec![action],
            });
        }
        rules.push(Rule {
            arn: format!("{lb_arn}/rule/default").replace(":loadbalancer/", ":listener-rule/"),
            priority: "default".into(),
            is_default: true,
            conditions: Vec::new(),
            actions: vec![RuleAction {
                action_type: "fixed-response".into(),
                order: Some(1),
                target_group_arn: None,
                forward: None,
            }],
        });
        Ok(rules)
    }

    /// One second of the controller: Ingress changes past their lag are applied, targets are
    /// registered and deregistered, and health moves on. Does nothing while the controller is
    /// down.
    pub(crate) fn reconcile_load_balancers(&mut self) {
        if self.faults.lb_controller_down(self.now_s) {
            return;
        }
        self.views.sync(&self.store);
        let keys: Vec<(String, String)> = self.views.ingresses.keys().cloned().collect();
        for key in keys {
            let Some(raw) = self.views.ingresses.get(&key) else {
                continue;
            };
            // An Ingress whose version this ALB already carries needs nothing: skip reading it.
            let rv = raw["metadata"]["resourceVersion"].as_str();
            if rv.is_some()
                && self
                    .elb
                    .albs
                    .get(&key)
                    .is_some_and(|a| a.applied_version.as_deref() == rv)
            {
                continue;
            }
            let raw = raw.clone();
            let Ok(ingress) = serde_json::from_value::<Ingress>(raw.clone()) else {
                continue;
            };
            if !lbc_serves(&ingress) {
                continue;
            }
            let ns = ingress.metadata.namespace_or_default().to_string();
            let name = ingress.metadata.name.clone();
            let rv = raw["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let lb_arn = self.ensure_alb(&ns, &name);
            let key = (ns.clone(), name.clone());
            let Some(alb) = self.elb.albs.get_mut(&key) else {
                continue;
            };
            if alb.applied_version.as_deref() == Some(rv.as_str()) {
                continue;
            }
            let due = match &alb.seen {
                Some((seen_rv, since)) if *seen_rv == rv => {
                    self.now_s >= since + self.config.lb_controller_lag_seconds
                }
                _ => {
                    alb.seen = Some((rv.clone(), self.now_s));
                    self.config.lb_controller_lag_seconds == 0
                }
            };
            if !due {
                continue;
            }
            if self.faults.lbc_throttled(self.now_s) {
                let first = !std::mem::replace(&mut alb.throttled, true);
                if first {
                    self.record_world_event(
                        &format!("Ingress {ns}/{name}"),
                        "FailedDeployModel",
                        "Failed deploy model due to operation error Elastic Load Balancing v2: \
                         ModifyRule, ThrottlingException: Rate exceeded (injected); retrying",
                    );
                }
                continue;
            }
            alb.throttled = false;
            let result = self.build_rules(&ingress, &raw, &lb_arn);
            let current_rv = self
                .store
                .get("Ingress", &ns, &name)
                .and_then(|i| {
                    i["metadata"]["resourceVersion"]
                        .as_str()
                        .map(str::to_string)
                })
                .unwrap_or_default();
            let Some(alb) = self.elb.albs.get_mut(&key) else {
                continue;
            };
            alb.applied_version = Some(current_rv);
            match result {
                Ok(rules) => alb.rules = rules,
                Err(message) => self.record_world_event(
                    &format!("Ingress {ns}/{name}"),
                    "FailedBuildModel",
                    &format!(
                        "Failed build model due to {message}; the ALB keeps its previous rules"
                    ),
                ),
            }
        }
        self.reconcile_targets();
    }
}
