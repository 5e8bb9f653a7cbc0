//! Test support shared by the end-to-end tests: [`ScriptedHost`], an in-memory host whose
//! cluster objects and ELBv2 records a test sets up and inspects, so the same reconcile passes
//! can run natively and through the wasm component against identical worlds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use albatross_policy::HostError;
use albatross_policy::action::parse_action;
use albatross_policy::elb::{
    ForwardConfig, Listener, LoadBalancer, ResourceTags, Rule, RuleAction, Tag, TargetGroup,
    TargetHealth, WeightedTargetGroup,
};
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};
use serde_json::Value;

/// The state behind a [`ScriptedHost`]; tests read and change it directly.
#[derive(Debug, Default)]
pub struct World {
    /// Objects by (kind, namespace, name).
    pub objects: BTreeMap<(String, String, String), Value>,
    /// Every write the module made, as `verb kind ns/name body`.
    pub writes: Vec<String>,
    /// Events recorded through the import.
    pub events: Vec<Event>,
    /// Log lines the module wrote.
    pub logs: Vec<String>,
    /// The clock, in ms since the epoch.
    pub now: u64,
    /// Load balancers.
    pub load_balancers: Vec<LoadBalancer>,
    /// Listeners.
    pub listeners: Vec<Listener>,
    /// Rules by listener ARN.
    pub rules: BTreeMap<String, Vec<Rule>>,
    /// Target groups.
    pub target_groups: Vec<TargetGroup>,
    /// Tags by resource ARN.
    pub tags: BTreeMap<String, Vec<Tag>>,
    /// ELBv2 calls made, by API name.
    pub elb_calls: BTreeMap<String, u32>,
    /// When set, every ELBv2 call fails with this error.
    pub elb_failure: Option<HostError>,
}

/// An in-memory host over a shared [`World`]; clones share the world.
#[derive(Debug, Clone, Default)]
pub struct ScriptedHost(pub Arc<Mutex<World>>);

impl ScriptedHost {
    /// Locks the world.
    pub fn world(&self) -> MutexGuard<'_, World> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn elb(&self, api: &str) -> Result<MutexGuard<'_, World>, HostError> {
        let mut w = self.world();
        *w.elb_calls.entry(api.to_string()).or_default() += 1;
        match &w.elb_failure {
            Some(e) => Err(e.clone()),
            None => Ok(w),
        }
    }
}

