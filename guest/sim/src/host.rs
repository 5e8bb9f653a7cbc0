//! The strategy's imports, answered by the world: the cluster calls on the store (with the
//! conflict fault), the ELBv2 describe calls on the simulated ALBs (with the throttling fault),
//! paged and batched over `elbv2_api.rs` as the real host pages and batches over AWS, each page
//! or batch one call in the counts; the simulated clock, and the log. [`SharedWorld`] lets a
//! wasm store and the runner share one world.

use std::sync::{Arc, Mutex, MutexGuard};

use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, EventType, Host, Level, ObjectKind, PatchType};
use serde_json::Value;

use crate::elbv2_api::{MAX_IDS, Page};
use crate::lbc::Elb;
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

    /// Every page of one describe request, each page one counted (and throttled) call, as the
    /// real host follows `NextMarker`.
    fn every_page<T>(
        &mut self,
        api: &str,
        request: impl Fn(&Elb, Option<&str>) -> Result<Page<T>, HostError>,
    ) -> Result<Vec<T>, HostError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            self.elb_call(api)?;
            let page = request(&self.elb, marker.as_deref())?;
            out.extend(page.items);
            match page.next_marker {
                Some(next) => marker = Some(next),
                None => return Ok(out),
            }
        }
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
        self.garbage = true;
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
        let mut requests: Vec<(&[String], &[String])> = names
            .chunks(MAX_IDS)
            .map(|c| (c, &[][..]))
            .chain(arns.chunks(MAX_IDS).map(|c| (&[][..], c)))
            .collect();
        if requests.is_empty() {
            requests.push((&[], &[]));
        }
        let mut out = Vec::new();
        for (names, arns) in requests {
            out.extend(self.every_page("DescribeLoadBalancers", |elb, marker| {
                elb.describe_load_balancers_page(names, arns, marker)
            })?);
        }
        Ok(out)
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
        self.every_page("DescribeRules", |elb, marker| {
            elb.describe_rules_page(listener, marker)
        })
    }

    fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        let batches: Vec<&[String]> = if arns.is_empty() {
            vec![&[]]
        } else {
            arns.chunks(MAX_IDS).collect()
        };
        let mut out = Vec::new();
        for batch in batches {
            out.extend(self.every_page("DescribeTargetGroups", |elb, marker| {
                elb.describe_target_groups_page(lb, batch, marker)
            })?);
        }
        Ok(out)
    }

    fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        let mut out = Vec::new();
        for batch in arns.chunks(MAX_IDS) {
            self.elb_call("DescribeTags")?;
            out.extend(self.elb.describe_tags_request(batch)?);
        }
        Ok(out)
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
            .map(|((id, port), t)| TargetHealth {
                id: id.clone(),
                port: Some(*port),
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
