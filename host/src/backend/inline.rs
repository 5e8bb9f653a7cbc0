//! [`Inline`]: any synchronous [`Host`] whose answers are already in memory (the offline
//! host, the simulated world, manifest files) as either half of a [`crate::backend::Backend`],
//! never waiting.

use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};
use async_trait::async_trait;

use crate::backend::{Cluster, Elbv2};

/// A synchronous [`Host`] whose answers are in memory, as either half of a [`Backend`], never
/// waiting.
#[derive(Debug, Clone, Default)]
pub struct Inline<H>(pub H);

#[async_trait]
impl<H: Host + Send> Cluster for Inline<H> {
    async fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        self.0.get(kind, ns, name)
    }

    async fn list(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        sel: &str,
    ) -> Result<Vec<String>, HostError> {
        self.0.list(kind, ns, sel)
    }

    async fn create(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        json: &str,
    ) -> Result<String, HostError> {
        self.0.create(kind, ns, json)
    }

    async fn patch(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        patch_type: PatchType,
        patch_json: &str,
        subresource: Option<&str>,
    ) -> Result<String, HostError> {
        self.0
            .patch(kind, ns, name, patch_type, patch_json, subresource)
    }

    async fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        self.0.delete(kind, ns, name)
    }

    async fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        self.0.record_event(event)
    }

    fn now_millis(&mut self) -> u64 {
        self.0.now_millis()
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.0.log(level, message, fields);
    }
}

#[async_trait]
impl<H: Host + Send> Elbv2 for Inline<H> {
    async fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        self.0.describe_load_balancers(names, arns)
    }

    async fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        self.0.describe_listeners(lb)
    }

    async fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError> {
        self.0.describe_rules(listener)
    }

    async fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        self.0.describe_target_groups(lb, arns)
    }

    async fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        self.0.describe_tags(arns)
    }

    async fn describe_target_health(&mut self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        self.0.describe_target_health(tg)
    }
}