fn key(kind: &ObjectKind, ns: &str, name: &str) -> (String, String, String) {
    (kind.kind.clone(), ns.to_string(), name.to_string())
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

impl World {
    /// Puts an object in the store.
    pub fn put(&mut self, kind: &str, object: Value) {
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.objects.insert((kind.to_string(), ns, name), object);
    }

    /// An object from the store.
    pub fn object(&self, kind: &str, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(kind.to_string(), ns.to_string(), name.to_string()))
    }

    /// Builds one ALB with one listener whose default rule forwards by the given weights to the
    /// canary and stable target groups of `ns/ingress` (tagged as the AWS Load Balancer
    /// Controller tags them).
    pub fn build_alb(
        &mut self,
        ns: &str,
        ingress: &str,
        services: [&str; 2],
        port: u32,
        dns: &str,
    ) {
        let lb_arn = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/k8s-shop-web-0123456789/50dc6c495c0c9188".to_string();
        self.load_balancers.push(LoadBalancer {
            arn: lb_arn.clone(),
            name: "k8s-shop-web-0123456789".into(),
            dns_name: dns.into(),
            load_balancer_type: "application".into(),
            scheme: "internet-facing".into(),
            vpc_id: "vpc-1".into(),
            state: "active".into(),
        });
        let listener = format!("{lb_arn}/listener/1");
        self.listeners.push(Listener {
            arn: listener.clone(),
            load_balancer_arn: lb_arn.clone(),
            port: 80,
            protocol: "HTTP".into(),
        });
        for (i, svc) in services.iter().enumerate() {
            let arn = format!(
                "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/k8s-{svc}/{i}"
            );
            self.target_groups.push(TargetGroup {
                arn: arn.clone(),
                name: format!("k8s-{svc}"),
                target_type: "ip".into(),
                port: Some(8080),
                protocol: Some("HTTP".into()),
                vpc_id: Some("vpc-1".into()),
                load_balancer_arns: vec![lb_arn.clone()],
            });
            self.tags.insert(
                arn,
                vec![
                    Tag {
                        key: "elbv2.k8s.aws/cluster".into(),
                        value: "test".into(),
                    },
                    Tag {
                        key: "ingress.k8s.aws/stack".into(),
                        value: format!("{ns}/{ingress}"),
                    },
                    Tag {
                        key: "ingress.k8s.aws/resource".into(),
                        value: format!("{ns}/{ingress}-{svc}:{port}"),
                    },
                ],
            );
        }
        self.rules.insert(listener, Vec::new());
    }

    /// Acts as the AWS Load Balancer Controller once: the listener's rule forwards with the
    /// weights of the action annotation `key` on Ingress `ns/name`.
    pub fn sync_alb(&mut self, ns: &str, name: &str, key: &str) {
        let Some(value) = self
            .object("Ingress", ns, name)
            .and_then(|i| i["metadata"]["annotations"][key].as_str())
            .map(str::to_string)
        else {
            return;
        };
        let Ok(action) = parse_action(&value) else {
            return;
        };
        let groups: Vec<WeightedTargetGroup> = action
            .target_groups
            .iter()
            .filter_map(|g| {
                let svc = g.service_name.as_deref()?;
                let tg = self
                    .target_groups
                    .iter()
                    .find(|t| t.name == format!("k8s-{svc}"))?;
                Some(WeightedTargetGroup {
                    target_group_arn: tg.arn.clone(),
                    weight: g.weight,
                })
            })
            .collect();
        for rules in self.rules.values_mut() {
            *rules = vec![Rule {
                arn: "rule/default".into(),
                priority: "default".into(),
                is_default: true,
                conditions: Vec::new(),
                actions: vec![RuleAction {
                    action_type: "forward".into(),
                    order: Some(1),
                    target_group_arn: None,
                    forward: Some(ForwardConfig {
                        target_groups: groups.clone(),
                        stickiness_enabled: false,
                        stickiness_duration_seconds: None,
                    }),
                }],
            }];
        }
    }
}

