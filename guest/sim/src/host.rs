//! The strategy's imports, answered by the world: the cluster calls on the store (with the
//! conflict fault), the ELBv2 describe calls on the simulated ALBs (with the throttling fault),
//! the simulated clock, and the log. [`SharedWorld`] lets a wasm store and the runner share one
//! world.

use std::sync::{Arc, Mutex, MutexGuard};

use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, EventType, Host, Level, ObjectKind, PatchType};
use serde_json::Value;

use crate::world::World;

fn parse(json: &str) -> Result<Value, HostError> {
    serde_json::from_str(json).map_err(|e| HostError::Invalid(format!("not JSON: {e}")))
}

impl World {
    fn write_allowed(&mut self, what: &str) -> Result<(), HostError> {
        self.writes += 1;
        if self.faults.api_conflicts(self.now_s) {
            return Err(HostError::Conflict(format!(
                "{what}: the object was modified (injected conflict)"
            )));
        }
        Ok(())
    }

    fn elb_call(&mut self, api: &str) -> Result<(), HostError> {
        *self.elb_calls.entry(api.to_string()).or_default() += 1;
        if self.faults.elb_throttled(self.now_s) {
            return Err(HostError::Throttled(format!(
                "{api}: Rate exceeded (injected throttling)"
            )));
        }
        Ok(())
    }
}

impl Host for World {
    fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        self.store
            .get_json(&kind.kind, ns, name)
            .map(str::to_string)
            .ok_or_else(|| HostError::NotFound(format!("{} {ns}/{name}", kind.kind)))
    }

    fn list(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        selector: &str,
    ) -> Result<Vec<String>, HostError> {
        self.store.list_json(&kind.kind, ns, selector)
    }

    fn create(
        &mut self,
        kind: &ObjectKind,
        _ns: &str,
        object_json: &str,
    ) -> Result<String, HostError> {
        self.write_allowed(&format!("create {}", kind.kind))?;
        self.store.create(&kind.kind, parse(object_json)?)
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
        self.write_allowed(&format!("patch {} {ns}/{name}", kind.kind))?;
        if patch_type == PatchType::Json {
            return Err(HostError::Invalid(
                "the simulated API server takes merge patches".into(),
            ));
        }
        self.store.patch(&kind.kind, ns, name, &parse(patch_json)?)
    }

    fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        self.write_allowed(&format!("delete {} {ns}/{name}", kind.kind))?;
        self.store.delete(&kind.kind, ns, name)
    }

    fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        let object = self.reconciling.clone();
        self.events.push(crate::world::WorldEvent {
            t: self.now_s,
            object,
            event_type: match event.event_type {
                EventType::Normal => "Normal",
                EventType::Warning => "Warning",
            }
            .to_string(),
            reason: event.reason.clone(),
            message: event.message.clone(),
        });
        Ok(())
    }

    fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        self.elb_call("DescribeLoadBalancers")?;
        let all = names.is_empty() && arns.is_empty();
        let found: Vec<LoadBalancer> = self
            .elb
            .albs
            .values()
            .filter(|a| all || names.contains(&a.lb.name) || arns.contains(&a.lb.arn))
            .map(|a| a.lb.clone())
            .collect();
        if !all && found.is_empty() {
            return Err(HostError::NotFound(format!(
                "LoadBalancerNotFound: {}",
                names
                    .iter()
                    .chain(arns)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(found)
    }

    fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        self.elb_call("DescribeListeners")?;
        Ok(self
            .elb
            .albs
            .values()
            .filter(|a| a.lb.arn == lb)
            .map(|a| a.listener.clone())
            .collect())
    }

    fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError> {
        self.elb_call("DescribeRules")?;
        self.elb
            .albs
            .values()
            .find(|a| a.listener.arn == listener)
            .map(|a| a.rules.clone())
            .ok_or_else(|| HostError::NotFound(format!("ListenerNotFound: {listener}")))
    }

    fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        self.elb_call("DescribeTargetGroups")?;
        Ok(self
            .elb
            .target_groups
            .values()
            .filter(|t| lb.is_none_or(|lb| t.tg.load_balancer_arns.iter().any(|a| a == lb)))
            .filter(|t| arns.is_empty() || arns.contains(&t.tg.arn))
            .map(|t| t.tg.clone())
            .collect())
    }

    fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        self.elb_call("DescribeTags")?;
        Ok(arns
            .iter()
            .filter_map(|a| {
                let tags = self
                    .elb
                    .target_groups
                    .get(a)
                    .map(|t| t.tags.clone())
                    .or_else(|| {
                        self.elb
                            .albs
                            .values()
                            .find(|x| &x.lb.arn == a)
                            .map(|_| Vec::new())
                    })?;
                Some(ResourceTags {
                    resource_arn: a.clone(),
                    tags,
                })
            })
            .collect())
    }

    fn describe_target_health(&mut self, arn: &str) -> Result<Vec<TargetHealth>, HostError> {
        self.elb_call("DescribeTargetHealth")?;
        let tg = self
            .elb
            .target_groups
            .get(arn)
            .ok_or_else(|| HostError::NotFound(format!("TargetGroupNotFound: {arn}")))?;
        Ok(tg
            .targets
            .iter()
            .map(|(id, t)| TargetHealth {
                id: id.clone(),
                port: tg.tg.port,
                state: t.state,
                reason: None,
            })
            .collect())
    }

    fn now_millis(&mut self) -> u64 {
        self.now_s * 1000
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.logs.push(format!(
            "t={} {level:?} {message} {}",
            self.now_s,
            fields.join(" ")
        ));
    }
}

/// A world shared between the runner and a strategy instance; every import locks it.
#[derive(Debug, Clone, Default)]
pub struct SharedWorld(pub Arc<Mutex<World>>);

impl SharedWorld {
    /// Shares a world.
    pub fn new(world: World) -> Self {
        SharedWorld(Arc::new(Mutex::new(world)))
    }

    /// Locks the world.
    pub fn lock(&self) -> MutexGuard<'_, World> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl Host for SharedWorld {
    fn get(&mut self, k: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        self.lock().get(k, ns, name)
    }
    fn list(&mut self, k: &ObjectKind, ns: &str, sel: &str) -> Result<Vec<String>, HostError> {
        self.lock().list(k, ns, sel)
    }
    fn create(&mut self, k: &ObjectKind, ns: &str, json: &str) -> Result<String, HostError> {
        self.lock().create(k, ns, json)
    }
    fn patch(
        &mut self,
        k: &ObjectKind,
        ns: &str,
        name: &str,
        pt: PatchType,
        json: &str,
        sub: Option<&str>,
    ) -> Result<String, HostError> {
        self.lock().patch(k, ns, name, pt, json, sub)
    }
    fn delete(&mut self, k: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        self.lock().delete(k, ns, name)
    }
    fn record_event(&mut self, e: &Event) -> Result<(), HostError> {
        self.lock().record_event(e)
    }
    fn describe_load_balancers(
        &mut self,
        n: &[String],
        a: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        self.lock().describe_load_balancers(n, a)
    }
    fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        self.lock().describe_listeners(lb)
    }
    fn describe_rules(&mut self, l: &str) -> Result<Vec<Rule>, HostError> {
        self.lock().describe_rules(l)
    }
    fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        a: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        self.lock().describe_target_groups(lb, a)
    }
    fn describe_tags(&mut self, a: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        self.lock().describe_tags(a)
    }
    fn describe_target_health(&mut self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        self.lock().describe_target_health(tg)
    }
    fn now_millis(&mut self) -> u64 {
        self.lock().now_millis()
    }
    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.lock().log(level, message, fields)
    }
}