impl Host for ScriptedHost {
    fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        self.world()
            .objects
            .get(&key(kind, ns, name))
            .map(Value::to_string)
            .ok_or_else(|| HostError::NotFound(format!("{} {ns}/{name}", kind.kind)))
    }

    fn list(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        _selector: &str,
    ) -> Result<Vec<String>, HostError> {
        Ok(self
            .world()
            .objects
            .iter()
            .filter(|((k, n, _), _)| *k == kind.kind && n == ns)
            .map(|(_, v)| v.to_string())
            .collect())
    }

    fn create(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        object_json: &str,
    ) -> Result<String, HostError> {
        let v: Value =
            serde_json::from_str(object_json).map_err(|e| HostError::Invalid(e.to_string()))?;
        let name = v["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut w = self.world();
        w.writes
            .push(format!("create {} {ns}/{name} {object_json}", kind.kind));
        w.objects.insert(key(kind, ns, &name), v);
        Ok(object_json.to_string())
    }

    fn patch(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        patch_type: PatchType,
        patch_json: &str,
        _subresource: Option<&str>,
    ) -> Result<String, HostError> {
        if patch_type != PatchType::Merge {
            return Err(HostError::Invalid(
                "the scripted host applies merge patches only".into(),
            ));
        }
        let patch: Value =
            serde_json::from_str(patch_json).map_err(|e| HostError::Invalid(e.to_string()))?;
        let mut w = self.world();
        w.writes
            .push(format!("patch {} {ns}/{name} {patch_json}", kind.kind));
        let obj = w
            .objects
            .get_mut(&key(kind, ns, name))
            .ok_or_else(|| HostError::NotFound(format!("{} {ns}/{name}", kind.kind)))?;
        merge_patch(obj, &patch);
        Ok(obj.to_string())
    }

    fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        let mut w = self.world();
        w.writes.push(format!("delete {} {ns}/{name}", kind.kind));
        w.objects
            .remove(&key(kind, ns, name))
            .map(|_| ())
            .ok_or_else(|| HostError::NotFound(format!("{} {ns}/{name}", kind.kind)))
    }

    fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        self.world().events.push(event.clone());
        Ok(())
    }

    fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        let w = self.elb("DescribeLoadBalancers")?;
        Ok(w.load_balancers
            .iter()
            .filter(|l| {
                (names.is_empty() && arns.is_empty())
                    || names.contains(&l.name)
                    || arns.contains(&l.arn)
            })
            .cloned()
            .collect())
    }

    fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        let w = self.elb("DescribeListeners")?;
        Ok(w.listeners
            .iter()
            .filter(|l| l.load_balancer_arn == lb)
            .cloned()
            .collect())
    }

    fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError> {
        let w = self.elb("DescribeRules")?;
        Ok(w.rules.get(listener).cloned().unwrap_or_default())
    }

    fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        let w = self.elb("DescribeTargetGroups")?;
        Ok(w.target_groups
            .iter()
            .filter(|t| lb.is_none_or(|lb| t.load_balancer_arns.iter().any(|a| a == lb)))
            .filter(|t| arns.is_empty() || arns.contains(&t.arn))
            .cloned()
            .collect())
    }

    fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        let w = self.elb("DescribeTags")?;
        Ok(arns
            .iter()
            .map(|a| ResourceTags {
                resource_arn: a.clone(),
                tags: w.tags.get(a).cloned().unwrap_or_default(),
            })
            .collect())
    }

    fn describe_target_health(&mut self, _tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        drop(self.elb("DescribeTargetHealth")?);
        Ok(Vec::new())
    }

    fn now_millis(&mut self) -> u64 {
        self.world().now
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.world()
            .logs
            .push(format!("{level:?} {message} {}", fields.join(" ")));
    }
}

/// The built-in default strategy, compiled once per test binary.
pub fn default_module() -> &'static albatross::engine::StrategyModule {
    static MODULE: OnceLock<albatross::engine::StrategyModule> = OnceLock::new();
    MODULE.get_or_init(|| {
        let engine = albatross::engine::new_engine().unwrap_or_else(|e| panic!("{e:#}"));
        albatross::engine::StrategyModule::builtin(&engine).unwrap_or_else(|e| panic!("{e:#}"))
    })
}

/// Which way a reconcile pass is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// The native albatross-policy crate.
    Native,
    /// The built-in wasm component, through wasmtime.
    Wasm,
}

/// Runs one reconcile pass on the Rollout `ns/name` stored in the world, the given way, and
/// applies the status it returns (as a controller would). Returns the outcome as JSON
/// (`{"Ok": ...}` or `{"Err": ...}`), whichever way was used.
pub fn reconcile_once(host: &ScriptedHost, way: Way, ns: &str, name: &str) -> Value {
    let rollout = host
        .world()
        .object("Rollout", ns, name)
        .cloned()
        .unwrap_or(Value::Null)
        .to_string();
    let result = match way {
        Way::Native => {
            let mut h = host.clone();
            serde_json::to_value(albatross_policy::reconcile::reconcile(&mut h, &rollout))
        }
        Way::Wasm => {
            let (mut store, bindings) = default_module()
                .instantiate(Box::new(host.clone()))
                .unwrap_or_else(|e| panic!("{e:#}"));
            let out = bindings
                .albatross_strategy_reconciler()
                .call_reconcile(&mut store, &rollout)
                .unwrap_or_else(|e| panic!("the module trapped: {e:#}"));
            serde_json::to_value(out)
        }
    }
    .unwrap_or(Value::Null);
    if let Some(status) = result["Ok"]["status_json"].as_str() {
        let status: Value = serde_json::from_str(status).unwrap_or(Value::Null);
        let mut w = host.world();
        if let Some(r) =
            w.objects
                .get_mut(&("Rollout".to_string(), ns.to_string(), name.to_string()))
        {
            r["status"] = status;
        }
    }
    result
}
